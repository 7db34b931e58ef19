"""Scheduling: cron -> OnCalendar, unit files valid for systemd, cron entries, install/list/remove."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.operations.schedule import (CronBackend, Job, ScheduleError, SystemdBackend, cron_entry,
                                         cron_to_oncalendar, exec_line, parse_cron, service_unit, timer_unit,
                                         verify_units)

HAS_ANALYZE = shutil.which("systemd-analyze") is not None


@pytest.mark.parametrize("cron, expected", [
    ("0 2 * * 6", ["Sat *-*-* 02:00:00"]),
    ("*/15 * * * *", ["*-*-* *:00,15,30,45:00"]),
    ("30 1 1,15 * mon-fri", ["*-*-01,15 01:30:00", "Mon,Tue,Wed,Thu,Fri *-*-* 01:30:00"]),  # cron: dom OR dow
    ("0 22 * jan-mar 0", ["Sun *-01,02,03-* 22:00:00"]),
    ("0 3 * * 5-7", ["Sun,Fri,Sat *-*-* 03:00:00"]),
    ("@daily", ["daily"]),
    ("@weekly", ["weekly"]),
])
def test_cron_to_oncalendar(cron: str, expected: list[str]) -> None:
    assert cron_to_oncalendar(cron) == expected
    if HAS_ANALYZE:
        for spec in expected:  # systemd itself accepts every translation
            proc = subprocess.run(["systemd-analyze", "calendar", spec], capture_output=True, text=True, timeout=30)
            assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("cron, message", [
    ("0 2 * *", "5 fields"), ("61 * * * *", "out of range"), ("0 2 * * funday", "bad day of week"),
    ("*/0 * * * *", "bad step"), ("0 5-1 * * *", "backwards"), ("@reboot", "5 fields"),
])
def test_bad_cron(cron: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_cron(cron)


def test_exec_line_escapes_specifiers_and_spaces() -> None:
    line = exec_line(["/usr/bin/python3", "--db", "sqlite:////var/lib/x%20y.db", "--inventory", "/srv/my plant.yaml",
                      "--note", 'say "hi" $HOME'])
    assert "%%20" in line and '"/srv/my plant.yaml"' in line and '"say \\"hi\\" $$HOME"' in line


def _job(tmp_path: Path, name: str = "weekly", **kwargs) -> Job:
    inventory = tmp_path / "plant inventory.yaml"
    inventory.write_text("assets: []\n")
    argv = [sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory), "--sl", "2",
            "--db", f"sqlite:///{tmp_path}/h.sqlite", "--out", str(tmp_path / "out"), "--quiet"]
    return Job(name, argv, kwargs.pop("cron", "0 2 * * 6"), **kwargs)


def test_unit_files_are_valid_for_systemd(tmp_path: Path) -> None:
    job = _job(tmp_path, alert_on="error", timeout="4h")
    service, timer = service_unit(job), timer_unit(job)
    assert "Type=oneshot" in service and "SuccessExitStatus=1" in service and "TimeoutStartSec=4h" in service
    assert "OnCalendar=Sat *-*-* 02:00:00" in timer and "Persistent=true" in timer and "Unit=iacs-audit-weekly.service" in timer
    files, notes = SystemdBackend(tmp_path / "units", manage=False).install(job)
    assert [p.name for p in files] == ["iacs-audit-weekly.service", "iacs-audit-weekly.timer"]
    assert "enable --now iacs-audit-weekly.timer" in notes[0]
    if not HAS_ANALYZE:
        pytest.skip("systemd-analyze not installed")
    code, output = verify_units(files)
    assert code == 0, output
    # the check has teeth: a unit systemd cannot use is refused
    broken = tmp_path / "units" / "iacs-audit-broken.service"
    broken.write_text("[Service]\nType=oneshot\nExecStart=relative/path --x\n")
    assert verify_units([broken])[0] != 0


def test_systemd_backend_list_and_remove(tmp_path: Path) -> None:
    backend = SystemdBackend(tmp_path, manage=False)
    backend.install(_job(tmp_path, "a"))
    backend.install(_job(tmp_path, "b", cron="@daily"))
    (tmp_path / "iacs-audit-foreign.timer").write_text("[Timer]\nOnCalendar=daily\n")  # not ours: never listed or removed
    listed = {job.name: job for job in backend.list()}
    assert set(listed) == {"a", "b"} and listed["b"].on_calendar == ["daily"] and listed["a"].cron == "0 2 * * 6"
    assert "--inventory" in listed["a"].command
    removed, _ = backend.remove("a")
    assert len(removed) == 2 and [j.name for j in backend.list()] == ["b"]
    assert backend.remove("foreign") == ([], []) and (tmp_path / "iacs-audit-foreign.timer").exists()


def test_cron_backend_file_and_entry(tmp_path: Path) -> None:
    job = _job(tmp_path)
    entry = cron_entry(job, "root")
    assert entry.splitlines()[1].startswith("0 2 * * 6 root ") and "'" in entry  # shell-quoted path with a space
    backend = CronBackend(tmp_path / "cron.d", user="root")
    files, _ = backend.install(job)
    assert files[0].name == "iacs-audit-weekly" and files[0].stat().st_mode & 0o777 == 0o644
    assert [j.name for j in backend.list()] == ["weekly"]
    assert backend.remove("weekly")[0] == files and backend.list() == []
    percent = Job("p", ["echo", "100%"], "@hourly")
    assert "100\\%" in cron_entry(percent)


def test_crontab_lines_are_replaced_and_removed() -> None:
    text = "MAILTO=x\n# iacs-audit schedule: name=a cron='@daily' kind=cron\n@daily run-a\n0 1 * * * other\n"
    remaining, removed = CronBackend._without(text, "a")
    assert removed and remaining == "MAILTO=x\n0 1 * * * other\n"
    assert CronBackend._without(text, "b") == (text, False)


def test_cli_install_list_remove(tmp_path: Path) -> None:
    inventory = tmp_path / "plant.yaml"
    inventory.write_text("site: s\nassets:\n  - {id: a, type: host, address: h, endpoints: [{protocol: ssh, username: u}]}\n")
    units = tmp_path / "units"
    runner = CliRunner()
    installed = runner.invoke(cli, ["schedule", "install", "nightly", "-i", str(inventory), "--sl", "2", "--cron",
                                    "0 1 * * *", "--db", str(tmp_path / "h.sqlite"), "--siem", "jsonl",
                                    "--backend", "systemd", "--unit-dir", str(units)])
    assert installed.exit_code == 0, installed.output
    service = (units / "iacs-audit-nightly.service").read_text()
    assert f"--db sqlite:///{tmp_path}/h.sqlite" in service and "--siem jsonl" in service and "--quiet" in service
    assert str(inventory) in service
    listing = runner.invoke(cli, ["schedule", "list", "--backend", "systemd", "--unit-dir", str(units)])
    assert listing.exit_code == 0 and "nightly" in listing.output and "0 1 * * *" in listing.output
    if HAS_ANALYZE:
        code, output = verify_units(sorted(units.iterdir()))
        assert code == 0, output
    removed = runner.invoke(cli, ["schedule", "remove", "nightly", "--backend", "systemd", "--unit-dir", str(units)])
    assert removed.exit_code == 0 and not list(units.iterdir())
    assert runner.invoke(cli, ["schedule", "remove", "nightly", "--backend", "systemd", "--unit-dir", str(units)]).exit_code == 2

    cron_dir = tmp_path / "cron.d"
    via_cron = runner.invoke(cli, ["schedule", "install", "weekly", "-i", str(inventory), "--cron", "0 3 * * 0",
                                   "--backend", "cron", "--cron-dir", str(cron_dir), "--db", str(tmp_path / "h.sqlite")])
    assert via_cron.exit_code == 0, via_cron.output
    assert (cron_dir / "iacs-audit-weekly").read_text().splitlines()[-1].startswith("0 3 * * 0 root ")


def test_cli_install_passes_the_log_file_before_the_command(tmp_path: Path) -> None:
    inventory = tmp_path / "plant.yaml"
    inventory.write_text("site: s\nassets:\n  - {id: a, type: host, address: h, endpoints: [{protocol: ssh, username: u}]}\n")
    units = tmp_path / "units"
    installed = CliRunner().invoke(cli, ["schedule", "install", "nightly", "-i", str(inventory), "--sl", "2",
                                         "--cron", "0 1 * * *", "--db", str(tmp_path / "h.sqlite"), "--backend",
                                         "systemd", "--unit-dir", str(units), "--no-enable",
                                         "--log-file", str(tmp_path / "audit.log")])
    assert installed.exit_code == 0, installed.output
    service = (units / "iacs-audit-nightly.service").read_text()
    assert f"-m auditor --log-file {tmp_path}/audit.log scan --inventory" in service


def test_cli_install_passes_the_ssh_options_to_every_run(tmp_path: Path) -> None:
    inventory = tmp_path / "plant.yaml"
    inventory.write_text("site: s\nassets:\n  - {id: a, type: host, address: h, endpoints: [{protocol: ssh, username: u}]}\n")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host ews-lab\n  HostName 127.0.0.1\n")
    units = tmp_path / "units"
    installed = CliRunner().invoke(cli, ["schedule", "install", "nightly", "-i", str(inventory), "--sl", "2",
                                         "--cron", "0 1 * * *", "--db", str(tmp_path / "h.sqlite"), "--backend",
                                         "systemd", "--unit-dir", str(units), "--no-enable", "--ssh-config",
                                         str(ssh_config), "--no-agent", "--key-passphrase-env", "AUDIT_KEY_PASS",
                                         "--sudo-password-env", "AUDIT_SUDO_PW"])
    assert installed.exit_code == 0, installed.output
    service = (units / "iacs-audit-nightly.service").read_text()
    assert f"--ssh-config {ssh_config}" in service and "--no-agent" in service
    assert "--key-passphrase-env AUDIT_KEY_PASS" in service and "--sudo-password-env AUDIT_SUDO_PW" in service


@pytest.mark.parametrize("args, message", [
    (["--cron", "0 1 * *"], "5 fields"),
    (["--cron", "@daily", "--db", "postgresql://auditor:hunter2@db/iacs"], "never put a password"),
    (["--cron", "@daily", "--siem", "http://x"], "syslog"),
])
def test_cli_install_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    inventory = tmp_path / "plant.yaml"
    inventory.write_text("assets:\n  - {id: a, type: host, address: h, endpoints: [{protocol: ssh, username: u}]}\n")
    result = CliRunner().invoke(cli, ["schedule", "install", "x", "-i", str(inventory), "--backend", "systemd",
                                      "--unit-dir", str(tmp_path / "u"), *args])
    assert result.exit_code == 2 and message in result.output + result.stderr
    assert not (tmp_path / "u").exists() or not list((tmp_path / "u").iterdir())
