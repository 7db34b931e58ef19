"""The CLI connector against the simulated Hirschmann HiOS rail switches (SSH simulator in CLI mode) on 127.0.42.x.

What a scan sends to a HiOS switch, proven on the simulator's log: the driver's session commands (``cli numlines
0``, ``enable``, which HiOS grants without a password, ``exit``) and the three allow-listed ``show`` commands,
each once, never configuration mode; at most two lines per ``show`` with the platform named in the inventory;
auto-detection through a refused Cisco probe; the HiOS prompt, paging and refusal text of the simulator.
"""

from __future__ import annotations

from auditor.evidence import number_items
from auditor.protocols.cli import PLATFORMS
from simulators.ssh.server import SshSimulator
from tests.support.checks import check_verdict
from tests.support.netcli_device import collect, interactive_shell, simulated_device

HIOS = PLATFORMS["hirschmann_hios"]
SHOWS = set(HIOS.commands.values())


def _cli_log(sim: SshSimulator) -> list[dict]:
    return [r for r in sim.requests if r["kind"] == "cli"]


def test_a_named_hios_switch_is_read_in_one_shell_with_three_shows_and_no_configuration_mode(tmp_path) -> None:
    with simulated_device("hios-hardened", "127.0.42.11", tmp_path, platform="hirschmann_hios") as (sim, asset):
        items = collect(asset)
        log = _cli_log(sim)
        kinds = [r["kind"] for r in sim.requests]
    commands = [r["command"] for r in log]
    assert set(commands) <= set(HIOS.session_commands) | SHOWS, commands
    assert sorted(c for c in commands if c.startswith("show")) == sorted(SHOWS)  # each read once
    assert not any(r["config_mode"] for r in log) and not any(r["refused"] for r in log)
    assert kinds.count("shell") == 1 and kinds.count("connect") == 1
    sent = [c for c in commands if c != "exit"]
    assert sent == ["cli numlines 0", "enable", "show system info", "show running-config script all", "show port"]
    assert len(sent) <= 2 * len(SHOWS)  # two lines per show at most: paging off and enable, once per session
    info = next(i for i in items if i.request.op == "session").data()
    assert (info["platform"], info["platform_source"], info["privileged"]) == ("hirschmann_hios", "inventory", True)
    ssh = next(i for i in items if i.request.target == "ssh-status")
    assert ssh.status == "error" and "no command for 'ssh-status'" in ssh.error  # nothing sent for it
    number_items(asset.id, items)
    assert check_verdict(items, "netcli.vty.ssh-only").status == "pass"
    assert check_verdict(items, "netcli.ssh.version-2").status == "pass"  # from the SSH identification


def test_auto_detection_finds_hios_after_a_refused_cisco_probe(tmp_path) -> None:
    with simulated_device("hios-weak", "127.0.42.12", tmp_path) as (sim, asset):
        items = collect(asset)
        log = _cli_log(sim)
        shells = [r for r in sim.requests if r["kind"] == "shell"]
    info = next(i for i in items if i.request.op == "session").data()
    assert (info["platform"], info["platform_source"], info["shells"]) == ("hirschmann_hios", "show system info", 2)
    assert len(shells) == 2
    refused = [r["command"] for r in log if r["refused"]]
    assert refused == ["terminal width 511", "terminal length 0", "show version"]  # the Cisco probe, nothing else
    assert not any(r["config_mode"] for r in log)
    number_items(asset.id, items)
    assert check_verdict(items, "netcli.snmp.default-community").status == "fail"


def test_the_hios_simulator_prompts_pages_and_refuses_like_the_device(tmp_path) -> None:
    with interactive_shell("hios-hardened", "127.0.42.13", tmp_path) as (sim, shell, read_until):
        read_until("(RSP-cell-04)>")
        shell.send("show running-config script all\n")  # needs the privileged mode
        assert "Error: Invalid command 'show running-config script all'" in read_until("(RSP-cell-04)>")
        shell.send("enable\n")
        read_until("(RSP-cell-04)#")
        shell.send("show running-config script all\n")
        assert "--More--" in read_until("--More--")
        shell.send("q")
        read_until("(RSP-cell-04)#")
        shell.send("configure\n")
        read_until("(RSP-cell-04)(Config)#")
        shell.send("exit\nsave\n")
        read_until("Error: Invalid command 'save'")
        log = _cli_log(sim)
    assert [r["command"] for r in log] == ["show running-config script all", "enable", "show running-config script all",
                                           "configure", "exit", "save"]
    assert [r["refused"] for r in log] == [True, False, False, False, False, True]
    assert [r["config_mode"] for r in log] == [False, False, False, True, False, False]


def test_a_recorded_hios_switch_is_served_back_with_the_same_verdicts(tmp_path) -> None:
    from auditor.registry import REGISTRY
    from simulators.record import record_cli
    from tests.support.checks import check_verdicts

    specs = [c for c in REGISTRY.load().checks.values() if c.pack.startswith("checks.netcli")]
    with simulated_device("hios-weak", "127.0.42.14", tmp_path, platform="hirschmann_hios") as (sim, asset):
        recording = record_cli(asset, tmp_path / "recorded")
        number_items(asset.id, recording.items)
        original = {k: v.status for k, v in check_verdicts(recording.items, specs).items()}
    assert "hostname: RSP-cell-03" in (tmp_path / "recorded" / "device.yaml").read_text()
    with simulated_device(str(tmp_path / "recorded"), "127.0.42.14", tmp_path, platform="hirschmann_hios") as (sim, asset):
        items = collect(asset)
    number_items(asset.id, items)
    assert {k: v.status for k, v in check_verdicts(items, specs).items()} == original
    assert original["netcli.vty.ssh-only"] == "fail"
