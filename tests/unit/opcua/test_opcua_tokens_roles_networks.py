"""checks/opcua/tokens.py, roles.py and segmentation.py: user token protection per token type, who holds the
RoleSet's roles, and the networks the server announces; each passing and failing on recorded evidence, and never
passing without the evidence that proves it."""

from __future__ import annotations

import pytest
from opcua_evidence import OpcuaEvidence, endpoint, token

from checks.opcua.facts import ROLE_SET

SECURE = "Basic256Sha256"


# ---------------------------------------------------------------------------------------- token protection


def test_tokens_pass_when_each_type_is_encrypted_or_signed_with_a_current_policy() -> None:
    ev = OpcuaEvidence().endpoints([
        endpoint(SECURE, "SignAndEncrypt", [token("UserName", "None"), token("Certificate", SECURE)]),
        endpoint("Aes256_Sha256_RsaPss", "Sign", [token("UserName", "Aes256_Sha256_RsaPss"), token("IssuedToken")])])
    verdict = ev.check("opcua.auth.user-token-protection")
    assert verdict.status == "pass", verdict.reason
    assert verdict.observed["tokens"]["UserName"]["Basic256Sha256/SignAndEncrypt"] == "encrypted by the Basic256Sha256 channel"
    assert verdict.observed["tokens"]["IssuedToken"]["Aes256_Sha256_RsaPss/Sign"] == "encrypted with Aes256_Sha256_RsaPss"


@pytest.mark.parametrize("ep, words", [
    (endpoint("None", "None", [token("UserName")]), "UserName token on None/None: clear text"),
    (endpoint(SECURE, "Sign", [token("IssuedToken", "None")]), "IssuedToken token on Basic256Sha256/Sign: clear text"),
    (endpoint("None", "None", [token("Certificate", "None")]), "proves no possession of the private key"),
    (endpoint(SECURE, "SignAndEncrypt", [token("UserName", "Basic128Rsa15")]), "Basic128Rsa15, a deprecated policy"),
    (endpoint("Basic256", "SignAndEncrypt", [token("UserName")]), "encrypted with Basic256, a deprecated policy"),
    (endpoint("Basic256", "SignAndEncrypt", [token("UserName", "None")]), "by the Basic256 channel, a deprecated"),
])
def test_tokens_fail_per_token_type(ep, words) -> None:
    verdict = OpcuaEvidence().endpoints([ep, endpoint(SECURE)]).check("opcua.auth.user-token-protection")
    assert verdict.status == "fail" and any(words in p for p in verdict.observed["problems"]), verdict.observed


def test_tokens_anonymous_only_is_not_a_pass_and_no_evidence_is_an_error() -> None:
    only_anonymous = OpcuaEvidence().endpoints([endpoint(SECURE, tokens=[token("Anonymous", "None")])])
    assert only_anonymous.check("opcua.auth.user-token-protection").status == "not_applicable"
    assert OpcuaEvidence().check("opcua.auth.user-token-protection").status == "error"
    assert OpcuaEvidence(log=False).check("opcua.auth.user-token-protection").status == "not_applicable"


# ---------------------------------------------------------------------------------------- RoleSet


def test_roles_pass_when_privileged_roles_are_named_only() -> None:
    ev = OpcuaEvidence().role_set({"Anonymous": ["Anonymous"], "AuthenticatedUser": ["AuthenticatedUser"],
                                   "Observer": ["AuthenticatedUser"], "Operator": ["UserName:op1", "GroupId:ops"],
                                   "Engineer": None, "SecurityAdmin": ["Thumbprint:ab12"]})
    verdict = ev.check("opcua.roles.identity-mappings")
    assert verdict.status == "pass", verdict.reason
    assert verdict.observed["roles"]["Operator"] == ["UserName:op1", "GroupId:ops"] and verdict.observed["roles"]["Engineer"] == []


