"""S7 CPU diagnostic buffer: the CPU's own event record, read remotely with Read SZL (SZL 0x01A0)."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.s7.facts import DIAGNOSTIC_ENTRIES, DiagnosticBuffer, Refused


@check("s7.audit.diagnostic-buffer", title="S7 CPU diagnostic buffer can be read remotely, with time-stamped entries",
       requirements=["SR 6.1", "CR 6.1"], applies_to=["embedded"], severity="medium",
       remediation="Let the site's monitoring read the CPU's diagnostic buffer (SZL 0x00A0/0x01A0, read-only, or "
                   "the CPU's syslog/alarm forwarding where the model has it), and set the CPU's clock so every "
                   "entry is stamped with a valid date and time.")
def diagnostic_buffer(s7_diagnostics: DiagnosticBuffer | Refused) -> Verdict:
    """The diagnostic buffer is the CPU's record of mode changes, faults and program and configuration events;
    audit log accessibility (SR 6.1) asks that tools can read such a record read-only. Read SZL of the most
    recent entries (``DIAGNOSTIC_ENTRIES``) is that read: a CPU that refuses it keeps its record to the
    engineering tool alone, and entries without a valid date cannot be placed in time."""
    expected = f"SZL 0x01A0 answered read-only with the most recent entries (at most {DIAGNOSTIC_ENTRIES}), each dated"
    if isinstance(s7_diagnostics, Refused):
        return failed({"answered": False, "reason": s7_diagnostics.reason}, expected,
                      f"the CPU does not give its diagnostic buffer over the network ({s7_diagnostics.reason})")
    entries = s7_diagnostics.entries
    observed: dict[str, Any] = {"entries": [e.describe() for e in entries], "count": len(entries)}
    if not entries:
        return manual("the CPU answered with no diagnostic buffer entry; look at the buffer in the engineering tool",
                      expected, observed)
    undated = [e for e in entries if e.time is None]
    if undated:
        return failed(observed, expected, f"{len(undated)} of {len(entries)} entries carry no valid date and time")
    return passed(observed, expected, f"{len(entries)} entries, newest {entries[0].time.isoformat()}")
