# One module on purpose: every SNMP read of the network pack with its parser, in MIB order; most checks share these reads.
"""Evidence for the network-device pack: which OIDs are read over SNMP and how they become typed facts.

Reads (a scan sends each at most once, whatever checks are selected):

* ``SCALARS``: one GET (split by the connector into PDUs of at most 24 OIDs) of the standard scalars:
  SNMPv2-MIB ``system`` (sysDescr, sysObjectID, sysUpTime, sysContact, sysName, sysLocation,
  sysServices), HOST-RESOURCES-MIB ``hrSystemUptime``/``hrSystemDate``, IP-MIB ``ipForwarding`` /
  ``ipv6IpForwarding``, SNMPv2-MIB ``snmpInBadCommunityNames``/``snmpEnableAuthenTraps``,
  SNMP-FRAMEWORK-MIB ``snmpEngineID``/``Boots``/``Time``, NTPv4-MIB (RFC 5907)
  ``ntpEntStatusCurrentMode``, CISCO-NTP-MIB ``cntpSysSrvStatus`` and CISCO-SYSLOG-MIB
  ``clogMaxServers`` (vendor MIBs: an agent without them answers noSuchObject, which is evidence too);
* walks of a few table columns, each bounded in rows and time: IF-MIB interfaces, TCP-MIB/UDP-MIB
  listeners (the legacy connection tables only when the current listener tables are empty), ENTITY-MIB
  physical entities, BRIDGE/Q-BRIDGE-MIB port VLANs, NTP associations, syslog servers, the notification
  targets (SNMP-TARGET-MIB snmpTargetAddrTable), the USM user table
  and the VACM tables (security-to-group, access, view tree; group and security names masked by the
  connector, see ``mask_index``);
* the connector's probes: the session itself, the opt-in default-community probe and the lower
  security-level probe.

Parsers never guess: an object the agent does not implement is ``None`` (the checks turn that into
``manual``/``not_applicable`` with a reason); a response that is not what SNMP could have said raises
:class:`FactParseError` (an ``error`` verdict).
"""

from __future__ import annotations

import datetime as _dt
import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from auditor.evidence import EvidenceRequest
from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact, request

# --------------------------------------------------------------------------------------------
# OIDs
# --------------------------------------------------------------------------------------------

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_SERVICES = "1.3.6.1.2.1.1.7.0"
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
HR_SYSTEM_DATE = "1.3.6.1.2.1.25.1.2.0"
IP_FORWARDING = "1.3.6.1.2.1.4.1.0"
IPV6_FORWARDING = "1.3.6.1.2.1.4.25.0"
SNMP_IN_BAD_COMMUNITY_NAMES = "1.3.6.1.2.1.11.4.0"
SNMP_ENABLE_AUTHEN_TRAPS = "1.3.6.1.2.1.11.30.0"
SNMP_ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"
SNMP_ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"
SNMP_ENGINE_TIME = "1.3.6.1.6.3.10.2.1.3.0"
NTP_ENT_STATUS_CURRENT_MODE = "1.3.6.1.2.1.197.1.2.1.0"       # NTPv4-MIB (RFC 5907)
CNTP_SYS_SRV_STATUS = "1.3.6.1.4.1.9.9.168.1.1.11.0"          # CISCO-NTP-MIB (vendor)
CLOG_MAX_SERVERS = "1.3.6.1.4.1.9.9.41.1.3.1.0"                # CISCO-SYSLOG-MIB (vendor)

SCALAR_OIDS: tuple[str, ...] = (
    SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION, SYS_SERVICES,
    HR_SYSTEM_UPTIME, HR_SYSTEM_DATE, IP_FORWARDING, IPV6_FORWARDING, SNMP_IN_BAD_COMMUNITY_NAMES,
    SNMP_ENABLE_AUTHEN_TRAPS, SNMP_ENGINE_ID, SNMP_ENGINE_BOOTS, SNMP_ENGINE_TIME,
    NTP_ENT_STATUS_CURRENT_MODE, CNTP_SYS_SRV_STATUS, CLOG_MAX_SERVERS,
)

IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_TYPE = "1.3.6.1.2.1.2.2.1.3"
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
TCP_LISTENER_PROCESS = "1.3.6.1.2.1.6.20.1.4"      # TCP-MIB tcpListenerTable (RFC 4022)
TCP_CONN_STATE = "1.3.6.1.2.1.6.13.1.1"            # legacy tcpConnTable: listen(2)
UDP_ENDPOINT_PROCESS = "1.3.6.1.2.1.7.7.1.8"       # UDP-MIB udpEndpointTable (RFC 4113)
UDP_LOCAL_PORT = "1.3.6.1.2.1.7.5.1.2"             # legacy udpTable
ENT_PHYSICAL = "1.3.6.1.2.1.47.1.1.1.1"            # ENTITY-MIB entPhysicalEntry
ENT_COLUMNS = {2: "descr", 5: "class", 7: "name", 8: "hardware_rev", 9: "firmware_rev", 10: "software_rev",
               11: "serial", 12: "manufacturer", 13: "model"}
