"""The scoring model of the README, on hand-built requirement statuses."""

from __future__ import annotations

from auditor.catalog import load_catalog
from auditor.results import CheckResult
from auditor.scoring import achieved, coverage, requirement_results, requirement_status
from auditor.slvector import SLVector


def result(check_id: str, status: str, *requirements: str) -> CheckResult:
    return CheckResult(check_id=check_id, title=check_id, status=status, severity="medium",
                       requirements=list(requirements))


def test_requirement_status_rules() -> None:
    assert requirement_status([]) == "not_assessed"
    assert requirement_status(["pass", "fail"]) == "failed"
    assert requirement_status(["pass", "error"]) == "error"
    assert requirement_status(["pass", "manual", "not_applicable"]) == "passed"
    assert requirement_status(["manual"]) == "manual"
    assert requirement_status(["not_applicable"]) == "not_applicable"


def test_waived_never_counts_as_passed() -> None:
    rows = [load_catalog().get("CR 1.11")]
    reqs = requirement_results(rows, [result("a.b.c", "waived", "CR 1.11"), result("a.b.d", "pass", "CR 1.11")])
    assert reqs[0].status == "failed"


def _rows():
    return load_catalog().for_component("host")


def test_worked_example_fr1() -> None:
    """All FR1 rows up to SL 2 checked and passing, one SL 3 row failing: automated SL-A FR1 = 2."""
    rows = [r for r in _rows() if r.fr == 1]
    results = [result(f"x.fr1.r{i}", "pass", r.id) for i, r in enumerate(rows) if r.sl <= 2]
    sl3 = next(r for r in rows if r.sl == 3)
    results.append(result("x.fr1.sl3", "fail", sl3.id))
    reqs = requirement_results(rows, results)
    assert achieved(reqs, strict=False).FR1 == 2
    assert achieved(reqs, strict=True).FR1 == 2
    # remove one SL 1 check: automated ignores the unassessed row, strict does not
    sl1 = next(r for r in rows if r.sl == 1)
    partial = [r for r in results if r.requirements != [sl1.id]]
    reqs = requirement_results(rows, partial)
    assert achieved(reqs, strict=False).FR1 == 2
    assert achieved(reqs, strict=True).FR1 == 0


def test_no_evidence_never_scores() -> None:
    reqs = requirement_results(_rows(), [])
    assert achieved(reqs, strict=False) == SLVector.uniform(0)
    assert achieved(reqs, strict=True) == SLVector.uniform(0)
    cov = coverage(reqs, SLVector.uniform(2))
    assert cov.assessed == 0 and cov.ratio == 0.0 and cov.applicable > 0


def test_error_is_unmet_and_not_applicable_is_left_out() -> None:
    rows = [r for r in _rows() if r.fr == 7 and r.sl == 1]
    results = [result("x.fr7.a", "pass", rows[0].id), result("x.fr7.b", "error", rows[1].id)]
    results += [result(f"x.fr7.n{i}", "not_applicable", r.id) for i, r in enumerate(rows[2:])]
    reqs = requirement_results(rows, results)
    assert achieved(reqs, strict=False).FR7 == 0
    results[1] = result("x.fr7.b", "pass", rows[1].id)
    reqs = requirement_results(rows, results)
    assert achieved(reqs, strict=False).FR7 == 4  # only SL1 rows exist in this reduced set
    assert achieved(reqs, strict=True).FR7 == 4


def test_coverage_counts_rows_up_to_target() -> None:
    rows = [r for r in _rows() if r.fr == 2]
    first = rows[0]
    reqs = requirement_results(rows, [result("x.fr2.a", "pass", first.id)])
    cov = coverage(reqs, SLVector.model_validate({"FR2": 1}))
    applicable = [r for r in rows if r.sl <= 1]
    assert cov.applicable == len(applicable) and cov.assessed == 1
    assert cov.by_fr["FR2"] == round(1 / len(applicable), 3) and cov.by_fr["FR1"] == 1.0


def test_level_without_evidence_is_never_claimed() -> None:
    rows = [r for r in _rows() if r.fr == 2]
    results = [result(f"x.fr2.{i}", "pass", r.id) for i, r in enumerate(rows) if r.sl == 1]
    reqs = requirement_results(rows, results)
    assert achieved(reqs, strict=False).FR2 == 1


def test_errors_are_not_coverage() -> None:
    rows = [r for r in _rows() if r.fr == 3 and r.sl == 1]
    reqs = requirement_results(rows, [result("x.fr3.a", "error", rows[0].id)])
    assert coverage(reqs, SLVector.uniform(1)).assessed == 0
    assert achieved(reqs, strict=False).FR3 == 0


def test_readme_worked_example() -> None:
    """README, "Scoring model": FR7 of a host at SL-T 2."""
    rows = [r for r in _rows() if r.fr == 7]
    results = [result("linux.services.listening-allow-list", "pass", "CR 7.7"),
               result("linux.sshd.forwarding", "pass", "CR 7.7"),
               result("linux.sshd.login-grace-time", "pass", "CR 7.1"),
               result("linux.backup.configured", "manual", "CR 7.3"),
               result("linux.inventory.packages", "pass", "CR 7.8")]
    reqs = requirement_results(rows, results)
    target = SLVector.uniform(2)
    assert achieved(reqs, strict=False).FR7 == 2
    assert achieved(reqs, strict=True).FR7 == 0
    cov = coverage(reqs, target)
    assert (cov.assessed, cov.applicable) == (3, 9)
    results[2] = result("linux.sshd.login-grace-time", "fail", "CR 7.1")
    reqs = requirement_results(rows, results)
    assert achieved(reqs, strict=False).FR7 == 0 and achieved(reqs, strict=True).FR7 == 0


def test_gaps_name_what_blocks_the_target() -> None:
    from auditor.scoring import gaps

    rows = [r for r in _rows() if r.fr == 4]
    results = [result(f"x.fr4.{i}", "pass", r.id) for i, r in enumerate(rows) if r.sl == 1]
    reqs = requirement_results(rows, results)
    level = achieved(reqs, strict=False)
    assert level.FR4 == 1
    found = gaps(reqs, level, SLVector.model_validate({"FR4": 2}))
    assert [g.fr for g in found] == ["FR4"]
    assert found[0].blocking == ["CR 4.2 (not assessed)"] and "no requirement introduced at SL 2" in found[0].reason
    results[0] = result("x.fr4.0", "fail", results[0].requirements[0])
    reqs = requirement_results(rows, results)
    found = gaps(reqs, achieved(reqs, strict=False), SLVector.model_validate({"FR4": 2}))
    assert found[0].blocking == [f"{results[0].requirements[0]} (failed)"]
