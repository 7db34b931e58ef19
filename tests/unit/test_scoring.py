"""The scoring model of the README: device evidence, answers and what is still open, on hand-built rows."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.assessment.catalog import load_catalog
from auditor.assessment.scoring import (achieved, apply_answers, coverage, gaps, requirement_results,
                                        requirement_status, technical_view, verdict_fields, verdict_for)
from auditor.assessment.slvector import SLVector
from auditor.results import AnswerRef, CheckResult, EvidenceRef, LevelEvaluation

DAY = date(2026, 11, 30)


def result(check_id: str, status: str, *requirements: str, proves: bool = False) -> CheckResult:
    return CheckResult(check_id=check_id, title=check_id, status=status, severity="medium",
                       requirements=list(requirements), proves_not_applicable=proves)


def answer(value: str = "met", state: str = "counted", entry: str = "answers[0]") -> AnswerRef:
    return AnswerRef(entry=entry, answer=value, state=state, attested_by="J. Doe, OT security lead", date=DAY,
                     evidence=[EvidenceRef(ref="procedure P-12 rev 3")],
                     justification=None if value == "met" else "see procedure")


def _rows(fr: int | None = None):
    return [r for r in load_catalog().for_component("host") if fr is None or r.fr == fr]


def test_requirement_status_rules() -> None:
    assert requirement_status([]) == "not_assessed"
    assert requirement_status(["pass", "fail"]) == "failed"
    assert requirement_status(["pass", "waived"]) == "failed"
    assert requirement_status(["pass", "error"]) == "error"
    assert requirement_status(["pass", "manual", "not_applicable"]) == "manual"  # the manual part is still open
    assert requirement_status(["pass", "not_applicable"]) == "passed"
    assert requirement_status(["manual"]) == "manual"
    # a check's own not_applicable removes the check, not the requirement
    assert requirement_status(["not_applicable"]) == "not_assessed"
    assert requirement_status(["not_applicable"], proven_not_applicable=True) == "not_applicable"


@pytest.mark.parametrize("status, given, verdict, source, state", [
    ("failed", answer("met"), "unmet", "evidence", "overruled"),         # 1. evidence failed: answers change nothing
    ("error", answer("not_applicable"), "unmet", "evidence", "overruled"),
    ("passed", answer("not_met"), "unmet", "answer", "counted"),          # 2. a person says it is not met
    ("passed", answer("met"), "met", "evidence", "confirmed"),            # 3. evidence met it; shown with both
    ("passed", None, "met", "evidence", None),
    ("manual", answer("met"), "met", "answer", "counted"),                # 4. the manual part answered
    ("not_assessed", answer("met"), "met", "answer", "counted"),
    ("not_assessed", answer("not_applicable"), "not_applicable", "answer", "counted"),
    ("not_applicable", None, "not_applicable", "evidence", None),         # 5. a check proved it cannot apply
    ("manual", None, "open", "none", None),                               # 6. nobody judged it
    ("not_assessed", None, "open", "none", None),
    ("not_assessed", answer("met", state="expired"), "open", "none", "expired"),
])
def test_row_verdict_rules(status, given, verdict, source, state) -> None:
    got, got_source, ref = verdict_for(status, given)
    assert (got, got_source) == (verdict, source)
    assert (ref.state if ref else None) == state


def test_check_not_applicable_leaves_the_row_open_unless_it_proves_it() -> None:
    rows = [load_catalog().get("NDR 1.6")]
    plain = apply_answers(requirement_results(rows, [result("snmp.x", "not_applicable", "NDR 1.6")]), {})
    assert plain[0].verdict == "open"
    proven = apply_answers(requirement_results(rows, [result("snmp.x", "not_applicable", "NDR 1.6", proves=True)]), {})
    assert (proven[0].status, proven[0].verdict, proven[0].source) == ("not_applicable", "not_applicable", "evidence")


def test_no_evidence_and_no_answers_never_scores() -> None:
    reqs = apply_answers(requirement_results(_rows(), []), {})
    assert achieved(reqs) == SLVector.uniform(0)
    cov = coverage(reqs, SLVector.uniform(2))
    assert cov.assessed == 0 and cov.ratio == 0.0 and cov.applicable > 0
    view = technical_view(reqs, SLVector.uniform(2))
    assert view.judged == 0 and not view.unmet and len(view.open) == cov.applicable


def test_every_check_passing_is_not_enough_without_answers() -> None:
    """The ews-01 case: every check passes, yet rows no check judges keep SL-A at 0 until answered."""
    rows = _rows()
    reqs = apply_answers(requirement_results(rows, [result("x.fr1", "pass", "CR 1.1"),
                                                    result("x.fr1b", "pass", "CR 1.11")]), {})
    assert achieved(reqs).FR1 == 0
    assert achieved(reqs, source="evidence").FR1 == 0
    view = technical_view(reqs, SLVector.uniform(2))
    assert not view.unmet and "CR 1.2" in view.open and "CR 1.4" in view.open
    # answer every open row: FR1 reaches SL-T, and no further (levels above 2 were not evaluated)
    answered = apply_answers(requirement_results(rows, [result("x.fr1", "pass", "CR 1.1"),
                                                        result("x.fr1b", "pass", "CR 1.11")]),
                             {r.id: answer() for r in rows})
    assert achieved(answered, applied_sl=2).FR1 == 2


def test_answer_on_a_failing_row_changes_nothing() -> None:
    rows = _rows(1)
    everything = {r.id: answer() for r in rows}
    passing = apply_answers(requirement_results(rows, [result("x.pw", "pass", "CR 1.7")]), everything)
    failing = apply_answers(requirement_results(rows, [result("x.pw", "fail", "CR 1.7")]), everything)
    assert achieved(passing, applied_sl=4).FR1 == 4
    assert achieved(failing, applied_sl=4).FR1 == 0
    row = next(r for r in failing if r.id == "CR 1.7")
    assert (row.verdict, row.source, row.answer.state) == ("unmet", "evidence", "overruled")


def test_pass_and_manual_on_one_row_is_not_met_until_answered() -> None:
    rows = [r for r in _rows(7) if r.sl == 1]
    base = [result(f"x.{i}", "pass", r.id) for i, r in enumerate(rows) if r.id != "CR 7.3"]
    base += [result("x.backup.a", "pass", "CR 7.3"), result("x.backup.b", "manual", "CR 7.3")]
    reqs = apply_answers(requirement_results(rows, base), {})
    assert next(r for r in reqs if r.id == "CR 7.3").verdict == "open" and achieved(reqs).FR7 == 0
    reqs = apply_answers(requirement_results(rows, base), {"CR 7.3": answer()})
    assert next(r for r in reqs if r.id == "CR 7.3").verdict == "met" and achieved(reqs).FR7 == 4


def test_levels_above_the_applied_parameters() -> None:
    """SL 3 is claimed only on SL 3 parameters: not evaluated -> capped; evaluated and failing -> not claimed."""
    rows = _rows(1)
    everything = {r.id: answer() for r in rows}
    reqs = apply_answers(requirement_results(rows, [result("x.pw", "pass", "CR 1.7")]), everything)
    assert achieved(reqs, applied_sl=2, levels=[]).FR1 == 2
    assert achieved(reqs, applied_sl=2, levels=[LevelEvaluation(sl=3, profile=None)]).FR1 == 2
    clean = [LevelEvaluation(sl=3, profile="host-sl3"), LevelEvaluation(sl=4, profile="host-sl4")]
    assert achieved(reqs, applied_sl=2, levels=clean).FR1 == 4
    stricter = [LevelEvaluation(sl=3, profile="host-sl3", changed={"CR 1.7": "failed"}),
                LevelEvaluation(sl=4, profile="host-sl4", changed={"CR 1.7": "failed"})]
    assert achieved(reqs, applied_sl=2, levels=stricter).FR1 == 2
    found = gaps(reqs, achieved(reqs, applied_sl=2, levels=stricter), SLVector.uniform(3), applied_sl=2,
                 levels=stricter)
    assert [g.fr for g in found] == ["FR1"] and found[0].blocking == ["CR 1.7 (failed at this level's parameters)"]


def test_readme_worked_example() -> None:
    """README, "Scoring model": FR7 of a host at SL-T 2."""
    rows = _rows(7)
    results = [result("linux.services.listening-allow-list", "pass", "CR 7.7"),
               result("linux.sshd.forwarding", "pass", "CR 7.7"),
               result("linux.sshd.login-grace-time", "pass", "CR 7.1"),
               result("linux.backup.configured", "manual", "CR 7.3"),
               result("linux.inventory.packages", "pass", "CR 7.8")]
    answers = {"CR 7.3": answer(), "CR 7.2": answer(), "CR 7.4": answer(), "CR 7.6": answer(),
               "CR 7.3 RE1": answer("not_met")}
    target = SLVector.uniform(2)
    reqs = apply_answers(requirement_results(rows, results), answers)
    by_id = {r.id: r for r in reqs}
    assert [(by_id[i].verdict, by_id[i].source) for i in ("CR 7.7", "CR 7.3", "CR 7.1 RE1", "CR 7.3 RE1")] == [
        ("met", "evidence"), ("met", "answer"), ("open", "none"), ("unmet", "answer")]
    fields = verdict_fields(reqs, target, applied_sl=2, levels=[], assessed=True)
    assert fields["sl_achieved"].FR7 == 1 and fields["sl_achieved_strict"].FR7 == 0 and not fields["meets_target"]
    assert (fields["coverage"].assessed, fields["coverage"].applicable) == (3, 9)
    assert fields["technical"].unmet == [] and fields["technical"].open == ["CR 7.1 RE1"]
    gap = next(g for g in fields["gaps"] if g.fr == "FR7")
    assert gap.blocking == ["CR 7.1 RE1 (open: needs an answer)", "CR 7.3 RE1 (answered not met)"]
    # answer CR 7.1 RE1 and verify the backups: FR7 reaches its target of 2 (SL 3 would need host-sl3's verdicts)
    answers.update({"CR 7.1 RE1": answer(), "CR 7.3 RE1": answer()})
    reqs = apply_answers(requirement_results(rows, results), answers)
    assert achieved(reqs, applied_sl=2).FR7 == 2
    # had the login grace time failed, CR 7.1 would be unmet whatever was answered
    results[2] = result("linux.sshd.login-grace-time", "fail", "CR 7.1")
    reqs = apply_answers(requirement_results(rows, results), {**answers, "CR 7.1": answer()})
    assert achieved(reqs, applied_sl=2).FR7 == 0


def test_capability_claims_give_sl_c_and_never_sl_a() -> None:
    rows = _rows(1)
    claims = {r.id: answer(entry="claims[0]") for r in rows}
    reqs = apply_answers(requirement_results(rows, [result("x.pw", "pass", "CR 1.7")]), {}, claims)
    assert achieved(reqs, applied_sl=4).FR1 == 0
    assert achieved(reqs, applied_sl=4, source="claims").FR1 == 4
    failing = apply_answers(requirement_results(rows, [result("x.pw", "fail", "CR 1.7")]), {}, claims)
    assert achieved(failing, applied_sl=4, source="claims").FR1 == 0  # device evidence against the claim wins


def test_errors_are_unmet_and_not_coverage() -> None:
    rows = [r for r in _rows(3) if r.sl == 1]
    reqs = apply_answers(requirement_results(rows, [result("x.fr3.a", "error", rows[0].id)]),
                         {r.id: answer() for r in rows})
    assert coverage(reqs, SLVector.uniform(1)).assessed == 0
    assert achieved(reqs).FR3 == 0
    assert technical_view(reqs, SLVector.uniform(1)).unmet == [rows[0].id]


def test_answered_not_applicable_leaves_coverage() -> None:
    rows = [r for r in _rows(2) if r.sl == 1]
    reqs = apply_answers(requirement_results(rows, [result("x.fr2.a", "pass", rows[0].id)]),
                         {rows[1].id: answer("not_applicable")})
    cov = coverage(reqs, SLVector.model_validate({"FR2": 1}))
    assert cov.applicable == len(rows) - 1 and cov.assessed == 1
