"""Component requirement matrix for vendors and assessors (``component-matrix.html``, ``component-matrix.csv``).

For one component: every IEC 62443-4-2 requirement of its type (the CRs plus its SAR/EDR/HDR/NDR rows,
with their requirement enhancements) up to a chosen SL, each with the three sources kept apart:

* **automated evidence**: the device-evidence status (``passed``, ``failed``, ``error``, ``manual``, ``not
  assessed``, ``not applicable``), the checks behind it with their verdicts and observed against expected
  values, and the evidence items they were judged on (request, and sha256 when the bundle is given);
* the **vendor's capability claim** (SL-C only) with its evidence reference, marked "assessor to verify";
* the **site answer** that decided the row, or, for a row still open, what an assessor still has to see:
  the catalog's question and the evidence that answers it.

Each row's ``verdict`` and ``source`` are the result's own (device evidence, then a current answer, else
open); its ``capability`` is its standing for SL-C (device evidence, else the vendor's claim). The SL-C per
FR is the result's ``sl_capability`` (device evidence plus claims) where the vendor made claims, else the
level on device evidence alone (``sl_achieved_strict``), capped at the matrix SL; beside it, the level
reachable if every open row is confirmed. Rows the result does not carry (a result scored on 3-3 system
requirements) are judged from the asset's check verdicts with the core's scoring, on device evidence
alone. Without an explicit SL the matrix goes up to the asset's highest SL-T (at least 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.assessment.catalog import Requirement, load_catalog
from auditor.assessment.scoring import (SATISFIED, achieved, apply_answers, requirement_results, row_verdict_at,
                                        verdict_for)
from auditor.assessment.slvector import FRS
from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AnswerRef, AssetResult, CheckResult, RequirementResult, ScanResult
from reports.common import (
    ANSWER_LABELS,
    ANSWER_STATE_NOTES,
    CLAIM_NOTE,
    OPEN_TEXT,
    ROW_VERDICT_LABELS,
    STATUS_LABELS,
    answer_label,
    evidence_index,
    evidence_labels,
    format_time,
    fr_names,
    level_lines,
    observed_text,
    question_of,
    tool_label,
    write_text_atomic,
    zone_of,
)

MATRIX_STATUS = {"passed": "passed", "failed": "failed", "manual": "manual", "not_assessed": "not assessed",
                 "error": "error", "not_applicable": "not applicable"}
MATRIX_STATUS_ORDER = ("failed", "error", "not assessed", "manual", "passed", "not applicable")
# a row's standing for SL-C: device evidence first, then the vendor's claim
CAPABILITY_ORDER = ("unmet", "open", "claimed", "met", "not applicable")
CAPABILITY_LABELS = {"unmet": "unmet", "open": "open", "claimed": "claimed (assessor to verify)",
                     "met": "met by device evidence", "not applicable": "not applicable"}
MAX_OBSERVED = 300

CSV_COLUMNS: tuple[str, ...] = (
    "asset", "asset_type", "vendor", "product", "model", "firmware", "requirement", "title", "fr", "sl",
    "verdict", "source", "device_status", "checks", "check_statuses", "capability", "claim", "claim_evidence",
    "answer", "answer_evidence", "question", "evidence_wanted")


class MatrixError(ValueError):
    """The matrix cannot be made as asked (unknown asset, unknown component type, SL out of range)."""


@dataclass
class MatrixCheck:
    result: CheckResult
    status_label: str
    observed: str
    evidence: list[dict[str, Any]]


@dataclass
class MatrixRow:
    requirement: Requirement
    row: RequirementResult      # verdict, source, answer and claim as the result judged them
    status: str                 # device evidence, one of MATRIX_STATUS values
    scored_status: str          # the scoring status (passed, failed, error, ...)
    note: str
    capability: str             # one of CAPABILITY_ORDER
    checks: list[MatrixCheck] = field(default_factory=list)
    question: str = ""          # for an open row: what an assessor asks ...
    answer_evidence: str = ""   # ... and the evidence that answers it

    @property
    def css(self) -> str:
        return self.status.replace(" ", "_")

    @property
    def verdict(self) -> str:
        return self.row.verdict

    @property
    def source(self) -> str:
        return self.row.source

    @property
    def answer(self) -> AnswerRef | None:
        return self.row.answer

    @property
    def claim(self) -> AnswerRef | None:
        return self.row.claim

    @property
    def verdict_label(self) -> str:
        return ROW_VERDICT_LABELS.get(self.row.verdict, self.row.verdict)


@dataclass
class ComponentMatrix:
    asset: AssetResult
    zone: str
    sl: int
    kind_label: str
    rows: list[MatrixRow]
    slc_supported: dict[str, int]
    slc_potential: dict[str, int]
    counts: dict[str, int]
    by_fr: dict[str, dict[str, int]]
    slc_source: str = "evidence"                 # "claims": device evidence and vendor claims
    capability_counts: dict[str, int] = field(default_factory=dict)
    verdict_counts: dict[str, int] = field(default_factory=dict)
    product: dict[str, str] = field(default_factory=dict)
    levels: list[str] = field(default_factory=list)
    from_result: bool = True                     # False: rows judged here from check verdicts (3-3 result)

    @property
    def slc_label(self) -> str:
        return ("SL-C: device evidence and vendor claims" if self.slc_source == "claims"
                else "SL-C on device evidence alone (no vendor claims)")


def _kind_label(component_type: str) -> str:
    from auditor.assessment.catalog import TYPE_KIND

    return f"CR + {TYPE_KIND[component_type]}" if component_type in TYPE_KIND else "CR"


def _capability(row: RequirementResult) -> str:
    """The row's standing for SL-C at the applied parameters: device evidence first, then the claim."""
    verdict = verdict_for(row.status, row.claim)[0]
    if verdict == "unmet":
        return "unmet"
    if verdict == "not_applicable":
        return "not applicable"
    if verdict == "met":
        return "met" if row.status == "passed" else "claimed"
    return "open"


