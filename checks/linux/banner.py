"""``linux.banner.*`` checks: login banners show a use notice without system details.

(The banner sshd sends before authentication is ``linux.sshd.banner``, in :mod:`checks.linux.sshd_session`.)
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, failed, passed
from checks.linux.facts.system import HardeningConfig

#: What discloses a system in a banner: the agetty/issue escapes that print the OS, release, kernel, machine or
#: host name, distribution and kernel names, and version strings written as versions ("v2.3", "version 9",
#: "OpenSSH_9.2", "6.1.0-18"). Not any dotted number: a use notice may cite "SR 1.12" or "section 4.2".
DISCLOSURE = [r"\\[srvmnSOl]",
              r"(?i)\b(debian|ubuntu|red ?hat|rhel|centos|rocky|almalinux|fedora|suse|sles|oracle linux|raspbian)\b",
              r"(?i)gnu/linux", r"(?i)\bkernel\b", r"(?i)\bopenssh[_ ]?\d", r"\b\d+\.\d+\.\d+-\d+",
              r"(?i)\b(?:v|version\s*|release\s*)\d+(?:\.\d+)+\b", r"(?i)\bLTS\b"]


@check("linux.banner.login",
       title="Login banners (/etc/issue, /etc/issue.net) show a use notice without system details",
       requirements=["SR 1.12", "CR 1.12"], applies_to=EMBEDDED_LINUX, severity="low",
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
