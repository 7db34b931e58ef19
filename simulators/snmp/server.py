"""An in-process SNMP agent (pysnmp responder) that serves a device fixture, for tests and demos.

:class:`SnmpSimulator` binds a UDP socket on a loopback address, runs a real pysnmp
``SnmpEngine`` in a background thread (its own asyncio loop) and answers GET, GETNEXT and GETBULK
with the objects of its fixture. There is no SET responder: a SetRequest is recorded and answered
by nobody, and nothing the simulator serves can change.

Fixture format (``simulators/snmp/fixtures/<name>.yaml``)::

    description: ...
    agent:
      v3_only: false              # true: v1/v2c messages are dropped as an unsupported version
                                  #       (the engine counts them in snmpInBadVersions)
      communities:                # v1/v2c access
        - {name: public, security_name: sec-public, versions: ["1", "2c"], write: false}
      users:                      # SNMPv3 USM users (keys are simulator test values)
        - {name: auditor, auth: SHA, auth_key: ..., priv: AES, priv_key: ..., level: authPriv}
      clock_offset_s: 0           # hrSystemDate.0 is served live, shifted by this many seconds
      uptime_ticks: 259200000     # sysUpTime.0 (hundredths of a second); live since start if absent
      fixture_subtrees: []        # engine subtrees served from the fixture's objects only (a recording's
                                  # USM/VACM tables: "1.3.6.1.6.3.15", "1.3.6.1.6.3.16")
    objects:                      # single objects: OID -> [type, value]
      "1.3.6.1.2.1.1.1.0": [OctetString, "ACME switch"]
    tables:                       # compact tables: column OIDs + one value list per index
      - columns: {"1.3.6.1.2.1.2.2.1.2": OctetString, "1.3.6.1.2.1.2.2.1.3": Integer}
        rows:
          "1": ["port 1", 6]

Types: ``OctetString`` (text), ``Hex`` (OCTET STRING given as hex), ``Integer``, ``Counter32``,
``Gauge32``, ``TimeTicks``, ``Counter64``, ``ObjectIdentifier``, ``IpAddress``.

The agent's own MIB (engine ID, boots and time; the ``snmp`` group counters; the USM user table;
the VACM tables) is served live from the pysnmp engine for ``1.3.6.1.2.1.11`` and ``1.3.6.1.6.3``,
so the VACM and USM rows always match the fixture's ``agent`` section; fixture objects win where
both define an OID, and under ``agent.fixture_subtrees`` only the fixture's objects are served (a
recording made by :mod:`simulators.record` keeps the device's own USM and VACM tables that way, while the
engine still authorises requests by the ``agent`` section).

Every datagram received is recorded in :attr:`SnmpSimulator.requests` (thread-safe): time, source,
SNMP version, PDU type (``GetRequest``, ``GetNextRequest``, ``GetBulkRequest``, ``SetRequest``...;
SNMPv3 privacy-protected PDUs are filled in after the engine decrypted them), the OIDs asked for,
the v3 user name and security level, and the community only as a label: its name when it is one
of the public defaults of the probe list, ``"other"`` otherwise (a site community is a secret).

``behaviour`` makes a hostile agent for tests: ``"garbage"`` answers every datagram with bytes
that are not SNMP, ``"silent"`` never answers, ``"slow"`` answers after ``delay`` seconds,
``"endless"`` serves tables that never end under the fixture's ``agent.endless`` roots (or every
walked subtree when that list is empty), ``"loop"`` answers every GETNEXT/GETBULK with the OID it
was asked for (a non-increasing walk).
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as _dt
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

from pyasn1.codec.ber import decoder
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import api, rfc1902, rfc1905
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.smi.instrum import AbstractMibInstrumController

from auditor.protocols.snmp import DEFAULT_COMMUNITIES
from auditor.safeload import load_yaml_file
from connectors.snmp import mibcode

log = logging.getLogger(__name__)

__all__ = ["FIXTURES", "SnmpSimulator", "load_fixture"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BEHAVIOURS = (None, "garbage", "silent", "slow", "endless", "loop")
_DELEGATED = ((1, 3, 6, 1, 2, 1, 11), (1, 3, 6, 1, 6, 3))
#: the parts of the engine's own MIB whose values change while the agent runs (the ``snmp`` group, engine boots and
#: time, the MPD, target and USM statistics); the rest of ``_DELEGATED`` (USM users, VACM, communities) is set up once
_LIVE = ((1, 3, 6, 1, 2, 1, 11), (1, 3, 6, 1, 6, 3, 10), (1, 3, 6, 1, 6, 3, 11), (1, 3, 6, 1, 6, 3, 12, 1, 4),
         (1, 3, 6, 1, 6, 3, 12, 1, 5), (1, 3, 6, 1, 6, 3, 15, 1, 1))
#: pysnmp's modules of the engine's own scalar instances, some of which it loads only at a first request
_INSTANCE_MODULES = ("__SNMPv2-MIB", "__SNMP-FRAMEWORK-MIB", "__SNMP-MPD-MIB", "__SNMP-TARGET-MIB",
                     "__SNMP-USER-BASED-SM-MIB", "__SNMP-VIEW-BASED-ACM-MIB", "__PYSNMP-USM-MIB")
_TIMER_RESOLUTION = 2.0  # seconds between an agent engine's housekeeping ticks (pysnmp's default: 0.1)
_HR_SYSTEM_DATE = (1, 3, 6, 1, 2, 1, 25, 1, 2, 0)
_SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)

_AUTH = {"NONE": config.USM_AUTH_NONE, "MD5": config.USM_AUTH_HMAC96_MD5, "SHA": config.USM_AUTH_HMAC96_SHA,
         "SHA224": config.USM_AUTH_HMAC128_SHA224, "SHA256": config.USM_AUTH_HMAC192_SHA256,
         "SHA384": config.USM_AUTH_HMAC256_SHA384, "SHA512": config.USM_AUTH_HMAC384_SHA512}
_PRIV = {"NONE": config.USM_PRIV_NONE, "DES": config.USM_PRIV_CBC56_DES, "3DES": config.USM_PRIV_CBC168_3DES,
         "AES": config.USM_PRIV_CFB128_AES, "AES192": config.USM_PRIV_CFB192_AES,
         "AES256": config.USM_PRIV_CFB256_AES}
_TYPES: dict[str, Callable[[Any], Any]] = {
    "OctetString": lambda v: rfc1902.OctetString(str(v).encode("utf-8")),
    "Hex": lambda v: rfc1902.OctetString(hexValue=str(v)),
    "Integer": lambda v: rfc1902.Integer(int(v)),
    "Counter32": lambda v: rfc1902.Counter32(int(v)),
    "Gauge32": lambda v: rfc1902.Gauge32(int(v)),
    "TimeTicks": lambda v: rfc1902.TimeTicks(int(v)),
    "Counter64": lambda v: rfc1902.Counter64(int(v)),
    "ObjectIdentifier": lambda v: rfc1902.ObjectIdentifier(str(v)),
    "IpAddress": lambda v: rfc1902.IpAddress(str(v)),
}


def _under(oid: tuple[int, ...], prefixes: tuple[tuple[int, ...], ...]) -> bool:
    return any(oid[:len(prefix)] == prefix for prefix in prefixes)


def _oid(text: Any) -> tuple[int, ...]:
    return tuple(int(p) for p in str(text).strip().lstrip(".").split("."))


def load_fixture(fixture: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A fixture by built-in name (``weak``, ``hardened``), by path, or as data."""
    if isinstance(fixture, dict):
        return fixture
    path = Path(fixture)
    if not path.suffix:
        path = FIXTURES / f"{fixture}.yaml"
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise ValueError(f"SNMP fixture {path} must be a mapping")
    return data