def _potential(rows: list[MatrixRow], asset: AssetResult, sl: int, source: str) -> dict[str, int]:
    """Per FR, the highest n <= sl at which no row up to n is unmet (open rows may still be confirmed) and
    the level was judged with its own parameters."""
    levels = {level.sl: level for level in asset.levels}
    out = {}
    for fr in FRS:
        fr_rows = [r.row for r in rows if f"FR{r.requirement.fr}" == fr]
        level = 0
        for n in range(1, sl + 1):
            verdicts = [row_verdict_at(r, n, asset.applied_sl, levels, source) for r in fr_rows if r.sl <= n]
            if any(v is None or (v not in SATISFIED and v != "open") for v in verdicts):
                break
            level = n
        out[fr] = level
    return out


def _evidence(ids: Iterable[str], items: dict[str, EvidenceItem]) -> list[dict[str, Any]]:
    out = []
    for item_id in ids:
        item = items.get(item_id)
        out.append({"id": item_id, "request": item.request.key if item else None,
                    "sha256": item.sha256 if item else None, "status": item.status if item else None})
    return out


def build_matrix(result: ScanResult, asset_id: str, sl: int | None = None,
                 evidence: EvidenceBundle | None = None) -> ComponentMatrix:
    """The matrix of one asset; raises :class:`MatrixError` for an unknown asset or an SL outside 1..4."""
    asset = next((a for a in result.assets if a.id == asset_id), None)
    if asset is None:
        known = ", ".join(a.id for a in result.assets) or "none"
        raise MatrixError(f"no asset {asset_id!r} in this result (assets: {known})")
    if sl is None:
        sl = max(1, asset.sl_target.highest())
    if not 1 <= sl <= 4:
        raise MatrixError(f"SL {sl} is out of range 1..4")
    catalog = load_catalog()
    try:
        catalog_rows = [r for r in catalog.for_component(asset.type) if r.sl <= sl]  # type: ignore[arg-type]
    except ValueError as exc:
        raise MatrixError(str(exc)) from None
    judged = {r.id: r for r in asset.requirements}
    missing = [r for r in catalog_rows if r.id not in judged]
    if missing:  # e.g. a result scored on 3-3 SRs: judge the 4-2 rows from the checks, device evidence alone
        judged.update({r.id: r for r in apply_answers(requirement_results(missing, asset.results), {})})
    by_check: dict[str, list[CheckResult]] = {}
    for check in asset.results:
        for req in check.requirements:
            by_check.setdefault(req, []).append(check)
    items = evidence_index(evidence)
    rows = []
    for requirement in catalog_rows:
        row = judged[requirement.id]
        status = row.status
        checks = sorted(by_check.get(requirement.id, []), key=lambda c: c.check_id)
        note = ""
        if status == "error":
            note = "evidence could not be read: " + "; ".join(c.reason for c in checks if c.status == "error" and c.reason)
        elif status == "not_assessed":
            note = "no automated check covers this requirement"
        elif status == "manual":
            note = "a check needs a person to decide it"
        question, wanted = question_of(requirement.id) if row.verdict == "open" else ("", "")
        rows.append(MatrixRow(
            requirement=requirement, row=row, status=MATRIX_STATUS.get(status, status), scored_status=status,
            note=note.strip(), capability=_capability(row), question=question, answer_evidence=wanted,
            checks=[MatrixCheck(result=c, status_label=STATUS_LABELS.get(c.status, c.status),
                                observed=_clip(observed_text(c.observed)), evidence=_evidence(c.evidence, items))
                    for c in checks]))
    has_claims = any(r.claim is not None for r in rows)
    source = "claims" if has_claims else "evidence"
    if not missing and asset.sl_capability is not None:
        base = asset.sl_capability
    elif not missing:
        base = asset.sl_achieved_strict
    else:
        base = achieved([r.row for r in rows], applied_sl=asset.applied_sl, levels=asset.levels, source=source)
    supported = {fr: min(base[fr], sl) for fr in FRS}
    counts = {s: sum(r.status == s for r in rows) for s in MATRIX_STATUS_ORDER}
    by_fr = {fr: {s: sum(r.capability == s and f"FR{r.requirement.fr}" == fr for r in rows) for s in CAPABILITY_ORDER}
             for fr in FRS}
    return ComponentMatrix(
        asset=asset, zone=zone_of(asset), sl=sl, kind_label=_kind_label(asset.type), rows=rows,
        slc_supported=supported, slc_potential=_potential(rows, asset, sl, source), counts=counts, by_fr=by_fr,
        slc_source=source, capability_counts={s: sum(r.capability == s for r in rows) for s in CAPABILITY_ORDER},
        verdict_counts={v: sum(r.verdict == v for r in rows) for v in ROW_VERDICT_LABELS},
        product=dict(asset.product), levels=level_lines(asset), from_result=not missing)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OBSERVED else text[:MAX_OBSERVED] + f"… ({len(text) - MAX_OBSERVED} more characters)"


