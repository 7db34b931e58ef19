"""``scan --plan``: the scan plan on the terminal (or as JSON), printed before any packet is sent."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from auditor.app.plan import ScanPlan

_TEXT_LIMIT = 160  # a long command is shortened on the terminal; --json gives it whole


def print_plan(plan: ScanPlan, out: Console, as_json: bool = False) -> None:
    if as_json:
        out.out(json.dumps(plan.as_dict(), indent=2), highlight=False)
        return
    say = lambda text: out.print(text, highlight=False, soft_wrap=True)  # noqa: E731
    assets = f"{len(plan.assets)} asset" + ("s" if len(plan.assets) != 1 else "")
    say(f"[bold]scan plan[/] for {escape(plan.site)} ({escape(plan.selection)}): {assets}, "
        f"{plan.sends} requests and connections; nothing has been sent")
    for asset in plan.assets:
        expected = f", last took {asset.expected_seconds:.0f} s" if asset.expected_seconds is not None else ""
        say(f"\n[bold]{escape(asset.asset)}[/] {asset.type}, zone {escape(asset.zone or '-')}, "
            f"{escape(asset.address)}: "
            f"profile {escape(asset.profile)}, SL-T {asset.sl_target}, {asset.checks} checks, {asset.sends} sends, "
            f"pacing alone at least {asset.min_seconds:g} s{expected}; window: {escape(asset.window)}")
        for endpoint in asset.endpoints:
            say(f"  [bold]{escape(endpoint.endpoint)}[/]: {escape(endpoint.error or endpoint.pacing)}")
            for step in endpoint.steps:
                count = "n" if step.count is None else str(step.count)
                indent = "  " if step.operation == "command" else ""
                notes = [part for part in (step.detail, f"only if {step.when}" if step.when else "") if part]
                detail = f"  ({escape('; '.join(notes))})" if notes else ""
                say(f"    {count:>3}  {indent}{escape(step.operation)}  {escape(_short(step.target))}{detail}")
    say("\n[bold]totals[/] (n: a walk or browse, counted once; it ends at the subtree's end or its bound):")
    for operation, count in plan.totals().items():
        say(f"  {count:>5}  {escape(operation)}")


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _TEXT_LIMIT else f"{flat[:_TEXT_LIMIT]}... ({len(flat)} characters; --json gives all)"
