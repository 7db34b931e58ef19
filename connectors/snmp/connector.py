# One module on purpose: the read-only guarantee (no SET path, budgets, probes, redaction) is reviewed and source-tested in one place.
"""The SNMP connector: read-only SNMPv1/v2c/v3 collection from one agent, politely and within bounds.

What it sends, in order, for the requests of one asset:

1. ONE liveness GET of ``sysDescr.0`` with the configured credentials. No answer means the endpoint
   is unusable (:class:`ConnectorError`): over v1/v2c a rejected community and a missing agent look
   the same (the agent stays silent), so the reason says "inconclusive", never "rejected".
2. The reads the checks asked for, in request order:

   * ``snmp:get:<oid> <oid> ...``: GET PDUs of at most :attr:`SnmpConnector.get_chunk` OIDs (v1
     agents answer a missing object with ``noSuchName`` for the whole PDU: that OID is recorded as
     missing and the GET repeated without it, at most once per OID);
   * ``snmp:walk:<column> <column> ...``: a walk of one or more subtrees side by side, with
     GETBULK (v2c/v3: the first request of a walk asks :attr:`~SnmpConnector.first_repetitions`
     repetitions, each next one three times as many up to :attr:`~SnmpConnector.max_repetitions`; a
     ``tooBig`` halves them and caps them there) or GETNEXT (v1), that stops at the end of each subtree
     and is bounded in rows (option ``max_rows``) AND in time (option ``max_seconds``); an agent that returns a
     non-increasing OID (a loop) stops the walk. A stopped walk is an ``error`` item that keeps
     the rows read so far. A walk with the option ``fallback_for=<target of another walk>`` (a
     legacy table standing in for a current one) is sent last and only when that other walk
     returned no row; otherwise its item says it was skipped;
   * ``snmp:probe:default-communities``: only when the endpoint sets ``probe_default_communities``:
     one GET of ``sysDescr.0`` per (community, version) of :data:`DEFAULT_COMMUNITIES` x (v2c, v1),
     plus one v2c and one v1 GET with the endpoint's own community when a v3 endpoint names one,
     spaced :attr:`~SnmpConnector.probe_interval` seconds apart while the other reads go on (the
     device's pace counts both), never retried, each a bare GetRequest
     message on its own UDP socket (not through the SNMP engine, see ``_bare_get``); the agent's
     ``snmpInBadVersions`` / ``snmpInBadCommunityNames`` counters are read before and after
     (through the audit session) so the pack can tell "v1/v2c discarded as an unsupported version"
     from "community rejected". Answering communities are reported by name (they are public
     defaults); the endpoint's own community is only ever called ``"configured"``;
   * ``snmp:probe:security-levels``: v3 only: one GET of ``sysDescr.0`` with the audit user at each
     security level BELOW the configured one (``authNoPriv`` without the privacy key,
     ``noAuthNoPriv`` without any key), never retried, from a separate SNMP engine;
   * ``snmp:session:info``: what the session was (version, security level, protocol names, which
     community label, how many requests were sent), produced last.

Politeness and bounds: at most ``requests_per_second`` PDUs per second to the device (default 10;
read from the endpoint when the inventory model offers that field), ``endpoint.timeout`` seconds
per PDU with :attr:`~SnmpConnector.retries` retry, every await additionally capped, and a time
budget for the whole device after which the remaining requests are recorded as not sent.

Read-only by construction: this package sends through pysnmp's GET, GETNEXT and GETBULK command
generators only (the high-level API contributes its target configuration, which sends nothing) and builds
no PDU with its protocol API but the probes' GetRequest; there is no code path that can build a SET PDU (a
test checks the source).

Secrets (community, auth and privacy keys) are resolved at collection time, live in local
variables and in pysnmp engines configured for exactly these credentials (kept for the next switch
that shares them, see :mod:`connectors.snmp.engines`), and are never recorded: the endpoint's own
community is redacted from every recorded string (as text, hex and OID-encoded bytes) unless it is
one of the public defaults; VACM index strings (security and group names, which some vendors set to
the community string itself) are replaced by per-scan HMAC tokens when a walk asks for it with the
``mask_index`` option (``"str@N"``: the index holds a length-prefixed string at position N).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import hmac
import json
import logging
import secrets as _secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from pysnmp.entity.rfc3413.cmdgen import (BulkCommandGeneratorSingleRun, GetCommandGenerator,
                                          NextCommandGeneratorSingleRun)
from pysnmp.hlapi.v3arch.asyncio import (CommunityData, UdpTransportTarget, UsmUserData,
                                         usm3DESEDEPrivProtocol, usmAesCfb128Protocol, usmAesCfb192Protocol,
                                         usmAesCfb256Protocol, usmDESPrivProtocol, usmHMAC128SHA224AuthProtocol,
                                         usmHMAC192SHA256AuthProtocol, usmHMAC256SHA384AuthProtocol,
                                         usmHMAC384SHA512AuthProtocol, usmHMACMD5AuthProtocol,
                                         usmHMACSHAAuthProtocol, usmNoAuthProtocol, usmNoPrivProtocol)
from pyasn1.codec.ber import decoder as ber_decoder, encoder as ber_encoder
from pysnmp.entity.config import AUTH_SERVICES, PRIV_SERVICES, USM_KEY_TYPE_MASTER
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
from pysnmp.proto import api as snmp_api
from pysnmp.proto.api import v2c as snmp_v2c
from pysnmp.proto.rfc1902 import OctetString

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.secrets import SecretError, resolve
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, stop_if_cancelled
from connectors.snmp import engines, limits, mibcode
from connectors.snmp.values import encode_value, is_under, oid_text, oid_tuple, type_name
from auditor.protocols.snmp import DEFAULT_COMMUNITIES, PROBE_COUNTERS, SYS_DESCR

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_COMMUNITIES", "PROBE_COMMUNITIES", "PROBE_SECURITY_LEVELS", "SESSION_INFO", "SYS_DESCR",
           "SnmpConnector", "auth_protocol", "priv_protocol"]

SESSION_INFO = EvidenceRequest(protocol="snmp", op="session", target="info")
PROBE_COMMUNITIES = EvidenceRequest(protocol="snmp", op="probe", target="default-communities")
PROBE_SECURITY_LEVELS = EvidenceRequest(protocol="snmp", op="probe", target="security-levels")

_AUTH = {
    "NONE": ("none", usmNoAuthProtocol), "MD5": ("MD5", usmHMACMD5AuthProtocol),
    "SHA": ("SHA", usmHMACSHAAuthProtocol), "SHA1": ("SHA", usmHMACSHAAuthProtocol),
    "SHA224": ("SHA224", usmHMAC128SHA224AuthProtocol), "SHA256": ("SHA256", usmHMAC192SHA256AuthProtocol),
    "SHA384": ("SHA384", usmHMAC256SHA384AuthProtocol), "SHA512": ("SHA512", usmHMAC384SHA512AuthProtocol),
}
_PRIV = {
    "NONE": ("none", usmNoPrivProtocol), "DES": ("DES", usmDESPrivProtocol), "3DES": ("3DES", usm3DESEDEPrivProtocol),
    "AES": ("AES", usmAesCfb128Protocol), "AES128": ("AES", usmAesCfb128Protocol),
    "AES192": ("AES192", usmAesCfb192Protocol), "AES256": ("AES256", usmAesCfb256Protocol),
}
_ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
                 "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue",
                 "resourceUnavailable", "commitFailed", "undoFailed", "authorizationError", "notWritable",
                 "inconsistentName")
_LEVEL_ORDER = ("noAuthNoPriv", "authNoPriv", "authPriv")
#: the PDUs of the evidence item being read, in the coroutine reading it (see SnmpConnector._one)
_ITEM_PDUS: "contextvars.ContextVar[list[int] | None]" = contextvars.ContextVar("snmp_item_pdus", default=None)
#: pysnmp error indications that come from an answer the agent sent (a USM report), after which nothing of the
#: request is left in flight: the engine may serve the next switch (any other indication closes it)
_ANSWERED = frozenset({"UnknownUserName", "UnsupportedSecurityLevel", "WrongDigest", "DecryptionError",
                       "UnknownEngineID", "ReportPduReceived"})


def _normalize(name: str) -> str:
    return name.upper().replace("-", "").replace("_", "").replace(" ", "")


def auth_protocol(name: str | None) -> tuple[str, Any]:
    """Inventory spelling (``SHA``, ``sha-256``, ``MD5``...) -> (canonical name, pysnmp protocol)."""
    key = _normalize(name or "none")
    if key not in _AUTH:
        raise ConnectorError(f"unknown SNMPv3 auth_protocol {name!r} (use one of MD5, SHA, SHA224, SHA256, "
                             f"SHA384, SHA512)")
    return _AUTH[key]


def priv_protocol(name: str | None) -> tuple[str, Any]:
    key = _normalize(name or "none")
    if key not in _PRIV:
        raise ConnectorError(f"unknown SNMPv3 priv_protocol {name!r} (use one of DES, 3DES, AES, AES192, AES256)")
    return _PRIV[key]


class _OutOfBudget(Exception):
    """The per-device time budget is used up: nothing more is sent."""


@dataclass
class _Answer:
    indication: str | None = None  # pysnmp errorIndication (timeout, auth failure...) as text
    indication_kind: str | None = None  # its class name (RequestTimedOut, WrongDigest...)
    status: int = 0
    index: int = 0
    varbinds: list[tuple[tuple[int, ...], Any]] = field(default_factory=list)
    garbage: int = 0  # datagrams from the agent that were not valid SNMP

    @property
    def status_name(self) -> str:
        return _ERROR_STATUS[self.status] if 0 <= self.status < len(_ERROR_STATUS) else str(self.status)

    @property
    def timed_out(self) -> bool:
        return self.indication_kind in ("RequestTimedOut", "hard-timeout")

    def add_garbage(self, datagrams: int) -> None:
        """Record the datagrams from the agent that were not valid SNMP, and name them in a failure."""
        self.garbage = max(0, datagrams)
        if self.indication and self.garbage:
            self.indication += f" ({self.garbage} datagram(s) from the agent were not valid SNMP)"


@dataclass
class _Credentials:
    version: str
    community: str | None = None  # v1/v2c: the session community; v3: optional, used by the probe only
    username: str | None = None
    auth_name: str = "none"
    auth: Any = None
    auth_key: str | None = None
    priv_name: str = "none"
    priv: Any = None
    priv_key: str | None = None

    @property
    def level(self) -> str:
        if self.version != "3":
            return "community"
        if self.priv_key:
            return "authPriv"
        return "authNoPriv" if self.auth_key else "noAuthNoPriv"

    def secrets(self) -> list[str]:
        found = [s for s in (self.auth_key, self.priv_key) if s]
        if self.community and self.community not in DEFAULT_COMMUNITIES:
            found.append(self.community)
        return found

    def community_label(self) -> str | None:
        if self.community is None:
            return None
        return self.community if self.community in DEFAULT_COMMUNITIES else "configured"


class SnmpConnector(Connector):
    """Reads evidence from an SNMP agent (see the module docstring for the exact behaviour)."""

    protocol = "snmp"
    #: PDUs per second towards one device, unless the endpoint says otherwise.
    requests_per_second: float = 10.0
    #: Seconds between two default-community probe packets ("slow": failed attempts may raise alarms).
    probe_interval: float = 1.0
    #: GETBULK repetitions: the first request of a walk asks few, because most tables an audit walks (users,
    #: groups, views, communities, targets) have a row or two and every repetition past a table's end is an
    #: object the agent looks up and sends and the scanner decodes for nothing (two thirds of the var-binds of
    #: a switch's walks, with ten from the start); each next request of the walk asks three times as many.
    first_repetitions: int = 3
    max_repetitions: int = 10
    #: Default bounds of one walk request (options ``max_rows`` / ``max_seconds`` override).
    max_rows: int = limits.DEFAULT_WALK_ROWS
    walk_seconds: float = limits.DEFAULT_WALK_SECONDS
    retries: int = 1
    get_chunk: int = 24
    #: Whole-device budget in seconds; None: ``max(30, 8 x endpoint.timeout)``.
    budget_seconds: float | None = None

    @classmethod
    def release_idle(cls) -> None:
        engines.close_idle()

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        self._started = time.monotonic()
        self._sent = 0
        self._last_send = self._last_probe = float("-inf")
        self._mask_key = _secrets.token_bytes(16)
        self._deadline = self._started + self._budget()
        creds = self._credentials()
        self._creds = creds
        self._redactions = _redactions(creds.secrets())
        mibcode.install()
        self._unclean: set[int] = set()  # ids of engines that must not be reused (see connectors.snmp.engines)
        key = engines.fingerprint("session", creds.version, creds.community, creds.username, creds.auth_name,
                                  creds.auth_key, creds.priv_name, creds.priv_key)
        with self._borrowed_engine(key) as engine:
            self._engine = engine
            return await self._collect(requests, engine, creds)

    @contextlib.contextmanager
    def _borrowed_engine(self, key: bytes) -> Iterator[Any]:
        """An engine for the credentials ``key`` names, given back when the block ends: kept for the next switch if
        nothing made it unclean (see :mod:`connectors.snmp.engines`), closed otherwise."""
        engine = engines.take(key)
        try:
            yield engine
        except BaseException:
            self._unclean.add(id(engine))
            raise
        finally:
            engines.give_back(key, engine, clean=id(engine) not in self._unclean)

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """The PDUs :meth:`collect` would send, in its order, from the inventory alone (no secret is read)."""
        ep = self.endpoint
        version = ep.version
        walk, repetitions = ("GETNEXT walk", "") if version == "1" else (
            "GETBULK walk", f", max-repetitions {min(self.first_repetitions, self.max_repetitions)} growing to "
                            f"{self.max_repetitions}")
        discovery = PlannedRequest("GET", "", 1, "SNMPv3 engine discovery: an empty GET, no credential")
        steps = [discovery] if version == "3" else []
        steps.append(PlannedRequest("GET", SYS_DESCR, 1, "liveness: the endpoint is unusable without an answer"))
        info: EvidenceRequest | None = None
        ordered = [r for r in requests if not (r.op == "walk" and r.option("fallback_for"))]
        ordered += [r for r in requests if r.op == "walk" and r.option("fallback_for")]
        for req in ordered:
            if req.protocol == "snmp" and req.op == "session" and req.target == "info":
                info = req
            elif req.op == "get":
                oids = [oid_text(o) for o in req.target.split()]
                for start in range(0, len(oids), self.get_chunk):
                    steps.append(PlannedRequest("GET", " ".join(oids[start:start + self.get_chunk]), 1, "", req.key))
            elif req.op == "walk":
                rows = max(1, min(int(req.option("max_rows", self.max_rows)), limits.MAX_WALK_ROWS))
                seconds = float(req.option("max_seconds", self.walk_seconds))
                bound = f"to the end of the subtree, at most {rows} rows and {seconds:g} s{repetitions}"
                fallback = req.option("fallback_for")
                when = f"the walk of {fallback} returned no row" if fallback else ""
                steps.append(PlannedRequest(walk, req.target, None, bound, req.key, when=when))
            elif req.op == "probe" and req.target == "default-communities":
                steps.extend(self._plan_community_probe(req))
            elif req.op == "probe" and req.target == "security-levels":
                levels = _LEVEL_ORDER[:_LEVEL_ORDER.index(self._planned_level())] if version == "3" else ()
                if levels:  # a separate SNMP engine: its own discovery
                    steps.append(PlannedRequest("GET", "", 1, "SNMPv3 engine discovery of the probe's own engine",
                                                req.key))
                for level in reversed(levels):
                    steps.append(PlannedRequest("GET", SYS_DESCR, 1, f"as the audit user at {level} (a lower "
                                                "security level than configured), never retried", req.key))
                if not levels:
                    steps.append(PlannedRequest("probe", "security-levels", 0,
                                                "nothing sent: no lower security level to try", req.key))
            else:
                steps.append(PlannedRequest(req.op, req.target, 0, "not a read this connector performs: nothing sent",
                                            req.key))
        steps.append(PlannedRequest("record", "session info", 0, "nothing sent: what the session was",
                                    (info or SESSION_INFO).key))
        known = sum(step.count or 1 for step in steps)
        probes = sum(1 for step in steps if step.detail.startswith("default-community probe"))
        rate = self._rate
        pacing = (f"at most {rate:g} PDUs/s, {ep.timeout:g} s per PDU with {self.retries} retry, "
                  f"{self._budget():g} s for the whole device")
        if probes:
            pacing += (f"; default-community probes {max(self.probe_interval, 1.0 / rate):g} s apart, alongside "
                       f"the other reads")
        seconds = max((known - probes - 1) / rate, probes * max(self.probe_interval, 1.0 / rate))
        return ConnectorPlan(pacing=pacing, steps=steps, min_seconds=round(max(0.0, seconds), 2))

    def _planned_level(self) -> str:
        ep = self.endpoint
        if ep.priv_key_env or ep.priv_key_file:
            return "authPriv"
        return "authNoPriv" if ep.auth_key_env or ep.auth_key_file else "noAuthNoPriv"

    def _plan_community_probe(self, req: EvidenceRequest) -> list[PlannedRequest]:
        ep = self.endpoint
        if not (ep.probe_default_communities or self.options.probe_default_communities):
            return [PlannedRequest("probe", "default-communities", 0, "nothing sent: not enabled "
                                   "(probe_default_communities or --probe-default-communities)", req.key)]
        counters = " ".join(PROBE_COUNTERS.values())
        steps = [PlannedRequest("GET", counters, 1, "the agent's error counters, before the probes", req.key)]
        if ep.version == "3" and (ep.community_env or ep.community_file):
            for version in ("2c", "1"):
                steps.append(PlannedRequest("GET", SYS_DESCR, 1, f"default-community probe: the configured community "
                                            f"over v{version}, never retried", req.key))
        for name in DEFAULT_COMMUNITIES:
            for version in ("2c", "1"):
                own = "" if ep.version == "3" or version != ep.version else \
                    "the audit session does not already use it (its liveness GET answered for it)"
                steps.append(PlannedRequest("GET", SYS_DESCR, 1, f"default-community probe: {name!r} over "
                                            f"v{version}, never retried", req.key, when=own))
        steps.append(PlannedRequest("GET", counters, 1, "the agent's error counters, after the probes", req.key))
        return steps

    # ------------------------------------------------------------------ setup
    def _budget(self) -> float:
        if self.budget_seconds is not None:
            return float(self.budget_seconds)
        return max(30.0, 8 * float(self.endpoint.timeout))

    @property
    def _rate(self) -> float:
        value = getattr(self.endpoint, "requests_per_second", None) or self.requests_per_second
        return max(0.1, float(value))

    def _credentials(self) -> _Credentials:
        ep = self.endpoint
        try:
            community = resolve(ep.community_env, ep.community_file)
            if ep.version in ("1", "2c"):
                if not community:
                    raise ConnectorError(f"SNMPv{ep.version} endpoint needs a community by reference "
                                         f"(community_env or community_file)")
                return _Credentials(version=ep.version, community=community)
            if not ep.username:
                raise ConnectorError("SNMPv3 endpoint needs a username")
            auth_key = resolve(ep.auth_key_env, ep.auth_key_file)
            priv_key = resolve(ep.priv_key_env, ep.priv_key_file)
        except SecretError as exc:
            raise ConnectorError(f"secret for {self.label} cannot be read: {exc}") from None
        if priv_key and not auth_key:
            raise ConnectorError("SNMPv3 privacy (priv_key) needs authentication (auth_key) too")
        if auth_key and not ep.auth_protocol:
            raise ConnectorError("SNMPv3 auth_key given without auth_protocol (MD5, SHA, SHA224..SHA512)")
        if priv_key and not ep.priv_protocol:
            raise ConnectorError("SNMPv3 priv_key given without priv_protocol (DES, 3DES, AES, AES192, AES256)")
        auth_name, auth = auth_protocol(ep.auth_protocol if auth_key else None)
        priv_name, priv = priv_protocol(ep.priv_protocol if priv_key else None)
        return _Credentials(version="3", community=community or None, username=ep.username,
                            auth_name=auth_name, auth=auth, auth_key=auth_key or None,
                            priv_name=priv_name, priv=priv, priv_key=priv_key or None)

    def _auth_data(self, creds: _Credentials, level: str | None = None) -> Any:
        if creds.version != "3":
            return CommunityData("iacs-audit", creds.community, mpModel=0 if creds.version == "1" else 1)
        level = level or creds.level
        if level == "authPriv":
            return UsmUserData(creds.username, _master_key(creds.auth, None, creds.auth_key or ""),
                               _master_key(creds.auth, creds.priv, creds.priv_key or ""),
                               authProtocol=creds.auth, privProtocol=creds.priv,
                               authKeyType=USM_KEY_TYPE_MASTER, privKeyType=USM_KEY_TYPE_MASTER)
        if level == "authNoPriv":
            return UsmUserData(creds.username, _master_key(creds.auth, None, creds.auth_key or ""),
                               authProtocol=creds.auth, privProtocol=usmNoPrivProtocol,
                               authKeyType=USM_KEY_TYPE_MASTER)
        return UsmUserData(creds.username, authProtocol=usmNoAuthProtocol, privProtocol=usmNoPrivProtocol)

    async def _target(self, retries: int | None = None) -> Any:
        try:
            return await asyncio.wait_for(
                UdpTransportTarget.create((self.asset.address, self.endpoint.port),
                                          timeout=float(self.endpoint.timeout),
                                          retries=self.retries if retries is None else retries),
                timeout=float(self.endpoint.timeout) + 5)
        except Exception as exc:
            raise ConnectorError(f"cannot resolve {self.asset.address}: {exc.__class__.__name__}: {exc}") from None

    # ------------------------------------------------------------------ the collection
    async def _collect(self, requests: Sequence[EvidenceRequest], engine: Any,
                       creds: _Credentials) -> list[EvidenceItem]:
        ep = self.endpoint
        self._target_main = await self._target()
        self._auth_main = self._auth_data(creds)
        self._session_target: str | None = None
        info: dict[str, Any] = {
            "address": self.asset.address, "port": ep.port, "version": creds.version,
            "security_level": creds.level, "username": creds.username,
            "auth_protocol": creds.auth_name if creds.version == "3" else None,
            "priv_protocol": creds.priv_name if creds.version == "3" else None,
            "community": creds.community_label() if creds.version != "3" else None,
            "community_configured": creds.community is not None,
            "probe_default_communities": bool(ep.probe_default_communities or self.options.probe_default_communities),
            "timeout_s": float(ep.timeout), "retries": self.retries, "requests_per_second": self._rate,
            "budget_s": self._budget(), "first_repetitions": self.first_repetitions,
            "max_repetitions": self.max_repetitions,
        }
        live_started = time.monotonic()
        answer = await self._send("get", [SYS_DESCR], budget=False)
        info["liveness_ms"] = round((time.monotonic() - live_started) * 1000, 2)
        if answer.indication or answer.status:
            info["answered"] = False
            reason = self._liveness_failure(answer, creds)
            info["error"] = reason
            exc = ConnectorError(reason)
            exc.partial_items = [self._session_item(info, live_started)]
            raise exc
        info["answered"] = True
        items = self.collected
        info_request: EvidenceRequest | None = None
        fallbacks: list[EvidenceRequest] = []
        # the default-community probe spends most of its time waiting between probes: it runs alongside the reads
        # (sharing the device's pace), and its item takes its place in request order
        probe = next((r for r in requests if r.protocol == "snmp" and r.key == PROBE_COMMUNITIES.key), None)
        alongside = asyncio.create_task(self._one(probe, creds)) if probe is not None else None
        if alongside is not None:  # its failure is raised where its item is awaited; a cancelled one is dropped
            alongside.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            for req in requests:
                if req.protocol == "snmp" and req.op == "session" and req.target == "info":
                    info_request = req
                elif req.op == "walk" and req.option("fallback_for"):
                    fallbacks.append(req)  # after the walks they stand in for
                elif req is probe and alongside is not None:
                    items.append(await alongside)
                else:
                    items.append(await self._one(req, creds))
        finally:
            if alongside is not None and not alongside.done():
                alongside.cancel()
        for req in fallbacks:
            primary = next((i for i in items if i.request.op == "walk"
                            and i.request.target == req.option("fallback_for")), None)
            rows = primary.meta.get("rows", 0) if primary is not None and primary.status == "ok" else 0
            if rows:
                data = {"roots": req.target.split(), "rows": [], "complete": True,
                        "skipped": f"not walked: the table it stands in for ({req.option('fallback_for')}) "
                                   f"answered {rows} rows"}
                items.append(self.item(req, started=time.monotonic(), encoding="json", response=self._json(data),
                                       meta={"pdus": 0, "rows": 0, "skipped": True}))
            else:
                items.append(await self._one(req, creds))
        info["requests_sent"] = self._sent
        info["elapsed_ms"] = round((time.monotonic() - self._started) * 1000, 2)
        items.append(self._session_item(info, self._started, info_request))
        return items

    def _session_item(self, info: dict[str, Any], started: float,
                      req: EvidenceRequest | None = None) -> EvidenceItem:
        info = dict(info, requests_sent=self._sent)
        return self.item(req or SESSION_INFO, started=started, encoding="json", response=self._json(info),
                         meta={"pdus": self._sent})

    def _liveness_failure(self, answer: _Answer, creds: _Credentials) -> str:
        where = f"{self.asset.address}:{self.endpoint.port}"
        garbage = (f"; the agent sent {answer.garbage} datagram(s) that are not valid SNMP"
                   if answer.garbage else "")
        if answer.timed_out:
            if creds.version == "3":
                return (f"no SNMPv3 answer from {where} within {self.endpoint.timeout:g} s "
                        f"({self.retries} retry){garbage}")
            return (f"no SNMPv{creds.version} answer from {where} within {self.endpoint.timeout:g} s "
                    f"({self.retries} retry): community rejected or no agent, which look the same over "
                    f"SNMPv1/v2c (inconclusive){garbage}")
        if answer.indication:
            hints = {"WrongDigest": "wrong auth key or auth protocol",
                     "UnknownUserName": "the agent does not know this user",
                     "DecryptionError": "wrong privacy key or privacy protocol",
                     "UnsupportedSecurityLevel": "the agent refuses this security level for the user",
                     "NotInTimeWindow": "the agent's engine time window rejected the request"}
            hint = hints.get(answer.indication_kind or "", "")
            return (f"SNMP session with {where} failed: {answer.indication}"
                    + (f" ({hint})" if hint else "") + garbage)
        return f"the agent at {where} answered the liveness GET with error-status {answer.status_name}"

    async def _one(self, req: EvidenceRequest, creds: _Credentials) -> EvidenceItem:
        started = time.monotonic()
        pdus = [0]  # this item's PDUs, counted apart from those of the probe running alongside
        token = _ITEM_PDUS.set(pdus)
        try:
            if req.protocol != "snmp":
                raise ValueError(f"unsupported request {req.key}")
            if req.op == "get":
                status, data, error, meta = await self._get_item(req)
            elif req.op == "walk":
                status, data, error, meta = await self._walk_item(req)
            elif req.op == "probe" and req.target == "default-communities":
                status, data, error, meta = await self._probe_communities(creds)
            elif req.op == "probe" and req.target == "security-levels":
                status, data, error, meta = await self._probe_levels(creds)
            else:
                raise ValueError(f"unsupported op {req.protocol}:{req.op}:{req.target}")
        except ValueError as exc:
            return self.item(req, started=started, status="error", error=str(exc))
        except _OutOfBudget:
            spent = self._budget()
            return self.item(req, started=started, status="error", meta={"pdus": pdus[0]},
                             error=f"not completed: the {spent:g} s time budget for this device was used up")
        finally:
            _ITEM_PDUS.reset(token)
        meta = dict(meta, pdus=pdus[0])
        return self.item(req, started=started, status=status, encoding="json", response=self._json(data),
                         error=error, meta=meta)

    # ------------------------------------------------------------------ PDUs
    async def _pace(self, interval: float) -> None:
        """Take this device's next send slot: every PDU at least ``interval`` after the one before it, whichever of
        the collection's coroutines (the reads, the community probe alongside them) sends it."""
        now = time.monotonic()
        slot = max(now, self._last_send + interval)
        self._last_send = slot
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _pace_probe(self, interval: float) -> None:
        """Send the next default-community probe ``interval`` after the last one was sent, in a device slot
        (:meth:`_pace`); one coroutine sends the probes, one after another."""
        wait = self._last_probe + interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await self._pace(1.0 / self._rate)
        self._last_probe = time.monotonic()

    def _count_pdu(self) -> None:
        self._sent += 1
        counter = _ITEM_PDUS.get()
        if counter is not None:
            counter[0] += 1

    def _target_name(self, engine: Any, auth: Any, target: Any) -> str:
        """The engine's target for these credentials and this agent, configured at the first request to it.

        pysnmp's high-level calls redo this lookup and resolve every OID against a MIB view (its own MIB modules,
        loaded per engine) at every request; the audit sends numeric OIDs, so its requests go to pysnmp's GET,
        GETNEXT and GETBULK command generators directly. The session's target is kept; a probe's is asked anew
        (the security-level probe reconfigures the same user at another level).
        """
        session = engine is self._engine and auth is self._auth_main and target is self._target_main
        if session and self._session_target is not None:
            return self._session_target
        name, _params = LCD.configure(engine, auth, target, b"")
        if session:
            self._session_target = name
        return name

    async def _send(self, kind: str, oids: Sequence[str], *, auth: Any = None, target: Any = None,
                    engine: Any = None, repetitions: int = 0, budget: bool = True) -> _Answer:
        """Send ONE read PDU (get / next / bulk) and wait for its answer, bounded."""
        stop_if_cancelled()  # an endless walk must stop at the asset timeout, even if wait_for swallowed it
        if budget and time.monotonic() > self._deadline:
            raise _OutOfBudget()
        engine = engine or self._engine
        auth = auth or self._auth_main
        target = target or self._target_main
        await self._pace(1.0 / self._rate)
        self._count_pdu()
        varbinds = [(oid_tuple(oid), snmp_v2c.null) for oid in oids]
        bound = float(self.endpoint.timeout) * (self.retries + 1) + 2.0
        parse_errors = _asn_parse_errors(engine)
        answer = _Answer()
        try:
            future: asyncio.Future[tuple[Any, Any, Any, Any]] = asyncio.get_running_loop().create_future()
            target_name = self._target_name(engine, auth, target)
            if kind == "get":
                GetCommandGenerator().send_varbinds(engine, target_name, None, b"", varbinds, _answered, future)
            elif kind == "next":
                NextCommandGeneratorSingleRun().send_varbinds(engine, target_name, None, b"", varbinds, _answered,
                                                              future)
            elif kind == "bulk":
                BulkCommandGeneratorSingleRun().send_varbinds(engine, target_name, None, b"", 0, max(1, repetitions),
                                                              varbinds, _answered, future)
            else:  # pragma: no cover - programming error
                raise ValueError(f"unknown PDU kind {kind}")
            indication, status, index, var_binds = await asyncio.wait_for(future, bound)
        except asyncio.TimeoutError:
            answer.indication, answer.indication_kind = f"no answer within {bound:g} s", "hard-timeout"
        except Exception as exc:  # a malformed answer must never crash the collection
            answer.indication = f"{exc.__class__.__name__}: {exc}"
            answer.indication_kind = exc.__class__.__name__
        else:
            if indication:
                answer.indication = str(indication)
                answer.indication_kind = indication.__class__.__name__
            answer.status = int(status or 0)
            answer.index = int(index or 0)
            answer.varbinds = [(_name(vb), vb[1]) for vb in (var_binds or ())]
        answer.add_garbage(_asn_parse_errors(engine) - parse_errors)
        if answer.garbage or (answer.indication and answer.indication_kind not in _ANSWERED):
            self._unclean.add(id(engine))  # a request may still be in flight, or a late answer coming
        return answer

    # ------------------------------------------------------------------ get
    async def _get_item(self, req: EvidenceRequest) -> tuple[str, Any, str | None, dict[str, Any]]:
        oids = [oid_text(o) for o in req.target.split()]
        if not oids:
            raise ValueError("a get request names no OID")
        found: dict[str, dict[str, Any]] = {}
        error: str | None = None
        queue = [oids[i:i + self.get_chunk] for i in range(0, len(oids), self.get_chunk)]
        while queue:  # bounded: every round answers, drops or splits a chunk
            pending = queue.pop(0)
            answer = await self._send("get", pending)
            if answer.indication:
                error = f"GET failed: {answer.indication}"
                break
            if answer.status:
                if (self._creds.version == "1" and answer.status_name == "noSuchName"
                        and 1 <= answer.index <= len(pending)):
                    missing = pending.pop(answer.index - 1)
                    found[missing] = {"oid": missing, "type": "noSuchName", "value": None}
                    if pending:
                        queue.insert(0, pending)
                    continue
                if answer.status_name == "tooBig" and len(pending) > 1:
                    half = len(pending) // 2
                    queue[0:0] = [pending[:half], pending[half:]]
                    continue
                error = f"the agent answered error-status {answer.status_name} (index {answer.index})"
                break
            for oid, value in answer.varbinds:
                entry = encode_value(oid, value)
                found[entry["oid"]] = entry
        data = {"varbinds": [found[o] for o in oids if o in found]}
        return ("error" if error else "ok"), data, error, {}

    # ------------------------------------------------------------------ walk
    async def _walk_item(self, req: EvidenceRequest) -> tuple[str, Any, str | None, dict[str, Any]]:
        roots = [oid_tuple(r) for r in req.target.split()]
        if not roots:
            raise ValueError("a walk request names no subtree")
        max_rows = int(req.option("max_rows", self.max_rows))
        max_rows = max(1, min(max_rows, limits.MAX_WALK_ROWS))
        max_seconds = float(req.option("max_seconds", self.walk_seconds))
        masker = self._masker(req.option("mask_index"))
        rows, reason = await self._walk(roots, max_rows, max_seconds, masker)
        data = {"roots": [oid_text(r) for r in roots], "rows": rows, "complete": reason is None}
        meta: dict[str, Any] = {"rows": len(rows)}
        if reason is not None:
            meta["truncated"] = True
            return "error", data, f"walk of {req.target} stopped after {len(rows)} rows: {reason}", meta
        return "ok", data, None, meta

    async def _walk(self, roots: list[tuple[int, ...]], max_rows: int, max_seconds: float,
                    masker: Callable[[tuple[int, ...], tuple[int, ...]], tuple[int, ...]]
                    ) -> tuple[list[dict[str, Any]], str | None]:
        last = list(roots)
        active = list(range(len(roots)))
        rows: list[dict[str, Any]] = []
        ceiling = self.max_repetitions
        repetitions = max(1, min(self.first_repetitions, ceiling))
        stop_at = time.monotonic() + max_seconds
        v1 = self._creds.version == "1"
        kept_bytes = 0
        while active:
            if len(rows) >= max_rows:
                return rows, f"row limit of {max_rows} reached (an agent that never ends its table?)"
            if kept_bytes >= limits.MAX_WALK_BYTES:
                return rows, f"byte limit of {limits.MAX_WALK_BYTES} reached (values of {kept_bytes} bytes)"
            if time.monotonic() > stop_at:
                return rows, f"time limit of {max_seconds:g} s reached"
            oids = [oid_text(last[i]) for i in active]
            if v1:
                answer = await self._send("next", oids)
            else:
                room = max(1, (max_rows - len(rows) + len(active) - 1) // len(active))
                answer = await self._send("bulk", oids, repetitions=min(repetitions, room))
            if answer.indication:
                return rows, answer.indication
            if answer.status:
                name = answer.status_name
                if v1 and name == "noSuchName" and 1 <= answer.index <= len(active):
                    active.pop(answer.index - 1)  # SNMPv1 end of the MIB view for that column
                    continue
                if name == "tooBig" and repetitions > 1:
                    repetitions = ceiling = max(1, repetitions // 2)
                    continue
                return rows, f"the agent answered error-status {name}"
            if not answer.varbinds:
                return rows, "the agent answered with an empty var-bind list"
            repetitions = min(ceiling, repetitions * 3)
            width = len(active)
            done: set[int] = set()
            progressed = False
            for position, (oid, value) in enumerate(answer.varbinds):
                column = active[position % width]
                if column in done:
                    continue
                if type_name(value) == "endOfMibView" or not is_under(oid, roots[column]):
                    done.add(column)
                    continue
                if oid <= last[column]:
                    return rows, (f"the agent returned a non-increasing OID ({oid_text(oid)} after "
                                  f"{oid_text(last[column])}), a loop")
                rows.append(encode_value(masker(oid, roots[column]), value))
                kept_bytes += len(rows[-1].get("hex") or "") // 2
                last[column] = oid
                progressed = True
                if len(rows) >= max_rows:
                    break
            active = [c for c in active if c not in done]
            if not progressed and not done:
                return rows, "the agent made no progress (no new OID in its answer)"
        return rows, None

    def _masker(self, spec: Any) -> Callable[[tuple[int, ...], tuple[int, ...]], tuple[int, ...]]:
        if not spec:
            return lambda oid, root: oid
        text = str(spec)
        if not text.startswith("str@") or not text[4:].isdigit():
            raise ValueError(f"unknown mask_index {spec!r} (expected 'str@N')")
        position = int(text[4:])
        key = self._mask_key

        def mask(oid: tuple[int, ...], root: tuple[int, ...]) -> tuple[int, ...]:
            index = oid[len(root):]
            if len(index) <= position:
                return oid
            length = index[position]
            raw_ids = index[position + 1: position + 1 + length]
            if len(raw_ids) != length or any(b > 255 for b in raw_ids):
                return oid[:len(root)] + index[:position] + (0,)  # not a string index: drop the rest
            token = hmac.new(key, bytes(raw_ids), hashlib.sha256).digest()[:4]
            return oid[:len(root)] + index[:position] + (4, *token) + index[position + 1 + length:]

        return mask

    # ------------------------------------------------------------------ probes
    async def _counters(self) -> dict[str, int | None] | None:
        try:
            answer = await self._send("get", list(PROBE_COUNTERS.values()))
        except _OutOfBudget:
            return None
        if answer.indication or answer.status:
            return None
        by_oid = {oid_text(oid): value for oid, value in answer.varbinds}
        out: dict[str, int | None] = {}
        for name, oid in PROBE_COUNTERS.items():
            entry = encode_value(oid, by_oid[oid]) if oid in by_oid else None
            out[name] = entry["value"] if entry and isinstance(entry.get("value"), int) else None
        return out

    async def _probe_communities(self, creds: _Credentials) -> tuple[str, Any, str | None, dict[str, Any]]:
        enabled = bool(self.endpoint.probe_default_communities or self.options.probe_default_communities)
        data: dict[str, Any] = {"enabled": enabled, "communities": list(DEFAULT_COMMUNITIES),
                                "interval_s": self.probe_interval, "oid": SYS_DESCR, "results": []}
        if not enabled:
            return "ok", data, None, {}
        plan: list[tuple[str, str, str]] = []  # (label, community, version)
        if creds.version == "3" and creds.community:
            label = creds.community_label() or "configured"
            plan += [(label, creds.community, "2c"), (label, creds.community, "1")]
        for name in DEFAULT_COMMUNITIES:
            for version in ("2c", "1"):
                if (name, version) not in {(c, v) for _, c, v in plan}:
                    plan.append((name, name, version))
        probe_address = await self._probe_address()
        data["counters_before"] = await self._counters()
        results = data["results"]
        pending: list[tuple[dict[str, Any], asyncio.Task[_Answer]]] = []
        interval = max(self.probe_interval, 1.0 / self._rate)
        try:
            for label, community, version in plan:
                entry: dict[str, Any] = {"community": label, "version": version}
                results.append(entry)
                if creds.version == version and creds.community == community:
                    entry.update(outcome="answered", via="audit session")  # proven by the liveness GET
                    continue
                if time.monotonic() > self._deadline:
                    raise _OutOfBudget()
                # one probe per interval; each waits for its answer while the next one is spaced out
                await self._pace_probe(interval)
                pending.append((entry, asyncio.create_task(self._bare_get(probe_address, community, version))))
            for entry, task in pending:
                entry.update(_probe_outcome(await task))
        finally:
            for _entry, task in pending:
                task.cancel()
        data["counters_after"] = await self._counters()
        return "ok", data, None, {}

    async def _probe_address(self) -> tuple[int, Any]:
        """(address family, socket address) of the agent for the bare probe GETs."""
        loop = asyncio.get_running_loop()
        try:
            found = await asyncio.wait_for(loop.getaddrinfo(self.asset.address, self.endpoint.port,
                                                            type=socket.SOCK_DGRAM),
                                           timeout=float(self.endpoint.timeout) + 5)
        except Exception as exc:
            raise ConnectorError(f"cannot resolve {self.asset.address}: {exc.__class__.__name__}: {exc}") from None
        family, _type, _proto, _name, address = found[0]
        return family, address

    async def _bare_get(self, where: tuple[int, Any], community: str, version: str) -> _Answer:
        """One probe: a GET of ``sysDescr.0`` with ``community``, as a bare SNMPv1/v2c message on its own socket.

        Through the SNMP engine every probe community costs three rows in the engine's configuration MIB
        (community, target parameters, target address): in a plant of switches a fifth of the scanner's CPU,
        for one GET that is never retried. Only a GetRequest PDU is built here. The first datagram that decodes
        as this version's response to this request id is the answer; anything else the agent sends is counted
        as not valid SNMP, as the engine counts it.
        """
        stop_if_cancelled()
        self._count_pdu()
        module = snmp_api.PROTOCOL_MODULES[snmp_api.SNMP_VERSION_1 if version == "1" else snmp_api.SNMP_VERSION_2C]
        pdu = module.GetRequestPDU()
        module.apiPDU.set_defaults(pdu)
        module.apiPDU.set_varbinds(pdu, [(oid_tuple(SYS_DESCR), module.Null(""))])
        message = module.Message()
        module.apiMessage.set_defaults(message)
        module.apiMessage.set_community(message, community)
        module.apiMessage.set_pdu(message, pdu)
        family, address = where
        loop = asyncio.get_running_loop()
        answer = _Answer()
        # not a connected socket: an agent may answer from another of its addresses, and the engine takes such
        # an answer too (by request id), so the probe must not call that agent silent
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        transport, receiver = await loop.create_datagram_endpoint(
            lambda: _ProbeReceiver(module, int(module.apiPDU.get_request_id(pdu))), sock=sock)
        try:
            transport.sendto(ber_encoder.encode(message), address)
            response = await asyncio.wait_for(receiver.response, float(self.endpoint.timeout))
        except asyncio.TimeoutError:
            answer.indication, answer.indication_kind = "No SNMP response received before timeout", "RequestTimedOut"
        else:
            answer.status = int(module.apiPDU.get_error_status(response))
            answer.index = int(module.apiPDU.get_error_index(response))
            answer.varbinds = [(oid_tuple(name), value) for name, value in module.apiPDU.get_varbinds(response)]
        finally:
            transport.close()
        answer.add_garbage(receiver.garbage)
        return answer

    async def _probe_levels(self, creds: _Credentials) -> tuple[str, Any, str | None, dict[str, Any]]:
        data: dict[str, Any] = {"version": creds.version, "configured_level": creds.level, "oid": SYS_DESCR,
                                "results": []}
        if creds.version != "3":
            data["applicable"] = False
            return "ok", data, None, {}
        data["applicable"] = True
        lower = _LEVEL_ORDER[:_LEVEL_ORDER.index(creds.level)]
        if not lower:
            return "ok", data, None, {}
        # a separate engine: the same user at another level must not replace the audit one
        key = engines.fingerprint("security-levels", creds.username, creds.auth_name, creds.auth_key)
        with self._borrowed_engine(key) as engine:
            target = await self._target(retries=0)
            for level in reversed(lower):
                answer = await self._send("get", [SYS_DESCR], auth=self._auth_data(creds, level), target=target,
                                          engine=engine)
                data["results"].append({"level": level, **_probe_outcome(answer)})
        return "ok", data, None, {}

    # ------------------------------------------------------------------ recording
    def _json(self, data: Any) -> str:
        text = json.dumps(data, sort_keys=True)
        for needle, replacement in self._redactions:
            text = text.replace(needle, replacement)
        return text


class _ProbeReceiver(asyncio.DatagramProtocol):
    """The socket of one bare probe GET: waits for the response to its request id."""

    def __init__(self, module: Any, request_id: int):
        self.module = module
        self.request_id = request_id
        self.response: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.garbage = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.response.done():
            return
        try:
            message, rest = ber_decoder.decode(data, asn1Spec=self.module.Message())
            pdu = self.module.apiMessage.get_pdu(message)
            valid = not rest and pdu.tagSet == self.module.GetResponsePDU.tagSet
        except Exception:  # not SNMP, or not this version's message
            valid = False
        if not valid:
            self.garbage += 1
        elif int(self.module.apiPDU.get_request_id(pdu)) == self.request_id:
            self.response.set_result(pdu)

    def error_received(self, exc: Exception) -> None:
        """A send error: the agent stays silent, as for the engine, and the GET times out."""


def _probe_outcome(answer: _Answer) -> dict[str, Any]:
    """How the agent reacted to one probe GET, in words the pack can judge."""
    if answer.timed_out:
        return {"outcome": "timeout", "detail": answer.indication}
    if answer.indication:
        return {"outcome": "rejected", "detail": answer.indication, "indication": answer.indication_kind}
    if answer.status:
        return {"outcome": "rejected" if answer.status_name == "authorizationError" else "error-status",
                "detail": f"error-status {answer.status_name}"}
    values = [encode_value(oid, value) for oid, value in answer.varbinds]
    if values and values[0]["type"] in ("noSuchObject", "noSuchInstance"):
        return {"outcome": "answered", "detail": f"answered with {values[0]['type']} (request accepted, "
                                                 f"object not in its view)", "varbinds": values}
    return {"outcome": "answered", "varbinds": values}


@functools.lru_cache(maxsize=64)
def _master_key(auth: Any, priv: Any, passphrase: str) -> bytes:
    """An SNMPv3 pass phrase hashed to its master key (RFC 3414, A.2), for the auth protocol or, with ``priv``, the
    privacy protocol.

    The hash runs over a megabyte (about 10 ms of CPU) and pysnmp repeats it for every engine a user is added to:
    with the switches of a plant sharing their audit user, that was the largest single cost of an SNMPv3 switch's
    collection. The engine still localizes the master key to each agent's engine ID. Kept in this process's memory
    only, as the pass phrases themselves are while the scan runs.
    """
    phrase = OctetString(passphrase)  # encoded as pysnmp encodes a pass phrase it is given
    if priv is None:
        return bytes(AUTH_SERVICES[auth].hash_passphrase(phrase))
    return bytes(PRIV_SERVICES[priv].hash_passphrase(auth, phrase))


def _answered(_engine: Any, _handle: Any, indication: Any, status: Any, index: Any, var_binds: Any,
              future: "asyncio.Future[tuple[Any, Any, Any, Any]]") -> None:
    """pysnmp's callback with the answer to one request (or why there is none)."""
    if not future.done():
        future.set_result((indication, status, index, var_binds))


def _name(varbind: Any) -> tuple[int, ...]:
    name = varbind[0]
    if hasattr(name, "get_oid"):
        name = name.get_oid()
    return oid_tuple(name)


def _asn_parse_errors(engine: Any) -> int:
    """The engine's own snmpInASNParseErrs: datagrams it received that were not valid SNMP."""
    try:
        symbol, = engine.get_mib_builder().import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")
        return int(symbol.syntax)
    except Exception:  # pragma: no cover - diagnostics only
        return 0


def _redactions(secrets: list[str]) -> list[tuple[str, str]]:
    """(needle, replacement) pairs hiding each secret as JSON text, hex and OID-encoded bytes."""
    pairs: list[tuple[str, str]] = []
    for secret in sorted(set(secrets), key=len, reverse=True):
        raw = secret.encode("utf-8")
        if not raw:
            continue
        pairs.append((json.dumps(secret)[1:-1], "*" * len(secret)))
        pairs.append((raw.hex(), "2a" * len(raw)))
        if len(raw) >= 3:
            pairs.append((".".join(str(b) for b in raw), ".".join(["42"] * len(raw))))
    return pairs