DOT1Q_PVID = "1.3.6.1.2.1.17.7.1.4.5.1.1"          # Q-BRIDGE-MIB
DOT1Q_VLAN_STATIC_NAME = "1.3.6.1.2.1.17.7.1.4.3.1.1"
DOT1D_BASE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"  # BRIDGE-MIB
NTP_ASSOC_NAME = "1.3.6.1.2.1.197.1.3.1.1.2"
CNTP_PEERS_PEER_ADDRESS = "1.3.6.1.4.1.9.9.168.1.2.1.1.3"
CLOG_SERVER_STATUS = "1.3.6.1.4.1.9.9.41.1.3.2.1.3"
USM_USER_AUTH_PROTOCOL = "1.3.6.1.6.3.15.1.2.2.1.5"
USM_USER_PRIV_PROTOCOL = "1.3.6.1.6.3.15.1.2.2.1.8"
VACM_SECURITY_TO_GROUP_STATUS = "1.3.6.1.6.3.16.1.2.1.5"
VACM_ACCESS_READ_VIEW = "1.3.6.1.6.3.16.1.4.1.5"
VACM_ACCESS_WRITE_VIEW = "1.3.6.1.6.3.16.1.4.1.6"
VACM_VIEW_TREE_FAMILY_TYPE = "1.3.6.1.6.3.16.1.5.2.1.4"
SNMP_TARGET_ADDR_TDOMAIN = "1.3.6.1.6.3.12.1.2.1.2"   # SNMP-TARGET-MIB snmpTargetAddrTable (RFC 3413)
SNMP_TARGET_ADDR_TADDRESS = "1.3.6.1.6.3.12.1.2.1.3"

#: Transport domains whose TAddress is an IP address and a port (SNMPv2-TM, TRANSPORT-ADDRESS-MIB).
IP_DOMAINS = {"1.3.6.1.6.1.1": "udp", "1.3.6.1.2.1.100.1.1": "udp", "1.3.6.1.2.1.100.1.2": "udp",
              "1.3.6.1.2.1.100.1.5": "tcp", "1.3.6.1.2.1.100.1.6": "tcp"}

#: SNMP-FRAMEWORK / RFC 7860 / vendor USM protocol identities -> short names.
AUTH_PROTOCOLS = {
    "1.3.6.1.6.3.10.1.1.1": "none", "1.3.6.1.6.3.10.1.1.2": "MD5", "1.3.6.1.6.3.10.1.1.3": "SHA",
    "1.3.6.1.6.3.10.1.1.4": "SHA224", "1.3.6.1.6.3.10.1.1.5": "SHA256", "1.3.6.1.6.3.10.1.1.6": "SHA384",
    "1.3.6.1.6.3.10.1.1.7": "SHA512",
}
PRIV_PROTOCOLS = {
    "1.3.6.1.6.3.10.1.2.1": "none", "1.3.6.1.6.3.10.1.2.2": "DES", "1.3.6.1.6.3.10.1.2.3": "3DES",
    "1.3.6.1.6.3.10.1.2.4": "AES",
    "1.3.6.1.4.1.14832.1.3": "AES192", "1.3.6.1.4.1.14832.1.4": "AES256",      # draft-blumenthal (Reeder)
    "1.3.6.1.4.1.9.12.6.1.1": "AES192", "1.3.6.1.4.1.9.12.6.1.2": "AES256",    # Cisco
    "1.3.6.1.4.1.9.12.6.1.101": "AES192", "1.3.6.1.4.1.9.12.6.1.102": "AES256",
}

# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------

SESSION = request("snmp", "session", "info", name="snmp.session-info")
PROBE_COMMUNITIES = request("snmp", "probe", "default-communities", name="snmp.probe-default-communities")
PROBE_LEVELS = request("snmp", "probe", "security-levels", name="snmp.probe-security-levels")
SCALARS = request("snmp", "get", " ".join(SCALAR_OIDS), name="snmp.scalars")
WALK_INTERFACES = request("snmp", "walk", " ".join((IF_DESCR, IF_TYPE, IF_ADMIN_STATUS, IF_OPER_STATUS,
                                                    IF_NAME, IF_ALIAS)), max_rows=6000, name="snmp.interfaces")
WALK_TCP = request("snmp", "walk", TCP_LISTENER_PROCESS, max_rows=2000, name="snmp.tcp-listeners")
WALK_UDP = request("snmp", "walk", UDP_ENDPOINT_PROCESS, max_rows=2000, name="snmp.udp-endpoints")
# the legacy tables list every connection too (they can be long): walked only for agents without the new ones
WALK_TCP_LEGACY = request("snmp", "walk", TCP_CONN_STATE, max_rows=2000, fallback_for=TCP_LISTENER_PROCESS,
                          name="snmp.tcp-connections-legacy")
WALK_UDP_LEGACY = request("snmp", "walk", UDP_LOCAL_PORT, max_rows=2000, fallback_for=UDP_ENDPOINT_PROCESS,
                          name="snmp.udp-listeners-legacy")
LISTENER_WALKS = (WALK_TCP, WALK_UDP, WALK_TCP_LEGACY, WALK_UDP_LEGACY)
WALK_ENTITIES = request("snmp", "walk", " ".join(f"{ENT_PHYSICAL}.{c}" for c in ENT_COLUMNS), max_rows=4500,
                        name="snmp.entities")
WALK_BRIDGE = request("snmp", "walk", " ".join((DOT1Q_PVID, DOT1D_BASE_PORT_IFINDEX, DOT1Q_VLAN_STATIC_NAME)),
                      max_rows=9000, name="snmp.bridge-vlans")
