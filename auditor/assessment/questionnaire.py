"""The questionnaire: the requirement rows a person must answer, written as a fillable answers file.

Three ways to choose the rows:

* by component type and SL (``questionnaire --type host --sl 2``): every row up to that SL that no check of
  the type can judge (no check maps to it);
* by inventory (``--inventory plant.yaml``): the same per asset, from the checks its endpoints can feed,
  one entry per requirement naming the assets that need it;
* from a scan's result (``--result out/result.json``): exactly the rows the scan left open (including
  rows whose checks said ``manual``), per asset.

Coverage (``iacs-audit coverage``) counts, per type and FR, the rows a check can judge and the rows only a
person can.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from auditor.assessment.attestations import CSV_COLUMNS
from auditor.assessment.catalog import Requirement, load_catalog
from auditor.assessment.slvector import FRS
from auditor.registry import REGISTRY, Registry


@dataclass
class Question:
    """One requirement to answer, for the assets (or every asset of a type) it is open on."""

    requirement: Requirement
    assets: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)   # checks that said "manual" on it, if any


def judged_rows(component_type: str, registry: Registry = REGISTRY, protocols: set[str] | None = None) -> set[str]:
    """Row ids at least one check of this type maps to (only checks the given protocols can feed, if given)."""
    registry = registry.load()
    out: set[str] = set()
    for spec in registry.for_type(component_type):
        if protocols is not None and not {registry.facts[f].protocol for f in spec.facts} <= protocols:
            continue
        out.update(spec.requirements)
    return out


def rows_for(component_type: str, sl: int, basis: str = "component") -> list[Requirement]:
    return [r for r in load_catalog().rows(basis, component_type) if r.sl <= sl]  # type: ignore[arg-type]


def for_type(component_type: str, sl: int, basis: str = "component", registry: Registry = REGISTRY) -> list[Question]:
    judged = judged_rows(component_type, registry)
    return [Question(row, types=[component_type]) for row in rows_for(component_type, sl, basis) if row.id not in judged]


def for_inventory(inventory: Any, plans: Iterable[Any], registry: Registry = REGISTRY) -> list[Question]:
    """Per requirement, the assets whose selected checks (on their endpoints) cannot judge it, up to their SL-T."""
    questions: dict[str, Question] = {}
    order: list[str] = []
    for plan in plans:
        asset = plan.asset
        judged: set[str] = set()
        for spec in plan.profile.checks_for(asset, registry):
            judged.update(spec.requirements)
        for row in load_catalog().rows(plan.profile.basis, asset.type):
            if row.sl > plan.sl_target[f"FR{row.fr}"] or row.id in judged:
                continue
            if row.id not in questions:
                questions[row.id] = Question(row)
                order.append(row.id)
            questions[row.id].assets.append(asset.id)
    return _catalog_order([questions[i] for i in order])


def for_result(result: Any) -> list[Question]:
    """The rows a scan left open, per requirement with the assets they are open on."""
    catalog = load_catalog()
    questions: dict[str, Question] = {}
    for asset in result.assets:
        if asset.status != "assessed":
            continue
        manual = {c.check_id for c in asset.results if c.status == "manual"}
        for row in asset.requirements:
            if row.verdict != "open" or row.sl > asset.sl_target[row.fr]:
                continue
            question = questions.setdefault(row.id, Question(catalog.get(row.id)))
            question.assets.append(asset.id)
            question.checks.extend(c for c in row.checks if c in manual and c not in question.checks)
    return _catalog_order(list(questions.values()))


def _catalog_order(questions: list[Question]) -> list[Question]:
    position = {row.id: n for n, row in enumerate(load_catalog().requirements)}
    return sorted(questions, key=lambda q: position[q.requirement.id])


HEADER = """\
# IEC 62443 questionnaire: {what}
# Answer each entry: answer: met | not_met | not_applicable, with
#   evidence: a list of {{ref: DOCUMENT-ID}}, {{url: URL}} or {{file: PATH}} (its sha256 is recorded)  - required for met
#   justification: why                                                              - required for not_met / not_applicable
#   attested_by: who answers, date: YYYY-MM-DD, and optionally expires: YYYY-MM-DD
#   capability: true   makes the entry a vendor's capability claim (SL-C) instead of a site answer
# Entries left without an answer are skipped. Validate with: iacs-audit attestations check FILE
# Apply with: iacs-audit scan ... --attestations FILE (also rescore and report)
"""


def _entry(question: Question) -> dict[str, Any]:
    row = question.requirement
    entry: dict[str, Any] = {"requirement": row.id, "title": row.title, "fr": f"FR{row.fr}", "sl": row.sl,
                             "question": row.question, "evidence_wanted": row.answer_evidence}
    if question.checks:
        entry["evidence_wanted"] += f" (the checks {', '.join(question.checks)} asked for this by hand)"
    if question.assets:
        entry["assets"] = list(question.assets)
    elif question.types:
        entry["types"] = list(question.types)
    entry.update({"answer": None, "evidence": [], "justification": None, "attested_by": None, "date": None})
    return entry


def render_yaml(questions: list[Question], what: str) -> str:
    body = yaml.safe_dump({"answers": [_entry(q) for q in questions]}, sort_keys=False, width=110,
                          allow_unicode=True, default_flow_style=False)
    return HEADER.format(what=what) + f"# {len(questions)} requirements to answer\n" + body


def render_csv(questions: list[Question]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for question in questions:
        entry = _entry(question)
        writer.writerow({key: "; ".join(value) if isinstance(value, list) else ("" if value is None else value)
                         for key, value in entry.items() if key in CSV_COLUMNS})
    return out.getvalue()


@dataclass
class CoverageRow:
    fr: str
    total: int
    automated: list[str]
    person_only: list[str]


def coverage_table(component_type: str, sl: int, basis: str = "component",
                   registry: Registry = REGISTRY) -> list[CoverageRow]:
    """Per FR, the rows up to ``sl`` a check of the type can judge and those only a person can answer."""
    judged = judged_rows(component_type, registry)
    rows = rows_for(component_type, sl, basis)
    out = []
    for fr in FRS:
        fr_rows = [r.id for r in rows if f"FR{r.fr}" == fr]
        out.append(CoverageRow(fr=fr, total=len(fr_rows), automated=[r for r in fr_rows if r in judged],
                               person_only=[r for r in fr_rows if r not in judged]))
    return out
