"""``linux.audit.*`` checks: auditd running, audit rules, locked configuration, audit storage.

Evidence: :mod:`checks.linux.facts.audit` (``auditctl -s``/``-l``, auditd.conf), the unit and package lists.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.audit import AuditRule, AuditRules, AuditStatus, AuditSystem
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.packages import Packages
from checks.linux.facts.systemd import Units

AUDITD_PACKAGES = ("auditd", "audit")


def _auditd_installed(packages: Packages, units: Units) -> bool | None:
    if packages.any_of(AUDITD_PACKAGES) or units.is_loaded("auditd"):
        return True
    if packages.manager is None and not units.available:
        return None
    return False


@check("linux.audit.auditd-running",
       title="Audit daemon (auditd) running with kernel auditing enabled",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="high",
       params={"require_boot_parameter": False},
       remediation=("Install and enable auditd: Debian/Ubuntu `apt install auditd audispd-plugins && systemctl "
                    "enable --now auditd`; RHEL `dnf install audit && systemctl enable --now auditd`. To audit "
                    "processes started before auditd, add `audit=1` to the kernel command line (Debian: "
                    "GRUB_CMDLINE_LINUX in /etc/default/grub, then `update-grub`; RHEL: `grubby --update-kernel "
                    "ALL --args audit=1`)."))
def auditd_running(sys_audit_status: AuditStatus, sys_audit_config: AuditSystem, sys_units: Units,
                   sys_packages: Packages, params: dict[str, Any]) -> Verdict:
    """Auditable events (SR 2.8: access control, OS events, configuration changes) are recorded on Linux by
    the kernel audit subsystem and written by auditd; without the daemon nothing is kept."""
    expected = "auditd running (pid > 0) and kernel auditing enabled (1 or 2)"
    cmdline = sys_audit_config.cmdline or ""
    boot = re.search(r"(?:^|\s)audit=(\d)", cmdline)
    observed: dict[str, Any] = {"auditctl": sys_audit_status.tool.state, "boot_parameter": boot.group(0).strip()
                                if boot else None, "unit": (u.active if (u := sys_units.get("auditd")) else None)}
    if boot and boot.group(1) == "0":
        return failed(observed, expected, "kernel auditing disabled on the command line (audit=0)")
    require_boot = bool(params.get("require_boot_parameter"))
    status = sys_audit_status
    if status.tool.state == "ok":
        observed.update(enabled=status.enabled, pid=status.pid)
        if status.enabled == 0:
            return failed(observed, expected, "kernel auditing is disabled (auditctl -s: enabled 0)")
        if not status.pid:
            return failed(observed, expected, "no audit daemon receives events (auditctl -s: pid 0)")
        if require_boot and not boot:
            return failed(observed, expected + ", audit=1 on the kernel command line",
                          "audit=1 missing from the kernel command line: early processes are not audited")
        return passed(observed, expected, f"auditd pid {status.pid}, enabled {status.enabled}")
    if status.tool.state == "absent":
        return failed(observed, expected, "auditctl not found: the audit package (auditd) is not installed")
    installed = _auditd_installed(sys_packages, sys_units)
    if installed is False:
        return failed(observed, expected, "auditd is not installed")
    unit = sys_units.get("auditd")
    if unit is not None and sys_units.available:
        if sys_units.is_active("auditd"):
            if require_boot and not boot:
                return failed(observed, expected + ", audit=1 on the kernel command line",
                              "audit=1 missing from the kernel command line: early processes are not audited")
            return manual("auditd.service is active, but the kernel audit status could not be read "
                          f"({status.tool.detail or 'auditctl -s'}), so whether auditing is enabled and events "
                          f"reach the daemon is unknown; {ROOT_HINT}", expected, observed)
        return failed(observed, expected, f"auditd.service is {unit.active} ({unit.sub})")
    return error(f"auditd state unknown: auditctl -s {status.tool.state} ({status.tool.detail}); {ROOT_HINT}",
                 observed)


#: audit rule categories: name -> (description, predicate over the rule list)
def _watch(rules: tuple[AuditRule, ...], *paths: str, perms: str = "wa") -> list[str]:
    """The ``paths`` a watch covers for the access kinds in ``perms`` (default: writes and attribute changes).

    A watch without ``-p`` covers every kind; a ``-p r`` watch records reads, not changes; ``never`` rules
    suppress records."""
    covered = []
    for path in paths:
        for rule in rules:
            if rule.action == "never" or (rule.perms and not set(rule.perms) & set(perms)):
                continue
            if any(w == path or (path.startswith(w + "/") and w != "/") for w in rule.watches):
                covered.append(path)
                break
    return covered


def _syscall(rules: tuple[AuditRule, ...], *names: str) -> list[str]:
    seen = {s for r in rules for s in r.syscalls}
    return [n for n in names if n in seen]


AUDIT_CATEGORIES: dict[str, tuple[str, Any]] = {
    "identity": ("changes to /etc/passwd, group, shadow, gshadow",
                 lambda r: len(_watch(r, "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow")) == 4),
    "sudoers": ("changes to /etc/sudoers or /etc/sudoers.d",
                lambda r: bool(_watch(r, "/etc/sudoers", "/etc/sudoers.d"))),
    "logins": ("login/logout and failed-login records (lastlog, faillock, wtmp/btmp)",
               lambda r: bool(_watch(r, "/var/log/lastlog", "/var/run/faillock", "/run/faillock", "/var/log/faillog",
                                     "/var/log/tallylog", "/var/log/wtmp", "/var/log/btmp"))),
    "time-change": ("clock changes (adjtimex, settimeofday, clock_settime, /etc/localtime)",
                    lambda r: bool(_syscall(r, "adjtimex", "settimeofday", "clock_settime", "stime"))
                    or bool(_watch(r, "/etc/localtime"))),
    "modules": ("kernel module loading (init_module, finit_module, delete_module)",
                lambda r: bool(_syscall(r, "init_module", "finit_module", "delete_module"))
                or bool(_watch(r, "/sbin/insmod", "/usr/sbin/insmod", "/usr/bin/kmod", "/sbin/modprobe",
                               "/usr/sbin/modprobe", perms="x"))),
    "sshd-config": ("changes to /etc/ssh/sshd_config", lambda r: bool(_watch(r, "/etc/ssh/sshd_config"))),
    "mounts": ("mount operations", lambda r: bool(_syscall(r, "mount", "umount2"))),
    "privileged": ("execution of privileged commands (sudo, su, setuid programs)",
                   lambda r: any(("x" in rule.perms and rule.watches) or "execve" in rule.syscalls for rule in r)),
    "perm-mod": ("permission and ownership changes (chmod/chown/setxattr families)",
                 lambda r: bool(_syscall(r, "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat",
                                         "setxattr", "lsetxattr", "fsetxattr"))),
    "access": ("failed file access (EACCES/EPERM)",
               lambda r: any(any(f in ("exit=-EACCES", "exit=-EPERM", "exit=-13", "exit=-1") for f in rule.fields)
                             for rule in r)),
}
DEFAULT_AUDIT_CATEGORIES = ["identity", "sudoers", "logins", "time-change", "modules", "sshd-config", "mounts",
                            "privileged", "perm-mod"]


@check("linux.audit.rules",
       title="Audit rules cover identity, privilege, login, time, module and mount events",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="high",
       params={"required_categories": DEFAULT_AUDIT_CATEGORIES},
       remediation=("Add rules under /etc/audit/rules.d/ (e.g. from /usr/share/doc/auditd/examples/rules on Debian or "
                    "/usr/share/audit/sample-rules on RHEL: 30-stig.rules, 31-privileged.rules), for instance "
                    "`-w /etc/passwd -p wa -k identity`, `-a always,exit -F arch=b64 -S adjtimex,settimeofday,"
                    "clock_settime -k time-change`, `-a always,exit -F arch=b64 -S init_module,finit_module,"
                    "delete_module -k modules`; then `augenrules --load` (both families)."))
def audit_rules(sys_audit_rules: AuditRules, params: dict[str, Any]) -> Verdict:
    """A running auditd records only what the rules select; SR 2.8 names access control, OS events,
    backup/restore, configuration changes and audit log events as auditable categories."""
    required = list(params.get("required_categories") or DEFAULT_AUDIT_CATEGORIES)
    unknown = [c for c in required if c not in AUDIT_CATEGORIES]
    if unknown:
        return error(f"unknown audit rule categories in the profile: {unknown}; known: {sorted(AUDIT_CATEGORIES)}")
    expected = "loaded rules for: " + ", ".join(required)
    tool = sys_audit_rules.tool
    if tool.state == "absent":
        return failed({"auditctl": "absent"}, expected, "auditctl not found: auditd is not installed")
    if tool.state != "ok":
        return error(f"auditctl -l {tool.state}: {tool.detail}; {ROOT_HINT}")
    rules = tuple(r for r in sys_audit_rules.rules if r.action != "never")
    covered = {c: bool(AUDIT_CATEGORIES[c][1](rules)) for c in required}
    missing = [c for c, ok in covered.items() if not ok]
    observed = {"rules": len(rules), "covered": sorted(c for c, ok in covered.items() if ok), "missing": missing}
    if not rules:
        return failed(observed, expected, "no audit rules are loaded (auditctl -l: No rules)")
    if missing:
        return failed(observed, expected, "no rule for: " + "; ".join(AUDIT_CATEGORIES[c][0] for c in missing))
    return passed(observed, expected, f"{len(rules)} rules cover all {len(required)} categories")


@check("linux.audit.immutable",
       title="Audit configuration locked (immutable) until reboot",
       requirements=["SR 3.9", "CR 3.9"], applies_to=["host"], severity="medium",
       remediation=("Make `-e 2` the last rule (Debian/Ubuntu and RHEL: /etc/audit/rules.d/99-finalize.rules), "
                    "then `augenrules --load` or reboot. Rule changes then require a reboot."))
def audit_immutable(sys_audit_status: AuditStatus) -> Verdict:
    """Protection of audit information (SR 3.9): with ``enabled 2`` not even root can silently delete or
    change audit rules to hide its tracks without a reboot, which is itself visible."""
    tool = sys_audit_status.tool
    expected = "auditctl -s: enabled 2"
    if tool.state == "absent":
        return failed({"auditctl": "absent"}, expected, "auditctl not found: auditd is not installed")
    if tool.state != "ok":
        return error(f"auditctl -s {tool.state}: {tool.detail}; {ROOT_HINT}")
    enabled = sys_audit_status.enabled
    if enabled == 2:
        return passed({"enabled": 2}, expected, "audit rules are locked until reboot")
    return failed({"enabled": enabled}, expected,
                  "audit rules can be changed at run time by root (enabled %s)" % enabled)


_WARN_ACTIONS = {"email", "exec", "syslog", "single", "halt"}


@check("linux.audit.capacity",
       title="Audit storage bounded, with a warning threshold and a defined response to failures",
       requirements=["SR 2.9", "SR 2.9 RE1", "SR 2.10", "CR 2.9", "CR 2.9 RE1", "CR 2.10"],
       applies_to=["host"], severity="medium",
       params={"halt_allowed": False, "require_separate_partition": False},
       remediation=("In /etc/audit/auditd.conf (Debian/Ubuntu and RHEL) set `max_log_file` and `num_logs`, "
                    "`max_log_file_action = keep_logs` or `rotate`, `space_left = 25%` with `space_left_action = "
                    "email` (and `action_mail_acct`) or `syslog`, `admin_space_left_action = single` or `suspend`, "
                    "`disk_full_action` and `disk_error_action` = `suspend`/`syslog` (use `halt` only where stopping "
                    "the host is acceptable), then `service auditd restart` (RHEL: `service`, not systemctl). "
                    "Put /var/log/audit on its own filesystem."))
def audit_capacity(sys_audit_config: AuditSystem, params: dict[str, Any]) -> Verdict:
    """Audit storage must be sized and monitored (SR 2.9), warn before it is full (SR 2.9 RE1), and a full
    or failing disk must trigger a defined response rather than silent loss (SR 2.10). Halting the host
    on audit failure trades availability of essential functions for audit completeness: on a control
    host that needs a documented decision (62443-3-3 §4.2)."""
    conf = sys_audit_config.auditd_conf
    expected = ("space_left_action warns (email/exec/syslog/single), admin_space_left/disk_full/disk_error actions "
                "defined (not ignore), max_log_file_action not ignore")
    if conf.state == "missing":
        return failed({"auditd.conf": "missing"}, expected, "/etc/audit/auditd.conf not found: auditd not installed")
    if conf.state == "unreadable":
        return error(f"/etc/audit/auditd.conf not readable ({conf.detail}); {ROOT_HINT}")
    values = {k: v.lower() for k, v in conf.values.items()}
    keys = ("max_log_file", "num_logs", "max_log_file_action", "space_left", "space_left_action",
            "admin_space_left", "admin_space_left_action", "disk_full_action", "disk_error_action")
    observed: dict[str, Any] = {k: values.get(k) for k in keys}
    separate = any(m in ("/var/log/audit", "/var/log") for m in sys_audit_config.mounts)
    observed["separate_partition"] = separate if sys_audit_config.mounts else None
    problems = []
    action = values.get("space_left_action", "ignore").split()[0] if values.get("space_left_action") else "ignore"
    if action not in _WARN_ACTIONS:
        problems.append(f"space_left_action = {action} gives no warning before the audit disk fills")
    if not values.get("space_left") or values.get("space_left", "").rstrip("%") in ("0", ""):
        problems.append("space_left threshold not set")
    for key in ("admin_space_left_action", "disk_full_action", "disk_error_action", "max_log_file_action"):
        value = (values.get(key) or "ignore").split()[0]
        if value == "ignore":
            problems.append(f"{key} = ignore (audit records silently lost or storage unbounded)")
        elif value == "halt" and key != "max_log_file_action" and not params.get("halt_allowed"):
            problems.append(f"{key} = halt stops the host (essential-function caveat: set halt_allowed or waive "
                            "if this is a documented decision)")
    if params.get("require_separate_partition") and sys_audit_config.mounts and not separate:
        problems.append("/var/log/audit is not on its own filesystem")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected, f"space_left_action {action}, disk_full_action {values.get('disk_full_action')}")
