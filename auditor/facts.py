"""The evidence a fact parser sees, and the two ways a fact can be unavailable.

A parser receives :class:`FactEvidence` restricted to the requests its fact declared, so a fact's
declaration is always complete: reading anything else is a programming error caught by the tests.
Every item a parser reads is remembered, so each verdict can name the evidence that proves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar

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


class FactEvidence:
    """Read-only view of one asset's evidence items for one fact parser."""

    def __init__(self, fact_name: str, allowed: Iterable[EvidenceRequest], items: dict[str, EvidenceItem]):
        self.fact_name = fact_name
        self._allowed = {r.key: r for r in allowed}
        self._items = items
        self.used: list[str] = []

    def item(self, request: EvidenceRequest) -> EvidenceItem:
        if request.key not in self._allowed:
            raise LookupError(f"fact {self.fact_name!r} reads {request.key!r} without declaring it")
        found = self._items.get(request.key)
        if found is None and request.options:
            # evidence recorded before the request gained an option (e.g. a read that now asks for sudo) is
            # still that read, made with the options it had then; the item records how it was made
            found = self._items.get(f"{request.protocol}:{request.op}:{request.target}")
        if found is None:
            raise FactUnavailable(f"{request.key} was not collected")
        if found.id:
            self.used.append(found.id)
        if found.status == "error":
            raise FactUnavailable(f"{request.key} failed: {found.error}")
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
