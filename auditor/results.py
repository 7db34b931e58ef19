"""``result.json`` (contract): the scored outcome of a scan or a rescore.

Every renderer takes a :class:`ScanResult` and nothing else, so a rescored bundle yields the same
reports as the original scan. The JSON Schema of this model is published in
``reports/schema/result.schema.json`` and every result is validated against it in the tests.
"""

from __future__ import annotations

import datetime as _dt

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.assessment.slvector import SLVector

RESULT_SCHEMA_VERSION = 1
CheckStatus = Literal["pass", "fail", "not_applicable", "error", "manual", "waived"]
SkipReason = Literal["interrupted", "outside_window", "window_overrun", "no_evidence"]
RequirementStatusName = Literal["passed", "failed", "error", "manual", "not_applicable", "not_assessed"]
RowVerdict = Literal["met", "unmet", "not_applicable", "open"]
RowSource = Literal["evidence", "answer", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaiverRef(_Model):
    """The waiver that matched a failed check: ``applied`` (status ``waived``) or ``expired`` (still ``fail``)."""

    id: str
    state: Literal["applied", "expired"]
    justification: str
    compensating_countermeasure: str | None = None
    approver: str
    expires: _dt.date | None = None


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
    rationale: str = Field(default="", description="why the check matters (its rationale), so a report needs no "
                                                   "check pack; empty in results written before it was recorded")
    waiver: WaiverRef | None = Field(default=None, description="the waiver matching this failure, if any")
    proves_not_applicable: bool = Field(
        default=False, description="the check's evidence proves its requirements cannot apply to this component "
                                   "(e.g. no wireless interface for a wireless row)")
    risk: int | None = Field(
        default=None, description="risk score of a failed or erred check: severity x asset criticality x zone "
                                  "exposure + how far its FRs are below SL-T (README, 'Risk ranking'); higher first")


class EvidenceRef(_Model):
    """One piece of evidence behind an answer: a document or record id, a URL, or a file with its sha256."""

    ref: str | None = None
    url: str | None = None
    file: str | None = None
    sha256: str | None = None

    def label(self) -> str:
        if self.file:
            return f"{self.file} (sha256 {self.sha256[:12]}…)" if self.sha256 else self.file
        return self.url or self.ref or ""


class AnswerRef(_Model):
    """The recorded answer (attestation) that matched a requirement row, and what it did there.

    ``state``: ``counted`` (it decided the row), ``confirmed`` (device evidence met the row and the answer
    agrees), ``overruled`` (device evidence failed or erred on the row: the answer changes nothing),
    ``expired`` (past its ``expires`` date: no longer counts).
    """

    entry: str = Field(description="the answers file entry, e.g. 'answers[3]' or its id")
    answer: Literal["met", "not_met", "not_applicable"]
    state: Literal["counted", "confirmed", "overruled", "expired"]
    attested_by: str
    date: _dt.date
    expires: _dt.date | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)
    justification: str | None = None


class RequirementResult(_Model):
    """One requirement row: what device evidence said (``status``) and the verdict from all sources.

    ``status`` is the device-evidence status at the applied profile's parameters; ``verdict`` and ``source``
    are the row's standing once answers are counted (see README, "Scoring model").
    """

    id: str
    title: str
    fr: str
    sl: int
    status: RequirementStatusName = Field(description="device evidence alone, at the applied parameters")
    checks: list[str]
    verdict: RowVerdict = Field(default="open", description="met, unmet, not_applicable or open (needs an answer)")
    source: RowSource = Field(default="none", description="what decided the verdict: device evidence, an answer, "
                                                           "or nothing (open)")
    answer: AnswerRef | None = Field(default=None, description="the site answer that matched this row, if any")
    claim: AnswerRef | None = Field(default=None, description="the vendor capability claim for this row, if any")


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


class TechnicalView(_Model):
    """What the scan itself judged, up to SL-T: for technicians and CI gates. It never claims a level."""

    judged: int = Field(description="rows up to SL-T that device evidence judged (passed, failed or error)")
    unmet: list[str] = Field(default_factory=list, description="rows up to SL-T that device evidence failed or "
                                                               "could not read")
    open: list[str] = Field(default_factory=list, description="rows up to SL-T that still need an answer")
    answered: int = Field(default=0, description="rows up to SL-T decided by an answer")


