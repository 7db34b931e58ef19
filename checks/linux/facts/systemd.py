"""The systemd unit list: services, sockets and timers with their load and active states."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from auditor.facts import CommandOutput, FactEvidence
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import tool_absent

UNITS = ssh_exec("systemctl list-units --all --no-legend --no-pager --plain --type=service,socket,timer",
                 name="systemd.units")


@dataclass(frozen=True)
class Unit:
    name: str
    load: str
    active: str
    sub: str


@dataclass(frozen=True)
class Units:
    """The loaded systemd units; ``available`` is False when systemctl is absent or systemd not running."""

    available: bool
    units: dict[str, Unit] = field(default_factory=dict)
    problem: str = ""

    def get(self, name: str) -> Unit | None:
        return self.units.get(name if "." in name else name + ".service")

    def is_active(self, name: str) -> bool:
        unit = self.get(name)
        return unit is not None and unit.active in ("active", "reloading", "activating")

    def is_loaded(self, name: str) -> bool:
        unit = self.get(name)
        return unit is not None and unit.load == "loaded"

    def active_matching(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return sorted(n for n, u in self.units.items() if rx.search(n) and u.active in ("active", "reloading"))

    def matching(self, pattern: str) -> list[Unit]:
        rx = re.compile(pattern)
        return [u for n, u in sorted(self.units.items()) if rx.search(n)]

    def first_active(self, names: Iterable[str]) -> str | None:
        return next((n for n in names if self.is_active(n)), None)


_UNIT_LINE = re.compile(r"^\s*(?:[●*x]\s+)?(?P<name>\S+\.(?:service|socket|timer|target|mount|path))\s+"
                        r"(?P<load>\S+)\s+(?P<active>\S+)\s+(?P<sub>\S+)")


def parse_units(out: CommandOutput) -> Units:
    if tool_absent(out):
        return Units(False, problem="systemctl not found (no systemd)")
    units: dict[str, Unit] = {}
    for line in out.stdout.splitlines():
        match = _UNIT_LINE.match(line)
        if match:
            units[match["name"]] = Unit(match["name"], match["load"], match["active"], match["sub"])
    if not units:
        problem = out.stdout.strip().splitlines()[0][:200] if out.stdout.strip() else f"exit {out.exit_code}"
        if out.exit_code not in (0, None) or "systemd" in out.stdout.lower() or out.stdout.strip():
            return Units(False, problem=f"systemctl gave no unit list: {problem}")
    return Units(True, units)


@fact("sys_units", protocol="ssh", requests=[UNITS])
def sys_units(ev: FactEvidence) -> Units:
    """Loaded systemd services, sockets and timers with their load/active/sub states."""
    return parse_units(ev.command(UNITS))
