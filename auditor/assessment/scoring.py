"""From check results and answers to requirement verdicts and SL vectors (see README, "Scoring model").

Device evidence first: a row's ``status`` is what its checks say at the applied parameters.

* ``failed`` if any check fails (a waived failure is still a failure), ``error`` if none fails but one errs,
  ``manual`` if none fails or errs but one needs a person (even beside passes), ``passed`` if at least one
  passes and nothing else is left, ``not_applicable`` only if a check *proves* from evidence that the row
  cannot apply, ``not_assessed`` otherwise (no check, or only checks that do not apply here).

Then the row's ``verdict``, the first rule that applies deciding:

1. status ``failed`` or ``error``: **unmet** (evidence); an answer changes nothing (it is ``overruled``);
2. a current answer ``not_met``: **unmet** (answer);
3. status ``passed``: **met** (evidence); a matching answer is shown as ``confirmed``;
4. a current answer ``met``: **met** (answer); ``not_applicable`` (with its justification): **not applicable**;
5. status ``not_applicable`` (proved by a check): **not applicable** (evidence);
6. otherwise **open**: it needs an answer.

SL-A(FR) is the highest n such that every row of that FR required at SL <= n is met or not applicable,
each level judged with the parameters of that level: levels up to the applied profile's use its verdicts,
a level above it uses the verdicts of the same checks run on the same evidence with that level's built-in
profile; a level that could not be evaluated so is not claimed. Only SL-A decides "meets target".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

from auditor.assessment.catalog import Requirement
from auditor.assessment.slvector import FRS, SLVector
from auditor.results import (AnswerRef, AssetResult, CheckResult, Coverage, Gap, LevelEvaluation,
                             RequirementResult, TechnicalView)

JUDGED = {"passed", "failed"}
EVIDENCE_UNMET = {"failed", "error"}
SATISFIED = {"met", "not_applicable"}


def requirement_status(statuses: Iterable[str], proven_not_applicable: bool = False) -> str:
    """The device-evidence status of one row from the statuses of its checks (``waived`` counts as ``fail``)."""
    seen = {"fail" if s == "waived" else s for s in statuses}
    if "fail" in seen:
        return "failed"
    if "error" in seen:
        return "error"
    if "manual" in seen:
        return "manual"
    if "pass" in seen:
        return "passed"
    return "not_applicable" if proven_not_applicable else "not_assessed"


_RANK = {"fail": 4, "waived": 4, "error": 3, "manual": 2, "pass": 1}  # requirement_status's order of precedence
_STATUS_OF_RANK = {4: "failed", 3: "error", 2: "manual", 1: "passed"}


def row_statuses(rows: list[Requirement], judged: Iterable[tuple[Iterable[str], str, bool]]) -> dict[str, str]:
    """Row id -> device-evidence status from ``(requirements, check status, proves not applicable)`` of each
    check: what :func:`requirement_status` gives each row (the highest-ranking check status decides), without
    building the rows (a higher level's judgement)."""
    best: dict[str, int] = {}
    proven: set[str] = set()
    for requirements, status, proves in judged:
        rank = _RANK.get(status, 0)
        for req_id in requirements:
            if best.get(req_id, 0) < rank:
                best[req_id] = rank
            if proves and status == "not_applicable":
                proven.add(req_id)
    return {row.id: _STATUS_OF_RANK.get(best.get(row.id, 0))
            or ("not_applicable" if row.id in proven else "not_assessed") for row in rows}


def requirement_results(rows: list[Requirement], results: list[CheckResult],
                        answers: dict[str, AnswerRef] | None = None,
                        claims: dict[str, AnswerRef] | None = None) -> list[RequirementResult]:
    """Each row with the device-evidence status of the checks mapped to it; with ``answers`` (and ``claims``)
    also its verdict, as :func:`apply_answers` gives it, so a plant's rows are built once, not built and copied."""
    by_requirement: dict[str, list[str]] = defaultdict(list)
    for result in results:
        for req_id in result.requirements:
            by_requirement[req_id].append(result.check_id)
    statuses = row_statuses(rows, ((r.requirements, r.status, r.proves_not_applicable) for r in results))
    out = []
    for row in rows:
        status = statuses[row.id]
        judged = {} if answers is None else _judged(status, answers.get(row.id), (claims or {}).get(row.id))
        out.append(RequirementResult(id=row.id, title=row.title, fr=f"FR{row.fr}", sl=row.sl, status=status,
                                     checks=by_requirement.get(row.id, []), **judged))  # type: ignore[arg-type]
    return out


def verdict_for(status: str, answer: AnswerRef | None) -> tuple[str, str, AnswerRef | None]:
    """(verdict, source, the answer with what it did) for one row: the rules of the module docstring."""
    current = answer if answer is not None and answer.state != "expired" else None

    def did(state: str) -> AnswerRef | None:
        return current.model_copy(update={"state": state}) if current is not None else answer

    if status in EVIDENCE_UNMET:
        return "unmet", "evidence", did("overruled")
    if current is not None and current.answer == "not_met":
        return "unmet", "answer", did("counted")
    if status == "passed":
        return "met", "evidence", did("confirmed")
    if current is not None:
        return ("met" if current.answer == "met" else "not_applicable"), "answer", did("counted")
    if status == "not_applicable":
        return "not_applicable", "evidence", answer
    return "open", "none", answer


def apply_answers(rows: list[RequirementResult], answers: dict[str, AnswerRef],
                  claims: dict[str, AnswerRef] | None = None) -> list[RequirementResult]:
    """Rows with their verdict, source, site answer and vendor claim set (claims only inform SL-C)."""
    claims = claims or {}
    return [row.model_copy(update=_judged(row.status, answers.get(row.id), claims.get(row.id))) for row in rows]


def _judged(status: str, answer: AnswerRef | None, claim: AnswerRef | None) -> dict:
    """A row's verdict, source, site answer and vendor claim from its status and what matched it."""
    verdict, source, answer = verdict_for(status, answer)
    if claim is not None:
        claim = verdict_for(status, claim)[2]
    return {"verdict": verdict, "source": source, "answer": answer, "claim": claim}


def _status_at(row: RequirementResult, level: int, applied_sl: int, levels: dict[int, LevelEvaluation]) -> str | None:
    """The row's device-evidence status judged with level ``level``'s parameters; None if not evaluated."""
    if level <= applied_sl:
        return row.status
    evaluation = levels.get(level)
    if evaluation is None or evaluation.profile is None:
        return None
    return evaluation.changed.get(row.id, row.status)


def row_verdict_at(row: RequirementResult, level: int, applied_sl: int, levels: dict[int, LevelEvaluation],
                   source: str = "answers") -> str | None:
    """The row's verdict at ``level``: ``source`` is ``answers`` (site answers), ``claims`` (vendor claims)
    or ``evidence`` (device evidence alone)."""
    status = _status_at(row, level, applied_sl, levels)
    if status is None:
        return None
    answer = {"answers": row.answer, "claims": row.claim, "evidence": None}[source]
    return verdict_for(status, answer)[0]


def achieved(rows: list[RequirementResult], *, applied_sl: int = 4, levels: Iterable[LevelEvaluation] = (),
             source: str = "answers") -> SLVector:
    """SL vector: per FR the highest n whose rows up to n are all met or not applicable at level n."""
    by_level = {evaluation.sl: evaluation for evaluation in levels}
    out: dict[str, int] = {}
    for fr in FRS:
        fr_rows = [r for r in rows if r.fr == fr]
        level = 0
        for n in range(1, 5):
            verdicts = [row_verdict_at(r, n, applied_sl, by_level, source) for r in fr_rows if r.sl <= n]
            if any(v is None or v not in SATISFIED for v in verdicts):
                break
            level = n
        out[fr] = level
    return SLVector.model_validate(out)


def coverage(requirements: list[RequirementResult], target: SLVector) -> Coverage:
    """Rows judged by device evidence (passed or failed) among the applicable rows up to SL-T."""
    applicable = [r for r in requirements if r.verdict != "not_applicable" and r.sl <= target[r.fr]]
    by_fr = {}
    for fr in FRS:
        fr_rows = [r for r in applicable if r.fr == fr]
        by_fr[fr] = round(sum(r.status in JUDGED for r in fr_rows) / len(fr_rows), 3) if fr_rows else 1.0
    judged = sum(r.status in JUDGED for r in applicable)
    ratio = round(judged / len(applicable), 3) if applicable else 1.0
    return Coverage(assessed=judged, applicable=len(applicable), ratio=ratio, by_fr=by_fr)


def technical_view(requirements: list[RequirementResult], target: SLVector) -> TechnicalView:
    upto = [r for r in requirements if r.sl <= target[r.fr] and r.verdict != "not_applicable"]
    return TechnicalView(judged=sum(r.status in JUDGED | {"error"} for r in upto),
                         unmet=[r.id for r in upto if r.status in EVIDENCE_UNMET],
                         open=[r.id for r in upto if r.verdict == "open"],
                         answered=sum(r.source == "answer" for r in upto))


def _blocking_label(row: RequirementResult, verdict: str | None) -> str:
    if verdict is None:
        return "not evaluated at this level"
    if row.status in EVIDENCE_UNMET:
        return row.status
    if verdict == "unmet":
        return "answered not met" if row.source == "answer" or (row.answer and row.answer.answer == "not_met") \
            else "failed at this level's parameters"
    if row.answer is not None and row.answer.state == "expired":
        return "open: its answer expired"
    return "open: needs an answer"


def gaps(requirements: list[RequirementResult], sl_achieved: SLVector, target: SLVector, *,
         applied_sl: int = 4, levels: Iterable[LevelEvaluation] = ()) -> list[Gap]:
    """For each FR below target, the rows that stop SL-A at its current level, and why."""
    by_level = {evaluation.sl: evaluation for evaluation in levels}
    out = []
    for fr in FRS:
        level, wanted = sl_achieved[fr], target[fr]
        if level >= wanted:
            continue
        nxt = level + 1
        blocking: list[tuple[str, str]] = []   # (row id, why it blocks)
        for row in requirements:
            if row.fr != fr or row.sl > nxt:
                continue
            verdict = row_verdict_at(row, nxt, applied_sl, by_level)
            if verdict not in SATISFIED:
                blocking.append((row.id, _blocking_label(row, verdict)))
        kinds = Counter(label.split(":")[0] for _, label in blocking)
        reason = "; ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        if nxt > applied_sl and (by_level.get(nxt) is None or by_level[nxt].profile is None):
            reason = f"SL {nxt} was not evaluated: no built-in profile gives its parameters"
        out.append(Gap(fr=fr, sl_target=wanted, sl_achieved=level, reason=f"SL {nxt}: {reason}",
                       blocking=[f"{row_id} ({label})" for row_id, label in blocking]))
    return out


def verdict_fields(requirements: list[RequirementResult], target: SLVector, *, applied_sl: int,
                   levels: list[LevelEvaluation], assessed: bool) -> dict:
    """Every AssetResult field that follows from judged rows: SL-A, evidence-only SL-A, SL-C, gaps, views."""
    sl = achieved(requirements, applied_sl=applied_sl, levels=levels)
    has_claims = any(r.claim is not None for r in requirements)
    return {
        "requirements": requirements,
        "sl_achieved": sl,
        "sl_achieved_strict": achieved(requirements, applied_sl=applied_sl, levels=levels, source="evidence"),
        "sl_capability": achieved(requirements, applied_sl=applied_sl, levels=levels, source="claims")
        if has_claims else None,
        "meets_target": assessed and sl.meets(target),
        "coverage": coverage(requirements, target),
        "technical": technical_view(requirements, target) if assessed else None,
        "gaps": gaps(requirements, sl, target, applied_sl=applied_sl, levels=levels) if assessed else [],
    }


def rejudge(result: AssetResult, answers: dict[str, AnswerRef], claims: dict[str, AnswerRef]) -> AssetResult:
    """The same asset result with another set of answers and claims (``report --attestations``)."""
    rows = apply_answers(result.requirements, answers, claims)
    return result.model_copy(update=verdict_fields(rows, result.sl_target, applied_sl=result.applied_sl,
                                                   levels=result.levels, assessed=result.status == "assessed"))
