"""checks/opcua/endpoints.py: endpoint parsing (from real asyncua structures), security policy None,
deprecated policies, sign-only, anonymous, cleartext passwords and discovery exposure; garbage and
missing evidence."""

from __future__ import annotations

import json

import pytest
from asyncua import ua
from opcua_evidence import APP_URI, OpcuaEvidence, endpoint, token

from auditor.assessment.profiles import load_profile
from auditor.registry import REGISTRY
from checks.opcua.facts import ENDPOINTS, FIND_SERVERS, NotAudited, parse_endpoints
from connectors.opcua import describe

HARDENED = [endpoint("Basic256Sha256", "SignAndEncrypt", [token("UserName"), token("Certificate", "Basic256Sha256")]),
            endpoint("Aes256_Sha256_RsaPss", "SignAndEncrypt", [token("UserName"), token("Certificate", "Aes256_Sha256_RsaPss")])]
WEAK = [endpoint("None", "None", [token("Anonymous", "None"), token("UserName")]),
        endpoint("Basic128Rsa15", "SignAndEncrypt", [token("Anonymous", "None"), token("UserName", "None")]),
        endpoint("Basic256", "Sign", [token("Anonymous", "None"), token("UserName", "Basic256")])]
ENDPOINT_CHECKS = ["opcua.endpoint.security-policy-none", "opcua.endpoint.deprecated-policy", "opcua.endpoint.sign-only",
                   "opcua.auth.password-over-insecure-channel"]


def test_parsing_real_asyncua_endpoint_descriptions() -> None:
    """describe.endpoint (connector) -> JSON -> parse_endpoints (pack) keeps policy, mode, tokens, certificate."""
    ep = ua.EndpointDescription()
    ep.EndpointUrl = "opc.tcp://plc:4840"
    ep.SecurityPolicyUri = "http://opcfoundation.org/UA/SecurityPolicy#None"
    ep.SecurityMode = ua.MessageSecurityMode.None_
    ep.ServerCertificate = b"\x30\x03\x02\x01\x01"
    ep.Server = ua.ApplicationDescription(ApplicationUri="urn:plc", ApplicationType=ua.ApplicationType.Server)
    ep.UserIdentityTokens = [ua.UserTokenPolicy(PolicyId="anon", TokenType=ua.UserTokenType.Anonymous),
                             ua.UserTokenPolicy(PolicyId="pw", TokenType=ua.UserTokenType.UserName,
                                                SecurityPolicyUri="http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256")]
    data = json.loads(json.dumps([describe.endpoint(ep)]))
    assert data[0]["security_mode"] == "None" and data[0]["security_policy"] == "None"
    [parsed] = parse_endpoints(data)
    assert parsed.insecure and parsed.label == "None/None"
    assert [(t.token_type, t.security_policy) for t in parsed.tokens] == [("Anonymous", ""), ("UserName", "Basic256Sha256")]
    assert parsed.certificate_der == b"\x30\x03\x02\x01\x01"
    assert parsed.application_uri == "urn:plc" and parsed.application_type == "Server"


def test_hardened_endpoints_pass() -> None:
    ev = OpcuaEvidence().endpoints(HARDENED).anonymous(attempted=False, accepted=None, status=None)
    for check_id in ENDPOINT_CHECKS + ["opcua.auth.anonymous"]:
        assert ev.check(check_id).status == "pass", (check_id, ev.check(check_id))


def test_weak_endpoints_fail() -> None:
    ev = OpcuaEvidence().endpoints(WEAK).anonymous(accepted=True)
    verdicts = {c: ev.check(c) for c in ENDPOINT_CHECKS + ["opcua.auth.anonymous"]}
    assert all(v.status == "fail" for v in verdicts.values()), verdicts
    assert verdicts["opcua.endpoint.security-policy-none"].observed["insecure"] == ["None/None"]
    assert "accept sessions" in verdicts["opcua.endpoint.security-policy-none"].reason
    deprecated = verdicts["opcua.endpoint.deprecated-policy"].observed
    assert deprecated["deprecated_endpoints"] == ["Basic128Rsa15/SignAndEncrypt", "Basic256/Sign"]
    assert deprecated["deprecated_token_policies"] == ["Basic256/Sign UserName token (Basic256)"]
    assert verdicts["opcua.endpoint.sign-only"].observed["sign_only_policies"] == ["Basic256"]
    assert verdicts["opcua.auth.anonymous"].observed["anonymous_session"] == "accepted"
    cleartext = verdicts["opcua.auth.password-over-insecure-channel"].observed["cleartext_password"]
    assert len(cleartext) == 1 and cleartext[0].startswith("None/None")


def test_deprecated_token_policy_alone_fails() -> None:
    eps = [endpoint("Basic256Sha256", "SignAndEncrypt", [token("UserName", "Basic128Rsa15")])]
    verdict = OpcuaEvidence().endpoints(eps).check("opcua.endpoint.deprecated-policy")
    assert verdict.status == "fail" and verdict.observed["deprecated_endpoints"] == []


@pytest.mark.parametrize("mode_set, expected", [
    (["SignAndEncrypt"], "pass"),
    (["Sign", "SignAndEncrypt"], "fail"),   # SR 4.1 from SL 1: a client may still choose the clear channel
    (["Sign"], "fail"),
])
def test_sign_only(mode_set, expected) -> None:
    eps = [endpoint("Basic256Sha256", mode) for mode in mode_set]
    verdict = OpcuaEvidence().endpoints(eps).check("opcua.endpoint.sign-only")
    assert verdict.status == expected
    if mode_set == ["Sign", "SignAndEncrypt"]:
        assert "beside SignAndEncrypt" in verdict.reason


