"""``report.md``: a Markdown summary to paste into a ticket (GitHub/GitLab/Jira-flavoured CommonMark).

Contents: the scan header (site, time, profile, tool, evidence manifest), the overall verdict, a table
of the assets (SL-T, SL-A automated and strict, coverage, failed/error/manual counts), and per asset
the findings needing attention ordered by severity, each with observed against expected, the reason,
the remediation, the requirements and the evidence item ids. Passed checks are only counted.

Escaping: device- and inventory-controlled text is never trusted. In running text and table cells
every Markdown metacharacter is backslash-escaped and ``<``, ``>``, ``&`` become entities (so a hostile
banner can neither inject HTML into renderers that allow it nor break a table with ``|`` or a
newline: newlines in a cell become ``<br>``). Observed values go in fenced code blocks whose fence is
longer than any run of backticks inside them.
"""

from __future__ import annotations

import re
from pathlib import Path

from auditor.evidence import EvidenceBundle
from auditor.results import AssetResult, CheckResult, ScanResult
from reports.common import (
    PROBLEM_STATUSES,
    STATUS_LABELS,
    STATUS_ORDER,
    VERDICT_LABELS,
    asset_verdict,
    observed_text,
    sorted_results,
    tool_label,
    write_text_atomic,
)

# inline metacharacters; block syntax (#, -, 1.) cannot start a line because escaped text never does
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
MAX_OBSERVED = 1500


def text(value: object) -> str:
    """Escape arbitrary text for Markdown running text (one line: newlines become spaces)."""
    raw = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    raw = _SPECIAL.sub(r"\\\1", raw)
    return re.sub(r"\s*[\r\n]+\s*", " ", raw).strip()


def cell(value: object) -> str:
    """Escape text for a table cell: like :func:`text`, but newlines become ``<br>``."""
    lines = [text(line) for line in str(value).splitlines()] or [""]
    return "<br>".join(lines)


def code_block(value: str, info: str = "text") -> str:
    """A fenced code block that no content can close early."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    body = value if len(value) <= MAX_OBSERVED else value[:MAX_OBSERVED] + f"\n… ({len(value) - MAX_OBSERVED} more characters in result.json)"
    return f"{fence}{info}\n{body}\n{fence}"


def inline_code(value: str) -> str:
    """A code span for ids and short machine values (single line)."""
    value = re.sub(r"[\r\n]+", " ", value)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _asset_row(asset: AssetResult) -> str:
    assessed = asset.status == "assessed"
    counts = {s: sum(r.status == s for r in asset.results) for s in ("fail", "error", "manual")}
    cells = [
        inline_code(asset.id).replace("|", "\\|"), cell(asset.type), cell(asset.zone or "—"),
        cell(VERDICT_LABELS[asset_verdict(asset)]), asset.sl_target.compact(),
        asset.sl_achieved.compact() if assessed else "–", asset.sl_achieved_strict.compact() if assessed else "–",
        f"{asset.coverage.ratio * 100:.0f} %", str(counts["fail"]), str(counts["error"]), str(counts["manual"])]
    return "| " + " | ".join(cells) + " |"


def _finding(check: CheckResult) -> list[str]:
    label = STATUS_LABELS.get(check.status, check.status)
    lines = [f"#### {text(label.upper())} · {text(check.severity)} · {text(check.title or check.check_id)}", "",
             f"- Check: {inline_code(check.check_id)}",
             f"- Requirements: {', '.join(text(r) for r in check.requirements) or '—'}"]
    if check.expected:
        lines.append(f"- Expected: {text(check.expected)}")
    if check.reason:
        lines.append(f"- Reason: {text(check.reason)}")
    if check.remediation:
        lines.append(f"- Remediation: {text(check.remediation)}")
    waiver = check.waiver
    if waiver is not None:
        lines.append(f"- Waiver: {text(waiver.id)} ({text(waiver.state)}), {text(waiver.justification)}")
    if check.evidence:
        lines.append(f"- Evidence: {', '.join(inline_code(e) for e in check.evidence)} (in evidence.json)")
    observed = observed_text(check.observed, pretty=True)
    if observed:
        lines += ["", "Observed:", "", code_block(observed, "json" if not isinstance(check.observed, str) else "text")]
    lines.append("")
    return lines


def render_markdown(result: ScanResult) -> str:
    from reports.html import _format_duration, _format_time, _overall

    _, verdict = _overall(result)
    duration = _format_duration((result.finished_at - result.started_at).total_seconds())
    out = [f"# IEC 62443 hardening audit: {text(result.site)}", "",
           f"**{text(verdict)}**", "",
           f"- Scan: {_format_time(result.started_at)} to {_format_time(result.finished_at)} ({duration})"
           + (" (interrupted)" if result.interrupted else ""),
           f"- Profile: {text(result.profile)} · scoring basis: {text(result.basis)}",
           f"- Tool: {text(tool_label(result))}"]
    if result.evidence_manifest_sha256:
        out.append(f"- Evidence manifest: sha256 {inline_code(result.evidence_manifest_sha256)}")
    by_status = result.summary.checks_by_status
    ordered = [s for s in STATUS_ORDER if s in by_status] + sorted(set(by_status) - set(STATUS_ORDER))
    counts = ", ".join(f"{text(STATUS_LABELS.get(s, s))} {by_status[s]}" for s in ordered)
    out += [f"- Check verdicts: {counts or 'none'}", ""]
    out += ["## Assets", ""]
    if result.assets:
        out += ["| Asset | Type | Zone | Verdict | SL-T | SL-A | SL-A strict | Coverage | Fail | Error | Manual |",
                "| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
        out += [_asset_row(a) for a in result.assets]
    else:
        out.append("No assets were in scope of this scan.")
    out.append("")
    out.append("SL vectors are FR1..FR7. SL-A strict counts requirements that were not assessed automatically as unmet.")
    out.append("")
    for asset in result.assets:
        problems = [c for c in sorted_results(asset) if c.status in PROBLEM_STATUSES]
        out += [f"## {text(asset.id)}: {text(VERDICT_LABELS[asset_verdict(asset)])}", ""]
        out.append(f"{text(asset.type)} · zone {text(asset.zone or '—')} · address {inline_code(asset.address)}"
                   f" · profile {text(asset.profile or '—')}")
        out.append("")
        if asset.error:
            out += [f"> **Could not be assessed:** {text(asset.error)}", ""]
        for gap in asset.gaps:
            out.append(f"- {text(gap.fr)} at SL-A {gap.sl_achieved} of {gap.sl_target}: blocked by "
                       f"{', '.join(text(b) for b in gap.blocking)}")
        if asset.gaps:
            out.append("")
        passed = sum(c.status == "pass" for c in asset.results)
        out += [f"### Findings needing attention ({len(problems)}; {passed} passed)", ""]
        if not problems:
            out += ["None.", ""]
        for check in problems:
            out += _finding(check)
    out += ["---", "", f"Generated by {text(tool_label(result))} from result.json. An automated technical assessment "
            "against IEC 62443-3-3 and IEC 62443-4-2, not a certification.", ""]
    return "\n".join(out)


def write_markdown(result: ScanResult, path: str | Path) -> Path:
    return write_text_atomic(path, render_markdown(result))


def write_markdown_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``md`` entry of :data:`reports.FORMATS`."""
    return write_markdown(result, path)