WALK_NTP = request("snmp", "walk", " ".join((NTP_ASSOC_NAME, CNTP_PEERS_PEER_ADDRESS)), max_rows=200,
                   name="snmp.ntp-associations")
WALK_SYSLOG = request("snmp", "walk", CLOG_SERVER_STATUS, max_rows=200, name="snmp.syslog-servers")
WALK_USM = request("snmp", "walk", " ".join((USM_USER_AUTH_PROTOCOL, USM_USER_PRIV_PROTOCOL)), max_rows=1000,
                   name="snmp.usm-users")
WALK_VACM_GROUPS = request("snmp", "walk", VACM_SECURITY_TO_GROUP_STATUS, mask_index="str@1", max_rows=1000,
                           name="snmp.vacm-groups")
WALK_VACM_ACCESS = request("snmp", "walk", " ".join((VACM_ACCESS_READ_VIEW, VACM_ACCESS_WRITE_VIEW)),
                           mask_index="str@0", max_rows=1000, name="snmp.vacm-access")
WALK_VACM_VIEWS = request("snmp", "walk", VACM_VIEW_TREE_FAMILY_TYPE, max_rows=1000, name="snmp.vacm-views")
WALK_TARGETS = request("snmp", "walk", " ".join((SNMP_TARGET_ADDR_TDOMAIN, SNMP_TARGET_ADDR_TADDRESS)),
                       max_rows=200, name="snmp.trap-targets")

EXCEPTIONS = ("noSuchObject", "noSuchInstance", "endOfMibView", "noSuchName")

# --------------------------------------------------------------------------------------------
# Helpers on recorded var-binds
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)  # a walk's OIDs are parsed once per column read otherwise
def oid_tuple(text: str) -> tuple[int, ...]:
    parts = str(text).strip().lstrip(".").split(".")
    if not parts or not all(p.isdigit() and len(p) <= 10 for p in parts):  # sub-identifiers are 32-bit
        raise FactParseError(f"not a numeric OID: {str(text)[:80]!r}")
    return tuple(int(p) for p in parts)


def _entries(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(e, dict) and isinstance(e.get("oid"), str)
                                              and isinstance(e.get("type"), str) for e in value):
        raise FactParseError(f"{what} is not a list of SNMP var-binds")
    return value


def varbinds(ev: FactEvidence, req: EvidenceRequest) -> dict[str, dict[str, Any]]:
    """A GET item as {oid: var-bind}."""
    data = ev.data(req)
    if not isinstance(data, dict):
        raise FactParseError(f"{req.key}: expected a JSON object, got {type(data).__name__}")
    return {e["oid"]: e for e in _entries(data.get("varbinds"), f"{req.key} varbinds")}


def walk_rows(ev: FactEvidence, req: EvidenceRequest) -> list[dict[str, Any]]:
    data = ev.data(req)
    if not isinstance(data, dict):
        raise FactParseError(f"{req.key}: expected a JSON object, got {type(data).__name__}")
    return _entries(data.get("rows"), f"{req.key} rows")


def column(rows: Iterable[dict[str, Any]], root: str) -> dict[tuple[int, ...], dict[str, Any]]:
    """The rows under one column OID, keyed by their index (the OID part after the column)."""
    prefix = oid_tuple(root)
    out: dict[tuple[int, ...], dict[str, Any]] = {}
    for entry in rows:
        oid = oid_tuple(entry["oid"])
        if len(oid) > len(prefix) and oid[:len(prefix)] == prefix and entry["type"] not in EXCEPTIONS:
            out[oid[len(prefix):]] = entry
    return out


def present(entry: dict[str, Any] | None) -> bool:
    return entry is not None and entry.get("type") not in EXCEPTIONS


def as_int(entry: dict[str, Any] | None, what: str) -> int | None:
    """An integer-typed var-bind's value; None when the agent does not implement it."""
    if not present(entry):
        return None
    value = entry.get("value")  # type: ignore[union-attr]
    if isinstance(value, bool) or not isinstance(value, int):
        kind = entry.get("type")  # type: ignore[union-attr]
        raise FactParseError(f"{what}: expected an integer, got {kind} {value!r}")
    return value


def _whole(entry: dict[str, Any], what: str) -> None:
    """Refuse a value the connector's limit cut: the missing bytes could change the verdict."""
    if entry.get("truncated"):
        raise FactParseError(f"{what}: the agent sent {entry.get('original_bytes')} bytes, more than the "
                             "auditor keeps of one value; not judged on a part")


def as_text(entry: dict[str, Any] | None, what: str) -> str | None:
    """An OCTET STRING var-bind as text (binary bytes decoded with replacement); None when absent."""
    if not present(entry):
        return None
    _whole(entry, what)  # type: ignore[arg-type]
    kind = entry.get("type")  # type: ignore[union-attr]
    if kind not in ("OctetString", "Opaque"):
        raise FactParseError(f"{what}: expected an OCTET STRING, got {kind}")
    value = entry.get("value")  # type: ignore[union-attr]
    if isinstance(value, str):
        return value
    return as_bytes(entry, what).decode("utf-8", "replace")