def test_sign_endpoints_fail_at_every_sl() -> None:
    spec = REGISTRY.check("opcua.endpoint.sign-only")
    assert not spec.params and all(not load_profile(f"application-sl{n}").params_for(spec) for n in range(1, 5))


def test_sign_only_without_secure_endpoints_is_not_applicable() -> None:
    ev = OpcuaEvidence().endpoints([endpoint("None", "None")])
    assert ev.check("opcua.endpoint.sign-only").status == "not_applicable"


@pytest.mark.parametrize("policy, mode, token_policy, expected", [
    ("None", "None", None, "fail"),                          # empty token policy on a None endpoint: clear text
    ("None", "None", "None", "fail"),
    ("None", "None", "Basic256Sha256", "pass"),              # the token is encrypted with the server's key
    ("Basic256Sha256", "Sign", "None", "fail"),              # signed, not encrypted: readable on the wire
    ("Basic256Sha256", "Sign", None, "pass"),                # empty = the endpoint's policy: encrypted token
    ("Basic256Sha256", "SignAndEncrypt", "None", "pass"),    # the channel encrypts
])
def test_password_over_insecure_channel(policy, mode, token_policy, expected) -> None:
    eps = [endpoint(policy, mode, [token("UserName", token_policy)])]
    assert OpcuaEvidence().endpoints(eps).check("opcua.auth.password-over-insecure-channel").status == expected


def test_no_username_token_means_no_password_to_leak() -> None:
    eps = [endpoint("None", "None", [token("Certificate", "Basic256Sha256")])]
    verdict = OpcuaEvidence().endpoints(eps).check("opcua.auth.password-over-insecure-channel")
    assert verdict.status == "pass" and "does not accept passwords" in verdict.reason


def test_anonymous_offered_fails_even_when_not_probed_or_rejected() -> None:
    not_probed = OpcuaEvidence().endpoints(WEAK).anonymous(attempted=False, accepted=None, status=None,
                                                           reason="the inventory does not allow an anonymous session")
    verdict = not_probed.check("opcua.auth.anonymous")
    assert verdict.status == "fail" and verdict.observed["anonymous_session"].startswith("not probed")
    rejected = OpcuaEvidence().endpoints(WEAK).anonymous(accepted=False, status="BadIdentityTokenRejected")
    verdict = rejected.check("opcua.auth.anonymous")
    assert verdict.status == "fail" and "BadIdentityTokenRejected" in verdict.observed["anonymous_session"]
    failed_probe = OpcuaEvidence().endpoints(WEAK).failed(
        request_anonymous := REGISTRY.facts["opcua_anonymous_session"].requests[0], "timed out")
    assert request_anonymous.op == "session"
    assert failed_probe.check("opcua.auth.anonymous").status == "fail"


def test_discovery_exposure() -> None:
    own = OpcuaEvidence().endpoints(HARDENED).servers([APP_URI])
    assert own.check("opcua.discovery.exposure").status == "pass"
    directory = OpcuaEvidence().endpoints(HARDENED).servers([APP_URI, "urn:plant:historian", "urn:plant:batch"])
    verdict = directory.check("opcua.discovery.exposure")
    assert verdict.status == "fail" and len(verdict.observed["other_servers_listed"]) == 2
    lds = OpcuaEvidence().endpoints([endpoint(app_type="DiscoveryServer")]).servers([APP_URI, "urn:other"])
    assert lds.check("opcua.discovery.exposure").status == "manual"
    failed = OpcuaEvidence().endpoints(HARDENED).failed(FIND_SERVERS, "FindServers failed: BadServiceUnsupported")
    assert failed.check("opcua.discovery.exposure").status == "error"


def test_no_endpoints_at_all_is_manual() -> None:
    assert OpcuaEvidence().endpoints([]).check("opcua.endpoint.security-policy-none").status == "manual"


def test_no_opcua_endpoint_on_the_asset_is_not_applicable() -> None:
    ev = OpcuaEvidence(log=False)
    assert isinstance(ev.fact("opcua_endpoints"), NotAudited)
    for check_id in ENDPOINT_CHECKS + ["opcua.auth.anonymous", "opcua.discovery.exposure"]:
        verdict = ev.check(check_id)
        assert verdict.status == "not_applicable" and "no OPC UA endpoint" in verdict.reason, check_id


@pytest.mark.parametrize("response", ['{"not": "a list"}', '[1, 2]', '[{"security_mode": "Bogus"}]',
                                      '[{"security_mode": "None", "user_identity_tokens": [{"no_type": 1}]}]',
                                      'not json at all'])
def test_garbage_endpoints_are_errors(response) -> None:
    ev = OpcuaEvidence().raw(ENDPOINTS, response)
    for check_id in ENDPOINT_CHECKS:
        assert ev.check(check_id).status == "error", (check_id, response)


def test_discovery_failure_is_an_error_with_the_reason() -> None:
    verdict = OpcuaEvidence().failed(ENDPOINTS, "GetEndpoints failed: BadTimeout").check("opcua.endpoint.security-policy-none")
    assert verdict.status == "error" and "BadTimeout" in verdict.reason
