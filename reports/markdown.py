"""``report.md``: a Markdown summary to paste into a ticket (GitHub/GitLab/Jira-flavoured CommonMark).

Contents: the scan header (site, time, profile, tool, evidence manifest, answers file), the overall
verdict, a table of the assets (verdict with the line that says why, SL-T, SL-A, SL-A on device evidence
only, SL-C where vendors claimed capabilities, coverage, failed/error checks and open rows), and per
asset: which parameters judged each level, the gaps, the requirements that await an answer (with the
catalog's question), the requirements decided by an answer (who, when, on what evidence; overruled and
expired answers flagged), and the findings needing attention ordered by severity, each with observed
against expected, the reason, the remediation, the requirements and the evidence item ids. Passed
checks are only counted. Last, what each entry of the answers file did.

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
from auditor.results import AnswerRef, AssetResult, CheckResult, ScanResult
from auditor.safetext import printable_lines
from reports.common import (
    ANSWER_LABELS,
    ANSWER_STATE_NOTES,
    CLAIM_NOTE,
    OPEN_TEXT,
    PROBLEM_STATUSES,
    STATUS_LABELS,
    STATUS_ORDER,
    VERDICT_LABELS,
    answer_label,
    asset_verdict,
    evidence_labels,
    format_duration,
    format_time,
    level_lines,
    observed_text,
    overall_verdict,
    question_of,
    rows_in_target,
    shortfall,
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


ASSET_TABLE = ("| Asset | Type | Zone | Verdict | SL-T | SL-A | SL-A evidence only | SL-C | Coverage | Fail | Error "
               "| Open |")


def _asset_row(asset: AssetResult) -> str:
    assessed = asset.status == "assessed"
    counts = {s: sum(r.status == s for r in asset.results) for s in ("fail", "error")}
    verdict = VERDICT_LABELS[asset_verdict(asset)]
    why = shortfall(asset)
    cells = [
        inline_code(asset.id).replace("|", "\\|"), cell(asset.type), cell(asset.zone or "—"),
        cell(_verdict_line(verdict, why)), asset.sl_target.compact(),
        asset.sl_achieved.compact() if assessed else "–", asset.sl_achieved_strict.compact() if assessed else "–",
        asset.sl_capability.compact() if assessed and asset.sl_capability is not None else "–",
        f"{asset.coverage.ratio * 100:.0f} %", str(counts["fail"]), str(counts["error"]),
        str(len(asset.technical.open)) if asset.technical is not None else "–"]
    return "| " + " | ".join(cells) + " |"


def _verdict_line(verdict: str, why: str) -> str:
    """"Below SL-T: 2 requirements unmet ..." (the shortfall line already starts with "meets SL-T" when met)."""
    if not why:
        return verdict
    if why.lower().startswith(verdict.lower()):
        return why[0].upper() + why[1:]
    return f"{verdict}: {why}"


def _answer(ref: AnswerRef, *, claim: bool = False) -> str:
    line = text(answer_label(ref, claim=claim))
    evidence = evidence_labels(ref)
    if evidence:
        line += "; evidence: " + ", ".join(text(e) for e in evidence)
    if ref.justification:
        line += f"; justification: {text(ref.justification.strip().rstrip('.'))}"
    return line


def _requirements(asset: AssetResult) -> list[str]:
    """The rows up to SL-T that await an answer, and those an answer decided (or tried to)."""
    rows = rows_in_target(asset)
    open_rows = [r for r in rows if r.verdict == "open"]
    answered = [r for r in rows if r.answer is not None]
    out: list[str] = []
    if open_rows:
        out += [f"### {len(open_rows)} requirement{'s' if len(open_rows) != 1 else ''} {OPEN_TEXT}", ""]
        for row in open_rows:
            question, wanted = question_of(row.id)
            line = f"- {inline_code(row.id)} {text(row.title)} ({text(row.fr)}, SL {row.sl})"
            if question:
                line += f": {text(question)} Evidence that answers it: {text(wanted)}"
            if row.answer is not None and row.answer.state == "expired":
                line += f" · **its answer expired**: {_answer(row.answer)}"
            out.append(line)
        out.append("")
    if answered:
        out += [f"### Answered ({len(answered)})", ""]
        for row in answered:
            ref = row.answer
            assert ref is not None
            flag = ""
            if ref.state == "overruled":
                flag = f" · **overruled: {text(ANSWER_STATE_NOTES['overruled'])}**"
            elif ref.state == "expired":
                flag = f" · **{text(ANSWER_STATE_NOTES['expired'])}**"
            elif ref.state == "confirmed":
                flag = f" · {text(ANSWER_STATE_NOTES['confirmed'])}"
            out.append(f"- {inline_code(row.id)}: {_answer(ref)}{flag}")
        out.append("")
    claims = [r for r in rows if r.claim is not None]
    if claims:
        out += [f"### Vendor capability claims ({len(claims)}; SL-C only, {CLAIM_NOTE})", ""]
        for row in claims:
            assert row.claim is not None
            state = row.claim.state
            flag = f" · **{text(ANSWER_STATE_NOTES[state])}**" if state in ("overruled", "expired") else ""
            out.append(f"- {inline_code(row.id)}: {_answer(row.claim, claim=True)}{flag}")
        out.append("")
    return out


def _attestations(result: ScanResult) -> list[str]:
    """What the answers file did, in one paragraph, then the entries that need attention (expired,
    overruled, matching nothing); the answered rows themselves are listed under each asset."""
    if not result.attestations_source:
        return []
    site = [e for e in result.attestations if not e.capability]
    claims = [e for e in result.attestations if e.capability]
    summary = (f"From {inline_code(result.attestations_source)}: {len(site)} site answers decided "
               f"{sum(len(e.counted) for e in site)} requirement rows and agreed with device evidence on "
               f"{sum(len(e.confirmed) for e in site)}; {sum(len(e.overruled) for e in site)} overruled by failing "
               f"device evidence; {sum(e.state == 'expired' for e in site)} expired.")
    if claims:
        summary += (f" {len(claims)} vendor capability claims ({CLAIM_NOTE}) count for SL-C only "
                    f"({sum(len(e.counted) for e in claims)} rows claimed).")
    out = ["## Answers (attestations)", "", summary, ""]
    notable = [e for e in result.attestations
               if e.state == "expired" or e.overruled or not (e.counted or e.confirmed or e.overruled or e.lapsed)]
    if notable:
        out += ["Entries needing attention:", ""]
    for entry in notable:
        kind = "vendor claim" if entry.capability else "answer"
        what = entry.requirement or (f"check {entry.check}" if entry.check else "—")
        line = (f"- {text(entry.entry)}: {text(kind)} {text(ANSWER_LABELS.get(entry.answer, entry.answer))} for "
                f"{text(what)} by {text(entry.attested_by)} on {entry.date.isoformat()}")
        parts = []
        if entry.state == "expired":
            parts.append(f"**expired on {entry.expires.isoformat() if entry.expires else '?'}, not counted**; "
                         f"it would decide {', '.join(text(x) for x in entry.lapsed) or 'nothing'}")
        if entry.overruled:
            parts.append(f"**overruled** on {', '.join(text(x) for x in entry.overruled)}: "
                         f"{text(ANSWER_STATE_NOTES['overruled'])}")
        if not (entry.counted or entry.confirmed or entry.overruled or entry.lapsed):
            parts.append("matched no requirement row of this scan")
        out.append(line + ": " + "; ".join(parts))
    if notable:
        out.append("")
    return out


def _finding(check: CheckResult) -> list[str]:
    label = STATUS_LABELS.get(check.status, check.status)
    lines = [f"#### {text(label.upper())} · {text(check.severity)} · {text(check.title or check.check_id)}", "",
             f"- Check: {inline_code(check.check_id)}",
             f"- Requirements: {', '.join(text(r) for r in check.requirements) or '—'}"]
    if check.risk is not None:
        lines.append(f"- Risk: {check.risk} (severity x criticality x exposure + FR gap)")
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
    _, verdict = overall_verdict(result)
    duration = format_duration((result.finished_at - result.started_at).total_seconds())
    out = [f"# IEC 62443 hardening audit: {text(result.site)}", "",
           f"**{text(verdict)}**", "",
           f"- Scan: {format_time(result.started_at)} to {format_time(result.finished_at)} ({duration})"
           + (" (interrupted)" if result.interrupted else ""),
           f"- Profile: {text(result.profile)} · scoring basis: {text(result.basis)}",
           f"- Tool: {text(tool_label(result))}"]
    if result.evidence_manifest_sha256:
        out.append(f"- Evidence manifest: sha256 {inline_code(result.evidence_manifest_sha256)}")
    by_status = result.summary.checks_by_status
    ordered = [s for s in STATUS_ORDER if s in by_status] + sorted(set(by_status) - set(STATUS_ORDER))
    counts = ", ".join(f"{text(STATUS_LABELS.get(s, s))} {by_status[s]}" for s in ordered)
    out.append(f"- Check verdicts: {counts or 'none'}")
    if result.attestations_source:
        out.append(f"- Answers: {inline_code(result.attestations_source)} ({len(result.attestations)} entries)")
    else:
        out.append("- Answers: no answers file applied")
    out.append("")
    out += ["## Assets", ""]
    if result.assets:
        out += [ASSET_TABLE, "| --- | --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
        out += [_asset_row(a) for a in result.assets]
    else:
        out.append("No assets were in scope of this scan.")
    out.append("")
    out.append("SL vectors are FR1..FR7. SL-A counts device evidence and current answers (a requirement nobody "
               "answered is unmet); SL-A evidence only leaves answers out; SL-C adds vendor capability claims. "
               "Open: requirements up to SL-T that await an answer.")
    out.append("")
    for asset in result.assets:
        problems = [c for c in sorted_results(asset) if c.status in PROBLEM_STATUSES]
        out += [f"## {text(asset.id)}: {text(VERDICT_LABELS[asset_verdict(asset)])}", ""]
        out.append(f"{text(asset.type)} · zone {text(asset.zone or '—')} · address {inline_code(asset.address)}"
                   f" · profile {text(asset.profile or '—')}")
        product = " ".join(asset.product[k] for k in ("vendor", "name", "model") if asset.product.get(k))
        if asset.product.get("firmware"):
            product += f" (firmware {asset.product['firmware']})"
        if product.strip():
            out.append(f"Product: {text(product.strip())}")
        out.append("")
        if asset.error:
            out += [f"> **Could not be assessed:** {text(asset.error)}", ""]
        why = shortfall(asset)
        if why:
            out += [f"**{text(_verdict_line(VERDICT_LABELS[asset_verdict(asset)], why))}.**", ""]
        levels = level_lines(asset)
        if levels:
            out += ["Levels: " + "; ".join(text(line) for line in levels) + ".", ""]
        for gap in asset.gaps:
            out.append(f"- {text(gap.fr)} at SL-A {gap.sl_achieved} of {gap.sl_target}: blocked by "
                       f"{', '.join(text(b) for b in gap.blocking)}")
        if asset.gaps:
            out.append("")
        if asset.status == "assessed":
            out += _requirements(asset)
        passed = sum(c.status == "pass" for c in asset.results)
        out += [f"### Findings needing attention ({len(problems)}; {passed} passed)", ""]
        if not problems:
            out += ["None.", ""]
        for check in problems:
            out += _finding(check)
    out += _attestations(result)
    out += ["---", "", f"Generated by {text(tool_label(result))} from result.json. An automated technical assessment "
            "against IEC 62443-3-3 and IEC 62443-4-2, not a certification.", ""]
    return printable_lines("\n".join(out))  # no control character a device sent survives into the file


def write_markdown(result: ScanResult, path: str | Path) -> Path:
    return write_text_atomic(path, render_markdown(result))


def write_markdown_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``md`` entry of :data:`reports.FORMATS`."""
    return write_markdown(result, path)
