"""The Modbus/TCP connector: strictly read-only, one connection, paced, every frame recorded.

What it does for the requests of one asset, in order:

1. One connection to the inventory endpoint (``address:port``, unit id from the inventory): plain
   Modbus/TCP, or Modbus/TCP Security (TLS) when the endpoint's ``tls`` says so or, unset, when the
   port is 802; client certificate, key (passphrase by reference) and CA from the endpoint's
   ``client_cert_file`` / ``client_key_file`` / ``client_key_passphrase_env`` / ``ca_file`` (see
   :mod:`connectors.modbus.tls`).
   The reads are sent one at a time, paced by the endpoint's ``requests_per_second`` (default 5),
   each bounded by the endpoint's ``timeout``. Only the function codes of
   :data:`connectors.modbus.safety.ALLOWED` can be built and sent; the frame gate refuses anything else
   before it reaches the socket. A timeout, a reset, a truncated or malformed answer closes the
   connection for good: the reads not yet sent are reported as not sent (no retry, no reconnect).
   So does an answer ten times slower than the first one (and over 0.5 s): a PLC whose response
   time grows is left alone (safety interlock).
   When a fault ends the session at the FIRST request (the port accepts the connection but resets it, closes it,
   stays silent or answers something that is not Modbus/TCP), the endpoint is unusable
   (:class:`ConnectorError`, the asset is ``error``), as an SSH or OPC UA peer that fails its
   handshake is; the items read so far are kept. Responses are bounded by the protocol itself: an
   MBAP frame is at most 260 bytes and a device identification read follows at most
   ``_MAX_CONTINUATIONS`` "more follows" pages.
2. The exposure probes, one after the other at the same pace: one TCP connect per port (no byte
   sent), and on 802 one anonymous TLS handshake on that same connection (no Modbus sent over it).
3. The ``modbus:session:info`` item: transport, TLS facts of the session, what was sent.

Request ops (``auditor.registry.request("modbus", op, target, **options)``):

=========================== ======================= ==========================================
op                          target                  sends
=========================== ======================= ==========================================
read_coils                  start address ("0")     FC 1, ``count`` option (default 1)
read_discrete_inputs        start address           FC 2
read_holding_registers      start address           FC 3
read_input_registers        start address           FC 4
read_device_identification  basic|regular|extended  FC 43 / MEI 14 (follows "more follows", max 8)
report_server_id            "" (any)                FC 17
tcp_probe                   port                    a TCP connect, nothing else
tls_probe                   port                    a TCP connect + anonymous TLS handshake
session                     info                    nothing (json summary of the session)
=========================== ======================= ==========================================

Read items are ``json``: ``{"function_code", "unit_id", "transport", "request": {...},
"exchanges": [{"request": <ADU base64>, "response": <ADU base64>|null, "ms"}]}``; a failed read has
``status="error"`` with the reason and whatever bytes arrived (``partial_response``). Exception
responses are answers: ``status="ok"``, the parsers decide what they mean.

A TLS endpoint without ``client_cert_file``/``client_key_file`` is read anonymously: a PLC that enforces
mutual authentication refuses that session, and the items' reasons name the inventory fields to set.
A credential the endpoint names but that cannot be used (missing file, encrypted key without
passphrase, unset passphrase variable) sends nothing: the reads are reported as not sent, with why, and
the session info says so in ``credential_error`` (its ``error`` is kept for a session the PLC refused).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import ssl
import time
from typing import Any, Sequence

from auditor.evidence import EvidenceItem, EvidenceRequest
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, stop_if_cancelled
from connectors.modbus import safety
from connectors.modbus.probes import tcp_probe, tls_probe
from connectors.modbus.tls import (CLIENT_CERT_FIELDS, ClientCredentials, CredentialError, client_credentials,
                                   session_context, uses_tls)
from connectors.modbus.transport import ConnectFailed, Exchange, ModbusSession, RateLimiter, TransportFault

log = logging.getLogger(__name__)

__all__ = ["ModbusConnector", "PROBE_OPS", "READ_OPS", "SESSION_INFO"]

SESSION_INFO = EvidenceRequest(protocol="modbus", op="session", target="info")
READ_OPS: dict[str, int] = {"read_coils": 1, "read_discrete_inputs": 2, "read_holding_registers": 3,
                            "read_input_registers": 4, "read_device_identification": 43, "report_server_id": 17}
PROBE_OPS = ("tcp_probe", "tls_probe")
# The order reads are sent in: the plainest first, the ones a device may ignore (FC 17 is a
# serial-line function) last, so one silent refusal costs as little evidence as possible.
_ORDER = {3: 0, 4: 1, 1: 2, 2: 3, 43: 4, 17: 5}
_MAX_CONTINUATIONS = 8  # FC 43 "more follows" requests at most, per read
_PROBE_TIMEOUT = 3.0  # a probe waits at most this (or the endpoint timeout, if shorter)
_TLS_SETTLE = 1.0
_INTERLOCK_FACTOR, _INTERLOCK_MIN_MS = 10.0, 500.0  # stop when an answer takes 10x the first one and > 0.5 s


class ModbusConnector(Connector):
    """Reads evidence from a PLC over Modbus/TCP (see the module docstring for the exact behaviour)."""

    protocol = "modbus"

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        items = self.collected
        reads: list[EvidenceRequest] = []
        probes: list[EvidenceRequest] = []
        info_request: EvidenceRequest | None = None
        for req in requests:
            if req.protocol == "modbus" and req.op in READ_OPS:
                reads.append(req)
            elif req.protocol == "modbus" and req.op in PROBE_OPS and _port(req.target) is not None:
                probes.append(req)
            elif req.protocol == "modbus" and req.op == "session" and req.target == "info":
                info_request = req
            else:
                items.append(self.item(req, started=time.monotonic(), status="error",
                                       error=f"{req.protocol}:{req.op}:{req.target} is not a read this connector "
                                             "performs (read-only allow-list); nothing was sent"))
        limiter = RateLimiter(self.endpoint.requests_per_second)
        info: dict[str, Any] = {
            "port": self.endpoint.port, "unit_id": self.endpoint.unit_id,
            "transport": "tls" if self._tls else "tcp",
            "requests_per_second": self.endpoint.requests_per_second, "timeout_s": self.endpoint.timeout,
            "connected": False, "connect_ms": None, "error": None, "credential_error": None, "tls": None, "sent": [],
            "aborted": None,
            "fault": None, "interlock": None,
        }
        started = time.monotonic()
        if reads or info_request is not None:
            try:
                await self._reads(reads, limiter, info, items)
            except ConnectorError as exc:
                exc.partial_items = items + [self._info_item(info_request, info, limiter, started)]
                raise
        items.extend(await self._probes(probes, limiter))
        tried = info["credential_error"] is None  # an unusable credential: the endpoint itself was not tried
        if not info["connected"] and tried and probes and all(
                _probe_state(i) in ("closed", "filtered", "unreachable", None) for i in items if i.request in probes):
            raise _unreachable(f"no port of {self.asset.address} answered", items)
        if info_request is not None:
            items.append(self._info_item(info_request, info, limiter, started))
        return items

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """Every frame and connection :meth:`collect` would send, in its order, with its pace (no network)."""
        ep = self.endpoint
        reads = [r for r in requests if r.protocol == "modbus" and r.op in READ_OPS]
        probes = [r for r in requests if r.protocol == "modbus" and r.op in PROBE_OPS and _port(r.target) is not None]
        info = next((r for r in requests if r.protocol == "modbus" and r.op == "session" and r.target == "info"), None)
        steps: list[PlannedRequest] = []
        where = f"{self.asset.address}:{ep.port}"
        if reads or info is not None:
            how = "TCP connection and TLS handshake (Modbus/TCP Security)" if self._tls else "TCP connection"
            steps.append(PlannedRequest("connect", where, 1, f"one {how}, unit id {ep.unit_id}"))
        for req in sorted(reads, key=lambda r: _ORDER.get(READ_OPS[r.op], 9)):
            function = READ_OPS[req.op]
            if function in (1, 2, 3, 4):
                target, detail = f"address {req.target or 0}", f"{req.option('count', 1)} item(s)"
            elif function == 43:
                target, detail = f"MEI 14, {req.target}", f"and at most {_MAX_CONTINUATIONS} 'more follows' pages"
            else:
                target, detail = "", ""
            steps.append(PlannedRequest(f"FC {function} {req.op}", target, 1, detail, req.key))
        for port in sorted({_port(r.target) for r in probes}):  # type: ignore[type-var]
            served = [r for r in probes if _port(r.target) == port]
            tls = any(r.op == "tls_probe" for r in served)
            steps.append(PlannedRequest("tls probe" if tls else "tcp probe", f"{self.asset.address}:{port}", 1,
                                        "one TCP connect and an anonymous TLS handshake, no Modbus sent" if tls
                                        else "one TCP connect, no byte sent", " ".join(r.key for r in served)))
        for req in requests:
            if req not in reads and req not in probes and req is not info:
                steps.append(PlannedRequest(req.op, req.target, 0, "not on the read-only allow-list: nothing sent",
                                            req.key))
        steps.append(PlannedRequest("record", "session info", 0, "nothing sent: what the session was",
                                    (info or SESSION_INFO).key))
        actions = sum(step.count or 0 for step in steps)
        pacing = (f"one action at a time, at most {ep.requests_per_second:g} per second, {ep.timeout:g} s each, no "
                  "retry; the first fault or a slowing PLC ends the session")
        return ConnectorPlan(pacing=pacing, steps=steps,
                             min_seconds=round(max(0, actions - 1) / ep.requests_per_second, 2))

    def _info_item(self, req: EvidenceRequest | None, info: dict[str, Any], limiter: RateLimiter,
                   started: float) -> EvidenceItem:
        info["actions"] = limiter.count
        info["duration_ms"] = round((time.monotonic() - started) * 1000, 2)
        return self.item(req or SESSION_INFO, started=started, encoding="json", response=json.dumps(info, sort_keys=True))

    # ------------------------------------------------------------------ Modbus reads
    async def _reads(self, reads: list[EvidenceRequest], limiter: RateLimiter, info: dict[str, Any],
                     items: list[EvidenceItem]) -> None:
        """The Modbus reads, appended to ``items`` as they are made; ConnectorError when no request was answered."""
        host, port, timeout = self.asset.address, self.endpoint.port, float(self.endpoint.timeout)
        tls_ctx: ssl.SSLContext | None = None
        credentials: ClientCredentials | None = None
        if self._tls:
            try:
                credentials = client_credentials(self.endpoint)
                tls_ctx = session_context(credentials)
            except CredentialError as exc:
                # Not "error": that means the PLC refused the session, and here nothing was even tried.
                info["credential_error"] = str(exc)
                items.extend(self._not_sent(req, str(exc)) for req in reads)
                return
            info["tls"] = {"client_certificate": credentials.describe()}
        session = ModbusSession(host, port, self.endpoint.unit_id, timeout, limiter, tls_ctx)
        try:
            try:
                info["connect_ms"] = round(await session.open(), 2)
            except ConnectFailed as exc:
                info["error"] = str(exc)
                if exc.kind != "tls":
                    raise _unreachable(str(exc), items) from None
                # The port is there but the TLS session was refused: evidence in itself (a PLC
                # enforcing mutual authentication refuses an auditor without a certificate).
                items.extend(self._not_sent(req, f"{exc}{_hint(credentials)}") for req in reads)
                return
            info["connected"] = True
            if tls_ctx is not None:
                info["tls"].update(_session_tls(session))
            hint = _hint(credentials) if tls_ctx is not None else ""
            for req in sorted(reads, key=lambda r: _ORDER.get(READ_OPS[r.op], 9)):
                items.append(await self._read(session, req, info, hint))
                slowdown = _slowdown(session.response_ms)
                if slowdown and session.is_open:  # safety interlock: a PLC that slows down is left alone
                    info["interlock"] = slowdown
                    await session.stop(slowdown)
        finally:
            await session.close()
            info["sent"] = session.sent
            info["aborted"] = session.closed_reason
        refused_identity = tls_ctx is not None and info["fault"] is not None and info["fault"]["kind"] == "closed"
        if info["fault"] is not None and not session.response_ms and not refused_identity:
            # the port took the connection but never gave one Modbus answer: not a PLC we can assess (a TLS
            # peer that closes after the handshake refused our identity instead: evidence, kept as such)
            raise _unreachable(f"{host}:{port} accepted the connection but gave no Modbus/TCP answer: "
                               f"{info['fault']['reason']}", items)

    async def _read(self, session: ModbusSession, req: EvidenceRequest, info: dict[str, Any],
                    hint: str = "") -> EvidenceItem:
        started = time.monotonic()
        function = READ_OPS[req.op]
        record: dict[str, Any] = {"function_code": function, "unit_id": session.unit_id,
                                  "transport": info["transport"], "request": {}, "exchanges": []}
        try:
            pdu = self._build(req, function, record)
        except (safety.ForbiddenRequest, ValueError) as exc:
            return self.item(req, started=started, status="error", encoding="json", response=json.dumps(record),
                             error=str(exc))
        if not session.is_open:
            return self._not_sent(req, (session.closed_reason or "no connection") + hint, record)
        exchanges: list[Exchange] = []
        try:
            exchange = await session.exchange(pdu)
            exchanges.append(exchange)
            if function == 43:
                seen = {pdu[3]}
                while len(exchanges) <= _MAX_CONTINUATIONS:
                    follow = _next_object(exchange.response)
                    if follow is None or follow in seen:
                        break
                    seen.add(follow)
                    exchange = await session.exchange(safety.read_device_identification(pdu[2], follow))
                    exchanges.append(exchange)
        except TransportFault as exc:
            if info.get("fault") is None:  # the fault that ended the session, for the parsers
                info["fault"] = {"op": req.op, "function_code": function, "kind": exc.kind, "reason": str(exc),
                                 "answered_before": len(session.sent) - 1}
            record["exchanges"] = [e.as_json() for e in exchanges]
            if exc.partial:
                record["partial_response"] = _b64(exc.partial)
            return self.item(req, started=started, status="error", encoding="json", response=json.dumps(record),
                             error=f"{req.op}: {exc}{hint if exc.kind == 'closed' else ''}")
        record["exchanges"] = [e.as_json() for e in exchanges]
        return self.item(req, started=started, encoding="json", response=json.dumps(record))

    @property
    def _tls(self) -> bool:
        return uses_tls(self.endpoint.port, self.endpoint.tls)

    def _build(self, req: EvidenceRequest, function: int, record: dict[str, Any]) -> bytes:
        if function in (1, 2, 3, 4):
            address = int(req.target or 0)
            count = int(req.option("count", 1))
            record["request"] = {"address": address, "count": count}
            if function in (1, 2):
                return safety.read_bits(function, address, count)
            return safety.read_registers(function, address, count)
        if function == 43:
            code = safety.READ_DEVICE_ID_CODES.get(req.target)
            if code is None:
                raise ValueError(f"read_device_identification target must be one of "
                                 f"{sorted(safety.READ_DEVICE_ID_CODES)}, not {req.target!r}")
            record["request"] = {"read_code": code, "object_id": 0}
            return safety.read_device_identification(code, 0)
        return safety.report_server_id()

    def _not_sent(self, req: EvidenceRequest, reason: str, record: dict[str, Any] | None = None) -> EvidenceItem:
        body = record if record is not None else {"function_code": READ_OPS.get(req.op), "exchanges": []}
        return self.item(req, started=time.monotonic(), status="error", encoding="json", response=json.dumps(body),
                         error=f"not sent: {reason}")

    # ------------------------------------------------------------------ exposure probes
    async def _probes(self, probes: list[EvidenceRequest], limiter: RateLimiter) -> list[EvidenceItem]:
        host = self.asset.address
        timeout = min(float(self.endpoint.timeout), _PROBE_TIMEOUT)
        by_port: dict[int, list[EvidenceRequest]] = {}
        for req in probes:
            by_port.setdefault(_port(req.target), []).append(req)  # type: ignore[arg-type]
        items = []
        for port in sorted(by_port):
            wants_tls = any(r.op == "tls_probe" for r in by_port[port])
            stop_if_cancelled()
            await limiter.wait()
            started = time.monotonic()
            try:
                result = await (tls_probe(host, port, timeout, settle=min(_TLS_SETTLE, timeout)) if wants_tls
                                else tcp_probe(host, port, timeout))
            except Exception as exc:  # a probe must never take the collection down
                log.debug("probe of %s:%s failed", host, port, exc_info=True)
                items.extend(self.item(req, started=started, status="error", error=f"probe failed: {exc!r}")
                             for req in by_port[port])
                continue
            for req in by_port[port]:  # a tcp_probe and a tls_probe of one port share one connection
                body = result if req.op == "tls_probe" else {k: v for k, v in result.items() if k != "tls"}
                items.append(self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True)))
        return items


def _slowdown(response_ms: list[float]) -> str | None:
    """Why to stop sending, if the PLC's answers got much slower than its first one (response time interlock)."""
    if len(response_ms) < 2:
        return None
    first, last = response_ms[0], response_ms[-1]
    if last > max(_INTERLOCK_MIN_MS, _INTERLOCK_FACTOR * first):
        return (f"safety interlock: the response time grew from {first:.0f} ms to {last:.0f} ms, so no further "
                "request was sent")
    return None


