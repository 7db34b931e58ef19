"""The terminal summary of a scan or rescore: what to fix first across the plant, then one row per asset.

First the findings to fix first, plant-wide and grouped by check (one remediation fixes a check on every
asset it fails on): failed checks and check errors of assessed assets, ordered by severity
(critical..info), then by how far the affected assets are below their target (sum over FR of SL-T minus
SL-A), then by how many assets each affects, at most :data:`TOP_FINDINGS` lines with the number of assets
each affects; the rest are counted with a pointer to the full report (:mod:`reports.plant` orders both).

Then the assets, furthest below target first, at most :data:`TOP_ASSETS` of them (the rest are counted).
The table never cuts an asset id: it drops optional columns (type, then SL-A on device evidence alone,
then coverage) until it fits the console, and past that lists each asset on its own lines. The SL vectors
are one digit per FR (``2212242/2222222`` is SL-A/SL-T for FR1..FR7), so they never wrap.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderHook, RenderResult
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from auditor.assessment.slvector import FRS
from auditor.results import AssetResult, ScanResult
from auditor.safetext import printable_lines
from reports.plant import FixGroup, answering, fix_first, gap, ranked

TOP_FINDINGS = 10
TOP_ASSETS = 25   # asset rows printed; a larger plant's other assets are counted (the report lists them all)
ASSET_IDS = 3     # asset ids named per finding; the rest are counted
FINDING_LINES = 2  # on a narrow console, a finding's text takes at most this many lines (the report has it all)
_OPTIONAL = ("type", "evidence", "cov")  # dropped in this order when the table does not fit
_VERDICT_COLOURS = {"meets": "green", "short": "yellow"}


def _safe(text: str) -> str:
    """Text for rich markup: control characters shown as visible escapes (rich would drop some silently and
    pass others to the terminal), markup characters escaped."""
    return escape(printable_lines(text))


def digits(vector) -> str:
    """``SLVector`` -> ``"2212242"`` (FR1..FR7, one digit each)."""
    return "".join(str(vector[fr]) for fr in FRS)


def sl_pair(asset: AssetResult) -> str:
    """SL-A/SL-T as rich markup; an FR below its target is shown in red."""
    achieved = "".join(f"[red]{asset.sl_achieved[fr]}[/]" if asset.sl_achieved[fr] < asset.sl_target[fr]
                       else str(asset.sl_achieved[fr]) for fr in FRS)
    return f"{achieved}/{digits(asset.sl_target)}"


def _verdict(asset: AssetResult) -> str:
    return asset.status if asset.status != "assessed" else ("meets" if asset.meets_target else "short")


def _row(asset: AssetResult) -> dict[str, str]:
    counts = {s: sum(r.status == s for r in asset.results) for s in ("fail", "error")}
    status = _verdict(asset)
    return {"asset": _safe(asset.id), "type": asset.type,
            "verdict": f"[{_VERDICT_COLOURS.get(status, 'red')}]{status}[/]",
            "SL-A/SL-T": sl_pair(asset), "evidence": digits(asset.sl_achieved_strict),
            "cov": f"{asset.coverage.ratio:.0%}", "fail": str(counts["fail"]), "err": str(counts["error"]),
            "open": str(len(asset.technical.open)) if asset.technical else "-"}


def _table(result: ScanResult, assets: list[AssetResult], columns: list[str]) -> Table:
    table = Table(title=f"{_safe(result.site)}: SL-A/SL-T per FR1..FR7", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for column in columns:
        table.add_column(column, no_wrap=True,
                         justify="right" if column in ("cov", "fail", "err", "open") else "left")
    for asset in assets:
        row = _row(asset)
        table.add_row(*(row[c] for c in columns))
    return table


def _width(renderable, limit: int) -> int:
    """The width ``renderable`` takes when it has all the room it wants (rich's own measurement, no rendering)."""
    probe = Console(width=max(limit * 4, 400), file=io.StringIO(), color_system=None)
    return Measurement.get(probe, probe.options, renderable).maximum


def _print_assets(result: ScanResult, assets: list[AssetResult], out: Console) -> None:
    columns = ["asset", "type", "verdict", "SL-A/SL-T", "evidence", "cov", "fail", "err", "open"]
    for drop in (None, *_OPTIONAL):
        if drop:
            columns.remove(drop)
        table = _table(result, assets, columns)
        if _width(table, out.width) <= out.width:
            out.print(table)
            if "evidence" in columns:
                out.print("evidence: SL-A on device evidence alone (answers not counted)", style="dim",
                          highlight=False)
            return
    # an asset id longer than the console leaves room for: one asset per block, the id alone on its line
    out.print(f"{_safe(result.site)}: SL-A/SL-T per FR1..FR7", highlight=False)
    for asset in assets:
        row = _row(asset)
        out.print(row["asset"], highlight=False, soft_wrap=True)
        out.print(f"  {row['verdict']} {row['SL-A/SL-T']} fail {row['fail']} err {row['err']} open {row['open']}",
                  highlight=False)


def top_findings(result: ScanResult) -> list[FixGroup]:
    """Failed checks and check errors of assessed assets grouped by check, most urgent first."""
    return fix_first(result)


def _finding_text(group: FixGroup) -> str:
    """The title and what to do (the expected value of a failure, its reason without one), then the assets."""
    if group.failed == 0:
        text = f"{group.title}; error: {group.reason or 'no evidence'}"
    elif group.expected:
        text = f"{group.title}; expected {group.expected}"
    else:
        text = f"{group.title}; {group.reason}" if group.reason else group.title
    return text


def _on(group: FixGroup) -> str:
    """``on a, b, c and 4 more`` (the assets furthest below target first)."""
    ids = ", ".join(a.id for a in group.assets[:ASSET_IDS])
    more = len(group.assets) - ASSET_IDS
    return f"on {ids}" + (f" and {more} more" if more > 0 else "")


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
    rule = "by risk, then severity" if any(g.risk for g in shown) else "by severity"
    out.print(f"fix first, across the plant ({rule}, then how far below SL-T):", highlight=False)
    severity_width = max(len(g.severity) for g in shown)
    check_width = max(len(g.check_id) for g in shown)
    counts = [f"{len(g.assets)} asset{'s' if len(g.assets) != 1 else ''}" for g in shown]
    count_width = max(len(c) for c in counts)
    heads = []
    for group, count in zip(shown, counts):
        colour = {"critical": "bold red", "high": "red", "medium": "yellow"}.get(group.severity, "")
        severity = f"[{colour}]{group.severity}[/]" if colour else group.severity
        heads.append(f"{severity}{' ' * (severity_width - len(group.severity))} {_safe(group.check_id)}"
                     f"{' ' * (check_width - len(group.check_id))} {' ' * (count_width - len(count))}{count}")
    texts = [_finding_text(group) for group in shown]
    ons = [_on(group) for group in shown]
    widest = max(len(t) + len(o) + 2 for t, o in zip(texts, ons))
    if severity_width + check_width + count_width + 3 + widest <= out.width:
        for head, text, on in zip(heads, texts, ons):  # wide: one line each, in aligned columns
            out.print(f"{head} {_safe(text)}; {_safe(on)}", highlight=False)
    else:
        # narrow: severity, check and count on one line (never cut) with the assets where they fit, then what is wrong
        for group, head, text, on in zip(shown, heads, texts, ons):
            plain = severity_width + check_width + count_width + 3 + len(on)
            if plain <= out.width:
                out.print(f"{head} {_safe(on)}", highlight=False, soft_wrap=True)
            else:
                out.print(head.rstrip(), highlight=False, soft_wrap=True)
                out.print(Text(printable_lines("    " + on)), highlight=False, soft_wrap=True)
            for line in _wrapped(text, out.width - 4, FINDING_LINES):
                out.print(Text(printable_lines("    " + line)), highlight=False, soft_wrap=True)
    if len(found) > len(shown):
        out.print(_safe(f"... and {len(found) - len(shown)} more checks failing: {_report_pointer(written)}"),
                  highlight=False, soft_wrap=not out.is_terminal and out.width >= 200)


def _asset_line(out: Console, asset_id: str, text: str, soft: bool, colour: str = "") -> None:
    """``ID: TEXT``; an id too wide for the console stands alone on its line, the text indented below it."""
    label = f"[{colour}]{_safe(asset_id)}[/]" if colour else _safe(asset_id)
    if soft or len(asset_id) + 2 <= out.width:
        out.print(f"{label}: {_safe(text)}", highlight=False, soft_wrap=soft)
    else:
        out.print(f"{label}:", highlight=False, soft_wrap=True)
        out.print(Padding(Text(printable_lines(text)), (0, 0, 0, 2)))


class _Printable:
    """A renderable whose text segments are :func:`printable_lines`: what rich would write, minus any control
    character a device string carried (rich's own control segments, its colours and cursor moves, pass)."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.inner, options):
            yield segment if segment.control else Segment(printable_lines(segment.text), segment.style)


class _PrintableHook(RenderHook):
    def process_renderables(self, renderables: list[RenderableType]) -> list[RenderableType]:
        return [_Printable(r) for r in renderables]


def print_summary(result: ScanResult, written: list[Path], out: Console) -> None:
    """What to fix first, the verdict per asset and why each falls short, the answers hints, the files written.

    Device strings (banners, errors, observed values) never drive the terminal: everything printed here is
    made printable as rich renders it, which costs only what is shown (a plant's whole result made printable
    first took longer than scoring it)."""
    out.push_render_hook(_PrintableHook())
    try:
        _print_summary(result, written, out)
    finally:
        out.pop_render_hook()


def _print_summary(result: ScanResult, written: list[Path], out: Console) -> None:
    from reports.common import shortfall

    # piped (wide, not a terminal): one line per message, never folded, so logs stay greppable
    soft = not out.is_terminal and out.width >= 200
    _print_findings(result, written, out)
    assets = ranked(result.assets)
    shown = assets[:TOP_ASSETS]
    _print_assets(result, shown, out)
    if len(assets) > len(shown):
        rest = assets[len(shown):]
        meeting = sum(a.status == "assessed" and a.meets_target for a in rest)
        out.print(_safe(f"... and {len(rest)} more assets ({meeting} meet their SL-T): {_report_pointer(written)}"),
                  highlight=False, soft_wrap=soft)
    for asset in shown:
        if asset.error:
            _asset_line(out, asset.id, asset.error, soft, colour="red")
        elif asset.status == "assessed":
            capability = f" (SL-C {digits(asset.sl_capability)} with the vendor's claims)" \
                if asset.sl_capability is not None else ""
            _asset_line(out, asset.id, f"{shortfall(asset)}{capability}", soft)
    if result.attestations_source:
        counted = sum(len(a.counted) for a in result.attestations)
        overruled = sum(len(a.overruled) for a in result.attestations)
        expired = sum(a.state == "expired" for a in result.attestations)
        out.print(_safe(f"answers from {result.attestations_source}: {counted} rows decided"
                         + (f", {overruled} overruled by failing device evidence" if overruled else "")
                         + (f", {expired} expired {'entry' if expired == 1 else 'entries'} not counted"
                            if expired else "")), highlight=False, soft_wrap=soft)
    if result.summary.open_rows:
        where = next((p for p in written if p.name == "result.json"), None)
        source = f"--result {where}" if where else "--inventory FILE"
        rows = result.summary.open_rows
        completes = len(answering(result).completes)
        if completes:
            out.print(_safe(f"answering alone would bring {completes} asset{'s' if completes != 1 else ''} to SL-T "
                             "(nothing unmet by device evidence, only open rows)"), highlight=False, soft_wrap=soft)
        out.print(_safe(f"{rows} requirement{'s await' if rows > 1 else ' awaits'} an answer: write "
                         f"{'them' if rows > 1 else 'it'} with "
                         f"'iacs-audit questionnaire {source} --out answers.yaml', fill it in, then "
                         "scan or rescore with --attestations answers.yaml"), highlight=False, soft_wrap=soft)
    if written:
        out.print(_safe("wrote " + ", ".join(str(p) for p in written)), highlight=False, soft_wrap=soft)
