"""SNMP constants the connector, the network check pack and the SNMP simulator share (no pysnmp needed)."""

from __future__ import annotations

#: The default-community probe list: well-known factory defaults, public knowledge. Short on purpose:
#: the probe is an opt-in check for factory defaults, never a brute force.
DEFAULT_COMMUNITIES: tuple[str, ...] = ("public", "private")

#: sysDescr.0, the one object every probe GET asks for.
SYS_DESCR = "1.3.6.1.2.1.1.1.0"

#: SNMPv2-MIB counters read (through the audit session) before and after the community probes.
PROBE_COUNTERS: dict[str, str] = {
    "snmpInPkts": "1.3.6.1.2.1.11.1.0",
    "snmpInBadVersions": "1.3.6.1.2.1.11.3.0",
    "snmpInBadCommunityNames": "1.3.6.1.2.1.11.4.0",
    "snmpInBadCommunityUses": "1.3.6.1.2.1.11.5.0",
}
