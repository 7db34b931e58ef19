"""Malformed and hostile SNMP agents: garbage datagrams, silence, endless and looping walks, slow replies.

Each must end in an ``error`` verdict (or an unusable-endpoint error) that says why, within a bounded
time, and never in a crash or a hang. The hostile agents are the bundled simulator with a
``behaviour``; every wait below is bounded by the connector's own limits, asserted by wall-clock time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from auditor.assessment.evaluate import evaluate_asset
from auditor.assessment.profiles import load_profile
from auditor.assessment.slvector import SLVector
from auditor.engine import collect_asset
from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.plant.planning import AssetPlan
from auditor.registry import REGISTRY, request
from checks.snmp import facts as f
from connectors.base import ConnectorError, ScanOptions
from connectors.snmp.connector import SnmpConnector
from simulators.snmp.server import SnmpSimulator
from tests.support.checks import check_verdict


def connector(port: int, tmp_path: Path, timeout: float = 1.0, **attrs: Any) -> SnmpConnector:
    community = tmp_path / "community"
    community.write_text("public")
    asset = Asset.model_validate({"id": "hostile", "type": "network", "address": "127.0.0.1",
                                  "endpoints": [{"protocol": "snmp", "port": port, "version": "2c",
                                                 "community_file": str(community), "timeout": timeout}]})
    conn = SnmpConnector(asset, asset.endpoints[0], ScanOptions())
    for name, value in attrs.items():
        setattr(conn, name, value)
    return conn


def check(items: list[EvidenceItem], check_id: str) -> Any:
    for number, item in enumerate(items, 1):
        item.id = f"hostile#{number}"
    return check_verdict(items, check_id)


@pytest.mark.parametrize("behaviour, words", [("garbage", "not valid SNMP"), ("silent", "inconclusive")])
async def test_garbage_or_silence_is_an_unusable_endpoint_with_a_reason(behaviour: str, words: str,
                                                                        tmp_path: Path) -> None:
    with SnmpSimulator("weak", behaviour=behaviour) as sim:
        started = time.monotonic()
        with pytest.raises(ConnectorError, match=words) as caught:
            await connector(sim.port, tmp_path, timeout=0.5).collect([f.SCALARS])
        assert time.monotonic() - started < 5
        assert sim.requests  # it did receive our GET
    session = caught.value.partial_items[0]  # type: ignore[attr-defined]
    assert session.request.key == "snmp:session:info" and '"answered": false' in session.response


async def test_garbage_agent_gives_error_verdicts_through_the_engine(tmp_path: Path) -> None:
    with SnmpSimulator("weak", behaviour="garbage") as sim:
        community = tmp_path / "community"
        community.write_text("public")
        asset = Asset.model_validate({"id": "hostile", "type": "network", "address": "127.0.0.1",
                                      "endpoints": [{"protocol": "snmp", "port": sim.port, "version": "2c",
                                                     "community_file": str(community), "timeout": 0.5}]})
        profile = load_profile("network-sl2")
        plan = AssetPlan(asset=asset, profile=profile, sl_target=SLVector.uniform(2))
        started = time.monotonic()
        evidence = await collect_asset(plan, ScanOptions())
        assert time.monotonic() - started < 5
    result = evaluate_asset(asset, evidence, profile, SLVector.uniform(2))
    assert evidence.status == "error" and result.status == "error" and "not valid SNMP" in (result.error or "")
    assert result.results and {r.status for r in result.results} == {"error"}
    assert all("not valid SNMP" in r.reason for r in result.results)


async def test_endless_walk_is_cut_by_rows_and_by_time(tmp_path: Path) -> None:
    with SnmpSimulator("weak", behaviour="endless") as sim:
        conn = connector(sim.port, tmp_path, requests_per_second=1000.0, walk_seconds=1.0)
        started = time.monotonic()
        rows_limited = request("snmp", "walk", "1.3.6.1.2.1.2.2.1.3", max_rows=50)
        items = await conn.collect([rows_limited, f.WALK_INTERFACES, f.SCALARS])
        elapsed = time.monotonic() - started
    by_key = {i.request.key: i for i in items}
    limited = by_key[rows_limited.key]
    assert limited.status == "error" and "row limit of 50" in limited.error and limited.meta["rows"] == 50
    timed = by_key[f.WALK_INTERFACES.key]
    assert timed.status == "error" and "time limit of 1 s" in timed.error and timed.meta["truncated"]
    assert by_key[f.SCALARS.key].status == "ok"  # the rest of the device is still read
    assert elapsed < 6
    verdict = check(items, "snmp.interface.unused-enabled")
    assert verdict.status == "error" and "time limit" in verdict.reason


async def test_looping_agent_stops_the_walk(tmp_path: Path) -> None:
    with SnmpSimulator("weak", behaviour="loop") as sim:
        items = await connector(sim.port, tmp_path).collect([f.WALK_TCP, f.SCALARS])
    walk = next(i for i in items if i.request.key == f.WALK_TCP.key)
    assert walk.status == "error" and ("non-increasing" in walk.error or "OidNotIncreasing" in walk.error)
    verdict = check(items, "snmp.service.telnet")
    assert verdict.status == "error" and "failed" in verdict.reason


async def test_replies_slower_than_the_timeout(tmp_path: Path) -> None:
    with SnmpSimulator("weak", behaviour="slow", delay=1.5) as sim:
        started = time.monotonic()
        with pytest.raises(ConnectorError, match="no SNMPv2c answer"):
            await connector(sim.port, tmp_path, timeout=0.5, retries=0).collect([f.SCALARS])
        assert time.monotonic() - started < 4


async def test_slow_replies_within_the_timeout_are_bounded_by_the_device_budget(tmp_path: Path) -> None:
    requests = [r for reqs in REGISTRY.load().requests_for(
        c for c in REGISTRY.checks.values() if c.pack.startswith("checks.snmp")).values() for r in reqs]
    with SnmpSimulator("weak", behaviour="slow", delay=0.3) as sim:
        started = time.monotonic()
        items = await connector(sim.port, tmp_path, timeout=1.0, budget_seconds=1.5).collect(requests)
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 2 * 2.0 + 1  # budget + one PDU bound in flight + slack
    unfinished = [i for i in items if i.status == "error" and "time budget" in (i.error or "")]
    assert unfinished, [(i.request.key, i.status, i.error) for i in items]
    verdict = check(items, "snmp.vlan.default-vlan")
    assert verdict.status == "error" and "time budget" in verdict.reason
