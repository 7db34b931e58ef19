"""History commands: ``history`` (scans or one asset over time, and ``history export``) and ``diff``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from auditor.cli import cli
from auditor.cli.common import EXIT_CONFIG, console, err_console, guard
from auditor.safetext import printable_lines

DB_OPTION = click.option("--db", "db", envvar="IACS_AUDIT_DB", metavar="URL|PATH",
                         help="History store (default: the per-user SQLite file) [env IACS_AUDIT_DB].")


def _open(db: str | None):
    from auditor.store import StoreError, open_store

    try:
        return open_store(db)
    except StoreError as exc:
        err_console.print(f"[bold red]history store error[/]\n{exc}", highlight=False)
        sys.exit(EXIT_CONFIG)


def _compact(vector: dict[str, int] | None) -> str:
    from auditor.assessment.slvector import FRS  # the SL model is built only when a history is shown

    return "-" if not vector else "{" + " ".join(str(vector[fr]) for fr in FRS) + "}"


def _stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@cli.group(invoke_without_command=True)
@DB_OPTION
@click.option("--asset", "asset_id", metavar="ID", help="One asset over time.")
@click.option("--site", help="Only scans of this site.")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def history(ctx: click.Context, db: str | None, asset_id: str | None, site: str | None, limit: int,
            as_json: bool) -> None:
    """Scans recorded in the history store, newest first, with SL-A per FR (FR1..FR7).

    For a scan, SL-A is the weakest over its assessed assets (a plant is as strong as its weakest
    asset); with --asset, each scan's SL-T, SL-A (the verdict, on device evidence alone, with accepted
    compensating countermeasures) of that asset.
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    store = _open(db)
    try:
        if asset_id:
            rows = store.asset_history(asset_id, site=site, limit=limit)
            if as_json:
                click.echo(json.dumps(rows, indent=2, default=_json_default))
                return
            table = Table(title=f"{asset_id}: {len(rows)} scans in {store.display_url}", title_justify="left")
            for column in ("scan", "started", "site", "status", "SL-T", "SL-A", "SL-A evidence only", "SL-A w/ CM", "meets",
                           "fail"):
                table.add_column(column)
            for row in rows:
                table.add_row(str(row["scan"]), _stamp(row["started_at"]), row["site"], row["status"],
                              _compact(row["sl_target"]), _compact(row["sl_achieved"]),
                              _compact(row["sl_achieved_strict"]), _compact(row["sl_achieved_with_countermeasures"]),
                              "yes" if row["meets_target"] else "no", str(row["failed_checks"]))
        else:
            rows = store.scans(site=site, limit=limit)
            if as_json:
                click.echo(json.dumps(rows, indent=2, default=_json_default))
                return
            table = Table(title=f"{len(rows)} scans in {store.display_url}", title_justify="left")
            for column in ("scan", "started", "site", "profile", "status", "assets", "meet SL-T", "weakest SL-A", "exit"):
                table.add_column(column)
            for row in rows:
                table.add_row(str(row["id"]), _stamp(row["started_at"]), row["site"], row["selection"], row["status"],
                              f"{row['assessed']}/{row['assets']}", str(row["meeting_target"]),
                              _compact(row["sl_achieved_min"]), "-" if row["exit_code"] is None else str(row["exit_code"]))
        console().print(table)
        if not rows:
            click.echo("no scans recorded yet: run 'iacs-audit scan ... --db ...'")
    finally:
        store.close()


@history.command("export")
@click.argument("scan_ref")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("-f", "--format", "formats", multiple=True, metavar="FORMATS", help="As for scan (default json,html).")
@click.pass_context
@guard
def history_export(ctx: click.Context, scan_ref: str, out: Path, formats: tuple[str, ...]) -> None:
    """Write a stored scan's result.json, evidence.json and report (with its trend) into OUT."""
    from auditor.app.scan import write_outputs
    from auditor.cli.scan import _formats
    from auditor.store import StoreError

    store = _open(ctx.obj.get("db"))
    try:
        scan_id = store.resolve(scan_ref)
        result = store.load_result(scan_id)
        result = result.model_copy(update={"history": store.trend(result.site, until=scan_id)})
        bundle = store.load_bundle(scan_id)
    except StoreError as exc:
        err_console.print(f"[red]{exc}[/]", highlight=False)
        sys.exit(EXIT_CONFIG)
    finally:
        store.close()
    written = write_outputs(out, result, bundle, _formats(formats))
    click.echo("wrote " + ", ".join(str(p) for p in written))


@cli.command()
@click.argument("scan_a", required=False, default="previous")
@click.argument("scan_b", required=False, default="latest")
@DB_OPTION
@click.option("--site", help="With 'latest'/'previous': the scans of this site.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff(scan_a: str, scan_b: str, db: str | None, site: str | None, as_json: bool) -> None:
    """What changed from SCAN_A to SCAN_B (ids from 'history', or latest / previous; default previous latest).

    Newly failing and newly passing checks, assets added or gone, SL-A changes, and evidence drift
    (OS or software versions, new or gone listening services, host keys and certificates replaced).
    Exit code: 0 no drift, 1 drift, 2 unknown scan or store error.
    """
    from auditor.store import StoreError
    from auditor.store.drift import diff as compute, render_text

    store = _open(db)
    try:
        first, second = store.resolve(scan_a, site), store.resolve(scan_b, site)
        drift = compute(store.load_result(first), store.load_result(second), store.snapshots(first),
                        store.snapshots(second))
    except StoreError as exc:
        err_console.print(f"[red]{exc}[/]", highlight=False)
        sys.exit(EXIT_CONFIG)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(drift.model_dump(mode="json"), indent=2))
    else:
        for line in render_text(drift):
            click.echo(printable_lines(line))  # drift shows device strings (banners, sysDescr): never raw controls
    sys.exit(1 if drift.changed else 0)