def as_bytes(entry: dict[str, Any] | None, what: str) -> bytes | None:
    if not present(entry):
        return None
    _whole(entry, what)  # type: ignore[arg-type]
    try:
        return bytes.fromhex(str(entry.get("hex", "")))  # type: ignore[union-attr]
    except ValueError:
        raise FactParseError(f"{what}: hex value is not hexadecimal") from None


def as_oid(entry: dict[str, Any] | None, what: str) -> str | None:
    if not present(entry):
        return None
    kind = entry.get("type")  # type: ignore[union-attr]
    if kind != "ObjectIdentifier" or not isinstance(entry.get("value"), str):  # type: ignore[union-attr]
        raise FactParseError(f"{what}: expected an OBJECT IDENTIFIER, got {kind}")
    return entry["value"]  # type: ignore[index]


def index_string(index: tuple[int, ...], position: int) -> tuple[bytes, int]:
    """A length-prefixed OCTET STRING inside a table index: (bytes, position after it)."""
    if position >= len(index):
        raise FactParseError(f"index {index} is too short for a string at {position}")
    length = index[position]
    raw = index[position + 1: position + 1 + length]
    if len(raw) != length or any(b > 255 for b in raw):
        raise FactParseError(f"index {index} holds no valid string at {position}")
    return bytes(raw), position + 1 + length


def inet_address(raw: bytes) -> str:
    if len(raw) == 0:
        return "*"
    if len(raw) in (4, 16):
        return str(ipaddress.ip_address(raw))
    if len(raw) in (8, 20):  # ipv4z / ipv6z: address + zone index
        return f"{ipaddress.ip_address(raw[:-4])}%{int.from_bytes(raw[-4:], 'big')}"
    return raw.hex()


# --------------------------------------------------------------------------------------------
# Session and probes
# --------------------------------------------------------------------------------------------


@fact("snmp_session", protocol="snmp", requests=[SESSION])
def snmp_session(ev: FactEvidence) -> dict[str, Any]:
    """How the connector reached the agent: version, security level, protocol names, community label."""
    data = ev.data(SESSION)
    if not isinstance(data, dict) or data.get("version") not in ("1", "2c", "3") \
            or not isinstance(data.get("answered"), bool):
        raise FactParseError("session info lacks version/answered")
    for name in ("username", "auth_protocol", "priv_protocol", "security_level", "community", "address"):
        if data.get(name) is not None and not isinstance(data[name], str):  # checks compare and look these up
            raise FactParseError(f"session info {name} is not text")
    return data


def _probe(ev: FactEvidence, req: EvidenceRequest) -> dict[str, Any]:
    data = ev.data(req)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) \
            or not all(isinstance(r, dict) and isinstance(r.get("outcome"), str) for r in data["results"]):
        raise FactParseError(f"{req.key}: not a probe record")
    return data


@fact("snmp_community_probe", protocol="snmp", requests=[PROBE_COMMUNITIES])
def snmp_community_probe(ev: FactEvidence) -> dict[str, Any]:
    """The default-community probe (opt-in): which (community, version) pairs answered, plus counters."""
    data = _probe(ev, PROBE_COMMUNITIES)
    if not isinstance(data.get("enabled"), bool):
        raise FactParseError("community probe record lacks 'enabled'")
    return data


@fact("snmp_seclevel_probe", protocol="snmp", requests=[PROBE_LEVELS])
def snmp_seclevel_probe(ev: FactEvidence) -> dict[str, Any]:
    """The audit user's GETs at the security levels below the configured one (v3 only)."""
    return _probe(ev, PROBE_LEVELS)


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemInfo:
    descr: str | None
    object_id: str | None
    contact: str | None
    name: str | None
    location: str | None
    services: int | None
    uptime_s: float | None          # sysUpTime: the agent's management part (32-bit, wraps at 497 days)
    host_uptime_s: float | None     # hrSystemUptime: the host, when HOST-RESOURCES-MIB is implemented
    engine_id: str | None
    engine_boots: int | None
    engine_time_s: int | None


@fact("snmp_system", protocol="snmp", requests=[SCALARS])
def snmp_system(ev: FactEvidence) -> SystemInfo:
    """SNMPv2-MIB system group, hrSystemUptime and the SNMP engine identity."""
    vb = varbinds(ev, SCALARS)
    if not present(vb.get(SYS_DESCR)) and not present(vb.get(SYS_NAME)):
        raise FactParseError("the agent answered neither sysDescr.0 nor sysName.0")
    uptime = as_int(vb.get(SYS_UPTIME), "sysUpTime.0")
    host_uptime = as_int(vb.get(HR_SYSTEM_UPTIME), "hrSystemUptime.0")
    engine_id = as_bytes(vb.get(SNMP_ENGINE_ID), "snmpEngineID.0")
    return SystemInfo(
        descr=as_text(vb.get(SYS_DESCR), "sysDescr.0"), object_id=as_oid(vb.get(SYS_OBJECT_ID), "sysObjectID.0"),
        contact=as_text(vb.get(SYS_CONTACT), "sysContact.0"), name=as_text(vb.get(SYS_NAME), "sysName.0"),
        location=as_text(vb.get(SYS_LOCATION), "sysLocation.0"), services=as_int(vb.get(SYS_SERVICES), "sysServices.0"),
        uptime_s=uptime / 100 if uptime is not None else None,
        host_uptime_s=host_uptime / 100 if host_uptime is not None else None,
        engine_id=engine_id.hex() if engine_id else None,
        engine_boots=as_int(vb.get(SNMP_ENGINE_BOOTS), "snmpEngineBoots.0"),
        engine_time_s=as_int(vb.get(SNMP_ENGINE_TIME), "snmpEngineTime.0"))


