"""The CLI connector against the SSH simulator in CLI mode (a real SSH server with a device prompt) on 127.0.35.x.

What a scan sends to a switch, proven on the simulator's log: the session commands of the driver and the
allow-listed `show` commands, each once, never configuration mode; what is refused before it is written;
enable with a secret by reference; platform detection; paging; bounded output; the SSH host-key policy.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import paramiko
import pytest
import yaml

from auditor.evidence import number_items
from auditor.protocols.cli import PLATFORMS
from connectors.base import ConnectorError
from tests.support.checks import check_verdict, parse_fact
from tests.support.netcli_device import FIXTURES, collect, interactive_shell, simulated_device
from simulators.ssh.server import SshSimulator

SESSION = set(PLATFORMS["cisco_ios"].session_commands)
SHOWS = set(PLATFORMS["cisco_ios"].commands.values())


def _cli_log(sim: SshSimulator) -> list[dict]:
    return [r for r in sim.requests if r["kind"] == "cli"]


def _variant(tmp: Path, base: str, name: str, host: dict | None = None, cli: dict | None = None) -> Path:
    """A copy of a built-in fixture with some host or cli keys changed."""
    folder = tmp / name
    shutil.copytree(FIXTURES / base, folder)
    data = yaml.safe_load((folder / "device.yaml").read_text())
    data["host"].update(host or {})
    data["cli"].update(cli or {})
    (folder / "device.yaml").write_text(yaml.safe_dump(data))
    return folder


@pytest.mark.parametrize("fixture, address", [("ios-weak", "127.0.35.11"), ("ios-hardened", "127.0.35.12")])
def test_a_scan_sends_only_allow_listed_reads_and_never_enters_configuration_mode(fixture, address, tmp_path) -> None:
    with simulated_device(fixture, address, tmp_path) as (sim, asset):
        items = collect(asset)
        log = _cli_log(sim)
        kinds = [r["kind"] for r in sim.requests]
    commands = [r["command"] for r in log]
    assert set(commands) <= SESSION | SHOWS, commands
    assert sorted(c for c in commands if c.startswith("show")) == sorted(SHOWS)  # each read once
    assert not any(r["config_mode"] for r in log) and not any(r["refused"] for r in log)
    assert not any(c.split()[0] in ("configure", "conf", "write", "copy", "reload", "debug") for c in commands)
    assert kinds.count("shell") == 1 and kinds.count("connect") == 1  # one connection, one shell
    assert len([c for c in commands if c != "exit"]) == 6  # terminal width, terminal length, four show commands
    assert commands[:3] == ["terminal width 511", "terminal length 0", "show version"]
    assert all(i.status == "ok" for i in items), [(i.request.key, i.error) for i in items]
    info = next(i for i in items if i.request.op == "session").data()
    assert info["platform"] == "cisco_ios" and info["privileged"] is True and info["shells"] == 1
    assert info["lines_sent"][:2] == ["terminal width 511", "terminal length 0"]
    config = next(i for i in items if i.request.target == "running-config")
    assert config.meta["secrets_removed"] >= 4 and "<removed>" in config.response
    number_items(asset.id, items)
    expected = "fail" if fixture == "ios-weak" else "pass"
    assert check_verdict(items, "netcli.vty.ssh-only").status == expected


def test_a_command_off_the_allow_list_is_refused_before_it_is_written(tmp_path, monkeypatch) -> None:
    """A platform table gone wrong (a read mapped to `configure terminal`) still cannot reach the device."""
    monkeypatch.setitem(PLATFORMS["cisco_ios"].commands, "ssh-status", "configure terminal")
    with simulated_device("ios-hardened", "127.0.35.13", tmp_path) as (sim, asset):
        items = collect(asset)
        commands = [r["command"] for r in _cli_log(sim)]
    refused = next(i for i in items if i.request.target == "ssh-status")
    assert refused.status == "error" and "refused by the allow-list" in refused.error
    assert "configure terminal" not in commands and not any(c.startswith("conf") for c in commands)
    assert next(i for i in items if i.request.target == "running-config").status == "ok"  # the rest still read


def test_enable_with_a_secret_by_reference(tmp_path, monkeypatch) -> None:
    folder = _variant(tmp_path, "ios-hardened", "ios-priv1", cli={"privilege": 1, "enable_secret": "En-4udit"})
    monkeypatch.setenv("SW_ENABLE", "En-4udit")
    with simulated_device(str(folder), "127.0.35.14", tmp_path, enable_password_env="SW_ENABLE") as (sim, asset):
        items = collect(asset)
        log = _cli_log(sim)
    info = next(i for i in items if i.request.op == "session").data()
    assert info["privileged"] is True and "<enable secret>" in info["lines_sent"]
    assert [r["command"] for r in log if r["command"] == "enable"] == ["enable"]
    assert not any("En-4udit" in str(r) for r in log) and not any("En-4udit" in i.model_dump_json() for i in items)
    number_items(asset.id, items)
    assert check_verdict(items, "netcli.aaa.central").status == "pass"


def test_below_privilege_15_the_configuration_is_an_error_not_a_clean_bill(tmp_path) -> None:
    folder = _variant(tmp_path, "ios-hardened", "ios-user", cli={"privilege": 1})
    with simulated_device(str(folder), "127.0.35.15", tmp_path) as (sim, asset):
        items = collect(asset)
    number_items(asset.id, items)
    info = next(i for i in items if i.request.op == "session").data()
    assert info["privileged"] is False
    verdict = check_verdict(items, "netcli.vty.ssh-only")
    assert verdict.status == "error" and "Invalid input" in verdict.reason
    assert check_verdict(items, "netcli.ssh.version-2").status == "pass"  # show ip ssh needs no privilege


def test_platform_auto_detected_from_show_version(tmp_path) -> None:
    folder = _variant(tmp_path, "ios-weak", "ios-anon", host={"version": "SSH-2.0-OpenSSH_7.4"})
    with simulated_device(str(folder), "127.0.35.16", tmp_path) as (sim, asset):
        items = collect(asset)
    info = next(i for i in items if i.request.op == "session").data()
    assert (info["platform"], info["platform_source"]) == ("cisco_ios", "show version")
    number_items(asset.id, items)
    assert parse_fact(items, "cli_version").model == "IE-4000-8GT4G4E"


def test_an_oversized_answer_is_cut_and_reported(tmp_path) -> None:
    folder = _variant(tmp_path, "ios-hardened", "ios-big")
    big = (folder / "show-version.txt").read_text() + "x" * 80 + "\n"
    (folder / "show-version.txt").write_text(big + ("filler line " * 8 + "\n") * 1200)
    with simulated_device(str(folder), "127.0.35.17", tmp_path, max_output_bytes=65536) as (sim, asset):
        started = time.monotonic()
        items = collect(asset)
    version = next(i for i in items if i.request.target == "version")
    assert version.status == "error" and "65536" in version.error and version.meta["truncated"]
    assert time.monotonic() - started < 30


def test_a_changed_host_key_is_refused_like_the_ssh_connector_does(tmp_path) -> None:
    with simulated_device("ios-weak", "127.0.35.18", tmp_path) as (sim, asset):
        other = paramiko.RSAKey.generate(2048)
        Path(asset.endpoints[0].known_hosts).write_text(
            f"[127.0.35.18]:{sim.port} {other.get_name()} {other.get_base64()}\n")
        with pytest.raises(ConnectorError, match="HOST KEY MISMATCH"):
            collect(asset)
        assert not _cli_log(sim) and not [r for r in sim.requests if r["kind"] == "shell"]


def test_the_simulator_pages_until_paging_is_turned_off(tmp_path) -> None:
    with interactive_shell("ios-hardened", "127.0.35.19", tmp_path) as (sim, shell, read_until):
        read_until("sw-cell-02#")
        shell.send("show running-config\n")
        assert "--More--" in read_until("--More--")
        shell.send("q")
        read_until("sw-cell-02#")
        shell.send("configure terminal\n")
        assert "(config)#" in read_until("(config)#")  # a real device would: the log must show it
        shell.send("end\nwrite memory\n")
        read_until("Invalid input")
        log = [r for r in sim.requests if r["kind"] == "cli"]
    assert [r["command"] for r in log] == ["show running-config", "configure terminal", "end", "write memory"]
    assert [r["config_mode"] for r in log] == [False, True, False, False] and log[-1]["refused"]


def test_a_recorded_switch_is_served_back_with_the_same_verdicts(tmp_path) -> None:
    from simulators.record import record_cli
    from tests.support.checks import check_verdicts
    from auditor.registry import REGISTRY

    specs = [c for c in REGISTRY.load().checks.values() if c.pack.startswith("checks.netcli")]
    with simulated_device("ios-weak", "127.0.35.20", tmp_path) as (sim, asset):
        recording = record_cli(asset, tmp_path / "recorded")
        number_items(asset.id, recording.items)
        original = {k: v.status for k, v in check_verdicts(recording.items, specs).items()}
    written = sorted(p.name for p in recording.files)
    assert written == ["device.yaml", "interfaces-status.txt", "running-config.txt", "ssh-status.txt", "version.txt"]
    assert "<removed>" in (tmp_path / "recorded" / "running-config.txt").read_text()
    with simulated_device(str(tmp_path / "recorded"), "127.0.35.20", tmp_path) as (sim, asset):
        items = collect(asset)
    number_items(asset.id, items)
    assert {k: v.status for k, v in check_verdicts(items, specs).items()} == original
