"""``result.json`` (contract): the scored outcome of a scan or a rescore.

Every renderer takes a :class:`ScanResult` and nothing else, so a rescored bundle yields the same
reports as the original scan. The JSON Schema of this model is published in
``reports/schema/result.schema.json`` and every result is validated against it in the tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.slvector import SLVector

RESULT_SCHEMA_VERSION = 1
CheckStatus = Literal["pass", "fail", "not_applicable", "error", "manual", "waived"]
RequirementStatusName = Literal["passed", "failed", "error", "manual", "not_applicable", "not_assessed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    sl_target: SLVector
    sl_achieved: SLVector
    sl_achieved_strict: SLVector
    meets_target: bool
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
    summary: Summary
    assets: list[AssetResult]

    def exit_code(self) -> int:
        """0 all assessed assets meet SL-T; 1 some fall short; 3 some could not be assessed (3 wins)."""
        if any(a.status == "error" for a in self.assets) or self.interrupted:
            return 3
        if any(a.status == "assessed" and not a.meets_target for a in self.assets):
            return 1
        return 0
