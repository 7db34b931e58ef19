"""Maintenance windows and the admission gate that keeps a scan inside them.

A window is given per zone or per asset in the inventory (an asset's own windows replace its zone's)::

    maintenance_windows:
      - {days: [sat, sun], start: "22:00", end: "04:00", timezone: Europe/Berlin}
      - {days: mon-fri, start: "12:00", end: "13:00"}          # timezone: the scanner's local zone

``days`` are the days on which a window *opens* (``mon``..``sun``, ranges ``mon-fri``, default every
day); an ``end`` at or before ``start`` closes on the next day (``start == end``: 24 hours).

Semantics, applied when an asset is about to start (after waiting for a concurrency slot):

* an asset that has windows and is in none of them right now is not started: it is recorded
  ``skipped`` (``outside_window``) with the next opening in the reason;
* the deadline of an asset is the end of its current window and/or the scan's ``--window-end``,
  whichever comes first; an asset whose expected duration would pass the deadline is not started
  (``window_overrun``). The expected duration is what the history store measured last time for
  that asset, else the mean of the assets finished so far in this scan, else zero;
* assets already running are never stopped: they finish (bounded by ``--asset-timeout`` as always).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {name: i for i, name in enumerate(DAYS)}
_DAY_ALIASES.update({full: i for i, full in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))})

OUTSIDE_WINDOW = "outside_window"
WINDOW_OVERRUN = "window_overrun"


def _day(value: str) -> int:
    key = value.strip().lower()
    if key not in _DAY_ALIASES:
        raise ValueError(f"unknown day {value!r}; use {', '.join(DAYS)}")
    return _DAY_ALIASES[key]


def parse_days(value: Any) -> tuple[int, ...]:
    """``"mon-fri"``, ``["sat", "sun"]``, ``"mon,wed"`` or ``"*"`` -> weekday numbers (Monday = 0)."""
    if value is None or value == "*" or value == ["*"]:
        return tuple(range(7))
    parts: list[str] = []
    for entry in ([value] if isinstance(value, str) else list(value)):
        if not isinstance(entry, str):
            raise ValueError("days are names like mon, tue or ranges like mon-fri")
        parts.extend(p for p in re.split(r"[,\s]+", entry) if p)
    days: set[int] = set()
    for part in parts:
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            days.add(_day(part))
    if not days:
        raise ValueError("at least one day is needed")
    return tuple(sorted(days))


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # YAML reads 22:00 as 1320 (sexagesimal)
        if 0 <= value <= 24 * 60:
            return time(value // 60 % 24, value % 60)
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", value.strip())
        if match and int(match[1]) <= 24 and int(match[2]) < 60:
            hours, minutes = int(match[1]), int(match[2])
            if hours == 24 and minutes == 0:
                return time(0, 0)
            if hours < 24:
                return time(hours, minutes)
    raise ValueError(f"expected a time of day HH:MM, got {value!r}")


def zone_info(name: str | None) -> tzinfo:
    """A time zone by IANA name; ``None``/``"local"`` is the scanner's local zone."""
    if name in (None, "", "local"):
        local = datetime.now().astimezone().tzinfo
        return local or timezone.utc
    if name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin, or UTC)") from None


class MaintenanceWindow(BaseModel):
    """A recurring window in which an asset may be scanned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[int, ...] = Field(default=tuple(range(7)), description="weekdays on which the window opens (0 = Monday)")
    start: time
    end: time
    timezone: str | None = Field(default=None, description="IANA time zone; default the scanner's local zone")

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> tuple[int, ...]:
        if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if not all(0 <= v <= 6 for v in value) or not value:
                raise ValueError("day numbers are 0 (Monday) .. 6 (Sunday)")
            return tuple(sorted(set(value)))
        return parse_days(value)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: Any) -> time:
        return _time(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        zone_info(value)
        return value

    @property
    def tz(self) -> tzinfo:
        return zone_info(self.timezone)

    def describe(self) -> str:
        days = ",".join(DAYS[d] for d in self.days) if len(self.days) < 7 else "daily"
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone or 'local'}"

    def _occurrence(self, day: date) -> tuple[datetime, datetime]:
        tz = self.tz
        start = datetime.combine(day, self.start, tzinfo=tz)
        end_day = day if self.end > self.start else day + timedelta(days=1)
        end = datetime.combine(end_day, self.end, tzinfo=tz)
        return start, end

    def occurrence_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) of the occurrence containing ``at``, if any."""
        local = at.astimezone(self.tz).date()
        found = None
        for offset in (-1, 0):
            day = local + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            start, end = self._occurrence(day)
            if start <= at < end and (found is None or end > found[1]):
                found = (start, end)
        return found

    def next_opening(self, at: datetime) -> datetime | None:
        local = at.astimezone(self.tz).date()
        for offset in range(0, 9):
            day = local + timedelta(days=offset)
            if day.weekday() in self.days:
                start, _ = self._occurrence(day)
                if start > at:
                    return start
        return None


