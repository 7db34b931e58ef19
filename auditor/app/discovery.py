"""Safe discovery for scoping: which addresses of a range answer on well-known IACS and management ports, and
what they say they are, as a draft inventory with the evidence for each guess.

What it sends, and nothing else:

1. One TCP connect per address and TCP port (no retry), paced by ``rate`` connection attempts per second
   for the whole run; an open connection is read passively for a moment (a server that greets first, as an
   SSH server does, identifies itself; nothing is written) and closed.
2. For UDP ports named for SNMP (161 by default), one SNMPv3 engine discovery (an empty GET, the first
   packet of every v3 session; an agent answers it with a report, no credential involved) and a GET
   sent as an unknown v3 user that any agent refuses; with a community by reference, one v2c liveness GET
   and one GET of sysDescr.0 and sysObjectID.0.
3. On the open ports whose protocol the auditor speaks, only the identification reads its connectors
   already do, read-only and through those same connectors: the SSH wire probe (identification string and
   KEXINIT, no authentication), Modbus FC 43/14 basic device identification, OPC UA GetEndpoints (no
   session), S7 Setup Communication and one Read SZL 0x0011 (module identification) on port 102, and one
   ``GET /`` per web port (443 over TLS, 80 plain). Each is one more connection, paced like the connects.

What identifies a device: the protocol that answered (see :func:`auditor.plant.ports.guess_type`), and the
SSH identification string: a network vendor's SSH server (Cisco, Hirschmann, ...) is a switch audited over
its CLI (``network``, a ``cli`` endpoint with its platform where the product knows it), OpenSSH for Windows
a ``host`` of ``platform: windows``. An open WinRM port (5985/5986) is recorded as a WinRM candidate.

Ranges are bounded (:data:`MAX_ADDRESSES` unless forced, :data:`MAX_FORCED` even then), for all ranges of
one run together.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from auditor.plant.ports import BY_PORT, KNOWN_PORTS, guess_type
from auditor.safetext import printable

MAX_ADDRESSES = 1024   # a /22: more needs --force
MAX_FORCED = 65536     # a /16, and never more
PASSIVE_READ = 1.0     # seconds an open TCP port is listened to for a greeting
SNMP_AT_ONCE = 16      # SNMP probes in flight at once
SNMP_V3 = {"version": "3", "username": "auditor", "auth_protocol": "SHA256", "auth_key_env": "SNMP_AUTH_KEY",
           "priv_protocol": "AES", "priv_key_env": "SNMP_PRIV_KEY"}
_SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
_FC43_OBJECTS = {0: "VendorName", 1: "ProductCode", 2: "MajorMinorRevision"}
#: Well-known ports discovery identifies through a connector that has no endpoint of that port's own: the S7
#: CPU's ISO-TSAP port, and a web interface's HTTPS and plain HTTP ports (one ``https`` endpoint for both).
IDENTIFIED_AT = {(102, "tcp"): "s7", (443, "tcp"): "https", (80, "tcp"): "http", (5986, "tcp"): "winrm"}
#: SSH identification strings of network vendors' own SSH servers -> the CLI platform the product audits
#: (None: a switch, but of a CLI family the product does not know; its endpoint says ``platform: auto``).
NETWORK_SSH: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"^SSH-[\d.]+-Cisco-", re.I), "cisco_ios"),
    (re.compile(r"Hirschmann|HiOS", re.I), "hirschmann_hios"),
    (re.compile(r"^SSH-[\d.]+-(?:HUAWEI|Comware|ROSSSH|RomSShell|Mocana SSH)", re.I), None),
)
WINDOWS_SSH = re.compile(r"OpenSSH_for_Windows", re.I)
#: SSH servers of general-purpose hosts. Any other implementation (a vendor's own stack, e.g. a managed switch
#: that names no vendor) is guessed to be a device CLI of unknown platform: the scan finds the platform from
#: `show version`, and the draft says to review it.
HOST_SSH = re.compile(r"^SSH-[\d.]+-(?:OpenSSH|dropbear|libssh|Bitvise|WeOnlyDo|mod_sftp|ProFTPD|AsyncSSH|paramiko|"
                      r"Go|Twisted|Sun_SSH|FreSSH|CrushFTP|SSHD-CORE)", re.I)
WINRM_PORTS = {5985: "WinRM (HTTP)", 5986: "WinRM (HTTPS)"}
#: The audit account a drafted WinRM endpoint names, and where its password is to be set (nothing is tried).
WINRM_ACCOUNT = {"username": "auditor", "password_env": "WINRM_PASSWORD"}


@dataclass(frozen=True)
class PortSpec:
    port: int
    transport: str = "tcp"
    protocol: str | None = None  # the auditor's protocol spoken there (from the well-known port or PORT:protocol)

    @property
    def label(self) -> str:
        known = BY_PORT.get((self.port, self.transport))
        return f"{self.port}/{self.transport}" + (f" {known.service}" if known else "")


DEFAULT_PORTS: tuple[PortSpec, ...] = tuple(
    PortSpec(p.port, p.transport, p.protocol or IDENTIFIED_AT.get((p.port, p.transport))) for p in KNOWN_PORTS)
#: What a ``PORT:PROTOCOL`` may name: the identification read made on that port (``http``: a web interface's
#: plain HTTP port).
PROTOCOLS = ("ssh", "snmp", "modbus", "opcua", "s7", "https", "http", "winrm")


def parse_ports(text: str) -> list[PortSpec]:
    """``22,502,161/udp,40022:ssh,40161/udp:snmp`` -> port specs; a protocol names what a non-standard port speaks."""
    specs: list[PortSpec] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        head, _, protocol = part.partition(":")
        number, _, transport = head.partition("/")
        transport = transport or ("udp" if protocol == "snmp" else "tcp")
        if not number.isdigit() or not 1 <= int(number) <= 65535 or transport not in ("tcp", "udp"):
            raise ValueError(f"{part!r}: expected PORT[/tcp|/udp][:PROTOCOL]")
        if protocol and protocol not in PROTOCOLS:
            raise ValueError(f"{part!r}: protocol must be one of {', '.join(PROTOCOLS)}")
        if protocol == "snmp" and transport != "udp" or protocol and protocol != "snmp" and transport != "tcp":
            raise ValueError(f"{part!r}: {protocol} runs over {'udp' if protocol == 'snmp' else 'tcp'}")
        known = BY_PORT.get((int(number), transport))
        specs.append(PortSpec(int(number), transport, protocol or (known.protocol if known else None)
                              or IDENTIFIED_AT.get((int(number), transport))))
    if not specs:
        raise ValueError("no port given")
    return list(dict.fromkeys(specs))


def addresses_of(cidrs: list[str], *, force: bool = False) -> list[str]:
    """The host addresses of several ranges, each once, in the order given; bounded together unless ``force``."""
    limit = MAX_FORCED if force else MAX_ADDRESSES
    out: dict[str, None] = {}
    for cidr in cidrs:
        out.update(dict.fromkeys(addresses(cidr, force=force)))
        if len(out) > limit:
            advice = "" if force else f"; --force allows up to {MAX_FORCED}"
            raise ValueError(f"{', '.join(cidrs)} hold more than {limit} addresses together{advice}")
    return list(out)


def addresses(cidr: str, *, force: bool = False) -> list[str]:
    """The host addresses of ``cidr`` (an address alone is one), bounded unless ``force``."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not an address or CIDR range: {exc}") from None
    limit = MAX_FORCED if force else MAX_ADDRESSES
    if network.num_addresses > limit:
        advice = "" if force else f"; --force allows up to {MAX_FORCED}"
        raise ValueError(f"{cidr} holds {network.num_addresses} addresses, more than {limit}{advice}")
    hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
    return [str(a) for a in hosts]


