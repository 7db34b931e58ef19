"""``result.json`` and ``evidence.json``: writing, loading (with integrity checks) and the JSON Schemas (also the inventory's).

The schemas are generated from the pydantic models and *published* in ``reports/schema/``; a unit test
fails when the published files drift from the models, so a model change forces a deliberate schema
update. Regenerate them with::

    python -m reports.json_report --write-schemas      # rewrite reports/schema/*.schema.json
    python -m reports.json_report --check              # exit 1 if they are out of date

An evidence bundle carries a sha256 per item and a manifest hash over all items (computed fields of
:class:`~auditor.evidence.EvidenceBundle`). :func:`load_evidence` recomputes and compares every one of
them: an edited bundle is refused with a message naming the item, never rescored silently.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from pydantic import BaseModel

from auditor.batching import no_cyclic_gc
from auditor.evidence import BUNDLE_SCHEMA_VERSION, EvidenceBundle
from auditor.safeload import MAX_JSON_BYTES, json_loads, read_bounded
from auditor.results import RESULT_SCHEMA_VERSION, ScanResult

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
RESULT_SCHEMA_FILE = SCHEMA_DIR / "result.schema.json"
EVIDENCE_SCHEMA_FILE = SCHEMA_DIR / "evidence.schema.json"
INVENTORY_SCHEMA_FILE = SCHEMA_DIR / "inventory.schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
RESULT_SCHEMA_ID = f"urn:iacs-auditor:schema:result:{RESULT_SCHEMA_VERSION}"
EVIDENCE_SCHEMA_ID = f"urn:iacs-auditor:schema:evidence:{BUNDLE_SCHEMA_VERSION}"
INVENTORY_SCHEMA_ID = "urn:iacs-auditor:schema:inventory:1"
REGENERATE_COMMAND = "python -m reports.json_report --write-schemas"


# --------------------------------------------------------------------------- writing


def _dump(model: BaseModel) -> str:
    # pydantic's own serializer: the same JSON as json.dumps(indent=2, ensure_ascii=False) of model_dump, several
    # times faster on a plant-sized result
    return model.model_dump_json(indent=2) + "\n"


def _write_text(path: str | Path, text: str | Iterable[str]) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a result.json behind; ``text`` may
    come in parts, written as they come."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


_ASSETS_SLOT = '\n  "assets": []'


def _result_parts(result: ScanResult) -> Iterator[str]:
    """:func:`_dump` of a result, byte for byte, one asset at a time: a plant's result.json is never one string
    in memory (nor its bytes beside it). The result without its assets is dumped whole and each asset, dumped
    alone and indented two levels (JSON strings hold no raw line break), is put in the assets' place."""
    if not result.assets:
        yield _dump(result)
        return
    skeleton = result.model_copy(update={"assets": []}).model_dump_json(indent=2)
    head, found, tail = skeleton.partition(_ASSETS_SLOT)
    if not found or _ASSETS_SLOT in tail:  # cannot happen for the model as it is; never guess
        yield _dump(result)
        return
    yield head + '\n  "assets": [\n'
    for number, asset in enumerate(result.assets):
        text = asset.model_dump_json(indent=2).replace("\n", "\n    ")
        yield ("    " if number == 0 else ",\n    ") + text
    yield "\n  ]" + tail + "\n"


def write_result(result: ScanResult, path: str | Path) -> Path:
    """Write ``result.json`` (pretty, UTF-8), streamed asset by asset."""
    return _write_text(path, _result_parts(result))


def write_evidence(bundle: EvidenceBundle, path: str | Path) -> Path:
    """Write ``evidence.json``, including every item's ``sha256`` and the bundle's ``manifest_sha256``."""
    return _write_text(path, _dump(bundle))


def copy_evidence(source: Path, path: str | Path) -> Path:
    """An ``evidence.json`` that was read and verified, copied unchanged (atomically); nothing if it is ``path``."""
    target = Path(path)
    if target.exists() and target.resolve() == source.resolve():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------- loading


