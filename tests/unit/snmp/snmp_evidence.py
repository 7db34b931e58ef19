"""Recorded SNMP evidence for the network pack's unit tests, and helpers to run its facts and checks.

``recorded/<name>.json`` holds the evidence items one real scan produced (see recorded/README.md):
``sim-weak`` / ``sim-hardened`` from the bundled simulator fixtures, ``real-weak`` / ``real-hardened``
from net-snmp 5.9.3 ``snmpd`` started by tests/support/real_snmpd.py. ``Recording`` lets a test replace
one item's response (or fail it) to build the pass / fail / error cases from real data.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from tests.support.checks import RunsChecks

RECORDED = Path(__file__).resolve().parent / "recorded"
NAMES = ("sim-weak", "sim-hardened", "real-weak", "real-hardened")


def snmp_checks() -> list[Any]:
    return sorted((c for c in REGISTRY.load().checks.values() if c.pack.startswith("checks.snmp")),
                  key=lambda c: c.id)


class Recording(RunsChecks):
    def __init__(self, name: str):
        REGISTRY.load()
        raw = json.loads((RECORDED / f"{name}.json").read_text())
        self.name = name
        self.items = [EvidenceItem.model_validate(item) for item in raw]

    def copy(self) -> "Recording":
        return copy.deepcopy(self)

    def item(self, req: EvidenceRequest) -> EvidenceItem:
        return next(i for i in self.items if i.request.key == req.key)

    def data(self, req: EvidenceRequest) -> Any:
        return json.loads(self.item(req).response)

    def set_data(self, req: EvidenceRequest, data: Any) -> "Recording":
        item = self.item(req)
        item.response, item.status, item.error, item.encoding = json.dumps(data), "ok", None, "json"
        return self

    def edit(self, req: EvidenceRequest, change: Callable[[Any], Any]) -> "Recording":
        data = self.data(req)
        result = change(data)
        return self.set_data(req, data if result is None else result)

    def set_varbind(self, req: EvidenceRequest, oid: str, entry: dict[str, Any] | None) -> "Recording":
        def change(data: dict[str, Any]) -> None:
            data["varbinds"] = [v for v in data["varbinds"] if v["oid"] != oid]
            if entry is not None:
                data["varbinds"].append({"oid": oid, **entry})
        return self.edit(req, change)

    def set_rows(self, req: EvidenceRequest, rows: list[dict[str, Any]]) -> "Recording":
        return self.edit(req, lambda data: data.update(rows=rows))

    def set_listeners(self, rows: list[dict[str, Any]]) -> "Recording":
        """Put listener rows (any of the four tables) in place of what was recorded."""
        from checks.snmp.facts import LISTENER_WALKS

        for number, req in enumerate(LISTENER_WALKS):
            self.set_rows(req, rows if number == 0 else [])
        return self

    def garble(self, req: EvidenceRequest, response: str = "<html>not json</html>", encoding: str = "text"
               ) -> "Recording":
        item = self.item(req)
        item.response, item.status, item.error, item.encoding = response, "ok", None, encoding
        return self

    def fail(self, req: EvidenceRequest, reason: str = "GET failed: No SNMP response received before timeout"
             ) -> "Recording":
        item = self.item(req)
        item.status, item.error = "error", reason
        return self


def octets(text: str) -> dict[str, Any]:
    return {"type": "OctetString", "value": text, "hex": text.encode().hex()}


def integer(value: int, kind: str = "Integer") -> dict[str, Any]:
    return {"type": kind, "value": value}


NO_SUCH_OBJECT = {"type": "noSuchObject", "value": None}
