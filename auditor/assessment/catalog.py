"""The IEC 62443-3-3 / 62443-4-2 requirement catalog: packaged data plus lookups.

Every score the auditor produces is "requirement X is met at SL n", so the identifiers and the
lowest SL of each row must be right and must be spelled one way everywhere (checks, profiles,
waivers, reports). The rows live in ``auditor/assessment/data/catalog.yaml`` rather than in Python so that
a reviewer can compare them line by line with a licensed copy of the standards; this module
validates that file strictly on load, so a typo in it fails loudly instead of silently changing
a score.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from auditor.safeload import yaml_loads

Kind = Literal["SR", "CR", "SAR", "EDR", "HDR", "NDR"]
ComponentType = Literal["host", "network", "embedded", "application"]
Basis = Literal["component", "system"]
Confidence = Literal["C", "C1", "conflict", "unconfirmed"]

COMPONENT_TYPES: tuple[ComponentType, ...] = ("host", "network", "embedded", "application")
# 4-2 reuses a CR number with a type prefix where the requirement differs per component type.
TYPE_KIND: dict[ComponentType, Kind] = {
    "application": "SAR", "embedded": "EDR", "host": "HDR", "network": "NDR"}
_KIND_TYPES: dict[str, frozenset[str]] = {
    "SR": frozenset(COMPONENT_TYPES), "CR": frozenset(COMPONENT_TYPES),
    **{kind: frozenset({ctype}) for ctype, kind in TYPE_KIND.items()}}
_KIND_ORDER = {"SR": 0, "CR": 1, "SAR": 2, "EDR": 2, "HDR": 2, "NDR": 2}

# Spellings met in the wild: "SR 1.1 RE1", "SR 1.1 RE 1", "SR1.1RE1", "SR 1.1 RE(1)",
# "sr-1.1-re1" and the 3-3 Annex B table notation "SR 1.1(1)".
_LOOSE_ID = re.compile(
    r"""^\s*(?P<kind>SR|CR|SAR|EDR|HDR|NDR)[\s_-]*(?P<fr>\d+)\s*\.\s*(?P<minor>\d+)
        (?:[\s_-]*RE[\s_-]*\(?\s*(?P<re>\d+)\s*\)?|\s*\(\s*(?P<paren>\d+)\s*\))?\s*$""",
    re.IGNORECASE | re.VERBOSE)


class UnknownRequirement(KeyError):
    """A requirement id that is not in the catalog; ``str()`` is the helpful message itself.

    Subclasses KeyError because ``catalog.get`` is a mapping lookup, but overrides ``__str__``
    (KeyError would otherwise print the message in quotes).
    """

    def __init__(self, req_id: str, message: str) -> None:
        super().__init__(message)
        self.req_id = req_id
        self.message = message

    def __str__(self) -> str:
        return self.message


def normalize_id(text: str) -> str:
    """Return the canonical spelling (``SR 1.1``, ``CR 2.11 RE1``) of a loosely written id.

    Raises ValueError if ``text`` does not look like a requirement id at all. Does not check
    that the requirement exists; use :meth:`Catalog.get` for that.
    """
    match = _LOOSE_ID.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a requirement id: {text!r} (expected e.g. 'SR 1.1' or 'CR 2.11 RE1')")
    base = f"{match['kind'].upper()} {int(match['fr'])}.{int(match['minor'])}"
    enhancement = match["re"] or match["paren"]
    return f"{base} RE{int(enhancement)}" if enhancement else base


def _parts(canonical_id: str) -> tuple[str, int, int, int | None]:
    """``"HDR 3.10 RE1"`` -> ``("HDR", 3, 10, 1)``; the id must already be canonical."""
    kind, number, *rest = canonical_id.split(" ")
    fr, minor = number.split(".")
    return kind, int(fr), int(minor), int(rest[0][2:]) if rest else None


def _order(req: Requirement) -> tuple[int, int, int, int]:
    """Sort key: FR, then number, CR before its type-specific rows, base before its REs."""
    kind, fr, minor, enhancement = _parts(req.id)
    return fr, minor, _KIND_ORDER[kind], enhancement or 0


class Requirement(BaseModel):
    """One SR/CR/SAR/EDR/HDR/NDR or one of its requirement enhancements (RE)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str = Field(min_length=1)
    standard: Literal["3-3", "4-2"]
    kind: Kind
    fr: int = Field(ge=1, le=7)
    sl: int = Field(ge=1, le=4, description="lowest SL-C at which the row is required")
    parent: str | None = None
    component_types: tuple[ComponentType, ...]
    confidence: Confidence
    note: str | None = None
    question: str = Field(min_length=20, description="what an assessor asks to judge this row (the questionnaire)")
    answer_evidence: str = Field(min_length=10, description="the evidence that answers the question")

    @model_validator(mode="after")
    def _consistent(self) -> Requirement:
        """The id carries kind, FR and parent; reject rows where the other fields disagree."""
        try:
            canonical = normalize_id(self.id)
        except ValueError as exc:
            raise ValueError(f"{self.id!r}: {exc}") from None
        if canonical != self.id:
            raise ValueError(f"{self.id!r}: write the id as {canonical!r}")
        kind, fr, minor, enhancement = _parts(self.id)
        if kind != self.kind:
            raise ValueError(f"{self.id}: kind is {self.kind!r} but the id says {kind!r}")
        if self.standard != ("3-3" if kind == "SR" else "4-2"):
            raise ValueError(f"{self.id}: {kind} rows belong to IEC 62443-{'3-3' if kind == 'SR' else '4-2'}")
        if fr != self.fr:
            raise ValueError(f"{self.id}: fr is {self.fr} but the id says FR {fr}")
        expected_parent = f"{kind} {fr}.{minor}" if enhancement is not None else None
        if self.parent != expected_parent:
            raise ValueError(f"{self.id}: parent must be {expected_parent!r}, not {self.parent!r}")
        if set(self.component_types) != _KIND_TYPES[kind] or len(self.component_types) != len(_KIND_TYPES[kind]):
            raise ValueError(f"{self.id}: component_types must be {sorted(_KIND_TYPES[kind])}")
        return self

    @property
    def is_enhancement(self) -> bool:
        return self.parent is not None


