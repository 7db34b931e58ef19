"""Build evidence items from recorded outputs and run Linux fact parsers and checks on them.

``Evidence().cmd(request, "output").json(request, {...})`` collects items; ``.fact(name)`` parses one
fact (raising FactUnavailable/FactParseError like the engine sees them) and ``.check(id, **params)``
runs a check exactly as :func:`auditor.assessment.evaluate.run_check` does (missing facts become ``error``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from tests.support.checks import RunsChecks

RECORDED = Path(__file__).resolve().parent / "recorded"
DISTROS = ("debian12", "ubuntu2204", "rhel9")


def recorded(distro: str, name: str) -> str:
    return (RECORDED / distro / name).read_text()


class Evidence(RunsChecks):
    def __init__(self) -> None:
        self.items: list[EvidenceItem] = []
        REGISTRY.load()

    def cmd(self, req: EvidenceRequest, stdout: str, exit_code: int = 0, sudo: bool | None = None) -> "Evidence":
        """A command's output; ``sudo`` defaults to whether the request asked for it."""
        ran_sudo = bool(req.option("sudo")) if sudo is None else sudo
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="ssh", request=req,
                                       exit_code=exit_code, response=stdout, meta={"sudo": ran_sudo}))
        return self

    def json(self, req: EvidenceRequest, data: Any) -> "Evidence":
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="ssh", request=req,
                                       encoding="json", response=json.dumps(data)))
        return self

    def failed(self, req: EvidenceRequest, reason: str) -> "Evidence":
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="ssh", request=req,
                                       status="error", error=reason))
        return self