def load_result(path: str | Path) -> ScanResult:
    """Read and validate a ``result.json``; raises ``ValueError`` (pydantic ``ValidationError``) if invalid,
    :class:`~auditor.errors.ConfigError` if missing or over :data:`~auditor.safeload.MAX_JSON_BYTES`."""
    return ScanResult.model_validate_json(read_bounded(path, MAX_JSON_BYTES, "a result.json"))


def load_evidence(path: str | Path) -> EvidenceBundle:
    """Read an ``evidence.json`` and verify its integrity.

    The stored hashes (computed fields, which the model would reject as extra input) are taken out,
    the bundle is validated, and every hash is recomputed. A missing or different hash raises
    ``ValueError`` naming the item (or the manifest), because rescoring edited evidence would
    produce a report nobody can trust.
    """
    with no_cyclic_gc():
        try:
            data = json_loads(read_bounded(path, MAX_JSON_BYTES, "an evidence bundle"))
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        return evidence_from_data(data)


def evidence_from_data(data: Any) -> EvidenceBundle:
    """Validate already-parsed bundle data and verify its hashes (see :func:`load_evidence`)."""
    if not isinstance(data, dict):
        raise ValueError("an evidence bundle is a JSON object")
    data = dict(data)
    manifest = data.pop("manifest_sha256", None)
    stored: list[tuple[int, int, Any]] = []  # (asset index, item index, stored sha256)
    assets = data.get("assets")
    if isinstance(assets, list):
        data["assets"] = assets = [dict(a) if isinstance(a, dict) else a for a in assets]
        for a_index, asset in enumerate(assets):
            items = asset.get("items") if isinstance(asset, dict) else None
            if not isinstance(items, list):
                continue
            asset["items"] = items = [dict(i) if isinstance(i, dict) else i for i in items]
            for i_index, item in enumerate(items):
                if isinstance(item, dict):
                    stored.append((a_index, i_index, item.pop("sha256", None)))
    bundle = EvidenceBundle.model_validate(data)
    items = hashlib.sha256()  # the manifest over the digests just verified (EvidenceBundle.manifest_sha256's rule)
    for a_index, i_index, digest in stored:
        item = bundle.assets[a_index].items[i_index]
        label = f"evidence item {item.id or f'#{i_index + 1}'!r} (asset {item.asset!r}, {item.request.key})"
        if digest is None:
            raise ValueError(f"{label} has no sha256; the bundle cannot be verified")
        computed = item.sha256
        if digest != computed:
            raise ValueError(f"{label}: sha256 does not match its content (stored {str(digest)[:16]}..., "
                             f"computed {computed[:16]}...); the evidence was modified after collection")
        items.update(f"{item.id} {computed}\n".encode())
    if manifest is None:
        raise ValueError("the bundle has no manifest_sha256; it cannot be verified")
    if manifest != items.hexdigest():
        raise ValueError("manifest_sha256 does not match the items (items were added, removed, renumbered "
                         "or reordered after collection)")
    return bundle


# --------------------------------------------------------------------------- schemas


def _schema(model: type[BaseModel], schema_id: str, title: str, description: str,
            mode: str = "serialization") -> dict[str, Any]:
    generated = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    generated.pop("title", None)
    generated.pop("description", None)
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id, "title": title, "description": description,
            **generated}


def result_schema() -> dict[str, Any]:
    """JSON Schema (Draft 2020-12) of ``result.json``, generated from :class:`ScanResult`."""
    return _schema(
        ScanResult, RESULT_SCHEMA_ID, "iacs-auditor scan result (result.json)",
        "The scored outcome of an iacs-auditor scan or rescore: per asset, the check verdicts, each IEC 62443 "
        "requirement row judged by device evidence, by a recorded answer or left open, the achieved security "
        "level vector (SL-A; also on device evidence alone, and SL-C with vendor claims) against the target "
        "(SL-T), and the technical view and coverage of automated assessment. Generated from "
        f"auditor.results.ScanResult; regenerate with `{REGENERATE_COMMAND}`.")


