"""Tests for the packaged IEC 62443 catalog and its loader.

The expected numbers come from the reference note iec62443-catalog.md (section 1 per-SL totals,
and the row counts of the tables in sections 2.2-2.6), so a transcription slip in
auditor/assessment/data/catalog.yaml shows up here.
"""

from __future__ import annotations

import copy
from collections import Counter
from importlib.resources import files

import pytest
import yaml
from pydantic import ValidationError

from auditor.assessment.catalog import (
    COMPONENT_TYPES,
    Catalog,
    Requirement,
    UnknownRequirement,
    load_catalog,
    normalize_id,
    parse_catalog,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def raw() -> dict:
    """A fresh, mutable copy of the packaged YAML for negative tests."""
    text = (files("auditor.assessment") / "data" / "catalog.yaml").read_text(encoding="utf-8")
    return copy.deepcopy(yaml.safe_load(text))


# --- the packaged file ---------------------------------------------------------------------------

def test_packaged_yaml_loads_and_is_cached(catalog: Catalog) -> None:
    assert isinstance(catalog, Catalog)
    assert load_catalog() is catalog
    assert "licensed" in catalog.source


def test_packaged_yaml_keeps_the_strict_loaders_rules() -> None:
    """The package reads its own catalog with libyaml; the file must still pass the loader users' files get
    (no duplicate key, bounded nesting) and mean the same to both."""
    from auditor.safeload import yaml_loads

    resource = files("auditor.assessment") / "data" / "catalog.yaml"
    text = resource.read_text(encoding="utf-8")
    assert yaml_loads(text, str(resource)) == yaml.load(text, Loader=yaml.CSafeLoader)


def test_row_counts_per_kind(catalog: Catalog) -> None:
    counts = Counter(r.kind for r in catalog.requirements)
    assert counts == {"SR": 100, "CR": 70, "SAR": 3, "EDR": 13, "HDR": 14, "NDR": 22}


def test_3_3_per_sl_counts_match_reference_note(catalog: Catalog) -> None:
    """SL1 = 37 (37 SRs); SL2 adds 23 (12+11); SL3 adds 30 (2+28); SL4 adds 10 (0+10)."""
    rows = catalog.for_system()
    added = {sl: Counter("RE" if r.is_enhancement else "SR" for r in rows if r.sl == sl) for sl in range(1, 5)}
    assert added[1] == {"SR": 37}
    assert added[2] == {"SR": 12, "RE": 11}
    assert added[3] == {"SR": 2, "RE": 28}
    assert added[4] == {"RE": 10}
    assert len(rows) == 100
    assert sum(not r.is_enhancement for r in rows) == 51


@pytest.mark.parametrize(("req_id", "sl"), [
    ("CR 2.11", 1),
    ("SR 2.11", 2),
    ("HDR 3.10 RE1", 2),
    ("NDR 1.13 RE1", 3),
    ("SR 1.13 RE1", 2),
    ("SR 3.4", 2),          # 2014 corrigendum: not selected at SL1
    ("CR 3.4", 1),
    ("SR 4.1 RE2", 4),
    ("CR 2.12", 1),
    ("SR 2.12", 3),
    ("EDR 3.2", 1),
])
def test_spot_check_lowest_sl(catalog: Catalog, req_id: str, sl: int) -> None:
    assert catalog.get(req_id).sl == sl


def test_spot_check_fields(catalog: Catalog) -> None:
    req = catalog.get("HDR 3.10 RE1")
    assert (req.standard, req.kind, req.fr, req.parent) == ("4-2", "HDR", 3, "HDR 3.10")
    assert req.component_types == ("host",)
    assert req.title == "Update authenticity and integrity"
    assert catalog.get("SR 3.4").confidence == "conflict"
    assert catalog.get("SAR 2.4").confidence == "C1"
    assert catalog.get("SR 1.1").parent is None


def test_every_enhancement_has_an_existing_parent_at_or_below_its_sl(catalog: Catalog) -> None:
    ids = {r.id for r in catalog.requirements}
    enhancements = [r for r in catalog.requirements if r.is_enhancement]
    assert enhancements
    for req in enhancements:
        assert req.parent in ids, req.id
        assert catalog.get(req.parent).sl <= req.sl, req.id


def test_placeholders_are_not_requirements_and_point_to_real_rows(catalog: Catalog) -> None:
    by_id = {p.id: p for p in catalog.placeholders}
    assert {"CR 2.3", "CR 5.4", "CR 7.5"} <= set(by_id)
    assert all(by_id[i].see == () for i in ("CR 2.3", "CR 5.4", "CR 7.5"))
    assert by_id["CR 1.6"].see == ("NDR 1.6",)
    for placeholder in catalog.placeholders:
        assert placeholder.id not in catalog
        for target in placeholder.see:
            assert target in catalog


def test_frs(catalog: Catalog) -> None:
    assert [fr.short for fr in catalog.frs] == ["IAC", "UC", "SI", "DC", "RDF", "TRE", "RA"]
    assert catalog.fr_name(1) == "Identification and authentication control"
    assert catalog.fr_name(7) == "Resource availability"
    with pytest.raises(ValueError):
        catalog.fr_name(8)


# --- id spelling ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("loose", "canonical"), [
    ("SR 1.1 RE 1", "SR 1.1 RE1"),
    ("SR1.1 RE1", "SR 1.1 RE1"),
    ("SR 1.1(1)", "SR 1.1 RE1"),
    ("sr 1.1 re1", "SR 1.1 RE1"),
    ("  CR2.11RE1 ", "CR 2.11 RE1"),
    ("HDR 3.10 RE(1)", "HDR 3.10 RE1"),
    ("ndr-1.13-re1", "NDR 1.13 RE1"),
    ("SR 1.1", "SR 1.1"),
])
def test_normalize_id(catalog: Catalog, loose: str, canonical: str) -> None:
    assert normalize_id(loose) == canonical
    assert catalog.get(loose).id == canonical
    assert loose in catalog