def _objects(fixture: dict[str, Any]) -> dict[tuple[int, ...], Any]:
    objects: dict[tuple[int, ...], Any] = {}
    for oid, (kind, value) in (fixture.get("objects") or {}).items():
        objects[_oid(oid)] = _TYPES[kind](value)
    for table in fixture.get("tables") or []:
        columns = list((table.get("columns") or {}).items())
        for index, values in (table.get("rows") or {}).items():
            if len(values) != len(columns):
                raise ValueError(f"table row {index!r} has {len(values)} values for {len(columns)} columns")
            for (column, kind), value in zip(columns, values):
                if value is None:
                    continue
                objects[_oid(column) + _oid(index)] = _TYPES[kind](value)
    return objects


def _date_and_time(now: _dt.datetime) -> rfc1902.OctetString:
    """SNMPv2-TC DateAndTime (11 octets, UTC)."""
    raw = bytes([now.year >> 8, now.year & 0xFF, now.month, now.day, now.hour, now.minute, now.second,
                 now.microsecond // 100000, ord("+"), 0, 0])
    return rfc1902.OctetString(raw)


class _FixtureInstrum(AbstractMibInstrumController):
    """Serves fixture objects, live values and the engine's own MIB subtrees, with VACM checks.

    Finding the engine's next object walks pysnmp's MIB tree and checks access at every node: for a scan's walks
    of the USM and VACM tables that was most of a plant of agents' CPU. Outside :data:`_LIVE` the engine's
    objects and its access rules are fixed once the agent is set up, so :meth:`_engine_next` remembers each
    answer per requester (security model, name and level, context); the engine's instance modules are loaded
    first, so that no object appears later (pysnmp loads some at the first request).
    """

    def __init__(self, sim: "SnmpSimulator", delegate: Any):
        self.sim = sim
        self.delegate = delegate
        builder = delegate.get_mib_builder()
        for module in _INSTANCE_MODULES:
            if module not in builder.mibSymbols:
                builder.load_modules(module)
        self._next_memo: dict[tuple[Any, ...], tuple[tuple[int, ...], Any]] = {}
        self.objects = sim._objects
        self.keys = sorted(set(self.objects) | {_HR_SYSTEM_DATE, _SYS_UPTIME})
        self._looped: set[tuple[int, ...]] = set()
        self.fixture_subtrees = [_oid(t) for t in sim.agent.get("fixture_subtrees") or []]

    def _fixture_only(self, oid: tuple[int, ...]) -> tuple[int, ...] | None:
        """The ``fixture_subtrees`` entry holding ``oid`` (the engine's own rows there are hidden), else None."""
        return next((t for t in self.fixture_subtrees if oid[:len(t)] == t), None)

    def _engine_next(self, start: tuple[int, ...], idx: int, context: dict[str, Any]) -> tuple[tuple[int, ...], Any]:
        """The engine's next object after ``start`` as the requester may see it (remembered outside _LIVE)."""
        key = None
        if not _under(start, _LIVE):
            try:
                request = context["snmpEngine"].observer.get_execution_context("rfc3412.receiveMessage:request")
                key = (start, request["securityModel"], request["securityName"], request["securityLevel"],
                       request["contextName"])
            except Exception:  # no request context: ask the engine
                key = None
            known = self._next_memo.get(key) if key is not None else None
            if known is not None:
                return known
        (next_name, next_value), = self.delegate.read_next_variables(
            (rfc1902.ObjectName(start), rfc1902.Null()), **dict(context, idx=idx))
        found = (tuple(next_name), next_value)
        if key is not None and not _under(found[0], _LIVE):
            self._next_memo[key] = found
        return found

    def get_mib_builder(self) -> Any:  # the responder asks for it on some error paths
        return self.delegate.get_mib_builder()

    # -- values
    def _value(self, oid: tuple[int, ...]) -> Any:
        if oid in self.objects:
            return self.objects[oid]
        if oid == _HR_SYSTEM_DATE:
            offset = float(self.sim.agent.get("clock_offset_s", 0))
            return _date_and_time(_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset))
        if oid == _SYS_UPTIME:
            ticks = self.sim.agent.get("uptime_ticks")
            if ticks is None:
                ticks = int((time.monotonic() - self.sim._started) * 100)
            return rfc1902.TimeTicks(int(ticks) % (2 ** 32))
        return None

    def _endless_root(self, oid: tuple[int, ...]) -> tuple[int, ...] | None:
        if self.sim.behaviour != "endless":
            return None
        roots = [_oid(r) for r in self.sim.agent.get("endless") or []]
        for root in roots:
            if oid[:len(root)] == root or (len(oid) < len(root) and root[:len(oid)] == oid):
                return root
        return None if roots else oid  # no roots named: whatever subtree is walked never ends

    @staticmethod
    def _denied(name: Any, value: Any, idx: int, context: dict[str, Any]) -> bool:
        """True when VACM says "not in view" (AuthorizationError propagates to the responder)."""
        check = context.get("acFun")
        return bool(check and check("read", (name, value), **dict(context, idx=idx)))

    # -- GET
    def read_variables(self, *varBinds: Any, **context: Any) -> list[tuple[Any, Any]]:
        out = []
        for idx, (name, _value) in enumerate(varBinds):
            oid = tuple(name)
            if oid not in self.objects and _under(oid, _DELEGATED) and \
                    self._fixture_only(oid) is None:
                out.extend(self.delegate.read_variables((name, _value), **dict(context, idx=idx)))
                continue
            value = self._value(oid)
            if value is None or self._denied(name, value, idx, context):
                out.append((name, rfc1905.noSuchObject))
            else:
                out.append((name, value))
        return out

    # -- GETNEXT / GETBULK
    def read_next_variables(self, *varBinds: Any, **context: Any) -> list[tuple[Any, Any]]:
        out = []
        for idx, (name, _value) in enumerate(varBinds):
            oid = tuple(name)
            if self.sim.behaviour == "loop":
                # first step into the subtree, then the same OID again and again: never increasing
                looped = oid if oid in self._looped else oid + (1,)
                self._looped.add(looped)
                out.append((rfc1902.ObjectName(looped), rfc1902.Integer(1)))
                continue
            root = self._endless_root(oid)
            if root is not None:
                # rows 1, 2, 3, ... of the requested column, without end
                column = oid[:len(root) + 1] if len(oid) > len(root) else root + (1,)
                row = oid[len(column)] + 1 if len(oid) > len(column) else 1
                out.append((rfc1902.ObjectName(column + (row,)), rfc1902.Integer(row)))
                continue
            candidates = []
            position = bisect.bisect_right(self.keys, oid)
            while position < len(self.keys):
                key = self.keys[position]
                value = self._value(key)
                if value is not None and not self._denied(rfc1902.ObjectName(key), value, idx, context):
                    candidates.append((key, value))
                    break
                position += 1
            for prefix in _DELEGATED:
                start = max(oid, prefix)
                if start[:len(prefix)] != prefix and start > prefix:
                    continue  # already past this subtree
                if candidates and candidates[0][0] <= start:
                    continue  # the engine's next object lies past ``start``: the fixture's comes first
                next_oid = None
                for _skip in range(len(self.fixture_subtrees) + 1):
                    try:
                        next_oid, next_value = self._engine_next(start, idx, context)
                    except Exception:
                        next_oid = None
                        break
                    hidden = self._fixture_only(next_oid)
                    if hidden is None:
                        break
                    start, next_oid = hidden[:-1] + (hidden[-1] + 1,), None  # past the fixture-only subtree
                if next_oid is None:
                    continue
                if (next_oid[:len(prefix)] == prefix and next_oid > oid and next_oid not in self.objects
                        and not isinstance(next_value, rfc1905.EndOfMibView)):
                    candidates.append((next_oid, next_value))
            if candidates:
                key, value = min(candidates, key=lambda c: c[0])
                out.append((rfc1902.ObjectName(key), value))
            else:
                out.append((name, rfc1905.endOfMibView))
        return out

    def write_variables(self, *varBinds: Any, **context: Any) -> Any:  # pragma: no cover - no SET responder
        raise RuntimeError("the SNMP simulator is read-only")


class _RecordingUdp(udp.UdpAsyncioTransport):
    """The agent's UDP transport: records every datagram and applies the hostile behaviours."""

    sim: "SnmpSimulator"

    def datagram_received(self, datagram: bytes, transportAddress: Any) -> None:  # noqa: N803 (pysnmp API)
        self.sim._record(datagram, transportAddress)
        behaviour = self.sim.behaviour
        if behaviour == "silent":
            return
        if behaviour == "garbage":
            if self.transport is not None:
                self.transport.sendto(b"\x30\x82\xff\xff garbage, not SNMP " + os.urandom(8), transportAddress)
                self.transport.sendto(b"\x00\x01\x02 not BER at all", transportAddress)
            return
        if behaviour == "slow":
            self.loop.call_later(self.sim.delay, super().datagram_received, datagram, transportAddress)
            return
        super().datagram_received(datagram, transportAddress)


class SnmpSimulator:
    """A simulated SNMP agent on ``host:port`` (UDP) serving one fixture; see the module docstring."""

    def __init__(self, fixture: str | Path | dict[str, Any] = "weak", *, host: str = "127.0.0.1", port: int = 0,
                 behaviour: str | None = None, delay: float = 3.0):
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        self.fixture = load_fixture(fixture)
        self.name = fixture if isinstance(fixture, str) else str(self.fixture.get("description", "custom"))
        self.agent: dict[str, Any] = dict(self.fixture.get("agent") or {})
        self._objects = _objects(self.fixture)
        self.host = host
        self.port = port
        self.behaviour = behaviour
        self.delay = delay
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._pending: dict[bytes, dict[str, Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._started = time.monotonic()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._communities = {c["name"] for c in self.agent.get("communities") or []}

    # ------------------------------------------------------------------ recording
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of every datagram received so far (see the module docstring)."""
        with self._lock:
            for entry in self._requests:
                if "_datagram" in entry:
                    self._describe(entry)
            return [dict(r) for r in self._requests]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._pending.clear()

    def pdu_types(self) -> set[str]:
        return {r["pdu"] for r in self.requests}

    def _record(self, datagram: bytes, address: Any) -> None:
        """Keep the datagram; what it says is decoded when somebody reads :attr:`requests` (decoding every
        datagram as it arrived was a sixth of a busy agent's CPU, for a log most scans never read)."""
        entry = {"seq": 0, "time": time.time(), "source": f"{address[0]}:{address[1]}", "bytes": len(datagram),
                 "_datagram": datagram}
        with self._lock:
            entry["seq"] = len(self._requests) + 1
            self._requests.append(entry)
            if len(self._pending) > 1000:
                self._pending.clear()
            self._pending[datagram] = entry

    @staticmethod
    def _describe(entry: dict[str, Any]) -> None:
        """Fill in what a recorded datagram says (what the engine reported after decrypting it stays)."""
        described = _decode(entry.pop("_datagram"))
        raw = described.pop("community_raw", None)
        if raw is not None:
            described["community"] = raw if raw in DEFAULT_COMMUNITIES else "other"
        for key in ("community", "user", "security_level"):
            described.setdefault(key, None)
        for key, value in described.items():
            entry.setdefault(key, value)

    def _observe(self, _engine: Any, _point: str, variables: dict[str, Any], _ctx: Any) -> None:
        """Engine callback after security processing: fill in the (decrypted) PDU of a v3 request."""
        with self._lock:
            entry = self._pending.pop(bytes(variables.get("wholeMsg") or b""), None)
            if entry is None:
                return
            pdu = variables.get("pdu")
            if pdu is not None:
                entry["pdu"] = _pdu_name(pdu)
                entry["oids"] = _pdu_oids(pdu)
            entry["processed"] = True
            level = {1: "noAuthNoPriv", 2: "authNoPriv", 3: "authPriv"}.get(int(variables.get("securityLevel") or 0))
            if level is not None:  # else what the datagram's flags say (see _describe)
                entry["security_level"] = level

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 10.0) -> "SnmpSimulator":
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, args=(sock,), name=f"snmp-sim-{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"SNMP simulator on {self.host}:{self.port} did not start within {timeout:g} s")
        if self._error is not None:
            raise RuntimeError(f"SNMP simulator failed to start: {self._error!r}") from self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # loop already closed
            pass
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> "SnmpSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._setup(sock, loop)
        except BaseException as exc:  # report to start(), never hang it
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._started = time.monotonic()
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                self._engine.close_dispatcher()
            except Exception:  # pragma: no cover - best effort
                pass
            sock.close()
            try:
                loop.run_until_complete(asyncio.sleep(0))
            finally:
                loop.close()

    def _setup(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        mibcode.install()  # a plant of agents compiles pysnmp's MIB modules once, as the scanner does
        eng = engine.SnmpEngine()
        self._engine = eng
        transport = _RecordingUdp(loop=loop)
        transport.sim = self
        config.add_transport(eng, udp.DOMAIN_NAME, transport.open_server_mode(sock=sock))
        # pysnmp wakes each engine ten times a second for housekeeping an agent barely needs: a plant of
        # agents in one process spent a core on it while idle
        eng.transport_dispatcher.set_timer_resolution(_TIMER_RESOLUTION)
        for community in self.agent.get("communities") or []:
            security_name = community.get("security_name") or f"sec-{community['name']}"
            config.add_v1_system(eng, security_name, community["name"])
            subtree = _oid(community.get("view", "1.3.6.1"))
            for version in community.get("versions", ["1", "2c"]):
                model = 1 if str(version) == "1" else 2
                config.add_vacm_user(eng, model, security_name, "noAuthNoPriv", subtree,
                                     subtree if community.get("write") else ())
        for user in self.agent.get("users") or []:
            auth = _AUTH[str(user.get("auth", "none")).upper()]
            priv = _PRIV[str(user.get("priv", "none")).upper()]
            config.add_v3_user(eng, user["name"], auth, user.get("auth_key"), priv, user.get("priv_key"))
            subtree = _oid(user.get("view", "1.3.6.1"))
            config.add_vacm_user(eng, 3, user["name"], user.get("level", "authPriv"), subtree,
                                 subtree if user.get("write") else ())
        if self.agent.get("v3_only"):
            for model in (0, 1):  # SNMPv1 and SNMPv2c message processing: gone, like a v3-only device
                eng.message_processing_subsystems.pop(model, None)
        ctx = context.SnmpContext(eng)
        delegate = ctx.get_mib_instrum(b"")
        ctx.unregister_context_name(b"")
        ctx.register_context_name(b"", _FixtureInstrum(self, delegate))
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, cmdrsp.BulkCommandResponder):
            responder(eng, ctx)
        eng.observer.register_observer(self._observe, "rfc3412.receiveMessage:request")

    def __repr__(self) -> str:
        return f"SnmpSimulator({self.name!r}, {self.host}:{self.port})"


# ---------------------------------------------------------------------- datagram decoding (recording only)
def _pdu_name(pdu: Any) -> str:
    name = type(pdu).__name__
    return name[:-3] if name.endswith("PDU") else name


def _pdu_oids(pdu: Any) -> list[str]:
    try:
        bindings = pdu["variable-bindings"]
        return [".".join(str(x) for x in vb["name"]) for vb in bindings]
    except Exception:
        return []


def _decode(datagram: bytes) -> dict[str, Any]:
    """What a request datagram says, as far as can be read without keys."""
    try:
        version = int(api.decodeMessageVersion(datagram))
    except Exception:
        return {"version": None, "pdu": "undecodable", "oids": [], "processed": False}
    try:
        if version in (0, 1):
            module = api.PROTOCOL_MODULES[version]
            message, _rest = decoder.decode(datagram, asn1Spec=module.Message())
            pdu = module.apiMessage.get_pdu(message)
            community = bytes(module.apiMessage.get_community(message)).decode("utf-8", "replace")
            return {"version": "1" if version == 0 else "2c", "community_raw": community, "user": None,
                    "security_level": None, "pdu": _pdu_name(pdu), "oids": _pdu_oids(pdu), "processed": False}
        if version == 3:
            message, _rest = decoder.decode(datagram, asn1Spec=SNMPv3Message())
            flags = bytes(message["msgGlobalData"]["msgFlags"].asOctets() or b"\x00")[0]
            level = "authPriv" if flags & 3 == 3 else ("authNoPriv" if flags & 1 else "noAuthNoPriv")
            params, _rest = decoder.decode(bytes(message["msgSecurityParameters"]),
                                           asn1Spec=UsmSecurityParameters())
            user = bytes(params["msgUserName"]).decode("utf-8", "replace")
            data = message["msgData"]
            if data.getName() == "plaintext":
                pdu = data["plaintext"]["data"].getComponent()
                name, oids = _pdu_name(pdu), _pdu_oids(pdu)
            else:
                name, oids = "encrypted", []
            return {"version": "3", "user": user or None, "security_level": level, "pdu": name, "oids": oids,
                    "processed": False}
    except Exception:
        pass
    return {"version": str(version), "pdu": "undecodable", "oids": [], "processed": False}
