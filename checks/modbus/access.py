"""Who may read from (and, by inference, write to) the PLC over Modbus.

Plain Modbus/TCP has no authentication at all: a PLC that answers one read from the auditor answers
anyone who can reach it, and in the vast majority of PLCs the same holds for writes. The auditor
never sends a write to find out (function codes 5, 6, 15, 16, 22, 23 are outside the connector's
allow-list): write exposure is inferred and said so. Modbus/TCP Security (TLS with client
certificates and roles) is the component-level fix; until then the compensating countermeasure is
at the zone boundary (IEC 62443-3-3 SR 5.2).
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed

ZONE_COUNTERMEASURE = (
    "Until the PLC enforces authentication itself, IEC 62443-3-3 expects a compensating countermeasure at the "
    "zone boundary (SR 5.2 zone boundary protection, with SR 5.1 segmentation): place the PLC in a control zone "
    "whose conduit firewall admits TCP 502 only from the named SCADA/HMI masters and engineering stations "
    "(preferably a Modbus-aware filter that passes read function codes only, and writes only from the "
    "engineering station), deny everything else, and record that conduit rule set as the evidence.")

_UNAUTH_EXPECTED = "reads are refused to a client without credentials (Modbus/TCP Security with mutual TLS)"


def _observed(read: dict[str, Any], tls: dict[str, Any] | None) -> dict[str, Any]:
    observed: dict[str, Any] = {"endpoint": f"{read['transport']}/{read['port']}", "fc3_read_address_0": read["detail"]}
    if read["transport"] == "tls":
        observed["auditor_client_certificate"] = read["client_certificate"]
        if read.get("client_role"):
            observed["auditor_role"] = read["client_role"]
    if tls is not None:
        observed["anonymous_tls_session_on_802"] = tls["anonymous_session"]
    return observed


@check("modbus.access.unauthenticated-read",
       title="PLC serves Modbus reads to clients that did not authenticate",
       requirements=["SR 1.2", "SR 2.1", "SR 4.1", "CR 1.2", "CR 2.1", "CR 4.1"],
       applies_to=["embedded"], severity="high",
       remediation=("Enable Modbus/TCP Security (TLS on TCP 802 with mutual certificate authentication and roles) "
                    "and disable plain Modbus/TCP on 502; where the PLC cannot do this, restrict which hosts may "
                    "connect (the PLC's own IP allow-list / connection filter, if it has one). "
                    + ZONE_COUNTERMEASURE))
def unauthenticated_read(modbus_holding_read: dict[str, Any], modbus_tls_service: dict[str, Any] | None,
                         modbus_open_ports: dict[int, str]) -> Verdict:
    """Plain Modbus/TCP answers anyone who can reach the PLC: process values, set points and states can be
    read (and usually written) without identifying the client, so SR 1.2 (device identification and
    authentication), SR 2.1 (authorization) and SR 4.1 (confidentiality) are not met by the component.
    Evidence: one FC 3 read of holding register 0 (quantity 1) at the inventory's unit id, and an anonymous
    TLS handshake on 802. An IP allow-list in the PLC would show as a refused or reset connection."""
    read, tls = modbus_holding_read, modbus_tls_service
    observed = _observed(read, tls)
    if read["transport"] == "tcp":
        if read["outcome"] == "data":
            return failed(observed, _UNAUTH_EXPECTED,
                          "the PLC returned register data over plain Modbus/TCP to a client that never authenticated")
        code = read.get("exception_code")
        if code in (2, 3):
            return failed(observed, _UNAUTH_EXPECTED,
                          f"the PLC processed an unauthenticated read and declined only the address "
                          f"({read['detail']}): registers that exist are readable by anyone")
        return manual(f"the PLC declined FC 3 with {read['detail']}: verify whether it serves other read "
                      "functions (FC 1, 2, 4) to unauthorised hosts, or has an IP allow-list that produced this answer",
                      _UNAUTH_EXPECTED, observed)
    # Modbus/TCP Security endpoint
    anonymous = tls["anonymous_session"] if tls else "unknown"
    if read["outcome"] == "data" and not read["client_certificate"]:
        return failed(observed, _UNAUTH_EXPECTED,
                      "the PLC returned register data over TLS to a client that presented no certificate")
    # the anonymous TLS probe decides when it saw an answer; the auditor's own session failing counts as a
    # refusal only when the probe could not tell and the failure was no timeout or network fault
    detail = str(read.get("detail") or "").lower()
    network_fault = any(word in detail for word in ("timed out", "timeout", "unreachable", "no route", "refused"))
    refused_anonymous = anonymous == "refused" or (
        anonymous == "unknown" and read["outcome"] == "session-refused" and not read["client_certificate"]
        and not network_fault)
    if refused_anonymous:
        if modbus_open_ports.get(502) == "open":
            return manual("the PLC refuses TLS clients without a certificate, but TCP 502 also accepts connections: "
                          "add a plain endpoint (port 502) to the inventory to judge it, or close 502",
                          _UNAUTH_EXPECTED, observed)
        if modbus_open_ports.get(502) != "closed":
            return manual(f"the PLC refuses TLS clients without a certificate, but the probe of TCP 502 ended "
                          f"{modbus_open_ports.get(502, 'not probed')!r}, which does not prove plain Modbus/TCP "
                          "closed (only a refused connection does): verify 502 is disabled", _UNAUTH_EXPECTED,
                          observed)
        return passed(observed, _UNAUTH_EXPECTED,
                      "the PLC ends TLS sessions of clients without a certificate; plain Modbus/TCP (502) is closed")
    if anonymous == "accepted":
        return manual("the PLC accepts TLS sessions without a client certificate; whether it then refuses reads to "
                      "such a client (no role: exception 1) cannot be seen without sending Modbus anonymously. Verify "
                      "in the PLC configuration that mutual authentication is enforced", _UNAUTH_EXPECTED, observed)
    return manual("whether the PLC refuses unauthenticated clients could not be determined from the TLS probe",
                  _UNAUTH_EXPECTED, observed)


_WRITE_EXPECTED = ("writes only from authenticated clients whose role allows them (Modbus/TCP Security roles), "
                   "or a documented hardware write protection")


@check("modbus.access.write-protection",
       title="PLC write access is restricted (inferred: no write is ever sent)",
       requirements=["SR 2.1", "SR 2.1 RE2", "CR 2.1", "CR 2.1 RE2"],
       applies_to=["embedded"], severity="critical",
       fixture_verdicts={"weak": "fail", "hardened": "manual"},
       fixture_note=("the hardened PLC requires Modbus/TCP Security, so write restriction by role can only be "
                     "confirmed from its role configuration, never by sending a write"),
       remediation=("Use Modbus/TCP Security roles (certificate extension 1.3.6.1.4.1.50316.802.1) so that only "
                    "engineering roles may write, and keep the CPU's run-mode / write-protect key switch in the "
                    "protected position during production. Where neither exists, a Modbus-aware conduit filter "
                    "that drops write function codes (5, 6, 15, 16, 22, 23) from every host but the engineering "
                    "station is the compensating countermeasure (SR 5.2). " + ZONE_COUNTERMEASURE))
def write_protection(modbus_holding_read: dict[str, Any], modbus_tls_service: dict[str, Any] | None) -> Verdict:
    """A Modbus write changes a set point, a coil or a PLC mode in one frame; on plain Modbus/TCP every client
    that can connect may send one. The auditor never sends a write (the connector cannot), so exposure is
    inferred from how reads are served: a PLC that serves unauthenticated reads has no authorization layer
    that could stop writes, unless a hardware write protection (key switch) is in place, which only the
    asset documentation can show. Role mapping (SR 2.1 RE2) needs Modbus/TCP Security roles."""
    read, tls = modbus_holding_read, modbus_tls_service
    observed = {**_observed(read, tls), "write_sent": False}
    if read["transport"] == "tcp" and (read["outcome"] == "data" or read.get("exception_code") in (2, 3)):
        return failed(observed, _WRITE_EXPECTED,
                      "inferred, no write was sent: plain Modbus/TCP served an unauthenticated read, so it has no "
                      "authorization layer and writes are accepted from anyone who can connect unless a hardware "
                      "write protection is documented (record a waiver with that evidence)")
    if read["transport"] == "tls" and read["outcome"] == "data" and not read["client_certificate"]:
        return failed(observed, _WRITE_EXPECTED,
                      "inferred, no write was sent: the PLC served reads over TLS without a client certificate, so "
                      "no role can restrict writes")
    if read["transport"] == "tls":
        role = read.get("client_role")
        return manual("the PLC requires authenticated TLS clients; verify in its configuration that the role mapping "
                      "lets only engineering roles write (the auditor's own certificate"
                      + (f" carries role '{role}' and" if role else "") + " was never used to write)",
                      _WRITE_EXPECTED, observed)
    return manual(f"the PLC declined the read ({read['detail']}); verify its write protection in the configuration",
                  _WRITE_EXPECTED, observed)
