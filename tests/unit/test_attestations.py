"""Answers files (attestations): validation like inventories, matching to assets' rows, file evidence hashes."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
import yaml

from auditor.assessment.attestations import load_answers, outcomes, rejudge_result
from auditor.assessment.catalog import load_catalog
from auditor.assessment.evaluate import evaluate_asset
from auditor.assessment.profiles import load_profile
from auditor.assessment.slvector import SLVector
from auditor.errors import ConfigError
from auditor.evidence import AssetEvidence
from auditor.plant.inventory import Asset
from auditor.results import ScanResult, Summary

TODAY = date(2026, 12, 1)
GOOD = {"requirement": "CR 1.4", "answer": "met", "evidence": [{"ref": "IAM-04 rev 2"}],
        "attested_by": "J. Doe", "date": "2026-11-30"}


def write(tmp_path: Path, entries: list[dict], name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"answers": entries}, sort_keys=False))
    return path


def problems(tmp_path: Path, entries: list[dict], **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_answers(write(tmp_path, entries), as_of=TODAY, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("change, message", [
    ({"requirement": "CR 99.1"}, "answers[0] (CR 99.1).requirement: unknown requirement"),
    ({"requirement": "CR 2.3"}, "no component requirement"),
    ({"requirement": "XR 1.*"}, "matches no requirement"),
    ({"requirement": None, "check": "linux.nope.*"}, ".check: matches no known check"),
    ({"check": "linux.backup.configured"}, "give either 'requirement'"),
    ({"evidence": []}, ".evidence: required for 'met'"),
    ({"answer": "not_applicable"}, ".justification: required for 'not_applicable'"),
    ({"answer": "not_met"}, ".justification: required for 'not_met'"),
    ({"answer": "maybe"}, ".answer: Input should be 'met', 'not_met' or 'not_applicable'"),
    ({"attested_by": " "}, ".attested_by: required"),
    ({"date": None}, ".date: required"),
    ({"date": "2027-01-01"}, "is in the future"),
    ({"expires": "2026-01-01"}, "is before the answer's date"),
    ({"types": ["plc"]}, "'plc' is not a component type"),
    ({"evidence": [{"ref": "a", "url": "https://x.invalid"}]}, "exactly one of ref"),
    ({"evidence": [{"file": "missing.pdf"}]}, "file 'missing.pdf' cannot be read"),
    ({"colour": "red"}, ".colour: unknown field"),
])
def test_invalid_entries_name_file_entry_and_reason(tmp_path: Path, change: dict, message: str) -> None:
    entry = {**GOOD, **change}
    text = problems(tmp_path, [{k: v for k, v in entry.items() if v is not None or k == "date"}])
    assert str(tmp_path / "answers.yaml") in text and message in text, text


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = problems(tmp_path, [{**GOOD, "requirement": "CR 99.1"}, {**GOOD, "evidence": []}])
    assert "answers[0]" in text and "answers[1]" in text


def test_expired_entry_is_an_error_for_check_and_a_warning_for_a_scan(tmp_path: Path) -> None:
    entries = [{**GOOD, "date": "2025-01-01", "expires": "2025-12-31"}]
    assert "expired on 2025-12-31" in problems(tmp_path, entries, expired_is_error=True)
    book = load_answers(write(tmp_path, entries), as_of=TODAY)
    assert book.expired == ["answers[0] (CR 1.4)"]
    # the expiry day itself still counts
    assert not load_answers(write(tmp_path, entries), as_of=date(2025, 12, 31)).expired


def test_unanswered_questionnaire_entries_are_skipped(tmp_path: Path) -> None:
    book = load_answers(write(tmp_path, [GOOD, {"requirement": "CR 1.2", "question": "q?", "answer": None,
                                                "evidence": [], "attested_by": None, "date": None}]), as_of=TODAY)
    assert len(book.entries) == 1 and book.unanswered == 1


def test_file_evidence_is_hashed_and_a_changed_file_refused(tmp_path: Path) -> None:
    (tmp_path / "review.pdf").write_bytes(b"%PDF account review")
    digest = hashlib.sha256(b"%PDF account review").hexdigest()
    book = load_answers(write(tmp_path, [{**GOOD, "evidence": [{"file": "review.pdf"}]}]), as_of=TODAY)
    assert book.hashes == {"review.pdf": digest}
    pinned = [{**GOOD, "evidence": [{"file": "review.pdf", "sha256": digest}]}]
    assert load_answers(write(tmp_path, pinned), as_of=TODAY).hashes["review.pdf"] == digest
    (tmp_path / "review.pdf").write_bytes(b"%PDF edited later")
    assert "has changed since it was attested" in problems(tmp_path, pinned)


def test_string_evidence_shorthand(tmp_path: Path) -> None:
    book = load_answers(write(tmp_path, [{**GOOD, "evidence": ["IAM-04", "https://wiki.invalid/iam"]}]), as_of=TODAY)
    evidence = book.entries[0][1].evidence
    assert (evidence[0].ref, evidence[1].url) == ("IAM-04", "https://wiki.invalid/iam")


def _rows(component_type: str = "host"):
    return load_catalog().for_component(component_type)


def test_matching_narrows_by_asset_zone_and_type_and_the_most_specific_wins(tmp_path: Path) -> None:
    entries = [
        {**GOOD, "requirement": "CR 1.*", "justification": "site-wide", "answer": "not_met"},
        {**GOOD, "requirement": "CR 1.4", "types": ["host"]},
        {**GOOD, "requirement": "CR 1.4", "zones": ["control"], "answer": "not_applicable", "justification": "z"},
        {**GOOD, "requirement": "CR 1.4", "assets": ["ews-*"], "zones": ["dmz"]},  # both must match: never here
        {**GOOD, "requirement": None, "check": "linux.backup.configured"},
    ]
    book = load_answers(write(tmp_path, entries), as_of=TODAY)
    ews = book.match("ews-01", "control", "host", _rows(), TODAY)
    assert ews["CR 1.4"].entry == "answers[2] (CR 1.4)" and ews["CR 1.4"].answer == "not_applicable"
    assert ews["CR 1.3"].answer == "not_met"  # only the glob matches CR 1.3
    assert ews["CR 7.3"].entry.startswith("answers[4]")  # a check id answers the rows it maps to
    plc = book.match("plc-01", "field", "embedded", _rows("embedded"), TODAY)
    assert plc["CR 1.4"].entry.startswith("answers[0]")  # not a host, not in control: the glob
    assert book.match("x", None, "host", _rows(), TODAY)["CR 1.4"].entry.startswith("answers[1]")


def test_a_current_answer_beats_an_expired_more_specific_one(tmp_path: Path) -> None:
    entries = [{**GOOD, "types": ["host"]},
               {**GOOD, "assets": ["ews-01"], "date": "2024-01-01", "expires": "2025-01-01"}]
    book = load_answers(write(tmp_path, entries), as_of=TODAY)
    assert book.match("ews-01", None, "host", _rows(), TODAY)["CR 1.4"].state == "counted"
    only_expired = load_answers(write(tmp_path, entries[1:]), as_of=TODAY)
    assert only_expired.match("ews-01", None, "host", _rows(), TODAY)["CR 1.4"].state == "expired"


def test_capability_claims_are_kept_apart_from_site_answers(tmp_path: Path) -> None:
    book = load_answers(write(tmp_path, [{**GOOD, "capability": True}]), as_of=TODAY)
    assert book.match("a", None, "host", _rows(), TODAY) == {}
    assert book.match("a", None, "host", _rows(), TODAY, capability=True)["CR 1.4"].answer == "met"


def test_csv_form_round_trips_the_questionnaire_columns(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("requirement,check,title,fr,sl,question,evidence_wanted,assets,zones,types,capability,answer,"
                    "evidence,justification,attested_by,date,expires\n"
                    "CR 1.4,,Identifier management,FR1,1,Q?,E,ews-01; hmi-01,,,,met,IAM-04; file:r.txt,,J. Doe,"
                    "2026-11-30,\n"
                    "CR 1.2,,t,FR1,2,Q?,E,,,host,,,,,,,\n", encoding="utf-8")
    (tmp_path / "r.txt").write_text("record")
    book = load_answers(path, as_of=TODAY)
    (label, entry), = book.entries
    assert label == "row 2 (CR 1.4)" and entry.assets == ["ews-01", "hmi-01"]
    assert [e.ref or e.file for e in entry.evidence] == ["IAM-04", "r.txt"] and "r.txt" in book.hashes
    assert book.unanswered == 1
    path.write_text("requirement,answer\nCR 1.4,met\n")
    with pytest.raises(ConfigError, match="missing column"):
        load_answers(path, as_of=TODAY)


def _host(asset_id: str = "ews-01") -> Asset:
    return Asset.model_validate({"id": asset_id, "type": "host", "zone": "control", "address": "127.0.0.1",
                                 "endpoints": [{"protocol": "ssh", "username": "auditor"}]})


def test_answers_decide_only_what_evidence_left_open_and_outcomes_say_what_each_did(tmp_path: Path) -> None:
    """An unreachable asset: every check errs, so every checked row is unmet whatever is answered."""
    entries = [{**GOOD, "requirement": "CR 1.*", "types": ["host"]}]
    book = load_answers(write(tmp_path, entries), as_of=TODAY)
    evidence = AssetEvidence(asset="ews-01", status="error", error="connection refused")
    result = evaluate_asset(_host(), evidence, load_profile("host-sl2"), SLVector.uniform(2), answers=book,
                            as_of=TODAY)
    rows = {r.id: r for r in result.requirements}
    assert rows["CR 1.1"].verdict == "unmet" and rows["CR 1.1"].answer.state == "overruled"
    assert rows["CR 1.4"].verdict == "met" and rows["CR 1.4"].source == "answer"
    (outcome,) = outcomes(book, [result], TODAY)
    assert "ews-01/CR 1.4" in outcome.counted and "ews-01/CR 1.1" in outcome.overruled
    assert not result.meets_target


def test_report_can_rejudge_a_saved_result_with_other_answers(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    evidence = AssetEvidence(asset="ews-01", status="error", error="refused")
    asset = evaluate_asset(_host(), evidence, load_profile("host-sl2"), SLVector.uniform(2))
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    saved = ScanResult(tool={"name": "t", "version": "0"}, site="s", started_at=now, finished_at=now,
                       profile="sl2", summary=Summary(assets=1, assessed=0, errors=1, meeting_target=0,
                                                      checks_by_status={}), assets=[asset])
    book = load_answers(write(tmp_path, [{**GOOD, "types": ["host"]}]), as_of=TODAY)
    again = rejudge_result(saved, book, TODAY)
    row = next(r for r in again.assets[0].requirements if r.id == "CR 1.4")
    assert row.verdict == "met" and row.answer.attested_by == "J. Doe"
    assert again.attestations_source == book.source and again.attestations[0].counted == ["ews-01/CR 1.4"]


def test_the_demo_plant_answers_file_is_valid() -> None:
    from importlib.resources import files

    path = Path(str(files("simulators") / "demo_answers.yaml"))
    book = load_answers(path, as_of=TODAY)
    assert len(book.entries) > 100 and len(book.expired) == 1 and book.expired[0].endswith("(CR 7.3 RE1)")
    assert any(entry.capability for _, entry in book.entries)