@dataclass(frozen=True)
class Clock:
    device: _dt.datetime | None     # hrSystemDate, None when not implemented
    auditor: _dt.datetime           # the auditor's clock at the middle of the GET
    uncertainty_s: float            # half the GET's duration + the 0.1 s resolution of DateAndTime
    assumed_utc: bool = False       # the device gave no UTC offset (8-octet DateAndTime)

    @property
    def skew_s(self) -> float | None:
        return (self.device - self.auditor).total_seconds() if self.device else None


def parse_date_and_time(raw: bytes) -> tuple[_dt.datetime, bool]:
    """SNMPv2-TC DateAndTime (8 or 11 octets) -> aware datetime in UTC, and whether UTC was assumed."""
    if len(raw) not in (8, 11):
        raise FactParseError(f"DateAndTime must be 8 or 11 octets, got {len(raw)}")
    year = raw[0] << 8 | raw[1]
    month, day, hour, minute, second, deci = raw[2:8]
    try:
        moment = _dt.datetime(year, month, day, hour, minute, min(second, 59), deci * 100000,
                              tzinfo=_dt.timezone.utc)
    except ValueError as exc:
        raise FactParseError(f"DateAndTime is not a date: {exc}") from None
    if len(raw) == 8:
        return moment, True
    direction, off_h, off_m = chr(raw[8]), raw[9], raw[10]
    if direction not in "+-" or off_h > 13 or off_m > 59:
        raise FactParseError(f"DateAndTime has an invalid UTC offset {direction}{off_h}:{off_m}")
    offset = _dt.timedelta(hours=off_h, minutes=off_m)
    return (moment - offset if direction == "+" else moment + offset), False


@fact("snmp_clock", protocol="snmp", requests=[SCALARS])
def snmp_clock(ev: FactEvidence) -> Clock:
    """The device clock (hrSystemDate.0) against the auditor's clock when it was read."""
    item = ev.item(SCALARS)
    vb = varbinds(ev, SCALARS)
    duration = max(0.0, float(item.duration_ms)) / 1000
    auditor = item.collected_at - _dt.timedelta(seconds=duration / 2)
    if auditor.tzinfo is None:
        auditor = auditor.replace(tzinfo=_dt.timezone.utc)
    raw = as_bytes(vb.get(HR_SYSTEM_DATE), "hrSystemDate.0")
    device, assumed = (None, False) if raw is None else parse_date_and_time(raw)
    return Clock(device=device, auditor=auditor, uncertainty_s=duration / 2 + 0.1, assumed_utc=assumed)


@dataclass(frozen=True)
class Forwarding:
    ipv4: int | None    # IP-MIB: forwarding(1) / notForwarding(2)
    ipv6: int | None


@fact("snmp_ip_forwarding", protocol="snmp", requests=[SCALARS])
def snmp_ip_forwarding(ev: FactEvidence) -> Forwarding:
    vb = varbinds(ev, SCALARS)
    values = [as_int(vb.get(IP_FORWARDING), "ipForwarding.0"), as_int(vb.get(IPV6_FORWARDING), "ipv6IpForwarding.0")]
    for value in values:
        if value is not None and value not in (1, 2):
            raise FactParseError(f"ipForwarding must be 1 or 2, got {value}")
    return Forwarding(*values)


@dataclass(frozen=True)
class AuthTraps:
    enabled: int | None             # snmpEnableAuthenTraps: enabled(1) / disabled(2)
    bad_community_names: int | None


@fact("snmp_auth_traps", protocol="snmp", requests=[SCALARS])
def snmp_auth_traps(ev: FactEvidence) -> AuthTraps:
    vb = varbinds(ev, SCALARS)
    enabled = as_int(vb.get(SNMP_ENABLE_AUTHEN_TRAPS), "snmpEnableAuthenTraps.0")
    if enabled is not None and enabled not in (1, 2):
        raise FactParseError(f"snmpEnableAuthenTraps must be 1 or 2, got {enabled}")
    return AuthTraps(enabled, as_int(vb.get(SNMP_IN_BAD_COMMUNITY_NAMES), "snmpInBadCommunityNames.0"))


# --------------------------------------------------------------------------------------------
# Time and logging (standard NTPv4-MIB, common vendor MIBs)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NtpState:
    mode: int | None                # NTPv4-MIB ntpEntStatusCurrentMode
    cisco_status: int | None        # CISCO-NTP-MIB cntpSysSrvStatus
    associations: list[str] = field(default_factory=list)
    cisco_peers: list[str] = field(default_factory=list)


