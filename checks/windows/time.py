"""``windows.time.*``: the Windows Time service's source and synchronisation state."""

from __future__ import annotations

import fnmatch
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import ADMIN_TEMPLATES, registry_verify
from checks.windows.facts.network import Service
from checks.windows.facts.policy import RegistryValues
from checks.windows.facts.sections import W32TIME, W32TIME_POLICY
from checks.windows.facts.system import TimeStatus

#: What ``w32tm /query /status`` names as the source when the host runs on its own clock (English, German).
LOCAL_SOURCES = ("local cmos clock", "free-running system clock", "lokale cmos-uhr", "frei laufende systemuhr")


@check("windows.time.source",
       title="Windows Time service synchronises from configured time servers",
       requirements=["SR 2.11 RE1", "CR 2.11 RE1"], applies_to=["host"], severity="medium",
       params={"approved_sources": []},
       remediation=(f"GPO: {ADMIN_TEMPLATES}System\\Windows Time Service\\Time Providers\\Configure Windows NTP "
                    "Client = Enabled, NtpServer = the site's time servers, Type = NTP (NT5DS for domain members); "
                    "Enable Windows NTP Client = Enabled; W32Time service Automatic. Verify: "
                    "`w32tm /query /configuration`; " + registry_verify(W32TIME, "Type", "NtpServer") + "."))
def time_source(win_registry: RegistryValues, win_services: dict[str, Service], params: dict[str, Any]) -> Verdict:
    """Audit records of different hosts can only be correlated on a common time base (CR 2.11 RE1); the
    Windows Time service must follow the site's time servers (or the domain hierarchy)."""
    def effective(name: str) -> Any:
        value = win_registry.get(W32TIME_POLICY, name)
        return value if value not in (None, "") else win_registry.get(W32TIME, name)

    kind, servers = str(effective("Type") or ""), str(effective("NtpServer") or "")
    service = win_services.get("w32time")
    names = [s.split(",")[0] for s in servers.split() if s]
    approved = params["approved_sources"]
    expected = ("W32Time running with Type NT5DS (domain hierarchy) or NTP/AllSync with NtpServer set"
                + (f" to {', '.join(approved)}" if approved else ""))
    observed = {"Type": kind or None, "NtpServer": servers or None, "w32time": service.status if service else None}
    if service is None or not service.running:
        return failed(observed, expected, "the Windows Time service is not running")
    if kind == "NT5DS":
        return passed(observed, expected, "follows the domain time hierarchy")
    if kind not in ("NTP", "AllSync") or not names:
        return failed(observed, expected, "no time source configured" if kind in ("NoSync", "") else
                      f"Type {kind} with no NTP server")
    unapproved = [n for n in names if approved and not any(fnmatch.fnmatch(n, a) for a in approved)]
    if unapproved:
        return failed(observed, expected, f"not approved: {', '.join(unapproved)}")
    return passed(observed, expected)


@check("windows.time.synchronized",
       title="Windows Time service is synchronised",
       requirements=["SR 2.11", "CR 2.11", "SR 2.11 RE1", "CR 2.11 RE1"], applies_to=["host"], severity="medium",
       remediation=("Make the configured time servers reachable (UDP 123 through the zone firewall), then "
                    "`w32tm /resync` once. Verify: `w32tm /query /status` (Leap Indicator 0, Source not the local "
                    "clock, Stratum below 16)."))
def time_synchronized(win_time_status: TimeStatus) -> Verdict:
    """Time stamps (CR 2.11) are only as good as the clock: a host free-running on its CMOS clock drifts
    seconds a day and its events no longer line up with the rest of the plant."""
    expected = "Leap Indicator not 3, Source an NTP server or domain controller, Stratum 1..15"
    observed = {"leap": win_time_status.leap, "stratum": win_time_status.stratum, "source": win_time_status.source}
    source = (win_time_status.source or "").strip().lower()
    if win_time_status.leap == 3 or not source or any(source.startswith(s) for s in LOCAL_SOURCES):
        return failed(observed, expected, "the host is not synchronised" if win_time_status.leap == 3
                      else "the host runs on its own clock")
    if win_time_status.stratum is None or not 1 <= win_time_status.stratum <= 15:
        return failed(observed, expected, f"stratum {win_time_status.stratum}")
    return passed(observed, expected, f"synchronised from {win_time_status.source}")
