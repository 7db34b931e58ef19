"""``linux.time.*`` checks: clock synchronised to an approved source, time sources authenticated.

Evidence: :mod:`checks.linux.facts.timesync` and the unit list.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.systemd import Units
from checks.linux.facts.timesync import TimeState

TIME_DAEMONS = ("chronyd", "chrony", "systemd-timesyncd", "ntpd", "ntp", "ntpsec", "openntpd")


def _approved(address: str, approved: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(address.lower(), a.lower()) for a in approved)


@check("linux.time.synchronized",
       title="Clock synchronised to an (approved) time source",
       requirements=["SR 2.11", "SR 2.11 RE1", "CR 2.11", "CR 2.11 RE1"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"max_offset_seconds": 1.0, "approved_sources": []},
       remediation=("Run chrony against the site's internal time servers: Debian/Ubuntu `apt install chrony`, RHEL "
                    "`dnf install chrony`; list `server <internal-ntp> iburst` in /etc/chrony/chrony.conf (Debian) "
                    "or /etc/chrony.conf (RHEL), remove public pools, `systemctl enable --now chronyd` (Debian "
                    "unit: chrony), check with `chronyc -n tracking`."))
def time_synchronized(sys_time: TimeState, sys_units: Units, params: dict[str, Any]) -> Verdict:
    """Audit timestamps (SR 2.11) are only comparable across hosts when every clock is synchronised to a
    common, approved source (SR 2.11 RE1, CR 2.11 RE1)."""
    try:
        max_offset = float(params.get("max_offset_seconds", 1.0))
    except (TypeError, ValueError):
        return error("max_offset_seconds must be a number")
    approved = [str(a) for a in (params.get("approved_sources") or [])]
    tracking = sys_time.tracking
    daemon = sys_units.first_active(TIME_DAEMONS) if sys_units.available else None
    configured = [s.address for s in sys_time.sources if s.kind not in ("refclock", "sourcedir")]
    observed: dict[str, Any] = {"daemon": daemon, "NTP": sys_time.timedate.get("NTP"),
                                "NTPSynchronized": sys_time.timedate.get("NTPSynchronized"),
                                "configured_sources": configured}
    expected = f"synchronised, |offset| <= {max_offset:g} s" + (f", sources within {approved}" if approved else "")
    problems: list[str] = []
    synced: bool | None = None
    if tracking.tool.state == "ok":
        observed.update(reference=tracking.reference_name or tracking.reference_id, stratum=tracking.stratum,
                        offset_seconds=tracking.offset_seconds, leap_status=tracking.leap_status)
        if tracking.reference_id == "7F7F0101" or tracking.reference_name in ("LOCL",):
            problems.append("chrony follows only its own local clock (local reference)")
            synced = False
        elif (tracking.leap_status or "").lower().startswith("not synchron") or not tracking.stratum \
                or tracking.stratum >= 16 or tracking.reference_id in (None, "00000000"):
            problems.append(f"chrony is not synchronised (leap status: {tracking.leap_status})")
            synced = False
        else:
            synced = True
            if tracking.offset_seconds is not None and abs(tracking.offset_seconds) > max_offset:
                problems.append(f"offset {tracking.offset_seconds:+.3f} s exceeds {max_offset:g} s")
            ref = tracking.reference_name or ""
            # with -n chronyc names the reference by address; configured sources may be host names, so the
            # reference itself is judged only when no configured (approved) source explains it
            if approved and ref and not _approved(ref, approved) and not configured:
                problems.append(f"reference {ref} is not an approved source")
    elif sys_time.timedate_tool.state == "ok":
        synced = sys_time.timedate.get("NTPSynchronized") == "yes"
        if not synced:
            problems.append("timedatectl: NTPSynchronized=no"
                            + (" and NTP=no (no synchronisation service enabled)"
                               if sys_time.timedate.get("NTP") == "no" else ""))
    if approved:
        unapproved = [s for s in configured if not _approved(s, approved)]
        if unapproved:
            problems.append(f"configured sources not approved: {unapproved}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if synced:
        how = (f"chrony stratum {tracking.stratum}, offset {tracking.offset_seconds:+.6f} s"
               if tracking.tool.state == "ok" and tracking.offset_seconds is not None
               else "timedatectl NTPSynchronized=yes")
        return passed(observed, expected, how)
    if sys_units.available and daemon is None:
        return failed(observed, expected, "no time synchronisation service is running")
    return manual(f"synchronisation state unknown (timedatectl {sys_time.timedate_tool.state}, chronyc "
                  f"{tracking.tool.state}); verify with `chronyc tracking` or `ntpq -pn`", expected, observed)


@check("linux.time.authenticated",
       title="Time sources authenticated (NTS or symmetric keys)",
       requirements=["SR 2.11 RE2", "CR 2.11 RE2"], applies_to=EMBEDDED_LINUX, severity="low",
       remediation=("Use chrony with NTS (`server <ntp> iburst nts`) or symmetric keys (`server <ntp> key 1` with "
                    "/etc/chrony/chrony.keys on Debian, /etc/chrony.keys on RHEL); systemd-timesyncd cannot "
                    "authenticate its sources, replace it with chrony (`apt install chrony` / `dnf install chrony`)."))
def time_authenticated(sys_time: TimeState, sys_units: Units) -> Verdict:
    """Protection of time source integrity (SR 2.11 RE2): an attacker who can shift the clock can break
    certificate validation, log correlation and time-based interlocks."""
    expected = "every network time source uses NTS or a symmetric key"
    daemon = sys_units.first_active(TIME_DAEMONS) if sys_units.available else None
    family = {"chronyd": "chrony", "chrony": "chrony", "systemd-timesyncd": "timesyncd", "ntpd": "ntp",
              "ntp": "ntp", "ntpsec": "ntp"}.get(daemon or "", None)
    sources = [s for s in sys_time.sources if family is None or s.daemon == family]
    observed = {"daemon": daemon, "sources": [{"address": s.address, "kind": s.kind, "authenticated": s.authenticated}
                                              for s in sources]}
    if family == "timesyncd":
        return failed(observed, expected, "systemd-timesyncd cannot authenticate its time sources")
    if daemon == "openntpd":
        return manual("openntpd active: verify its constraints/TLS settings", expected, observed)
    network = [s for s in sources if s.kind not in ("refclock", "sourcedir")]
    if not network:
        if any(s.kind == "refclock" for s in sources):
            return passed(observed, expected, "only local reference clocks (GPS/PTP hardware)")
        if sys_units.available and daemon is None:
            return failed(observed, expected, "no time synchronisation service is running")
        return manual("no time source found in the readable configuration (sources from DHCP or sourcedir?); "
                      "verify that the effective sources are authenticated", expected, observed)
    weak = [s.address for s in network if not s.authenticated]
    if weak:
        return failed(observed, expected, f"unauthenticated time sources: {weak}")
    return passed(observed, expected, f"{len(network)} authenticated source(s)")
