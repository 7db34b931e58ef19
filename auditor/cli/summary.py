"""The terminal summary of a scan or rescore: one row per asset that fits 80 columns, then what to fix first.

The table never cuts an asset id: it drops optional columns (type, then SL-A on device evidence alone,
then coverage) until it fits the console, and past that lists each asset on its own lines. The SL vectors
are one digit per FR (``2212242/2222222`` is SL-A/SL-T for FR1..FR7), so they never wrap.

Below it, the findings to fix first: failed checks and check errors of assessed assets, ordered by risk
(:mod:`auditor.assessment.risk`), then severity (critical..info), then by how far their asset is below its
target (sum over FR of SL-T minus SL-A), at most :data:`TOP_FINDINGS` lines; the rest are counted with a
pointer to the full report.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from auditor.assessment.slvector import FRS
from auditor.results import AssetResult, CheckResult, ScanResult

TOP_FINDINGS = 10
FINDING_LINES = 2  # on a narrow console, a finding's text takes at most this many lines (the report has it all)
_OPTIONAL = ("type", "evidence", "cov")  # dropped in this order when the table does not fit
_VERDICT_COLOURS = {"meets": "green", "short": "yellow"}


def digits(vector) -> str:
    """``SLVector`` -> ``"2212242"`` (FR1..FR7, one digit each)."""
    return "".join(str(vector[fr]) for fr in FRS)


def sl_pair(asset: AssetResult) -> str:
    """SL-A/SL-T as rich markup; an FR below its target is shown in red."""
    achieved = "".join(f"[red]{asset.sl_achieved[fr]}[/]" if asset.sl_achieved[fr] < asset.sl_target[fr]
                       else str(asset.sl_achieved[fr]) for fr in FRS)
    return f"{achieved}/{digits(asset.sl_target)}"


def gap(asset: AssetResult) -> int:
    """How far an asset is below its target: the sum over FR of SL-T minus SL-A (0 where SL-A reaches it)."""
    return sum(max(0, asset.sl_target[fr] - asset.sl_achieved[fr]) for fr in FRS)


def _verdict(asset: AssetResult) -> str:
    return asset.status if asset.status != "assessed" else ("meets" if asset.meets_target else "short")


def _row(asset: AssetResult) -> dict[str, str]:
    counts = {s: sum(r.status == s for r in asset.results) for s in ("fail", "error")}
    status = _verdict(asset)
    return {"asset": escape(asset.id), "type": asset.type,
            "verdict": f"[{_VERDICT_COLOURS.get(status, 'red')}]{status}[/]",
            "SL-A/SL-T": sl_pair(asset), "evidence": digits(asset.sl_achieved_strict),
            "cov": f"{asset.coverage.ratio:.0%}", "fail": str(counts["fail"]), "err": str(counts["error"]),
            "open": str(len(asset.technical.open)) if asset.technical else "-"}


def _table(result: ScanResult, columns: list[str]) -> Table:
    table = Table(title=f"{escape(result.site)}: SL-A/SL-T per FR1..FR7", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for column in columns:
        table.add_column(column, no_wrap=True,
                         justify="right" if column in ("cov", "fail", "err", "open") else "left")
    for asset in result.assets:
        row = _row(asset)
        table.add_row(*(row[c] for c in columns))
    return table


def _width(renderable, limit: int) -> int:
    """The widest line ``renderable`` takes when it has all the room it wants."""
    probe = Console(width=max(limit * 4, 400), file=io.StringIO(), color_system=None)
    with probe.capture() as capture:
        probe.print(renderable)
    return max((len(line.rstrip()) for line in capture.get().splitlines()), default=0)


def _print_assets(result: ScanResult, out: Console) -> None:
    columns = ["asset", "type", "verdict", "SL-A/SL-T", "evidence", "cov", "fail", "err", "open"]
    for drop in (None, *_OPTIONAL):
        if drop:
            columns.remove(drop)
        table = _table(result, columns)
        if _width(table, out.width) <= out.width:
            out.print(table)
            if "evidence" in columns:
                out.print("evidence: SL-A on device evidence alone (answers not counted)", style="dim",
                          highlight=False)
            return
    # an asset id longer than the console leaves room for: one asset per block, the id alone on its line
    out.print(f"{escape(result.site)}: SL-A/SL-T per FR1..FR7", highlight=False)
    for asset in result.assets:
        row = _row(asset)
        out.print(row["asset"], highlight=False, soft_wrap=True)
        out.print(f"  {row['verdict']} {row['SL-A/SL-T']} fail {row['fail']} err {row['err']} open {row['open']}",
                  highlight=False)


def top_findings(result: ScanResult) -> list[tuple[AssetResult, CheckResult]]:
    """Failed checks and check errors of assessed assets, most urgent first: by risk (see
    :mod:`auditor.assessment.risk`; results written before it have none), then severity, then asset gap."""
    from reports.common import severity_rank

    order = {asset.id: n for n, asset in enumerate(result.assets)}
    found = [(asset, check) for asset in result.assets if asset.status == "assessed"
             for check in asset.results if check.status in ("fail", "error")]
    found.sort(key=lambda pair: (-(pair[1].risk or 0), severity_rank(pair[1].severity), -gap(pair[0]),
                                 pair[1].status != "fail",
                                 order[pair[0].id], pair[1].check_id))
    return found


def _finding_text(check: CheckResult) -> str:
    """The title and what to do: the expected value of a failure (its reason without one), an error's reason."""
    if check.status == "error":
        return f"{check.title}; error: {check.reason or 'no evidence'}"
    if check.expected:
        return f"{check.title}; expected {check.expected}"
    return f"{check.title}; {check.reason}" if check.reason else check.title