@fact("snmp_ntp", protocol="snmp", requests=[SCALARS, WALK_NTP])
def snmp_ntp(ev: FactEvidence) -> NtpState:
    """NTP status and associations from NTPv4-MIB (RFC 5907) or CISCO-NTP-MIB."""
    vb = varbinds(ev, SCALARS)
    rows = walk_rows(ev, WALK_NTP)
    names = [as_text(e, "ntpAssocName") or "" for e in column(rows, NTP_ASSOC_NAME).values()]
    peers = []
    for entry in column(rows, CNTP_PEERS_PEER_ADDRESS).values():
        if entry["type"] != "IpAddress":
            raise FactParseError(f"cntpPeersPeerAddress: expected an IpAddress, got {entry['type']}")
        peers.append(str(entry.get("value")))
    return NtpState(mode=as_int(vb.get(NTP_ENT_STATUS_CURRENT_MODE), "ntpEntStatusCurrentMode.0"),
                    cisco_status=as_int(vb.get(CNTP_SYS_SRV_STATUS), "cntpSysSrvStatus.0"),
                    associations=names, cisco_peers=peers)


@dataclass(frozen=True)
class SyslogState:
    max_servers: int | None         # CISCO-SYSLOG-MIB clogMaxServers: the MIB is implemented
    servers: list[dict[str, Any]] = field(default_factory=list)   # {address, status}


@fact("snmp_syslog", protocol="snmp", requests=[SCALARS, WALK_SYSLOG])
def snmp_syslog(ev: FactEvidence) -> SyslogState:
    """Remote syslog servers from CISCO-SYSLOG-MIB clogServerConfigTable (no standard MIB exists)."""
    vb = varbinds(ev, SCALARS)
    servers = []
    for index, entry in column(walk_rows(ev, WALK_SYSLOG), CLOG_SERVER_STATUS).items():
        if len(index) < 2:
            raise FactParseError(f"clogServerStatus index {index} is too short")
        raw, _end = index_string(index, 1)
        servers.append({"address": inet_address(raw), "status": as_int(entry, "clogServerStatus")})
    return SyslogState(max_servers=as_int(vb.get(CLOG_MAX_SERVERS), "clogMaxServers.0"), servers=servers)


@dataclass(frozen=True)
class TrapTarget:
    name: str          # snmpTargetAddrName (the table's IMPLIED index)
    transport: str     # udp | tcp | the domain's OID when it is no IP transport
    address: str       # "127.0.10.250:162", or the raw TAddress in hex for other domains


def _target_address(domain: str | None, raw: bytes | None) -> tuple[str, str]:
    transport = IP_DOMAINS.get(domain or "")
    if transport is None or raw is None or len(raw) not in (6, 18):
        return domain or "unknown", (raw or b"").hex()
    host = ipaddress.ip_address(raw[:-2])
    port = int.from_bytes(raw[-2:], "big")
    return transport, f"[{host}]:{port}" if host.version == 6 else f"{host}:{port}"


@fact("snmp_trap_targets", protocol="snmp", requests=[WALK_TARGETS])
def snmp_trap_targets(ev: FactEvidence) -> list[TrapTarget]:
    """Where the agent sends notifications: SNMP-TARGET-MIB snmpTargetAddrTable (domain and address per target)."""
    rows = walk_rows(ev, WALK_TARGETS)
    domains = column(rows, SNMP_TARGET_ADDR_TDOMAIN)
    targets = []
    for index, entry in sorted(column(rows, SNMP_TARGET_ADDR_TADDRESS).items()):
        if any(b > 255 for b in index):
            raise FactParseError(f"snmpTargetAddrName index {index} is not a string")
        transport, address = _target_address(as_oid(domains.get(index), "snmpTargetAddrTDomain"),
                                              as_bytes(entry, "snmpTargetAddrTAddress"))
        targets.append(TrapTarget(bytes(index).decode("utf-8", "replace"), transport, address))
    return targets


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interface:
    index: int
    descr: str | None
    name: str | None
    alias: str | None
    type: int | None
    admin: int | None   # up(1) down(2) testing(3)
    oper: int | None    # up(1) down(2) testing(3) unknown(4) dormant(5) notPresent(6) lowerLayerDown(7)

    @property
    def label(self) -> str:
        return self.name or self.descr or f"ifIndex {self.index}"


@fact("snmp_interfaces", protocol="snmp", requests=[WALK_INTERFACES])
def snmp_interfaces(ev: FactEvidence) -> list[Interface]:
    """IF-MIB ifTable/ifXTable: each interface's type and administrative/operational status."""
    rows = walk_rows(ev, WALK_INTERFACES)
    columns = {name: column(rows, oid) for name, oid in (("descr", IF_DESCR), ("type", IF_TYPE),
                                                          ("admin", IF_ADMIN_STATUS), ("oper", IF_OPER_STATUS),
                                                          ("name", IF_NAME), ("alias", IF_ALIAS))}
    indexes = sorted({i for col in columns.values() for i in col})
    out = []
    for index in indexes:
        if len(index) != 1:
            raise FactParseError(f"ifIndex {index} is not a single number")
        out.append(Interface(index=index[0], descr=as_text(columns["descr"].get(index), "ifDescr"),
                             name=as_text(columns["name"].get(index), "ifName"),
                             alias=as_text(columns["alias"].get(index), "ifAlias"),
                             type=as_int(columns["type"].get(index), "ifType"),
                             admin=as_int(columns["admin"].get(index), "ifAdminStatus"),
                             oper=as_int(columns["oper"].get(index), "ifOperStatus")))
    return out


