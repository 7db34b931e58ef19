"""``report.html``: one self-contained page for a plant manager and a technician.

Rendered from a :class:`~auditor.results.ScanResult` alone (so a rescored bundle gives the same report).
Two optional extras make it richer without being required:

* ``evidence``: the :class:`~auditor.evidence.EvidenceBundle` the result came from; the raw request and
  (truncated) response of every evidence item a verdict used is then shown under that verdict.
* ``checks``: check metadata (``{check_id: CheckSpec}``) for the rationale of each check. By default the
  loaded registry is used; a check it does not know (a third-party pack that is not installed where the
  report is rendered) is shown from the result's own fields.

Everything device- or inventory-controlled is escaped by Jinja2's autoescaping. The page makes no
external fetch: inline CSS, inline SVG, no scripts, and a Content-Security-Policy that forbids any.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AssetResult, CheckResult, RequirementResult, ScanResult
from auditor.slvector import FRS

log = logging.getLogger(__name__)

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
STATUS_ORDER = ("fail", "error", "manual", "waived", "pass", "not_applicable")
PROBLEM_STATUSES = frozenset({"fail", "error", "manual", "waived"})
STATUS_LABELS = {"pass": "Pass", "fail": "Fail", "error": "Error", "manual": "Manual",
                 "not_applicable": "N/A", "waived": "Waived"}
REQUIREMENT_LABELS = {"passed": "Passed", "failed": "Failed", "error": "Error", "manual": "Manual",
                      "not_applicable": "N/A", "not_assessed": "Not assessed"}
ASSET_STATUS_LABELS = {"assessed": "Assessed", "error": "Not assessed (error)", "skipped": "Skipped"}
FALLBACK_FR_NAMES = {
    "FR1": "Identification and authentication control", "FR2": "Use control", "FR3": "System integrity",
    "FR4": "Data confidentiality", "FR5": "Restricted data flow", "FR6": "Timely response to events",
    "FR7": "Resource availability"}
MAX_OBSERVED_CHARS = 4000
MAX_RESPONSE_CHARS = 6000

# geometry of the per-asset SL chart (SVG user units)
_CHART_LEVEL = 22      # height of one SL step
_CHART_SLOT = 44       # width reserved per FR
_CHART_LEFT = 30
_CHART_TOP = 10


# --------------------------------------------------------------------------- view model


@dataclass
class FrCell:
    fr: str
    name: str
    target: int
    achieved: int
    strict: int
    state: str  # met | short | unknown


@dataclass
class Finding:
    anchor: str
    result: CheckResult
    status_label: str
    rationale: str
    remediation: str
    observed_text: str
    observed_block: bool
    requirements: list[dict[str, str]]
    evidence: list[dict[str, Any]]
    known_check: bool


@dataclass
class AssetView:
    index: int
    anchor: str
    asset: AssetResult
    status_label: str
    verdict: str        # meets | short | error | skipped
    verdict_label: str
    cells: list[FrCell]
    chart: dict[str, Any]
    problems: list[Finding]
    others: list[Finding]
    counts: dict[str, int]
    requirements_in_target: list[dict[str, Any]]
    requirements_above_target: list[dict[str, Any]]
    requirement_counts: dict[str, int]
    check_anchors: dict[str, str] = field(default_factory=dict)


def _catalog_lookups() -> tuple[dict[str, str], dict[str, Any]]:
    """FR names and the catalog (for requirement titles); a broken catalog only loses titles."""
    try:
        from auditor.catalog import load_catalog

        catalog = load_catalog()
        return {f"FR{n}": catalog.fr_name(n) for n in range(1, 8)}, {"catalog": catalog}
    except Exception:  # pragma: no cover - the packaged catalog is validated by its own tests
        log.exception("requirement catalog unavailable; report shows ids without titles")
        return dict(FALLBACK_FR_NAMES), {}


def _requirement_label(req_id: str, lookups: dict[str, Any]) -> dict[str, str]:
    catalog = lookups.get("catalog")
    if catalog is not None:
        try:
            row = catalog.get(req_id)
            return {"id": req_id, "title": f"{row.id}: {row.title} (FR{row.fr}, from SL{row.sl})"}
        except (KeyError, ValueError):
            pass
    return {"id": req_id, "title": f"{req_id} (not in this tool's catalog)"}


def _default_checks() -> Mapping[str, Any]:
    try:
        from auditor.registry import REGISTRY

        return REGISTRY.load().checks
    except Exception:  # a broken pack must never stop a report from being written
        log.exception("check registry unavailable; report shows check ids without rationale")
        return {}


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
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_OBSERVED_CHARS:
        text = text[:MAX_OBSERVED_CHARS] + f"\n… ({len(text) - MAX_OBSERVED_CHARS} more characters in result.json)"
    return text, "\n" in text or len(text) > 120


def _evidence_entries(ids: list[str], items: dict[str, EvidenceItem]) -> list[dict[str, Any]]:
    out = []
    for item_id in ids:
        item = items.get(item_id)
        if item is None:
            out.append({"id": item_id, "item": None})
            continue
        try:
            text = item.text() if item.encoding != "json" else json.dumps(item.data(), indent=2, ensure_ascii=False)
        except Exception:
            text = item.response
        if item.error:
            text = f"{text}\n[error] {item.error}" if text else f"[error] {item.error}"
        truncated = len(text) > MAX_RESPONSE_CHARS
        out.append({"id": item_id, "item": item, "text": text[:MAX_RESPONSE_CHARS],
                    "truncated": len(text) - MAX_RESPONSE_CHARS if truncated else 0})
    return out


def _sort_key(result: CheckResult) -> tuple[int, int, str]:
    severity = SEVERITY_ORDER.index(result.severity) if result.severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
    status = STATUS_ORDER.index(result.status) if result.status in STATUS_ORDER else len(STATUS_ORDER)
    return severity, status, result.check_id


def _chart(cells: list[FrCell], assessed: bool, fr_names: dict[str, str]) -> dict[str, Any]:
    """Numbers for the inline SVG: per FR a dashed SL-T frame, an SL-A bar and a strict SL-A mark."""
    base = _CHART_TOP + 4 * _CHART_LEVEL
    bars = []
    for n, cell in enumerate(cells):
        x = _CHART_LEFT + n * _CHART_SLOT + 6
        width = _CHART_SLOT - 12
        bars.append({
            "fr": cell.fr, "label_x": x + width / 2, "x": x, "width": width, "state": cell.state,
            "target_y": base - cell.target * _CHART_LEVEL, "target_h": cell.target * _CHART_LEVEL,
            "bar_x": x + 6, "bar_w": width - 12,
            "bar_y": base - cell.achieved * _CHART_LEVEL, "bar_h": cell.achieved * _CHART_LEVEL,
            "strict_y": base - cell.strict * _CHART_LEVEL,
            "tip": (f"{cell.fr} {fr_names.get(cell.fr, '')}: SL-T {cell.target}, "
                    + (f"SL-A {cell.achieved} (automated), {cell.strict} (strict)" if assessed else "not assessed")),
        })
    return {"width": _CHART_LEFT + len(cells) * _CHART_SLOT + 4, "height": base + 18, "base": base,
            "left": _CHART_LEFT, "right": _CHART_LEFT + len(cells) * _CHART_SLOT,
            "grid": [{"level": lv, "y": base - lv * _CHART_LEVEL} for lv in range(0, 5)],
            "bars": bars, "assessed": assessed}


def _asset_view(index: int, asset: AssetResult, fr_names: dict[str, str], lookups: dict[str, Any],
                checks: Mapping[str, Any], items: dict[str, EvidenceItem]) -> AssetView:
    assessed = asset.status == "assessed"
    cells = []
    for fr in FRS:
        target, got = asset.sl_target[fr], asset.sl_achieved[fr]
        state = "unknown" if not assessed else ("met" if got >= target else "short")
        cells.append(FrCell(fr=fr, name=fr_names.get(fr, fr), target=target, achieved=got,
                            strict=asset.sl_achieved_strict[fr], state=state))
    if not assessed:
        verdict = asset.status
    else:
        verdict = "meets" if asset.meets_target else "short"
    verdict_label = {"meets": "Meets SL-T", "short": "Below SL-T", "error": "Could not be assessed",
                     "skipped": "Skipped"}[verdict]

    anchors = {}
    ordered = sorted(asset.results, key=_sort_key)
    for n, result in enumerate(ordered, start=1):
        anchors.setdefault(result.check_id, f"a{index}-c{n}")
    findings = []
    for n, result in enumerate(ordered, start=1):
        spec = checks.get(result.check_id)
        observed, block = _format_observed(result.observed)
        findings.append(Finding(
            anchor=f"a{index}-c{n}", result=result, status_label=STATUS_LABELS.get(result.status, result.status),
            rationale=getattr(spec, "rationale", "") or "",
            remediation=result.remediation or getattr(spec, "remediation", "") or "",
            observed_text=observed, observed_block=block,
            requirements=[_requirement_label(r, lookups) for r in result.requirements],
            evidence=_evidence_entries(result.evidence, items),
            known_check=spec is not None or not checks))  # no registry at all: don't flag every check
    counts = {status: sum(r.status == status for r in asset.results) for status in STATUS_ORDER}

    in_target, above = [], []
    requirement_counts: dict[str, int] = {}
    for row in asset.requirements:
        entry = _requirement_row(row, anchors)
        within_target = row.fr not in FRS or row.sl <= asset.sl_target[row.fr]
        if within_target:
            in_target.append(entry)
            requirement_counts[row.status] = requirement_counts.get(row.status, 0) + 1
        else:
            above.append(entry)
    return AssetView(
        index=index, anchor=f"asset-{index}", asset=asset, status_label=ASSET_STATUS_LABELS.get(asset.status, asset.status),
        verdict=verdict, verdict_label=verdict_label, cells=cells, chart=_chart(cells, assessed, fr_names),
        problems=[f for f in findings if f.result.status in PROBLEM_STATUSES],
        others=[f for f in findings if f.result.status not in PROBLEM_STATUSES],
        counts=counts, requirements_in_target=in_target, requirements_above_target=above,
        requirement_counts=requirement_counts, check_anchors=anchors)


def _requirement_row(row: RequirementResult, anchors: dict[str, str]) -> dict[str, Any]:
    return {"row": row, "label": REQUIREMENT_LABELS.get(row.status, row.status),
            "checks": [{"id": c, "anchor": anchors.get(c)} for c in row.checks]}


def _format_time(value: datetime) -> str:
    if value.tzinfo is not None and value.utcoffset() == timezone.utc.utcoffset(None):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if value.tzinfo is not None:
        return value.strftime("%Y-%m-%d %H:%M:%S %z")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _format_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _overall(result: ScanResult) -> tuple[str, str]:
    code = result.exit_code()
    errors = sum(a.status == "error" for a in result.assets)
    short = sum(a.status == "assessed" and not a.meets_target for a in result.assets)
    if not result.assets:
        return "empty", "No assets were in scope of this scan."
    parts = []
    if short:
        parts.append(f"{short} of {len(result.assets)} asset{'s' if len(result.assets) != 1 else ''} "
                     f"{'fall' if short != 1 else 'falls'} short of the target security level")
    if errors:
        parts.append(f"{errors} asset{'s' if errors != 1 else ''} could not be assessed")
    if result.interrupted:
        parts.append("the scan was interrupted before every asset finished")
    if code == 0:
        return "meets", "Every assessed asset meets its target security level (SL-T) on automated evidence."
    return ("error" if code == 3 else "short"), "; ".join(parts).capitalize() + "."


def build_context(result: ScanResult, *, evidence: EvidenceBundle | None = None,
                  checks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template shows, computed from the result (plus the optional extras)."""
    fr_names, lookups = _catalog_lookups()
    checks = _default_checks() if checks is None else checks
    items: dict[str, EvidenceItem] = {}
    if evidence is not None:
        for asset_evidence in evidence.assets:
            for item in asset_evidence.items:
                items[item.id] = item
    assets = [_asset_view(i, asset, fr_names, lookups, checks, items) for i, asset in enumerate(result.assets, start=1)]
    overall, overall_text = _overall(result)
    tool_name = result.tool.get("name", "iacs-auditor")
    tool_version = result.tool.get("version", "unknown")
    manifest_match = None
    if evidence is not None and result.evidence_manifest_sha256:
        manifest_match = evidence.manifest_sha256 == result.evidence_manifest_sha256
    return {
        "result": result, "assets": assets, "frs": list(FRS), "fr_names": fr_names,
        "overall": overall, "overall_text": overall_text, "tool_name": tool_name, "tool_version": tool_version,
        "tool_extra": {k: v for k, v in result.tool.items() if k not in ("name", "version")},
        "started": _format_time(result.started_at), "finished": _format_time(result.finished_at),
        "duration": _format_duration((result.finished_at - result.started_at).total_seconds()),
        "generated": _format_time(datetime.now(timezone.utc).replace(microsecond=0)),
        "status_labels": STATUS_LABELS, "requirement_labels": REQUIREMENT_LABELS,
        "checks_by_status": [(s, STATUS_LABELS.get(s, s), result.summary.checks_by_status.get(s, 0))
                             for s in STATUS_ORDER] + [(s, s, n) for s, n in result.summary.checks_by_status.items()
                                                       if s not in STATUS_ORDER],
        "has_evidence": evidence is not None, "manifest_match": manifest_match,
        "basis_label": ("component (IEC 62443-4-2 CR / HDR / EDR / NDR / SAR)" if result.basis == "component"
                        else "system (IEC 62443-3-3 SR)"),
    }


# --------------------------------------------------------------------------- rendering


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def _inline_code(text: str) -> Markup:
    """Escape ``text``, then show `backticked` spans (commands, config lines) as <code>."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape(text))))


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg", "j2"),
                                     default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["percent"] = _percent
    env.filters["inline_code"] = _inline_code
    return env


_ENV: Environment | None = None


def render_html(result: ScanResult, *, evidence: EvidenceBundle | None = None,
                checks: Mapping[str, Any] | None = None) -> str:
    """The report as one self-contained HTML document."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    template = _ENV.get_template("report.html.j2")
    return template.render(**build_context(result, evidence=evidence, checks=checks))


def write_html(result: ScanResult, path: str | Path, *, evidence: EvidenceBundle | None = None,
               checks: Mapping[str, Any] | None = None) -> Path:
    """Write ``report.html`` (UTF-8)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(result, evidence=evidence, checks=checks), encoding="utf-8", newline="\n")
    return target


def write_html_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``html`` entry of :data:`reports.FORMATS`."""
    return write_html(result, path, evidence=evidence)
