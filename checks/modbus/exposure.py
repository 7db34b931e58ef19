"""What else a PLC exposes on the network, and the zone boundary that has to make up for Modbus.

Evidence: one TCP connect (no byte sent) to each of a bounded list of well-known industrial and
management ports on the PLC's address, paced like every other request to the device. UDP services
(SNMP 161, TFTP 69) cannot be seen by a TCP connect and are not judged here.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.modbus.access import ZONE_COUNTERMEASURE
from checks.modbus.facts import INSECURE_DEFAULT, MODBUS_PORTS, PORTS, unproven_ports


def _open(ports: dict[int, str]) -> list[int]:
    return sorted(p for p, state in ports.items() if state == "open")


def _label(port: int) -> str:
    return f"{port} ({PORTS.get(port, 'unknown')})"


@check("modbus.exposure.insecure-services",
       title="No clear-text management services (telnet, FTP, HTTP) open on the PLC",
       requirements=["SR 7.7", "SR 4.1", "CR 7.7", "CR 4.1"],
       applies_to=["embedded"], severity="high",
       params={"insecure_ports": dict(INSECURE_DEFAULT), "allowed_ports": []},
       remediation=("Disable the PLC's telnet, FTP and HTTP servers (CPU or communication-module settings, often a "
                    "web server or firmware-update service enabled by default); use the vendor's authenticated, "
                    "encrypted engineering protocol or HTTPS where a web interface is required. A service that must "
                    "stay needs a documented justification (profile parameter allowed_ports) and a conduit rule that "
                    "admits it only from the engineering station (SR 5.2)."))
def insecure_services(modbus_open_ports: dict[int, str], params: dict[str, Any]) -> Verdict:
    """Telnet, FTP and plain HTTP on a PLC carry credentials and configuration in clear text and are
    classic entry points (default passwords, firmware upload, web-based control). Least functionality
    (SR 7.7, CR 7.7) means services not needed for the PLC's function are off; clear-text credentials also
    breach SR 4.1 / CR 4.1. Fails when one of ``insecure_ports`` accepts a TCP connection and is not in
    ``allowed_ports``."""
    try:
        insecure = {int(port): str(name) for port, name in (params.get("insecure_ports") or {}).items()}
        allowed = {int(port) for port in params.get("allowed_ports") or []}
    except (TypeError, ValueError):
        return error("profile parameters insecure_ports/allowed_ports must name TCP port numbers")
    open_ports = _open(modbus_open_ports)
    probed = sorted(p for p in insecure if p in modbus_open_ports)
    offending = [p for p in open_ports if p in insecure and p not in allowed]
    observed: dict[str, Any] = {"open": [_label(p) for p in open_ports],
                                "insecure_open": [f"{p} ({insecure[p]})" for p in offending]}
    tolerated = [p for p in open_ports if p in insecure and p in allowed]
    if tolerated:
        observed["documented_exceptions"] = [f"{p} ({insecure[p]})" for p in tolerated]
    expected = "closed: " + ", ".join(f"{p} ({insecure[p]})" for p in probed)
    if offending:
        return failed(observed, expected, "clear-text service(s) accept connections: "
                      + ", ".join(f"{insecure[p]} on {p}" for p in offending))
    if not probed:
        return error("none of the insecure_ports was probed; the exposure probes name "
                     + ", ".join(str(p) for p in sorted(PORTS)))
    unknown = unproven_ports(modbus_open_ports, [p for p in probed if p not in allowed])
    if unknown:
        observed["unproven"] = [f"{_label(p)}: {modbus_open_ports[p]}" for p in unknown]
        return manual("these probes neither connected nor were refused, so the services are not proven off "
                      "(only a refused connection is): " + ", ".join(observed["unproven"]), expected, observed)
    return passed(observed, expected)


@check("modbus.exposure.undocumented-services",
       title="Only documented industrial and management services are open on the PLC",
       requirements=["SR 7.7", "CR 7.7"], applies_to=["embedded"], severity="medium",
       params={"documented_ports": []},
       fixture_verdicts={"weak": "pass", "hardened": "pass"},
       fixture_note=("neither demo PLC serves an extra industrial protocol; the weak one's telnet/FTP/HTTP are "
                     "judged by modbus.exposure.insecure-services"),
       remediation=("Disable every protocol server the PLC does not need (S7/ISO-TSAP 102, EtherNet/IP 44818, DNP3 "
                    "20000, IEC 104 2404, OPC UA 4840, HTTPS 443 ...) and list the ones it does need in the asset "
                    "documentation and in the profile parameter documented_ports, so a newly opened port fails this "
                    "check. Each needed service should have a conduit rule naming who may use it (SR 5.2)."))
def undocumented_services(modbus_open_ports: dict[int, str], params: dict[str, Any]) -> Verdict:
    """Every extra protocol server on a PLC (another fieldbus-over-IP stack, OPC UA, HTTPS) is more attack
    surface, often without authentication either; least functionality (SR 7.7) asks for the documented
    minimum. Modbus itself (502/802) is judged by the transport checks and telnet/FTP/HTTP by
    modbus.exposure.insecure-services. Without a ``documented_ports`` list the open ports are reported for
    the assessor to compare with the asset documentation (manual)."""
    try:
        documented = {int(p) for p in params.get("documented_ports") or []}
    except (TypeError, ValueError):
        return error("profile parameter documented_ports must list TCP port numbers")
    skip = set(MODBUS_PORTS) | {int(p) for p in INSECURE_DEFAULT}
    others = [p for p in _open(modbus_open_ports) if p not in skip]
    observed = {"other_open": [_label(p) for p in others], "documented": sorted(documented)}
    expected = "only documented services open" + (f" ({sorted(documented)})" if documented else "")
    unknown = unproven_ports(modbus_open_ports, [p for p in modbus_open_ports if p not in skip])
    if not others and unknown:
        observed["unproven"] = [f"{_label(p)}: {modbus_open_ports[p]}" for p in unknown]
        return manual("no other service accepted a connection, but these probes were neither answered nor refused, "
                      "which does not prove the services off: " + ", ".join(observed["unproven"]), expected, observed)
    if not others:
        return passed(observed, expected, "no industrial or management port other than Modbus is open")
    if not documented:
        return manual("compare these open ports with the PLC's documented services, then list the needed ones in the "
                      "profile parameter documented_ports: " + ", ".join(_label(p) for p in others), expected, observed)
    undocumented = [p for p in others if p not in documented]
    if undocumented:
        return failed(observed, expected, "undocumented service(s) open: " + ", ".join(_label(p) for p in undocumented))
    return passed(observed, expected)


_VANTAGES = ("unknown", "inside", "outside")


@check("modbus.zone.boundary-protection",
       title="The zone boundary compensates for what Modbus cannot protect (conduit to the PLC)",
       requirements=["SR 5.1", "SR 5.2"], applies_to=["embedded"], severity="high",
       params={"vantage": "unknown"},
       fixture_verdicts={"weak": "manual", "hardened": "manual"},
       fixture_note=("one scan from an unknown vantage point cannot tell whether the conduit filters: a person "
                     "states where the scanner stood (param vantage)"),
       remediation=ZONE_COUNTERMEASURE + (
           " Then run the auditor once from a host outside the control zone (tailored profile with "
           "modbus.zone.boundary-protection: {vantage: outside}): nothing but the documented, authenticated services "
           "should be reachable from there."))
def boundary_protection(modbus_open_ports: dict[int, str], modbus_holding_read: dict[str, Any],
                        params: dict[str, Any]) -> Verdict:
    """A PLC that serves plain Modbus/TCP cannot meet the authentication and use-control requirements itself;
    IEC 62443-3-3 then relies on the zone and conduit model: SR 5.1 network segmentation and SR 5.2 zone
    boundary protection must keep every host but the authorised masters away from it. A single network scan
    cannot see a firewall's rule set, so from inside the zone (or an unknown vantage point) this is a manual
    verification with the exposure found as evidence; run from outside the zone (``vantage: outside``),
    reaching plain Modbus or a clear-text service proves the boundary does not protect the PLC."""
    vantage = params.get("vantage", "unknown")
    if vantage not in _VANTAGES:
        return error(f"profile parameter vantage must be one of {_VANTAGES}, not {vantage!r}")
    open_ports = _open(modbus_open_ports)
    plain = modbus_holding_read["transport"] == "tcp" or 502 in open_ports
    insecure = [p for p in open_ports if str(p) in INSECURE_DEFAULT]
    observed = {"vantage": vantage, "reachable": [_label(p) for p in open_ports],
                "plain_modbus_reachable": plain,
                "unauthenticated_read": modbus_holding_read["outcome"] == "data"
                and (modbus_holding_read["transport"] == "tcp" or not modbus_holding_read["client_certificate"])}
    expected = "only the authorised masters can reach the PLC; documented, authenticated services only across the conduit"
    if vantage == "outside":
        exposed = (["plain Modbus/TCP"] if plain else []) + [_label(p) for p in insecure]
        if exposed:
            return failed(observed, expected, "from outside the PLC's zone the auditor reached: " + ", ".join(exposed))
        if open_ports:
            return manual("from outside the zone only these ports were reachable: "
                          + ", ".join(_label(p) for p in open_ports)
                          + "; verify the conduit admits them only from the authorised zones", expected, observed)
        return passed(observed, expected, "nothing on the PLC was reachable from outside its zone")
    relies = plain or bool(insecure)
    lead = ("the PLC serves plain Modbus/TCP" + (" and clear-text services" if insecure else "")
            + ": its protection rests entirely on the conduit. " if relies else
            "the PLC authenticates its Modbus clients, but SR 5.2 still asks for a protected zone boundary. ")
    return manual(lead + "Verify the conduit firewall rules into the PLC's zone: TCP 502/802 only from the named "
                  "masters and engineering station, everything else denied, rules reviewed; or rerun from outside "
                  "the zone with vantage: outside", expected, observed)