@pytest.mark.parametrize("garbage", ["", "FR 1", "SR", "SR 1", "XR 1.1", "SR 1.1 RE"])
def test_normalize_id_rejects_non_ids(garbage: str) -> None:
    with pytest.raises(ValueError, match="not a requirement id"):
        normalize_id(garbage)


# --- helpful errors ------------------------------------------------------------------------------

def test_placeholder_error_names_the_type_specific_rows(catalog: Catalog) -> None:
    with pytest.raises(UnknownRequirement) as info:
        catalog.get("cr 3.2")
    assert str(info.value) == "CR 3.2 is type specific: use SAR 3.2 / EDR 3.2 / HDR 3.2 / NDR 3.2"
    assert isinstance(info.value, KeyError)
    assert info.value.req_id == "CR 3.2"


def test_placeholder_error_keeps_the_enhancement(catalog: Catalog) -> None:
    with pytest.raises(UnknownRequirement, match=r"use NDR 1\.13 RE1$"):
        catalog.get("CR 1.13 RE1")


def test_no_component_requirement_error(catalog: Catalog) -> None:
    with pytest.raises(UnknownRequirement, match="no component requirement.*SR 7.5"):
        catalog.get("CR 7.5")


@pytest.mark.parametrize(("req_id", "hint"), [
    ("SR 1.1 RE4", "RE1, RE2, RE3"),
    ("SR 1.4 RE1", "no enhancements"),
    ("HDR 1.1", "CR 1.1 applies to all component types"),
    ("SAR 3.10", "EDR 3.10 / HDR 3.10 / NDR 3.10"),
    ("not-an-id", "not a requirement id"),
])
def test_unknown_requirement_hints(catalog: Catalog, req_id: str, hint: str) -> None:
    with pytest.raises(UnknownRequirement) as info:
        catalog.get(req_id)
    assert hint in str(info.value)


# --- selections ----------------------------------------------------------------------------------

def test_for_component_host(catalog: Catalog) -> None:
    rows = catalog.for_component("host")
    kinds = {r.kind for r in rows}
    assert kinds == {"CR", "HDR"}
    assert "NDR" not in kinds
    assert sum(r.kind == "CR" for r in rows) == 70
    assert len(rows) == 70 + 14
    ids = [r.id for r in rows]
    assert ids.index("CR 2.2") < ids.index("HDR 2.4") < ids.index("HDR 2.4 RE1") < ids.index("CR 2.5")


@pytest.mark.parametrize(("ctype", "own"), [("network", "NDR"), ("embedded", "EDR"), ("application", "SAR")])
def test_for_component_other_types(catalog: Catalog, ctype: str, own: str) -> None:
    assert {r.kind for r in catalog.for_component(ctype)} == {"CR", own}


def test_for_component_rejects_unknown_type(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="unknown component type"):
        catalog.for_component("plc")  # type: ignore[arg-type]


def test_rows_chooses_basis(catalog: Catalog) -> None:
    assert catalog.rows("system") == catalog.for_system()
    assert all(r.kind == "SR" for r in catalog.rows("system"))
    for ctype in COMPONENT_TYPES:
        assert catalog.rows("component", ctype) == catalog.for_component(ctype)
    with pytest.raises(ValueError, match="needs a component_type"):
        catalog.rows("component")


# --- validation of the data file -----------------------------------------------------------------

def test_duplicate_id_is_a_clear_error(raw: dict) -> None:
    raw["requirements"].append(copy.deepcopy(raw["requirements"][0]))
    with pytest.raises(ValueError, match="duplicate requirement id 'SR 1.1'"):
        parse_catalog(raw)


def test_unknown_parent_is_a_clear_error(raw: dict) -> None:
    raw["requirements"] = [r for r in raw["requirements"] if r["id"] != "SR 1.2"]
    with pytest.raises(ValueError, match=r"SR 1\.2 RE1: parent 'SR 1\.2' is not in the catalog"):
        parse_catalog(raw)


def test_placeholder_pointing_nowhere_is_an_error(raw: dict) -> None:
    raw["requirements"] = [r for r in raw["requirements"] if r["id"] != "NDR 1.6 RE1" and r["id"] != "NDR 1.6"]
    with pytest.raises(ValueError, match="placeholder CR 1.6"):
        parse_catalog(raw)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("id", "SR 1.1 RE 1", "write the id as 'SR 1.1 RE1'"),
    ("kind", "CR", "kind is 'CR' but the id says 'SR'"),
    ("fr", 2, "the id says FR 1"),
    ("sl", 5, "less than or equal to 4"),
    ("parent", None, "parent must be 'SR 1.1'"),
    ("standard", "4-2", "belong to IEC 62443-3-3"),
    ("component_types", ["host"], "component_types must be"),
    ("confidence", "high", "Input should be"),
    ("colour", "red", "Extra inputs are not permitted"),
])
def test_bad_row_is_rejected_naming_the_row(raw: dict, field: str, value: object, message: str) -> None:
    row = next(r for r in raw["requirements"] if r["id"] == "SR 1.1 RE1")
    row[field] = value
    with pytest.raises(ValueError, match="SR 1.1 RE1") as info:
        parse_catalog(raw)
    assert message in str(info.value)


def test_models_are_frozen(catalog: Catalog) -> None:
    req = catalog.get("SR 1.1")
    with pytest.raises(ValidationError):
        req.sl = 2  # type: ignore[misc]
    assert Requirement.model_config["extra"] == "forbid"
