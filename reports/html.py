# One module on purpose: the HTML report's view model, its template context and its CSP (shared with the matrix) change together.
"""``report.html``: the plant page for a plant manager, each asset's detail for a technician.

Rendered from a :class:`~auditor.results.ScanResult` alone (so a rescored bundle gives the same report, and a
report renders the same where no check pack is installed: each check's rationale and remediation are in the
result). One optional extra makes it richer without being required: ``evidence``, the
:class:`~auditor.evidence.EvidenceBundle` the result came from; the raw request and (truncated) response of
every evidence item a verdict used is then shown under that verdict.

The plant page leads with what to fix first (:mod:`reports.plant`): the failed checks and check errors
across the plant grouped by check with the assets each affects, what answering would complete, a summary by
zone, and a heat map of FR x asset (SL-A against SL-T) with the assets furthest below target first. Each
asset's detail: its verdict and why (:func:`reports.common.shortfall`), SL-A beside SL-A on device evidence
alone (and SL-C where a vendor made capability claims), which parameters judged each level, a radar chart of
SL-A against SL-T over FR1..FR7, the findings ordered by severity (observed against expected, remediation,
expandable evidence) and the requirement table: each row's verdict and what decided it, kept apart (device
evidence with its checks, an answer with who gave it, when and on what evidence, or "open: needs an answer"
with the catalog's question); then the answers file's entries and what each did, plus filters by zone,
asset, FR, severity and status.

Layout (:func:`write_html`): up to :data:`SINGLE_FILE_MAX` assets, one file with every asset's detail after
the plant page (also what the PDF prints, :func:`render_html`); a larger plant gets the plant page alone and
one page per asset in ``<name>-assets/``, because every asset's findings and requirement rows in one file
grow it by hundreds of kB per asset, past what a browser opens at a thousand assets.

Safety: everything device- or inventory-controlled is escaped by Jinja2's autoescaping, every control
character a device sent is shown as an escape (:func:`render_printable`), and asset page file names are built
from a safe subset of the id (:func:`page_names`). A page makes no external fetch (inline
CSS, inline SVG) and its Content-Security-Policy allows exactly one script: ``templates/_filters.js``,
inlined and allowed by its sha256 hash. Every page is complete without it: the filters are hidden until the
script shows them, and every finding is in the document.

Templates are split into partials (``_summary``, ``_fixfirst``, ``_asset``, ``_macros``, ``_style``;
``asset.html.j2`` is an asset's own page); a ``_history.html.j2`` partial, if one is added, is included per
zone and per asset with ``history_scope`` (``"zone"`` or ``"asset"``) and ``history_id`` set, and is simply
skipped while it does not exist.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from auditor.assessment.slvector import FRS
from auditor.batching import fork_workers, forked_map, no_cyclic_gc
from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AnswerRef, AssetResult, CheckResult, RequirementResult, ScanResult
from auditor.safetext import printable_lines
from reports.common import (
    ANSWER_LABELS,
    ANSWER_STATE_NOTES,
    CLAIM_NOTE,
    NO_ZONE,
    OPEN_TEXT,
    PROBLEM_STATUSES,
    REQUIREMENT_LABELS,
    ROW_VERDICT_LABELS,
    SEVERITY_ORDER,
    STATUS_LABELS,
    STATUS_ORDER,
    VERDICT_LABELS,
    answer_label,
    answered_count,
    asset_verdict,
    catalog_or_none,
    check_frs,
    evidence_index,
    evidence_labels,
    format_duration,
    format_time,
    fr_names as catalog_fr_names,
    in_target,
    level_lines,
    overall_verdict,
    pretty_json,
    question_of,
    result_sort_key,
    row_counts,
    shortfall,
    write_text_atomic,
    zone_of,
)
from reports.plant import Answering, FixGroup, answering, fix_first, rank_key
from reports.plant import gap as plant_gap

log = logging.getLogger(__name__)

ASSET_STATUS_LABELS = {"assessed": "Assessed", "error": "Not assessed (error)", "skipped": "Skipped"}
MAX_OBSERVED_CHARS = 4000
MAX_RESPONSE_CHARS = 6000
SCRIPT_RESOURCE = "_filters.js"

# geometry of the per-asset radar chart (SVG user units)
_RADAR_R = 88          # radius of SL 4
_RADAR_CX = 130
_RADAR_CY = 118


# --------------------------------------------------------------------------- view model


@dataclass
class FrCell:
    fr: str
    name: str
    target: int
    achieved: int
    strict: int
    state: str  # met | short | unknown

    @property
    def gap(self) -> int:
        return max(0, self.target - self.achieved) if self.state != "unknown" else 0


# The views the templates read attribute by attribute: slotted dataclasses, not dicts (Jinja tries an attribute
# first and a dict only after its AttributeError, which on a thousand pages of rows is a noticeable cost).


@dataclass(slots=True)
class RequirementChip:
    id: str
    title: str   # "CR 1.1: title (FR1, from SL1)", shown on hover


@dataclass(slots=True)
class EvidenceEntry:
    """An evidence item as an asset's page shows it: once in "Evidence read", linked from each finding."""
    id: str
    item: EvidenceItem | None  # None: the result names an item the given evidence bundle does not hold
    text: str = ""
    truncated: int = 0          # characters left out of ``text``
    anchor: str = ""
    head: Markup = Markup()     # its heading line (request, endpoint, exit code, sha256), rendered once