@dataclass
class Found:
    """One address that answered: its open ports, what identified them, the guessed type and why."""

    address: str
    open: list[PortSpec] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    product: dict[str, str] = field(default_factory=dict)
    type: str = "host"
    reason: str = ""
    platform: str | None = None  # a host's, when its SSH identification shows it (windows)


class _Pace:
    """At most ``rate`` new connections or probes per second for the whole discovery."""

    def __init__(self, rate: float):
        self.interval, self._next, self.sent = 1.0 / rate, 0.0, 0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
            self.sent += 1
        if delay:
            await asyncio.sleep(delay)


async def discover(targets: list[str], ports: list[PortSpec], *, rate: float = 10.0, timeout: float = 1.5,
                   community_env: str | None = None, s7_slot: int = 1,
                   progress: Callable[[str], None] | None = None) -> list[Found]:
    """Run the discovery (see the module docstring); the addresses that answered, in range order."""
    pace = _Pace(rate)
    say = progress or (lambda message: None)
    found: dict[str, Found] = {}
    bound, snmp_bound = asyncio.Semaphore(64), asyncio.Semaphore(SNMP_AT_ONCE)
    greetings: dict[tuple[str, int], bytes] = {}

    async def connect(address: str, spec: PortSpec) -> None:
        async with bound:
            await pace.wait()
            greeting = await _tcp_connect(address, spec.port, timeout)
        if greeting is not None:
            found.setdefault(address, Found(address)).open.append(spec)
            greetings[(address, spec.port)] = greeting

    async def snmp(address: str, spec: PortSpec) -> None:
        async with snmp_bound:  # each probe is an SNMP engine of its own: a few at once, so none starves
            evidence, endpoint = await _snmp(address, spec, pace, timeout, community_env)
        if endpoint is not None:
            entry = found.setdefault(address, Found(address))
            entry.open.append(spec)
            entry.evidence += evidence
            entry.endpoints.append(endpoint)

    tcp = [s for s in ports if s.transport == "tcp"]
    udp = [s for s in ports if s.transport == "udp" and s.protocol == "snmp"]
    say(f"{len(targets)} addresses x {len(tcp)} TCP ports, {len(udp)} SNMP ports, {rate:g} per second")
    await asyncio.gather(*(connect(a, s) for a in targets for s in tcp), *(snmp(a, s) for a in targets for s in udp))
    for address in [a for a in targets if a in found]:
        entry = found[address]
        entry.open.sort(key=lambda s: (s.port, s.transport))
        await _identify(entry, greetings, pace, timeout, s7_slot)
        say(f"{address}: {entry.type} ({entry.reason})")
    return [found[a] for a in targets if a in found]