@pytest.mark.parametrize("roles, words", [
    ({"Operator": ["Anonymous"]}, "Operator (by Anonymous)"),
    ({"Engineer": ["UserName:e1", "AuthenticatedUser"]}, "Engineer (by AuthenticatedUser)"),
    ({"LineWriter": ["Anonymous"]}, "LineWriter (by Anonymous)"),  # a vendor role open to anybody
])
def test_roles_fail_when_every_client_holds_a_role(roles, words) -> None:
    verdict = OpcuaEvidence().role_set({"Anonymous": ["Anonymous"], **roles}).check("opcua.roles.identity-mappings")
    assert verdict.status == "fail" and words in verdict.reason


def test_roles_manual_without_a_role_set_mappings_or_session() -> None:
    old = OpcuaEvidence().role_set({}, status="BadNodeIdUnknown").check("opcua.roles.identity-mappings")
    assert old.status == "manual" and "before OPC UA 1.05" in old.reason
    hidden = OpcuaEvidence().role_set({"Operator": "BadUserAccessDenied", "Observer": []})
    verdict = hidden.check("opcua.roles.identity-mappings")
    assert verdict.status == "manual" and "Operator" in verdict.reason and "SecurityAdmin" in verdict.reason
    cut = OpcuaEvidence().role_set({"Operator": ["UserName:op1"]}, truncated=True)
    assert cut.check("opcua.roles.identity-mappings").status == "manual"
    skipped = OpcuaEvidence().skipped(ROLE_SET, "no credentials in the inventory")
    assert skipped.check("opcua.roles.identity-mappings").status == "manual"
    # the catch-all grant is found even where another role hides its mappings
    mixed = OpcuaEvidence().role_set({"Operator": ["Anonymous"], "Engineer": "BadUserAccessDenied"})
    assert mixed.check("opcua.roles.identity-mappings").status == "fail"


def test_roles_garbled_rule_is_an_error() -> None:
    ev = OpcuaEvidence().json(ROLE_SET, {"identity": "username", "status": "Good", "truncated": False,
                                         "roles": [{"node_id": "i=15680", "browse_name": "0:Operator",
                                                    "identities": ["Anonymous"]}]})
    assert ev.check("opcua.roles.identity-mappings").status == "error"


# ---------------------------------------------------------------------------------------- advertised networks

NET = "opcua.endpoint.advertised-networks"


def announcing(*urls: str, discovery: list[str] | None = None) -> OpcuaEvidence:
    return OpcuaEvidence().endpoints([endpoint(SECURE, url=u, discovery_urls=discovery) for u in urls])


def test_networks_pass_only_inside_the_allowed_networks() -> None:
    ev = announcing("opc.tcp://127.0.43.10:4840/", discovery=["opc.tcp://127.0.43.10:4840/"])
    verdict = ev.check(NET, allowed_networks=["127.0.43.0/24"])
    assert verdict.status == "pass", verdict.reason
    assert verdict.observed["addresses"] == ["127.0.43.10"]


@pytest.mark.parametrize("urls, discovery, allowed, words", [
    (["opc.tcp://0.0.0.0:4840/"], None, [], "wildcard address 0.0.0.0"),
    (["opc.tcp://[::]:4840/"], None, ["127.0.43.0/24"], "wildcard address ::"),
    (["opc.tcp://127.0.43.10:4840/"], ["opc.tcp://127.0.44.10:4840/"], ["127.0.43.0/24"], "127.0.44.10, outside"),
    (["opc.tcp://127.0.43.10:4840/", "opc.tcp://127.0.99.1:4840/"], None, ["127.0.43.0/24"], "127.0.99.1"),
])
def test_networks_fail_on_every_interface_or_another_network(urls, discovery, allowed, words) -> None:
    verdict = announcing(*urls, discovery=discovery).check(NET, allowed_networks=allowed)
    assert verdict.status == "fail" and words in verdict.reason, verdict.reason


def test_networks_manual_without_the_sites_networks_or_with_host_names() -> None:
    unknown = announcing("opc.tcp://127.0.43.10:4840/").check(NET)
    assert unknown.status == "manual" and "allowed_networks" in unknown.reason
    named = announcing("opc.tcp://plc-07.plant.invalid:4840/").check(NET, allowed_networks=["127.0.43.0/24"])
    assert named.status == "manual" and "plc-07.plant.invalid" in named.reason
    assert announcing("opc.tcp://127.0.43.10:4840/").check(NET, allowed_networks=["not-a-net"]).status == "error"