class Foundational(BaseModel):
    """A foundational requirement (FR); its number is the position in the SL vector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=1, le=7)
    id: str
    name: str
    short: str

    @model_validator(mode="after")
    def _id_matches_number(self) -> Foundational:
        if self.id != f"FR{self.number}":
            raise ValueError(f"{self.id!r}: expected 'FR{self.number}'")
        return self


class Placeholder(BaseModel):
    """A 4-2 CR number that is not itself a requirement.

    Either it is type specific (``see`` lists the SAR/EDR/HDR/NDR rows to use instead) or 4-2 has
    no component requirement for it (``see`` is empty). Kept so that a check or waiver naming
    such an id gets pointed at the right rows rather than a bare "unknown id".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    see: tuple[str, ...] = ()


class Catalog(BaseModel):
    """All requirement rows, with lookups by id, by component type and by system basis."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    frs: tuple[Foundational, ...]
    placeholders: tuple[Placeholder, ...] = ()
    requirements: tuple[Requirement, ...]

    _by_id: dict[str, Requirement] = PrivateAttr(default_factory=dict)
    _placeholder_by_id: dict[str, Placeholder] = PrivateAttr(default_factory=dict)
    _rows_by_type: dict[str, tuple[Requirement, ...]] = PrivateAttr(default_factory=dict)  # sorted once per type

    @model_validator(mode="after")
    def _cross_check(self) -> Catalog:
        """Checks that need more than one row: uniqueness and references between rows."""
        if [fr.number for fr in self.frs] != list(range(1, 8)):
            raise ValueError("frs must list FR1..FR7 in order (the SL vector order)")
        by_id: dict[str, Requirement] = {}
        for req in self.requirements:
            if req.id in by_id:
                raise ValueError(f"duplicate requirement id {req.id!r}")
            by_id[req.id] = req
        for req in self.requirements:
            if req.parent is None:
                continue
            parent = by_id.get(req.parent)
            if parent is None:
                raise ValueError(f"{req.id}: parent {req.parent!r} is not in the catalog")
            if req.sl < parent.sl:
                raise ValueError(f"{req.id}: SL{req.sl} is below its parent {parent.id} (SL{parent.sl})")
        placeholders: dict[str, Placeholder] = {}
        for ph in self.placeholders:
            if normalize_id(ph.id) != ph.id or ph.id in by_id or ph.id in placeholders:
                raise ValueError(f"placeholder {ph.id!r}: not canonical, duplicated or also a requirement")
            missing = [target for target in ph.see if target not in by_id]
            if missing:
                raise ValueError(f"placeholder {ph.id}: 'see' names unknown ids {missing}")
            placeholders[ph.id] = ph
        self._by_id = by_id
        self._placeholder_by_id = placeholders
        return self

    def __contains__(self, req_id: object) -> bool:
        try:
            return normalize_id(req_id) in self._by_id  # type: ignore[arg-type]
        except ValueError:
            return False

    def get(self, req_id: str) -> Requirement:
        """Look up a requirement by any reasonable spelling of its id.

        Raises :class:`UnknownRequirement` with a hint: the rows to use for a type-specific
        or absent 4-2 CR, the existing REs of a base requirement, or the CR that covers a
        non-existent type-specific row.
        """
        try:
            key = normalize_id(req_id)
        except ValueError as exc:
            raise UnknownRequirement(str(req_id), str(exc)) from None
        try:
            return self._by_id[key]
        except KeyError:
            raise UnknownRequirement(key, self._explain_missing(key)) from None

    def _explain_missing(self, key: str) -> str:
        kind, fr, minor, enhancement = _parts(key)
        base = f"{kind} {fr}.{minor}"
        suffix = f" RE{enhancement}" if enhancement is not None else ""
        placeholder = self._placeholder_by_id.get(base)
        if placeholder is not None:
            if not placeholder.see:
                return (f"{key} is not a requirement: IEC 62443-4-2 has no component requirement for "
                        f"{placeholder.title.lower()} (the system requirement is SR {fr}.{minor})")
            targets = [t + suffix for t in placeholder.see if t + suffix in self._by_id] or list(placeholder.see)
            return f"{key} is type specific: use {' / '.join(targets)}"
        if enhancement is not None and base in self._by_id:
            siblings = [r.id.rsplit(" ", 1)[1] for r in self.requirements if r.parent == base]
            have = f"its enhancements are {', '.join(siblings)}" if siblings else "it has no enhancements"
            return f"unknown requirement {key!r}: {base} exists but {have}"
        if kind in TYPE_KIND.values() and f"CR {fr}.{minor}{suffix}" in self._by_id:
            return f"unknown requirement {key!r}: CR {fr}.{minor}{suffix} applies to all component types"
        cr_placeholder = self._placeholder_by_id.get(f"CR {fr}.{minor}")
        if kind in TYPE_KIND.values() and cr_placeholder is not None and cr_placeholder.see:
            return (f"unknown requirement {key!r}: CR {fr}.{minor} is type specific and only "
                    f"{' / '.join(cr_placeholder.see)} exist")
        return f"unknown requirement {key!r}"

    def for_component(self, component_type: ComponentType) -> list[Requirement]:
        """The 4-2 rows for one component type: every CR plus that type's SAR/EDR/HDR/NDR rows."""
        if component_type not in COMPONENT_TYPES:
            raise ValueError(f"unknown component type {component_type!r}; expected one of {list(COMPONENT_TYPES)}")
        if component_type not in self._rows_by_type:  # the catalog is frozen: every asset of a type asks again
            self._rows_by_type[component_type] = tuple(sorted(
                (r for r in self.requirements if r.standard == "4-2" and component_type in r.component_types),
                key=_order))
        return list(self._rows_by_type[component_type])

    def for_system(self) -> list[Requirement]:
        """The 3-3 SR/RE rows, used when scoring a zone or system rather than one component."""
        return sorted((r for r in self.requirements if r.standard == "3-3"), key=_order)

    def rows(self, basis: Basis, component_type: ComponentType | None = None) -> list[Requirement]:
        """Rows for a scoring basis: 4-2 for ``"component"`` (needs a type), 3-3 for ``"system"``."""
        if basis == "system":
            return self.for_system()
        if basis == "component":
            if component_type is None:
                raise ValueError("basis 'component' needs a component_type")
            return self.for_component(component_type)
        raise ValueError(f"unknown basis {basis!r}; expected 'component' or 'system'")

    def fr_name(self, number: int) -> str:
        """Full name of FR ``number`` (1..7), e.g. 3 -> "System integrity"."""
        for fr in self.frs:
            if fr.number == number:
                return fr.name
        raise ValueError(f"no foundational requirement FR{number}; expected 1..7")


