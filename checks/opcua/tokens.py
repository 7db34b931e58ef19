"""OPC UA user tokens, one token type at a time: what protects the secret or the proof each token carries.

A user token policy names the security policy that encrypts (UserName, IssuedToken) or signs (X509
certificate) the token; an empty policy means the endpoint's. Judged from GetEndpoints alone, no session.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, not_applicable, passed
from checks.opcua.endpoints import APPLIES, _no_endpoints, not_audited
from checks.opcua.facts import Endpoint, NotAudited, UserToken

def protection(token: UserToken, endpoint: Endpoint) -> tuple[str, str | None]:
    """``(what protects the token, the policy doing it or None)`` for one token on one endpoint; any token but
    Anonymous and Certificate (UserName, IssuedToken, a type this code does not know) carries a secret."""
    own = token.effective_policy(endpoint)
    if token.token_type == "Anonymous":
        return "nothing to protect", None
    if token.token_type == "Certificate":
        if own in ("", "None"):
            return "no signature: policy None proves no possession of the private key", None
        return f"signed with {own}", own
    if own not in ("", "None"):
        return f"encrypted with {own}", own
    if endpoint.security_mode == "SignAndEncrypt" and not endpoint.insecure:
        return f"encrypted by the {endpoint.security_policy} channel", endpoint.security_policy
    return "clear text: neither the token policy nor the channel encrypts it", None


@check("opcua.auth.user-token-protection",
       title="Every OPC UA user token type is protected by a current security policy",
       requirements=["SR 1.5", "SR 1.9", "SR 4.3", "CR 1.5", "CR 1.9", "CR 4.3"], applies_to=APPLIES,
       severity="high", params={"deprecated": ["Basic128Rsa15", "Basic256"]},
       remediation="Give every UserName and IssuedToken user token policy an encrypting security policy "
                   "(Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss) or offer it only on "
                   "SignAndEncrypt endpoints of such a policy; give the X.509 (Certificate) token policy one of "
                   "these policies too, never None; remove the deprecated Basic128Rsa15 and Basic256 from "
                   "every token policy.")
def user_token_protection(opcua_endpoints: list[Endpoint] | NotAudited, params: dict[str, Any]) -> Verdict:
    """Each token type needs its own protection: a password or an issued token must travel encrypted with a
    current algorithm (authenticator protection, SR 1.5; cryptography, SR 4.3), and a certificate token is
    only proof of identity when the client signs with its private key, which a None token policy skips, so
    anyone holding the public certificate logs in (strength of public key authentication, SR 1.9)."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    assert isinstance(opcua_endpoints, list)
    deprecated = set(params.get("deprecated") or [])
    by_type: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for endpoint in opcua_endpoints:
        for token in endpoint.tokens:
            if token.token_type == "Anonymous":
                continue
            how, policy = protection(token, endpoint)
            by_type.setdefault(token.token_type, {})[endpoint.label] = how
            if policy is None:
                problems.append(f"{token.token_type} token on {endpoint.label}: {how}")
            elif policy in deprecated:
                problems.append(f"{token.token_type} token on {endpoint.label}: {how}, a deprecated policy")
    observed = {"tokens": {kind: dict(sorted(where.items())) for kind, where in sorted(by_type.items())},
                "problems": problems}
    expected = ("UserName and IssuedToken encrypted, Certificate tokens signed, each with a current policy "
                f"(not None, not {', '.join(sorted(deprecated)) or 'deprecated'})")
    if not by_type:
        return not_applicable("the server offers no token that carries a secret or a proof (Anonymous only: "
                              "see opcua.auth.anonymous)", observed)
    if problems:
        return failed(observed, expected, f"{len(problems)} user token policy(ies) unprotected or weakly protected")
    return passed(observed, expected)
