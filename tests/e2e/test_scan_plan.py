"""``scan --plan``: every request a scan would send, before any packet, from the scan's own planning code.

Proved two ways: the plan is printed with every socket operation made to fail (no connection, no datagram,
no name lookup), and the plan of a plant of simulators (one of each kind the demo plant has: a Linux and a
Windows host, SNMP switches, a switch's CLI, a Modbus PLC, an OPC UA server, an S7 CPU, a web interface)
matches what those simulators then record when the same inventory is scanned.
"""

from __future__ import annotations

import json
import re
import socket
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor.cli import cli
from simulators.plant import Plant, PlantHost

INVENTORY = {
    "site": "Plan test",
    "zones": [{"id": "control", "sl_target": 2,
               "maintenance_windows": [{"days": "mon-sun", "start": "00:00", "end": "23:59"}]}],
    "assets": [
        {"id": "ews-01", "type": "host", "zone": "control", "address": "127.0.38.1",
         "endpoints": [{"protocol": "ssh", "port": 2222, "username": "auditor", "key_file": "/nonexistent/key"}]},
        {"id": "sw-01", "type": "network", "zone": "control", "address": "127.0.38.2",
         "endpoints": [{"protocol": "snmp", "version": "2c", "community_env": "PLAN_TEST_UNSET",
                        "probe_default_communities": True, "requests_per_second": 5}]},
        {"id": "plc-01", "type": "embedded", "address": "127.0.38.3", "endpoints": [{"protocol": "modbus"}]},
        {"id": "scada-01", "type": "application", "address": "127.0.38.4",
         "endpoints": [{"protocol": "opcua", "anonymous_session": True}]},
        {"id": "plc-03", "type": "embedded", "address": "127.0.44.5", "endpoints": [{"protocol": "s7", "slot": 2}]},
        {"id": "panel-01", "type": "embedded", "address": "127.0.44.6",
         "endpoints": [{"protocol": "https", "requests_per_second": 4}]},
    ],
}


