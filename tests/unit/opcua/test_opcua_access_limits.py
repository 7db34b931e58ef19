"""checks/opcua/access.py and limits.py: role permissions, client trust, operation limits, session timeout and the
minimum version, each passing and failing on recorded evidence; no session or no probe -> manual, never pass."""

from __future__ import annotations

import pytest
from opcua_evidence import OpcuaEvidence

from checks.opcua.facts import ACCOUNT_VARIABLES, CAPABILITIES_READ, SESSION_LIMITS, VARIABLES

ANONYMOUS, AUTHENTICATED, OPERATOR, OBSERVER = "i=15644", "i=15656", "i=15680", "i=15668"
READ, WRITE, CALL = 0x21, 0x40, 0x1000  # Browse|Read, Write, Call


def perms(*pairs: tuple[str, int]) -> list[dict]:
    return [{"RoleId": role, "Permissions": bits} for role, bits in pairs]


def var(level: int = 1, roles: list[dict] | None = None, **extra) -> dict:
    return {"access_level": level, "user_access_level": level, "role_permissions": roles, **extra}


def account(variables: list[dict], **kwargs) -> OpcuaEvidence:
    """The audit account's sample; the anonymous one skipped (as on a server without Anonymous)."""
    return OpcuaEvidence().skipped(VARIABLES, "no anonymous session: no endpoint offers Anonymous").sample(
        variables, account=True, **kwargs)


def anonymous(variables: list[dict]) -> OpcuaEvidence:
    """The anonymous sample; the audit account's skipped (no protected endpoint for its password)."""
    return OpcuaEvidence().skipped(ACCOUNT_VARIABLES, "no session with the audit account: no credentials").sample(variables)


# ---------------------------------------------------------------------------------------- role permissions


def test_role_permissions_pass_when_only_named_roles_write() -> None:
    ev = account([var(roles=perms((OBSERVER, READ), (OPERATOR, READ | WRITE))), var(roles=perms((AUTHENTICATED, READ)))])
    verdict = ev.check("opcua.variables.role-permissions")
    assert verdict.status == "pass", verdict.reason
    assert verdict.observed["with_role_permissions"] == 2 and verdict.observed["granted_count"] == 0


@pytest.mark.parametrize("role, bits, words", [
    (ANONYMOUS, READ | WRITE, "Anonymous Write"),
    (AUTHENTICATED, READ | CALL, "AuthenticatedUser Call"),
    (ANONYMOUS, 0x8000 | 0x10000, "Anonymous DeleteNode+AddNode"),
])
def test_role_permissions_fail_on_rights_every_client_holds(role, bits, words) -> None:
    ev = anonymous([var(roles=perms((OPERATOR, READ | WRITE), (role, bits))), var(roles=perms((OBSERVER, READ)))])
    verdict = ev.check("opcua.variables.role-permissions")
    assert verdict.status == "fail" and "1 sampled variables" in verdict.reason
    assert words in verdict.observed["granted_to_any_client"][0] and "ns=2;i=0" in verdict.observed["granted_to_any_client"][0]


def test_role_permissions_prefer_the_audit_account_sample() -> None:
    ev = (OpcuaEvidence().sample([var(roles=perms((ANONYMOUS, WRITE)))])
          .sample([var(roles=perms((OPERATOR, WRITE)))], account=True))
    assert ev.check("opcua.variables.role-permissions").observed["read_as"] == "username"
    # without the account's sample the anonymous one is judged
    only_anonymous = anonymous([var(roles=perms((ANONYMOUS, WRITE)))])
    assert only_anonymous.check("opcua.variables.role-permissions").status == "fail"


