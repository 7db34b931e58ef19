"""A plant scored by forked workers beside this process gives the very result one process gives.

The recorded demo plant (hosts, switches, PLCs, OPC UA servers, Windows, S7, web interfaces) is scored twice with
the same waivers: once in one process, once shared with a forked worker (the threshold lowered so 21 assets are
enough). The results, the waivers' outcomes (applied, lapsed, not needed) and the summary must be equal.
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from auditor import engine
from auditor.assessment.waivers import Waiver, WaiverSet
from auditor.evidence import EvidenceBundle
from auditor.plant.planning import plan_assets
from reports.json_report import evidence_from_data

GOLDEN = Path(__file__).resolve().parents[1] / "e2e" / "rescore_golden" / "evidence.json.gz"
TODAY = date(2026, 6, 1)


def _bundle() -> EvidenceBundle:
    return evidence_from_data(json.loads(gzip.decompress(GOLDEN.read_bytes())))


def _waivers(bundle: EvidenceBundle) -> WaiverSet:
    """An active waiver for one check that fails somewhere, an expired one for another; both on every asset."""
    serial = engine.score(bundle, plan_assets(bundle.inventory, sl=2), "sl2", as_of=TODAY)
    failing = sorted({r.check_id for a in serial.assets for r in a.results if r.status == "fail"})
    assert len(failing) >= 2
    everyone = [a.id for a in bundle.inventory.assets]
    return WaiverSet([
        Waiver(id="W-active", check=failing[0], assets=everyone, justification="vendor tool", approver="J. Smith",
               compensating_countermeasure="jump host only", expires=date(2027, 1, 1)),
        Waiver(id="W-expired", check=failing[1], assets=everyone, justification="legacy", approver="J. Smith",
               expires=date(2026, 1, 1))])


def test_scoring_shared_with_a_forked_worker_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _bundle()
    plans = plan_assets(bundle.inventory, sl=2)
    waivers = _waivers(bundle)
    alone = engine.score(bundle, plans, "sl2", waivers=waivers, as_of=TODAY)

    calls: list[int] = []
    real = engine.forked_map
    monkeypatch.setattr(engine, "PARALLEL_SCORING_MIN", 2)
    monkeypatch.setattr(engine, "fork_workers", lambda: 2)
    monkeypatch.setattr(engine, "forked_map", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    shared = engine.score(bundle, plans, "sl2", waivers=waivers, as_of=TODAY)

    assert calls == [16]  # eight interleaved shares per process
    assert [a.id for a in shared.assets] == [a.id for a in alone.assets]
    for mine, theirs in zip(shared.assets, alone.assets):
        assert mine == theirs, f"{mine.id} scored differently in a worker"
    assert shared.waivers == alone.waivers
    outcomes = {w.id: w for w in shared.waivers}
    assert outcomes["W-active"].applied_to and outcomes["W-expired"].lapsed  # both did something to merge
    assert shared.summary == alone.summary
    assert shared.model_dump_json() == alone.model_dump_json()


def test_a_small_plant_is_scored_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _bundle()
    monkeypatch.setattr(engine, "fork_workers", lambda: 2)
    monkeypatch.setattr(engine, "forked_map", lambda *a, **k: pytest.fail("forked for 21 assets"))
    assert len(bundle.assets) < engine.PARALLEL_SCORING_MIN
    result = engine.score(bundle, plan_assets(bundle.inventory, sl=2), "sl2", as_of=TODAY)
    assert len(result.assets) == len(bundle.assets)