@pytest.fixture
def no_network(monkeypatch):
    """Every way out of the process fails loudly: a connect, a datagram, a name lookup."""
    attempts: list[str] = []

    def refuse(name):
        def fail(*args, **kwargs):
            attempts.append(name)
            raise AssertionError(f"the plan tried socket {name}{args[1:]!r}")
        return fail

    for name in ("connect", "connect_ex", "sendto", "sendmsg", "send", "sendall"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    return attempts


def _inventory(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(INVENTORY))
    return path


def test_plan_sends_nothing_and_lists_every_request(tmp_path, no_network) -> None:
    result = CliRunner().invoke(cli, ["scan", "-i", str(_inventory(tmp_path)), "--sl", "2", "--plan"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert no_network == []
    text = result.output
    assert "nothing has been sent" in text
    for asset in ("ews-01", "sw-01", "plc-01", "scada-01", "plc-03", "panel-01"):
        assert f"\n{asset} " in text
    assert "wire probe  127.0.38.1:2222" in text
    assert "FC 43 read_device_identification" in text and "tls probe  127.0.38.3:802" in text
    assert "default-community probe: 'private' over v1" in text
    assert "GetEndpoints  opc.tcp://127.0.38.4:4840" in text
    assert "Setup Communication  127.0.44.5:102" in text and "Read SZL  0x0011,0x0000" in text
    assert "TLS handshake  127.0.44.6:443 TLSv1.1" in text and "GET /  http://127.0.44.6:80/" in text
    assert "window: may start now" in text
    assert "totals" in text and not (tmp_path / "out").exists()


def test_plan_json_counts_add_up(tmp_path, no_network) -> None:
    result = CliRunner().invoke(cli, ["scan", "-i", str(_inventory(tmp_path)), "--sl", "2", "--plan", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert no_network == []
    assets = {a["asset"]: a for a in plan["assets"]}
    assert plan["sends"] == sum(a["sends"] for a in plan["assets"]) == sum(plan["totals"].values())
    plc = assets["plc-01"]["endpoints"][0]
    codes = [s["operation"].split()[1] for s in plc["steps"] if s["operation"].startswith("FC ")]
    assert codes == ["3", "43", "43", "17"]
    # 1 connect + 4 reads + 11 port probes at 5 per second: the pacing alone takes 3 s
    assert plc["sends"] == 16 and plc["min_seconds"] == 3.0
    switch = assets["sw-01"]["endpoints"][0]
    assert "at most 5 PDUs/s" in switch["pacing"]
    host = assets["ews-01"]["endpoints"][0]
    commands = [s for s in host["steps"] if s["operation"] == "command"]
    execs = [s for s in host["steps"] if s["operation"] == "exec" and "sh script" in s["target"]]
    assert commands and all(s["request"].startswith("ssh:exec:") for s in commands)
    assert sum(int(e["target"].split(" of ")[1].split()[0]) for e in execs) == len(commands)
    # the platform is learnt from the server: the Windows script is planned too, under its condition
    cpu = assets["plc-03"]["endpoints"][0]
    assert "at most 2 per second" in cpu["pacing"] and "rack 0, slot 2" in cpu["steps"][0]["detail"]
    pdus = len([s for s in cpu["steps"] if s["operation"] in ("Setup Communication", "Read SZL")])
    assert pdus >= 2 and cpu["min_seconds"] == (pdus - 1) / 2
    panel = assets["panel-01"]["endpoints"][0]
    assert "at most 4 per second" in panel["pacing"] and "no login" in panel["pacing"]
    assert Counter(s["operation"] for s in panel["steps"] if s["count"]) == {"TLS handshake": 4, "GET /": 2,
                                                                            "GET (absent path)": 1}
    assert "nothing sent: the inventory names no site CA" in [s["detail"] for s in panel["steps"]]
    assert panel["min_seconds"] == 6 / 4
    sections = [s for s in host["steps"] if s["operation"] == "section"]
    assert sections and all(s["when"] == "the server identifies as OpenSSH for Windows" for s in sections)


def test_plan_options(tmp_path) -> None:
    inventory = str(_inventory(tmp_path))
    missing_out = CliRunner().invoke(cli, ["scan", "-i", inventory, "--sl", "2"])
    assert missing_out.exit_code == 2 and "--out" in missing_out.output
    json_alone = CliRunner().invoke(cli, ["scan", "-i", inventory, "--sl", "2", "--json", "--out", str(tmp_path)])
    assert json_alone.exit_code == 2 and "--plan" in json_alone.output
    other_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(datetime.now(timezone.utc).weekday() + 3) % 7]
    outside = {**INVENTORY, "zones": [{"id": "control", "sl_target": 2, "maintenance_windows": [
        {"days": other_day, "start": "01:00", "end": "02:00", "timezone": "UTC"}]}]}
    (tmp_path / "closed.yaml").write_text(yaml.safe_dump(outside))
    closed = CliRunner().invoke(cli, ["scan", "-i", str(tmp_path / "closed.yaml"), "--plan", "--json"])
    windows = {a["asset"]: a["window"] for a in json.loads(closed.output)["assets"]}
    assert windows["ews-01"].startswith("skipped now: outside its maintenance window")
    assert windows["plc-01"] == "any time (no maintenance window)"


PLANT = [PlantHost("hmi-01", "weak", "127.0.38.11", "control"),
         PlantHost("sw-01", "weak", "127.0.38.21", "control", type="network", protocol="snmp"),
         PlantHost("sw-02", "hardened", "127.0.38.22", "control", type="network", protocol="snmp"),
         PlantHost("plc-01", "weak", "127.0.38.31", "control", type="embedded", protocol="modbus"),
         PlantHost("scada-01", "weak", "127.0.38.41", "control", type="application", protocol="opcua"),
         PlantHost("plc-03", "weak", "127.0.44.1", "control", type="embedded", protocol="s7"),
         PlantHost("panel-01", "weak", "127.0.44.2", "control", type="embedded", protocol="https"),
         PlantHost("sw-cell-01", "weak", "127.0.44.3", "control", type="network", protocol="cli"),
         PlantHost("hmi-02", "windows-weak", "127.0.44.4", "control")]


@pytest.fixture(scope="module")
def planned_and_recorded(tmp_path_factory):
    work = tmp_path_factory.mktemp("plan-plant")
    with Plant(work, PLANT) as plant:
        shown = CliRunner().invoke(cli, ["scan", "-i", str(plant.inventory_path), "--plan", "--json"],
                                   catch_exceptions=False)
        assert shown.exit_code == 0, shown.output
        assert all(not sim.requests for sim in plant.simulators.values())  # the plan reached no simulator
        store = str(work / "history.sqlite")
        scanned = CliRunner().invoke(cli, ["scan", "-i", str(plant.inventory_path), "--out", str(work / "out"), "-q",
                                           "--db", store], catch_exceptions=False)
        assert scanned.exit_code in (0, 1), scanned.output
        recorded = {host_id: sim.requests for host_id, sim in plant.simulators.items()}
        recorded["panel-01 connections"] = dict(plant.simulators["panel-01"].connections)
        again = CliRunner().invoke(cli, ["scan", "-i", str(plant.inventory_path), "--plan", "--json", "--db", store],
                                   catch_exceptions=False)
    plan = {a["asset"]: a["endpoints"][0] for a in json.loads(shown.output)["assets"]}
    plan["history"] = json.loads(again.output)
    plan["first"] = json.loads(shown.output)
    return plan, recorded


def test_plan_with_history_gives_each_asset_its_last_duration(planned_and_recorded) -> None:
    plan, _recorded = planned_and_recorded
    assert all(a["expected_seconds"] is None for a in plan["first"]["assets"])
    expected = {a["asset"]: a["expected_seconds"] for a in plan["history"]["assets"]}
    assert set(expected) == {h.id for h in PLANT} and all(s is not None and s > 0 for s in expected.values())


def _sent(endpoint: dict, operation: str) -> list[dict]:
    """Steps sent to a Linux host (the ones planned for a Windows server are not)."""
    return [s for s in endpoint["steps"] if s["operation"] == operation and s["count"] != 0
            and s["when"] != "the server identifies as OpenSSH for Windows"]


def test_ssh_plan_matches_the_recorded_session(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    host, log = plan["hmi-01"], recorded["hmi-01"]
    assert Counter(r["kind"] for r in log)["connect"] == len(_sent(host, "wire probe")) + len(_sent(host, "connect"))
    execs = [r for r in log if r["kind"] == "exec"]
    assert sorted(len(r["commands"]) for r in execs) == sorted(
        int(s["target"].split(" of ")[1].split()[0]) for s in _sent(host, "exec"))
    ran = sorted(command for r in execs for command in (c if isinstance(c, str) else c["command"]
                                                        for c in r["commands"]))
    assert ran == sorted(s["target"] for s in _sent(host, "command"))


@pytest.mark.parametrize("asset", ["sw-01", "sw-02"])
def test_snmp_plan_matches_the_recorded_pdus(planned_and_recorded, asset) -> None:
    plan, recorded = planned_and_recorded
    switch, log = plan[asset], recorded[asset]
    gets = [r for r in log if r["pdu"] == "GetRequest"]
    planned = _sent(switch, "GET")
    # the weak switch's audit community is 'public': its v2c probe is the one conditional GET not sent
    assert len(planned) - len(gets) == (1 if asset == "sw-01" else 0)
    assert len([s for s in planned if not s["when"]]) <= len(gets)
    assert Counter(tuple(r["oids"]) for r in gets if r["oids"]) <= Counter(
        tuple(s["target"].split()) for s in planned if s["target"])
    walks = _sent(switch, "GETBULK walk")
    primary = [tuple(s["target"].split()) for s in walks if not s["when"]]
    bulks = [tuple(r["oids"]) for r in log if r["pdu"] == "GetBulkRequest"]
    assert primary and set(primary) <= set(bulks)  # each walk's first PDU asks for its roots


def test_modbus_plan_matches_the_recorded_frames(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    plc, log = plan["plc-01"], recorded["plc-01"]
    planned_codes = [int(s["operation"].split()[1]) for s in plc["steps"] if s["operation"].startswith("FC ")]
    assert [r["function_code"] for r in log if r["kind"] == "modbus"] == planned_codes
    probed = {int(s["target"].rsplit(":", 1)[1]) for s in plc["steps"] if s["operation"].endswith("probe")}
    connects = Counter(r["port"] for r in log if r["kind"] == "connect")
    session_port = int(_sent(plc, "connect")[0]["target"].rsplit(":", 1)[1])
    assert set(connects) <= probed | {session_port}
    assert connects[session_port] == 1 + (session_port in probed)
    assert all(count == 1 for port, count in connects.items() if port != session_port)


def test_opcua_plan_matches_the_recorded_services(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    server, log = plan["scada-01"], recorded["scada-01"]
    # the weak server offers the Anonymous token and a policy for the (allowed) untrusted-client probe, and no
    # endpoint that would protect the auditor's password
    held = [s for s in server["steps"] if s["count"] != 0 and (not s["when"] or "Anonymous" in s["when"]
                                                              or "policy the auditor speaks" in s["when"])]
    assert any("protects the credential" in s["when"] for s in server["steps"])
    assert Counter(r["kind"] for r in log)["connect"] == len([s for s in held if s["operation"] == "connect"])
    services = [r["service"] for r in log if r["kind"] == "service"]
    distinct = [s for i, s in enumerate(services) if i == 0 or s != services[i - 1]]
    # a browse is one Browse per level, then a Read of the access levels it found (its detail says so); the
    # reads the audit account's session would make go to the anonymous one (no endpoint protects the password)
    planned = [op for s in held if s["operation"] != "connect"
               for op in ([s["operation"], "Read"] if s["operation"] == "Browse" else [s["operation"]])]
    expected = [s for i, s in enumerate(planned) if i == 0 or s != planned[i - 1]]
    assert distinct == expected


def test_s7_plan_matches_the_recorded_pdus(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    cpu, log = plan["plc-03"], recorded["plc-03"]
    planned = [(s["operation"], s["target"] if s["operation"] == "Read SZL" else None) for s in cpu["steps"]
               if s["count"] and s["operation"] != "connect"]
    assert planned[0] == ("Setup Communication", None) and len(planned) > 1
    assert [(r["pdu"], r.get("szl")) for r in log] == planned


def test_web_plan_matches_the_recorded_requests_and_connections(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    panel, log = plan["panel-01"], recorded["panel-01"]
    gets = [s["target"].split(":", 1)[0] + (" GET /" if s["operation"] == "GET /" else " GET /iacs-audit-")
            for s in panel["steps"] if s["operation"].startswith("GET") and s["count"]]
    sent = [re.sub(r"[0-9a-f]{32}$", "", f"{r['scheme']} {r['method']} {r['path']}") for r in log]
    assert sorted(sent) == sorted(gets) == ["http GET /", "https GET /", "https GET /iacs-audit-"]
    assert {r["method"] for r in log} == {"GET"}  # no login, no form post, no other method
    handshakes = [s for s in panel["steps"] if s["operation"] == "TLS handshake" and s["count"]]
    assert len(handshakes) == 5  # four versions and one verified against the plant's site CA (ca_file)
    # every handshake is a connection of its own, and so is each GET
    assert recorded["panel-01 connections"] == {"https": len(handshakes) + 2, "http": 1}



def test_cli_plan_matches_the_recorded_lines(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    switch, log = plan["sw-cell-01"], recorded["sw-cell-01"]
    assert Counter(r["kind"] for r in log)["connect"] == len([s for s in switch["steps"] if s["operation"] == "connect"])
    lines = [r["command"] for r in log if r["kind"] == "cli"]
    shows = [s["target"] for s in switch["steps"] if s["operation"] == "command" and s["count"]]
    assert shows and [line for line in lines if line.startswith("show ")] == shows
    shell = next(s for s in switch["steps"] if s["operation"] == "shell")
    session = shell["detail"].split(": ", 1)[1].split(", ")  # the driver's session commands, as planned
    assert [line for line in lines if not line.startswith("show ")] and all(
        line in session for line in lines if not line.startswith("show "))


def test_windows_plan_matches_the_recorded_script(planned_and_recorded) -> None:
    plan, recorded = planned_and_recorded
    host, log = plan["hmi-02"], recorded["hmi-02"]
    windows = "the server identifies as OpenSSH for Windows"
    sent = [s for s in host["steps"] if s["count"] and s["when"] in ("", windows)]  # the server said it is Windows
    assert Counter(r["kind"] for r in log)["connect"] == len([s for s in sent if s["operation"] in ("wire probe",
                                                                                                    "connect")])
    execs = [r for r in log if r["kind"] == "exec"]
    assert len(execs) == len([s for s in sent if s["operation"] == "exec"]) == 1
    ran = sorted(c if isinstance(c, str) else c["command"] for c in execs[0]["commands"])
    assert ran and ran == sorted(s["target"] for s in sent if s["operation"] == "section")