def evidence_schema() -> dict[str, Any]:
    """JSON Schema (Draft 2020-12) of ``evidence.json``, generated from :class:`EvidenceBundle`."""
    return _schema(
        EvidenceBundle, EVIDENCE_SCHEMA_ID, "iacs-auditor evidence bundle (evidence.json)",
        "Every raw read an iacs-auditor scan made (request and device response, per asset), with a sha256 per "
        "item and a manifest hash over all items, plus the inventory (secret references only). Rescoring "
        f"reads only this file. Generated from auditor.evidence.EvidenceBundle; regenerate with "
        f"`{REGENERATE_COMMAND}`.")


def inventory_schema() -> dict[str, Any]:
    """JSON Schema (Draft 2020-12) of an inventory file as written (for editors), from :class:`Inventory`."""
    from auditor.plant.inventory import Inventory

    schema = _schema(
        Inventory, INVENTORY_SCHEMA_ID, "iacs-auditor inventory (plant.yaml)",
        "The plant an iacs-auditor scan reaches: site, zones (SL-T, maintenance windows, limits, defaults), jump "
        "hosts, and assets with their endpoints (ssh, snmp, modbus, opcua). Secrets only by reference (*_env, "
        "*_file). `iacs-audit inventory check FILE` also checks references between zones and assets and that "
        f"every secret reference is readable. Generated from auditor.plant.inventory.Inventory; regenerate with "
        f"`{REGENERATE_COMMAND}`.", mode="validation")
    return _with_shorthands(schema)


def _with_shorthands(schema: dict[str, Any]) -> dict[str, Any]:
    """What the inventory's loader accepts beyond the models' own shapes, so an editor accepts it too: an SL
    as one number, weekdays as text (``mon-fri``), one maintenance window instead of a list."""
    defs = schema["$defs"]
    defs["SLVector"] = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 4}, defs["SLVector"]]}
    days = defs["MaintenanceWindow"]["properties"]["days"]
    defs["MaintenanceWindow"]["properties"]["days"] = {
        "anyOf": [{k: v for k, v in days.items() if k not in ("default", "description", "title")},
                  {"type": "string", "description": "e.g. mon-fri, sat,sun, daily"},
                  {"type": "integer", "minimum": 0, "maximum": 6}],
        **{k: v for k, v in days.items() if k in ("default", "description", "title")}}
    for owner in (defs["Zone"], defs["Asset"]):
        windows = owner["properties"]["maintenance_windows"]
        one = windows.pop("items")
        windows.pop("type")
        windows["anyOf"] = [{"type": "array", "items": one}, one]
    return schema


def _schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


PUBLISHED = {RESULT_SCHEMA_FILE: result_schema, EVIDENCE_SCHEMA_FILE: evidence_schema,
             INVENTORY_SCHEMA_FILE: inventory_schema}


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for path, build in PUBLISHED.items():
        written.append(_write_text(directory / path.name, _schema_text(build())))
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Published schema files that are missing or differ from the models."""
    stale = []
    for path, build in PUBLISHED.items():
        target = directory / path.name
        try:
            current = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = None
        if current != build():
            stale.append(target)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.json_report",
                                     description="Publish or verify the JSON Schemas of result.json, evidence.json and the inventory.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write-schemas", action="store_true", help=f"rewrite the files in {SCHEMA_DIR}")
    group.add_argument("--check", action="store_true", help="exit 1 if a published schema is out of date")
    args = parser.parse_args(argv)
    if args.write_schemas:
        for path in write_schemas():
            print(f"wrote {path}")
        return 0
    stale = stale_schemas()
    for path in stale:
        print(f"out of date: {path} (run `{REGENERATE_COMMAND}`)", file=sys.stderr)
    return 1 if stale else 0


def write_result_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``json`` entry of :data:`reports.FORMATS` (the evidence is written separately, as evidence.json)."""
    return write_result(result, path)


if __name__ == "__main__":
    sys.exit(main())

