"""``linux.kernel.*`` checks: kernel self-protection settings (ASLR, pointer and log restrictions)."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, passed
from checks.linux.facts.parsing import to_int

KERNEL_HARDENING = {"kernel.randomize_va_space": 2, "kernel.kptr_restrict": 1, "kernel.dmesg_restrict": 1,
                    "fs.protected_symlinks": 1, "fs.protected_hardlinks": 1}


@check("linux.kernel.hardening",
       title="Kernel self-protection settings (ASLR, pointer and log restrictions, link protection)",
       requirements=["SR 7.6", "CR 7.6"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"minimums": KERNEL_HARDENING},
       remediation=("Create /etc/sysctl.d/60-hardening.conf (Debian/Ubuntu and RHEL) with "
                    "`kernel.randomize_va_space = 2`, `kernel.kptr_restrict = 1`, `kernel.dmesg_restrict = 1`, "
                    "`fs.protected_symlinks = 1`, `fs.protected_hardlinks = 1` (SL3+: `kernel.yama.ptrace_scope = 1`, "
                    "`kernel.unprivileged_bpf_disabled = 1`), then `sysctl --system`."))
def kernel_hardening(sys_sysctl: dict[str, str], params: dict[str, Any]) -> Verdict:
    """Exploit mitigations (address-space randomisation, hidden kernel pointers, restricted kernel log,
    safe links in sticky directories) make exploits less likely to succeed: recommended security settings of the host (SR 7.6); they do
    not detect or block malicious code, so they are no evidence for HDR 3.2."""
    minimums = params.get("minimums") or KERNEL_HARDENING
    expected = ", ".join(f"{k} >= {v}" for k, v in minimums.items())
    observed = {k: sys_sysctl.get(k) for k in minimums}
    if not sys_sysctl:
        return error("no kernel parameter could be read from /proc/sys")
    problems = []
    for key, minimum in minimums.items():
        value = to_int(sys_sysctl.get(key))
        if key not in sys_sysctl:
            problems.append(f"{key} not available on this kernel")
        elif value is None or value < int(minimum):
            problems.append(f"{key} = {sys_sysctl.get(key)} (want >= {minimum})")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)
