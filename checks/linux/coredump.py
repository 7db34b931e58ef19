"""``linux.coredump.*`` checks: core dumps disabled."""

from __future__ import annotations

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, passed
from checks.linux.facts.parsing import to_int
from checks.linux.facts.system import HardeningConfig


@check("linux.coredump.disabled",
       title="Core dumps disabled (no memory images with secrets written to disk)",
       requirements=["SR 4.1", "CR 4.1"], applies_to=EMBEDDED_LINUX, severity="low",
       remediation=("Set `fs.suid_dumpable = 0` in /etc/sysctl.d/60-coredump.conf, add `* hard core 0` to "
                    "/etc/security/limits.d/60-coredump.conf, and where systemd-coredump is the handler set "
                    "`Storage=none` and `ProcessSizeMax=0` in /etc/systemd/coredump.conf.d/60-off.conf (Debian/Ubuntu "
                    "and RHEL); on Ubuntu also `systemctl disable --now apport`."))
def coredump_disabled(sys_sysctl: dict[str, str], sys_hardening: HardeningConfig) -> Verdict:
    """A core dump holds the process memory: passwords, keys and session tokens of HMI and engineering
    software end up in a file (information confidentiality, SR 4.1)."""
    expected = "fs.suid_dumpable = 0, and a hard core limit of 0 or systemd-coredump Storage=none"
    suid = sys_sysctl.get("fs.suid_dumpable")
    pattern = sys_sysctl.get("kernel.core_pattern", "")
    hard_zero = [f"{p}: {d} hard core 0" for p, d, t, v in sys_hardening.limits_core
                 if d == "*" and t in ("hard", "-") and v == "0"]
    storage = sys_hardening.coredump.get("storage", "external").lower()
    size_max = sys_hardening.coredump.get("processsizemax", "")
    systemd_handler = "systemd-coredump" in pattern
    observed = {"fs.suid_dumpable": suid, "kernel.core_pattern": pattern, "hard_core_0": hard_zero,
                "coredump_storage": storage if systemd_handler else None}
    if suid is None:
        return error("fs.suid_dumpable could not be read from /proc/sys", observed)
    problems = []
    if to_int(suid) != 0:
        problems.append(f"fs.suid_dumpable = {suid} (setuid programs dump memory)")
    handler_off = systemd_handler and storage == "none" and size_max in ("0", "0B", "")
    if not hard_zero and not handler_off:
        problems.append("no '* hard core 0' limit" + (f" and systemd-coredump Storage={storage}" if systemd_handler
                                                      else "") + (" (apport collects crashes)" if "apport" in pattern
                                                                  else ""))
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected,
                  "core dumps disabled" + (" (hard limit)" if hard_zero else " (coredump Storage=none)"))