@dataclass(frozen=True)
class Listener:
    protocol: str       # tcp | udp
    address: str        # "0.0.0.0", "::", "*" (any) or a specific address
    port: int
    table: str          # which MIB table said so

    @property
    def loopback_only(self) -> bool:
        try:
            return ipaddress.ip_address(self.address.split("%")[0]).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class Listeners:
    tcp_exposed: bool   # some TCP table (current or legacy) answered with at least one row
    udp_exposed: bool
    items: list[Listener] = field(default_factory=list)

    def on(self, protocol: str, ports: Iterable[int]) -> list[Listener]:
        wanted = {int(p) for p in ports}
        return [item for item in self.items if item.protocol == protocol and item.port in wanted]


def _ip4(index: tuple[int, ...], start: int) -> str:
    if len(index) < start + 4 or any(b > 255 for b in index[start:start + 4]):
        raise FactParseError(f"index {index} holds no IPv4 address at {start}")
    return ".".join(str(b) for b in index[start:start + 4])


@fact("snmp_listeners", protocol="snmp", requests=list(LISTENER_WALKS))
def snmp_listeners(ev: FactEvidence) -> Listeners:
    """Listening TCP ports (TCP-MIB tcpListenerTable or legacy tcpConnTable) and UDP endpoints."""
    rows = [row for req in LISTENER_WALKS for row in walk_rows(ev, req)]
    items: set[Listener] = set()
    tcp_new, tcp_old = column(rows, TCP_LISTENER_PROCESS), column(rows, TCP_CONN_STATE)
    udp_new, udp_old = column(rows, UDP_ENDPOINT_PROCESS), column(rows, UDP_LOCAL_PORT)
    for index in tcp_new:
        if len(index) < 2:
            raise FactParseError(f"tcpListenerTable index {index} is too short")
        raw, end = index_string(index, 1)
        if end != len(index) - 1:
            raise FactParseError(f"tcpListenerTable index {index} does not end with a port")
        items.add(Listener("tcp", inet_address(raw), index[end], "tcpListenerTable"))
    for index, entry in tcp_old.items():
        if len(index) != 10:
            raise FactParseError(f"tcpConnTable index {index} is not address.port.address.port")
        if as_int(entry, "tcpConnState") == 2:  # listen(2)
            items.add(Listener("tcp", _ip4(index, 0), index[4], "tcpConnTable"))
    for index in udp_new:
        raw, end = index_string(index, 1)
        if end >= len(index):
            raise FactParseError(f"udpEndpointTable index {index} lacks a local port")
        items.add(Listener("udp", inet_address(raw), index[end], "udpEndpointTable"))
    for index in udp_old:
        if len(index) != 5:
            raise FactParseError(f"udpTable index {index} is not address.port")
        items.add(Listener("udp", _ip4(index, 0), index[4], "udpTable"))
    return Listeners(tcp_exposed=bool(tcp_new or tcp_old), udp_exposed=bool(udp_new or udp_old),
                     items=sorted(items, key=lambda i: (i.protocol, i.port, i.address, i.table)))


@dataclass(frozen=True)
class Entity:
    index: int
    values: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.values.get(name)


@fact("snmp_entities", protocol="snmp", requests=[WALK_ENTITIES])
def snmp_entities(ev: FactEvidence) -> list[Entity]:
    """ENTITY-MIB entPhysicalTable: chassis, modules, power supplies with revisions and serial numbers."""
    rows = walk_rows(ev, WALK_ENTITIES)
    by_index: dict[int, dict[str, Any]] = {}
    for number, name in ENT_COLUMNS.items():
        for index, entry in column(rows, f"{ENT_PHYSICAL}.{number}").items():
            if len(index) != 1:
                raise FactParseError(f"entPhysicalIndex {index} is not a single number")
            value = as_int(entry, name) if name == "class" else as_text(entry, name)
            by_index.setdefault(index[0], {})[name] = value
    return [Entity(index, values) for index, values in sorted(by_index.items())]


@dataclass(frozen=True)
class Bridge:
    pvid: dict[int, int]            # bridge port -> PVID (Q-BRIDGE-MIB)
    port_ifindex: dict[int, int]    # bridge port -> ifIndex (BRIDGE-MIB)
    vlan_names: dict[int, str]


@fact("snmp_bridge", protocol="snmp", requests=[WALK_BRIDGE])
def snmp_bridge(ev: FactEvidence) -> Bridge:
    rows = walk_rows(ev, WALK_BRIDGE)

    def single(index: tuple[int, ...], what: str) -> int:
        if len(index) != 1:
            raise FactParseError(f"{what} index {index} is not a single number")
        return index[0]

    pvid = {single(i, "dot1qPvid"): as_int(e, "dot1qPvid") for i, e in column(rows, DOT1Q_PVID).items()}
    ports = {single(i, "dot1dBasePortIfIndex"): as_int(e, "dot1dBasePortIfIndex")
             for i, e in column(rows, DOT1D_BASE_PORT_IFINDEX).items()}
    names: dict[int, str] = {}
    for index, entry in column(rows, DOT1Q_VLAN_STATIC_NAME).items():
        names[index[-1]] = as_text(entry, "dot1qVlanStaticName") or ""
    return Bridge(pvid={k: v for k, v in pvid.items() if v is not None},
                  port_ifindex={k: v for k, v in ports.items() if v is not None}, vlan_names=names)


@dataclass(frozen=True)
class UsmUser:
    engine_id: str
    name: str
    auth: str   # short name (MD5, SHA...) or "unknown <oid>"
    priv: str


