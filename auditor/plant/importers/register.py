"""A CSV asset register -> an inventory: one row per endpoint, rows with the same ``id`` are one asset.

Columns (header row required, names case-insensitive, order free, empty cells mean "not set"):

========================= ==================================================================
``id``                    asset id (required)
``address``               host name or IP address (required on an asset's first row)
``protocol``              ssh, snmp, modbus or opcua (required)
``type``                  host, network, embedded or application; default: from the protocol
``zone``                  zone id; each zone named is created (SL-T from ``zone_sl_target``)
``zone_sl_target``        the zone's SL-T (1-4), on any row of the zone
``description``           the asset's description
``vendor``, ``product``,  what the component is (``product.name`` in the inventory)
``model``, ``firmware``
``sl_target``             the asset's own SL-T (1-4)
any endpoint field        ``port``, ``username``, ``key_file``, ``version``, ``community_env``, ``unit_id``,
                          ``password_env``, ... as in the inventory (secrets only by reference)
========================= ==================================================================

An unknown column or a value the inventory refuses is an error naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError, ConfigProblem
from auditor.plant.importers import Imported
from auditor.plant.inventory import PROTOCOL_ENDPOINTS
from auditor.plant.ports import TYPE_BY_PROTOCOL

ASSET_COLUMNS = {"id", "address", "type", "zone", "description", "sl_target", "protocol"}
PRODUCT_COLUMNS = {"vendor": "vendor", "product": "name", "model": "model", "firmware": "firmware"}
ZONE_COLUMNS = {"zone_sl_target"}
ENDPOINT_COLUMNS = {name for model in PROTOCOL_ENDPOINTS.values() for name in model.model_fields} - {"protocol"}
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


def import_register(path: str | Path) -> Imported:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError.single(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError.single(path, "", f"cannot read: {exc}") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = [(name or "").strip().lower() for name in reader.fieldnames or []]
    unknown = [c for c in columns if c not in ASSET_COLUMNS | set(PRODUCT_COLUMNS) | ZONE_COLUMNS | ENDPOINT_COLUMNS]
    missing = [c for c in ("id", "address", "protocol") if c not in columns]
    if unknown or missing:
        problems = [ConfigProblem("header", f"unknown column {c!r}") for c in unknown]
        problems += [ConfigProblem("header", f"required column {c!r} is missing") for c in missing]
        raise ConfigError(str(path), problems)
    assets: dict[str, dict[str, Any]] = {}
    zones: dict[str, dict[str, Any]] = {}
    problems: list[ConfigProblem] = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        where = f"row {number}" + (f" (id={row['id']})" if row.get("id") else "")
        if not any(row.values()):
            continue
        if not row.get("id") or not row.get("protocol"):
            problems.append(ConfigProblem(where, "id and protocol are required on every row"))
            continue
        protocol = row["protocol"].lower()
        model = PROTOCOL_ENDPOINTS.get(protocol)
        if model is None:
            problems.append(ConfigProblem(f"{where}.protocol", f"unknown protocol {protocol!r}; expected one of "
                                                               f"{', '.join(PROTOCOL_ENDPOINTS)}"))
            continue
        endpoint: dict[str, Any] = {"protocol": protocol}
        for column in columns:
            if column in ENDPOINT_COLUMNS and row.get(column):
                if column not in model.model_fields:
                    problems.append(ConfigProblem(f"{where}.{column}", f"not a field of a {protocol} endpoint"))
                else:
                    endpoint[column] = _value(row[column])
        asset = assets.get(row["id"])
        if asset is None:
            asset = assets[row["id"]] = {"id": row["id"], "type": row.get("type") or TYPE_BY_PROTOCOL[protocol]}
            for column in ("zone", "address", "description"):
                if row.get(column):
                    asset[column] = row[column]
            if row.get("sl_target"):
                asset["sl_target"] = _value(row["sl_target"])
            product = {key: row[column] for column, key in PRODUCT_COLUMNS.items() if row.get(column)}
            if product:
                asset["product"] = product
            asset["endpoints"] = []
        asset["endpoints"].append(endpoint)
        if row.get("zone"):
            zone = zones.setdefault(row["zone"], {"id": row["zone"]})
            if row.get("zone_sl_target"):
                zone["sl_target"] = _value(row["zone_sl_target"])
    if problems:
        raise ConfigError(str(path), problems)
    data: dict[str, Any] = {"site": f"imported from {path.name}"}
    if zones:
        data["zones"] = list(zones.values())
    data["assets"] = list(assets.values())
    return Imported(data)


def _value(text: str) -> Any:
    if text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
