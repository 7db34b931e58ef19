"""Recorded Modbus evidence (from the simulators, through the real connector) and ways to bend it.

``recorded/weak.json``, ``recorded/hardened.json`` and ``recorded/hardened_no_client_cert.json`` are the
items ``ModbusConnector.collect`` returned for the ``embedded-sl2`` requests (weak PLC on 502 with
telnet/FTP/HTTP; hardened PLC on 802 with and without the auditor's client certificate).
:class:`PlcEvidence` loads one of them; ``.replace``/``.fail``/``.patch_json`` change single items to
build the cases a real PLC produces, and ``.check``/``.fact`` run the code exactly as the engine does.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any, Callable

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from tests.support.checks import RunsChecks

RECORDED = Path(__file__).resolve().parent / "recorded"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def adu(tid: int, pdu: bytes, unit: int = 1) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


class PlcEvidence(RunsChecks):
    def __init__(self, name: str):
        REGISTRY.load()
        raw = json.loads((RECORDED / f"{name}.json").read_text())
        self.items = [EvidenceItem.model_validate(item) for item in raw]
        for index, item in enumerate(self.items, start=1):
            item.id = f"{name}#{index}"

    def get(self, req: EvidenceRequest) -> EvidenceItem:
        return next(i for i in self.items if i.request.key == req.key)

    def _swap(self, req: EvidenceRequest, **fields: Any) -> "PlcEvidence":
        for index, item in enumerate(self.items):
            if item.request.key == req.key:
                self.items[index] = item.model_copy(update=fields)
                return self
        raise KeyError(req.key)

    def replace(self, req: EvidenceRequest, response: str, *, encoding: str = "json") -> "PlcEvidence":
        return self._swap(req, response=response, encoding=encoding, status="ok", error=None)

    def fail(self, req: EvidenceRequest, reason: str) -> "PlcEvidence":
        return self._swap(req, status="error", error=reason)

    def patch_json(self, req: EvidenceRequest, change: Callable[[dict[str, Any]], None]) -> "PlcEvidence":
        data = json.loads(self.get(req).response)
        change(data)
        return self.replace(req, json.dumps(data))

    def answer(self, req: EvidenceRequest, *pdus: bytes) -> "PlcEvidence":
        """Replace the response frame(s) of a read with ``pdus`` (one exchange per PDU, matching tids)."""
        record = json.loads(self.get(req).response)
        first = base64.b64decode(record["exchanges"][0]["request"])
        base_tid, request_pdu = struct.unpack(">H", first[:2])[0], first[7:]
        record["exchanges"] = [{"request": b64(adu(base_tid + i, request_pdu)), "response": b64(adu(base_tid + i, pdu)),
                                "ms": 1.0} for i, pdu in enumerate(pdus)]
        return self.replace(req, json.dumps(record))
