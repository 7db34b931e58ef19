"""``results.csv``: one row per asset x check, for spreadsheets.

Columns are :data:`COLUMNS` (stable: scripts may rely on them; new columns are only ever appended).
``sl_achieved`` is the verdict (device evidence and current answers), ``sl_achieved_strict`` the same on
device evidence only, ``sl_capability`` adds vendor capability claims (empty without claims). Per asset,
``shortfall`` says in one line what stands between it and SL-T, and ``rows_unmet_by_evidence``,
``rows_answered`` and ``rows_open`` count its requirement rows up to SL-T by source. Per check,
``requirement_verdicts`` gives the verdict and its source for each requirement the check maps to on this
asset (``CR 1.7: unmet (evidence)``; ``CR 1.3: met (answer by NAME, DATE)``; ``CR 1.4: open``). The
rows themselves, one per asset x requirement, are the ``matrix-csv`` format.
An asset for which no check ran (unreachable, skipped, nothing selected) still gets one row, with the
check columns empty, so every asset of the scan appears. Rows follow the result's asset order, then
severity (critical first) and verdict (fail first), like the HTML report.

Written as UTF-8 with a byte-order mark (so Excel reads accents and symbols right) and CRLF line ends
(RFC 4180). Multi-line and structured values (observed JSON, reasons) are quoted by the csv module.

Formula injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by spreadsheets as a formula, and device-controlled text (a banner, a hostname, a sysDescr) can start
with anything: ``=cmd|' /C calc'!A0``. Such cells are prefixed with an apostrophe, as OWASP recommends,
unless the whole cell is a plain number (``-1``).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceBundle
from auditor.results import AssetResult, CheckResult, RequirementResult, ScanResult
from auditor.safetext import printable_lines
from reports.common import (answered_count, asset_verdict, check_frs, in_target, iso, observed_text, shortfall,
                            sorted_results, write_text_atomic)

COLUMNS: tuple[str, ...] = (
    "site", "scan_started", "profile", "asset", "asset_type", "zone", "address", "asset_status", "asset_verdict",
    "sl_target", "sl_achieved", "sl_achieved_strict", "coverage", "check_id", "title", "status", "severity",
    "requirements", "frs", "target_sl", "observed", "expected", "reason", "remediation", "evidence", "waiver",
    "asset_error", "sl_capability", "shortfall", "rows_unmet_by_evidence", "rows_answered", "rows_open",
    "requirement_verdicts")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # incl. full-width forms
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralize(value: str) -> str:
    """Make a cell safe to open in a spreadsheet (see the module docstring) or a terminal pager (control
    characters a device sent are shown as escapes: :func:`auditor.safetext.printable`)."""
    value = printable_lines(value)
    if value and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def _waiver(check: CheckResult) -> str:
    waiver = check.waiver
    if waiver is None:
        return ""
    return f"{waiver.id} ({waiver.state}): {waiver.justification}"


def _asset_columns(result: ScanResult, asset: AssetResult) -> dict[str, Any]:
    assessed = asset.status == "assessed"
    return {
        "site": result.site, "scan_started": iso(result.started_at), "profile": asset.profile or result.profile,
        "asset": asset.id, "asset_type": asset.type, "zone": asset.zone or "", "address": asset.address,
        "asset_status": asset.status, "asset_verdict": asset_verdict(asset),
        "sl_target": asset.sl_target.compact(),
        "sl_achieved": asset.sl_achieved.compact() if assessed else "",
        "sl_achieved_strict": asset.sl_achieved_strict.compact() if assessed else "",
        "coverage": f"{asset.coverage.ratio:.3f}", "asset_error": asset.error or "",
        "sl_capability": asset.sl_capability.compact() if assessed and asset.sl_capability is not None else "",
        "shortfall": shortfall(asset),
        "rows_unmet_by_evidence": str(len(asset.technical.unmet)) if asset.technical is not None else "",
        "rows_answered": str(answered_count(asset)) if asset.technical is not None else "",
        "rows_open": str(len(asset.technical.open)) if asset.technical is not None else "",
    }


def row_verdict(row: RequirementResult) -> str:
    """``met (evidence)``, ``unmet (answer by NAME, DATE)``, ``open`` ... for one requirement row."""
    if row.verdict == "open":
        return "open"
    verdict = row.verdict.replace("_", " ")
    if row.source == "answer" and row.answer is not None:
        return f"{verdict} (answer by {row.answer.attested_by}, {row.answer.date.isoformat()})"
    return f"{verdict} ({row.source})"


def _requirement_verdicts(asset: AssetResult, check: CheckResult) -> str:
    if asset.status != "assessed":
        return ""
    rows = {r.id: r for r in asset.requirements}
    return "; ".join(f"{req}: {row_verdict(rows[req])}" + ("" if in_target(asset, rows[req]) else " [above SL-T]")
                     for req in check.requirements if req in rows)


def rows(result: ScanResult) -> list[dict[str, str]]:
    """The CSV rows as dictionaries (before neutralization)."""
    out = []
    empty = {c: "" for c in COLUMNS}
    for asset in result.assets:
        base = {**empty, **_asset_columns(result, asset)}
        checks = sorted_results(asset)
        if not checks:
            out.append(base)
            continue
        for check in checks:
            out.append({**base, "check_id": check.check_id, "title": check.title, "status": check.status,
                        "severity": check.severity, "requirements": "; ".join(check.requirements),
                        "frs": "; ".join(check_frs(check)),
                        "target_sl": "" if check.target_sl is None else str(check.target_sl),
                        "observed": observed_text(check.observed), "expected": check.expected or "",
                        "reason": check.reason, "remediation": check.remediation,
                        "evidence": "; ".join(check.evidence), "waiver": _waiver(check),
                        "requirement_verdicts": _requirement_verdicts(asset, check)})
    return out


def render_csv(result: ScanResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    for row in rows(result):
        writer.writerow({k: neutralize(str(v)) for k, v in row.items()})
    return buffer.getvalue()


def write_csv(result: ScanResult, path: str | Path) -> Path:
    return write_text_atomic(path, render_csv(result), encoding="utf-8-sig", newline="")


def write_csv_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``csv`` entry of :data:`reports.FORMATS`."""
    return write_csv(result, path)
