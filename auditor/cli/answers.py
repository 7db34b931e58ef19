"""What a person answers: ``questionnaire`` writes the questions, ``attestations check`` validates the
answers, ``coverage`` tells how much of each component type only a person can judge."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from rich.table import Table

from auditor.cli import cli
from auditor.cli.common import console, err_console, guard
from auditor.errors import ConfigError

TYPES = click.Choice(["host", "network", "embedded", "application"])


@cli.command()
@click.option("-t", "--type", "component_type", type=TYPES, help="Component type (with --sl).")
@click.option("--sl", type=click.IntRange(1, 4), help="Rows up to this SL (with --type; with --inventory it "
                                                      "overrides the assets' targets).")
@click.option("-i", "--inventory", type=click.Path(dir_okay=False, path_type=Path),
              help="Every asset of an inventory: the rows its checks cannot judge, up to its SL-T.")
@click.option("-r", "--result", "result_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A scan's result.json: exactly the rows it left open.")
@click.option("-p", "--profile", help="With --inventory: profile name or file (as for scan).")
@click.option("--basis", type=click.Choice(["component", "system"]), default="component", show_default=True,
              help="With --type: 4-2 component rows or 3-3 system rows.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "csv"]), help="Default: from --out's suffix, else yaml.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write ('-' for standard output).")
@guard
def questionnaire(component_type: str | None, sl: int | None, inventory: Path | None, result_file: Path | None,
                  profile: str | None, basis: str, fmt: str | None, out: Path) -> None:
    """Write the requirements a person must answer, as a fillable answers file (YAML or CSV).

    Each entry carries the assessor's question and the evidence that answers it. Fill in answer, evidence,
    justification, attested_by and date, then scan with --attestations FILE."""
    from auditor.assessment import questionnaire as q

    chosen = [name for name, value in (("--type", component_type), ("--inventory", inventory),
                                       ("--result", result_file)) if value is not None]
    if len(chosen) != 1:
        raise click.UsageError("give one of --type (with --sl), --inventory or --result")
    if component_type and sl is None:
        raise click.UsageError("--type needs --sl")
    if profile and not inventory:
        raise click.UsageError("--profile applies to --inventory only")
    if component_type:
        questions = q.for_type(component_type, sl or 1, basis)
        what = f"{component_type} components up to SL {sl} ({'IEC 62443-4-2' if basis == 'component' else '3-3'}), " \
               "the rows no automated check can judge"
    elif inventory:
        from auditor.plant.inventory import load_inventory
        from auditor.plant.planning import plan_assets

        inv = load_inventory(inventory)
        questions = q.for_inventory(inv, plan_assets(inv, profile=profile, sl=sl))
        what = f"{inv.site}, the rows no automated check can judge, per asset up to its SL-T"
    else:
        from reports.json_report import load_result

        try:
            result = load_result(result_file)
        except (ValueError, OSError) as exc:
            raise ConfigError.single(result_file, "", f"not a valid result.json: {exc}") from None
        questions = q.for_result(result)
        what = f"{result.site}, the rows the scan of {result.started_at:%Y-%m-%d %H:%M} left open"
    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "yaml")
    text = q.render_csv(questions) if fmt == "csv" else q.render_yaml(questions, what)
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    err_console.print(f"wrote {out}: {len(questions)} requirements to answer", highlight=False)


@cli.group()
def attestations() -> None:
    """Answers files: a person's recorded answers and a vendor's capability claims."""


@attestations.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge dates and expiry on this day (default today).")
@guard
def attestations_check(path: Path, as_of) -> None:
    """Validate PATH: exit 2 with the file, entry and reason for unknown ids, missing evidence or
    justification, dates in the future and expired entries; otherwise list what it answers."""
    from auditor.assessment.attestations import load_answers

    today = as_of.date() if as_of else date.today()
    book = load_answers(path, as_of=today, expired_is_error=True)
    table = Table(title=f"{len(book.entries)} answers in {path} (as of {today})", title_justify="left")
    for column in ("entry", "answer", "kind", "narrowed to", "attested by", "date", "expires", "evidence"):
        table.add_column(column, overflow="fold")
    for label, entry in book.entries:
        narrowed = ", ".join([*entry.assets, *(f"zone {z}" for z in entry.zones), *(f"type {t}" for t in entry.types)])
        evidence = "; ".join(e.file or e.url or e.ref or "" for e in entry.evidence)
        table.add_row(label, entry.answer or "", "capability claim" if entry.capability else "site answer",
                      narrowed or "every asset", entry.attested_by or "", str(entry.date), str(entry.expires or "-"),
                      evidence)
    console().print(table)
    if book.unanswered:
        err_console.print(f"{book.unanswered} entries have no answer yet (skipped)", highlight=False)


@cli.command()
@click.option("-t", "--type", "component_types", type=TYPES, multiple=True, help="Component type (default: all four).")
@click.option("--sl", type=click.IntRange(1, 4), default=4, show_default=True, help="Rows up to this SL.")
@click.option("--basis", type=click.Choice(["component", "system"]), default="component", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output, with the row ids.")
def coverage(component_types: tuple[str, ...], sl: int, basis: str, as_json: bool) -> None:
    """Per component type and FR: how many requirement rows a check can judge and how many only a person can."""
    from auditor.assessment.questionnaire import coverage_table

    types = component_types or ("host", "network", "embedded", "application")
    data = {t: coverage_table(t, sl, basis) for t in types}
    if as_json:
        click.echo(json.dumps({t: {"sl": sl, "basis": basis, "frs": [
            {"fr": r.fr, "rows": r.total, "automated": r.automated, "person_only": r.person_only} for r in rows]}
            for t, rows in data.items()}, indent=2))
        return
    for component_type, rows in data.items():
        automated = sum(len(r.automated) for r in rows)
        total = sum(r.total for r in rows)
        table = Table(title=f"{component_type}, rows up to SL {sl}: {automated} of {total} can be judged by a check",
                      title_justify="left")
        for column in ("FR", "rows", "by a check", "only a person", "person-only rows"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(r.fr, str(r.total), str(len(r.automated)), str(len(r.person_only)), ", ".join(r.person_only))
        console().print(table)
