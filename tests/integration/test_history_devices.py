"""Periodic audits of network devices and PLCs: firmware, service and identity drift between two stored scans.

A small plant (one SNMP switch, one Modbus PLC) is scanned into a SQLite history store; both devices
are then restarted on the same address and port with a "maintenance visit" applied (new firmware, a
service switched on) and scanned again; ``iacs-audit diff`` must name each change, from the
snapshots the packs' drift modules take of the evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor.cli import cli
from simulators.modbus.server import PlcSimulator
from simulators.plant import Plant, PlantHost
from simulators.snmp.server import FIXTURES as SNMP_FIXTURES
from simulators.snmp.server import SnmpSimulator

HOSTS = [PlantHost("sw-01", "weak", "127.0.10.21", "control", type="network",
                   description="Legacy managed switch (SNMPv2c)", protocol="snmp"),
         PlantHost("plc-01", "weak", "127.0.10.31", "control", type="embedded",
                   description="Legacy PLC, plain Modbus/TCP", protocol="modbus")]
PLC_FIRMWARE_BEFORE = "ACME PLC-3000 CPU 3012 FW 1.0.2 (2009-03-17)"
PLC_FIRMWARE_AFTER = "ACME PLC-3000 CPU 3012 FW 1.1.0 (2025-10-01)"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def upgraded_switch_fixture(tmp: Path) -> Path:
    """The weak switch after a firmware update (V1.2.3 -> V1.3.0) that also switched SSH on (TCP 22)."""
    text = (SNMP_FIXTURES / "weak.yaml").read_text()
    data = yaml.safe_load(text)
    data["objects"]["1.3.6.1.2.1.1.1.0"][1] = data["objects"]["1.3.6.1.2.1.1.1.0"][1].replace("V1.2.3", "V1.3.0")
    for table in data["tables"]:
        if "1.3.6.1.2.1.47.1.1.1.1.9" in table["columns"]:  # ENTITY-MIB firmware/software revisions
            table["rows"] = {index: [str(v).replace("1.2.3", "1.3.0") if isinstance(v, str) else v for v in row]
                             for index, row in table["rows"].items()}
        if "1.3.6.1.2.1.6.20.1.4" in table["columns"]:  # TCP-MIB tcpListenerTable
            table["rows"]["1.4.0.0.0.0.22"] = [0]
    path = tmp / "switch-after-update.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def restart_devices(plant: Plant, tmp: Path) -> None:
    """Swap both simulators for updated ones on the same address and port (the inventory stays valid)."""
    switch = plant.simulators["sw-01"]
    switch.stop()
    plant.simulators["sw-01"] = SnmpSimulator(upgraded_switch_fixture(tmp), host=switch.host, port=switch.port).start()
    plc = plant.simulators["plc-01"]
    plc.stop()
    # new firmware, and an IEC 60870-5-104 listener left on after commissioning (an unprivileged port, so
    # it opens without root as well)
    plant.simulators["plc-01"] = PlcSimulator("weak", plc.host, port=plc.plain_port, well_known_ports=True,
                                              server_id=PLC_FIRMWARE_AFTER,
                                              services=[*plc.fixture.services, {"port": 2404, "kind": "http"}]).start()
    assert plant.simulators["plc-01"].plain_port == plc.plain_port and 2404 in plant.simulators["plc-01"].service_ports


@pytest.fixture
def plant(tmp_path):
    with Plant(tmp_path / "plant", list(HOSTS), timeout=2.0) as running:
        yield running


def test_firmware_and_service_drift_of_a_switch_and_a_plc(plant, tmp_path) -> None:
    db = str(tmp_path / "history.sqlite")
    first = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "a"), "--db", db, "-q")
    assert first.exit_code == 1, first.stderr  # both legacy devices fail checks
    assert {a["status"] for a in json.loads((tmp_path / "a" / "result.json").read_text())["assets"]} == {"assessed"}

    restart_devices(plant, tmp_path)
    second = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "b"), "--db", db, "-q")
    assert second.exit_code == 1, second.stderr

    shown = run("diff", "1", "2", "--db", db, "--json")
    assert shown.exit_code == 1, shown.stderr  # drift found
    drift = json.loads(shown.stdout)
    assert not drift["assets_added"] and not drift["assets_gone"]
    by_asset = {a["asset"]: {c["name"]: c for c in a["evidence"]} | {"_details": [c["detail"] for c in a["evidence"]]}
                for a in drift["assets"]}

    switch = by_asset["sw-01"]
    assert switch["snmp_sysdescr"]["before"].endswith("firmware V1.2.3 (build 2014-03-11)")
    assert switch["snmp_sysdescr"]["after"].endswith("firmware V1.3.0 (build 2014-03-11)")
    assert "chassis firmware 1.2.3 -> 1.3.0" in switch["_details"]
    assert "chassis software V1.2.3 -> V1.3.0" in switch["_details"]
    assert "new listening service: 0.0.0.0:22/tcp" in switch["_details"]
    assert "snmp_sysobjectid" not in switch  # same model: no false alarm

    plc = by_asset["plc-01"]
    assert plc["modbus_server_id"]["change"] == "changed"
    assert (plc["modbus_server_id"]["before"], plc["modbus_server_id"]["after"]) == (PLC_FIRMWARE_BEFORE,
                                                                                     PLC_FIRMWARE_AFTER)
    assert "new open port: 2404/tcp (IEC 60870-5-104)" in plc["_details"]
    assert not any("gone" in d for d in plc["_details"])  # every port that was open still is

    text = run("diff", "--db", db)  # default: previous -> latest, as an operator reads it
    assert text.exit_code == 1
    assert f"evidence: Report Server ID (FC 17): {PLC_FIRMWARE_BEFORE} -> {PLC_FIRMWARE_AFTER}" in text.stdout
    assert "evidence: chassis firmware 1.2.3 -> 1.3.0" in text.stdout
