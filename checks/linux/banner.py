"""``linux.banner.*`` checks: login banners show a use notice without system details.

(The banner sshd sends before authentication is ``linux.sshd.banner``, in :mod:`checks.linux.sshd_session`.)
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.linux.facts.system import HardeningConfig

DISCLOSURE = [r"\\[srvmSO]", r"\b(debian|ubuntu|red ?hat|rhel|centos|rocky|almalinux|fedora|suse|oracle linux)\b",
              r"gnu/linux", r"\bkernel\b", r"\b\d+\.\d+\.\d+-\d+"]


@check("linux.banner.login",
       title="Login banners (/etc/issue, /etc/issue.net) show a use notice without system details",
       requirements=["SR 1.12", "CR 1.12"], applies_to=["host"], severity="low",
       params={"files": ["/etc/issue", "/etc/issue.net"], "min_length": 20, "forbidden_patterns": DISCLOSURE},
       remediation=("Write the site's authorised-use notice (approved by legal/security) into /etc/issue and "
                    "/etc/issue.net (Debian/Ubuntu and RHEL), without agetty escapes (\\s \\r \\v \\m \\S) or "
                    "distribution/kernel names; point sshd's `Banner` at /etc/issue.net."))
def login_banner(sys_hardening: HardeningConfig, params: dict[str, Any]) -> Verdict:
    """System use notification (SR 1.12) before login; the default Debian/RHEL banners instead announce the
    exact OS and kernel release, which helps an attacker pick exploits."""
    wanted = list(params.get("files") or ["/etc/issue", "/etc/issue.net"])
    min_length = int(params.get("min_length", 20) or 0)
    patterns = [re.compile(p, re.I) for p in (params.get("forbidden_patterns") or [])]
    expected = f"each of {wanted} holds >= {min_length} characters of notice text and no OS/kernel details"
    observed: dict[str, Any] = {}
    problems = []
    for path in wanted:
        content = sys_hardening.issue.get(path)
        if content is None:
            observed[path] = None
            problems.append(f"{path} missing or unreadable")
            continue
        text = content.strip()
        observed[path] = text[:200]
        if len(text) < min_length:
            problems.append(f"{path} is empty or too short ({len(text)} characters)")
        hits = sorted({m.group(0) for p in patterns for m in [p.search(text)] if m})
        if hits:
            problems.append(f"{path} discloses system details: {hits}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)