def _wrapped(text: str, width: int, most: int) -> list[str]:
    """``text`` wrapped to ``width``, at most ``most`` lines, the last ending in an ellipsis if it was cut."""
    width = max(width, 20)
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][:width - 1].rstrip() + "…"
    return lines


def _report_pointer(written: list[Path]) -> str:
    html = next((p for p in written if p.suffix == ".html"), None)
    if html is not None:
        return f"see {html}"
    result_json = next((p for p in written if p.name == "result.json"), None)
    if result_json is not None:
        return f"see 'iacs-audit report {result_json}'"
    return "see the report"


def _print_findings(result: ScanResult, written: list[Path], out: Console) -> None:
    found = top_findings(result)
    if not found:
        return
    shown = found[:TOP_FINDINGS]
    rule = ("by risk: severity x criticality x exposure + FR gap" if any(c.risk for _, c in shown)
            else "failed checks by severity, then by how far the asset is below SL-T")
    out.print(f"fix first ({rule}):", highlight=False)
    severity_width = max(len(c.severity) for _, c in shown)
    asset_width = max(len(a.id) for a, _ in shown)
    check_width = max(len(c.check_id) for _, c in shown)
    heads = []
    for asset, check in shown:
        colour = {"critical": "bold red", "high": "red", "medium": "yellow"}.get(check.severity, "")
        severity = f"[{colour}]{check.severity}[/]" if colour else check.severity
        heads.append(f"{severity}{' ' * (severity_width - len(check.severity))} {escape(asset.id)}"
                     f"{' ' * (asset_width - len(asset.id))} {escape(check.check_id)}"
                     f"{' ' * (check_width - len(check.check_id))}")
    texts = [_finding_text(check) for _, check in shown]
    if severity_width + asset_width + check_width + 3 + max(len(t) for t in texts) <= out.width:
        for head, text in zip(heads, texts):  # wide: one line each, in aligned columns
            out.print(f"{head} {escape(text)}", highlight=False)
    else:
        # narrow: the ids on one line (never cut), what is wrong and what is expected indented below it
        for head, text in zip(heads, texts):
            out.print(head.rstrip(), highlight=False, soft_wrap=True)
            for line in _wrapped(text, out.width - 4, FINDING_LINES):
                out.print(Text("    " + line), highlight=False, soft_wrap=True)
    if len(found) > len(shown):
        out.print(escape(f"... and {len(found) - len(shown)} more: {_report_pointer(written)}"), highlight=False,
                  soft_wrap=not out.is_terminal and out.width >= 200)


def _asset_line(out: Console, asset_id: str, text: str, soft: bool, colour: str = "") -> None:
    """``ID: TEXT``; an id too wide for the console stands alone on its line, the text indented below it."""
    label = f"[{colour}]{escape(asset_id)}[/]" if colour else escape(asset_id)
    if soft or len(asset_id) + 2 <= out.width:
        out.print(f"{label}: {escape(text)}", highlight=False, soft_wrap=soft)
    else:
        out.print(f"{label}:", highlight=False, soft_wrap=True)
        out.print(Padding(Text(text), (0, 0, 0, 2)))


def print_summary(result: ScanResult, written: list[Path], out: Console) -> None:
    """The verdict per asset, why each falls short, what to fix first, the answers hints, the files written."""
    from reports.common import shortfall

    # piped (wide, not a terminal): one line per message, never folded, so logs stay greppable
    soft = not out.is_terminal and out.width >= 200
    _print_assets(result, out)
    for asset in result.assets:
        if asset.error:
            _asset_line(out, asset.id, asset.error, soft, colour="red")
        elif asset.status == "assessed":
            capability = f" (SL-C {digits(asset.sl_capability)} with the vendor's claims)" \
                if asset.sl_capability is not None else ""
            _asset_line(out, asset.id, f"{shortfall(asset)}{capability}", soft)
    _print_findings(result, written, out)
    if result.attestations_source:
        counted = sum(len(a.counted) for a in result.attestations)
        overruled = sum(len(a.overruled) for a in result.attestations)
        expired = sum(a.state == "expired" for a in result.attestations)
        out.print(escape(f"answers from {result.attestations_source}: {counted} rows decided"
                         + (f", {overruled} overruled by failing device evidence" if overruled else "")
                         + (f", {expired} expired {'entry' if expired == 1 else 'entries'} not counted"
                            if expired else "")), highlight=False, soft_wrap=soft)
    if result.summary.open_rows:
        where = next((p for p in written if p.name == "result.json"), None)
        source = f"--result {where}" if where else "--inventory FILE"
        rows = result.summary.open_rows
        out.print(escape(f"{rows} requirement{'s await' if rows > 1 else ' awaits'} an answer: write "
                         f"{'them' if rows > 1 else 'it'} with "
                         f"'iacs-audit questionnaire {source} --out answers.yaml', fill it in, then "
                         "scan or rescore with --attestations answers.yaml"), highlight=False, soft_wrap=soft)
    if written:
        out.print(escape("wrote " + ", ".join(str(p) for p in written)), highlight=False, soft_wrap=soft)
