"""Recorded CLI evidence for the network configuration pack's unit tests.

``recorded/sim-ios-weak.json`` and ``sim-ios-hardened.json`` are the items one scan of the CLI simulator
produced (``python -m tests.unit.netcli.record``). ``Recording`` lets a test edit one command's answer (add,
drop or replace configuration lines) to build each pass / fail / error case from real output.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from tests.support.checks import RunsChecks

RECORDED = Path(__file__).resolve().parent / "recorded"


def netcli_checks() -> list[Any]:
    return sorted((c for c in REGISTRY.load().checks.values() if c.pack.startswith("checks.netcli")),
                  key=lambda c: c.id)


class Recording(RunsChecks):
    def __init__(self, name: str):
        REGISTRY.load()
        self.items = [EvidenceItem.model_validate(i) for i in json.loads((RECORDED / f"sim-{name}.json").read_text())]

    def copy(self) -> "Recording":
        return copy.deepcopy(self)

    def item(self, target: str) -> EvidenceItem:
        return next(i for i in self.items if i.request.op in ("show", "session") and i.request.target == target)

    def text(self, target: str) -> str:
        return self.item(target).response

    def set_text(self, target: str, text: str) -> "Recording":
        self.item(target).response = text
        return self

    def config(self, *, drop: str | None = None, add: str | None = None, replace: tuple[str, str] | None = None
               ) -> "Recording":
        """Edit the running configuration: drop lines matching ``drop`` (regex), append ``add`` at top level,
        or ``replace=(regex, text)``."""
        text = self.text("running-config")
        if drop is not None:
            text = "\n".join(line for line in text.split("\n") if not re.search(drop, line))
        if replace is not None:
            text = re.sub(replace[0], replace[1], text, flags=re.M)
        if add is not None:
            text = text.replace("\nend\n", f"\n{add}\nend\n")
        return self.set_text("running-config", text)

    def fail_read(self, target: str, reason: str = "no prompt after 10 s") -> "Recording":
        item = self.item(target)
        item.status, item.error, item.response = "error", reason, ""
        return self


def request(target: str) -> EvidenceRequest:
    return EvidenceRequest(protocol="cli", op="show", target=target)
