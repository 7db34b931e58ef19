"""``discover`` against the demo plant: every simulated device is found with its type and its protocol endpoints,
with the identification reads and nothing else, and the draft is an inventory ``inventory check`` and
``scan --plan`` accept.

The demo plant (:data:`simulators.plant.DEFAULT_HOSTS`) has Linux and Windows hosts over SSH, SNMP switches,
switches audited over their CLI, OPC UA servers, Modbus PLCs, S7 CPUs and web interfaces. Devices on
ephemeral ports are named with ``--ports PORT:PROTOCOL`` as a technician would; the well-known ports are
the defaults.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from click.testing import CliRunner

from auditor.app.discovery import DEFAULT_PORTS
from auditor.cli import cli
from auditor.plant.inventory import load_inventory
from simulators.plant import DEFAULT_HOSTS, Plant

RANGES = ("127.0.10.0/26", "127.0.10.200/29", "127.0.10.216/29", "127.0.10.223", "127.0.10.224")
WINDOWS = {"hmi-02", "hist-02", "hist-03"}
LINUX_CONTROLLERS = {"plc-05"}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _ports(plant: Plant) -> str:
    """The default ports, and each simulator's own port with the protocol it speaks."""
    ports = [f"{s.port}/{s.transport}" for s in DEFAULT_PORTS]
    for host in plant.hosts:
        endpoint = plant.endpoints[host.id]
        port = endpoint["port"]
        if host.protocol == "snmp":
            ports.append(f"{port}/udp:snmp")
        elif host.protocol in ("ssh", "cli"):
            ports.append(f"{port}:ssh")
        elif host.protocol == "https":
            ports += [f"{port}:https", f"{endpoint['http_port']}:http"]
        else:
            ports.append(f"{port}:{host.protocol}")
    return ",".join(dict.fromkeys(ports))


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    work = tmp_path_factory.mktemp("discover-demo")
    with Plant(work) as plant:
        warnings = [w for h in ("plc-01", "plc-02") for w in plant.simulators[h].warnings]
        if warnings:  # not root, or another demo plant holds them right now
            pytest.skip(f"the PLC simulators need the well-known Modbus ports 502 and 802: {'; '.join(warnings)}")
        monkey = pytest.MonkeyPatch()
        monkey.setenv("DEMO_DISCOVERY_COMMUNITY", (work / "sw-01.snmp-community").read_text())
        out = work / "draft.yaml"
        started = time.monotonic()
        try:
            result = run("discover", *RANGES, "--ports", _ports(plant), "--rate", "300", "--timeout", "1",
                         "--snmp-community-env", "DEMO_DISCOVERY_COMMUNITY", "--out", str(out))
        finally:
            monkey.undo()
        elapsed = time.monotonic() - started
        sent = {host.id: list(plant.simulators[host.id].requests) for host in plant.hosts}
        connections = {h.id: dict(plant.simulators[h.id].connections) for h in plant.hosts if h.protocol == "https"}
        ports = {h.id: plant.endpoints[h.id]["port"] for h in plant.hosts}
    return result, out, elapsed, sent, connections, ports


def _evidence(text: str) -> dict[str, str]:
    """Each asset's comment block (its evidence) by address."""
    blocks = {}
    for block in text.split("\n# 127.0.10.")[1:]:
        blocks[f"127.0.10.{block.split(':', 1)[0]}"] = block.split("\n- id:", 1)[0]
    return blocks


def test_every_simulated_device_is_found_with_its_type_and_endpoint(discovered) -> None:
    result, out, elapsed, _sent, _connections, ports = discovered
    assert result.exit_code == 0, result.output
    assets = {a.address: a for a in load_inventory(out).assets}
    assert set(assets) == {h.address for h in DEFAULT_HOSTS}  # nothing more, nothing less
    for host in DEFAULT_HOSTS:
        asset = assets[host.address]
        # a Linux-based controller answers SSH like any Linux host: nothing read-only tells them apart
        assert asset.type == ("host" if host.id in LINUX_CONTROLLERS else host.type), host.id
        # the endpoint the plant's own inventory has: same protocol, same port
        assert [e.port for e in asset.endpoints if e.protocol == host.protocol] == [ports[host.id]], host.id
        assert asset.platform == ("windows" if host.id in WINDOWS else None), host.id
    assert [e.protocol for e in assets["127.0.10.1"].endpoints] == ["ssh"]
    cli_switch = assets["127.0.10.201"].endpoints
    assert [(e.protocol, e.platform) for e in cli_switch] == [("cli", "cisco_ios")]
    cpu = assets["127.0.10.220"]
    assert cpu.product is not None and cpu.product.model == "6ES7 315-2EH14-0AB0"
    panel = assets["127.0.10.222"].endpoints
    assert [e.protocol for e in panel] == ["https"] and panel[0].http_port > 0
    assert elapsed < 60


