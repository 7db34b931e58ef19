"""S7 evidence items as :mod:`connectors.s7.connector` records them, built from the simulator's own SZL answers
(offline: :meth:`simulators.s7.server.S7Simulator.szl` without a socket), and ways to bend them."""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from typing import Any

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from checks.s7.facts import COMPONENT_ID, DIAGNOSTIC_BUFFER, ETHERNET, MODE, MODULE_ID, PROTECTION, TIME_STATUS
from simulators.s7.server import S7Simulator, load_fixture
from tests.support.checks import RunsChecks

READS = (MODULE_ID, COMPONENT_ID, PROTECTION, MODE, TIME_STATUS, ETHERNET, DIAGNOSTIC_BUFFER)


class S7Evidence(RunsChecks):
    """The SZL items of a fixture (``weak``, ``hardened``); ``fixture`` changes apply first."""

    def __init__(self, fixture: str = "weak", **changes: Any) -> None:
        REGISTRY.load()
        fx = load_fixture(fixture)
        if "protection" in changes:
            changes["protection"] = {**fx.protection, **changes["protection"]}
        if "component" in changes:
            changes["component"] = {**fx.component, **changes["component"]}
        sim = S7Simulator.__new__(S7Simulator)
        sim.fixture = replace(fx, **changes)
        self.items: list[EvidenceItem] = []
        for req in READS:
            szl_id, index = (int(part, 0) for part in req.target.split(","))
            self.answer(req, sim.szl(szl_id, index))

    def answer(self, req: EvidenceRequest, data: bytes | None, item: dict[str, Any] | None = None,
               **extra: Any) -> "S7Evidence":
        szl_id, index = req.target.split(",")
        body: dict[str, Any] = {"szl_id": szl_id, "index": index}
        if data is None:
            body.update(answered=False, refused="USERDATA request failed: Unknown error (0x81)")
        else:
            body.update(answered=True, data=data.hex(), fragments=1)
        body.update(extra)
        self.items = [i for i in self.items if i.request.key != req.key]
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="plc", endpoint="s7:102", request=req,
                                       encoding="json", response=json.dumps(body), **(item or {})))
        return self


def szl_list(length: int, records: list[bytes]) -> bytes:
    return struct.pack(">HH", length, len(records)) + b"".join(records)
