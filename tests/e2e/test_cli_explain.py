"""End-to-end tests of the CLI that need no network: explain commands and configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version_and_help() -> None:
    assert "iacs-audit" in run("--version").stdout
    assert "rescore" in run("--help").stdout


def test_checks_list_and_show() -> None:
    listing = run("checks", "list", "--type", "host")
    assert listing.exit_code == 0 and "linux.sshd.permit-root-login" in listing.stdout
    assert "windows.audit.logon" in listing.stdout and "platform" in listing.stdout
    platforms = {c["id"]: c["platforms"] for c in json.loads(run("checks", "list", "--type", "host", "--json").stdout)}
    assert platforms["windows.smb.v1-disabled"] == ["windows"] and platforms["linux.sshd.banner"] == ["linux"]
    assert "platform:    windows" in run("checks", "show", "windows.smb.v1-disabled").stdout
    shown = run("checks", "show", "linux.sshd.permit-root-login")
    assert shown.exit_code == 0
    assert "SR 1.1" in shown.stdout or "CR 1.1" in shown.stdout
    assert "remediation" in shown.stdout and "evidence read" in shown.stdout
    assert run("checks", "show", "no.such.check").exit_code == 2


def test_profiles_list_and_show() -> None:
    assert "host-sl2" in run("profiles", "list").stdout
    shown = run("profiles", "show", "host-sl3")
    assert shown.exit_code == 0 and "host-sl3 <- host-sl2 <- host-sl1" in shown.stdout
    missing = run("profiles", "show", "nope")
    assert missing.exit_code == 2 and "no such profile" in missing.stderr


def test_catalog_filters() -> None:
    out = run("catalog", "--fr", "FR1", "--sl", "2", "--type", "host").stdout
    assert "CR 1.1 RE1" in out and "CR 1.1 RE2" not in out and "CR 2.1" not in out
    system = run("catalog", "--fr", "FR2", "--basis", "system").stdout
    assert "SR 2.11" in system and "CR 2.11" not in system


def test_bad_inventory_exits_2_with_file_field_reason(tmp_path: Path) -> None:
    inv = tmp_path / "plant.yaml"
    inv.write_text("site: x\nassets:\n  - id: a\n    type: turbine\n    address: 10.0.0.1\n"
                   "    endpoints: [{protocol: ssh, username: u}]\n")
    result = run("scan", "--inventory", str(inv), "--sl", "2", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "plant.yaml" in result.stderr and "assets[0] (id=a).type" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unset_secret_reference_exits_2_before_any_connection(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_PW", raising=False)
    inv = tmp_path / "plant.yaml"
    inv.write_text("assets:\n  - id: a\n    type: host\n    address: 127.0.0.1\n"
                   "    endpoints: [{protocol: ssh, port: 1, username: u, password_env: NO_SUCH_PW}]\n")
    result = run("scan", "--inventory", str(inv), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "NO_SUCH_PW is not set" in result.stderr


def test_unset_sudo_password_exits_2_before_any_connection(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_SUDO_PW", raising=False)
    monkeypatch.setenv("SOME_PW", "x")
    inv = tmp_path / "plant.yaml"
    inv.write_text("assets:\n  - id: a\n    type: host\n    address: 127.0.0.1\n"
                   "    endpoints: [{protocol: ssh, port: 1, username: u, password_env: SOME_PW}]\n")
    result = run("scan", "--inventory", str(inv), "--sudo-password-env", "NO_SUCH_SUDO_PW", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "sudo password: environment variable NO_SUCH_SUDO_PW is not set" in result.stderr
    assert "assets (a).endpoints[0].sudo_password" in result.stderr
    inv.write_text(inv.read_text().replace("password_env: SOME_PW}", "password_env: SOME_PW, "
                                                                     "sudo_password_env: NO_SUCH_SUDO_PW}"))
    result = run("scan", "--inventory", str(inv), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "NO_SUCH_SUDO_PW is not set" in result.stderr


def test_usage_errors() -> None:
    assert run("scan", "--out", "x").exit_code == 2
    assert run("scan", "ssh://u@127.0.0.1:1", "--out", "x").exit_code == 2  # --type missing
    url = run("scan", "ssh://u:secret@127.0.0.1:1", "--type", "host", "--out", "x")
    assert url.exit_code == 2 and "never put a password in a URL" in url.stderr
    assert run("scan", "--inventory", "a.yaml", "ssh://u@h", "--out", "x").exit_code == 2


def test_unknown_report_format_is_a_usage_error(tmp_path: Path) -> None:
    inv = tmp_path / "plant.yaml"
    inv.write_text("assets:\n  - id: a\n    type: host\n    address: 127.0.0.1\n"
                   "    endpoints: [{protocol: ssh, port: 1, username: u}]\n")
    result = run("scan", "--inventory", str(inv), "--format", "json,docx", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "unknown format docx" in result.stderr


def test_profiles_show_marks_tailoring(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("id: site-hosts\nextends: host-sl2\nparams:\n  linux.sshd.max-auth-tries: {max_auth_tries: 2}\n"
                    "deselect: ['linux.usb.*']\n")
    shown = run("profiles", "show", str(path))
    assert shown.exit_code == 0
    assert "linux.sshd.max-auth-tries  *max_auth_tries=2" in shown.stdout
    assert "1 checks deselected:\n  linux.usb.storage-blocked" in shown.stdout


def test_ad_hoc_endpoint_settings_are_validated_like_an_inventory(tmp_path: Path) -> None:
    v3 = run("scan", "snmp://127.0.0.1:1", "--type", "network", "--out", str(tmp_path / "a"))
    assert v3.exit_code == 2 and "SNMPv3 needs a username" in v3.stderr
    inline = run("scan", "snmp://127.0.0.1:1", "--type", "network", "--set", "version=2c", "--set", "community=public",
                 "--out", str(tmp_path / "b"))
    assert inline.exit_code == 2 and "inline secret 'community' is not allowed" in inline.stderr
    assert "endpoints[0]." not in inline.stderr.replace("endpoints[0]: ", "")  # no pydantic tag in the path
    bad = run("scan", "snmp://127.0.0.1:1", "--type", "network", "--set", "version", "--out", str(tmp_path / "c"))
    assert bad.exit_code == 2 and "expected FIELD=VALUE" in bad.stderr
    unknown = run("scan", "modbus://127.0.0.1:1", "--type", "embedded", "--set", "colour=red", "--out", str(tmp_path / "d"))
    assert unknown.exit_code == 2 and "colour: unknown field" in unknown.stderr


def test_ad_hoc_snmp_v2c_against_the_simulator(tmp_path: Path, monkeypatch) -> None:
    from simulators.snmp.server import SnmpSimulator

    with SnmpSimulator("weak", host="127.0.0.1") as sim:
        monkeypatch.setenv("IACS_TEST_COMMUNITY", "public")
        result = run("scan", f"snmp://127.0.0.1:{sim.port}", "--type", "network", "--sl", "2", "--set", "version=2c",
                     "--set", "community_env=IACS_TEST_COMMUNITY", "--set", "timeout=2", "--out", str(tmp_path / "o"), "-q")
    assert result.exit_code == 1, result.stderr  # the weak switch falls short
    import json

    asset = json.loads((tmp_path / "o" / "result.json").read_text())["assets"][0]
    verdicts = {r["check_id"]: r["status"] for r in asset["results"]}
    assert asset["status"] == "assessed" and verdicts["snmp.version.v1-v2c-enabled"] == "fail"
