"""Transport security of Modbus: Modbus/TCP Security (TLS on 802) offered, plain 502 closed, TLS sound.

Modbus/TCP Security (the Modbus Organization's "mbaps", TCP 802) wraps the unchanged Modbus PDU in
TLS >= 1.2 with mutual X.509 authentication and carries the client's role in its certificate. It is
the only way a PLC can itself give integrity, confidentiality and authentication to Modbus traffic;
leaving plain 502 open beside it lets every client simply downgrade.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, not_applicable, passed
from checks.modbus.access import ZONE_COUNTERMEASURE
from checks.modbus.facts import unproven_ports

_SECURE_EXPECTED = "Modbus/TCP Security (TLS) offered on 802 and plain Modbus/TCP (502) closed"
_TLS_ORDER = {"SSLv2": 0, "SSLv3": 1, "TLSv1": 2, "TLSv1.1": 3, "TLSv1.2": 4, "TLSv1.3": 5}


@check("modbus.transport.secure",
       title="Modbus/TCP Security is offered and plain Modbus/TCP is closed",
       requirements=["SR 3.1", "SR 4.1 RE1", "SR 7.7", "CR 3.1", "CR 3.1 RE1", "CR 4.1", "CR 7.7"],
       applies_to=["embedded"], severity="high",
       remediation=("Enable Modbus/TCP Security on TCP 802 (TLS 1.2 or later, certificates from the plant PKI, "
                    "client certificates required) and disable the plain Modbus/TCP server on 502 once the masters "
                    "have moved over. A PLC that cannot do Modbus/TCP Security needs a compensating countermeasure "
                    "on its conduit: a VPN/TLS gateway in front of it, or at least SR 5.2 boundary protection. "
                    + ZONE_COUNTERMEASURE))
def secure_transport(modbus_open_ports: dict[int, str], modbus_tls_service: dict[str, Any] | None,
                     modbus_session: dict[str, Any]) -> Verdict:
    """Plain Modbus/TCP carries process values and commands in clear text with no integrity protection or
    authentication of either end (SR 3.1, SR 4.1, CR 3.1 RE1); a PLC that offers Modbus/TCP Security but
    keeps 502 open gives every client the insecure choice (SR 7.7 least functionality). Evidence: one TCP
    connect to 502 and to 802, an anonymous TLS handshake on 802 (no Modbus sent over it), and the
    transport of the auditor's own session."""
    tls, session = modbus_tls_service, modbus_session
    offered = tls is not None and (tls["handshake"] == "completed" or tls["certificate_request"])
    if not offered and session["transport"] == "tls" and session["connected"]:
        offered = True
    plain: list[str] = []
    if modbus_open_ports.get(502) == "open":
        plain.append("TCP 502 accepts connections")
    if session["transport"] == "tcp" and session["connected"]:
        if session["port"] != 502:
            plain.append(f"plain Modbus/TCP served on the inventory endpoint (TCP {session['port']})")
        elif not plain:
            plain.append("TCP 502 served the auditor's plain Modbus/TCP session")
    unproven = unproven_ports(modbus_open_ports, [502]) if not plain else []
    observed: dict[str, Any] = {
        "modbus_security_802": (f"offered ({tls['version'] or 'TLS'})" if offered and tls else
                                "offered" if offered else
                                "port 802 open but no TLS handshake" if tls else "not offered (802 closed)"),
        "plain_modbus": plain or (f"unknown (TCP 502 {modbus_open_ports.get(502)})" if unproven else "closed"),
    }
    problems = []
    if not offered:
        problems.append("Modbus/TCP Security is not offered"
                        + (f" ({tls['error']})" if tls and tls.get("error") else ""))
    if plain:
        problems.append("plain Modbus/TCP is reachable: " + "; ".join(plain))
    if problems:
        return failed(observed, _SECURE_EXPECTED, "; ".join(problems))
    if unproven:
        return manual(f"the probe of TCP 502 ended {modbus_open_ports.get(502)!r}, which does not prove plain "
                      "Modbus/TCP closed (only a refused connection does); verify 502 is disabled on the PLC",
                      _SECURE_EXPECTED, observed)
    return passed(observed, _SECURE_EXPECTED)


