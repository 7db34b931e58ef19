"""OPC UA endpoints and authentication: what the server offers before any session (GetEndpoints,
FindServers) and whether it lets anonymous users in.

These checks need no session and no credentials: every OPC UA server must answer GetEndpoints over
an unsecured channel (Part 4, 5.4.4), and that answer is what every client chooses from.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.opcua.facts import AnonymousProbe, Endpoint, NotAudited

APPLIES = ["application", "embedded"]



def not_audited(*facts: Any) -> Verdict | None:
    """``not_applicable`` when the asset has no OPC UA evidence at all (e.g. a PLC with Modbus only)."""
    for value in facts:
        if isinstance(value, NotAudited):
            return not_applicable(value.reason)
    return None


def _no_endpoints(endpoints: list[Endpoint]) -> Verdict | None:
    if not endpoints:
        return manual("the server answered GetEndpoints with no endpoint at all; check how clients connect to it",
                      expected="at least one endpoint to judge")
    return None


@check("opcua.endpoint.security-policy-none", title="No OPC UA endpoint without security (SecurityPolicy None)",
       requirements=["SR 3.1", "SR 4.1", "SR 1.2", "CR 3.1", "CR 4.1", "CR 1.2"], applies_to=APPLIES, severity="high",
       remediation="Remove the None security policy from the server's endpoint configuration and keep only "
                   "Basic256Sha256 / Aes128_Sha256_RsaOaep / Aes256_Sha256_RsaPss endpoints with SignAndEncrypt. "
                   "Where a legacy client still needs None, isolate it behind a gateway and document the exception.")
def security_policy_none(opcua_endpoints: list[Endpoint] | NotAudited) -> Verdict:
    """An endpoint with SecurityPolicy None (MessageSecurityMode None) carries sessions, values and, on many
    servers, passwords without integrity, confidentiality or application authentication: anyone on the path
    can read and change process data (62443-3-3 SR 3.1/4.1, SR 1.2 for the missing application identity)."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    insecure = [e for e in opcua_endpoints if e.insecure]
    observed = {"endpoints": [e.label for e in opcua_endpoints], "insecure": [e.label for e in insecure]}
    expected = "no endpoint with SecurityPolicy None or MessageSecurityMode None"
    if insecure:
        sessions = [e.label for e in insecure if e.tokens]
        reason = f"{len(insecure)} endpoint(s) without security"
        if sessions:
            reason += " accept sessions (user token policies offered), not just discovery"
        return failed(observed, expected, reason)
    return passed(observed, expected)


@check("opcua.endpoint.deprecated-policy", title="No deprecated OPC UA security policy (Basic128Rsa15, Basic256)",
       requirements=["SR 4.3", "SR 3.1 RE1", "CR 4.3", "CR 3.1 RE1"], applies_to=APPLIES, severity="high",
       params={"deprecated": ["Basic128Rsa15", "Basic256"]},
       remediation="Disable the Basic128Rsa15 and Basic256 security policies (deprecated since OPC UA 1.04: SHA-1 "
                   "signatures, RSA PKCS#1 v1.5) on the server; offer Basic256Sha256, Aes128_Sha256_RsaOaep or "
                   "Aes256_Sha256_RsaPss instead, and update clients that cannot use them.")
def deprecated_policy(opcua_endpoints: list[Endpoint] | NotAudited, params: dict[str, Any]) -> Verdict:
    """Basic128Rsa15 and Basic256 rely on SHA-1 and RSA PKCS#1 v1.5 padding, which are broken or deprecated;
    a client that negotiates them (or a user token encrypted with them) gets weak integrity and
    confidentiality, and downgrade attacks target exactly these policies."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    deprecated = set(params["deprecated"])
    channel = sorted({e.label for e in opcua_endpoints if e.security_policy in deprecated})
    tokens = sorted({f"{e.label} {t.token_type} token ({t.security_policy})" for e in opcua_endpoints
                     for t in e.tokens if t.security_policy in deprecated})
    observed = {"policies": sorted({e.security_policy for e in opcua_endpoints}),
                "deprecated_endpoints": channel, "deprecated_token_policies": tokens}
    expected = f"no endpoint or user token policy uses {', '.join(sorted(deprecated))}"
    if channel or tokens:
        return failed(observed, expected, f"{len(channel)} endpoint(s) and {len(tokens)} user token policy(ies) "
                                          "use deprecated security policies")
    return passed(observed, expected)


@check("opcua.endpoint.sign-only", title="OPC UA endpoints encrypt (no endpoint with MessageSecurityMode Sign)",
       requirements=["SR 4.1", "SR 4.1 RE1", "CR 4.1"], applies_to=APPLIES, severity="medium",
       remediation="Offer every security policy with MessageSecurityMode SignAndEncrypt only; remove the Sign "
                   "endpoints, so no client can pick a channel that carries process values in clear.")
def sign_only(opcua_endpoints: list[Endpoint] | NotAudited) -> Verdict:
    """Confidentiality of information in transit (SR 4.1) is required from SL 1. A Sign endpoint protects
    integrity but sends every value, browse result and (unless the token is encrypted) password in clear, and
    a server that offers Sign beside SignAndEncrypt lets each client choose the clear channel: one misconfigured
    HMI or historian is enough. So any Sign endpoint fails, at every SL."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    by_policy: dict[str, set[str]] = {}
    for e in opcua_endpoints:
        if not e.insecure:
            by_policy.setdefault(e.security_policy, set()).add(e.security_mode)
    sign = sorted(p for p, modes in by_policy.items() if "Sign" in modes)
    observed = {"modes_by_policy": {p: sorted(m) for p, m in sorted(by_policy.items())},
                "sign_only_policies": sorted(p for p, modes in by_policy.items() if modes == {"Sign"})}
    expected = "no endpoint with MessageSecurityMode Sign (SignAndEncrypt only)"
    if sign:
        beside = [p for p in sign if "SignAndEncrypt" in by_policy[p]]
        why = (" (offered beside SignAndEncrypt: a client may still choose the clear channel)" if beside else "")
        return failed(observed, expected, "policies with a Sign endpoint: " + ", ".join(sign) + why)
    if not by_policy:
        return not_applicable("no secured endpoint at all (see opcua.endpoint.security-policy-none)", observed)
    return passed(observed, expected)