def answer_view(ref: AnswerRef | None, *, claim: bool = False) -> dict[str, Any] | None:
    """What the template shows of an answer or a claim."""
    if ref is None:
        return None
    note = ANSWER_STATE_NOTES.get(ref.state, "")
    if claim and ref.state not in ("overruled", "expired"):
        note = CLAIM_NOTE
    return {"ref": ref, "label": answer_label(ref, claim=claim), "evidence": evidence_labels(ref), "note": note,
            "state": ref.state}


def render_matrix(result: ScanResult, asset_ids: list[str] | None = None, sl: int | None = None,
                  evidence: EvidenceBundle | None = None) -> str:
    """One self-contained HTML document with the matrix of each asset named (default: every asset)."""
    from reports.html import content_security_policy, render_printable

    ids = asset_ids if asset_ids is not None else [a.id for a in result.assets]
    matrices = [build_matrix(result, asset_id, sl, evidence) for asset_id in ids]
    return render_printable(
        "matrix.html.j2",
        result=result, matrices=matrices, frs=list(FRS), fr_names=fr_names(), tool=tool_label(result),
        started=format_time(result.started_at), has_evidence=evidence is not None,
        generated=format_time(datetime.now(timezone.utc).replace(microsecond=0)),
        csp=content_security_policy(None), statuses=MATRIX_STATUS_ORDER, standings=CAPABILITY_ORDER,
        standing_labels=CAPABILITY_LABELS, answer_view=answer_view, open_text=OPEN_TEXT)