async def _tcp_connect(address: str, port: int, timeout: float) -> bytes | None:
    """One connect, a short passive read, close. ``None``: closed, filtered or unreachable."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    except (OSError, asyncio.TimeoutError, TimeoutError):
        return None
    try:
        return await asyncio.wait_for(reader.read(255), min(PASSIVE_READ, timeout))
    except (OSError, asyncio.TimeoutError, TimeoutError):
        return b""
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, asyncio.TimeoutError, TimeoutError):
            pass


async def _identify(entry: Found, greetings: dict[tuple[str, int], bytes], pace: _Pace, timeout: float,
                    s7_slot: int = 1) -> None:
    hints: list[str] = []
    others: list[str] = []
    web: dict[str, int] = {}
    for spec in entry.open:
        if spec.transport == "udp":
            continue
        greeting = greetings.get((entry.address, spec.port), b"")
        protocol = "ssh" if greeting.startswith(b"SSH-") else spec.protocol
        known = BY_PORT.get((spec.port, "tcp"))
        if known and known.suggests:
            hints.append(known.suggests)
        if protocol == "winrm":     # HTTPS WinRM: drafted from the open port alone, as nothing is read there
            entry.platform = "windows"
            entry.evidence.append(f"{spec.port}/tcp WinRM (HTTPS) open: a Windows host (no WinRM read is made; the "
                                  f"draft names the account {WINRM_ACCOUNT['username']!r} and "
                                  f"{WINRM_ACCOUNT['password_env']} to set)")
            if not any(e["protocol"] == "winrm" for e in entry.endpoints):
                entry.endpoints.append({"protocol": "winrm", "port": spec.port, **WINRM_ACCOUNT})
            continue
        if spec.port in WINRM_PORTS:
            entry.evidence.append(f"{spec.port}/tcp {WINRM_PORTS[spec.port]} open: a WinRM candidate over plain "
                                  "HTTP (no WinRM read is made; audit it only with allow_http, which the report "
                                  "flags)")
            continue
        if protocol in ("https", "http"):
            web.setdefault(protocol, spec.port)
            continue
        if protocol is None:
            others.append(spec.label)
            continue
        await pace.wait()
        if protocol == "s7":
            evidence, endpoint, product = await _s7_identity(entry.address, spec.port, timeout, s7_slot)
        else:
            evidence, endpoint, product = await IDENTIFY[protocol](entry.address, spec.port, timeout)
        entry.evidence.append(evidence)
        entry.product.update({k: v for k, v in product.items() if v and k not in entry.product})
        if endpoint is not None and protocol == "ssh":
            endpoint = _ssh_kind(entry, endpoint, evidence)
        if endpoint is not None and not any(e["protocol"] == endpoint["protocol"] for e in entry.endpoints):
            entry.endpoints.append(endpoint)
        elif endpoint is None:
            others.append(spec.label)
    if web:
        evidence_lines, endpoint, product = await _web_identity(entry.address, web, pace, timeout)
        entry.evidence += evidence_lines
        entry.product.update({k: v for k, v in product.items() if v and k not in entry.product})
        if endpoint is not None:
            entry.endpoints.append(endpoint)
        else:
            others += [f"{port}/tcp {'HTTPS' if kind == 'https' else 'HTTP'}" for kind, port in web.items()]
    if others:
        entry.evidence.append("also open: " + ", ".join(others))
    protocols = [e["protocol"] for e in entry.endpoints]
    entry.type = guess_type(protocols, hints)
    if entry.type != "host":
        entry.platform = None
    entry.reason = _reason(entry.type, protocols, hints)


def _ssh_kind(entry: Found, endpoint: dict[str, Any], evidence: str) -> dict[str, Any]:
    """A network vendor's SSH server is a switch's CLI (a ``cli`` endpoint); OpenSSH for Windows a Windows host.
    Decided on the identification string and the lines a server sends before it (its banner)."""
    identification = evidence.split(": ", 1)[-1]
    for pattern, platform in NETWORK_SSH:
        if pattern.search(identification):
            entry.evidence.append(f"{endpoint['port']}/tcp: a network vendor's SSH server: audited over its CLI"
                                  + (f" ({platform})" if platform else " (platform auto)"))
            return {"protocol": "cli", "port": endpoint["port"], **({"platform": platform} if platform else {})}
    if WINDOWS_SSH.search(identification):
        entry.platform = "windows"
        entry.evidence.append(f"{endpoint['port']}/tcp: OpenSSH for Windows: platform windows")
    elif identification.startswith("SSH-") and not HOST_SSH.search(identification):
        entry.evidence.append(f"{endpoint['port']}/tcp: not a general-purpose host's SSH server: guessed a device "
                              "CLI (platform auto; review)")
        return {"protocol": "cli", "port": endpoint["port"]}
    return endpoint


def _reason(kind: str, protocols: list[str], hints: list[str]) -> str:
    if protocols:
        return f"{kind}: answers {', '.join(protocols)}"
    return f"{kind}: from its open ports ({', '.join(hints)})" if hints else f"{kind}: nothing identified it"


# ------------------------------------------------------------------------------ identification reads
def _asset(address: str, kind: str, endpoint: dict[str, Any]) -> Any:
    from auditor.plant.inventory import Asset

    return Asset.model_validate({"id": "discovery", "type": kind, "address": address, "endpoints": [endpoint]})


async def _ssh_identity(address: str, port: int, timeout: float) -> tuple[str, dict | None, dict]:
    from connectors.ssh.wire import WireProbeError, probe_ssh_wire

    try:
        wire = await asyncio.to_thread(probe_ssh_wire, address, port, max(timeout, 3.0))
    except (WireProbeError, ValueError) as exc:
        return f"{port}/tcp SSH? wire probe failed: {exc}", None, {}
    banner = " | ".join(str(line) for line in wire.get("pre_version_lines") or [])
    return (f"{port}/tcp SSH: {wire.get('identification')}" + (f" (before it: {banner[:200]!r})" if banner else ""),
            {"protocol": "ssh", "port": port}, {"name": str(wire.get("software") or "")})


async def _modbus_identity(address: str, port: int, timeout: float) -> tuple[str, dict | None, dict]:
    from auditor.registry import request
    from connectors import ConnectorError
    from connectors.base import ScanOptions
    from connectors.modbus.connector import ModbusConnector

    endpoint = {"protocol": "modbus", "port": port, "timeout": max(timeout, 2.0)}
    read = request("modbus", "read_device_identification", "basic")
    asset = _asset(address, "embedded", endpoint)
    try:
        items = await ModbusConnector(asset, asset.endpoints[0], ScanOptions()).collect([read])
    except ConnectorError as exc:
        return f"{port}/tcp Modbus? no Modbus answer: {exc}", None, {}
    item = next((i for i in items if i.request == read), None)
    objects = _fc43_objects(item.response) if item is not None and item.status == "ok" else None
    if not isinstance(objects, dict) or not objects:
        why = item.error if item is not None and item.error else (
            f"Modbus exception {objects}" if isinstance(objects, int) else "no device identification objects")
        tls = " (Modbus/TCP Security)" if port == 802 else ""
        return f"{port}/tcp Modbus{tls}: FC 43/14 gave {why}", {"protocol": "modbus", "port": port}, {}
    text = ", ".join(f"{name}={objects[code]!r}" for code, name in _FC43_OBJECTS.items() if code in objects)
    product = {"vendor": objects.get(0, ""), "model": objects.get(1, ""), "firmware": objects.get(2, "")}
    return f"{port}/tcp Modbus/TCP: FC 43/14 answered {text}", {"protocol": "modbus", "port": port}, product


def _fc43_objects(response: str) -> dict[int, str] | int | None:
    """The objects of an FC 43/14 answer as the connector recorded it (exchanges of base64 ADUs); an int is
    the exception code the device answered with."""
    try:
        exchanges = json.loads(response)["exchanges"]
        objects: dict[int, str] = {}
        for exchange in exchanges:
            pdu = base64.b64decode(exchange["response"] or "")[7:]
            if len(pdu) == 2 and pdu[0] == 0xAB and not objects:
                return pdu[1]
            if len(pdu) < 7 or pdu[0] != 0x2B or pdu[1] != 0x0E:
                return objects or None
            position, count = 7, pdu[6]
            for _ in range(count):
                code, length = pdu[position], pdu[position + 1]
                objects[code] = pdu[position + 2:position + 2 + length].decode("latin-1")
                position += 2 + length
        return objects or None
    except (KeyError, ValueError, IndexError, TypeError):
        return None


async def _opcua_identity(address: str, port: int, timeout: float) -> tuple[str, dict | None, dict]:
    from auditor.registry import request
    from connectors import ConnectorError
    from connectors.base import ScanOptions
    from connectors.opcua.connector import OpcuaConnector

    endpoint = {"protocol": "opcua", "port": port, "timeout": max(timeout, 3.0)}
    asset = _asset(address, "application", endpoint)
    read = request("opcua", "get_endpoints", "")
    try:
        items = await OpcuaConnector(asset, asset.endpoints[0], ScanOptions()).collect([read])
    except ConnectorError as exc:
        return f"{port}/tcp OPC UA? {exc}", None, {}
    item = next((i for i in items if i.request == read and i.status == "ok"), None)
    if item is None:
        return f"{port}/tcp OPC UA? GetEndpoints gave no answer", None, {}
    described = json.loads(item.response)
    server = described[0]["server"] if described else {}
    policies = sorted({e.get("security_policy") or "?" for e in described})
    return (f"{port}/tcp OPC UA: GetEndpoints answered {len(described)} endpoints ({', '.join(policies)}), "
            f"application {server.get('application_name')!r}, product {server.get('product_uri')!r}",
            {"protocol": "opcua", "port": port}, {"name": str(server.get("application_name") or "")})


async def _s7_identity(address: str, port: int, timeout: float, slot: int) -> tuple[str, dict | None, dict]:
    """The S7 connector's session (COTP as a PG, Setup Communication) and one Read SZL 0x0011: who the CPU is."""
    from auditor.registry import request
    from connectors import ConnectorError
    from connectors.base import ScanOptions
    from connectors.s7.connector import S7Connector

    endpoint = {"protocol": "s7", "port": port, "rack": 0, "slot": slot, "timeout": max(timeout, 2.0),
                "requests_per_second": 20}
    asset = _asset(address, "embedded", endpoint)
    read = request("s7", "szl", "0x0011,0x0000")
    where = f"{port}/tcp S7 (rack 0, slot {slot})"
    try:
        items = await S7Connector(asset, asset.endpoints[0], ScanOptions()).collect([read])
    except ConnectorError as exc:
        return (f"{where}? {exc}; an S7-300/400 CPU sits in slot 2 or higher (--s7-slot), or port 102 speaks "
                "another ISO-TSAP protocol (IEC 61850 MMS)", None, {})
    item = next((i for i in items if i.request == read and i.status == "ok"), None)
    module = _s7_module(item) if item is not None else None
    found = {"protocol": "s7", "port": port, "rack": 0, "slot": slot}
    if module is None:
        return f"{where}: Setup Communication answered; SZL 0x0011 gave no module identification", found, {}
    order, firmware = module
    return (f"{where}: Setup Communication answered; SZL 0x0011: order number {order!r}, firmware {firmware or '?'}",
            found, {"vendor": "Siemens", "model": order, "firmware": firmware or ""})


