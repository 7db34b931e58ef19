"""``scan --plan`` for the connectors whose reads depend on the platform: SSH hosts (Linux sh or Windows
PowerShell) and network devices' CLI (the allow-listed commands of their platform). No network."""

from __future__ import annotations

from auditor.assessment.profiles import load_profile
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from connectors.base import ScanOptions
from connectors.netcli.connector import NetcliConnector
from connectors.ssh.connector import SshConnector


def _plan(connector_class, asset: dict, profile: str):
    parsed = Asset.model_validate(asset)
    spec = load_profile(profile)
    requests = REGISTRY.load().requests_for(spec.checks_for(parsed))[parsed.endpoints[0].protocol]
    return connector_class(parsed, parsed.endpoints[0], ScanOptions()).plan(requests)


def _host(**extra) -> dict:
    return {"id": "h", "type": "host", "address": "127.0.38.200", **extra,
            "endpoints": [{"protocol": "ssh", "username": "auditor", "ssh_config": "/dev/null"}]}


def test_a_host_of_unknown_platform_plans_both_scripts_each_with_its_condition() -> None:
    plan = _plan(SshConnector, _host(), "host-sl2")
    sh = [s for s in plan.steps if s.operation == "command"]
    ps = [s for s in plan.steps if s.operation == "section"]
    assert sh and ps
    assert {s.when for s in sh} == {"the server does not identify as OpenSSH for Windows"}
    assert {s.when for s in ps} == {"the server identifies as OpenSSH for Windows"}
    assert not [s for s in plan.steps if "not a read this connector performs" in s.detail]


def test_a_declared_windows_host_plans_only_the_powershell_script() -> None:
    plan = _plan(SshConnector, _host(platform="windows"), "host-sl2")
    assert not [s for s in plan.steps if s.operation == "command"]
    execs = [s for s in plan.steps if s.operation == "exec"]
    assert len(execs) == 1 and "PowerShell bootstrap" in execs[0].target and not execs[0].when
    assert [s for s in plan.steps if s.operation == "section"]


def _switch(platform: str) -> dict:
    return {"id": "s", "type": "network", "address": "127.0.38.201",
            "endpoints": [{"protocol": "cli", "username": "auditor", "platform": platform, "ssh_config": "/dev/null"}]}


def test_a_cli_device_plans_its_platforms_show_commands_and_nothing_else() -> None:
    plan = _plan(NetcliConnector, _switch("cisco_ios"), "network-sl2")
    commands = [s.target for s in plan.steps if s.operation == "command"]
    assert commands == ["show version", "show running-config", "show interfaces status", "show ip ssh"]
    assert all(s.count == 1 and not s.when for s in plan.steps if s.operation == "command")
    assert [s.operation for s in plan.steps[:2]] == ["connect", "shell"] and "2 commands per second" in plan.pacing
    auto = _plan(NetcliConnector, _switch("auto"), "network-sl2")
    conditional = [s for s in auto.steps if s.operation == "command" and s.when]
    assert conditional and all(s.target != "show version" for s in conditional)  # version names the platform


def test_a_hios_device_plans_its_three_shows_and_auto_plans_the_hios_shell_as_a_condition() -> None:
    plan = _plan(NetcliConnector, _switch("hirschmann_hios"), "network-sl2")
    commands = [(s.target, s.count) for s in plan.steps if s.operation == "command"]
    assert commands == [("show system info", 1), ("show running-config script all", 1), ("show port", 1),
                        ("ssh-status", 0)]  # HiOS has no such command: nothing sent
    assert "cli numlines 0" in plan.steps[1].detail
    auto = _plan(NetcliConnector, _switch("auto"), "network-sl2")
    probe = [s for s in auto.steps if s.operation == "shell" and s.when]
    assert len(probe) == 1 and probe[0].target.startswith("Hirschmann HiOS")
    assert "show system info" in probe[0].detail and "'show version' names no platform" in probe[0].when