class LevelEvaluation(_Model):
    """How a level of the SL-A claim was judged: which profile's parameters the checks ran with."""

    sl: int
    profile: str | None = Field(description="profile whose parameters judged this level; null: not evaluated")
    changed: dict[str, RequirementStatusName] = Field(
        default_factory=dict, description="rows whose device-evidence status differs from the applied parameters")


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
    sl_capability: SLVector | None = Field(
        default=None, description="SL-C: device evidence plus the vendor's capability claims; null without claims")
    applied_sl: int = Field(default=4, description="the level whose parameters the profile applied")
    levels: list[LevelEvaluation] = Field(
        default_factory=list, description="levels above applied_sl, judged with that level's built-in profile")
    technical: TechnicalView | None = None
    product: dict[str, str] = Field(default_factory=dict, description="vendor, name, model, firmware (inventory)")
    criticality: str | None = Field(default=None, description="the asset's criticality (inventory), if given")
    exposure: str | None = Field(default=None, description="its zone's exposure (inventory), if given")
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
    technical_findings: int = Field(default=0, description="assessed assets with a row up to SL-T unmet by evidence")
    open_rows: int = Field(default=0, description="rows up to SL-T, over all assets, that still need an answer")


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
    expires: _dt.date | None = None
    applied_to: list[str] = Field(default_factory=list, description="'asset/check' failures shown as waived")
    lapsed: list[str] = Field(default_factory=list,
                              description="'asset/check' failures it would cover if it had not expired")
    not_needed: list[str] = Field(default_factory=list, description="matched 'asset/check' results that did not fail")


class AttestationOutcome(_Model):
    """What one entry of the answers file did in this assessment."""

    entry: str
    requirement: str | None = None
    check: str | None = None
    answer: Literal["met", "not_met", "not_applicable"]
    capability: bool = False
    state: Literal["current", "expired"]
    attested_by: str
    date: _dt.date
    expires: _dt.date | None = None
    counted: list[str] = Field(default_factory=list, description="'asset/row' the answer decided")
    confirmed: list[str] = Field(default_factory=list, description="'asset/row' device evidence also met")
    overruled: list[str] = Field(default_factory=list, description="'asset/row' where device evidence failed: ignored")
    lapsed: list[str] = Field(default_factory=list, description="'asset/row' it would decide if it had not expired")


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


class ConduitResult(_Model):
    """A conduit of the inventory (IEC 62443-3-2), shown beside the zones it joins."""

    id: str
    zones: list[str]
    protocols: list[str] = Field(default_factory=list, description="protocols allowed to cross")
    description: str = ""
    scanned_across: bool = Field(default=False, description="the scanner sat in one of its zones and read assets "
                                                            "of the other through it")


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
    attestations: list[AttestationOutcome] = Field(default_factory=list)
    attestations_source: str | None = Field(default=None, description="the answers file applied, if any")
    history: History | None = None
    conduits: list[ConduitResult] = Field(default_factory=list, description="the inventory's conduits between zones")
    scanner_zone: str | None = Field(default=None, description="the zone the scanner sat in, if the inventory says")

    def exit_code(self, gate: Literal["complete", "technical"] = "complete") -> int:
        """0 all assessed assets meet SL-T; 1 some fall short; 3 some could not be assessed (3 wins).

        With ``gate="technical"``, 1 means some row up to SL-T is unmet by device evidence; rows that only
        await an answer do not change the code. Assets skipped because they were outside their maintenance
        window are not due and do not count; assets that could not start because the window would have
        been overrun do (3).
        """
        if any(a.status == "error" or a.skipped_because == "window_overrun" for a in self.assets) or self.interrupted:
            return 3
        assessed = [a for a in self.assets if a.status == "assessed"]
        if gate == "technical":
            return 1 if any(a.technical is not None and a.technical.unmet for a in assessed) else 0
        return 1 if any(not a.meets_target for a in assessed) else 0