def _s7_module(item: Any) -> tuple[str, str | None] | None:
    """Order number and firmware of an SZL 0x0011 answer, parsed by the S7 pack's own fact."""
    from auditor.facts import FactEvidence, FactParseError, FactUnavailable
    from checks.s7.facts import MODULE_ID, Module, s7_module

    try:
        module = s7_module(FactEvidence("s7_module", [MODULE_ID], {MODULE_ID.key: item}))
    except (FactParseError, FactUnavailable):
        return None
    return (module.order_number, module.firmware_text) if isinstance(module, Module) else None


async def _web_identity(address: str, ports: dict[str, int], pace: _Pace,
                        timeout: float) -> tuple[list[str], dict | None, dict]:
    """The web connector's ``GET /`` on each web port (over TLS on the HTTPS one): status, Server, title."""
    from auditor.registry import request
    from connectors import ConnectorError
    from connectors.base import ScanOptions
    from connectors.https.connector import HttpsConnector

    endpoint = {"protocol": "https", "port": ports.get("https", 443), "http_port": ports.get("http", 0),
                "timeout": max(timeout, 3.0), "requests_per_second": 20}
    asset = _asset(address, "embedded", endpoint)
    reads = {"https": request("https", "get", "/"), "http": request("https", "http_get", "/")}
    kinds = [kind for kind in ("https", "http") if kind in ports]  # in the connector's order
    for _ in kinds:
        await pace.wait()
    try:
        items = await HttpsConnector(asset, asset.endpoints[0], ScanOptions()).collect([reads[k] for k in kinds])
    except ConnectorError as exc:
        items = exc.partial_items
    lines, answered, product = [], False, {}
    for kind in kinds:
        port = ports[kind]
        item = next((i for i in items if i.request == reads[kind]), None)
        page = json.loads(item.response) if item is not None and item.response else {}
        label = f"{port}/tcp {'HTTPS' if kind == 'https' else 'HTTP'}"
        if "status" not in page:
            lines.append(f"{label}? GET / gave no HTTP answer ({page.get('error') or 'no answer'})")
            continue
        answered = True
        headers = {name.lower(): value for name, value in page.get("headers") or []}
        title = re.search(r"<title>(.*?)</title>", page.get("body") or "", re.I | re.S)
        lines.append(f"{label}: GET / answered {page['status']} {page.get('reason') or ''}".rstrip()
                     + (f", Server {headers['server']!r}" if headers.get("server") else "")
                     + (f", title {title.group(1).strip()[:80]!r}" if title else ""))
        if title:
            product.setdefault("name", title.group(1).strip()[:80])
    if not answered:
        return lines, None, {}
    found = {"protocol": "https", "port": ports.get("https", 443), "http_port": ports.get("http", 0)}
    return lines, found, product


