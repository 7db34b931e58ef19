"""``linux.files.*`` checks: no world-writable system files, permissions of password files and host keys.

Evidence: :mod:`checks.linux.facts.filesystem` (the bounded ``find``) and the stat listing.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.files import Stats
from checks.linux.facts.filesystem import FIND_TIMEOUT_SECONDS, WORLD_WRITABLE_ROOTS, WorldWritable


@check("linux.files.world-writable",
       title="No world-writable files (or unprotected world-writable directories) in system paths",
       requirements=["SR 3.4", "CR 3.4", "SR 2.1", "CR 2.1"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"exclude": [], "max_listed": 20},
       remediation=("Remove the write bit for others: `chmod o-w <file>`; for shared directories add the sticky bit "
                    "(`chmod +t <dir>`) or fix ownership. Find the package that owns the file "
                    "and report vendor packages shipping world-writable files to the vendor (Debian/Ubuntu "
                    "`dpkg -S <path>`, RHEL `rpm -qf <path>`)."))
def world_writable(sys_world_writable: WorldWritable, params: dict[str, Any]) -> Verdict:
    """Any local user (or a compromised service account) can replace a world-writable file in /etc or
    /usr and so run code as whoever uses it: integrity (SR 3.4) and authorisation (SR 2.1) are lost."""
    expected = ("no world-writable files and no non-sticky world-writable directories under "
                f"{list(WORLD_WRITABLE_ROOTS)}")
    found = [e for e in sys_world_writable.entries
             if not any(fnmatch.fnmatchcase(e[2], p) for p in (params.get("exclude") or []))]
    limit = int(params.get("max_listed", 20) or 20)
    observed = {"count": len(found), "entries": [f"{t} {m} {p}" for t, m, p in found[:limit]],
                "unreadable_directories": sys_world_writable.errors, "search": sys_world_writable.state}
    if sys_world_writable.state in ("absent", "failed"):
        return error(f"search did not run: {sys_world_writable.detail}", observed)
    if found:
        partial = " (search incomplete: time limit reached)" if sys_world_writable.state == "timed-out" else ""
        noun = "entry" if len(found) == 1 else "entries"
        return failed(observed, expected, f"{len(found)} world-writable {noun}{partial}: "
                      + ", ".join(p for _, _, p in found[:5]))
    if sys_world_writable.state == "timed-out":
        return manual(f"the bounded search stopped after {FIND_TIMEOUT_SECONDS} s without finding anything; run "
                      "`find / -xdev -type f -perm -0002` off-peak and review the result", expected, observed)
    return passed(observed, expected, "none found")


CRITICAL_FILES = {
    "/etc/passwd": {"mode": "0644", "groups": ["root"]},
    "/etc/group": {"mode": "0644", "groups": ["root"]},
    "/etc/shadow": {"mode": "0640", "groups": ["root", "shadow"]},
    "/etc/gshadow": {"mode": "0640", "groups": ["root", "shadow"]},
    "/etc/ssh/ssh_host_*_key": {"mode": "0640", "groups": ["root", "ssh_keys"]},
}


@check("linux.files.critical-permissions",
       title="Permissions of password files and SSH host private keys",
       requirements=["SR 1.5", "CR 1.5", "SR 3.4", "CR 3.4"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"files": CRITICAL_FILES},
       remediation=("`chown root:root /etc/passwd /etc/group && chmod 0644 /etc/passwd /etc/group`; Debian/Ubuntu "
                    "`chown root:shadow /etc/shadow /etc/gshadow && chmod 0640 ...`, RHEL `chown root:root ... && "
                    "chmod 0000 /etc/shadow /etc/gshadow`; host keys `chmod 0600 /etc/ssh/ssh_host_*_key` (RHEL: "
                    "0640 root:ssh_keys)."))
def critical_permissions(sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """Readable password hashes or host private keys hand an attacker offline cracking and server
    impersonation (authenticator management, SR 1.5); writable account files hand over root (SR 3.4)."""
    spec = params.get("files") or CRITICAL_FILES
    expected = "; ".join(f"{p} <= {s.get('mode')} owner root group {s.get('groups')}" for p, s in spec.items())
    observed: dict[str, Any] = {}
    problems = []
    for pattern, rule in spec.items():
        try:
            max_mode = int(str(rule.get("mode", "0644")), 8)
        except ValueError:
            return error(f"files[{pattern!r}].mode must be an octal string")
        matches = sys_stats.matching(pattern) if any(c in pattern for c in "*?[") else \
            [s for s in [sys_stats.get(pattern)] if s is not None]
        if not matches:
            if "*" not in pattern and sys_stats.exists(pattern) is False:
                if pattern in ("/etc/passwd", "/etc/shadow"):
                    problems.append(f"{pattern} is missing")
            elif "*" not in pattern and pattern in sys_stats.errors:
                observed[pattern] = sys_stats.errors[pattern]
            continue
        for stat in matches:
            observed[stat.path] = f"{stat.mode:04o} {stat.owner}:{stat.group}"
            if stat.mode & 0o7777 & ~max_mode:
                problems.append(f"{stat.path} mode {stat.mode:04o} (max {max_mode:04o})")
            if stat.owner != "root":
                problems.append(f"{stat.path} owned by {stat.owner}")
            if stat.group not in (rule.get("groups") or ["root"]):
                problems.append(f"{stat.path} group {stat.group}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not any(isinstance(v, str) and re.match(r"^\d{4} ", v) for v in observed.values()):
        return error("none of the critical files could be stat'ed", observed)
    return passed(observed, expected)
