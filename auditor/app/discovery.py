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
   session). Each is one more connection, paced like the connects.

Ranges are bounded (:data:`MAX_ADDRESSES` unless forced, :data:`MAX_FORCED` even then).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from auditor.plant.ports import BY_PORT, KNOWN_PORTS, guess_type

MAX_ADDRESSES = 1024   # a /22: more needs --force
MAX_FORCED = 65536     # a /16, and never more
PASSIVE_READ = 1.0     # seconds an open TCP port is listened to for a greeting
SNMP_AT_ONCE = 16      # SNMP probes in flight at once
SNMP_V3 = {"version": "3", "username": "auditor", "auth_protocol": "SHA256", "auth_key_env": "SNMP_AUTH_KEY",
           "priv_protocol": "AES", "priv_key_env": "SNMP_PRIV_KEY"}
_SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
_FC43_OBJECTS = {0: "VendorName", 1: "ProductCode", 2: "MajorMinorRevision"}


@dataclass(frozen=True)
class PortSpec:
    port: int
    transport: str = "tcp"
    protocol: str | None = None  # the auditor's protocol spoken there (from the well-known port or PORT:protocol)

    @property
    def label(self) -> str:
        known = BY_PORT.get((self.port, self.transport))
        return f"{self.port}/{self.transport}" + (f" {known.service}" if known else "")


DEFAULT_PORTS: tuple[PortSpec, ...] = tuple(PortSpec(p.port, p.transport, p.protocol) for p in KNOWN_PORTS)
PROTOCOLS = ("ssh", "snmp", "modbus", "opcua")


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
        if protocol == "snmp" and transport != "udp" or protocol in ("ssh", "modbus", "opcua") and transport != "tcp":
            raise ValueError(f"{part!r}: {protocol} runs over {'udp' if protocol == 'snmp' else 'tcp'}")
        known = BY_PORT.get((int(number), transport))
        specs.append(PortSpec(int(number), transport, protocol or (known.protocol if known else None)))
    if not specs:
        raise ValueError("no port given")
    return list(dict.fromkeys(specs))


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
                   community_env: str | None = None, progress: Callable[[str], None] | None = None) -> list[Found]:
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
        await _identify(entry, greetings, pace, timeout)
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


async def _identify(entry: Found, greetings: dict[tuple[str, int], bytes], pace: _Pace, timeout: float) -> None:
    hints: list[str] = []
    others: list[str] = []
    for spec in entry.open:
        if spec.transport == "udp":
            continue
        greeting = greetings.get((entry.address, spec.port), b"")
        protocol = "ssh" if greeting.startswith(b"SSH-") else spec.protocol
        known = BY_PORT.get((spec.port, "tcp"))
        if known and known.suggests:
            hints.append(known.suggests)
        if protocol is None:
            others.append(spec.label)
            continue
        await pace.wait()
        evidence, endpoint, product = await IDENTIFY[protocol](entry.address, spec.port, timeout)
        entry.evidence.append(evidence)
        entry.product.update({k: v for k, v in product.items() if v and k not in entry.product})
        if endpoint is not None and not any(e["protocol"] == protocol for e in entry.endpoints):
            entry.endpoints.append(endpoint)
        elif endpoint is None:
            others.append(spec.label)
    if others:
        entry.evidence.append("also open: " + ", ".join(others))
    protocols = [e["protocol"] for e in entry.endpoints]
    entry.type = guess_type(protocols, hints)
    if "snmp" in protocols and entry.type == "host" and not _says_host(entry.evidence):
        entry.type = "network" if "ssh" not in protocols else entry.type
    entry.reason = _reason(entry.type, protocols, hints)


def _says_host(evidence: list[str]) -> bool:
    return any(word in line for line in evidence for word in ("Linux", "Windows", "OpenSSH"))


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
    return (f"{port}/tcp SSH: {wire.get('identification')}", {"protocol": "ssh", "port": port},
            {"name": str(wire.get("software") or "")})


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


IDENTIFY = {"ssh": _ssh_identity, "modbus": _modbus_identity, "opcua": _opcua_identity}


async def _snmp(address: str, spec: PortSpec, pace: _Pace, timeout: float,
                community_env: str | None) -> tuple[list[str], dict | None]:
    """An SNMPv3 agent shows itself to engine discovery; a v1/v2c one only to its community (by reference)."""
    from auditor.protocols.snmp import SYS_DESCR
    from auditor.registry import request
    from connectors import ConnectorError
    from connectors.base import ScanOptions
    from connectors.snmp.connector import SnmpConnector

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
        product = {k: v for k, v in entry.product.items() if v}
        if product:
            asset["product"] = product
        asset["endpoints"] = entry.endpoints
        assets.append((asset, entry))
    data: dict[str, Any] = {"site": f"discovered in {cidr}", "assets": [a for a, _ in assets]}
    lines = ["# Draft inventory written by iacs-audit discover: review every guess before a scan.",
             "# Each asset's comment gives the evidence for its type; SSH endpoints name no user or key yet,",
             "# SNMPv3 endpoints name SNMP_AUTH_KEY / SNMP_PRIV_KEY to set.",
             f"site: {yaml.safe_dump(data['site']).splitlines()[0]}", "assets:"]
    for asset, entry in assets:
        lines.append(f"# {entry.address}: guessed {entry.type}")
        lines += [f"#   {line}" for line in entry.evidence]
        lines.append(yaml.safe_dump([asset], sort_keys=False, allow_unicode=True, width=120).rstrip("\n"))
    skipped = [e for e in found if not e.endpoints]
    if skipped:
        lines.append("# Answered, but on no port the auditor speaks (not in the draft):")
        lines += [f"#   {e.address}: {', '.join(s.label for s in e.open)}" for e in skipped]
    return data, "\n".join(lines) + "\n"
