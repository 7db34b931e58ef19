"""Inventory commands: import one from what the plant has, check one in a single pass, print its schema."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from auditor import __version__
from auditor.cli import cli
from auditor.cli.common import EXIT_CONFIG, EXIT_OK, console, err_console, guard

SOURCES = ("ansible", "csv", "nmap")


@cli.group()
def inventory() -> None:
    """Import an inventory (Ansible, CSV asset register, nmap XML), check one, print its JSON Schema."""


@inventory.command("import")
@click.argument("source", type=click.Choice(SOURCES))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The inventory YAML to write ('-': standard output).")
@guard
def import_(source: str, file: Path, out: Path) -> None:
    """Write an inventory from FILE: an Ansible inventory (INI or YAML), a CSV asset register or nmap XML."""
    from auditor.plant.importers import render, validate
    from auditor.plant.importers.ansible import import_ansible
    from auditor.plant.importers.nmap import import_nmap
    from auditor.plant.importers.register import import_register

    reader = {"ansible": import_ansible, "csv": import_register, "nmap": import_nmap}[source]
    imported = reader(file)
    inventory_model = validate(file, imported)
    header = (f"Inventory imported by iacs-audit {__version__} from {source} file {file.name} on {date.today()}.\n"
              "Check it with: iacs-audit inventory check FILE; see what a scan would send: iacs-audit scan -i FILE "
              "--plan")
    text = render(imported, header)
    if str(out) == "-":
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {out}: {len(inventory_model.assets)} assets, {len(inventory_model.zones)} zones"
                          + (f"; {len(imported.notes)} notes to review in its header" if imported.notes else ""),
                          highlight=False, soft_wrap=True)
    sys.exit(EXIT_OK)


@inventory.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Report every problem of an inventory file at once (schema, references, unset secrets), each with its
    line and column; exit 2 if there is any."""
    from auditor.errors import ConfigError
    from auditor.plant.check import check_inventory

    inventory_model, problems = check_inventory(file)
    if problems:
        err_console.print(f"[bold red]{len(problems)} problem{'s' if len(problems) > 1 else ''}[/]", highlight=False)
        err_console.print(str(ConfigError(str(file), problems)), markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_CONFIG)
    assert inventory_model is not None
    console().print(f"{file}: no problem ({len(inventory_model.assets)} assets, {len(inventory_model.zones)} zones; "
                    "every secret reference is readable)", highlight=False, soft_wrap=True)
    sys.exit(EXIT_OK)


@inventory.command()
def schema() -> None:
    """Print the inventory's JSON Schema (for editors: the published copy is reports/schema/inventory.schema.json)."""
    from reports.json_report import inventory_schema

    click.echo(json.dumps(inventory_schema(), indent=2))
