"""What a check returns. Checks build verdicts with the five helpers below and never anything else.

``waived`` is deliberately absent: waivers are applied by the core after evaluation, never by a check.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

VerdictStatus = Literal["pass", "fail", "not_applicable", "error", "manual"]


class Verdict(BaseModel):
    """A check's judgement with what was observed and what was expected, in plain words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: VerdictStatus
    observed: Any = None
    expected: str | None = None
    reason: str = ""
    proves_not_applicable: bool = False


def passed(observed: Any, expected: str, reason: str = "") -> Verdict:
    return Verdict(status="pass", observed=observed, expected=expected, reason=reason)


def failed(observed: Any, expected: str, reason: str = "") -> Verdict:
    return Verdict(status="fail", observed=observed, expected=expected, reason=reason)


def not_applicable(reason: str, observed: Any = None, *, proves_requirement: bool = False) -> Verdict:
    """The check does not apply here. That removes the check, not its requirements: only with
    ``proves_requirement=True`` (the evidence shows the requirement itself cannot apply, e.g. no wireless
    interface exists for a wireless row) does the requirement become not applicable. Say why in ``reason``."""
    return Verdict(status="not_applicable", observed=observed, reason=reason, proves_not_applicable=proves_requirement)


def manual(reason: str, expected: str | None = None, observed: Any = None) -> Verdict:
    """The evidence cannot decide; ``reason`` tells the assessor what to verify by hand."""
    return Verdict(status="manual", observed=observed, expected=expected, reason=reason)


def error(reason: str, observed: Any = None) -> Verdict:
    """Evidence missing or unparseable: ``reason`` names which, so the user can fix collection."""
    return Verdict(status="error", observed=observed, reason=reason)
