"""The evidence a fact parser sees, and the two ways a fact can be unavailable.

A parser receives :class:`FactEvidence` restricted to the requests its fact declared, so a fact's
declaration is always complete: reading anything else is a programming error caught by the tests.
Every item a parser reads is remembered, so each verdict can name the evidence that proves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

from auditor.evidence import EvidenceItem, EvidenceRequest

T = TypeVar("T")


class FactUnavailable(Exception):
    """The evidence for a fact was not collected or the device refused it (a verdict of ``error``)."""


class FactParseError(Exception):
    """The device answered, but with something the parser cannot understand (a verdict of ``error``)."""


@dataclass(frozen=True)
class CommandOutput:
    """What a shell command printed (stdout and stderr merged) and its exit code."""

    stdout: str
    exit_code: int | None
    sudo: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def truncation(meta: dict) -> str:
    """How much a truncated item held and kept, from its meta, e.g. ``50000 endpoints, 100 kept``."""
    parts = [f"{meta[k]} {k.removeprefix('original_')}" for k in sorted(meta) if k.startswith("original_")]
    kept = [f"{meta[k]} {k.removeprefix('kept_')} kept" for k in sorted(meta) if k.startswith("kept_")]
    if "bytes" in meta and "kept_bytes" in meta:
        parts.append(f"{meta['bytes']} bytes")
    return ", ".join(parts + kept) or "size not recorded"


class FactEvidence:
    """Read-only view of one asset's evidence items for one fact parser."""

    def __init__(self, fact_name: str, allowed: Iterable[EvidenceRequest], items: dict[str, EvidenceItem],
                 former_keys: Mapping[str, Sequence[str]] | None = None):
        self.fact_name = fact_name
        self._allowed = {r.key: r for r in allowed}
        self._items = items
        self._former = former_keys or {}
        self.used: list[str] = []

    def item(self, request: EvidenceRequest) -> EvidenceItem:
        if request.key not in self._allowed:
            raise LookupError(f"fact {self.fact_name!r} reads {request.key!r} without declaring it")
        found = self._items.get(request.key)
        if found is None and request.options:
            # evidence recorded before the request gained an option (e.g. a read that now asks for sudo) is
            # still that read, made with the options it had then; the item records how it was made
            found = self._items.get(f"{request.protocol}:{request.op}:{request.target}")
        for key in self._former.get(request.key, ()) if found is None else ():
            # evidence recorded when the read was written differently (the item's request says how)
            found = self._items.get(key)
            if found is not None:
                break
        if found is None:
            raise FactUnavailable(f"{request.key} was not collected")
        if found.id:
            self.used.append(found.id)
        if found.status == "error":
            raise FactUnavailable(f"{request.key} failed: {found.error}")
        if found.meta.get("truncated"):
            # the part the auditor's limit dropped could change any verdict: never judge what was cut
            raise FactUnavailable(f"{request.key} was truncated at the auditor's limit ({truncation(found.meta)}); "
                                  "the device's answer is too large to judge")
        return found

    def command(self, request: EvidenceRequest) -> CommandOutput:
        found = self.item(request)
        return CommandOutput(stdout=_decoded(found, found.text), exit_code=found.exit_code,
                             sudo=bool(found.meta.get("sudo")))

    def data(self, request: EvidenceRequest) -> object:
        """The item's response as data; a response its encoding cannot decode is a :class:`FactParseError`."""
        found = self.item(request)
        return _decoded(found, found.data)


def _decoded(item: EvidenceItem, decode: Callable[[], T]) -> T:
    """``decode()``, with a response that is not what its encoding says (JSON that is not JSON, too deep or
    with a 5,000-digit number; base64 that is not base64) reported as the parse error it is."""
    try:
        return decode()
    except (ValueError, RecursionError) as exc:
        raise FactParseError(f"{item.request.key}: the recorded response is not valid {item.encoding}: "
                             f"{str(exc)[:200]}") from None