IDENTIFY = {"ssh": _ssh_identity, "modbus": _modbus_identity, "opcua": _opcua_identity}


async def _snmp(address: str, spec: PortSpec, pace: _Pace, timeout: float,
                community_env: str | None) -> tuple[list[str], dict | None]:
    """An SNMPv3 agent shows itself to engine discovery; a v1/v2c one only to its community (by reference)."""
    from auditor.protocols.snmp import SYS_DESCR
    from auditor.registry import request
    from connectors import ConnectorError
    from connectors.base import ScanOptions
    from connectors.snmp.connector import SnmpConnector

    await pace.wait()
    heard = await _engine_discovery(address, spec.port, timeout)
    if heard == "refused" or heard == "silent" and not community_env:
        return [], None  # nothing listens, or nothing that a v3 probe or a community could make speak

    def connector(endpoint: dict[str, Any]) -> SnmpConnector:
        asset = _asset(address, "network", {"protocol": "snmp", "port": spec.port, "timeout": timeout, **endpoint})
        probe = SnmpConnector(asset, asset.endpoints[0], ScanOptions())
        probe.retries = 0
        return probe

    if community_env:
        await pace.wait()
        read = request("snmp", "get", f"{SYS_DESCR} {_SYS_OBJECT_ID}")
        try:
            items = await connector({"version": "2c", "community_env": community_env}).collect([read])
        except ConnectorError:
            items = []
        item = next((i for i in items if i.request == read and i.status == "ok"), None)
        if item is not None:
            values = {v["oid"]: v.get("value") for v in json.loads(item.response)["varbinds"]}
            return ([f"{spec.port}/udp SNMP v2c: sysDescr {str(values.get(SYS_DESCR))!r}, sysObjectID "
                     f"{values.get(_SYS_OBJECT_ID)}"],
                    {"protocol": "snmp", "port": spec.port, "version": "2c", "community_env": community_env})
    await pace.wait()
    try:
        await connector({"version": "3", "username": "iacs-discovery"}).collect([])
    except ConnectorError as exc:
        # only an SNMPv3 report proves an agent: silence, an ICMP error or garbage prove nothing
        if not any(text in str(exc) for text in _V3_REPORTS):
            return [], None
        return ([f"{spec.port}/udp SNMPv3: the agent answered engine discovery and refused an unknown user "
                 f"({exc})"], {"protocol": "snmp", "port": spec.port, **SNMP_V3})
    return [f"{spec.port}/udp SNMPv3: the agent answered without credentials"], \
        {"protocol": "snmp", "port": spec.port, **SNMP_V3}


