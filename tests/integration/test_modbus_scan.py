"""A full CLI scan of a weak and a hardened PLC: opposite verdicts, and proof that only reads were sent.

The hardened PLC's inventory endpoint names the auditor's client certificate, key and CA
(``client_cert_file``, ``client_key_file``, ``ca_file``), like every other connector's credentials.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from modbus_plc import credential_fields, fresh_address, needs_low_ports

from auditor.cli import cli
from connectors.modbus.safety import ALLOWED, guard_frame
from reports.json_report import load_evidence, result_schema
from simulators.modbus.server import PlcSimulator

REQUIRED = ["modbus.access.unauthenticated-read", "modbus.identity.device-identification",
            "modbus.transport.secure", "modbus.exposure.insecure-services"]
TLS_CHECKS = ["modbus.transport.secure", "modbus.transport.tls-configuration"]
WRITE_CODES = {5, 6, 8, 15, 16, 20, 21, 22, 23}

pytestmark = needs_low_ports


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def verdicts(path: Path) -> dict[str, dict[str, dict]]:
    data = json.loads(path.read_text())
    return {a["id"]: {r["check_id"]: r for r in a["results"]} for a in data["assets"]}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    work = tmp_path_factory.mktemp("modbus-scan")
    weak_address, hardened_address = fresh_address(), fresh_address()
    with PlcSimulator("weak", weak_address, well_known_ports=True) as weak, \
            PlcSimulator("hardened", hardened_address, well_known_ports=True) as hardened:
        assert not weak.warnings and not hardened.warnings
        inventory = {"site": "modbus test", "zones": [{"id": "control", "sl_target": 2}], "assets": [
            {"id": "plc-weak", "type": "embedded", "zone": "control", "address": weak_address,
             "endpoints": [{"protocol": "modbus", "port": weak.port, "unit_id": 1, "timeout": 2}]},
            {"id": "plc-hardened", "type": "embedded", "zone": "control", "address": hardened_address,
             "endpoints": [{"protocol": "modbus", "port": hardened.port, "unit_id": 1, "timeout": 2,
                            **credential_fields()}]}]}
        path = work / "plant.yaml"
        path.write_text(yaml.safe_dump(inventory))
        started = time.monotonic()
        result = run("scan", "--inventory", str(path), "--sl", "2", "--out", str(work / "out"), "--quiet")
        elapsed = time.monotonic() - started
        logs = {"plc-weak": weak.requests, "plc-hardened": hardened.requests}
    return result, work / "out", logs, elapsed


def test_scan_outputs_and_opposite_required_verdicts(scanned) -> None:
    result, out, _logs, elapsed = scanned
    assert result.exit_code == 1, result.output
    data = json.loads((out / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    assert {a["id"]: a["status"] for a in data["assets"]} == {"plc-weak": "assessed", "plc-hardened": "assessed"}
    found = verdicts(out / "result.json")
    for check_id in REQUIRED:
        assert found["plc-weak"][check_id]["status"] == "fail", found["plc-weak"][check_id]
        assert found["plc-hardened"][check_id]["status"] == "pass", found["plc-hardened"][check_id]
        assert found["plc-weak"][check_id]["evidence"] and found["plc-hardened"][check_id]["evidence"]
    assert elapsed < 15  # both PLCs concurrently, each ~16 actions at 5/s


def test_hardened_plc_with_inventory_credentials_passes_the_tls_checks(scanned) -> None:
    _result, out, logs, _elapsed = scanned
    found = verdicts(out / "result.json")
    for check_id in TLS_CHECKS:
        assert found["plc-hardened"][check_id]["status"] == "pass", found["plc-hardened"][check_id]
    assert found["plc-weak"]["modbus.transport.secure"]["status"] == "fail"
    # the reads went over the authenticated session, as the certificate's role
    modbus = [r for r in logs["plc-hardened"] if r["kind"] == "modbus"]
    assert {r["listener"] for r in modbus} == {"tls"} and {r["client_role"] for r in modbus} == {"Auditor"}
    session = next(i for a in load_evidence(out / "evidence.json").assets if a.asset == "plc-hardened"
                   for i in a.items if i.request.op == "session")
    info = session.data()
    assert info["transport"] == "tls" and info["tls"]["verified"] is True and info["credential_error"] is None
    assert info["tls"]["client_certificate"]["role"] == "Auditor"


def test_request_log_proves_only_allowed_function_codes(scanned) -> None:
    _result, _out, logs, _elapsed = scanned
    for asset, log in logs.items():
        modbus = [r for r in log if r["kind"] == "modbus"]
        codes = [r["function_code"] for r in modbus]
        assert codes == [3, 43, 43, 17], (asset, codes)  # the whole scan: four reads per PLC
        assert set(codes) <= set(ALLOWED) and not set(codes) & WRITE_CODES
        assert all(r["mei_type"] == 14 for r in modbus if r["function_code"] == 43)
        assert {r["unit_id"] for r in modbus} == {1}
        assert {r["kind"] for r in log} <= {"connect", "modbus", "tls_refused"}


def test_evidence_frames_are_allowed_reads(scanned) -> None:
    _result, out, _logs, _elapsed = scanned
    bundle = load_evidence(out / "evidence.json")  # verifies every item's hash
    sent = 0
    for asset in bundle.assets:
        for item in asset.items:
            if item.request.op in ("tcp_probe", "tls_probe"):
                assert "exchanges" not in item.response  # probes carry no Modbus
                continue
            if item.request.op == "session":
                info = item.data()
                assert {s["function_code"] for s in info["sent"]} <= set(ALLOWED)
                assert info["requests_per_second"] == 5.0 and info["aborted"] is None
                continue
            for exchange in item.data()["exchanges"]:
                guard_frame(base64.b64decode(exchange["request"]))
                sent += 1
    assert sent == 8
    text = (out / "evidence.json").read_text()
    assert "BEGIN" not in text and "PRIVATE" not in text  # no key material in the evidence


def test_rescore_offline_gives_the_same_verdicts(scanned, tmp_path) -> None:
    _result, out, _logs, _elapsed = scanned
    again = run("rescore", str(out / "evidence.json"), "--sl", "2", "--out", str(tmp_path / "re"))
    assert again.exit_code == 1, again.output
    first, second = verdicts(out / "result.json"), verdicts(tmp_path / "re" / "result.json")
    assert {a: {c: r["status"] for c, r in v.items()} for a, v in first.items()} == \
           {a: {c: r["status"] for c, r in v.items()} for a, v in second.items()}


def test_silent_and_unreachable_plcs_do_not_hold_the_scan(tmp_path) -> None:
    with PlcSimulator("weak", "127.0.0.1", fault="silent") as silent:
        port = silent.port
        with PlcSimulator("weak", "127.0.0.1") as gone:
            gone_port = gone.port
        inventory = {"site": "faults", "assets": [
            {"id": "plc-silent", "type": "embedded", "address": "127.0.0.1",
             "endpoints": [{"protocol": "modbus", "port": port, "timeout": 1}]},
            {"id": "plc-gone", "type": "embedded", "address": "127.0.0.1",
             "endpoints": [{"protocol": "modbus", "port": gone_port, "timeout": 1}]}]}
        path = tmp_path / "faults.yaml"
        path.write_text(yaml.safe_dump(inventory))
        started = time.monotonic()
        result = run("scan", "--inventory", str(path), "--sl", "2", "--out", str(tmp_path / "out"), "--quiet")
        elapsed = time.monotonic() - started
        received = silent.function_codes()
    assert result.exit_code == 3
    assert elapsed < 10
    assert received == [3]  # one request, no answer: nothing more, no retry
    data = {a["id"]: a for a in json.loads((tmp_path / "out" / "result.json").read_text())["assets"]}
    assert data["plc-gone"]["status"] == "error" and "refused" in data["plc-gone"]["error"]
    assert data["plc-silent"]["status"] == "error" and "gave no Modbus/TCP answer" in data["plc-silent"]["error"]
    silent_results = {r["check_id"]: r for r in data["plc-silent"]["results"]}
    read = silent_results["modbus.access.unauthenticated-read"]
    assert read["status"] == "error" and "no response within 1 s" in read["reason"]
    assert silent_results["modbus.identity.device-identification"]["status"] == "error"


def test_plant_launcher(tmp_path) -> None:
    """The demo-plant launcher (on fresh addresses here): well-known ports, inventory with the demo credentials."""
    from auditor.plant.inventory import load_inventory
    from simulators.plant import Plant, PlantHost

    hosts = [PlantHost("plc-a", "weak", fresh_address(), "control", type="embedded", protocol="modbus"),
             PlantHost("plc-b", "hardened", fresh_address(), "control", type="embedded", protocol="modbus")]
    environ = dict(os.environ)
    with Plant(tmp_path / "plant", hosts) as plant:
        inventory = load_inventory(plant.inventory_path)
        endpoints = {a.id: a.endpoints[0] for a in inventory.assets}
        assert {name: e.port for name, e in endpoints.items()} == {"plc-a": 502, "plc-b": 802}
        weak, hardened = endpoints["plc-a"], endpoints["plc-b"]
        assert weak.tls is None and weak.client_cert_file is None and weak.ca_file is None
        folder = tmp_path / "plant" / "modbus-tls"
        assert hardened.tls is True and hardened.client_key_passphrase_env is None
        assert (hardened.client_cert_file, hardened.client_key_file, hardened.ca_file) == \
               (str(folder / "client.crt"), str(folder / "client.key"), str(folder / "ca.crt"))
        assert stat.S_IMODE((folder / "client.key").stat().st_mode) == 0o600
        assert not (folder / "env.sh").exists()
        assert dict(os.environ) == environ  # the launcher leaves the process environment alone
        result = run("scan", "--inventory", str(plant.inventory_path), "--sl", "2", "--out",
                     str(tmp_path / "out"), "--quiet")
        assert result.exit_code == 1
        found = verdicts(tmp_path / "out" / "result.json")
        assert found["plc-b"]["modbus.identity.device-identification"]["status"] == "pass"
        for check_id in TLS_CHECKS:
            assert found["plc-b"][check_id]["status"] == "pass", found["plc-b"][check_id]
        assert plant.simulators["plc-a"].function_codes() == [3, 43, 43, 17]