def _port(target: str) -> int | None:
    try:
        port = int(target)
    except (TypeError, ValueError):
        return None
    return port if 1 <= port <= 65535 else None


def _probe_state(item: EvidenceItem) -> str | None:
    try:
        return json.loads(item.response).get("state")
    except (ValueError, AttributeError):
        return None


def _next_object(response: bytes | None) -> int | None:
    """The next object id of an FC 43/14 response that says "more follows" (transport-level paging only)."""
    if not response or len(response) < 14 or response[7] != 43 or response[8] != 14:
        return None
    more_follows, next_object = response[11], response[12]
    return next_object if more_follows == 0xFF else None


def _session_tls(session: ModbusSession) -> dict[str, Any]:
    writer = session._writer  # noqa: SLF001 - the session owns it; read-only look at the TLS facts
    ssl_object = writer.get_extra_info("ssl_object") if writer is not None else None
    if ssl_object is None:
        return {}
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return {"version": ssl_object.version(), "cipher": cipher[0] if cipher else None,
            "server_certificate": _b64(der) if der else None,
            "server_certificate_sha256": hashlib.sha256(der).hexdigest() if der else None,
            "verified": session.tls is not None and session.tls.verify_mode == ssl.CERT_REQUIRED}


def _unreachable(reason: str, items: list[EvidenceItem]) -> ConnectorError:
    exc = ConnectorError(reason)
    exc.partial_items = items
    return exc


def _hint(credentials: ClientCredentials | None) -> str:
    if credentials is not None and credentials.cert_file:
        return ""
    return (f" (no client certificate was presented: set {CLIENT_CERT_FIELDS} of the asset's modbus endpoint "
            "in the inventory if the PLC requires one)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