@check("modbus.transport.tls-configuration",
       title="Modbus/TCP Security uses current TLS, a strong certificate and requires client certificates",
       requirements=["SR 1.2", "SR 1.9", "SR 4.3", "CR 1.2", "CR 1.9", "CR 4.3"],
       applies_to=["embedded"], severity="medium",
       fixture_verdicts={"weak": "not_applicable", "hardened": "pass"},
       fixture_note="the weak PLC offers no Modbus/TCP Security (port 802 closed): there is no TLS to judge",
       params={"minimum_version": "TLSv1.2", "require_client_certificate": True, "minimum_rsa_bits": 2048,
               "minimum_ec_bits": 256, "signature_hashes": ["sha256", "sha384", "sha512"]},
       remediation=("Configure the PLC's Modbus/TCP Security for TLS 1.2 or later only, with a certificate issued by "
                    "the plant PKI (RSA >= 2048 bits or ECDSA P-256 or stronger, SHA-256 or stronger, within its "
                    "validity period), and require a client certificate from every client (mutual authentication, "
                    "as the Modbus/TCP Security specification prescribes). Renew certificates before they expire."))
def tls_configuration(modbus_tls_service: dict[str, Any] | None, params: dict[str, Any]) -> Verdict:
    """Modbus/TCP Security is only as strong as its TLS: an old protocol version, a weak or expired
    certificate (SR 1.9 strength of public key authentication, SR 4.3 use of cryptography) or a server that
    does not authenticate its clients (SR 1.2) undoes what it is for. Evidence: one anonymous TLS handshake
    on 802 (the handshake messages show whether the PLC asks for a client certificate)."""
    tls = modbus_tls_service
    if tls is None:
        return not_applicable("TCP 802 is closed: Modbus/TCP Security is not offered (judged by modbus.transport.secure)")
    minimum = params["minimum_version"]
    if minimum not in _TLS_ORDER:
        return error(f"profile parameter minimum_version {minimum!r} is not one of {sorted(_TLS_ORDER)}")
    expected = (f">= {minimum}, client certificate required, RSA >= {params['minimum_rsa_bits']} / EC >= "
                f"{params['minimum_ec_bits']} bits, signature hash in {params['signature_hashes']}, certificate valid")
    cert = tls.get("certificate")
    observed: dict[str, Any] = {"version": tls["version"], "cipher": tls["cipher"],
                                "client_certificate_requested": tls["certificate_request"],
                                "anonymous_session": tls["anonymous_session"], "source": tls.get("source")}
    if cert:
        observed["certificate"] = {k: cert[k] for k in ("subject", "issuer", "key_type", "key_bits", "signature_hash",
                                                         "not_after", "valid_at_collection")}
    if tls["version"] is None or cert is None:
        return manual("the TLS handshake did not complete for an anonymous client and the auditor had no "
                      "authenticated session on 802 (set client_cert_file and client_key_file of the modbus "
                      "endpoint in the inventory): the negotiated version and "
                      f"the certificate could not be observed ({tls.get('error') or 'no details'})", expected, observed)
    problems = []
    if _TLS_ORDER.get(tls["version"], -1) < _TLS_ORDER[minimum]:
        problems.append(f"negotiated {tls['version']} (minimum {minimum})")
    if params["require_client_certificate"]:
        if tls["anonymous_session"] == "accepted":
            problems.append("a client without certificate keeps its TLS session (no mutual authentication)")
        elif not tls["certificate_request"] and tls["anonymous_session"] != "refused":
            problems.append("the PLC does not ask for a client certificate")
    key_type, bits = cert["key_type"], cert["key_bits"] or 0
    if key_type == "RSA" and bits < params["minimum_rsa_bits"]:
        problems.append(f"RSA key of {bits} bits (minimum {params['minimum_rsa_bits']})")
    elif key_type.startswith("EC ") and bits < params["minimum_ec_bits"]:
        problems.append(f"{key_type} key of {bits} bits (minimum {params['minimum_ec_bits']})")
    elif key_type == "DSA":
        problems.append("DSA certificate key")
    if cert["signature_hash"] is not None and cert["signature_hash"] not in params["signature_hashes"]:
        problems.append(f"certificate signed with {cert['signature_hash']}")
    if not cert["valid_at_collection"]:
        problems.append(f"certificate not valid at collection time (valid {cert['not_before']} .. {cert['not_after']})")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)