def _ber(tag: int, body: bytes) -> bytes:
    return bytes([tag, len(body)]) + body  # every part of the engine discovery is shorter than 128 bytes


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def engine_discovery_message(message_id: int) -> bytes:
    """The SNMPv3 engine discovery (RFC 3414 4): an empty GET, reportable, no user, no engine ID, no security."""
    empty = _ber(0x04, b"")
    header = _ber(0x30, _ber_int(message_id) + _ber_int(65507) + _ber(0x04, b"\x04") + _ber_int(3))
    usm = _ber(0x04, _ber(0x30, empty + _ber_int(0) + _ber_int(0) + empty + empty + empty))
    pdu = _ber(0xA0, _ber_int(message_id) + _ber_int(0) + _ber_int(0) + _ber(0x30, b""))
    return _ber(0x30, _ber_int(3) + header + usm + _ber(0x30, empty + empty + pdu))


async def _engine_discovery(address: str, port: int, timeout: float) -> str:
    """One engine discovery datagram on a connected UDP socket: ``answered``, ``refused`` (an ICMP error came
    back, port or host unreachable: nothing listens) or ``silent`` (no answer within ``timeout``)."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[str] = loop.create_future()

    class Listener(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not outcome.done():
                outcome.set_result("answered")

        def error_received(self, exc: Exception) -> None:
            if not outcome.done():
                outcome.set_result("refused")

    try:
        transport, _ = await loop.create_datagram_endpoint(Listener, remote_addr=(address, port))
    except OSError:
        return "refused"
    try:
        transport.sendto(engine_discovery_message(int.from_bytes(os.urandom(3), "big")))
        return await asyncio.wait_for(outcome, timeout)
    except (asyncio.TimeoutError, TimeoutError):
        return "silent"
    finally:
        transport.close()


#: What the SNMP connector says when an agent's USM answered with a report (see its liveness failure hints).
_V3_REPORTS = ("the agent does not know this user", "the agent refuses this security level",
               "the agent's engine time window")


# ------------------------------------------------------------------------------------------ the draft
def draft(found: list[Found], cidr: str) -> tuple[dict[str, Any], str]:
    """The draft inventory (data, and its YAML with each asset's guess and evidence as comments)."""
    import yaml

    assets = []
    for entry in found:
        if not entry.endpoints:
            continue
        asset: dict[str, Any] = {"id": entry.address, "type": entry.type, "address": entry.address,
                                 "description": f"discovered: {entry.reason}"}
        if entry.platform:
            asset["platform"] = entry.platform
        product = {k: v for k, v in entry.product.items() if v}
        if product:
            asset["product"] = product
        asset["endpoints"] = entry.endpoints
        assets.append((asset, entry))
    data: dict[str, Any] = {"site": f"discovered in {cidr}", "assets": [a for a, _ in assets]}
    lines = ["# Draft inventory written by iacs-audit discover: review every guess before a scan.",
             "# Each asset's comment gives the evidence for its type; SSH and CLI endpoints name no user or key",
             "# yet, SNMPv3 endpoints name SNMP_AUTH_KEY / SNMP_PRIV_KEY and WinRM endpoints WINRM_PASSWORD to set;",
             "# an https endpoint's http_port 0 means no plain HTTP port answered.",
             f"site: {yaml.safe_dump(data['site']).splitlines()[0]}", "assets:"]
    for asset, entry in assets:
        lines.append(f"# {entry.address}: guessed {entry.type}")
        lines += [f"#   {printable(line)}" for line in entry.evidence]  # a device's words never leave the comment
        lines.append(yaml.safe_dump([asset], sort_keys=False, allow_unicode=True, width=120).rstrip("\n"))
    skipped = [e for e in found if not e.endpoints]
    if skipped:
        lines.append("# Answered, but on no port the auditor speaks (not in the draft):")
        for entry in skipped:
            lines.append(f"#   {entry.address}: {', '.join(s.label for s in entry.open)}")
            lines += [f"#     {printable(line)}" for line in entry.evidence if not line.startswith("also open: ")]
    return data, "\n".join(lines) + "\n"
