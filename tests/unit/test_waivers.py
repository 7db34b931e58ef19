"""Waivers: validation, waived never passed, SL-A with and without countermeasures, expiry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.assessment.catalog import load_catalog
from auditor.assessment.scoring import apply_answers, requirement_results, verdict_fields
from auditor.assessment.slvector import SLVector
from auditor.assessment.waivers import Waiver, WaiverSet, load_waivers
from auditor.errors import ConfigError
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from auditor.results import AnswerRef, AssetResult, CheckResult, EvidenceRef

FAILING = "linux.sshd.permit-root-login"
TODAY = date(2025, 6, 1)


def _asset(asset_id: str = "hmi-01", zone: str | None = "control") -> Asset:
    return Asset.model_validate({"id": asset_id, "type": "host", "zone": zone, "address": "10.0.0.1",
                                 "endpoints": [{"protocol": "ssh", "username": "u"}]})


def _result(statuses: dict[str, str], asset: Asset | None = None, target: int = 2) -> AssetResult:
    """Every host check passes except those in ``statuses``; requirements and SL-A from the real catalog."""
    asset = asset or _asset()
    registry = REGISTRY.load()
    results = [CheckResult(check_id=spec.id, title=spec.title, status=statuses.get(spec.id, "pass"),  # type: ignore[arg-type]
                           severity=spec.severity, requirements=list(spec.requirements))
               for spec in registry.for_type("host")]
    rows = load_catalog().rows("component", "host")
    # every row answered met, so device evidence alone decides where a check judges the row
    answers = {row.id: AnswerRef(entry="answers[0]", answer="met", state="counted", attested_by="J. Doe", date=TODAY,
                                 evidence=[EvidenceRef(ref="site hardening standard HS-1")]) for row in rows}
    requirements = apply_answers(requirement_results(rows, results), answers)
    sl_target = SLVector.uniform(target)
    return AssetResult(id=asset.id, type="host", zone=asset.zone, address=asset.address, profile="host-sl2",
                       status="assessed", sl_target=sl_target, applied_sl=target, results=results,
                       **verdict_fields(requirements, sl_target, applied_sl=target, levels=[], assessed=True))


def _waiver(**fields) -> Waiver:
    base = {"id": "W1", "check": FAILING, "assets": ["hmi-01"], "justification": "legacy vendor tool logs in as root",
            "approver": "J. Smith", "compensating_countermeasure": "root login only from the jump host (firewall)"}
    base.update(fields)
    return Waiver.model_validate(base)


def _by_id(result: AssetResult) -> dict[str, CheckResult]:
    return {r.check_id: r for r in result.results}


def test_waived_is_never_passed_and_sl_a_is_given_with_and_without_countermeasures() -> None:
    clean = _result({})
    failing = _result({FAILING: "fail"})
    fr = next(r.fr for r in failing.requirements if FAILING in r.checks and r.status == "failed")
    assert failing.sl_achieved[fr] < clean.sl_achieved[fr]

    waivers = WaiverSet([_waiver(expires=date(2025, 12, 31))])
    waived = waivers.apply(failing, _asset(), TODAY)
    check = _by_id(waived)[FAILING]
    assert check.status == "waived" and check.waiver.state == "applied" and check.waiver.id == "W1"
    # the requirement still counts as unmet: SL-A without countermeasures is unchanged
    assert waived.sl_achieved == failing.sl_achieved and not any(
        r.status == "passed" for r in waived.requirements if FAILING in r.checks and len(r.checks) == 1)
    assert waived.sl_achieved_with_countermeasures == clean.sl_achieved
    assert waived.meets_target_with_countermeasures == clean.sl_achieved.meets(clean.sl_target)
    outcome = waivers.outcomes(TODAY)[0]
    assert outcome.state == "active" and outcome.applied_to == [f"hmi-01/{FAILING}"]


def test_waiver_without_countermeasure_is_bare_risk_acceptance() -> None:
    waived = WaiverSet([_waiver(compensating_countermeasure=None)]).apply(_result({FAILING: "fail"}), _asset(), TODAY)
    assert _by_id(waived)[FAILING].status == "waived"
    assert waived.sl_achieved_with_countermeasures is None  # nothing compensates: no second SL-A


def test_expired_waiver_no_longer_applies_and_is_reported() -> None:
    waivers = WaiverSet([_waiver(expires=date(2025, 5, 31))])
    result = waivers.apply(_result({FAILING: "fail"}), _asset(), TODAY)
    check = _by_id(result)[FAILING]
    assert check.status == "fail" and check.waiver.state == "expired"
    assert result.sl_achieved_with_countermeasures is None
    outcome = waivers.outcomes(TODAY)[0]
    assert outcome.state == "expired" and outcome.lapsed == [f"hmi-01/{FAILING}"] and not outcome.applied_to
    # the expiry date itself is still covered (inclusive)
    assert _by_id(WaiverSet([_waiver(expires=TODAY)]).apply(_result({FAILING: "fail"}), _asset(), TODAY))[FAILING].status == "waived"


def test_waiver_without_expiry_applies_and_passes_are_untouched() -> None:
    waivers = WaiverSet([_waiver(check="linux.sshd.*")])
    result = waivers.apply(_result({FAILING: "fail"}), _asset(), TODAY)
    statuses = {r.check_id: r.status for r in result.results if r.check_id.startswith("linux.sshd.")}
    assert statuses[FAILING] == "waived" and all(s == "pass" for c, s in statuses.items() if c != FAILING)
    outcome = waivers.outcomes(date(2099, 1, 1))[0]
    assert outcome.state == "active" and outcome.not_needed  # matched passing checks are listed, not waived


def test_selectors_zone_requirement_and_other_assets() -> None:
    failing = _result({FAILING: "fail"}, _asset("ews-01", "dmz"))
    requirement = next(r for r in REGISTRY.load().checks[FAILING].requirements)
    by_zone = WaiverSet([_waiver(check=None, requirement=requirement, assets=[], zones=["dmz"])])
    assert _by_id(by_zone.apply(failing, _asset("ews-01", "dmz"), TODAY))[FAILING].status == "waived"
    other_zone = WaiverSet([_waiver(assets=[], zones=["control"])])
    assert _by_id(other_zone.apply(failing, _asset("ews-01", "dmz"), TODAY))[FAILING].status == "fail"
    both = WaiverSet([_waiver(requirement="SR 7.7")])  # check matches, requirement does not: no waiver
    assert _by_id(both.apply(_result({FAILING: "fail"}), _asset(), TODAY))[FAILING].status == "fail"


def test_only_failures_are_waived() -> None:
    result = WaiverSet([_waiver()]).apply(_result({FAILING: "error"}), _asset(), TODAY)
    assert _by_id(result)[FAILING].status == "error"  # an unreadable setting is a collection problem, not a risk


@pytest.mark.parametrize("body, message", [
    ("waivers:\n  - {check: linux.sshd.permit-root-login, assets: [a], approver: x}\n", "justification"),
    ("waivers:\n  - {check: linux.sshd.permit-root-login, justification: j, approver: x}\n", "assets"),
    ("waivers:\n  - {assets: [a], justification: j, approver: x}\n", "check"),
    ("waivers:\n  - {check: no.such.check, assets: [a], justification: j, approver: x}\n", "matches no known check"),
    ("waivers:\n  - {requirement: CR 99.1, assets: [a], justification: j, approver: x}\n", "requirement"),
    ("waivers:\n  - {check: linux.*, assets: [a], justification: j, approver: x, expires: 31.12.2025}\n", "expires"),
    ("waivers:\n  - {id: A, check: linux.*, assets: [a], justification: j, approver: x}\n"
     "  - {id: A, check: linux.*, assets: [a], justification: j, approver: ' '}\n", "approver"),
    ("waivers:\n  - {id: A, check: linux.*, assets: [a], justification: j, approver: x}\n"
     "  - {id: A, check: linux.*, assets: [a], justification: j, approver: y}\n", "duplicate waiver id"),
    ("waivers:\n  - {check: linux.*, assets: [a], justification: j, approver: x, color: red}\n", "unknown field"),
])
def test_invalid_waiver_files(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_waivers(path)
    assert message in str(info.value)


def test_valid_file_with_default_ids_and_canonical_requirement(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - check: linux.sshd.banner\n    assets: hmi-01\n    justification: j\n"
                    "    approver: x\n    expires: 2026-01-31\n  - requirement: cr 1.1\n    zones: [control]\n"
                    "    justification: j\n    approver: x\n")
    waivers = load_waivers(path)
    assert [w.id for w in waivers.waivers] == ["waiver-1", "waiver-2"]
    assert waivers.waivers[0].assets == ["hmi-01"] and waivers.waivers[0].expires == date(2026, 1, 31)
    assert waivers.waivers[1].requirement == "CR 1.1"


# ------------------------------------------------------------------ tailoring (profiles extending built-ins)

def test_tailored_profile_is_validated_and_effective(tmp_path: Path) -> None:
    from auditor.assessment.profiles import load_profile, tailoring

    path = tmp_path / "site.yaml"
    path.write_text("id: site-hmi\nextends: host-sl2\nparams:\n  linux.sshd.max-auth-tries: {max_auth_tries: 3}\n"
                    "deselect: ['linux.usb.*', 'linux.sshd.banner']\n")
    profile = load_profile(path)
    rows = {row["check"]: row for row in tailoring(profile)}
    assert rows["linux.sshd.banner"]["selected"] is False and rows[ROOT_LOGIN_CHECK]["selected"] is True
    assert rows["linux.sshd.max-auth-tries"]["tailored"] == ["max_auth_tries"]
    typo = tmp_path / "typo.yaml"
    typo.write_text("id: typo\nextends: host-sl2\ndeselect: ['linux.sshd.bannner']\n")
    with pytest.raises(ConfigError, match="matches no host check"):
        load_profile(typo)


ROOT_LOGIN_CHECK = FAILING
