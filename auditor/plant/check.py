"""``inventory check``: every problem of an inventory file in one pass, each with its line and column.

Loading an inventory stops at the first kind of problem (the schema, then the references between zones,
assets and jump hosts, then, at scan time, unset secrets). A check lists them all at once: the schema
errors, every broken reference and every secret reference that cannot be read, located in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.errors import ConfigError, ConfigProblem
from auditor.safeload import load_yaml_file
from auditor.plant.inventory import PROTOCOL_ENDPOINTS, Inventory, apply_defaults
from auditor.plant.secrets import SecretError, resolve

#: Secret references: ``<name>_env`` / ``<name>_file`` for each ``<name>_env`` field of an endpoint model.
SECRET_NAMES = sorted({name[:-len("_env")] for model in PROTOCOL_ENDPOINTS.values()
                       for name in model.model_fields if name.endswith("_env")})


def check_inventory(path: str | Path) -> tuple[Inventory | None, list[ConfigProblem]]:
    """The inventory (None if invalid) and every problem found, in file order."""
    try:
        data = load_yaml_file(path, "an inventory")
    except ConfigError as exc:
        return None, exc.problems
    if not isinstance(data, dict):
        return None, [ConfigProblem("", "an inventory must be a mapping with 'site', 'zones' and 'assets'")]
    inventory, problems = None, []
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        # the whole-inventory checks (references) stop at their first problem: reference_problems lists them all
        problems = [p for p in ConfigError.from_validation(path, exc, data).problems if p.path]
    problems += reference_problems(data) + secret_problems(data)
    text = Path(path).read_text(encoding="utf-8")
    located = ConfigError(str(path), problems).locate(text).problems
    return (inventory if not located else None), sorted(located, key=lambda p: (p.line or 0, p.column or 0))


def reference_problems(data: dict[str, Any]) -> list[ConfigProblem]:
    """Duplicate ids, assets naming an undefined zone, zones naming an undefined jump host."""
    problems: list[ConfigProblem] = []
    ids: dict[str, set[str]] = {}
    for section in ("zones", "assets", "jump_hosts"):
        seen: set[str] = set()
        for index, item in _items(data, section):
            value = item.get("id")
            if isinstance(value, str) and value in seen:
                problems.append(ConfigProblem(f"{section}[{index}].id", f"duplicate {section[:-1].replace('_', ' ')} "
                                              f"id {value!r}", (section, index, "id")))
            if isinstance(value, str):
                seen.add(value)
        ids[section] = seen
    for index, zone in _items(data, "zones"):
        for part in str(zone.get("jump") or "").split(","):
            part = part.strip()
            if part and "@" not in part and part not in ids["jump_hosts"]:
                problems.append(ConfigProblem(f"zones[{index}] (id={zone.get('id')}).jump",
                                              f"names jump host {part!r}, which is not defined in jump_hosts",
                                              ("zones", index, "jump")))
    for index, asset in _items(data, "assets"):
        zone = asset.get("zone")
        if zone is not None and zone not in ids["zones"]:
            problems.append(ConfigProblem(f"assets[{index}] (id={asset.get('id')}).zone", f"names zone {zone!r}, "
                                          "which is not defined in zones", ("assets", index, "zone")))
    return problems


def secret_problems(data: dict[str, Any]) -> list[ConfigProblem]:
    """Every secret reference (the endpoint's own or from ``defaults``) that cannot be read now."""
    problems = []
    for index, asset in _items(apply_defaults(data), "assets"):
        for number, endpoint in _items(asset, "endpoints"):
            for name in SECRET_NAMES:
                env, file = endpoint.get(f"{name}_env"), endpoint.get(f"{name}_file")
                field = f"{name}_env" if env else f"{name}_file"
                if not isinstance(env if env else file, str):
                    continue
                try:
                    resolve(env if isinstance(env, str) else None, file if isinstance(file, str) else None)
                except SecretError as exc:
                    problems.append(ConfigProblem(f"assets[{index}] (id={asset.get('id')}).endpoints[{number}]."
                                                  f"{field}", str(exc), ("assets", index, "endpoints", number, field)))
    return problems


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    values = data.get(key) if isinstance(data, dict) else None
    return [(i, v) for i, v in enumerate(values) if isinstance(v, dict)] if isinstance(values, list) else []
