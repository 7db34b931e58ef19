"""Optional facts: the same parser registered twice, once raising, once returning :class:`Missing`.

Checks that can still decide without a fact (e.g. from what sshd offers on the wire when its
configuration is unreadable) take the ``*_maybe`` variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from auditor.evidence import EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact


@dataclass(frozen=True)
class Missing:
    """Stands in for a fact whose evidence is unavailable, for checks that can decide without it.

    Falsy, so checks can write ``if not wire: ...``; ``reason`` says why it is missing.
    """

    reason: str

    def __bool__(self) -> bool:
        return False


def fact_with_optional(name: str, *, protocol: str, requests: Iterable[EvidenceRequest],
                       description: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``parser`` as fact ``name`` and as ``name + "_maybe"``.

    ``name`` raises :class:`FactUnavailable`/:class:`FactParseError` as usual (a check taking it
    becomes ``error``); ``name_maybe`` returns :class:`Missing` instead, for checks that can still
    decide from other evidence (e.g. what sshd offers on the wire when its config is unreadable).
    """
    requests = tuple(requests)

    def register(parser: Callable[..., Any]) -> Callable[..., Any]:
        fact(name, protocol=protocol, requests=requests, description=description)(parser)

        def maybe(evidence: FactEvidence) -> Any:
            try:
                return parser(evidence)
            except (FactUnavailable, FactParseError) as exc:
                return Missing(f"{type(exc).__name__}: {exc}")

        maybe.__name__ = f"{parser.__name__}_maybe"
        maybe.__qualname__ = maybe.__name__
        maybe.__module__ = parser.__module__
        maybe.__doc__ = f"{(parser.__doc__ or name).strip().splitlines()[0]} (Missing when unavailable)"
        fact(f"{name}_maybe", protocol=protocol, requests=requests,
             description=maybe.__doc__)(maybe)
        return parser

    return register
