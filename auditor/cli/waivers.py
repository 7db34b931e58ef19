"""``waivers check FILE``: validate a waivers file and show what each waiver covers and until when."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from rich.table import Table

from auditor.cli import cli
from auditor.cli.common import console, guard


@cli.group()
def waivers() -> None:
    """Accepted risks (waivers) with their compensating countermeasures."""


@waivers.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge expiry on this date (default today).")
@guard
def waivers_check(path: Path, as_of) -> None:
    """Validate PATH (exit 2 if invalid) and list each waiver as active or expired."""
    from auditor.assessment.waivers import load_waivers

    waiver_set = load_waivers(path)
    today = as_of.date() if as_of else date.today()
    table = Table(title=f"{len(waiver_set.waivers)} waivers in {path} (as of {today})", title_justify="left")
    for column in ("id", "state", "check / requirement", "assets / zones", "countermeasure", "approver", "expires"):
        table.add_column(column, overflow="fold")
    for waiver in waiver_set.waivers:
        state = "active" if waiver.active(today) else "[red]expired[/]"
        if waiver.expires is None:
            state += " (no expiry)"
        what = " & ".join(x for x in (waiver.check, waiver.requirement) if x)
        where = ", ".join([*waiver.assets, *(f"zone {z}" for z in waiver.zones)])
        table.add_row(waiver.id, state, what, where, waiver.compensating_countermeasure or "[yellow]none[/]",
                      waiver.approver, str(waiver.expires or "-"))
    console().print(table)