def windows_list(value: Any) -> Any:
    """Inventory helper: one window mapping or a list of them."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


def current_window(windows: Iterable[MaintenanceWindow], at: datetime) -> tuple[datetime, datetime] | None:
    """The open occurrence that lasts longest among ``windows`` at ``at``."""
    best = None
    for window in windows:
        occurrence = window.occurrence_at(at)
        if occurrence and (best is None or occurrence[1] > best[1]):
            best = occurrence
    return best


def next_opening(windows: Iterable[MaintenanceWindow], at: datetime) -> datetime | None:
    openings = [o for w in windows if (o := w.next_opening(at)) is not None]
    return min(openings) if openings else None


def parse_window_end(text: str, now: datetime | None = None) -> datetime:
    """``--window-end``: an ISO date-time (with or without offset: local) or ``HH:MM`` (next occurrence)."""
    now = now or datetime.now().astimezone()
    value = text.strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if match:
        at = _time(value)
        local_now = now.astimezone()
        candidate = datetime.combine(local_now.date(), at, tzinfo=local_now.tzinfo)
        if candidate <= local_now:
            candidate += timedelta(days=1)
        return candidate
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected HH:MM or an ISO date-time like 2025-06-01T04:00+02:00, got {text!r}") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


@dataclass
class Decision:
    reason: str
    kind: str  # OUTSIDE_WINDOW | WINDOW_OVERRUN


class WindowGate:
    """Decides, when an asset is about to start, whether it may (``None``) or is skipped (a :class:`Decision`).

    Thread-safe; ``observe`` feeds durations of finished assets for the running estimate.
    """

    def __init__(self, windows: dict[str, list[MaintenanceWindow]], *, window_end: datetime | None = None,
                 estimates: dict[str, float] | None = None, clock: Callable[[], datetime] | None = None):
        self.windows = {k: v for k, v in windows.items() if v}
        self.window_end = window_end
        self.estimates = dict(estimates or {})
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._durations: list[float] = []
        self._started: dict[str, datetime] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self.windows) or self.window_end is not None

    def observe(self, asset_id: str, seconds: float) -> None:
        """A finished asset's duration (measured on the gate's clock from its admission when known)."""
        with self._lock:
            started = self._started.pop(asset_id, None)
            if started is not None:
                seconds = (self.clock() - started).total_seconds()
            self._durations.append(max(0.0, seconds))

    def estimate(self, asset_id: str) -> float:
        if asset_id in self.estimates:
            return self.estimates[asset_id]
        with self._lock:
            return sum(self._durations) / len(self._durations) if self._durations else 0.0

    def __call__(self, asset_id: str) -> Decision | None:
        now = self.clock()
        deadline, source = self.window_end, "--window-end"
        windows = self.windows.get(asset_id)
        if windows:
            occurrence = current_window(windows, now)
            if occurrence is None:
                opening = next_opening(windows, now)
                when = f"; next opens {_stamp(opening)}" if opening else ""
                described = "; ".join(w.describe() for w in windows)
                return Decision(f"outside its maintenance window ({described}){when}", OUTSIDE_WINDOW)
            if deadline is None or occurrence[1] < deadline:
                deadline, source = occurrence[1], "its maintenance window"
        if deadline is None:
            self._admitted(asset_id, now)
            return None
        if now >= deadline:
            return Decision(f"not started: {source} ended at {_stamp(deadline)}", WINDOW_OVERRUN)
        expected = self.estimate(asset_id)
        if now + timedelta(seconds=expected) > deadline:
            return Decision(f"not started: expected to take {expected:.0f} s, which would overrun {source} "
                            f"(ends {_stamp(deadline)})", WINDOW_OVERRUN)
        self._admitted(asset_id, now)
        return None

    def _admitted(self, asset_id: str, now: datetime) -> None:
        with self._lock:
            self._started[asset_id] = now