def test_role_permissions_manual_without_permissions_or_session() -> None:
    pre_104 = account([var(role_permissions_status="BadAttributeIdInvalid")])
    verdict = pre_104.check("opcua.variables.role-permissions")
    assert verdict.status == "manual" and "before OPC UA 1.04" in verdict.reason
    partial = account([var(roles=perms((OPERATOR, WRITE))), var()])
    assert partial.check("opcua.variables.role-permissions").status == "manual"
    truncated = account([var(roles=perms((OPERATOR, WRITE)))], truncated=True)
    assert truncated.check("opcua.variables.role-permissions").status == "manual"
    none = OpcuaEvidence().skipped(VARIABLES).skipped(ACCOUNT_VARIABLES, "no credentials in the inventory")
    verdict = none.check("opcua.variables.role-permissions")
    assert verdict.status == "manual" and "no credentials" in verdict.reason


def test_role_permissions_garbled_entry_is_an_error() -> None:
    ev = account([var(roles=[{"RoleId": ANONYMOUS, "Permissions": "Write"}])])
    assert ev.check("opcua.variables.role-permissions").status == "error"


def test_anonymous_write_counts_history_write_and_maps_cr_1_1() -> None:
    from auditor.registry import REGISTRY

    assert "CR 1.1" in REGISTRY.load().checks["opcua.variables.anonymous-write"].requirements
    from opcua_evidence import endpoint, token

    anon = [endpoint("None", "None", [token("Anonymous", "None")])]
    history = OpcuaEvidence().endpoints(anon).sample([var(level=0x01 | 0x08), var(level=1)])
    verdict = history.check("opcua.variables.anonymous-write")
    assert verdict.status == "fail" and verdict.observed["writable_count"] == 1
    assert OpcuaEvidence().endpoints(anon).sample([var(level=1 | 0x04)]).check(
        "opcua.variables.anonymous-write").status == "pass"


# ---------------------------------------------------------------------------------------- client trust


def test_client_trust_refused_passes_accepted_fails() -> None:
    refused = OpcuaEvidence().client_trust(accepted=False, create_session="BadCertificateUntrusted")
    verdict = refused.check("opcua.channel.client-trust")
    assert verdict.status == "pass" and "CreateSession refused" in verdict.reason
    at_channel = OpcuaEvidence().client_trust(accepted=False, open_secure_channel="BadSecurityChecksFailed")
    assert "OpenSecureChannel refused the untrusted certificate (BadSecurityChecksFailed)" in at_channel.check(
        "opcua.channel.client-trust").reason
    accepted = OpcuaEvidence().client_trust(accepted=True, create_session="Good")
    verdict = accepted.check("opcua.channel.client-trust")
    assert verdict.status == "fail" and "trusts any client" in verdict.reason


def test_client_trust_not_probed_or_unclear_is_manual() -> None:
    off = OpcuaEvidence().client_trust(attempted=False, reason="not probed: the inventory does not allow it")
    verdict = off.check("opcua.channel.client-trust")
    assert verdict.status == "manual" and "probe_client_trust" in verdict.reason
    closed = OpcuaEvidence().client_trust(open_secure_channel="failed", reason="closed the connection")
    assert closed.check("opcua.channel.client-trust").status == "manual"
    assert OpcuaEvidence().client_trust(accepted="yes").check("opcua.channel.client-trust").status == "error"


# ---------------------------------------------------------------------------------------- limits


def test_operation_limits_pass_fail_manual() -> None:
    assert OpcuaEvidence().capabilities().check("opcua.server.operation-limits").status == "pass"
    unlimited = OpcuaEvidence().capabilities(max_sessions=0, max_nodes_per_read=0)
    verdict = unlimited.check("opcua.server.operation-limits")
    assert verdict.status == "fail" and "max_sessions" in verdict.reason and "max_nodes_per_read" in verdict.reason
    old_server = OpcuaEvidence().capabilities(max_sessions=("BadNodeIdUnknown", None))
    verdict = old_server.check("opcua.server.operation-limits")
    assert verdict.status == "manual" and "BadNodeIdUnknown" in verdict.reason
    null = OpcuaEvidence().capabilities(max_sessions=None)
    assert null.check("opcua.server.operation-limits").status == "manual"
    skipped = OpcuaEvidence().skipped(CAPABILITIES_READ, "no anonymous session: no endpoint offers Anonymous")
    assert skipped.check("opcua.server.operation-limits").status == "manual"
    # a site that does not care about sessions on old servers names what it needs
    assert old_server.check("opcua.server.operation-limits", required=["max_nodes_per_read"]).status == "pass"


