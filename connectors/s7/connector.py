"""The S7 connector: one ISO-on-TCP connection, Setup Communication, then paced Read SZL requests.

What it does for the requests of one asset, in order:

1. TCP connect and COTP connection (rack and slot of the endpoint, as a PG), then S7 Setup
   Communication. A port that refuses, stays silent or answers something that is not S7 makes the
   endpoint unusable (:class:`ConnectorError`).
2. One Read SZL per request (``request("s7", "szl", "0x0011,0x0000")``: SZL id, index), sent one at a
   time, paced by the endpoint's ``requests_per_second`` (default 2), each answer awaited within the
   endpoint's ``timeout``; a list in several fragments is completed with follow-up requests within
   :mod:`connectors.s7.limits`. A refused SZL is an answer (the item says which return code); a timeout
   or a closed connection ends the session: the reads not yet sent are reported as not sent (no retry,
   no reconnect). A cancelled collection (the asset timeout) sends nothing more.
3. The ``s7:session:log`` item: every PDU sent (by name), its result and its time.

Every PDU goes through :func:`connectors.s7.safety.check_pdu` right before the socket: only Setup
Communication and Read SZL can leave this process. The protocol encoding is python-snap7's
(:class:`snap7.s7protocol.S7Protocol`, :class:`snap7.connection.ISOTCPConnection`); its client, which can
write, start and stop a CPU, is not used.
"""

from __future__ import annotations

import json
import struct
import threading
import time
from typing import Any, Sequence

from snap7.connection import ISOTCPConnection
from snap7.error import S7Error, S7ProtocolError
from snap7.s7protocol import S7Protocol

from auditor.evidence import EvidenceItem, EvidenceRequest
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, run_in_thread
from connectors.s7 import limits, safety

__all__ = ["S7Connector", "SESSION_LOG", "parse_target"]

SESSION_LOG = EvidenceRequest(protocol="s7", op="session", target="log")
_PG = 1  # connection type of a programming device (the remote TSAP's high byte)


def parse_target(target: str) -> tuple[int, int]:
    """``"0x0011,0x0000"`` -> (0x0011, 0): SZL id and index."""
    szl_id, _, index = target.partition(",")
    return int(szl_id, 0), int(index or "0", 0)


class _SessionEnded(Exception):
    """The connection failed; nothing more is sent."""


