"""``discover``: a paced, read-only scoping discovery of an address range, written as a draft inventory.

Against a plant of simulators (one of each kind, weak and hardened) it finds every device with the right
type and the evidence for it, and writes an inventory ``scan`` accepts; against a closed range, or a port
that accepts and stays silent, it ends in bounded time; a /16 is refused without --force.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor.app.discovery import addresses, parse_ports
from auditor.cli import cli
from auditor.plant.inventory import load_inventory
from simulators.plant import Plant, PlantHost

PLANT = [PlantHost("hmi-01", "weak", "127.0.38.1", "control"),
         PlantHost("sw-01", "weak", "127.0.38.2", "control", type="network", protocol="snmp"),
         PlantHost("sw-02", "hardened", "127.0.38.3", "control", type="network", protocol="snmp"),
         PlantHost("plc-01", "weak", "127.0.38.4", "control", type="embedded", protocol="modbus"),
         PlantHost("plc-02", "hardened", "127.0.38.5", "control", type="embedded", protocol="modbus"),
         PlantHost("scada-01", "weak", "127.0.38.6", "control", type="application", protocol="opcua"),
         PlantHost("scada-02", "hardened", "127.0.38.7", "control", type="application", protocol="opcua")]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    work = tmp_path_factory.mktemp("discover")
    with Plant(work, PLANT) as plant:
        if any(plant.simulators[h].warnings for h in ("plc-01", "plc-02")):
            pytest.skip("the PLC simulators need the well-known Modbus ports 502 and 802 (root)")
        ports = {"502", "802"}  # the PLC simulators take the well-known ports on their own addresses
        for host in PLANT:
            port = plant.endpoints[host.id]["port"]
            ports.add({"ssh": f"{port}", "snmp": f"{port}/udp:snmp"}.get(host.protocol, f"{port}:{host.protocol}"))
        community = (work / "sw-01.snmp-community").read_text()
        monkey = pytest.MonkeyPatch()
        monkey.setenv("DISCOVER_TEST_COMMUNITY", community)
        out = work / "draft.yaml"
        started = time.monotonic()
        try:
            result = run("discover", "127.0.38.0/28", "--ports", ",".join(sorted(ports)), "--rate", "200",
                         "--snmp-community-env", "DISCOVER_TEST_COMMUNITY", "--out", str(out))
        finally:
            monkey.undo()
        elapsed = time.monotonic() - started
        sent = {host.id: plant.simulators[host.id].requests for host in PLANT}
    return result, out, elapsed, sent, community


def test_discovery_finds_every_simulated_device_with_its_type(discovered) -> None:
    result, out, elapsed, _sent, community = discovered
    assert result.exit_code == 0, result.output
    inventory = load_inventory(out)
    assert {a.address: a.type for a in inventory.assets} == {
        "127.0.38.1": "host", "127.0.38.2": "network", "127.0.38.3": "network", "127.0.38.4": "embedded",
        "127.0.38.5": "embedded", "127.0.38.6": "application", "127.0.38.7": "application"}
    protocols = {a.address: [e.protocol for e in a.endpoints] for a in inventory.assets}
    assert protocols["127.0.38.1"] == ["ssh"] and protocols["127.0.38.6"] == ["opcua"]
    switches = {a.address: a.endpoints[0] for a in inventory.assets if a.type == "network"}
    assert switches["127.0.38.2"].version == "2c" and switches["127.0.38.2"].community_env == "DISCOVER_TEST_COMMUNITY"
    assert switches["127.0.38.3"].version == "3"  # found without any credential: its engine discovery answered
    assert community not in out.read_text()
    assert elapsed < 60


def test_each_guess_carries_its_evidence(discovered) -> None:
    _result, out, *_ = discovered
    text = out.read_text()
    comments = {}
    for block in text.split("# 127.0.38.")[1:]:
        comments[f"127.0.38.{block.split(':', 1)[0]}"] = block
    assert "SSH: SSH-2.0-" in comments["127.0.38.1"]
    assert "SNMP v2c: sysDescr" in comments["127.0.38.2"]
    assert "SNMPv3: the agent answered engine discovery" in comments["127.0.38.3"]
    assert "502/tcp Modbus" in comments["127.0.38.4"] and "FC 43/14" in comments["127.0.38.4"]
    assert "802/tcp Modbus (Modbus/TCP Security)" in comments["127.0.38.5"]
    assert "OPC UA: GetEndpoints answered" in comments["127.0.38.6"]
    for asset in yaml.safe_load(text)["assets"]:
        assert asset["description"].startswith("discovered: ")


def test_discovery_sends_only_identification_reads(discovered) -> None:
    _result, _out, _elapsed, sent, _community = discovered
    plc = [r for r in sent["plc-01"] if r["kind"] == "modbus"]
    assert [r["function_code"] for r in plc] == [43]  # FC 43/14 and nothing else
    ssh = sent["hmi-01"]
    assert not [r for r in ssh if r["kind"] in ("auth", "exec")]  # no login, no command
    services = [r["service"] for r in sent["scada-01"] if r["kind"] == "service"]
    assert services == ["GetEndpoints"]
    pdus = {r["pdu"] for r in sent["sw-01"]}
    assert pdus <= {"GetRequest"}  # no walk, no SET


def test_the_draft_is_an_inventory_scan_plans(discovered) -> None:
    _result, out, *_ = discovered
    planned = run("scan", "-i", str(out), "--sl", "2", "--plan", "--json")
    assert planned.exit_code == 0, planned.output
    assert {a["type"] for a in json.loads(planned.output)["assets"]} == {"host", "network", "embedded", "application"}


def test_closed_range_ends_in_bounded_time_and_writes_nothing(tmp_path) -> None:
    started = time.monotonic()
    result = run("discover", "127.0.38.240/29", "--rate", "200", "--timeout", "0.5", "--out", str(tmp_path / "d.yaml"))
    assert result.exit_code == 0, result.output
    assert "nothing answered" in result.output and not (tmp_path / "d.yaml").exists()
    # 6 addresses x 15 TCP ports at 200/s, and one SNMP probe each, bounded by the 0.5 s timeout
    assert time.monotonic() - started < 20


def test_a_silent_listener_costs_one_bounded_identification(tmp_path) -> None:
    server = socket.create_server(("127.0.38.250", 0))
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    try:
        started = time.monotonic()
        result = run("discover", "127.0.38.250", "--ports", f"{port}:ssh", "--timeout", "0.5",
                     "--out", str(tmp_path / "d.yaml"))
        elapsed = time.monotonic() - started
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    assert result.exit_code == 0, result.output
    assert "nothing answered on a port the auditor speaks" in result.output and elapsed < 15


def test_ranges_and_ports_are_bounded_and_checked() -> None:
    assert addresses("127.0.38.0/30") == ["127.0.38.1", "127.0.38.2"]
    assert addresses("127.0.38.9") == ["127.0.38.9"]
    assert len(addresses("127.0.0.0/16", force=True)) == 65534
    with pytest.raises(ValueError, match="--force"):
        addresses("127.0.0.0/16")
    with pytest.raises(ValueError, match="more than 65536"):
        addresses("127.0.0.0/15", force=True)
    refused = run("discover", "127.0.0.0/16", "--out", "-")
    assert refused.exit_code == 2 and "--force" in refused.output
    assert [(s.port, s.transport, s.protocol) for s in parse_ports("22,161/udp,40022:ssh,40161:snmp,102")] == [
        (22, "tcp", "ssh"), (161, "udp", "snmp"), (40022, "tcp", "ssh"), (40161, "udp", "snmp"), (102, "tcp", "s7")]
    for bad in ("70000", "22/sctp", "22:profinet", "22/udp:ssh", ""):
        with pytest.raises(ValueError):
            parse_ports(bad)
    assert run("discover", "127.0.38.1", "--ports", "22:profinet", "--out", "-").exit_code == 2


def test_readme_says_what_discovery_sends() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### What discovery sends", 1)[1].split("\n## ", 1)[0]
    for words in ("one TCP connect", "engine discovery", "FC 43/14", "GetEndpoints", "Read SZL 0x0011", "`GET /`",
                  "WinRM endpoint", "OpenSSH for Windows", "--force", "--rate"):
        assert words in section, words
