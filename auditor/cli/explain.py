"""Commands that explain what will be checked and why: checks, profiles, catalog."""

from __future__ import annotations

import json

import click
from rich.table import Table

from auditor.cli import cli
from auditor.cli.common import console, err_console, guard


@cli.group()
def checks() -> None:
    """List and explain the checks that can run."""


@checks.command("list")
@click.option("-t", "--type", "component_type", type=click.Choice(["host", "network", "embedded", "application"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def checks_list(component_type: str | None, as_json: bool) -> None:
    """All registered checks (built-in and third-party packs)."""
    from auditor.registry import REGISTRY

    registry = REGISTRY.load()
    specs = sorted(registry.checks.values(), key=lambda s: s.id)
    if component_type:
        specs = [s for s in specs if component_type in s.applies_to]
    if as_json:
        click.echo(json.dumps([{"id": s.id, "title": s.title, "severity": s.severity, "applies_to": list(s.applies_to),
                                "platforms": list(registry.platforms_of(s)) or ["any"],
                                "requirements": list(s.requirements), "pack": s.pack} for s in specs], indent=2))
        return
    table = Table(title=f"{len(specs)} checks")
    for column in ("id", "severity", "types", "platform", "requirements", "title"):
        table.add_column(column, overflow="fold")
    for s in specs:
        table.add_row(s.id, s.severity, ",".join(s.applies_to), ",".join(registry.platforms_of(s)) or "any",
                      ", ".join(s.requirements), s.title)
    console().print(table)
    for problem in registry.load_errors:
        err_console.print(f"[yellow]warning:[/] {problem}", highlight=False)


@checks.command("show")
@click.argument("check_id")
def checks_show(check_id: str) -> None:
    """Everything about one check: why, what it reads, how to fix, which requirements."""
    from auditor.assessment.catalog import load_catalog
    from auditor.registry import REGISTRY

    registry = REGISTRY.load()
    if check_id not in registry.checks:
        raise click.UsageError(f"unknown check {check_id!r}; see 'iacs-audit checks list'")
    spec = registry.checks[check_id]
    catalog = load_catalog()
    click.echo(f"{spec.id}\n  {spec.title}\n")
    click.echo(f"severity:    {spec.severity}\napplies to:  {', '.join(spec.applies_to)}\n"
               f"platform:    {', '.join(registry.platforms_of(spec)) or 'any'}\npack:        {spec.pack}")
    click.echo("requirements:")
    for req_id in spec.requirements:
        row = catalog.get(req_id)
        click.echo(f"  {row.id:<14} FR{row.fr} SL{row.sl}  {row.title}")
    click.echo(f"\nwhy:\n  {spec.rationale}\n\nremediation:\n  {spec.remediation}")
    if spec.params:
        click.echo("\nparameters (defaults; profiles may override):")
        for name, value in spec.params.items():
            click.echo(f"  {name}: {json.dumps(value)}")
    click.echo("\nevidence read:")
    for fact_name in spec.facts:
        fact_spec = registry.facts[fact_name]
        click.echo(f"  fact {fact_name} ({fact_spec.protocol})")
        for req in fact_spec.requests:
            sudo = " [under sudo where allowed]" if req.option("sudo") else ""
            click.echo(f"    {req.op}: {req.target}{sudo}")


@cli.group()
def profiles() -> None:
    """List and show profiles (built-in or files)."""


@profiles.command("list")
def profiles_list() -> None:
    """The built-in profiles."""
    from auditor.assessment.profiles import builtin_names, load_profile

    table = Table(title="built-in profiles")
    for column in ("name", "type", "SL-T", "extends", "checks", "title"):
        table.add_column(column)
    for name in builtin_names():
        profile = load_profile(name)
        table.add_row(name, profile.type, profile.sl_target.compact(), " <- ".join(profile.chain[1:]) or "-",
                      str(len(profile.selected_checks())), profile.title)
    console().print(table)


@profiles.command("show")
@click.argument("name")
@guard
def profiles_show(name: str) -> None:
    """The effective profile after 'extends': every check of its type, selected or not, with its effective
    parameters; '*' marks a parameter the profile chain changed from the check's default."""
    from auditor.assessment.profiles import load_profile, tailoring

    profile = load_profile(name)
    click.echo(f"{profile.id}: {profile.title}\nsource: {profile.source}\nchain: {' <- '.join(profile.chain)}")
    click.echo(f"type: {profile.type}\nSL-T: {profile.sl_target.compact()}\nbasis: {profile.basis}")
    if profile.description:
        click.echo(f"\n{profile.description.strip()}")
    rows = tailoring(profile)
    selected = [r for r in rows if r["selected"]]
    click.echo(f"\n{len(selected)} checks selected:")
    for row in selected:
        params = ", ".join(f"{'*' if k in row['tailored'] else ''}{k}={json.dumps(v)}" for k, v in sorted(row["params"].items()))
        click.echo(f"  {row['check']}" + (f"  {params}" if params else ""))
    deselected = [r["check"] for r in rows if not r["selected"]]
    if deselected:
        click.echo(f"\n{len(deselected)} checks deselected:")
        for check_id in deselected:
            click.echo(f"  {check_id}")


@cli.command()
@click.option("--fr", type=click.Choice([f"FR{n}" for n in range(1, 8)], case_sensitive=False))
@click.option("--sl", type=click.IntRange(1, 4), help="Rows required at this SL (lowest SL <= N).")
@click.option("-t", "--type", "component_type", type=click.Choice(["host", "network", "embedded", "application"]))
@click.option("--basis", type=click.Choice(["component", "system"]), default=None,
              help="4-2 component rows (default with --type) or 3-3 system rows.")
def catalog(fr: str | None, sl: int | None, component_type: str | None, basis: str | None) -> None:
    """IEC 62443 requirements with their SL, and the checks that give evidence for each."""
    from auditor.assessment.catalog import load_catalog
    from auditor.registry import REGISTRY

    cat = load_catalog()
    basis = basis or ("component" if component_type else "system")
    rows = cat.rows(basis, component_type or "host") if basis == "component" else cat.for_system()
    if fr:
        rows = [r for r in rows if r.fr == int(fr[2:])]
    if sl:
        rows = [r for r in rows if r.sl <= sl]
    registry = REGISTRY.load()
    covering: dict[str, list[str]] = {}
    for spec in registry.checks.values():
        if component_type and component_type not in spec.applies_to:
            continue
        for req in spec.requirements:
            covering.setdefault(req, []).append(spec.id)
    table = Table(title=f"{len(rows)} requirements ({'IEC 62443-4-2' if basis == 'component' else 'IEC 62443-3-3'})")
    for column in ("id", "FR", "SL", "title", "checks"):
        table.add_column(column, overflow="fold")
    for row in rows:
        checks_ = covering.get(row.id, [])
        table.add_row(row.id, f"FR{row.fr}", str(row.sl), row.title, ", ".join(sorted(checks_)) or "[dim]not assessed[/]")
    console().print(table)