class S7Connector(Connector):
    """Reads SZL lists from an S7 CPU (see the module docstring for the exact behaviour)."""

    protocol = "s7"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._sent: list[dict[str, Any]] = []
        self._last_send = 0.0
        self._protocol = S7Protocol()
        self._cancel = threading.Event()

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        return await run_in_thread(lambda: self._collect(list(requests)), self._cancel)

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """Every PDU :meth:`collect` would send, in its order, with its pace (no network)."""
        ep = self.endpoint
        where = f"{self.asset.address}:{ep.port}"
        log_request = next((r for r in requests if r.op == "session" and r.target == "log"), None)
        steps = [PlannedRequest("connect", where, 1, f"one TCP connection and COTP connection request as a PG to "
                                                     f"rack {ep.rack}, slot {ep.slot}"),
                 PlannedRequest("Setup Communication", where, 1, "PDU size 480, one job at a time")]
        for req in requests:
            if req is log_request:
                continue
            try:
                if req.op != "szl":
                    raise ValueError("only Read SZL is sent")
                szl_id, index = parse_target(req.target)
            except ValueError:
                steps.append(PlannedRequest(req.op, req.target, 0, "not a read this connector performs: nothing sent",
                                            req.key))
                continue
            steps.append(PlannedRequest("Read SZL", f"0x{szl_id:04X},0x{index:04X}", 1,
                                        f"and at most {limits.MAX_FRAGMENTS} follow-ups if the list comes in "
                                        "fragments", req.key))
        steps.append(PlannedRequest("record", "session log", 0, "nothing sent: every PDU sent and its result",
                                    (log_request or SESSION_LOG).key))
        pdus = sum(1 for step in steps if step.count and step.operation != "connect")
        pacing = (f"one PDU at a time, at most {ep.requests_per_second:g} per second, {ep.timeout:g} s each; only "
                  f"{' and '.join(safety.ALLOWED)} can be sent; no retry, no reconnect: the first fault ends the session")
        return ConnectorPlan(pacing=pacing, steps=steps, min_seconds=round(max(0, pdus - 1) / ep.requests_per_second, 2))

    # ------------------------------------------------------------------ one session (a worker thread)
    def _collect(self, requests: list[EvidenceRequest]) -> list[EvidenceItem]:
        items = self.collected
        log_request = next((r for r in requests if r.op == "session" and r.target == "log"), SESSION_LOG)
        reads: list[tuple[EvidenceRequest, int, int]] = []
        for req in requests:
            if req is log_request:
                continue
            try:
                if req.op != "szl":
                    raise ValueError(f"unsupported op {req.op!r} (only szl)")
                szl_id, index = parse_target(req.target)
                if not (0 <= szl_id <= 0xFFFF and 0 <= index <= 0xFFFF):
                    raise ValueError("SZL id and index are 16-bit numbers")
            except ValueError as exc:
                items.append(self.item(req, started=time.monotonic(), status="error", error=f"{req.key}: {exc}"))
                continue
            reads.append((req, szl_id, index))
        started = time.monotonic()
        ep = self.endpoint
        connection = ISOTCPConnection(self.asset.address, ep.port, local_tsap=0x0100,
                                      remote_tsap=(_PG << 8) | (ep.rack << 5) | ep.slot)
        try:
            try:
                connection.connect(timeout=float(ep.timeout))
                setup = self._exchange(connection, self._protocol.build_setup_communication_request(1, 1, 480))
                if "refused" in setup:
                    raise _SessionEnded(f"Setup Communication refused: {setup['refused']}")
            except (S7Error, OSError, _SessionEnded) as exc:
                self._sent.append({"pdu": "connect", "result": _reason(exc)})
                raise ConnectorError(f"S7 at {self.asset.address}:{ep.port} (rack {ep.rack}, slot {ep.slot}) gave no "
                                     f"S7 answer: {_reason(exc)}", partial_items=items + [self._log_item(log_request, started)]) from None
            ended: str | None = None
            for req, szl_id, index in reads:
                read_started = time.monotonic()
                if ended is not None:
                    items.append(self.item(req, started=read_started, status="error", error=f"not sent: {ended}"))
                    continue
                try:
                    items.append(self._read_szl(connection, req, szl_id, index, read_started))
                except _SessionEnded as exc:
                    ended = str(exc)
                    items.append(self.item(req, started=read_started, status="error", error=ended))
        finally:
            try:
                connection.disconnect()
            except Exception:
                pass
        items.append(self._log_item(log_request, started))
        return items

    def _read_szl(self, connection: ISOTCPConnection, req: EvidenceRequest, szl_id: int, index: int,
                  started: float) -> EvidenceItem:
        response = self._exchange(connection, self._protocol.build_read_szl_request(szl_id, index))
        body: dict[str, Any] = {"szl_id": f"0x{szl_id:04X}", "index": f"0x{index:04X}"}
        if "refused" in response:
            body.update(answered=False, refused=response["refused"], answer=response["answer"])
            return self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True))
        params = response.get("parameters") if isinstance(response.get("parameters"), dict) else {}
        error_code = params.get("error_code", 0)
        data_info = response.get("data") if isinstance(response.get("data"), dict) else {}
        return_code = data_info.get("return_code", 0xFF)
        if error_code or return_code != 0xFF:
            # the CPU refused this list (it does not have it, or not for this index): an answer, not a fault
            body.update(answered=False, error_code=f"0x{error_code:04X}", return_code=f"0x{return_code:02X}")
            return self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True))
        fragment = self._protocol.parse_read_szl_response(response)
        data = bytearray(fragment["data"])
        meta: dict[str, Any] = {}
        fragments = 1
        while params.get("last_data_unit", 0) != 0 and fragments <= limits.MAX_FRAGMENTS \
                and len(data) <= limits.MAX_SZL_BYTES:
            followup = self._protocol.build_userdata_followup_request(safety.SZL_GROUP, safety.READ_SZL,
                                                                      params.get("sequence_number", 0))
            response = self._exchange(connection, followup)
            if "refused" in response:
                break
            params = response.get("parameters") if isinstance(response.get("parameters"), dict) else {}
            data.extend(self._protocol.parse_read_szl_response(response, first_fragment=False)["data"])
            fragments += 1
        if params.get("last_data_unit", 0) != 0 or len(data) > limits.MAX_SZL_BYTES:
            meta = {"truncated": True, "original_bytes": len(data), "kept_bytes": min(len(data), limits.MAX_SZL_BYTES),
                    "fragments": fragments}
            data = data[:limits.MAX_SZL_BYTES]
        body.update(answered=True, answered_id=f"0x{fragment['szl_id']:04X}", answered_index=f"0x{fragment['szl_index']:04X}",
                    data=bytes(data).hex(), fragments=fragments)
        return self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True), meta=meta)

    def _exchange(self, connection: ISOTCPConnection, pdu: bytes) -> dict[str, Any]:
        """Send one allowed PDU (paced) and parse its answer; :class:`_SessionEnded` on any fault."""
        name = safety.check_pdu(pdu)  # raises ForbiddenPdu before anything is sent
        if self._cancel.is_set():
            self._sent.append({"pdu": name, "result": "not sent: the collection was cancelled"})
            raise _SessionEnded("not sent: the collection was cancelled (asset timeout)")
        gap = 1.0 / float(self.endpoint.requests_per_second)
        wait = self._last_send + gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_send = sent = time.monotonic()
        entry: dict[str, Any] = {"pdu": name}
        self._sent.append(entry)
        try:
            connection.send_data(pdu)
            answer = connection.receive_data()
        except (S7Error, OSError) as exc:
            entry.update(result=_reason(exc), ms=round((time.monotonic() - sent) * 1000, 2))
            raise _SessionEnded(f"the session ended at {name}: {_reason(exc)}") from None
        try:
            response = self._protocol.parse_response(answer)
        except S7ProtocolError as exc:
            # an S7 error answer (the CPU refuses this request): kept as the answer it is
            entry.update(result=f"refused: {exc}"[:300], ms=round((time.monotonic() - sent) * 1000, 2))
            return {"refused": str(exc)[:300], "answer": answer[:64].hex()}
        except (ValueError, IndexError, KeyError, struct.error) as exc:  # a cut or garbled answer ends the session
            entry.update(result=_reason(exc), ms=round((time.monotonic() - sent) * 1000, 2))
            raise _SessionEnded(f"the session ended at {name}: the answer is not S7 ({_reason(exc)})") from None
        entry.update(result="answered", ms=round((time.monotonic() - sent) * 1000, 2))
        return response

    def _log_item(self, req: EvidenceRequest, started: float) -> EvidenceItem:
        ep = self.endpoint
        body = {"address": self.asset.address, "port": ep.port, "rack": ep.rack, "slot": ep.slot,
                "allowed_pdus": list(safety.ALLOWED), "pdus": self._sent, "pdus_sent": len(self._sent)}
        return self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
