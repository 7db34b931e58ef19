"""How a section's answer becomes JSON, or why it cannot (the runner's exit codes: 0 done, 1 threw, 124 time)."""

from __future__ import annotations

import json as _json
from typing import Any

from auditor.evidence import EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable


def section_json(evidence: FactEvidence, request: EvidenceRequest) -> Any:
    """The JSON document a section printed; ``None`` when it printed nothing (``ConvertTo-Json`` of ``$null``)."""
    output = evidence.command(request)
    text = output.stdout.strip()
    if output.exit_code != 0:
        first = text.splitlines()[0] if text else "no output"
        raise FactUnavailable(f"the PowerShell section failed on the host (exit {output.exit_code}): {first[:300]}")
    if not text:
        return None
    try:
        return _json.loads(text)
    except ValueError as exc:
        raise FactParseError(f"the PowerShell section did not print JSON: {exc}") from None


def as_list(value: Any) -> list[Any]:
    """A JSON array as a list (``null``: empty; a single object: one element)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_int(value: Any) -> int | None:
    """A registry DWORD or a JSON number as an int; anything else (absent, text) is ``None``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
