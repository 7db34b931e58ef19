"""checks/opcua/certificates.py on certificates generated with cryptography: key strength, signature hash,
validity (judged at collection time), self-signed vs CA-issued, chains, garbage."""

from __future__ import annotations

import base64
import datetime as _dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from opcua_evidence import OpcuaEvidence, endpoint

from auditor.assessment.profiles import load_profile
from auditor.registry import REGISTRY
from checks.opcua.facts import ENDPOINTS, NotAudited, parse_certificate
from simulators.opcua.certs import CertKey, der, make_certificate, make_key

NOW = _dt.datetime.now(_dt.timezone.utc)


@pytest.fixture(scope="module")
def keys():
    return {"rsa1024": make_key(1024), "rsa2048": make_key(2048), "rsa3072": make_key(3072),
            "p256": make_key(curve=ec.SECP256R1()), "p192": make_key(curve=ec.SECP192R1())}


@pytest.fixture(scope="module")
def ca(keys):
    key = make_key(2048)
    return CertKey(make_certificate(key, "Site CA", is_ca=True, valid_days=3650, dns_names=()), key)


def evidence(*certs, collected_at=None) -> OpcuaEvidence:
    eps = [endpoint("Basic256Sha256", "SignAndEncrypt", certificate=der(c)) for c in certs]
    return OpcuaEvidence(collected_at=collected_at).endpoints(eps)


def test_weak_legacy_certificate_fails_everything(keys) -> None:
    weak = make_certificate(keys["rsa1024"], "legacy", hash_name="sha1", valid_days=20, application_uri="urn:x")
    assert weak.signature_hash_algorithm.name == "sha1" and weak.public_key().key_size == 1024
    ev = evidence(weak)
    key = ev.check("opcua.certificate.key-strength")
    assert key.status == "fail" and "RSA 1024" in key.reason
    assert ev.check("opcua.certificate.signature-hash").status == "fail"
    assert ev.check("opcua.certificate.self-signed").status == "fail"
    validity = ev.check("opcua.certificate.validity")
    assert validity.status == "fail" and "expires in" in validity.reason
    cert = ev.fact("opcua_certificates")[0]
    assert cert.self_signed and cert.signature_verified is True  # its own key verifies the SHA-1 signature


def test_ca_issued_modern_certificate_passes(keys, ca) -> None:
    good = make_certificate(keys["rsa2048"], "scada", issuer=ca, valid_days=365, application_uri="urn:x")
    ev = evidence(good)
    for check_id in ("opcua.certificate.key-strength", "opcua.certificate.signature-hash",
                     "opcua.certificate.validity", "opcua.certificate.self-signed"):
        verdict = ev.check(check_id)
        assert verdict.status == "pass", (check_id, verdict)
    assert ev.check("opcua.certificate.self-signed").observed[0]["issuer"].endswith("CN=Site CA")


def test_key_strength_thresholds_and_ec(keys) -> None:
    assert evidence(make_certificate(keys["p256"], "ec")).check("opcua.certificate.key-strength").status == "pass"
    assert evidence(make_certificate(keys["p192"], "ec")).check("opcua.certificate.key-strength").status == "fail"
    rsa2048 = evidence(make_certificate(keys["rsa2048"], "r"))
    sl4 = load_profile("application-sl4")
    params = sl4.params_for(REGISTRY.check("opcua.certificate.key-strength"))
    assert params["min_rsa_bits"] == 3072
    assert rsa2048.check("opcua.certificate.key-strength", **params).status == "fail"
    assert evidence(make_certificate(keys["rsa3072"], "r")).check("opcua.certificate.key-strength", **params).status == "pass"


@pytest.mark.parametrize("not_before, not_after, expected, words", [
    (NOW - _dt.timedelta(days=400), NOW - _dt.timedelta(days=5), "fail", "expired"),
    (NOW + _dt.timedelta(days=2), NOW + _dt.timedelta(days=400), "fail", "not valid before"),
    (NOW - _dt.timedelta(days=1), NOW + _dt.timedelta(days=10), "fail", "expires in"),
    (NOW - _dt.timedelta(days=1), NOW + _dt.timedelta(days=200), "pass", ""),
])
def test_validity(keys, not_before, not_after, expected, words) -> None:
    cert = make_certificate(keys["rsa2048"], "v", not_before=not_before, not_after=not_after)
    verdict = evidence(cert).check("opcua.certificate.validity")
    assert verdict.status == expected, verdict
    assert words in verdict.reason


def test_validity_warn_days_is_a_parameter(keys) -> None:
    cert = make_certificate(keys["rsa2048"], "v", valid_days=45)
    assert evidence(cert).check("opcua.certificate.validity").status == "pass"
    assert evidence(cert).check("opcua.certificate.validity", warn_days=60).status == "fail"


