"""``result.json`` (contract): the scored outcome of a scan or a rescore.

Every renderer takes a :class:`ScanResult` and nothing else, so a rescored bundle yields the same
reports as the original scan. The JSON Schema of this model is published in
``reports/schema/result.schema.json`` and every result is validated against it in the tests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.slvector import SLVector

RESULT_SCHEMA_VERSION = 1
CheckStatus = Literal["pass", "fail", "not_applicable", "error", "manual", "waived"]
SkipReason = Literal["interrupted", "outside_window", "window_overrun", "no_evidence"]
RequirementStatusName = Literal["passed", "failed", "error", "manual", "not_applicable", "not_assessed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaiverRef(_Model):
    """The waiver that matched a failed check: ``applied`` (status ``waived``) or ``expired`` (still ``fail``)."""

    id: str
    state: Literal["applied", "expired"]
    justification: str
    compensating_countermeasure: str | None = None
    approver: str
    expires: date | None = None


class CheckResult(_Model):
    check_id: str
    title: str
    status: CheckStatus
    severity: str
    requirements: list[str]
    target_sl: int | None = Field(
        default=None, description="lowest SL at which a requirement behind this check applies to this component")
    observed: Any = None
    expected: str | None = None
    reason: str = ""
    evidence: list[str] = Field(default_factory=list, description="ids of the evidence items used")
    remediation: str = ""
    waiver: WaiverRef | None = Field(default=None, description="the waiver matching this failure, if any")


class RequirementResult(_Model):
    id: str
    title: str
    fr: str
    sl: int
    status: RequirementStatusName
    checks: list[str]


class Gap(_Model):
    """Why an FR falls short of its target: the requirements that stop the next level."""

    fr: str
    sl_target: int
    sl_achieved: int
    blocking: list[str] = Field(description="requirement ids, each with its status, e.g. 'CR 1.11 (failed)'")
    reason: str


class Coverage(_Model):
    """How much of the target could be judged automatically: assessed rows over applicable rows."""

    assessed: int
    applicable: int
    ratio: float
    by_fr: dict[str, float]


class AssetResult(_Model):
    id: str
    type: str
    zone: str | None
    address: str
    profile: str | None
    status: Literal["assessed", "error", "skipped"]
    error: str | None = None
    skipped_because: SkipReason | None = Field(
        default=None, description="why a skipped asset was not scanned (error holds the details)")
    sl_target: SLVector
    sl_achieved: SLVector
    sl_achieved_strict: SLVector
    sl_achieved_with_countermeasures: SLVector | None = Field(
        default=None, description="automated SL-A counting failures waived with an accepted compensating "
                                  "countermeasure as met; null when no such waiver applies to this asset")
    meets_target: bool
    meets_target_with_countermeasures: bool | None = None
    coverage: Coverage
    gaps: list[Gap] = Field(default_factory=list)
    results: list[CheckResult] = Field(default_factory=list)
    requirements: list[RequirementResult] = Field(default_factory=list)
    endpoint_errors: list[str] = Field(default_factory=list)


class Summary(_Model):
    assets: int
    assessed: int
    errors: int
    meeting_target: int
    checks_by_status: dict[str, int]
    skipped: int = 0


class WaiverOutcome(_Model):
    """What one waiver of the waivers file did in this assessment."""

    id: str
    state: Literal["active", "expired"]
    check: str | None = None
    requirement: str | None = None
    assets: list[str] = Field(default_factory=list)
    zones: list[str] = Field(default_factory=list)
    justification: str
    compensating_countermeasure: str | None = None
    approver: str
    expires: date | None = None
    applied_to: list[str] = Field(default_factory=list, description="'asset/check' failures shown as waived")
    lapsed: list[str] = Field(default_factory=list,
                              description="'asset/check' failures it would cover if it had not expired")
    not_needed: list[str] = Field(default_factory=list, description="matched 'asset/check' results that did not fail")


class TrendPoint(_Model):
    """One earlier (or this) scan of an asset or a zone, from the history store."""

    scan_id: str
    started_at: datetime
    sl_target: SLVector
    sl_achieved: SLVector
    sl_achieved_with_countermeasures: SLVector | None = None
    assessed: bool = True
    failed_checks: int = 0


class History(_Model):
    """Trend data for the report: per asset and per zone (zone SL-A = lowest over its assessed assets)."""

    assets: dict[str, list[TrendPoint]] = Field(default_factory=dict)
    zones: dict[str, list[TrendPoint]] = Field(default_factory=dict)


class ScanResult(_Model):
    schema_version: Literal[1] = RESULT_SCHEMA_VERSION
    tool: dict[str, str]
    site: str
    started_at: datetime
    finished_at: datetime
    profile: str = Field(description="profile selection used: a profile name, 'sl<N>' or 'inventory'")
    basis: Literal["component", "system"] = "component"
    evidence_manifest_sha256: str | None = None
    interrupted: bool = False
    scan_id: str | None = Field(default=None, description="id of this scan in the history store, if recorded")
    summary: Summary
    assets: list[AssetResult]
    waivers: list[WaiverOutcome] = Field(default_factory=list)
    history: History | None = None

    def exit_code(self) -> int:
        """0 all assessed assets meet SL-T; 1 some fall short; 3 some could not be assessed (3 wins).

        Assets skipped because they were outside their maintenance window are not due and do not count;
        assets that could not start because the window would have been overrun do (3).
        """
        if any(a.status == "error" or a.skipped_because == "window_overrun" for a in self.assets) or self.interrupted:
            return 3
        if any(a.status == "assessed" and not a.meets_target for a in self.assets):
            return 1
        return 0