@check("opcua.auth.anonymous", title="Anonymous OPC UA access is not offered",
       requirements=["SR 1.1", "SR 2.1", "CR 1.1", "CR 2.1"], applies_to=APPLIES, severity="high",
       remediation="Remove the Anonymous user token policy from every endpoint (on asyncua: set_identity_tokens "
                   "without AnonymousIdentityToken; on vendor servers: disable 'anonymous login' in the user/security "
                   "settings) and give each user and client its own account or certificate.")
def anonymous(opcua_endpoints: list[Endpoint] | NotAudited, opcua_anonymous_session: AnonymousProbe | NotAudited) -> Verdict:
    """An Anonymous user token lets anyone who reaches the port open a session without identifying
    themselves: nothing can be attributed to a person and authorization cannot tell users apart (SR 1.1, 2.1)."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    offering = [e.label for e in opcua_endpoints if "Anonymous" in e.token_types()]
    probe = opcua_anonymous_session
    if isinstance(probe, NotAudited) or not probe.attempted:
        session = "not probed" + (f" ({probe.reason})" if isinstance(probe, AnonymousProbe) and probe.reason else "")
    elif probe.accepted:
        session = "accepted"
    elif probe.accepted is False:
        session = f"rejected ({probe.status})"
    else:
        session = f"probe failed: {probe.reason}"
    observed = {"endpoints_offering_anonymous": offering, "anonymous_session": session}
    expected = "no endpoint offers the Anonymous user token"
    if offering:
        reason = "Anonymous is offered"
        if isinstance(probe, AnonymousProbe) and probe.accepted:
            reason += " and an anonymous session was accepted"
        return failed(observed, expected, reason)
    return passed(observed, expected)


@check("opcua.auth.password-over-insecure-channel", title="OPC UA passwords are never sent unencrypted",
       requirements=["SR 1.5", "SR 4.1", "CR 1.5", "CR 4.1"], applies_to=APPLIES, severity="high",
       remediation="Offer the UserName token only on SignAndEncrypt endpoints, or give it an encrypting user token "
                   "policy (SecurityPolicyUri Basic256Sha256 or newer) on every other endpoint; remove UserName "
                   "from None and Sign endpoints whose token policy is empty or None.")
def password_over_insecure_channel(opcua_endpoints: list[Endpoint] | NotAudited) -> Verdict:
    """A UserName token whose effective policy is None travels as UTF-8 text; on a None or Sign channel anyone on
    the path reads the password (SR 1.5 authenticator protection, SR 4.1 confidentiality)."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    exposed = []
    username_endpoints = []
    for e in opcua_endpoints:
        for token in e.tokens:
            if token.token_type != "UserName":
                continue
            username_endpoints.append(e.label)
            effective = token.effective_policy(e)
            if effective in ("", "None") and e.security_mode != "SignAndEncrypt":
                exposed.append(f"{e.label} (token policy {token.security_policy or 'empty'}: password in clear text)")
    observed = {"endpoints_with_username_token": username_endpoints, "cleartext_password": exposed}
    expected = "every UserName token protected by SignAndEncrypt or by an encrypting token policy"
    if exposed:
        return failed(observed, expected, f"{len(exposed)} endpoint(s) accept a password in clear text")
    if not username_endpoints:
        return passed(observed, expected, "the server does not accept passwords (no UserName token offered)")
    return passed(observed, expected)


@check("opcua.discovery.exposure", title="OPC UA discovery lists only this server",
       requirements=["SR 7.7", "CR 7.7"], applies_to=APPLIES, severity="low",
       remediation="Do not register other servers with this server's discovery service (or disable its LDS role); "
                   "run a Local Discovery Server only where it is needed and reachable only from the zones that "
                   "need it.")
def discovery_exposure(opcua_endpoints: list[Endpoint] | NotAudited, opcua_servers: list[dict[str, Any]] | NotAudited) -> Verdict:
    """FindServers answers anybody without a session. A server that also lists other applications (with their
    discovery URLs) hands an attacker a map of further targets: discovery exposes more than the client needs
    to reach this server (least functionality, SR 7.7)."""
    if (skip := not_audited(opcua_endpoints, opcua_servers) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    own = {e.application_uri for e in opcua_endpoints}  # type: ignore[union-attr]
    listed = [s for s in opcua_servers if s.get("application_uri") not in own]  # type: ignore[union-attr]
    others = [{"application_uri": s.get("application_uri"), "name": s.get("application_name"),
               "discovery_urls": s.get("discovery_urls") or []} for s in listed]
    observed = {"own_application_uris": sorted(own), "other_servers_listed": others}
    expected = "FindServers lists only this server's own application"
    types = {e.application_type for e in opcua_endpoints}  # type: ignore[union-attr]
    if "DiscoveryServer" in types:
        return manual("this application is a discovery server: listing servers is its purpose; verify that it is "
                      "reachable only from the zones that need it", expected, observed)
    if others:
        return failed(observed, expected, f"FindServers reveals {len(others)} other server(s) to unauthenticated clients")
    return passed(observed, expected)
