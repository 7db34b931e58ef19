"""checks/modbus/drift.py: evidence drift of a PLC between two recorded scans (firmware, open ports, certificate)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from modbus_evidence import PlcEvidence

from auditor.evidence import AssetEvidence, EvidenceRequest
from auditor.store.drift import diff, take_snapshot
from checks.modbus.facts import DEVID_BASIC, SERVER_ID, SESSION, TCP_PROBES, TLS_PROBE
from simulators.modbus.pki import DemoPki
from tests.unit.test_drift import _asset, _scan

CERT_802 = "197daa0de41deae4fc75af9924fe4b3ff9841e3d47e56bab3a9b65ed9b512153"  # recorded/hardened.json


def snapshot(evidence: PlcEvidence) -> dict[str, Any]:
    return take_snapshot(AssetEvidence(asset="plc-01", items=evidence.items))


def evidence_drift(before: PlcEvidence, after: PlcEvidence) -> list[Any]:
    scan = [_asset("plc-01", {"modbus.x": "pass"})]
    return diff(_scan("1", scan), _scan("2", scan, 1), {"plc-01": snapshot(before)},
                {"plc-01": snapshot(after)}).assets[0].evidence


def rewrite_frames(evidence: PlcEvidence, req: EvidenceRequest, old: bytes, new: bytes) -> PlcEvidence:
    """The recorded answer frames with ``old`` replaced by ``new`` (same length, so every length field holds)."""
    assert len(old) == len(new)

    def change(record: dict[str, Any]) -> None:
        for exchange in record["exchanges"]:
            frame = base64.b64decode(exchange["response"])
            exchange["response"] = base64.b64encode(frame.replace(old, new)).decode()
    before = evidence.get(req).response
    evidence.patch_json(req, change)
    assert evidence.get(req).response != before
    return evidence


def set_port(evidence: PlcEvidence, port: int, state: str) -> PlcEvidence:
    error = None if state == "open" else "connection refused"
    return evidence.patch_json(TCP_PROBES[port], lambda data: data.update(state=state, error=error))


def test_snapshots_of_the_recorded_plcs() -> None:
    weak, hardened = snapshot(PlcEvidence("weak")), snapshot(PlcEvidence("hardened"))
    assert weak["modbus_server_id"]["value"] == "ACME PLC-3000 CPU 3012 FW 1.0.2 (2009-03-17)"
    assert "modbus_identity" not in weak  # FC 43/14 not implemented: unknown, not a value
    assert weak["modbus_open_ports"]["value"] == ["21/tcp (FTP)", "23/tcp (Telnet)", "502/tcp (Modbus/TCP)",
                                                  "80/tcp (HTTP)"]
    assert "modbus_tls_certificate" not in weak
    assert hardened["modbus_identity"]["value"] == "ACME Automation PLC-9000 4.2.1"
    assert hardened["modbus_open_ports"]["value"] == ["802/tcp (Modbus/TCP Security)"]
    assert hardened["modbus_tls_certificate"]["value"] == {"802/tcp": CERT_802}
    # the session refused for want of a client certificate: the anonymous probe still saw the certificate
    assert snapshot(PlcEvidence("hardened_no_client_cert"))["modbus_tls_certificate"]["value"] == {"802/tcp": CERT_802}
    assert evidence_drift(PlcEvidence("hardened"), PlcEvidence("hardened")) == []


def test_firmware_change_in_report_server_id() -> None:
    before = PlcEvidence("weak")
    after = rewrite_frames(PlcEvidence("weak"), SERVER_ID, b"FW 1.0.2", b"FW 1.0.3")
    [change] = evidence_drift(before, after)
    assert change.name == "modbus_server_id" and change.change == "changed"
    assert change.detail == ("Report Server ID (FC 17): ACME PLC-3000 CPU 3012 FW 1.0.2 (2009-03-17) -> "
                             "ACME PLC-3000 CPU 3012 FW 1.0.3 (2009-03-17)")


def test_firmware_change_in_device_identification() -> None:
    before = PlcEvidence("hardened")
    after = rewrite_frames(PlcEvidence("hardened"), DEVID_BASIC, b"4.2.1", b"4.3.0")
    rewrite_frames(after, SERVER_ID, b"FW 4.2.1", b"FW 4.3.0")
    details = {c.detail for c in evidence_drift(before, after)}
    assert details == {
        "device identification (FC 43/14): ACME Automation PLC-9000 4.2.1 -> ACME Automation PLC-9000 4.3.0",
        "Report Server ID (FC 17): ACME PLC-9000 CPU 9020 FW 4.2.1 (2025-11-04) -> "
        "ACME PLC-9000 CPU 9020 FW 4.3.0 (2025-11-04)"}


def test_new_and_closed_ports() -> None:
    before = PlcEvidence("weak")
    after = set_port(set_port(PlcEvidence("weak"), 2404, "open"), 23, "closed")
    changes = evidence_drift(before, after)
    assert [(c.change, c.detail) for c in changes] == [("added", "new open port: 2404/tcp (IEC 60870-5-104)"),
                                                       ("removed", "open port gone: 23/tcp (Telnet)")]
    # a probe that failed says nothing about the port: the whole set is unknown, never "port gone"
    failed = set_port(PlcEvidence("weak"), 23, "error")
    assert "modbus_open_ports" not in snapshot(failed) and evidence_drift(before, failed) == []


def test_the_audit_session_port_counts_as_open() -> None:
    """A PLC served on a port outside the probe list (here a gateway on 5020, every probed port closed)."""
    evidence = PlcEvidence("weak").patch_json(SESSION, lambda data: data.update(port=5020))
    for port in (21, 23, 80, 502):
        set_port(evidence, port, "closed")
    assert snapshot(evidence)["modbus_open_ports"]["value"] == ["5020/tcp (Modbus/TCP)"]
    hardened = snapshot(PlcEvidence("hardened").patch_json(SESSION, lambda data: data.update(port=8020)))
    assert hardened["modbus_open_ports"]["value"] == ["802/tcp (Modbus/TCP Security)", "8020/tcp (Modbus/TCP Security)"]


def test_certificate_replaced() -> None:
    new = DemoPki.create().server("127.0.77.32", "ACME PLC-9000").cert.public_bytes(Encoding.DER)
    new_b64, new_sha = base64.b64encode(new).decode(), hashlib.sha256(new).hexdigest()
    before = PlcEvidence("hardened")
    after = PlcEvidence("hardened").patch_json(TLS_PROBE, lambda data: data["tls"].update(certificate=new_b64))
    after.patch_json(SESSION, lambda data: data["tls"].update(server_certificate=new_b64,
                                                              server_certificate_sha256=new_sha))
    [change] = evidence_drift(before, after)
    assert change.name == "modbus_tls_certificate" and change.change == "replaced"
    assert (change.before, change.after) == (CERT_802, new_sha)
    assert change.detail == f"Modbus/TCP Security certificate 802/tcp replaced: {CERT_802} -> {new_sha}"
    # a certificate that is not base64 DER: left out (unknown), not a crash and not a replacement
    garbled = PlcEvidence("hardened").patch_json(TLS_PROBE, lambda data: data["tls"].update(certificate="%%%"))
    garbled.patch_json(SESSION, lambda data: data.update(connected=False))
    assert "modbus_tls_certificate" not in snapshot(garbled) and evidence_drift(before, garbled) == []


def test_garbage_evidence_leaves_values_out() -> None:
    evidence = PlcEvidence("weak").replace(SERVER_ID, "not json", encoding="text")
    evidence.replace(TCP_PROBES[502], json.dumps({"state": "maybe", "port": 502}))
    snap = snapshot(evidence)
    assert "modbus_server_id" not in snap and "modbus_open_ports" not in snap
