"""OPC UA access rights beyond the user token: permissions mapped to roles, and which client applications
the server trusts.

Read with attribute reads only (RolePermissions of the sampled variables) and, for trust, one opt-in probe
that opens a channel with a certificate nobody trusts and never activates a session.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.opcua.endpoints import APPLIES, not_audited
from checks.opcua.facts import (ANONYMOUS_ROLE, AUTHENTICATED_USER_ROLE, ClientTrust, NoSession, NotAudited,
                                VariableSample)

_ROLES = {ANONYMOUS_ROLE: "Anonymous", AUTHENTICATED_USER_ROLE: "AuthenticatedUser"}
_LISTED = 25  # variables named in the observed value; the count says how many there are


def _sample(account: Any, anonymous: Any) -> VariableSample | None:
    """The sample with RolePermissions to judge: the audit account's, else the anonymous user's."""
    for sample in (account, anonymous):
        if isinstance(sample, VariableSample) and sample.variables:
            return sample
    return None


@check("opcua.variables.role-permissions", title="OPC UA roles any client holds cannot change process variables",
       requirements=["SR 2.1", "SR 2.1 RE2", "CR 2.1", "CR 2.1 RE2"], applies_to=APPLIES, severity="high",
       remediation="In the server's role configuration, grant Write, WriteAttribute, Call, AddNode, DeleteNode and "
                   "the history rights on process variables only to named roles (Operator, Engineer), never to the "
                   "well-known Anonymous or AuthenticatedUser roles, and map each role to its own identities.")
def role_permissions(opcua_account_variable_access: VariableSample | NoSession | NotAudited,
                     opcua_variable_access: VariableSample | NoSession | NotAudited) -> Verdict:
    """OPC UA 1.04+ maps permissions to roles on each node (RolePermissions). The Anonymous role is everyone
    without an account and AuthenticatedUser is everyone with any account: a write right held by either is a
    right that no person was granted (SR 2.1 RE2 permission mapping to roles). Judged from the RolePermissions
    attribute of the bounded variable sample (the audit account's session, else the anonymous one)."""
    if (skip := not_audited(opcua_account_variable_access, opcua_variable_access)):
        return skip
    expected = ("RolePermissions present on the sampled variables, and no write permission for the Anonymous or "
                "AuthenticatedUser roles")
    sample = _sample(opcua_account_variable_access, opcua_variable_access)
    if sample is None:
        reasons = [v.reason for v in (opcua_account_variable_access, opcua_variable_access) if isinstance(v, NoSession)]
        return manual("no session sampled any variable" + (f" ({'; '.join(reasons)})" if reasons else "")
                      + "; check the role permissions in the server configuration", expected)
    mapped = sample.with_role_permissions()
    granted = [(v, role, v.role_grants(role)) for v in mapped for role in _ROLES if v.role_grants(role)]
    observed: dict[str, Any] = {
        "read_as": sample.identity, "variables_sampled": len(sample.variables),
        "with_role_permissions": len(mapped), "truncated": sample.truncated,
        "granted_to_any_client": [f"{v.name} ({v.node_id}): {_ROLES[role]} {'+'.join(rights)}"
                                  for v, role, rights in granted[:_LISTED]],
        "granted_count": len(granted)}
    if granted:
        return failed(observed, expected, f"{len({v.node_id for v, _, _ in granted})} sampled variables grant write "
                                          "permissions to a role every client holds")
    if not mapped:
        return manual("the server gives no RolePermissions on the sampled variables (a server before OPC UA 1.04, or "
                      "permissions not readable by this session); check how permissions map to roles by hand",
                      expected, observed)
    if len(mapped) < len(sample.variables) or sample.truncated:
        return manual(f"{len(mapped)} of {len(sample.variables)} sampled variables carry RolePermissions, none for "
                      "Anonymous or AuthenticatedUser" + (", and the browse stopped at its limit" if sample.truncated
                                                           else "") + "; check the others by hand", expected, observed)
    return passed(observed, expected, f"all {len(mapped)} sampled variables map their permissions to roles, none "
                                      "to Anonymous or AuthenticatedUser")


@check("opcua.channel.client-trust", title="OPC UA server refuses client certificates it does not trust",
       requirements=["SR 1.2", "SR 3.1", "CR 1.2", "CR 1.8", "CR 3.1"], applies_to=APPLIES, severity="high",
       remediation="Enforce the server's certificate trust list: turn off 'accept all client certificates' / "
                   "automatic trust, trust only the certificates (or the issuing CA) of the site's clients, and "
                   "review the rejected-certificates store.")
def client_trust(opcua_client_trust: ClientTrust | NotAudited) -> Verdict:
    """A server that opens a channel and a session for any certificate authenticates no client application:
    signed and encrypted channels then protect a conversation with anyone (SR 1.2 device identification, CR 1.8
    PKI, SR 3.1 communication integrity). Probed with a certificate generated for the scan that no server can
    trust; the session is created but never activated."""
    if (skip := not_audited(opcua_client_trust)):
        return skip
    probe = opcua_client_trust
    expected = "a channel or session with an untrusted client certificate is refused (BadCertificateUntrusted, " \
               "BadSecurityChecksFailed, ...)"
    observed = {"endpoint": probe.endpoint, "open_secure_channel": probe.open_secure_channel,
                "create_session": probe.create_session, "reason": probe.reason}
    if not probe.attempted:
        return manual(f"{probe.reason}; allow the probe (probe_client_trust: true) or check the server's trust list "
                      "by hand", expected, observed)
    if probe.accepted:
        return failed(observed, expected, "the server opened a channel and created a session for a certificate it "
                                          "cannot trust: it trusts any client")
    if probe.accepted is False:
        step = "OpenSecureChannel" if str(probe.open_secure_channel or "").startswith("Bad") else "CreateSession"
        status = probe.open_secure_channel if step == "OpenSecureChannel" else probe.create_session
        return passed(observed, expected, f"{step} refused the untrusted certificate ({status})")
    return manual(f"the probe did not get an answer that states a refusal: {probe.reason}; check the server's trust "
                  "list by hand", expected, observed)


@check("opcua.variables.per-user-rights", title="OPC UA server narrows write rights per user (UserAccessLevel)",
       requirements=["SR 2.1 RE1", "CR 2.1 RE1"], applies_to=APPLIES, severity="medium",
       remediation="Configure the server's user and role management so that write access to process variables "
                   "depends on the user (UserAccessLevel narrower than AccessLevel for users without the right), "
                   "and give the audit account read-only rights.")
def per_user_rights(opcua_account_variable_access: VariableSample | NoSession | NotAudited,
                    opcua_variable_access: VariableSample | NoSession | NotAudited) -> Verdict:
    """Authorization is enforced per user when a variable the node allows to be written (AccessLevel
    CurrentWrite) is not writable for the session's user (UserAccessLevel without it): the server distinguishes
    users rather than granting what the node allows to everyone (SR 2.1 RE1). Judged on the audit account's sample
    (a low-privilege account), else the anonymous one; anonymous writes are never enforcement."""
    if (skip := not_audited(opcua_account_variable_access, opcua_variable_access)):
        return skip
    expected = "variables writable by their AccessLevel are read-only for the low-privilege session (UserAccessLevel)"
    anonymous = opcua_variable_access if isinstance(opcua_variable_access, VariableSample) else None
    if anonymous is not None and anonymous.writable():
        return failed({"writable_by_anonymous": len(anonymous.writable())}, expected,
                      "an anonymous session may write: rights are not narrowed per user")
    sample = _sample(opcua_account_variable_access, opcua_variable_access)
    if sample is None:
        return manual("no session sampled any variable; check the per-user rights in the server configuration",
                      expected)
    node_writable = [v for v in sample.variables if v.access_level is not None and v.access_level & 0x02]
    narrowed = [v for v in node_writable if v.user_access_level is not None and not v.user_writable]
    observed = {"read_as": sample.identity, "variables_sampled": len(sample.variables),
                "writable_by_access_level": len(node_writable), "read_only_for_this_user": len(narrowed),
                "examples": [f"{v.name} ({v.node_id}): AccessLevel {v.access_level}, UserAccessLevel {v.user_access_level}"
                             for v in narrowed[:_LISTED]]}
    if narrowed:
        return passed(observed, expected, f"{len(narrowed)} of {len(node_writable)} writable variables are read-only "
                                          f"for the {sample.identity} session")
    if not node_writable:
        return manual("no sampled variable is writable by its AccessLevel, so per-user narrowing cannot be seen; "
                      "check the user rights in the server configuration", expected, observed)
    return manual(f"the {sample.identity} session may write all {len(node_writable)} writable variables: check that "
                  "the audit account's role is the one intended (an audit account should be read-only)",
                  expected, observed)