@dataclass(slots=True)
class AnswerView:
    ref: AnswerRef
    label: str
    evidence: list[str]
    state: str
    note: str
    value: str


@dataclass(slots=True)
class CheckLink:
    id: str
    anchor: str | None  # the check's finding on this page, if it ran


@dataclass(slots=True)
class RequirementRowView:
    row: RequirementResult
    cells: Markup  # its id, title, FR and SL cells, the same on every asset's page
    label: str
    verdict_label: str
    open_text: str
    answer: AnswerView | None
    claim: AnswerView | None
    question: str
    answer_evidence: str
    checks: list[CheckLink]


@dataclass(slots=True)
class RadarRing:
    level: int
    points: str
    label_y: float


@dataclass(slots=True)
class RadarAxis:
    fr: str
    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str
    dot_x: float
    dot_y: float
    state: str
    tip: str


@dataclass(slots=True)
class RadarChart:
    width: int
    height: int
    cx: int
    cy: int
    rings: list[RadarRing]
    axes: list[RadarAxis]
    target: str
    achieved: str
    strict: str
    short: bool
    assessed: bool


@dataclass
class Finding:
    anchor: str
    result: CheckResult
    status_label: str
    observed_text: str
    observed_block: bool
    evidence: list[EvidenceEntry]
    frs: list[str] = field(default_factory=list)
    about: Markup = Markup()  # remediation, rationale and requirements, as every finding of its check shows them


@dataclass
class AssetView:
    index: int
    anchor: str
    asset: AssetResult
    zone: str
    status_label: str
    verdict: str        # meets | short | error | skipped
    verdict_label: str
    cells: list[FrCell]
    chart: RadarChart | None  # None where the detail is left out (the plant page of per-asset pages)
    problems: list[Finding]
    others: list[Finding]
    counts: dict[str, int]
    requirements_in_target: list[RequirementRowView]
    requirements_above_target: list[RequirementRowView]
    requirement_counts: dict[str, int]
    check_anchors: dict[str, str] = field(default_factory=dict)
    shortfall: str = ""
    levels: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    product: str = ""
    href: str = ""      # where its detail is: "#asset-N" in the same document, or its own page
    gap: int = 0        # sum over FR of SL-T minus SL-A (reports.plant.gap)
    evidence: list[EvidenceEntry] = field(default_factory=list)  # the items its checks read, each once


@dataclass
class ZoneView:
    name: str
    anchor: str
    assets: list[AssetView]
    verdicts: dict[str, int]
    target: dict[str, int]          # highest SL-T among the zone's assets, per FR
    weakest: dict[str, int | None]  # lowest SL-A among the zone's assessed assets, per FR (None: none assessed)
    failed_checks: int
    urgent_checks: int              # failed checks of critical or high severity


@functools.lru_cache(maxsize=1024)
def _requirement_label(req_id: str) -> RequirementChip:
    """A requirement's chip (the same on every finding that names it: made once per requirement)."""
    catalog = catalog_or_none()
    if catalog is not None:
        try:
            row = catalog.get(req_id)
            return RequirementChip(req_id, f"{row.id}: {row.title} (FR{row.fr}, from SL{row.sl})")
        except (KeyError, ValueError):
            pass
    return RequirementChip(req_id, f"{req_id} (not in this tool's catalog)")