def test_session_timeout_pass_fail_manual() -> None:
    assert OpcuaEvidence().session_limits(revised=600_000).check("opcua.session.timeout").status == "pass"
    verdict = OpcuaEvidence().session_limits(revised=7_200_000).check("opcua.session.timeout")
    assert verdict.status == "fail" and verdict.observed["revised_session_timeout_ms"] == 7_200_000
    assert OpcuaEvidence().session_limits(revised=600_000).check(
        "opcua.session.timeout", max_session_timeout_ms=300_000).status == "fail"
    asked_little = OpcuaEvidence().session_limits(revised=60_000, requested=60_000)
    assert asked_little.check("opcua.session.timeout").status == "manual"
    skipped = OpcuaEvidence().skipped(SESSION_LIMITS, "no session was created: no credentials")
    assert skipped.check("opcua.session.timeout").status == "manual"
    garbled = OpcuaEvidence().json(SESSION_LIMITS, {"requested_session_timeout_ms": 1, "revised_session_timeout_ms": "x"})
    assert garbled.check("opcua.session.timeout").status == "error"


def test_no_opcua_endpoint_is_not_applicable() -> None:
    empty = OpcuaEvidence(log=False)
    for check_id in ("opcua.variables.role-permissions", "opcua.channel.client-trust", "opcua.server.operation-limits",
                     "opcua.session.timeout"):
        assert empty.check(check_id).status == "not_applicable", check_id


# ---------------------------------------------------------------------------------------- minimum version


def test_build_info_minimum_version() -> None:
    ev = OpcuaEvidence().server_read(product_name="Test Server", software_version="V2.4.1")
    minimum = [{"product": "Test*", "version": "2.10"}]
    verdict = ev.check("opcua.identity.build-info", minimum_versions=minimum)
    assert verdict.status == "fail" and "older than the site's minimum 2.10" in verdict.reason
    assert ev.check("opcua.identity.build-info", minimum_versions=[{"product": "Test*", "version": "2.4"}]).status == "pass"
    assert ev.check("opcua.identity.build-info", minimum_versions=[{"product": "Other*", "version": "9"}]).status == "pass"
    odd = OpcuaEvidence().server_read(software_version="beta")
    assert odd.check("opcua.identity.build-info", minimum_versions=[{"product": "*", "version": "1"}]).status == "manual"
    assert ev.check("opcua.identity.build-info", minimum_versions=[{"version": "1"}]).status == "manual"


# ---------------------------------------------------------------------------------------- per-user rights


def test_per_user_rights_pass_when_the_account_is_narrowed() -> None:
    ev = account([{"access_level": 3, "user_access_level": 1}, {"access_level": 1, "user_access_level": 1}])
    verdict = ev.check("opcua.variables.per-user-rights")
    assert verdict.status == "pass" and verdict.observed["read_only_for_this_user"] == 1


def test_per_user_rights_fail_when_anonymous_writes() -> None:
    ev = (OpcuaEvidence().sample([{"access_level": 3, "user_access_level": 3}])
          .sample([{"access_level": 3, "user_access_level": 1}], account=True))
    verdict = ev.check("opcua.variables.per-user-rights")
    assert verdict.status == "fail" and "anonymous session may write" in verdict.reason


def test_per_user_rights_manual_when_nothing_shows_it() -> None:
    nothing_writable = account([{"access_level": 1, "user_access_level": 1}])
    assert nothing_writable.check("opcua.variables.per-user-rights").status == "manual"
    account_writes = account([{"access_level": 3, "user_access_level": 3}])
    verdict = account_writes.check("opcua.variables.per-user-rights")
    assert verdict.status == "manual" and "audit account" in verdict.reason
    no_session = OpcuaEvidence().skipped(VARIABLES).skipped(ACCOUNT_VARIABLES, "no credentials")
    assert no_session.check("opcua.variables.per-user-rights").status == "manual"
