"""Well-known ports of IACS and management services: what an open port suggests, for import and discovery.

Only the ports whose protocol the auditor speaks become endpoints (``protocol``); the others are kept as
evidence of what else a device exposes (an S7 or EtherNet/IP port says "PLC" even though no connector
reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class KnownPort:
    port: int
    transport: str          # tcp | udp
    service: str            # what listens there, in words
    protocol: str | None    # the auditor's endpoint protocol, if it has a connector for it
    suggests: str | None    # the component type the port suggests (host, network, embedded, application)


KNOWN_PORTS: tuple[KnownPort, ...] = (
    KnownPort(22, "tcp", "SSH", "ssh", "host"),
    KnownPort(23, "tcp", "Telnet", None, None),
    KnownPort(80, "tcp", "HTTP", None, None),
    KnownPort(102, "tcp", "ISO-TSAP (Siemens S7, IEC 61850 MMS)", None, "embedded"),
    KnownPort(161, "udp", "SNMP", "snmp", "network"),
    KnownPort(443, "tcp", "HTTPS", None, None),
    KnownPort(502, "tcp", "Modbus/TCP", "modbus", "embedded"),
    KnownPort(802, "tcp", "Modbus/TCP Security", "modbus", "embedded"),
    KnownPort(2404, "tcp", "IEC 60870-5-104", None, "embedded"),
    KnownPort(3389, "tcp", "RDP", None, "host"),
    KnownPort(4840, "tcp", "OPC UA", "opcua", "application"),
    KnownPort(4843, "tcp", "OPC UA over TLS", None, "application"),
    KnownPort(5985, "tcp", "WinRM (HTTP)", None, "host"),
    KnownPort(5986, "tcp", "WinRM (HTTPS)", None, "host"),
    KnownPort(20000, "tcp", "DNP3", None, "embedded"),
    KnownPort(44818, "tcp", "EtherNet/IP", None, "embedded"),
)

BY_PORT: dict[tuple[int, str], KnownPort] = {(p.port, p.transport): p for p in KNOWN_PORTS}

#: nmap's service names for the protocols the auditor speaks (a service found on another port).
SERVICE_PROTOCOLS = {"ssh": "ssh", "snmp": "snmp", "modbus": "modbus", "mbap": "modbus", "opcua-tcp": "opcua",
                     "opcua": "opcua"}

#: The component type a protocol endpoint suggests, most specific first.
TYPE_BY_PROTOCOL = {"s7": "embedded", "modbus": "embedded", "opcua": "application", "cli": "network", "ssh": "host",
                    "winrm": "host", "snmp": "network", "https": "embedded"}


def guess_type(protocols: Sequence[str], hints: Sequence[str] = ()) -> str:
    """The component type the endpoints (and other open ports' hints) suggest: a PLC protocol wins over a
    server one, a server over a switch's SNMP (a Linux host often answers SNMP too), and anything over a web
    interface (a controller, a panel, a switch and a server may all have one; alone, it is a device's)."""
    for candidate in TYPE_BY_PROTOCOL:
        if candidate in protocols:
            return TYPE_BY_PROTOCOL[candidate]
    for suggestion in ("embedded", "application", "host", "network"):
        if suggestion in hints:
            return suggestion
    return "host"
