"""Windows evidence for unit tests: the sections' answers of the simulator fixtures, edited per test.

``WindowsEvidence("windows-weak")`` holds one evidence item per named Windows request with the JSON the
fixture's host prints (what the SSH connector records from a scan of it). ``.set(name, data)`` replaces a
section's JSON, ``.edit(name, fn)`` changes it in place, ``.fail(name, ...)`` makes the section throw
(exit 1) and ``.drop(name)`` removes the item (not collected), so a test states only what differs. The host was
reached over OpenSSH for Windows (an ``ssh:session:info`` item) unless ``.session`` says otherwise (a
``winrm:session:info`` record, or ``None``: no session record).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from simulators.ssh.server import load_fixture
from tests.support.checks import RunsChecks


class WindowsEvidence(RunsChecks):
    def __init__(self, fixture: str) -> None:
        named = REGISTRY.load().named_requests()
        self.requests = {name: req for name, req in named.items() if req.op == "powershell"}
        loaded = load_fixture(fixture)
        self.data: dict[str, Any] = {name: json.loads(loaded.requests[name].privileged.stdout)
                                     for name in self.requests if name in loaded.requests}
        self.exit: dict[str, tuple[int, str]] = {}
        self.session: tuple[str, dict[str, Any]] | None = (
            "ssh", {"platform": "windows", "port": 22, "server_version": "SSH-2.0-OpenSSH_for_Windows_9.5"})

    def set(self, name: str, data: Any) -> "WindowsEvidence":
        self.data[name] = data
        return self

    def edit(self, name: str, change: Callable[[Any], None]) -> "WindowsEvidence":
        data = copy.deepcopy(self.data[name])
        change(data)
        self.data[name] = data
        return self

    def fail(self, name: str, message: str = "ERROR: Access is denied.") -> "WindowsEvidence":
        self.exit[name] = (1, message)
        return self

    def drop(self, name: str) -> "WindowsEvidence":
        self.data.pop(name, None)
        return self

    @property
    def items(self) -> list[EvidenceItem]:  # type: ignore[override]
        items = []
        for name, data in self.data.items():
            code, text = self.exit.get(name, (0, json.dumps(data, separators=(",", ":"))))
            items.append(EvidenceItem(id=f"w#{len(items) + 1}", asset="w", endpoint="ssh", request=self.requests[name],
                                      exit_code=code, response=text, meta={"sudo": False}))
        if self.session is not None:
            protocol, info = self.session
            items.append(EvidenceItem(id=f"w#{len(items) + 1}", asset="w", endpoint=protocol, encoding="json",
                                      request=EvidenceRequest(protocol=protocol, op="session", target="info"),
                                      response=json.dumps(info)))
        return items