def parse_catalog(data: object, source: str = "catalog") -> Catalog:
    """Validate already-parsed YAML; errors become one ValueError naming the offending ids."""
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_where(err['loc'], data)}: {err['msg'].removeprefix('Value error, ')}" for err in exc.errors()]
        raise ValueError(f"{source}: invalid requirement catalog\n  " + "\n  ".join(lines)) from exc


def _where(loc: tuple, data: object) -> str:
    """``('requirements', 4, 'sl')`` -> ``requirements[4] (SR 1.2 RE1).sl``."""
    out, node = "", data
    for item in loc:
        if isinstance(item, int):
            node = node[item] if isinstance(node, list) and item < len(node) else None
            out += f"[{item}]" + (f" ({node['id']})" if isinstance(node, dict) and "id" in node else "")
        else:
            node = node.get(item) if isinstance(node, dict) else None
            out += ("." if out else "") + str(item)
    return out or "catalog"


@functools.cache
def load_catalog() -> Catalog:
    """The catalog shipped in the package (``auditor/assessment/data/catalog.yaml``), parsed once per process.

    It is the package's own file, not a user's: libyaml's parser reads it (a tenth of the time of the strict
    pure-Python loader every user file goes through; a test holds the file to that loader's rules)."""
    resource = files("auditor.assessment") / "data" / "catalog.yaml"
    text = resource.read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", None)
    data = yaml.load(text, Loader=loader) if loader is not None else yaml_loads(text, str(resource))
    return parse_catalog(data, source=str(resource))