def test_validity_is_judged_when_collected_so_rescoring_is_stable(keys) -> None:
    cert = make_certificate(keys["rsa2048"], "v", not_before=NOW - _dt.timedelta(days=10),
                            not_after=NOW + _dt.timedelta(days=100))
    long_ago = NOW - _dt.timedelta(days=200)  # collected before the certificate was valid
    assert evidence(cert, collected_at=long_ago).check("opcua.certificate.validity").status == "fail"
    assert evidence(cert, collected_at=NOW).check("opcua.certificate.validity").status == "pass"


def test_self_signed_allowed_at_sl1_is_manual_not_pass(keys) -> None:
    cert = make_certificate(keys["rsa2048"], "self")
    sl1 = load_profile("application-sl1").params_for(REGISTRY.check("opcua.certificate.self-signed"))
    assert evidence(cert).check("opcua.certificate.self-signed", **sl1).status == "manual"
    sl2 = load_profile("application-sl2").params_for(REGISTRY.check("opcua.certificate.self-signed"))
    assert evidence(cert).check("opcua.certificate.self-signed", **sl2).status == "fail"


def test_self_issued_but_signed_by_another_key_is_not_self_signed(keys) -> None:
    other = CertKey(make_certificate(keys["rsa3072"], "same-name"), keys["rsa3072"])
    cert = make_certificate(keys["rsa2048"], "same-name", issuer=other)  # issuer name == subject name
    parsed = parse_certificate(der(cert))
    assert parsed.self_issued and parsed.signature_verified is False and not parsed.self_signed


def test_distinct_certificates_are_judged_once_with_their_endpoints(keys, ca) -> None:
    weak = make_certificate(keys["rsa1024"], "weak", hash_name="sha1")
    good = make_certificate(keys["rsa2048"], "good", issuer=ca)
    eps = [endpoint("None", "None", certificate=der(weak)), endpoint("Basic128Rsa15", "SignAndEncrypt", certificate=der(weak)),
           endpoint("Basic256Sha256", "SignAndEncrypt", certificate=der(good))]
    ev = OpcuaEvidence().endpoints(eps)
    certs = ev.fact("opcua_certificates")
    assert len(certs) == 2
    assert {c.subject.split("CN=")[-1]: c.endpoints for c in certs}["weak"] == ("None/None", "Basic128Rsa15/SignAndEncrypt")
    verdict = ev.check("opcua.certificate.key-strength")
    assert verdict.status == "fail" and "CN=weak" in verdict.reason and "good" not in verdict.reason


def test_chain_in_server_certificate_judges_the_leaf(keys, ca) -> None:
    leaf = make_certificate(keys["rsa2048"], "leaf", issuer=ca)
    chain = der(leaf) + der(ca.certificate)
    ev = OpcuaEvidence().endpoints([endpoint(certificate=chain)])
    assert ev.fact("opcua_certificates")[0].subject.endswith("CN=leaf")


def test_no_certificate_is_not_applicable_and_no_opcua_evidence_too() -> None:
    ev = OpcuaEvidence().endpoints([endpoint("None", "None", tokens=[])])
    assert ev.check("opcua.certificate.key-strength").status == "not_applicable"
    bare = OpcuaEvidence(log=False)  # e.g. an embedded PLC audited over Modbus only
    assert isinstance(bare.fact("opcua_certificates"), NotAudited)
    for check_id in ("opcua.certificate.key-strength", "opcua.certificate.validity"):
        assert bare.check(check_id).status == "not_applicable"


@pytest.mark.parametrize("certificate", ["not base64 !!", base64.b64encode(b"\x30\x82\xff\xffgarbage").decode(),
                                         base64.b64encode(b"plain garbage").decode()])
def test_garbage_certificate_is_an_error_not_a_crash(certificate) -> None:
    ep = endpoint()
    ep["server_certificate"] = certificate
    verdict = OpcuaEvidence().endpoints([ep]).check("opcua.certificate.signature-hash")
    assert verdict.status == "error"


def test_failed_collection_is_an_error() -> None:
    verdict = OpcuaEvidence().failed(ENDPOINTS, "timed out").check("opcua.certificate.validity")
    assert verdict.status == "error" and "timed out" in verdict.reason


def test_key_of_an_unjudged_type_is_manual_not_a_pass() -> None:
    from checks.opcua.facts import Certificate

    spec = REGISTRY.check("opcua.certificate.key-strength")
    cert = Certificate(sha256="00" * 32, subject="CN=srv", issuer="CN=Site CA", key_type="Ed448", key_bits=None,
                       signature_hash=None, not_before=NOW, not_after=NOW, self_issued=False,
                       signature_verified=None, application_uris=(), endpoints=("opc.tcp://127.0.0.1:4840",),
                       observed_at=NOW)
    verdict = spec.function(opcua_certificates=[cert], params=spec.params)
    assert verdict.status == "manual" and "Ed448" in verdict.reason
