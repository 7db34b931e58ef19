"""The questionnaire and coverage: every row of every component type is either judged by a check or asked."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor.assessment.attestations import load_answers
from auditor.assessment.catalog import COMPONENT_TYPES, load_catalog
from auditor.assessment.questionnaire import coverage_table, for_type, judged_rows, render_csv, render_yaml
from auditor.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("component_type", COMPONENT_TYPES)
@pytest.mark.parametrize("sl", [1, 2, 3, 4])
def test_questionnaire_and_checks_together_cover_every_applicable_row(component_type: str, sl: int) -> None:
    rows = [r.id for r in load_catalog().for_component(component_type) if r.sl <= sl]  # type: ignore[arg-type]
    asked = [q.requirement.id for q in for_type(component_type, sl)]
    judged = judged_rows(component_type)
    assert sorted(asked + [r for r in rows if r in judged]) == sorted(rows)
    assert not set(asked) & judged


def test_every_catalog_row_has_its_own_question() -> None:
    rows = load_catalog().requirements
    questions = [r.question for r in rows]
    assert len(set(questions)) == len(rows) == 222
    assert all(r.answer_evidence and not r.question.lower().startswith("is this requirement") for r in rows)


def test_system_basis_asks_the_3_3_rows() -> None:
    asked = for_type("host", 1, "system")
    assert asked and all(q.requirement.kind == "SR" for q in asked)


def test_yaml_questionnaire_is_a_loadable_answers_file_once_filled(tmp_path: Path) -> None:
    text = render_yaml(for_type("host", 2), "host up to SL 2")
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    book = load_answers(path, as_of=date(2026, 12, 1))
    assert not book.entries and book.unanswered == len(for_type("host", 2))
    data = yaml.safe_load(text)
    first = data["answers"][0]
    assert first["question"] == load_catalog().get(first["requirement"]).question and first["types"] == ["host"]
    first.update({"answer": "met", "evidence": [{"ref": "doc 1"}], "attested_by": "J. Doe", "date": "2026-11-30"})
    path.write_text(yaml.safe_dump(data))
    assert len(load_answers(path, as_of=date(2026, 12, 1)).entries) == 1


def test_csv_questionnaire_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(render_csv(for_type("network", 1)))
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert rows and rows[0]["types"] == "network" and rows[0]["question"]
    rows[0].update({"answer": "not_applicable", "justification": "no such interface", "attested_by": "A",
                    "date": "2026-11-30"})
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    book = load_answers(path, as_of=date(2026, 12, 1))
    assert [e.answer for _, e in book.entries] == ["not_applicable"] and book.unanswered == len(rows) - 1


def test_coverage_counts_add_up() -> None:
    table = coverage_table("host", 2)
    total = sum(r.total for r in table)
    assert total == len([r for r in load_catalog().for_component("host") if r.sl <= 2])
    assert all(len(r.automated) + len(r.person_only) == r.total for r in table)


def test_cli_questionnaire_attestations_check_and_coverage(tmp_path: Path) -> None:
    out = tmp_path / "q.csv"
    result = run("questionnaire", "--type", "embedded", "--sl", "2", "--out", str(out))
    assert result.exit_code == 0 and out.read_text().startswith("requirement,check,title")
    assert run("questionnaire", "--type", "host", "--out", str(out)).exit_code == 2  # --type needs --sl
    bad = tmp_path / "bad.yaml"
    bad.write_text("answers:\n  - {requirement: CR 1.4, answer: met, attested_by: A, date: 2026-11-30}\n")
    checked = run("attestations", "check", str(bad))
    assert checked.exit_code == 2 and "answers[0] (CR 1.4).evidence: required for 'met'" in checked.stderr
    good = tmp_path / "good.yaml"
    good.write_text("answers:\n  - {requirement: CR 1.4, answer: met, evidence: [doc], attested_by: A, "
                    "date: 2026-11-30}\n")
    assert run("attestations", "check", str(good), "--as-of", "2026-12-01").exit_code == 0
    data = json.loads(run("coverage", "--type", "host", "--sl", "2", "--json").output)
    assert data["host"]["frs"][0]["fr"] == "FR1" and "CR 1.2" in data["host"]["frs"][0]["person_only"]
