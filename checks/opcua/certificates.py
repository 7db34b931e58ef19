"""OPC UA application instance certificates, as the server presents them in GetEndpoints.

Each distinct certificate is judged once and names the endpoints that carry it. Validity is judged at
the moment the GetEndpoints item was collected, so a rescore of the same evidence gives the same verdict.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.opcua.endpoints import APPLIES, not_audited
from checks.opcua.facts import Certificate, NotAudited


def _none_offered(certificates: list[Certificate]) -> Verdict | None:
    if not certificates:
        return not_applicable("the server presents no certificate (only SecurityPolicy None endpoints; "
                              "see opcua.endpoint.security-policy-none)")
    return None


@check("opcua.certificate.key-strength", title="OPC UA server certificate key is strong enough",
       requirements=["SR 1.9", "SR 4.3", "CR 1.9", "CR 4.3"], applies_to=APPLIES, severity="high",
       params={"min_rsa_bits": 2048, "min_ec_bits": 256},
       remediation="Issue the server a new application instance certificate with an RSA key of at least 2048 bits "
                   "(3072 at SL 4; the Basic256Sha256 and Aes* policies require 2048-4096) or a P-256+ ECC key, "
                   "and distribute it to the clients' trust lists.")
def key_strength(opcua_certificates: list[Certificate] | NotAudited, params: dict[str, Any]) -> Verdict:
    """A 1024-bit RSA key can be factored with realistic effort; whoever holds the private key impersonates the
    server and decrypts the channel keys exchanged with it (SR 1.9 strength of public key authentication)."""
    if (skip := not_audited(opcua_certificates) or _none_offered(opcua_certificates)):  # type: ignore[arg-type]
        return skip
    minimum = {"RSA": int(params["min_rsa_bits"]), "DSA": int(params["min_rsa_bits"]), "EC": int(params["min_ec_bits"])}
    weak = [c for c in opcua_certificates if c.key_type in minimum and (c.key_bits or 0) < minimum[c.key_type]]  # type: ignore[union-attr]
    observed = [{"subject": c.subject, "key": f"{c.key_type} {c.key_bits}", "endpoints": list(c.endpoints)}
                for c in opcua_certificates]  # type: ignore[union-attr]
    expected = f"RSA >= {minimum['RSA']} bits, EC >= {minimum['EC']} bits"
    if weak:
        return failed(observed, expected, "weak key: " + ", ".join(f"{c.key_type} {c.key_bits} ({c.subject})" for c in weak))
    unjudged = [c for c in opcua_certificates if c.key_type not in minimum or not c.key_bits]  # type: ignore[union-attr]
    if unjudged:  # Ed25519/Ed448 or an unknown key type: its strength is not measured here
        return manual("key type or size not judged: " + ", ".join(f"{c.key_type} {c.key_bits} ({c.subject})"
                                                                  for c in unjudged), expected, observed)
    return passed(observed, expected)


@check("opcua.certificate.signature-hash", title="OPC UA server certificate is not signed with SHA-1 or MD5",
       requirements=["SR 1.9", "SR 4.3", "CR 1.9", "CR 4.3"], applies_to=APPLIES, severity="medium",
       params={"weak_hashes": ["md5", "sha1"]},
       remediation="Re-issue the certificate signed with SHA-256 or stronger (sha256WithRSAEncryption, RSA-PSS or "
                   "ECDSA with SHA-256).")
def signature_hash(opcua_certificates: list[Certificate] | NotAudited, params: dict[str, Any]) -> Verdict:
    """SHA-1 and MD5 signatures can be forged by chosen-prefix collisions: a certificate signed with them does
    not bind the server's identity to its key reliably (and Basic256Sha256 requires SHA-256)."""
    if (skip := not_audited(opcua_certificates) or _none_offered(opcua_certificates)):  # type: ignore[arg-type]
        return skip
    weak_names = {h.lower() for h in params["weak_hashes"]}
    weak = [c for c in opcua_certificates if (c.signature_hash or "").lower() in weak_names  # type: ignore[union-attr]
            or (c.signature_hash or "").count(".") > 3]  # an OID we cannot even name (md2, md4, ...)
    observed = [{"subject": c.subject, "signature_hash": c.signature_hash, "endpoints": list(c.endpoints)}
                for c in opcua_certificates]  # type: ignore[union-attr]
    expected = f"signature hash not in {sorted(weak_names)}"
    if weak:
        return failed(observed, expected, "weak signature: " + ", ".join(f"{c.signature_hash} ({c.subject})" for c in weak))
    return passed(observed, expected)