def write_matrix(result: ScanResult, path: str | Path, *, asset_id: str | None = None, sl: int | None = None,
                 evidence: EvidenceBundle | None = None) -> Path:
    """Write the matrix of ``asset_id`` (or of every asset) as HTML."""
    return write_text_atomic(path, render_matrix(result, [asset_id] if asset_id else None, sl, evidence))


def write_matrix_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``matrix`` entry of :data:`reports.FORMATS`: every asset, each up to its highest SL-T."""
    return write_matrix(result, path, evidence=evidence)


# --------------------------------------------------------------------------- CSV form


def _answer_text(ref: AnswerRef | None, *, claim: bool = False) -> str:
    if ref is None:
        return ""
    text = f"{ANSWER_LABELS.get(ref.answer, ref.answer)} by {ref.attested_by} on {ref.date.isoformat()}"
    if ref.expires is not None:
        text += f" (expires {ref.expires.isoformat()})"
    note = ANSWER_STATE_NOTES.get(ref.state, "")
    if claim and ref.state not in ("overruled", "expired"):
        note = CLAIM_NOTE
    if ref.justification:
        text += f"; justification: {ref.justification}"
    return f"{text} [{ref.state}: {note}]" if note else text


def matrix_rows(result: ScanResult, asset_ids: list[str] | None = None, sl: int | None = None,
                evidence: EvidenceBundle | None = None) -> list[dict[str, str]]:
    """The matrix as CSV rows (one per asset x requirement; columns :data:`CSV_COLUMNS`), before neutralizing."""
    ids = asset_ids if asset_ids is not None else [a.id for a in result.assets]
    out = []
    for asset_id in ids:
        matrix = build_matrix(result, asset_id, sl, evidence)
        asset = matrix.asset
        for row in matrix.rows:
            out.append({
                "asset": asset.id, "asset_type": asset.type, "vendor": asset.product.get("vendor", ""),
                "product": asset.product.get("name", ""), "model": asset.product.get("model", ""),
                "firmware": asset.product.get("firmware", ""), "requirement": row.requirement.id,
                "title": row.requirement.title, "fr": f"FR{row.requirement.fr}", "sl": str(row.requirement.sl),
                "verdict": row.verdict, "source": row.source, "device_status": row.scored_status,
                "checks": "; ".join(c.result.check_id for c in row.checks),
                "check_statuses": "; ".join(f"{c.result.check_id}: {c.result.status}" for c in row.checks),
                "capability": row.capability,
                "claim": _answer_text(row.claim, claim=True),
                "claim_evidence": "; ".join(evidence_labels(row.claim)) if row.claim else "",
                "answer": _answer_text(row.answer),
                "answer_evidence": "; ".join(evidence_labels(row.answer)) if row.answer else "",
                "question": row.question, "evidence_wanted": row.answer_evidence,
            })
    return out


def render_matrix_csv(result: ScanResult, asset_ids: list[str] | None = None, sl: int | None = None,
                      evidence: EvidenceBundle | None = None) -> str:
    from reports.csv_report import neutralize

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    for row in matrix_rows(result, asset_ids, sl, evidence):
        writer.writerow({k: neutralize(str(v)) for k, v in row.items()})
    return buffer.getvalue()


def write_matrix_csv(result: ScanResult, path: str | Path, *, asset_id: str | None = None, sl: int | None = None,
                     evidence: EvidenceBundle | None = None) -> Path:
    """Write the matrix of ``asset_id`` (or of every asset) as CSV (UTF-8 with BOM, CRLF, like results.csv)."""
    return write_text_atomic(path, render_matrix_csv(result, [asset_id] if asset_id else None, sl, evidence),
                             encoding="utf-8-sig", newline="")


def write_matrix_csv_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``matrix-csv`` entry of :data:`reports.FORMATS`: every asset, each up to its highest SL-T."""
    return write_matrix_csv(result, path, evidence=evidence)