def _format_observed(value: Any) -> tuple[str, bool]:
    """Text for an observed value and whether it needs a block (multi-line) rendering."""
    if value is None:
        return "—", False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, (int, float)):
        return str(value), False
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value) and len(value) <= 12:
        text = ", ".join(str(v) for v in value) if value else "(none)"
    else:
        text = pretty_json(value)
    if len(text) > MAX_OBSERVED_CHARS:
        text = text[:MAX_OBSERVED_CHARS] + f"\n… ({len(text) - MAX_OBSERVED_CHARS} more characters in result.json)"
    return text, "\n" in text or len(text) > 120


def _evidence_entries(ids: list[str], items: dict[str, EvidenceItem], seen: dict[str, EvidenceEntry],
                      prefix: str) -> list[EvidenceEntry]:
    """The entries of the items ``ids`` names; each item's entry is made once per asset (``seen``) and gets an
    anchor there (``prefix`` + its position), so its response is shown once, however many checks read it."""
    out = []
    for item_id in ids:
        if item_id in seen:
            out.append(seen[item_id])
            continue
        item = items.get(item_id)
        if item is None:
            entry = EvidenceEntry(item_id, None)
        else:
            try:
                text = item.text() if item.encoding != "json" else pretty_json(item.data())
            except Exception:
                text = item.response
            if item.error:
                text = f"{text}\n[error] {item.error}" if text else f"[error] {item.error}"
            truncated = len(text) > MAX_RESPONSE_CHARS
            entry = EvidenceEntry(item_id, item, text[:MAX_RESPONSE_CHARS],
                                  len(text) - MAX_RESPONSE_CHARS if truncated else 0, f"{prefix}{len(seen) + 1}")
            # its heading (request, endpoint, exit code, sha256) is the same line in the "Evidence read" section
            # and in every finding card that read it: rendered once
            entry.head = _macros().evidence_head(entry)
        seen[item_id] = entry
        out.append(entry)
    return out


