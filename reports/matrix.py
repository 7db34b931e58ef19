"""Component requirement matrix for vendors (``component-matrix.html``).

For one component: every IEC 62443-4-2 requirement of its type (the CRs plus its SAR/EDR/HDR/NDR rows,
with their requirement enhancements) up to a chosen SL, each with

* its status: ``passed``, ``failed``, ``manual`` (a person must verify it), ``not assessed`` (no automated
  check covers it, or its evidence could not be read) or ``not applicable``;
* the checks behind it, with their verdicts and observed against expected values, and the evidence
  items they were judged on (request, and sha256 when the evidence bundle is given);
* the SL-C (capability security level) the evidence supports, per FR: the highest level up to which
  every requirement passed (not-applicable rows do not count against it), and the level that would be
  reached if every manual and not-assessed row were confirmed by other evidence.

Statuses are computed from the asset's check verdicts with the core's own scoring over the catalog
rows (a waived failure is still a failure), so the matrix agrees with result.json whatever basis the
scan was scored on. Without an explicit SL the matrix goes up to the asset's highest SL-T (at least 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.catalog import Requirement, load_catalog
from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AssetResult, CheckResult, ScanResult
from auditor.scoring import requirement_results
from auditor.slvector import FRS
from reports.common import (
    STATUS_LABELS,
    evidence_index,
    fr_names,
    observed_text,
    tool_label,
    write_text_atomic,
    zone_of,
)

MATRIX_STATUS = {"passed": "passed", "failed": "failed", "manual": "manual", "not_assessed": "not assessed",
                 "error": "not assessed", "not_applicable": "not applicable"}
MATRIX_STATUS_ORDER = ("failed", "not assessed", "manual", "passed", "not applicable")
MAX_OBSERVED = 300


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
    status: str                 # one of MATRIX_STATUS values
    scored_status: str          # the scoring status (passed, failed, error, ...)
    note: str
    checks: list[MatrixCheck] = field(default_factory=list)

    @property
    def css(self) -> str:
        return self.status.replace(" ", "_")


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


def _kind_label(component_type: str) -> str:
    from auditor.catalog import TYPE_KIND

    return f"CR + {TYPE_KIND[component_type]}" if component_type in TYPE_KIND else "CR"


def _slc(rows: list[MatrixRow], sl: int, *, potential: bool) -> dict[str, int]:
    """Per FR, the highest n <= sl such that every row required at SL <= n is passed (or, for the
    potential level, is not failed); not-applicable rows never count against a level."""
    out = {}
    for fr in FRS:
        fr_rows = [r for r in rows if f"FR{r.requirement.fr}" == fr and r.status != "not applicable"]
        level = 0
        for n in range(1, sl + 1):
            upto = [r for r in fr_rows if r.requirement.sl <= n]
            ok = all(r.status != "failed" for r in upto) if potential else all(r.status == "passed" for r in upto)
            if not ok:
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
    scored = {r.id: r for r in requirement_results(catalog_rows, asset.results)}
    by_check: dict[str, list[CheckResult]] = {}
    for check in asset.results:
        for req in check.requirements:
            by_check.setdefault(req, []).append(check)
    items = evidence_index(evidence)
    rows = []
    for requirement in catalog_rows:
        status = scored[requirement.id].status
        checks = sorted(by_check.get(requirement.id, []), key=lambda c: c.check_id)
        note = ""
        if status == "error":
            note = "evidence could not be read: " + "; ".join(c.reason for c in checks if c.status == "error" and c.reason)
        elif status == "not_assessed":
            note = "no automated check covers this requirement: provide documents or a manual test"
        elif status == "manual":
            note = "needs manual verification"
        rows.append(MatrixRow(
            requirement=requirement, status=MATRIX_STATUS[status], scored_status=status, note=note.strip(),
            checks=[MatrixCheck(result=c, status_label=STATUS_LABELS.get(c.status, c.status),
                                observed=_clip(observed_text(c.observed)), evidence=_evidence(c.evidence, items))
                    for c in checks]))
    counts = {s: sum(r.status == s for r in rows) for s in MATRIX_STATUS_ORDER}
    by_fr = {fr: {s: sum(r.status == s and f"FR{r.requirement.fr}" == fr for r in rows) for s in MATRIX_STATUS_ORDER}
             for fr in FRS}
    return ComponentMatrix(asset=asset, zone=zone_of(asset), sl=sl, kind_label=_kind_label(asset.type), rows=rows,
                           slc_supported=_slc(rows, sl, potential=False), slc_potential=_slc(rows, sl, potential=True),
                           counts=counts, by_fr=by_fr)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OBSERVED else text[:MAX_OBSERVED] + f"… ({len(text) - MAX_OBSERVED} more characters)"


def render_matrix(result: ScanResult, asset_ids: list[str] | None = None, sl: int | None = None,
                  evidence: EvidenceBundle | None = None) -> str:
    """One self-contained HTML document with the matrix of each asset named (default: every asset)."""
    from reports.html import _format_time, content_security_policy, environment

    ids = asset_ids if asset_ids is not None else [a.id for a in result.assets]
    matrices = [build_matrix(result, asset_id, sl, evidence) for asset_id in ids]
    template = environment().get_template("matrix.html.j2")
    return template.render(
        result=result, matrices=matrices, frs=list(FRS), fr_names=fr_names(), tool=tool_label(result),
        started=_format_time(result.started_at), has_evidence=evidence is not None,
        generated=_format_time(datetime.now(timezone.utc).replace(microsecond=0)),
        csp=content_security_policy(None), statuses=MATRIX_STATUS_ORDER)


def write_matrix(result: ScanResult, path: str | Path, *, asset_id: str | None = None, sl: int | None = None,
                 evidence: EvidenceBundle | None = None) -> Path:
    """Write the matrix of ``asset_id`` (or of every asset) as HTML."""
    return write_text_atomic(path, render_matrix(result, [asset_id] if asset_id else None, sl, evidence))


def write_matrix_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``matrix`` entry of :data:`reports.FORMATS`: every asset, each up to its highest SL-T."""
    return write_matrix(result, path, evidence=evidence)