def test_each_guess_carries_its_evidence(discovered) -> None:
    _result, out, *_ = discovered
    evidence = _evidence(out.read_text())
    assert "SSH: SSH-2.0-OpenSSH_9.2p1" in evidence["127.0.10.1"]
    assert "OpenSSH for Windows: platform windows" in evidence["127.0.10.11"]
    assert "WinRM (HTTPS) open: a Windows host (no WinRM read is made" in evidence["127.0.10.13"]
    assert "SSH: SSH-2.0-Cisco-1.25" in evidence["127.0.10.201"]
    assert "a network vendor's SSH server: audited over its CLI (cisco_ios)" in evidence["127.0.10.202"]
    assert "SNMP v2c: sysDescr" in evidence["127.0.10.21"]
    assert "SNMPv3: the agent answered engine discovery" in evidence["127.0.10.22"]
    assert "FC 43/14" in evidence["127.0.10.31"] and "GetEndpoints answered" in evidence["127.0.10.41"]
    assert "Setup Communication answered; SZL 0x0011: order number '6ES7 315-2EH14-0AB0'" in evidence["127.0.10.220"]
    assert "HTTPS: GET / answered 200" in evidence["127.0.10.222"]
    assert "HTTP: GET / answered 200" in evidence["127.0.10.222"]
    assert "Server 'GoAhead-Webs/2.5.0'" in evidence["127.0.10.222"]


def test_discovery_sends_only_identification_reads(discovered) -> None:
    _result, _out, _elapsed, sent, connections, _ports = discovered
    for host in ("plc-03", "plc-04"):  # the S7 session and one Read SZL: nothing that writes, starts or stops
        assert [(r["pdu"], r.get("szl")) for r in sent[host]] == [("Setup Communication", None),
                                                                  ("Read SZL", "0x0011,0x0000")]
    for host in ("panel-01", "panel-02"):  # one GET / per web port: one TLS connection, one plain
        assert [f"{r['scheme']} {r['method']} {r['path']}" for r in sent[host]] == ["https GET /", "http GET /"]
        assert connections[host] == {"https": 2, "http": 2}  # the port's connect, then the GET's connection
    for host in ("ews-01", "hmi-02", "sw-cell-01"):  # identification only: no login, no shell, no command
        kinds = [r["kind"] for r in sent[host]]
        assert set(kinds) == {"connect"} and len(kinds) <= 2, host  # the port's connect and the wire probe
    assert [r["function_code"] for r in sent["plc-01"] if r["kind"] == "modbus"] == [43]


def test_the_draft_passes_inventory_check_and_scan_plans_it(discovered, monkeypatch) -> None:
    _result, out, *_ = discovered
    for variable in ("DEMO_DISCOVERY_COMMUNITY", "SNMP_AUTH_KEY", "SNMP_PRIV_KEY", "WINRM_PASSWORD"):  # its secrets
        monkeypatch.setenv(variable, "set by the technician")
    checked = run("inventory", "check", str(out))
    assert checked.exit_code == 0, checked.output
    planned = run("scan", "-i", str(out), "--sl", "2", "--plan", "--json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    protocols = {e["protocol"] for a in plan["assets"] for e in a["endpoints"]}
    assert {"ssh", "cli", "snmp", "modbus", "opcua", "s7", "https", "winrm"} <= protocols
    windows = [a for a in yaml.safe_load(out.read_text())["assets"] if a.get("platform") == "windows"]
    assert {a["address"] for a in windows} == {"127.0.10.11", "127.0.10.12", "127.0.10.13"}
