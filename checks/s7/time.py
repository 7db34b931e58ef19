"""S7 CPU clock and time synchronization, from the time system status (SZL 0x0132 index 8, Read SZL only).

The list carries the CPU's current date and time and the state of its synchronization by an external time
master (NTP through the CPU's interface, or a sync master on the bus); nothing is set or corrected.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from auditor.clock import skew_seconds
from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.s7.cpu import _refused
from checks.s7.facts import Refused, TimeStatus

_HALF_HOUR = 1800.0
_MAX_ZONE_SECONDS = 14 * 3600.0


def _hours(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    minutes = round(abs(seconds) / 60)
    return f"{sign}{minutes // 60}:{minutes % 60:02d} h"


@check("s7.time.clock", title="S7 CPU clock agrees with the auditor's (time stamps of its diagnostic buffer)",
       requirements=["SR 2.11", "CR 2.11"], applies_to=["embedded"], severity="medium",
       params={"max_skew_seconds": 2.0, "utc_offset_minutes": None},
       remediation="Synchronize the CPU's clock from the site's time source (NTP on the CPU's PROFINET interface, "
                   "or as time slave on the bus) in the hardware configuration; if the site keeps CPUs in local "
                   "time, name the offset in the profile parameter utc_offset_minutes.")
def clock(s7_time: TimeStatus | Refused, params: dict[str, Any]) -> Verdict:
    """The CPU stamps every diagnostic buffer entry (mode changes, faults, program and configuration events) with
    its own clock (SR 2.11 timestamps): a clock that is off makes those records impossible to line up with the
    rest of the plant's. The date and time in SZL 0x0132 index 8 are compared with the auditor's clock over
    the read (assumed synchronized, UTC). A CPU kept in local time is accepted when the offset is the
    correction the CPU itself reports, or the site's ``utc_offset_minutes``; a whole number of half hours off
    otherwise is for a person to judge."""
    try:
        limit = float(params["max_skew_seconds"])
        offset = params.get("utc_offset_minutes")
        offset = None if offset is None else float(offset)
    except (TypeError, ValueError):
        return error("profile parameters: max_skew_seconds and utc_offset_minutes are numbers")
    expected = f"CPU clock within {limit:g} s of the auditor's (UTC" + (
        f" {offset:+g} min)" if offset is not None else ", or the CPU's own local-time correction)")
    if (skip := _refused(s7_time, "time system status", expected)):
        return skip
    assert isinstance(s7_time, TimeStatus)
    t = s7_time
    observed: dict[str, Any] = {"cpu_time": t.cpu_time.isoformat() if t.cpu_time else None,
                                "correction_minutes": t.correction_minutes if t.status_valid else None}
    if t.cpu_time is None:
        return failed(observed, expected, "the CPU's clock reads no valid date and time: its records carry "
                                          "unusable time stamps")
    if t.read_window is None:
        return manual("the time of the read is not recorded; compare the CPU's clock by hand", expected, observed)
    as_utc = t.cpu_time.replace(tzinfo=timezone.utc)
    raw = skew_seconds(as_utc, *t.read_window)
    observed.update(auditor_time=t.read_window[1].isoformat(), skew_seconds=round(raw, 3))
    if offset is not None:
        skew = skew_seconds(as_utc - timedelta(minutes=offset), *t.read_window)
        observed["skew_after_offset_seconds"] = round(skew, 3)
        if abs(skew) <= limit:
            return passed(observed, expected, f"local time UTC {offset:+g} min (utc_offset_minutes)")
        return failed(observed, expected, f"the CPU's clock is off by {skew:+.1f} s from UTC {offset:+g} min")
    if abs(raw) <= limit:
        return passed(observed, expected)
    correction = t.correction_minutes * 60 if t.status_valid else 0
    if correction and abs(raw - correction) <= limit:
        return passed(observed, expected, f"local time: the CPU's own correction of {_hours(correction)}")
    zone = round(raw / _HALF_HOUR) * _HALF_HOUR
    if zone and abs(zone) <= _MAX_ZONE_SECONDS and abs(raw - zone) <= limit:
        return manual(f"the CPU's clock is {_hours(zone)} off UTC, within {limit:g} s of a time zone: a CPU kept "
                      "in local time; give the site's offset in the profile parameter utc_offset_minutes",
                      expected, observed)
    return failed(observed, expected, f"the CPU's clock is off by {raw:+.1f} s")


@check("s7.time.synchronized", title="S7 CPU clock is synchronized from a time source",
       requirements=["SR 2.11 RE1", "CR 2.11 RE1"], applies_to=["embedded"], severity="medium",
       remediation="In the CPU's hardware configuration, set time synchronization (NTP servers on the PROFINET "
                   "interface, or time slave of the plant's sync master) with the site's internal time sources, "
                   "and download it in a maintenance window.")
def synchronized(s7_time: TimeStatus | Refused) -> Verdict:
    """A CPU clock set once by hand drifts by seconds a day, so its records drift away from the rest of the
    plant's (SR 2.11 RE1: synchronized with a system-wide time source). The time status word of SZL 0x0132
    index 8 says, in bit 0, whether the time from the external time master was synchronized; the CPU marks
    the word valid in status_valid. Passes only on a valid word with bit 0 set."""
    expected = "time status valid and bit 0 set (synchronized by an external time master)"
    if (skip := _refused(s7_time, "time system status", expected)):
        return skip
    assert isinstance(s7_time, TimeStatus)
    t = s7_time
    observed = {"synchronized": t.synchronized, "status_valid": t.status_valid, "sync_cycle": t.sync_cycle}
    if not t.status_valid:
        return manual("the CPU marks its time status as not valid; check the time synchronization settings in the "
                      "engineering tool (TIA Portal / STEP 7 hardware configuration)", expected, observed)
    if t.synchronized:
        return passed(observed, expected)
    if t.sync_cycle == 0:
        return failed(observed, expected, "no synchronization: the clock runs free (no synchronization cycle)")
    return failed(observed, expected, f"synchronization failed (synchronization cycle {t.sync_cycle} configured)")