def protocol_name(oid: str | None, table: dict[str, str]) -> str:
    if oid is None:
        return "unknown"
    return table.get(oid, f"unknown {oid}")


@fact("snmp_usm_users", protocol="snmp", requests=[WALK_USM])
def snmp_usm_users(ev: FactEvidence) -> list[UsmUser]:
    """SNMP-USER-BASED-SM-MIB usmUserTable: each user's authentication and privacy protocol (no keys)."""
    rows = walk_rows(ev, WALK_USM)
    auth, priv = column(rows, USM_USER_AUTH_PROTOCOL), column(rows, USM_USER_PRIV_PROTOCOL)
    users = []
    for index in sorted(set(auth) | set(priv)):
        engine, end = index_string(index, 0)
        name, _end = index_string(index, end)
        users.append(UsmUser(engine_id=engine.hex(), name=name.decode("utf-8", "replace"),
                             auth=protocol_name(as_oid(auth.get(index), "usmUserAuthProtocol"), AUTH_PROTOCOLS),
                             priv=protocol_name(as_oid(priv.get(index), "usmUserPrivProtocol"), PRIV_PROTOCOLS)))
    return users


@dataclass(frozen=True)
class VacmAccess:
    group: str          # masked group name token (hex)
    context: str
    model: int          # any(0) SNMPv1(1) SNMPv2c(2) USM(3)
    level: int          # noAuthNoPriv(1) authNoPriv(2) authPriv(3)
    read_view: str | None
    write_view: str | None
    write_view_known: bool = True   # False: the agent did not return the write-view column for this entry


@dataclass(frozen=True)
class Vacm:
    group_models: list[int]                      # securityModel of every security-to-group row
    access: list[VacmAccess]
    views: dict[str, list[tuple[str, int]]]      # view name -> [(subtree, included(1)/excluded(2))]

    @property
    def groups_visible(self) -> bool:
        """The security-to-group table is readable: at least the auditor's own mapping shows."""
        return bool(self.group_models)

    def view_empty(self, name: str | None) -> bool | None:
        """True: the view grants nothing; False: it includes a subtree; None: cannot tell (views hidden)."""
        if not name:
            return True
        if name in self.views:
            return not any(kind == 1 for _subtree, kind in self.views[name])
        return True if self.views else None


@fact("snmp_vacm", protocol="snmp", requests=[WALK_VACM_GROUPS, WALK_VACM_ACCESS, WALK_VACM_VIEWS])
def snmp_vacm(ev: FactEvidence) -> Vacm:
    """SNMP-VIEW-BASED-ACM-MIB: which security models are mapped to groups, what each group may read/write."""
    models = []
    for index in column(walk_rows(ev, WALK_VACM_GROUPS), VACM_SECURITY_TO_GROUP_STATUS):
        if not index or index[0] not in (0, 1, 2, 3):
            raise FactParseError(f"vacmSecurityToGroupTable index {index} has no known security model")
        models.append(index[0])
    access_rows = walk_rows(ev, WALK_VACM_ACCESS)
    read, write = column(access_rows, VACM_ACCESS_READ_VIEW), column(access_rows, VACM_ACCESS_WRITE_VIEW)
    access = []
    for index in sorted(set(read) | set(write)):
        group, end = index_string(index, 0)
        context, end = index_string(index, end)
        if len(index) != end + 2 or index[end] not in (0, 1, 2, 3) or index[end + 1] not in (1, 2, 3):
            raise FactParseError(f"vacmAccessTable index {index} does not end with model.level")
        access.append(VacmAccess(group=group.hex(), context=context.decode("utf-8", "replace"),
                                 model=index[end], level=index[end + 1],
                                 read_view=as_text(read.get(index), "vacmAccessReadViewName"),
                                 write_view=as_text(write.get(index), "vacmAccessWriteViewName"),
                                 write_view_known=index in write))
    views: dict[str, list[tuple[str, int]]] = {}
    for index, entry in column(walk_rows(ev, WALK_VACM_VIEWS), VACM_VIEW_TREE_FAMILY_TYPE).items():
        name, end = index_string(index, 0)
        if end >= len(index) or index[end] != len(index) - end - 1:
            raise FactParseError(f"vacmViewTreeFamilyTable index {index} does not end with a subtree")
        kind = as_int(entry, "vacmViewTreeFamilyType")
        views.setdefault(name.decode("utf-8", "replace"), []).append(
            (".".join(str(x) for x in index[end + 1:]), kind or 0))
    return Vacm(group_models=models, access=access, views=views)


# --------------------------------------------------------------------------------------------
# Firmware version from free text
# --------------------------------------------------------------------------------------------

_VERSION_HINT = re.compile(
    r"(?:firmware|software|version|release|revision|fw|sw|ver|rev)\.?\s*[:=]?\s*"
    r"v?(?P<v>\d+(?:[._-]\d+)+[a-z0-9()._-]*)", re.I)
_VERSION_ANY = re.compile(r"\bv?(?P<v>\d+\.\d+(?:\.\d+)*[a-z0-9()_-]*)", re.I)


def version_from_text(text: str | None) -> str | None:
    """A firmware/software version named in free text such as sysDescr ("... firmware V1.2.3 ...")."""
    if not text:
        return None
    match = _VERSION_HINT.search(text) or _VERSION_ANY.search(text)
    return match.group("v") if match else None