def _radar(cells: list[FrCell], assessed: bool, names: dict[str, str]) -> RadarChart:
    """Numbers for the inline SVG radar: one axis per FR, rings for SL 1..4, SL-T / SL-A / strict polygons."""
    count = len(cells)

    def point(index: int, level: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / count
        radius = _RADAR_R * level / 4
        return round(_RADAR_CX + radius * math.cos(angle), 1), round(_RADAR_CY + radius * math.sin(angle), 1)

    def polygon(levels: list[float]) -> str:
        return " ".join(f"{x},{y}" for x, y in (point(i, lv) for i, lv in enumerate(levels)))

    axes = []
    for i, cell in enumerate(cells):
        end_x, end_y = point(i, 4)
        label_x, label_y = point(i, 4.75)
        anchor = "middle" if abs(label_x - _RADAR_CX) < 8 else ("start" if label_x > _RADAR_CX else "end")
        dot_x, dot_y = point(i, cell.achieved)
        axes.append(RadarAxis(
            fr=cell.fr, x=end_x, y=end_y, label_x=label_x, label_y=round(label_y + 4, 1),
            anchor=anchor, dot_x=dot_x, dot_y=dot_y, state=cell.state,
            tip=(f"{cell.fr} {names.get(cell.fr, '')}: SL-T {cell.target}, "
                 + (f"SL-A {cell.achieved}, device evidence only {cell.strict}" if assessed else "not assessed"))))
    return RadarChart(
        width=2 * _RADAR_CX, height=2 * _RADAR_CY + 4, cx=_RADAR_CX, cy=_RADAR_CY,
        rings=[RadarRing(level=lv, points=polygon([lv] * count), label_y=round(_RADAR_CY - _RADAR_R * lv / 4 + 3, 1))
               for lv in range(1, 5)],
        axes=axes,
        target=polygon([c.target for c in cells]),
        achieved=polygon([c.achieved for c in cells]),
        strict=polygon([c.strict for c in cells]),
        short=any(c.state == "short" for c in cells),
        assessed=assessed)


@functools.lru_cache(maxsize=1024)
def _check_about(remediation: str, rationale: str, requirements: tuple[str, ...], target_sl: int | None) -> Markup:
    """What a finding says of its check, rendered once for all the assets the check ran on."""
    return _macros().check_about(remediation, rationale, [_requirement_label(r) for r in requirements], target_sl)


def _finding(anchor: str, result: CheckResult, items: dict[str, EvidenceItem],
             seen: dict[str, EvidenceEntry], evidence_prefix: str) -> Finding:
    observed, block = _format_observed(result.observed)
    return Finding(
        anchor=anchor, result=result, status_label=STATUS_LABELS.get(result.status, result.status),
        observed_text=observed, observed_block=block,
        evidence=_evidence_entries(result.evidence, items, seen, evidence_prefix),
        frs=check_frs(result),
        about=_check_about(result.remediation, result.rationale, tuple(result.requirements), result.target_sl))


def _asset_view(index: int, asset: AssetResult, names: dict[str, str],
                items: dict[str, EvidenceItem], *, detail: bool = True, href: str | None = None) -> AssetView:
    """The view of one asset; ``detail=False`` leaves out its findings and requirement rows (the plant page
    of a plant with per-asset pages needs only the figures, and 1,000 assets' findings would not fit)."""
    assessed = asset.status == "assessed"
    cells = []
    for fr in FRS:
        target, got = asset.sl_target[fr], asset.sl_achieved[fr]
        state = "unknown" if not assessed else ("met" if got >= target else "short")
        cells.append(FrCell(fr=fr, name=names.get(fr, fr), target=target, achieved=got,
                            strict=asset.sl_achieved_strict[fr], state=state))
    verdict = asset_verdict(asset)

    ordered = sorted(asset.results, key=result_sort_key) if detail else []
    anchors: dict[str, str] = {}
    for n, result in enumerate(ordered, start=1):
        anchors.setdefault(result.check_id, f"a{index}-c{n}")
    seen: dict[str, EvidenceEntry] = {}  # item id -> its entry: every response once on the asset's page
    findings = [_finding(f"a{index}-c{n}", result, items, seen, f"a{index}-e")
                for n, result in enumerate(ordered, start=1)]
    counts = {status: sum(r.status == status for r in asset.results) for status in STATUS_ORDER}

    within, above = [], []
    requirement_counts: dict[str, int] = {}
    for row in (asset.requirements if detail else []):
        if in_target(asset, row):
            within.append(_requirement_row(row, anchors, with_question=True))
            requirement_counts[row.verdict] = requirement_counts.get(row.verdict, 0) + 1
        else:
            above.append(_requirement_row(row, anchors, with_question=False))
    return AssetView(
        index=index, anchor=f"asset-{index}", asset=asset, zone=zone_of(asset),
        status_label=ASSET_STATUS_LABELS.get(asset.status, asset.status),
        verdict=verdict, verdict_label=VERDICT_LABELS[verdict], cells=cells,
        chart=_radar(cells, assessed, names) if detail else None,
        problems=[f for f in findings if f.result.status in PROBLEM_STATUSES],
        others=[f for f in findings if f.result.status not in PROBLEM_STATUSES],
        counts=counts, requirements_in_target=within, requirements_above_target=above,
        requirement_counts=requirement_counts, check_anchors=anchors, shortfall=shortfall(asset),
        levels=level_lines(asset), row_counts=row_counts(r.row for r in within), product=product_label(asset),
        href=href if href is not None else f"#asset-{index}", gap=plant_gap(asset),
        evidence=[entry for entry in seen.values() if entry.item is not None])


def product_label(asset: AssetResult) -> str:
    """"vendor name model, firmware X" from the inventory's product fields ("" when none recorded)."""
    product = asset.product or {}
    text = " ".join(product[key] for key in ("vendor", "name", "model") if product.get(key))
    if product.get("firmware"):
        text = f"{text}, firmware {product['firmware']}" if text else f"firmware {product['firmware']}"
    return text


def _answer_view(ref: AnswerRef | None, *, claim: bool = False) -> AnswerView | None:
    if ref is None:
        return None
    note = CLAIM_NOTE if claim and ref.state not in ("overruled", "expired") else ANSWER_STATE_NOTES.get(ref.state, "")
    return AnswerView(ref=ref, label=answer_label(ref, claim=claim), evidence=evidence_labels(ref), state=ref.state,
                      note=note, value=ANSWER_LABELS.get(ref.answer, ref.answer))


@functools.lru_cache(maxsize=1024)
def _requirement_cells(req_id: str, title: str, fr: str, sl: int) -> Markup:
    """A requirement's own cells of a matrix row, rendered once for every asset's matrix."""
    return _macros().requirement_cells(req_id, title, fr, catalog_fr_names().get(fr, fr), sl)


def _requirement_row(row: RequirementResult, anchors: dict[str, str], *, with_question: bool) -> RequirementRowView:
    question, wanted = question_of(row.id) if with_question and row.verdict == "open" else ("", "")
    expired = row.answer is not None and row.answer.state == "expired"
    return RequirementRowView(
        row=row, cells=_requirement_cells(row.id, row.title, row.fr, row.sl), label=REQUIREMENT_LABELS.get(row.status, row.status),
        verdict_label=ROW_VERDICT_LABELS.get(row.verdict, row.verdict),
        open_text=OPEN_TEXT + (f" (its answer expired on {row.answer.expires})" if expired and row.answer
                               and row.answer.expires else ""),
        answer=_answer_view(row.answer), claim=_answer_view(row.claim, claim=True),
        question=question, answer_evidence=wanted, checks=[CheckLink(c, anchors.get(c)) for c in row.checks])


def _zone_views(assets: list[AssetView]) -> list[ZoneView]:
    grouped: dict[str, list[AssetView]] = {}
    for view in assets:
        grouped.setdefault(view.zone, []).append(view)
    zones = []
    for n, (name, members) in enumerate(grouped.items(), start=1):
        assessed = [v.asset for v in members if v.asset.status == "assessed"]
        verdicts = {key: sum(v.verdict == key for v in members) for key in ("meets", "short", "error", "skipped")}
        zones.append(ZoneView(
            name=name, anchor=f"zone-{n}", assets=members, verdicts=verdicts,
            target={fr: max(v.asset.sl_target[fr] for v in members) for fr in FRS},
            weakest={fr: (min(a.sl_achieved[fr] for a in assessed) if assessed else None) for fr in FRS},
            failed_checks=sum(r.status == "fail" for v in members for r in v.asset.results),
            urgent_checks=sum(r.status == "fail" and r.severity in ("critical", "high")
                              for v in members for r in v.asset.results)))
    return zones


def _overall_detail(result: ScanResult) -> str:
    """The second line of the verdict: what device evidence found, and what awaits an answer."""
    assessed = [a for a in result.assets if a.status == "assessed"]
    if not assessed:
        return ""
    technical = result.summary.technical_findings
    answered = sum(answered_count(a) for a in assessed)
    parts = [f"Device evidence: {technical} of {len(assessed)} assessed asset{'s' if len(assessed) != 1 else ''} "
             f"{'has' if technical == 1 else 'have'} a requirement unmet" if technical
             else "Device evidence: no technical finding on any assessed asset"]
    parts.append(f"{result.summary.open_rows} requirement{'s' if result.summary.open_rows != 1 else ''} up to SL-T "
                 f"{'awaits' if result.summary.open_rows == 1 else 'await'} an answer")
    if answered:
        parts.append(f"{answered} {'was' if answered == 1 else 'were'} decided by answers")
    return "; ".join(parts) + "."


def _answers_view(result: ScanResult) -> dict[str, Any]:
    """The answers file section: each entry, what it did, and its evidence (from the rows it matched)."""
    refs: dict[str, AnswerRef] = {}
    for asset in result.assets:
        for row in asset.requirements:
            for ref in (row.answer, row.claim):
                if ref is not None:
                    refs.setdefault(ref.entry, ref)
    entries = []
    for outcome in result.attestations:
        ref = refs.get(outcome.entry)
        entries.append({
            "outcome": outcome, "value": ANSWER_LABELS.get(outcome.answer, outcome.answer),
            "target": outcome.requirement or (f"check {outcome.check}" if outcome.check else "—"),
            "evidence": evidence_labels(ref) if ref is not None else [],
            "justification": ref.justification if ref is not None else None,
            "unused": not (outcome.counted or outcome.confirmed or outcome.overruled or outcome.lapsed)})
    site = [e for e in entries if not e["outcome"].capability]
    claims = [e for e in entries if e["outcome"].capability]
    return {
        "source": result.attestations_source, "entries": entries, "site": site, "claims": claims,
        "counted": sum(len(e["outcome"].counted) for e in site),
        "confirmed": sum(len(e["outcome"].confirmed) for e in site),
        "overruled": sum(len(e["outcome"].overruled) for e in site),
        "expired": sum(e["outcome"].state == "expired" for e in site),
        "claimed": sum(len(e["outcome"].counted) for e in claims),
        "claims_overruled": sum(len(e["outcome"].overruled) for e in claims),
        "claims_expired": sum(e["outcome"].state == "expired" for e in claims),
        "state_notes": ANSWER_STATE_NOTES, "claim_note": CLAIM_NOTE,
    }


FIX_ASSET_LINKS = 8      # assets named per finding on the plant page; the rest are counted (the filter finds them)
OPEN_QUESTIONS_SHOWN = 25  # requirements awaiting an answer listed on the plant page; the rest are counted


def _keys(values: list[str]) -> dict[str, str]:
    """Short filter keys (``k1``, ``k2`` ...) for zone names and asset ids, which may hold any character."""
    return {value: f"k{n}" for n, value in enumerate(dict.fromkeys(values), start=1)}


def _fix_views(groups: list[FixGroup], views: dict[str, AssetView], zone_keys: dict[str, str],
               asset_keys: dict[str, str]) -> list[dict[str, Any]]:
    """The plant-wide findings, each with its affected assets (the first few linked) and its filter keys."""
    out = []
    for group in groups:
        members = [views[a.id] for a in group.assets]
        out.append({
            "group": group, "affected": len(members), "shown": members[:FIX_ASSET_LINKS],
            "more": max(0, len(members) - FIX_ASSET_LINKS),
            "zone_keys": " ".join(dict.fromkeys(zone_keys[v.zone] for v in members)),
            "asset_keys": " ".join(asset_keys[v.asset.id] for v in members),
            "statuses": " ".join(s for s in ("fail", "error") if group.statuses.get(s)),
        })
    return out


def _answering_view(found: Answering, views: dict[str, AssetView]) -> dict[str, Any]:
    return {"questions": found.questions[:OPEN_QUESTIONS_SHOWN],
            "more": max(0, len(found.questions) - OPEN_QUESTIONS_SHOWN), "requirements": len(found.questions),
            "completes": [views[a.id] for a in found.completes], "open_rows": found.open_rows}


def _filter_options(assets: list[AssetView]) -> dict[str, list[tuple[str, str]]]:
    severities = {r.severity for v in assets for r in v.asset.results}
    ordered_severities = [s for s in SEVERITY_ORDER if s in severities] + sorted(severities - set(SEVERITY_ORDER))
    statuses = {r.status for v in assets for r in v.asset.results}
    return {
        "zone": [(z, z) for z in dict.fromkeys(v.zone for v in assets)],
        "asset": [(v.asset.id, v.asset.id) for v in assets],
        "severity": [(s, s) for s in ordered_severities],
        "status": [(s, STATUS_LABELS.get(s, s)) for s in STATUS_ORDER if s in statuses]
                  + [(s, s) for s in sorted(statuses - set(STATUS_ORDER))],
    }


def build_context(result: ScanResult, *, evidence: EvidenceBundle | None = None, print_mode: bool = False,
                  cover: Mapping[str, Any] | None = None, pages: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything the template shows, computed from the result (plus the optional extras).

    ``print_mode`` renders for paper (PDF): no script and no filters, passed checks and evidence expanded;
    ``cover`` (site, date, profile, operator, tool ...) adds a cover page. ``pages`` (asset id -> relative
    link of its own page) renders the plant page alone, each asset linked to its page instead of following it.
    """
    names = catalog_fr_names()
    items = evidence_index(evidence) if pages is None else {}
    inventory = [_asset_view(i, asset, names, items, detail=pages is None,
                             href=pages[asset.id] if pages is not None else None)
                 for i, asset in enumerate(result.assets, start=1)]
    assets = sorted(inventory, key=lambda v: rank_key(v.asset))
    by_id = {v.asset.id: v for v in inventory}
    zone_keys = _keys([v.zone for v in inventory])
    asset_keys = {v.asset.id: f"a{v.index}" for v in inventory}
    overall, overall_text = overall_verdict(result)
    tool_name = result.tool.get("name", "iacs-auditor")
    tool_version = result.tool.get("version", "unknown")
    manifest_match = None
    if evidence is not None and result.evidence_manifest_sha256:
        manifest_match = evidence.manifest_sha256 == result.evidence_manifest_sha256
    zones = _zone_views(inventory)
    for zone in zones:
        zone.assets.sort(key=lambda v: rank_key(v.asset))
    return {
        "result": result, "assets": assets, "zones": zones, "linked": pages is not None,
        "fix_first": _fix_views(fix_first(result), by_id, zone_keys, asset_keys),
        "answering": _answering_view(answering(result), by_id), "zone_keys": zone_keys, "asset_keys": asset_keys, "frs": list(FRS), "fr_names": names,
        "overall": overall, "overall_text": overall_text, "overall_detail": _overall_detail(result),
        "answers": _answers_view(result), "row_verdict_labels": ROW_VERDICT_LABELS,
        "answered_rows": sum(answered_count(a) for a in result.assets),
        "tool_name": tool_name, "tool_version": tool_version,
        "tool_extra": {k: v for k, v in result.tool.items() if k not in ("name", "version")},
        "started": format_time(result.started_at), "finished": format_time(result.finished_at),
        "duration": format_duration((result.finished_at - result.started_at).total_seconds()),
        "generated": format_time(datetime.now(timezone.utc).replace(microsecond=0)),
        "status_labels": STATUS_LABELS, "requirement_labels": REQUIREMENT_LABELS,
        "checks_by_status": [(s, STATUS_LABELS.get(s, s), result.summary.checks_by_status.get(s, 0))
                             for s in STATUS_ORDER] + [(s, s, n) for s, n in result.summary.checks_by_status.items()
                                                       if s not in STATUS_ORDER],
        "has_evidence": evidence is not None, "manifest_match": manifest_match,
        "basis_label": ("component (IEC 62443-4-2 CR / HDR / EDR / NDR / SAR)" if result.basis == "component"
                        else "system (IEC 62443-3-3 SR)"),
        "filters": _filter_options(inventory), "no_zone": NO_ZONE,
        "total_checks": sum(len(v.asset.results) for v in assets),
        "print_mode": print_mode, "cover": dict(cover) if cover else None,
        "script": None if print_mode else filter_script(),
        "csp": content_security_policy(None if print_mode else filter_script()),
    }


# --------------------------------------------------------------------------- script and CSP


_SCRIPT: str | None = None


def filter_script() -> str:
    """The one inline script of the page (filters), exactly as inlined."""
    global _SCRIPT
    if _SCRIPT is None:
        text = (files("reports") / "templates" / SCRIPT_RESOURCE).read_text(encoding="utf-8")
        if "</" in text:  # would end the <script> element early
            raise ValueError(f"{SCRIPT_RESOURCE} must not contain '</'")
        _SCRIPT = text
    return _SCRIPT


def script_hash(script: str) -> str:
    """CSP source expression for an inline script: ``'sha256-<base64>'``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(script: str | None) -> str:
    """Nothing may be fetched; inline styles are allowed; the only script allowed is ours, by hash."""
    scripts = script_hash(script) if script is not None else "'none'"
    return (f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


# --------------------------------------------------------------------------- rendering


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def _inline_code(text: str) -> Markup:
    """Escape ``text``, then show `backticked` spans (commands, config lines) as <code>."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape(text))))


def render_printable(template: str, **context: Any) -> str:
    """A template of :func:`environment` rendered, each control character a device sent shown as an escape
    (``\\x1b``), in the page as in the PDF printed from it.

    One pass over the finished document: the templates hold no control character of their own (only line
    breaks and tabs, which stay), and HTML escaping never touches one, so this is what making every value
    printable before it is written would give, also for markup a filter or a join built from device text.
    """
    return printable_lines(environment().get_template(template).render(**context))


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg", "j2"),
                                     default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        auto_reload=False)  # the package's templates do not change while a report is written
    env.filters["percent"] = _percent
    env.filters["inline_code"] = _inline_code
    env.filters["spaced"] = lambda values: " ".join(values)
    return env


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def _macros() -> Any:
    """``_macros.html.j2`` as a module, for the pieces rendered from Python (each evidence heading once a page)."""
    return environment().get_template("_macros.html.j2").module


SINGLE_FILE_MAX = 20  # a plant of more assets gets a plant page plus one page per asset (see write_html)
PARALLEL_PAGES_MIN = 100  # asset pages from which their rendering is spread over the CPUs (forking costs ~0.1 s)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def render_html(result: ScanResult, *, evidence: EvidenceBundle | None = None, print_mode: bool = False,
                cover: Mapping[str, Any] | None = None, pages: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML document: the plant page, then every asset's detail.

    With ``pages`` (asset id -> relative link), the plant page alone, linking each asset to its own page.
    """
    return render_printable("report.html.j2", **build_context(result, evidence=evidence, print_mode=print_mode,
                                                              cover=cover, pages=pages))


def page_names(result: ScanResult) -> dict[str, str]:
    """A file name per asset for its detail page: the id where it is a safe name, made unique otherwise.

    Asset ids come from the inventory and may hold any character (``/``, ``..``, spaces, markup), so only
    letters, digits, ``-`` and ``_`` are kept; a name that was changed or taken gets the asset's position.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for n, asset in enumerate(result.assets, start=1):
        stem = _UNSAFE_NAME.sub("_", asset.id).strip("_")[:80] or "asset"
        if stem != asset.id or stem.lower() in taken:
            stem = f"{stem}-{n}"
        taken.add(stem.lower())
        names[asset.id] = f"{stem}.html"
    return names


def render_asset_page(result: ScanResult, asset_index: int, *, evidence_items: dict[str, EvidenceItem],
                      plant_page: str, has_evidence: bool) -> str:
    """One asset's detail page (``asset_index`` counts from 1 in inventory order), linking back to the plant page."""
    asset = result.assets[asset_index - 1]
    names = catalog_fr_names()
    view = _asset_view(asset_index, asset, names, evidence_items)
    script = filter_script()
    severities = {r.severity for r in asset.results}
    statuses = {r.status for r in asset.results}
    context = {
        "result": result, "v": view, "frs": list(FRS), "fr_names": names,
        "plant_page": plant_page, "has_evidence": has_evidence, "print_mode": False,
        "row_verdict_labels": ROW_VERDICT_LABELS, "tool_name": result.tool.get("name", "iacs-auditor"),
        "tool_version": result.tool.get("version", "unknown"), "script": script,
        "csp": content_security_policy(script), "generated": format_time(datetime.now(timezone.utc).replace(microsecond=0)),
        "filters": {"zone": [], "asset": [],
                    "severity": [(s, s) for s in SEVERITY_ORDER if s in severities]
                                + [(s, s) for s in sorted(severities - set(SEVERITY_ORDER))],
                    "status": [(s, STATUS_LABELS.get(s, s)) for s in STATUS_ORDER if s in statuses]},
        "zone_keys": {}, "asset_keys": {},
    }
    return render_printable("asset.html.j2", **context)


def write_html(result: ScanResult, path: str | Path, *, evidence: EvidenceBundle | None = None) -> Path:
    """Write ``report.html`` (UTF-8); for a plant of more than :data:`SINGLE_FILE_MAX` assets, also the folder
    ``<name>-assets/`` beside it with one page per asset.

    One file holding every asset's findings and requirement rows grows by about 300 kB per asset, which no
    browser opens at a thousand assets; the plant page stays small (its rows are figures, not findings) and
    each asset page is loaded only when its link is followed. All pages work offline from ``file://``.
    Asset pages left in the folder by an earlier report of the same name are removed. From
    :data:`PARALLEL_PAGES_MIN` assets on, the asset pages are rendered by this process and forked ones, one per CPU
    in all (at most four), which inherit the result and the evidence instead of receiving them; this process
    renders the plant page first, while the others start on the asset pages.
    """
    target = Path(path)
    if len(result.assets) <= SINGLE_FILE_MAX:
        return write_text_atomic(target, render_html(result, evidence=evidence))
    folder = target.with_name(f"{target.stem}-assets")
    names = page_names(result)

    def write_plant_page() -> Path:
        return write_text_atomic(target, render_html(result, evidence=evidence,
                                                     pages={k: f"{folder.name}/{v}" for k, v in names.items()}))

    items = evidence_index(evidence)
    folder.mkdir(parents=True, exist_ok=True)

    def write_pages(indexes: list[int]) -> int:
        with no_cyclic_gc():  # a page's objects are freed by reference counting; see auditor.batching
            for index in indexes:
                write_text_atomic(folder / names[result.assets[index - 1].id], render_asset_page(
                    result, index, evidence_items=items, plant_page=f"../{target.name}",
                    has_evidence=evidence is not None))
        return len(indexes)

    indexes = list(range(1, len(result.assets) + 1))
    workers = fork_workers() if len(indexes) >= PARALLEL_PAGES_MIN else 1
    # interleaved chunks, several per process: neighbouring assets are often alike, so each process gets a mix
    chunks = [indexes[start::workers * 16] for start in range(workers * 16)]
    if forked_map(write_pages, chunks, workers, alongside=write_plant_page) is None:
        write_plant_page()
        write_pages(indexes)
    keep = set(names.values())
    for stale in folder.glob("*.html"):
        if stale.name not in keep:
            stale.unlink()
    return target


def write_html_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``html`` entry of :data:`reports.FORMATS`."""
    return write_html(result, path, evidence=evidence)
