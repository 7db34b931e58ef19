"""Inventories from what a plant already has: Ansible inventories, a CSV asset register, nmap XML.

Each importer turns its file into inventory data (the same mapping a ``plant.yaml`` holds) plus notes
on what it left out and why; :func:`write_inventory` validates that data with the inventory models and
writes it, so an import never hands out a file ``scan`` would refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from auditor.errors import ConfigError
from auditor.plant.inventory import ID_PATTERN, Inventory


@dataclass
class Imported:
    """Inventory data from one source file, and what a person should review."""

    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def safe_id(text: str, fallback: str = "asset") -> str:
    """An inventory id from a host name, group name or address (``10.0.0.5`` -> ``10.0.0.5``, ``web 1`` ->
    ``web-1``)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:-]+", "-", text.strip()).strip("-_.:")[:64]
    return cleaned if cleaned and re.fullmatch(ID_PATTERN, cleaned) else fallback


def validate(source: str | Path, imported: Imported) -> Inventory:
    """The imported data as an :class:`Inventory`, or a ConfigError naming the source file (exit 2)."""
    try:
        return Inventory.model_validate(imported.data)
    except ValidationError as exc:
        raise ConfigError.from_validation(source, exc, imported.data) from None


def render(imported: Imported, header: str) -> str:
    """The inventory YAML, with a comment header: where it came from and the notes for review."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if imported.notes:
        lines.append("# Review before scanning:")
        lines += [f"#   - {note}" for note in imported.notes]
    body = yaml.safe_dump(imported.data, sort_keys=False, allow_unicode=True, width=120)
    return "\n".join(lines) + "\n" + body


def write_inventory(source: str | Path, imported: Imported, out: Path, header: str) -> Inventory:
    inventory = validate(source, imported)
    text = render(imported, header)
    if str(out) == "-":
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
    return inventory
