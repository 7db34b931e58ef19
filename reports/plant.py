"""What a plant manager reads first: the findings to fix across the plant, and the assets furthest from target.

Shared by the HTML plant page and the terminal summary so both say the same thing in the same order.

- :func:`fix_first`: failed checks and check errors of assessed assets grouped by check (one remediation
  fixes a check wherever it fails), with the assets each affects; ordered by severity (critical..info),
  then by how far the affected assets are below their target, then by how many assets it affects.
- :func:`ranked`: assets ordered by how far below target they are (sum over FR of SL-T minus SL-A), the
  ones that could not be assessed right after the ones below target, those meeting their target last.
- :func:`answering`: the requirements that await an answer across the plant, and which assets answering
  alone would bring to their target (no requirement of theirs is unmet, only open).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.assessment.slvector import FRS
from auditor.results import AssetResult, CheckResult, ScanResult
from reports.common import check_frs, in_target, question_of, severity_rank

FIX_STATUSES = ("fail", "error")


def gap(asset: AssetResult) -> int:
    """How far an asset is below its target: the sum over FR of SL-T minus SL-A (0 where SL-A reaches it)."""
    return sum(max(0, asset.sl_target[fr] - asset.sl_achieved[fr]) for fr in FRS)


def rank_key(asset: AssetResult) -> tuple[int, int]:
    """Below target (largest gap first), then not assessed, then skipped, then meeting the target."""
    if asset.status == "assessed":
        return (0, -gap(asset)) if not asset.meets_target else (3, 0)
    return (1, 0) if asset.status == "error" else (2, 0)


def ranked(assets: list[AssetResult]) -> list[AssetResult]:
    """``assets`` ordered by :func:`rank_key`; ties keep the inventory's order."""
    return sorted(assets, key=rank_key)


@dataclass
class FixGroup:
    """One check failing (or unreadable) on one or more assets: one remediation, many assets."""

    check_id: str
    title: str
    severity: str
    remediation: str
    expected: str
    reason: str
    frs: list[str]
    assets: list[AssetResult] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # fail / error -> how many assets
    risk: float = 0.0  # the highest risk of the check on any of its assets (results without one: 0)

    @property
    def worst_gap(self) -> int:
        return max((gap(a) for a in self.assets), default=0)

    @property
    def failed(self) -> int:
        return self.statuses.get("fail", 0)

    @property
    def errors(self) -> int:
        return self.statuses.get("error", 0)

    def sort_key(self) -> tuple[float, int, int, int, bool, str]:
        return (-self.risk, severity_rank(self.severity), -self.worst_gap, -len(self.assets), self.failed == 0,
                self.check_id)


def fix_first(result: ScanResult) -> list[FixGroup]:
    """Failed checks and check errors of assessed assets, grouped by check, most urgent first: by the highest
    risk on any asset (:mod:`auditor.assessment.risk`; results written before it have none), then severity,
    then how far its assets are below target, then how many it affects."""
    groups: dict[str, FixGroup] = {}
    for asset in ranked(result.assets):
        if asset.status != "assessed":
            continue
        for check in asset.results:
            if check.status not in FIX_STATUSES:
                continue
            group = groups.get(check.check_id)
            if group is None:
                group = groups[check.check_id] = _group(check)
            elif severity_rank(check.severity) < severity_rank(group.severity):
                group.severity = check.severity
            group.risk = max(group.risk, float(check.risk or 0))
            group.remediation = group.remediation or check.remediation
            group.expected = group.expected or (check.expected or "")
            if not group.assets or group.assets[-1] is not asset:
                group.assets.append(asset)
                group.statuses[check.status] = group.statuses.get(check.status, 0) + 1
    return sorted(groups.values(), key=FixGroup.sort_key)


def _group(check: CheckResult) -> FixGroup:
    return FixGroup(check_id=check.check_id, title=check.title or check.check_id, severity=check.severity,
                    remediation=check.remediation or "", expected=check.expected or "", reason=check.reason or "",
                    frs=check_frs(check))


@dataclass
class OpenQuestion:
    """A requirement that awaits an answer on some assets, with the question that answers it."""

    requirement: str
    fr: str
    question: str
    evidence: str
    assets: list[AssetResult] = field(default_factory=list)


@dataclass
class Answering:
    questions: list[OpenQuestion]
    completes: list[AssetResult]  # below target only for want of answers: answering "met" brings them to SL-T
    open_rows: int


def answering(result: ScanResult) -> Answering:
    """Open requirements up to SL-T across the plant (most assets first) and the assets answers alone complete."""
    questions: dict[str, OpenQuestion] = {}
    completes = []
    rows = 0
    for asset in ranked(result.assets):
        if asset.status != "assessed":
            continue
        upto = [r for r in asset.requirements if in_target(asset, r)]
        open_rows = [r for r in upto if r.verdict == "open"]
        rows += len(open_rows)
        for row in open_rows:
            entry = questions.get(row.id)
            if entry is None:
                question, wanted = question_of(row.id)
                entry = questions[row.id] = OpenQuestion(requirement=row.id, fr=row.fr, question=question,
                                                         evidence=wanted)
            entry.assets.append(asset)
        if not asset.meets_target and open_rows and not any(r.verdict == "unmet" for r in upto):
            completes.append(asset)
    ordered = sorted(questions.values(), key=lambda q: (-len(q.assets), q.requirement))
    return Answering(questions=ordered, completes=completes, open_rows=rows)
