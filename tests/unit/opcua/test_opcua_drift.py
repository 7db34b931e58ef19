"""checks/opcua/drift.py: evidence drift of an OPC UA server between two scans (software, certificate, endpoints)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from opcua_evidence import OpcuaEvidence, endpoint, token

from auditor.evidence import AssetEvidence
from auditor.store.drift import diff, take_snapshot
from checks.opcua.facts import SERVER_READ
from simulators.opcua.certs import der, make_certificate, make_key
from tests.unit.test_drift import _asset, _scan


@pytest.fixture(scope="module")
def certs() -> dict[str, bytes]:
    return {"old": der(make_certificate(make_key(curve=ec.SECP256R1()), "scada-02", application_uri="urn:scada")),
            "new": der(make_certificate(make_key(curve=ec.SECP256R1()), "scada-02", application_uri="urn:scada")),
            "other": der(make_certificate(make_key(curve=ec.SECP256R1()), "gateway", application_uri="urn:gw"))}


def server(cert: bytes, *, software: str = "2.4.1", build: str = "2.4.1.77", anonymous: bool = False) -> OpcuaEvidence:
    eps = [endpoint("Basic256Sha256", "SignAndEncrypt", certificate=cert)]
    if anonymous:
        eps.append(endpoint("None", "None", tokens=[token("Anonymous")], certificate=cert))
    return OpcuaEvidence().endpoints(eps).server_read(software_version=software, build_number=build)


def snapshot(evidence: OpcuaEvidence) -> dict[str, Any]:
    return take_snapshot(AssetEvidence(asset="scada-02", items=evidence.items))


def evidence_drift(before: OpcuaEvidence, after: OpcuaEvidence) -> list[Any]:
    scan = [_asset("scada-02", {"opcua.x": "pass"})]
    return diff(_scan("1", scan), _scan("2", scan, 1), {"scada-02": snapshot(before)},
                {"scada-02": snapshot(after)}).assets[0].evidence


def test_snapshot_values(certs) -> None:
    snap = snapshot(server(certs["old"]))
    assert snap["opcua_software"]["value"] == "ACME Test Server 2.4.1 (build 2.4.1.77)"
    subject = "O=IACS auditor simulator,CN=scada-02"
    assert snap["opcua_certificates"]["value"] == {subject: hashlib.sha256(certs["old"]).hexdigest()}
    assert snap["opcua_endpoints"]["value"] == ["Basic256Sha256/SignAndEncrypt (UserName)"]
    assert evidence_drift(server(certs["old"]), server(certs["old"])) == []


def test_software_version_changed(certs) -> None:
    [change] = evidence_drift(server(certs["old"]), server(certs["old"], software="2.5.0", build="2.5.0.3"))
    assert change.name == "opcua_software" and change.change == "changed"
    assert change.detail == ("server software (BuildInfo): ACME Test Server 2.4.1 (build 2.4.1.77) -> "
                             "ACME Test Server 2.5.0 (build 2.5.0.3)")


def test_certificate_replaced_is_one_change(certs) -> None:
    [change] = evidence_drift(server(certs["old"]), server(certs["new"]))
    assert change.name == "opcua_certificates" and change.change == "replaced"
    assert (change.before, change.after) == (hashlib.sha256(certs["old"]).hexdigest(),
                                             hashlib.sha256(certs["new"]).hexdigest())
    assert change.detail.startswith("server certificate O=IACS auditor simulator,CN=scada-02 replaced: ")


def test_new_endpoint_with_the_same_certificate_is_not_a_certificate_change(certs) -> None:
    changes = evidence_drift(server(certs["old"]), server(certs["old"], anonymous=True))
    assert [(c.name, c.detail) for c in changes] == [("opcua_endpoints", "new OPC UA endpoint: None/None (Anonymous)")]


def test_two_certificates_with_one_subject_stay_apart(certs) -> None:
    rsa = der(make_certificate(make_key(2048), "scada-02", application_uri="urn:scada"))
    evidence = OpcuaEvidence().endpoints([endpoint("Basic256Sha256", "SignAndEncrypt", certificate=rsa),
                                          endpoint("ECC_nistP256", "SignAndEncrypt", certificate=certs["old"])])
    assert sorted(snapshot(evidence)["opcua_certificates"]["value"]) == [
        "O=IACS auditor simulator,CN=scada-02 (EC)", "O=IACS auditor simulator,CN=scada-02 (RSA)"]


def test_no_session_or_no_evidence_is_unknown(certs) -> None:
    no_session = OpcuaEvidence().endpoints([endpoint(certificate=certs["old"])]).skipped(SERVER_READ)
    snap = snapshot(no_session)
    assert "opcua_software" not in snap and "opcua_certificates" in snap
    assert [c.name for c in evidence_drift(server(certs["old"]), no_session)] == []
    assert snapshot(OpcuaEvidence(log=False)) == {}  # not an OPC UA asset at all
    garbled = OpcuaEvidence().raw(SERVER_READ, "<html>", encoding="text").endpoints([{"security_mode": 7}])
    assert snapshot(garbled) == {}
