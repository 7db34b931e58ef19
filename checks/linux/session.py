"""``linux.session.*`` checks: idle shell sessions terminated (readonly TMOUT)."""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, passed
from checks.linux.facts.system import HardeningConfig

_TMOUT_ASSIGN = re.compile(r"(?:^|[;&\s])(?:(?:readonly|export|declare|typeset)(?:\s+-\w+)*\s+)*TMOUT=[\"']?(\d+)")
_TMOUT_READONLY = re.compile(r"(?:^|[;&\s])(?:readonly(?:\s+-\w+)*|declare\s+-\w*r\w*|typeset\s+-\w*r\w*)\s+"
                             r"(?:[A-Za-z_]\w*(?:=\S*)?\s+)*TMOUT\b")


@check("linux.session.timeout",
       title="Idle shell sessions terminated (readonly TMOUT)",
       requirements=["SR 2.5", "CR 2.5", "SR 2.6", "CR 2.6"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"max_seconds": 900},
       remediation=("Create /etc/profile.d/tmout.sh (Debian/Ubuntu and RHEL) with `TMOUT=900`, `readonly TMOUT`, "
                    "`export TMOUT`. Operator consoles that must stay logged in (essential functions) need a "
                    "documented exception instead."))
def session_timeout(sys_hardening: HardeningConfig, params: dict[str, Any]) -> Verdict:
    """Session lock (SR 2.5) and remote session termination (SR 2.6): an unattended shell, local or over SSH,
    is an open door; ``readonly`` stops users from switching the timeout off."""
    try:
        limit = int(params.get("max_seconds", 900))
    except (TypeError, ValueError):
        return error("max_seconds must be an integer")
    expected = f"TMOUT set to 1..{limit} s and readonly in /etc/profile, /etc/profile.d or the system bashrc"
    values = [(path, int(m.group(1)), line) for path, line in sys_hardening.tmout
              for m in [_TMOUT_ASSIGN.search(line)] if m]
    readonly = [(path, line) for path, line in sys_hardening.tmout if _TMOUT_READONLY.search(line)]
    observed = {"assignments": [f"{p}: {line}" for p, _, line in values], "readonly": bool(readonly)}
    if sys_hardening.shell_files == 0:
        return error("none of /etc/profile, /etc/profile.d/*.sh, /etc/bash.bashrc, /etc/bashrc could be read")
    if not values:
        return failed(observed, expected, "TMOUT is not set")
    ro_values = [v for p, v, line in values if _TMOUT_READONLY.search(line)]
    effective = ro_values[0] if ro_values else values[-1][1]
    observed["effective"] = effective
    problems = []
    if effective <= 0 or effective > limit:
        problems.append(f"TMOUT={effective} (want 1..{limit})")
    if not readonly:
        problems.append("TMOUT is not readonly (users can unset it)")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected, f"TMOUT={effective}, readonly")
