"""``linux.packages.*`` checks: package signatures verified for every enabled repository.

Evidence: :func:`checks.linux.facts.packages.sys_signature_policy`.
"""

from __future__ import annotations

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.packages import SignaturePolicy


@check("linux.packages.signature-policy",
       title="Package signatures verified for every enabled repository",
       requirements=["SR 3.4", "CR 3.4 RE1", "HDR 3.10 RE1"], applies_to=["host"], severity="high",
       remediation=("Debian/Ubuntu: remove `[trusted=yes]` / `Trusted: yes` from /etc/apt/sources.list(.d) and any "
                    "`AllowUnauthenticated`/`AllowInsecureRepositories` from /etc/apt/apt.conf.d, import the "
                    "repository key into /etc/apt/keyrings and reference it with `signed-by=`. RHEL: set "
                    "`gpgcheck=1` in /etc/dnf/dnf.conf and in every enabled /etc/yum.repos.d/*.repo, import the "
                    "vendor key with `rpm --import`."))
def signature_policy(sys_signature_policy: SignaturePolicy) -> Verdict:
    """Update authenticity and integrity (HDR 3.10 RE1): an update channel that accepts unsigned packages
    lets anyone on the path (mirror, proxy, conduit) install code as root."""
    policy = sys_signature_policy
    expected = "signature verification enabled for all enabled repositories, no overrides"
    observed = {"manager": policy.family, "files_checked": len(policy.checked), "weaknesses": list(policy.weaknesses)}
    if policy.family is None:
        if policy.unreadable:
            return error(f"package manager configuration not readable ({list(policy.unreadable)}); {ROOT_HINT}")
        return manual("no apt or dnf/yum configuration found; verify how software updates are authenticated",
                      expected, observed)
    if policy.weaknesses:
        return failed(observed, expected, "; ".join(policy.weaknesses[:5]))
    if policy.unreadable:  # an unread repository file or drop-in may switch verification off
        return manual(f"{len(policy.checked)} configuration files are fine, but these could not be read: "
                      f"{', '.join(policy.unreadable)}; {ROOT_HINT}", expected, observed)
    return passed(observed, expected, f"{policy.family}: {len(policy.checked)} configuration files checked")
