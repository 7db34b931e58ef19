"""Maintenance windows, the admission gate, and politeness limits in the engine."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence
from zoneinfo import ZoneInfo

import pytest

import connectors
from auditor.engine import EngineSettings, Politeness, collect
from auditor.errors import ConfigError
from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.inventory import Inventory, load_inventory
from auditor.plant.planning import plan_assets
from auditor.plant.windows import (OUTSIDE_WINDOW, WINDOW_OVERRUN, MaintenanceWindow, WindowGate, parse_days,
                                   parse_window_end)
from connectors import Connector, ScanOptions

BERLIN = ZoneInfo("Europe/Berlin")


def test_days_parse_names_ranges_and_wraparound() -> None:
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days(["sat", "Sunday"]) == (5, 6)
    assert parse_days("fri-mon") == (0, 4, 5, 6)
    assert parse_days("*") == tuple(range(7))
    with pytest.raises(ValueError, match="unknown day"):
        parse_days("funday")


def test_overnight_window_belongs_to_the_day_it_opens() -> None:
    window = MaintenanceWindow(days="sat", start="22:00", end="04:00", timezone="Europe/Berlin")
    saturday_late = datetime(2025, 6, 7, 23, 30, tzinfo=BERLIN)
    sunday_early = datetime(2025, 6, 8, 3, 59, tzinfo=BERLIN)
    assert window.occurrence_at(saturday_late) == (datetime(2025, 6, 7, 22, 0, tzinfo=BERLIN),
                                                   datetime(2025, 6, 8, 4, 0, tzinfo=BERLIN))
    assert window.occurrence_at(sunday_early) is not None
    assert window.occurrence_at(datetime(2025, 6, 8, 4, 0, tzinfo=BERLIN)) is None  # end is exclusive
    assert window.occurrence_at(datetime(2025, 6, 8, 23, 0, tzinfo=BERLIN)) is None  # Sunday night: not a window day
    # the same instant in UTC is judged in the window's own time zone
    assert window.occurrence_at(saturday_late.astimezone(timezone.utc)) is not None
    assert window.next_opening(datetime(2025, 6, 8, 12, 0, tzinfo=BERLIN)) == datetime(2025, 6, 14, 22, 0, tzinfo=BERLIN)


def test_yaml_sexagesimal_times_and_full_day() -> None:
    # PyYAML reads an unquoted 22:00 as the integer 1320 (base 60): accepted as minutes
    window = MaintenanceWindow(start=1320, end="06:30", timezone="UTC")
    assert window.start.hour == 22 and window.end.minute == 30
    whole_day = MaintenanceWindow(start="00:00", end="00:00", timezone="UTC")
    start, end = whole_day.occurrence_at(datetime(2025, 1, 1, 12, tzinfo=timezone.utc))
    assert end - start == timedelta(hours=24)


def test_invalid_windows_are_configuration_errors(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text("zones:\n  - id: z\n    maintenance_windows: {start: '25:00', end: '03:00', timezone: Mars/Olympus}\n"
                    "assets:\n  - {id: a, type: host, zone: z, address: h, endpoints: [{protocol: ssh, username: u}]}\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    text = str(info.value)
    assert "maintenance_windows" in text and "time of day" in text and "unknown time zone" in text


def test_asset_windows_replace_the_zone_windows() -> None:
    inventory = Inventory.model_validate({
        "zones": [{"id": "z", "maintenance_windows": [{"days": "sat", "start": "22:00", "end": "04:00"}]}],
        "assets": [{"id": "a", "type": "host", "zone": "z", "address": "h", "endpoints": [{"protocol": "ssh", "username": "u"}]},
                   {"id": "b", "type": "host", "zone": "z", "address": "h", "endpoints": [{"protocol": "ssh", "username": "u"}],
                    "maintenance_windows": {"start": "12:00", "end": "13:00"}}]})
    assert inventory.windows_for(inventory.assets[0])[0].days == (5,)
    assert inventory.windows_for(inventory.assets[1])[0].start.hour == 12
    assert Inventory.model_validate(inventory.model_dump(mode="json")) == inventory  # round-trips through evidence.json


def test_gate_skips_outside_window_and_overrun() -> None:
    window = MaintenanceWindow(days="*", start="22:00", end="23:00", timezone="UTC")
    now = [datetime(2025, 6, 2, 21, 0, tzinfo=timezone.utc)]
    gate = WindowGate({"a": [window], "b": []}, estimates={"a": 600}, clock=lambda: now[0])
    outside = gate("a")
    assert outside.kind == OUTSIDE_WINDOW and "next opens 2025-06-02T22:00" in outside.reason
    assert gate("b") is None  # no window, no --window-end: always allowed
    now[0] = datetime(2025, 6, 2, 22, 40, tzinfo=timezone.utc)
    assert gate("a") is None  # 10 minutes expected, 20 left
    now[0] = datetime(2025, 6, 2, 22, 55, tzinfo=timezone.utc)
    overrun = gate("a")
    assert overrun.kind == WINDOW_OVERRUN and "600 s" in overrun.reason and "23:00" in overrun.reason


def test_window_end_applies_to_every_asset_and_learns_durations() -> None:
    start = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)
    now = [start]
    gate = WindowGate({}, window_end=start + timedelta(minutes=30), clock=lambda: now[0])
    assert gate.active and gate("x") is None  # nothing known yet: estimate 0
    now[0] = start + timedelta(minutes=20)
    gate.observe("x", 0.5)  # measured on the gate's clock from admission: 20 minutes
    assert gate.estimate("y") == 20 * 60
    decision = gate("y")
    assert decision.kind == WINDOW_OVERRUN and "--window-end" in decision.reason
    now[0] = start + timedelta(minutes=31)
    assert "ended" in gate("z").reason


def test_parse_window_end() -> None:
    now = datetime(2025, 6, 2, 23, 0, tzinfo=timezone.utc)
    assert parse_window_end("2025-06-03T04:00+02:00", now) == datetime(2025, 6, 3, 2, 0, tzinfo=timezone.utc)
    later = parse_window_end("04:30", now)
    assert later > now and later - now < timedelta(hours=24)
    with pytest.raises(ValueError):
        parse_window_end("soon", now)


# ------------------------------------------------------------------ engine integration (fake connector)

class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)


CLOCK = FakeClock()
ACTIVE: dict[str, int] = {"now": 0, "max": 0}
STARTS: list[float] = []


class SlowConnector(Connector):
    """Answers every request after a short sleep, advancing the fake clock by 10 minutes per asset."""

    protocol = "ssh"

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        STARTS.append(time.monotonic())
        ACTIVE["now"] += 1
        ACTIVE["max"] = max(ACTIVE["max"], ACTIVE["now"])
        started = time.monotonic()
        try:
            await asyncio.sleep(0.05)
            CLOCK.now += timedelta(minutes=10)
            return [self.item(r, started=started, status="error", error="fake") for r in requests]
        finally:
            ACTIVE["now"] -= 1


def _inventory(n: int, limits: dict | None = None, zone_limits: dict | None = None) -> Inventory:
    zone = {"id": "z", **({"limits": zone_limits} if zone_limits else {})}
    return Inventory.model_validate({
        "zones": [zone], **({"limits": limits} if limits else {}),
        "assets": [{"id": f"a{i}", "type": "host", "zone": "z", "address": f"127.0.0.{i + 1}",
                    "endpoints": [{"protocol": "ssh", "username": "u"}]} for i in range(n)]})


@pytest.fixture
def fake_ssh(monkeypatch):
    monkeypatch.setitem(connectors.BUILTIN, "ssh", f"{__name__}:SlowConnector")
    ACTIVE.update(now=0, max=0)
    STARTS.clear()
    yield


async def test_engine_stops_starting_assets_that_would_overrun(fake_ssh) -> None:
    inventory = _inventory(4)
    plans = plan_assets(inventory, sl=1)
    CLOCK.now = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)
    gate = WindowGate({}, window_end=CLOCK.now + timedelta(minutes=25), clock=lambda: CLOCK.now)
    finished: list[str] = []
    settings = EngineSettings(concurrency=1, asset_timeout=10, admit=gate,
                              on_finished=lambda plan, ev: finished.append(plan.asset.id))
    evidence, interrupted = await collect(plans, ScanOptions(), settings)
    statuses = [(e.asset, e.status, e.skipped_because) for e in evidence]
    # a0 at 0 min (est 0), a1 at 10 min (est 10 -> 20 <= 25), a2 at 20 min (20 + 10 > 25): skipped, a3 too
    assert statuses[:2] == [("a0", "collected", None), ("a1", "collected", None)]
    assert statuses[2:] == [("a2", "skipped", "window_overrun"), ("a3", "skipped", "window_overrun")]
    assert "would overrun --window-end" in evidence[2].error
    assert finished == ["a0", "a1"] and not interrupted


async def test_zone_concurrency_and_connection_rate(fake_ssh) -> None:
    inventory = _inventory(4, zone_limits={"concurrency": 1})
    evidence, _ = await collect(plan_assets(inventory, sl=1), ScanOptions(),
                                EngineSettings(concurrency=8, politeness=Politeness(inventory)))
    assert len(evidence) == 4 and ACTIVE["max"] == 1

    ACTIVE.update(now=0, max=0)
    STARTS.clear()
    inventory = _inventory(4, limits={"protocols": {"ssh": {"connection_rate": 20}}})
    await collect(plan_assets(inventory, sl=1), ScanOptions(),
                  EngineSettings(concurrency=8, politeness=Politeness(inventory)))
    gaps = [b - a for a, b in zip(sorted(STARTS), sorted(STARTS)[1:])]
    assert len(STARTS) == 4 and min(gaps) >= 0.04  # 20 connections per second: >= 50 ms apart


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="protocol name"):
        _inventory(1, limits={"protocols": {"SSH!": {"concurrency": 1}}})
    with pytest.raises(ValueError):
        _inventory(1, zone_limits={"concurrency": 0})


RUNNING: dict[str, int] = {}
PEAK: dict[str, int] = {}


class _Paced(Connector):
    """A fake connector that takes ``seconds`` per asset and counts how many of its kind run at once."""

    seconds = 0.0

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        started = time.monotonic()
        RUNNING[self.protocol] = RUNNING.get(self.protocol, 0) + 1
        PEAK[self.protocol] = max(PEAK.get(self.protocol, 0), RUNNING[self.protocol])
        PEAK["assets"] = max(PEAK.get("assets", 0), sum(RUNNING.values()))
        try:
            await asyncio.sleep(self.seconds)
        finally:
            RUNNING[self.protocol] -= 1
        return [self.item(r, started=started, status="error", error="fake") for r in requests]


class SlowSwitch(_Paced):
    protocol = "snmp"
    seconds = 0.25


class FastPlc(_Paced):
    protocol = "modbus"
    seconds = 0.01


async def test_assets_queued_for_one_protocol_do_not_hold_up_the_others(monkeypatch) -> None:
    """Slow switches limited to one at a time come first in the inventory: the PLCs behind them must not wait for
    them (an asset waiting for its protocol's slot holds no scan-wide slot), and every limit still holds."""
    monkeypatch.setitem(connectors.BUILTIN, "snmp", f"{__name__}:SlowSwitch")
    monkeypatch.setitem(connectors.BUILTIN, "modbus", f"{__name__}:FastPlc")
    RUNNING.clear()
    PEAK.clear()
    switches = [{"id": f"sw{i}", "type": "network", "zone": "z", "address": f"127.0.0.{i + 1}",
                 "endpoints": [{"protocol": "snmp", "version": "2c", "community_env": "UNUSED"}]} for i in range(4)]
    plcs = [{"id": f"plc{i}", "type": "embedded", "zone": "z", "address": f"127.0.1.{i + 1}",
             "endpoints": [{"protocol": "modbus"}]} for i in range(4)]
    inventory = Inventory.model_validate({
        "zones": [{"id": "z"}], "limits": {"concurrency": 2, "protocols": {"snmp": {"concurrency": 1}}},
        "assets": switches + plcs})
    evidence, _ = await collect(plan_assets(inventory, sl=1), ScanOptions(),
                                EngineSettings(concurrency=8, politeness=Politeness(inventory)))
    finished = {e.asset: e.finished_at for e in evidence}
    assert all(e.items for e in evidence)
    assert PEAK["snmp"] == 1 and PEAK["assets"] <= 2
    second_switch = sorted(finished[f"sw{i}"] for i in range(4))[1]
    assert all(finished[f"plc{i}"] < second_switch for i in range(4)), finished
