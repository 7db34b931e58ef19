"""From check results to requirement statuses and SL-A vectors (see README, "Scoring model").

* A requirement is ``failed`` if any of its checks fails, ``error`` if none fails but one errs,
  ``passed`` if at least one passes and none fails or errs, ``manual`` if only manual verdicts,
  ``not_applicable`` if every check says so, and ``not_assessed`` if no selected check covers it.
* SL-A for an FR is the highest n such that every requirement of that FR required at SL <= n is met.
  Automated SL-A leaves unassessed and manual rows out (coverage is reported beside it), but every
  level up to n that introduces requirements must have at least one of them assessed, so a level
  without any evidence is never claimed; strict SL-A counts unassessed and manual rows as unmet.
  Not-assessed is never shown as passed.
* Coverage counts rows that were judged (passed or failed) among the rows applicable up to SL-T.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from auditor.catalog import Requirement
from auditor.results import CheckResult, Coverage, Gap, RequirementResult
from auditor.slvector import FRS, SLVector

ASSESSED = {"passed", "failed", "error"}  # an error is an attempt that counts against SL-A
JUDGED = {"passed", "failed"}
UNMET = {"failed", "error"}


def requirement_status(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    if not seen:
        return "not_assessed"
    if "fail" in seen:
        return "failed"
    if "error" in seen:
        return "error"
    if "pass" in seen:
        return "passed"
    if "manual" in seen:
        return "manual"
    return "not_applicable"


def requirement_results(rows: list[Requirement], results: list[CheckResult]) -> list[RequirementResult]:
    by_requirement: dict[str, list[CheckResult]] = defaultdict(list)
    for result in results:
        for req_id in result.requirements:
            by_requirement[req_id].append(result)
    out = []
    for row in rows:
        checks = by_requirement.get(row.id, [])
        # a waiver accepts a risk; it never turns a failure into a pass
        statuses = ["fail" if c.status == "waived" else c.status for c in checks]
        out.append(RequirementResult(id=row.id, title=row.title, fr=f"FR{row.fr}", sl=row.sl,
                                     status=requirement_status(statuses),  # type: ignore[arg-type]
                                     checks=[c.check_id for c in checks]))
    return out


def achieved(requirements: list[RequirementResult], *, strict: bool) -> SLVector:
    levels: dict[str, int] = {}
    for fr in FRS:
        rows = [r for r in requirements if r.fr == fr and r.status != "not_applicable"]
        level = 0
        for n in range(1, 5):
            upto = [r for r in rows if r.sl <= n]
            if strict:
                ok = all(r.status == "passed" for r in upto)
            else:
                at_level = [r for r in rows if r.sl == n]
                ok = not any(r.status in UNMET for r in upto) and (
                    not at_level or any(r.status in ASSESSED for r in at_level))
            if not ok:
                break
            level = n
        levels[fr] = level
    return SLVector.model_validate(levels)


def coverage(requirements: list[RequirementResult], target: SLVector) -> Coverage:
    applicable = [r for r in requirements if r.status != "not_applicable" and r.sl <= target[r.fr]]
    assessed = [r for r in applicable if r.status in JUDGED]
    by_fr = {}
    for fr in FRS:
        fr_rows = [r for r in applicable if r.fr == fr]
        by_fr[fr] = round(sum(r.status in JUDGED for r in fr_rows) / len(fr_rows), 3) if fr_rows else 1.0
    ratio = round(len(assessed) / len(applicable), 3) if applicable else 1.0
    return Coverage(assessed=len(assessed), applicable=len(applicable), ratio=ratio, by_fr=by_fr)


def gaps(requirements: list[RequirementResult], sl_achieved: SLVector, target: SLVector) -> list[Gap]:
    """For each FR below target, the rows that stop automated SL-A at its current level."""
    out = []
    for fr in FRS:
        level, wanted = sl_achieved[fr], target[fr]
        if level >= wanted:
            continue
        rows = [r for r in requirements if r.fr == fr and r.status != "not_applicable"]
        unmet = [r for r in rows if r.sl <= level + 1 and r.status in UNMET]
        if unmet:
            blocking, reason = unmet, f"requirements up to SL {level + 1} failed or could not be read"
        else:
            blocking = [r for r in rows if r.sl == level + 1]
            reason = (f"no requirement introduced at SL {level + 1} was assessed automatically: "
                      "provide evidence (manual verification) or add checks")
        out.append(Gap(fr=fr, sl_target=wanted, sl_achieved=level, reason=reason,
                       blocking=[f"{r.id} ({r.status.replace('_', ' ')})" for r in blocking]))
    return out
