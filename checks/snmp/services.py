"""Insecure management services listening on a network device, from its own TCP-MIB/UDP-MIB tables.

The device's listener tables (``tcpListenerTable``, or the legacy ``tcpConnTable`` rows in state
``listen(2)``; ``udpEndpointTable`` or the legacy ``udpTable``) say which ports it accepts on, without a
single packet to those ports. Listeners bound only to a loopback address are not reachable and are
reported, not failed. When neither table is exposed the verdict is ``manual`` (a port scan or the
configuration must tell), never a pass.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.snmp.facts import Listeners

_REQS = ["SR 7.7", "SR 4.1", "CR 7.7", "CR 4.1"]


def _judge(listeners: Listeners, protocol: str, ports: Any, service: str) -> Verdict:
    try:
        wanted = sorted({int(p) for p in ports})
    except (TypeError, ValueError):
        return error(f"ports must be a list of port numbers, got {ports!r}")
    expected = f"no {service} listener ({protocol.upper()} {', '.join(map(str, wanted))})"
    exposed = listeners.tcp_exposed if protocol == "tcp" else listeners.udp_exposed
    found = listeners.on(protocol, wanted)
    reachable = [f"{item.address}:{item.port}" for item in found if not item.loopback_only]
    local = [f"{item.address}:{item.port}" for item in found if item.loopback_only]
    observed: dict[str, Any] = {"listening": reachable or None, "loopback_only": local or None,
                                "table": sorted({i.table for i in listeners.items if i.protocol == protocol}) or None}
    if reachable:
        return failed(observed, expected, f"{service} is listening on {', '.join(reachable)}")
    if not exposed:
        return manual(f"the device exposes no {protocol.upper()} listener table over SNMP; check for {service} "
                      "with a port scan of the management address or in the configuration", expected, observed)
    return passed(observed, expected, f"the device's {protocol.upper()} listener table shows no {service} port"
                                      + (f" (loopback only: {', '.join(local)})" if local else ""))


@check("snmp.service.telnet",
       title="Telnet management disabled",
       requirements=_REQS, applies_to=["network"], severity="high", params={"ports": [23]},
       remediation=("Disable Telnet and manage the device over SSH only (Cisco IOS: `line vty 0 15` + "
                    "`transport input ssh`; most industrial switches: web UI > Security > Telnet off)."))
def service_telnet(snmp_listeners: Listeners, params: dict[str, Any]) -> Verdict:
    """Telnet sends the administrator's password and the whole session in clear text (SR 4.1) and is a
    management service the device does not need once SSH is there (SR 7.7 least functionality)."""
    return _judge(snmp_listeners, "tcp", params.get("ports", [23]), "Telnet")


@check("snmp.service.http",
       title="Unencrypted HTTP management disabled",
       requirements=_REQS, applies_to=["network"], severity="medium", params={"ports": [80, 8080]},
       remediation=("Turn off the HTTP server and keep only HTTPS with a current TLS configuration (Cisco IOS: "
                    "`no ip http server`, `ip http secure-server`); if the device can only redirect port 80 to "
                    "HTTPS, document it and waive this check for the device."))
def service_http(snmp_listeners: Listeners, params: dict[str, Any]) -> Verdict:
    """The web management interface over HTTP exposes administrator credentials and session cookies to
    anyone on the path (SR 4.1); an unneeded listener is attack surface (SR 7.7)."""
    return _judge(snmp_listeners, "tcp", params.get("ports", [80, 8080]), "HTTP")


@check("snmp.service.tftp",
       title="TFTP server disabled",
       requirements=_REQS, applies_to=["network"], severity="high", params={"ports": [69]},
       remediation=("Disable the TFTP server (Cisco IOS: `no tftp-server ...`); transfer firmware and "
                    "configurations with SCP/SFTP or HTTPS instead."))
def service_tftp(snmp_listeners: Listeners, params: dict[str, Any]) -> Verdict:
    """TFTP has no authentication at all: whoever reaches UDP 69 can read (and often write) configuration
    and firmware files (SR 7.7 least functionality, SR 4.1 confidentiality)."""
    return _judge(snmp_listeners, "udp", params.get("ports", [69]), "TFTP")


@check("snmp.service.legacy-cleartext",
       title="No FTP or r-services (rexec, rlogin, rsh) listening",
       requirements=_REQS, applies_to=["network"], severity="medium", params={"ports": [21, 512, 513, 514]},
       fixture_verdicts={"weak": "pass", "hardened": "pass"},
       fixture_note="the weak switch's clear-text services are telnet and HTTP, judged by their own checks",
       remediation=("Disable the FTP server and the BSD r-services (Cisco IOS: `no ip ftp server`, `no ip rcmd "
                    "rsh-enable`, `no ip rcmd rcp-enable`); use SCP/SFTP for file transfer."))
def service_legacy_cleartext(snmp_listeners: Listeners, params: dict[str, Any]) -> Verdict:
    """FTP and the r-services authenticate in clear text or by source address only (SR 4.1, SR 7.7)."""
    return _judge(snmp_listeners, "tcp", params.get("ports", [21, 512, 513, 514]), "FTP/r-services")
