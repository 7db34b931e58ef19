"""Time synchronisation: the clock's synchronisation state and the configured time sources.

Reads: ``timedatectl show``, ``chronyc -n tracking``, and the chrony, ntpd/ntpsec and timesyncd
configuration files from the shared file dump.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.facts import CommandOutput, FactEvidence
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import ToolState, tool_absent, tool_state
from checks.linux.facts.files import FILES, files_of, texts
from checks.linux.facts.parsing import FileRead, key_values, strip_comments, to_int

TIMEDATE = ssh_exec("timedatectl show", name="timesync.timedatectl")
CHRONY_TRACKING = ssh_exec("chronyc -n tracking", name="timesync.chrony-tracking")


@dataclass(frozen=True)
class Tracking:
    tool: ToolState
    reference_id: str | None = None
    reference_name: str | None = None
    stratum: int | None = None
    offset_seconds: float | None = None
    leap_status: str | None = None


def parse_tracking(out: CommandOutput) -> Tracking:
    state = tool_state(out)
    values: dict[str, str] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            values[key.strip().lower()] = value.strip()
    if state.state != "ok" or "leap status" not in values:
        if state.state == "ok":
            state = ToolState("failed", (out.stdout.strip().splitlines() or ["empty output"])[0][:200], out.sudo)
        return Tracking(state)
    ref = re.match(r"^([0-9A-Fa-f]{8})\s*\(([^)]*)\)", values.get("reference id", ""))
    offset = None
    match = re.match(r"^(\d+(?:\.\d+)?)\s+seconds\s+(fast|slow)", values.get("system time", ""), re.ASCII)
    if match:
        offset = float(match.group(1)) * (1 if match.group(2) == "fast" else -1)
    return Tracking(state, ref.group(1).upper() if ref else None, ref.group(2) if ref else None,
                    to_int(values.get("stratum")), offset, values.get("leap status"))


@dataclass(frozen=True)
class TimeSource:
    daemon: str          # chrony / ntp / timesyncd
    kind: str            # server / pool / peer / refclock / sourcedir / NTP / FallbackNTP
    address: str
    authenticated: bool
    source: str


@dataclass(frozen=True)
class TimeState:
    timedate: dict[str, str]
    timedate_tool: ToolState
    tracking: Tracking
    sources: tuple[TimeSource, ...]


def parse_time_sources(files: dict[str, FileRead]) -> list[TimeSource]:
    sources: list[TimeSource] = []
    chrony_files = texts(files, "/etc/chrony.conf", "/etc/chrony/chrony.conf", "/etc/chrony/conf.d/*.conf",
                         "/etc/chrony/sources.d/*.sources")
    for path, text in chrony_files:
        for line in strip_comments(text).splitlines():
            words = line.split()
            if not words:
                continue
            directive = words[0].lower()
            if directive in ("server", "pool", "peer") and len(words) >= 2:
                options = [w.lower() for w in words[2:]]
                sources.append(TimeSource("chrony", directive, words[1], "nts" in options or "key" in options, path))
            elif directive == "refclock" and len(words) >= 2:
                sources.append(TimeSource("chrony", "refclock", " ".join(words[1:3]), True, path))
            elif directive == "sourcedir" and len(words) >= 2:
                sources.append(TimeSource("chrony", "sourcedir", words[1], False, path))
    for path, text in texts(files, "/etc/ntp.conf", "/etc/ntpsec/ntp.conf"):
        for line in strip_comments(text).splitlines():
            words = line.split()
            if len(words) >= 2 and words[0].lower() in ("server", "pool", "peer"):
                options = [w.lower() for w in words[2:]]
                local = words[1].startswith("127.127.")
                sources.append(TimeSource("ntp", "refclock" if local else words[0].lower(), words[1],
                                          local or "nts" in options or "key" in options or "autokey" in options, path))
    for path, text in texts(files, "/etc/systemd/timesyncd.conf", "/etc/systemd/timesyncd.conf.d/*.conf"):
        values = key_values(text, separator="=", lower_keys=False)
        for key in ("NTP", "FallbackNTP"):
            for server in values.get(key, "").split():
                sources.append(TimeSource("timesyncd", key, server, False, path))
    return sources


@fact("sys_time", protocol="ssh", requests=[TIMEDATE, CHRONY_TRACKING, FILES])
def sys_time(ev: FactEvidence) -> TimeState:
    """Clock synchronisation state (timedatectl, chronyc tracking) and the configured time sources."""
    timedate_out = ev.command(TIMEDATE)
    timedate = {k: v for k, v in key_values(timedate_out.stdout, separator="=", lower_keys=False).items()
                if re.fullmatch(r"[A-Za-z]+", k)} if not tool_absent(timedate_out) else {}
    td_state = tool_state(timedate_out)
    if td_state.state == "ok" and "NTPSynchronized" not in timedate:
        td_state = ToolState("failed", (timedate_out.stdout.strip().splitlines() or ["no output"])[0][:200])
    return TimeState(timedate, td_state, parse_tracking(ev.command(CHRONY_TRACKING)),
                     tuple(parse_time_sources(files_of(ev))))