@check("opcua.certificate.validity", title="OPC UA server certificate is valid and not about to expire",
       requirements=["SR 1.8", "SR 1.9", "CR 1.8", "CR 1.9"], applies_to=APPLIES, severity="high",
       params={"warn_days": 30},
       remediation="Renew the server's application instance certificate before it expires (and check the server "
                   "clock if it is not yet valid); automate renewal through the site PKI or a GDS push.")
def validity(opcua_certificates: list[Certificate] | NotAudited, params: dict[str, Any]) -> Verdict:
    """Clients must reject an expired or not-yet-valid certificate; the ones that don't are trained to accept
    anything. A certificate close to expiry announces an outage of every secure connection to the server."""
    if (skip := not_audited(opcua_certificates) or _none_offered(opcua_certificates)):  # type: ignore[arg-type]
        return skip
    warn_days = float(params["warn_days"])
    problems = []
    observed = []
    for c in opcua_certificates:  # type: ignore[union-attr]
        days_left = (c.not_after - c.observed_at).total_seconds() / 86400
        observed.append({"subject": c.subject, "not_before": c.not_before.isoformat(), "not_after": c.not_after.isoformat(),
                         "days_left": round(days_left, 1), "endpoints": list(c.endpoints)})
        if c.not_before > c.observed_at:
            problems.append(f"{c.subject} not valid before {c.not_before.isoformat()}")
        elif days_left < 0:
            problems.append(f"{c.subject} expired {c.not_after.isoformat()}")
        elif days_left < warn_days:
            problems.append(f"{c.subject} expires in {days_left:.0f} days (< {warn_days:g})")
    expected = f"valid at collection time and more than {warn_days:g} days left"
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)


@check("opcua.certificate.self-signed", title="OPC UA server certificate is issued by a CA, not self-signed",
       requirements=["SR 1.8", "CR 1.8"], applies_to=APPLIES, severity="medium",
       params={"allow_self_signed": False},
       remediation="Issue the server's application instance certificate from the site PKI or an OPC UA Global "
                   "Discovery Server (GDS) CA, and let clients trust the CA instead of individual certificates.")
def self_signed(opcua_certificates: list[Certificate] | NotAudited, params: dict[str, Any]) -> Verdict:
    """A self-signed certificate can only be trusted by copying it to every client by hand; there is no
    revocation and no lifecycle, so in practice clients end up accepting any certificate (SR 1.8 PKI)."""
    if (skip := not_audited(opcua_certificates) or _none_offered(opcua_certificates)):  # type: ignore[arg-type]
        return skip
    selfs = [c for c in opcua_certificates if c.self_signed]  # type: ignore[union-attr]
    observed = [{"subject": c.subject, "issuer": c.issuer, "self_signed": c.self_signed, "endpoints": list(c.endpoints)}
                for c in opcua_certificates]  # type: ignore[union-attr]
    expected = "certificate issued by a CA (site PKI or GDS)"
    if selfs and params["allow_self_signed"]:
        return manual("self-signed certificate allowed by the profile: verify it was distributed to the clients' "
                      "trust lists over a secure path and is renewed before expiry", expected, observed)
    if selfs:
        return failed(observed, expected, "self-signed: " + ", ".join(c.subject for c in selfs))
    return passed(observed, expected)
