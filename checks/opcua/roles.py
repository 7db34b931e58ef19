"""Who holds which role: the RoleSet of an OPC UA 1.05 server (Part 18) and its identity mapping rules.

Read in a session with Browse and Read only (the role methods AddIdentity, AddRole... are never called). A
role's Identities property lists the rules that grant it: a user name, a certificate thumbprint, a group,
or the catch-alls Anonymous (every client) and AuthenticatedUser (every client with any account).
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.opcua.endpoints import APPLIES, not_audited
from checks.opcua.facts import NoSession, NotAudited, RoleSet
from checks.opcua.server import _no_session

#: Rules that grant a role to people nobody named.
CATCH_ALL = ("Anonymous", "AuthenticatedUser")


@check("opcua.roles.identity-mappings", title="No privileged OPC UA role is granted to every client",
       requirements=["SR 2.1", "CR 2.1"], applies_to=APPLIES, severity="high",
       params={"privileged_roles": ["Operator", "Engineer", "Supervisor", "ConfigureAdmin", "SecurityAdmin",
                                    "SecurityKeyServerAdmin"]},
       remediation="In the server's user and role configuration (Server/ServerCapabilities/RoleSet), map Operator, "
                   "Engineer, Supervisor and the admin roles to named users, groups or certificate thumbprints "
                   "only; remove the Anonymous and AuthenticatedUser identity rules from them and from every role "
                   "but the well-known Anonymous and AuthenticatedUser roles.")
def identity_mappings(opcua_role_set: RoleSet | NoSession | NotAudited, params: dict[str, Any]) -> Verdict:
    """Authorization (SR 2.1) rests on who holds a role: a privileged role mapped to the Anonymous rule is held by
    anybody who reaches the port, and one mapped to AuthenticatedUser by anybody with any account, so its
    permissions are granted to nobody in particular. Judged from the roles' Identities properties; a server
    without a RoleSet (before OPC UA 1.05) or that hides the mappings leaves the question to a person."""
    if (skip := not_audited(opcua_role_set)):
        return skip
    privileged = set(params.get("privileged_roles") or [])
    expected = (f"the roles {', '.join(sorted(privileged))} (and any vendor role) granted only to named identities, "
                "never by an Anonymous or AuthenticatedUser rule")
    if (skip := _no_session(opcua_role_set, "reading the RoleSet", expected)):
        return skip
    assert isinstance(opcua_role_set, RoleSet)
    roles = opcua_role_set
    if roles.status != "Good" or not roles.roles:
        why = "has no RoleSet (a server before OPC UA 1.05)" if roles.status != "Good" else "lists no role"
        return manual(f"the server {why} (browse status {roles.status}): ask how users get their rights and verify "
                      "that no privileged right is granted to anonymous or to every account", expected,
                      {"role_set_status": roles.status, "read_as": roles.identity})
    mappings = {r.name: ([f"{rule.criteria_type}:{rule.criteria}" if rule.criteria else rule.criteria_type
                          for rule in r.identities] if r.identities is not None else f"unreadable ({r.unreadable})")
                for r in roles.roles}
    observed = {"read_as": roles.identity, "roles": mappings, "truncated": roles.truncated}
    too_wide = []
    for role in roles.roles:
        if role.name in CATCH_ALL or role.identities is None:
            continue
        catch_all = sorted({rule.criteria_type for rule in role.identities if rule.criteria_type in CATCH_ALL})
        # a vendor role granted to anonymous is as wide as a well-known one; AuthenticatedUser only matters on
        # the privileged ones (an Observer for every account is a common, harmless choice)
        if "Anonymous" in catch_all or (catch_all and role.name in privileged):
            too_wide.append(f"{role.name} (by {' and '.join(catch_all)})")
    observed["granted_to_every_client"] = too_wide
    if too_wide:
        return failed(observed, expected, "roles granted to every client: " + ", ".join(too_wide))
    unreadable = [r.name for r in roles.roles if r.identities is None and r.name not in CATCH_ALL]
    if unreadable or roles.truncated:
        what = (f"the identity mappings of {', '.join(unreadable)} could not be read" if unreadable
                else "the RoleSet was cut at its limit")
        return manual(f"{what}: verify those roles in the server's configuration (reading Identities may need the "
                      "SecurityAdmin role)", expected, observed)
    return passed(observed, expected)
