"""Risk-ranked findings: severity x criticality x exposure + FR gap, and the terminal and reports sort by it."""

from __future__ import annotations

import io

import yaml
from result_fixture import build_result
from rich.console import Console

from auditor.assessment.risk import rank_asset, risk_score
from auditor.assessment.slvector import SLVector
from auditor.cli.summary import print_summary, top_findings
from auditor.plant.inventory import Inventory
from auditor.plant.planning import plan_assets
from reports.common import sorted_results


def test_the_documented_rule() -> None:
    assert risk_score("critical", "critical", "internet-facing", 0) == 5 * 4 * 3
    assert risk_score("high", None, None, 3) == 4 * 2 * 1 + 3  # defaults: medium criticality, control zone
    assert risk_score("low", "low", "dmz", 1) == 2 * 1 * 2 + 1
    assert risk_score("medium", "high", "safety", 0) == 3 * 3 * 2
    # a medium finding on a critical, internet-facing asset outranks a critical one on a low asset in control
    assert risk_score("medium", "critical", "internet-facing", 0) > risk_score("critical", "low", "control", 4)


def test_rank_asset_scores_findings_only_with_the_gap_of_their_frs() -> None:
    eng = next(a for a in build_result().assets if a.id == "eng-ws-02")
    eng = eng.model_copy(update={"sl_target": SLVector.uniform(2), "sl_achieved": SLVector.model_validate(
        {"FR1": 0, "FR2": 2, "FR3": 1, "FR4": 2, "FR5": 2, "FR6": 2, "FR7": 2})})
    ranked = rank_asset(eng, "high", "dmz")
    assert ranked.criticality == "high" and ranked.exposure == "dmz"
    for before, after in zip(eng.results, ranked.results):
        if before.status not in ("fail", "error"):
            assert after.risk is None
            continue
        frs = {int(r.split()[1].split(".")[0]) for r in before.requirements}
        gap = sum({1: 2, 3: 1}.get(fr, 0) for fr in frs)
        assert after.risk == risk_score(before.severity, "high", "dmz", gap), before.check_id
    assert any(c.risk and c.risk > risk_score(c.severity, "high", "dmz", 0) for c in ranked.results)


def test_terminal_and_reports_sort_by_risk() -> None:
    result = build_result()
    eng = next(a for a in result.assets if a.id == "eng-ws-02")
    jewel = rank_asset(eng.model_copy(update={"id": "crown-jewel"}), "critical", "internet-facing")
    assets = [rank_asset(a, "low", "control") for a in result.assets] + [jewel]
    result = result.model_copy(update={"assets": assets})
    found = top_findings(result)  # grouped by check across the plant
    risks = [group.risk for group in found]
    assert risks == sorted(risks, reverse=True) and all(risks)
    # a group's risk is the highest of the check on any asset: the crown jewel's (critical, internet-facing),
    # so even its medium-severity findings come before a check that fails only on low-criticality assets
    for group in found:
        on_assets = [c.risk for a in group.assets for c in a.results if c.check_id == group.check_id and c.risk]
        assert group.risk == max(on_assets)
    jewel = {c.check_id for a in result.assets if a.id == "crown-jewel" for c in a.results if c.status in ("fail", "error")}
    jewel_medium = next(i for i, g in enumerate(found) if g.check_id in jewel and g.severity == "medium")
    others_critical = [i for i, g in enumerate(found) if g.check_id not in jewel and g.severity == "critical"]
    assert all(jewel_medium < i for i in others_critical)
    out = Console(file=io.StringIO(), width=200)
    print_summary(result, [], out)
    assert "fix first, across the plant (by risk, then severity, then how far below SL-T):" in out.file.getvalue()
    for asset in result.assets:
        ordered = [c.risk for c in sorted_results(asset) if c.risk is not None]
        assert ordered == sorted(ordered, reverse=True)


def test_inventory_criticality_and_exposure_reach_the_plan() -> None:
    inventory = Inventory.model_validate(yaml.safe_load("""
zones: [{id: dmz, exposure: dmz}, {id: control}]
assets:
  - {id: a, type: host, zone: dmz, criticality: critical, address: 127.0.38.1, endpoints: [{protocol: ssh}]}
  - {id: b, type: host, zone: control, address: 127.0.38.2, endpoints: [{protocol: ssh}]}
"""))
    plans = {p.asset.id: p for p in plan_assets(inventory, sl=2)}
    assert (plans["a"].asset.criticality, plans["a"].exposure) == ("critical", "dmz")
    assert (plans["b"].asset.criticality, plans["b"].exposure) == (None, None)


def test_markdown_report_shows_the_risk_of_each_finding() -> None:
    from reports.markdown import render_markdown

    result = build_result()
    plain = render_markdown(result)
    assert "- Risk:" not in plain  # a result scored before risk ranking renders as before
    ranked = result.model_copy(update={"assets": [rank_asset(a, "high", "dmz") for a in result.assets]})
    text = render_markdown(ranked)
    risks = [int(line.split()[2]) for line in text.splitlines() if line.startswith("- Risk: ")]
    assert risks and len(risks) == sum(c.status in ("fail", "error") for a in ranked.assets if a.status == "assessed"
                                       for c in a.results)
