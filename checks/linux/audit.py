"""Linux audit, logging and time: auditd state and rules, audit storage, log protection and
forwarding, journald persistence, time synchronisation and time-source authentication.

Reads: ``auditctl -s`` and ``auditctl -l`` (root-only: requested with sudo; without it the checks
that need them say so instead of guessing), ``timedatectl show``, ``chronyc -n tracking``, plus the
shared file dump, stat listing, unit list and package list of :mod:`checks.linux.inventory`.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from auditor.facts import CommandOutput, FactEvidence
from auditor.registry import check, fact, ssh_exec
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.inventory import (FILES, ROOT_HINT, Packages, Stats, Units, files_of, needs_root, strip_comments,
                                    texts, to_int, tool_absent, unreadable)
from checks.linux.parsing import FileRead, key_values

AUDIT_STATUS = ssh_exec("auditctl -s", sudo=True)
AUDIT_RULES = ssh_exec("auditctl -l", sudo=True)
TIMEDATE = ssh_exec("timedatectl show")
CHRONY_TRACKING = ssh_exec("chronyc -n tracking")

AUDITD_PACKAGES = ("auditd", "audit")


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ToolState:
    """How a privileged tool answered: ``ok``, ``absent`` (not installed), ``needs-root`` or ``failed``."""

    state: str
    detail: str = ""
    sudo: bool = False


def tool_state(out: CommandOutput) -> ToolState:
    first = (out.stdout.strip().splitlines() or [""])[0][:200]
    if tool_absent(out):
        return ToolState("absent", first, out.sudo)
    if needs_root(out):
        return ToolState("needs-root", first, out.sudo)
    if out.exit_code not in (0, None):
        return ToolState("failed", first or f"exit {out.exit_code}", out.sudo)
    return ToolState("ok", "", out.sudo)


@dataclass(frozen=True)
class AuditStatus:
    tool: ToolState
    values: dict[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> int | None:
        return to_int(self.values.get("enabled"))

    @property
    def pid(self) -> int | None:
        return to_int(self.values.get("pid"))


def parse_audit_status(out: CommandOutput) -> AuditStatus:
    state = tool_state(out)
    values: dict[str, str] = {}
    for line in out.stdout.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and re.fullmatch(r"[a-z_]+", parts[0]):
            values[parts[0]] = parts[1].strip()
    if state.state == "ok" and "enabled" not in values:
        state = ToolState("failed", "auditctl -s printed no 'enabled' line", out.sudo)
    return AuditStatus(state, values)


@fact("sys_audit_status", protocol="ssh", requests=[AUDIT_STATUS])
def sys_audit_status(ev: FactEvidence) -> AuditStatus:
    """Kernel audit status from ``auditctl -s`` (enabled 0/1/2, auditd pid, failure mode, backlog)."""
    return parse_audit_status(ev.command(AUDIT_STATUS))


@dataclass(frozen=True)
class AuditRule:
    text: str
    watches: tuple[str, ...]       # watched paths (-w, -F path=, -F dir=)
    syscalls: tuple[str, ...]
    perms: str
    fields: tuple[str, ...]        # raw "-F" fields
    action: str                    # always / never / "" for -w


@dataclass(frozen=True)
class AuditRules:
    tool: ToolState
    rules: tuple[AuditRule, ...] = ()


def parse_audit_rule(line: str) -> AuditRule | None:
    try:
        tokens = shlex.split(line)
    except ValueError:
        tokens = line.split()
    if not tokens or tokens[0] not in ("-w", "-a", "-A"):
        return None
    watches: list[str] = []
    syscalls: list[str] = []
    fields: list[str] = []
    perms, action = "", ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token == "-w":
            watches.append(value.rstrip("/") or "/")
            i += 2
        elif token in ("-a", "-A"):
            action = value.split(",")[0] if value.split(",")[0] in ("always", "never") else value.split(",")[-1]
            i += 2
        elif token == "-S":
            syscalls.extend(s for s in value.split(",") if s)
            i += 2
        elif token == "-p":
            perms = value
            i += 2
        elif token == "-F":
            fields.append(value)
            key, _, val = value.partition("=")
            if key in ("path", "dir"):
                watches.append(val.rstrip("/") or "/")
            elif key == "perm":
                perms = val
            i += 2
        else:
            i += 1
    return AuditRule(line.strip(), tuple(watches), tuple(syscalls), perms, tuple(fields), action or "always")


def parse_audit_rules(out: CommandOutput) -> AuditRules:
    state = tool_state(out)
    if state.state != "ok":
        return AuditRules(state)
    rules = [r for line in out.stdout.splitlines() if (r := parse_audit_rule(line.strip())) is not None]
    return AuditRules(state, tuple(rules))


@fact("sys_audit_rules", protocol="ssh", requests=[AUDIT_RULES])
def sys_audit_rules(ev: FactEvidence) -> AuditRules:
    """Loaded kernel audit rules from ``auditctl -l`` ("No rules" gives an empty list)."""
    return parse_audit_rules(ev.command(AUDIT_RULES))


@dataclass(frozen=True)
class ConfigFile:
    """A key=value configuration file: ``state`` is ok, missing or unreadable."""

    path: str
    state: str
    values: dict[str, str] = field(default_factory=dict)
    detail: str = ""


def config_file(files: dict[str, FileRead], path: str, separator: str = "=") -> ConfigFile:
    read = files.get(path)
    if read is None or (read.content is None and not read.exists):
        return ConfigFile(path, "missing")
    if read.content is None:
        return ConfigFile(path, "unreadable", detail=read.error or "")
    values = {k: v.strip() for k, v in key_values(read.content, separator=separator).items()}
    return ConfigFile(path, "ok", values)


@dataclass(frozen=True)
class AuditSystem:
    """auditd.conf settings, the kernel command line and the mount points (for the audit partition)."""

    auditd_conf: ConfigFile
    cmdline: str | None
    mounts: tuple[str, ...]


@fact("sys_audit_config", protocol="ssh", requests=[FILES])
def sys_audit_config(ev: FactEvidence) -> AuditSystem:
    """/etc/audit/auditd.conf (root-only on most distributions), /proc/cmdline and /proc/mounts."""
    files = files_of(ev)
    cmdline = files.get("/proc/cmdline")
    mounts_read = files.get("/proc/mounts")
    mounts_text = (mounts_read.content or "") if mounts_read is not None else ""
    mounts = tuple(line.split()[1] for line in mounts_text.splitlines() if len(line.split()) >= 3)
    return AuditSystem(config_file(files, "/etc/audit/auditd.conf"),
                       cmdline.content.strip() if cmdline is not None and cmdline.content is not None else None,
                       mounts)


# --- logging configuration -------------------------------------------------------------------

@dataclass(frozen=True)
class Forward:
    via: str            # rsyslog / syslog-ng / journal-upload / audisp-remote
    target: str
    transport: str      # udp / tcp / relp / https / ...
    tls: bool
    source: str         # file it was found in


@dataclass(frozen=True)
class Logging:
    journald: dict[str, str]
    forwards: tuple[Forward, ...]
    unreadable: tuple[str, ...]


_LEGACY_FWD = re.compile(r"^\s*(?P<sel>[\w*,;.!=\-]+\.[\w*!=\-]+(?:;[\w*,.!=\-]+)*)\s+-?(?P<proto>@@?|:omrelp:|:omfwd:)"
                         r"(?:\([^)]*\))?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:;]+)(?::(?P<port>\d+))?")
_ACTION = re.compile(r"action\s*\((?P<body>[^)]*)\)", re.S | re.I)
_PARAM = re.compile(r"(?P<key>[A-Za-z.]+)\s*=\s*\"(?P<value>[^\"]*)\"")


def rsyslog_forwards(path: str, text: str, global_tls: bool) -> list[Forward]:
    clean = strip_comments(text)
    found: list[Forward] = []
    for line in clean.splitlines():
        match = _LEGACY_FWD.match(line)
        if match:
            proto = {"@": "udp", "@@": "tcp", ":omrelp:": "relp", ":omfwd:": "tcp"}[match["proto"]]
            found.append(Forward("rsyslog", match["host"] + (f":{match['port']}" if match["port"] else ""), proto,
                                 global_tls and proto == "tcp", path))
    for action in _ACTION.finditer(clean):
        params = {m["key"].lower(): m["value"] for m in _PARAM.finditer(action["body"])}
        kind = params.get("type", "").lower()
        if kind not in ("omfwd", "omrelp"):
            continue
        driver = params.get("streamdriver", params.get("streamdriver.name", "")).lower()
        tls = (driver in ("gtls", "ossl") and params.get("streamdrivermode", "1") != "0") or \
              params.get("tls", "").lower() == "on" or (global_tls and not driver)
        transport = "relp" if kind == "omrelp" else params.get("protocol", "udp").lower()
        found.append(Forward("rsyslog", params.get("target", "?") + (f":{params['port']}" if "port" in params else ""),
                             transport, tls and transport != "udp", path))
    return found


def syslog_ng_forwards(path: str, text: str) -> list[Forward]:
    clean = strip_comments(text)
    found: list[Forward] = []
    for block in re.finditer(r"destination\s+[\w\-]+\s*\{(?P<body>.*?)\}\s*;", clean, re.S):
        body = block["body"]
        for driver in re.finditer(r"\b(?P<kind>network|tcp6?|udp6?|syslog)\s*\(\s*\"?(?P<host>[^\"\s)]+)", body):
            tls = bool(re.search(r"transport\s*\(\s*\"?tls|\btls\s*\(", body))
            kind = driver["kind"]
            transport = "tls" if tls else ("udp" if kind.startswith("udp") else "tcp")
            if kind in ("network", "syslog") and not tls:
                t = re.search(r"transport\s*\(\s*\"?(\w+)", body)
                transport = t.group(1).lower() if t else ("tcp" if kind == "syslog" else "udp")
            found.append(Forward("syslog-ng", driver["host"], transport, tls, path))
    return found


def parse_logging(files: dict[str, FileRead]) -> Logging:
    journald: dict[str, str] = {}
    for _path, text in texts(files, "/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/*.conf"):
        journald.update({k.lower(): v for k, v in key_values(text, separator="=").items()})
    rsyslog = texts(files, "/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf")
    all_rsyslog = "\n".join(strip_comments(t) for _, t in rsyslog)
    global_tls = bool(re.search(r"(\$DefaultNetstreamDriver\s+|DefaultNetstreamDriver\s*=\s*\")(gtls|ossl)",
                                all_rsyslog, re.I)) and \
        bool(re.search(r"(\$ActionSendStreamDriverMode\s+1|StreamDriverMode\s*=\s*\"1)", all_rsyslog, re.I))
    forwards: list[Forward] = []
    for path, text in rsyslog:
        forwards.extend(rsyslog_forwards(path, text, global_tls))
    for path, text in texts(files, "/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/*.conf"):
        forwards.extend(syslog_ng_forwards(path, text))
    upload = config_file(files, "/etc/systemd/journal-upload.conf")
    url = upload.values.get("url")
    if url:
        forwards.append(Forward("journal-upload", url, "https" if url.startswith("https") else "http",
                                url.startswith("https"), upload.path))
    plugin = config_file(files, "/etc/audit/plugins.d/au-remote.conf")
    remote = config_file(files, "/etc/audit/audisp-remote.conf")
    if plugin.values.get("active", "").lower() == "yes" and remote.values.get("remote_server"):
        transport = remote.values.get("transport", "tcp").lower()
        forwards.append(Forward("audisp-remote", remote.values["remote_server"], transport, transport == "krb5",
                                remote.path))
    hidden = unreadable(files, "/etc/rsyslog*", "/etc/syslog-ng/*", "/etc/audit/plugins.d/*",
                        "/etc/audit/audisp-remote.conf", "/etc/systemd/journal*")
    return Logging(journald, tuple(forwards), tuple(hidden))


@fact("sys_logging", protocol="ssh", requests=[FILES])
def sys_logging(ev: FactEvidence) -> Logging:
    """journald settings and every log forwarding rule found in rsyslog, syslog-ng, journal-upload, audisp."""
    return parse_logging(files_of(ev))


# --- time ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tracking:
    tool: ToolState
    reference_id: str | None = None
    reference_name: str | None = None
    stratum: int | None = None
    offset_seconds: float | None = None
    leap_status: str | None = None


def parse_tracking(out: CommandOutput) -> Tracking:
    state = tool_state(out)
    values: dict[str, str] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            values[key.strip().lower()] = value.strip()
    if state.state != "ok" or "leap status" not in values:
        if state.state == "ok":
            state = ToolState("failed", (out.stdout.strip().splitlines() or ["empty output"])[0][:200], out.sudo)
        return Tracking(state)
    ref = re.match(r"^([0-9A-Fa-f]{8})\s*\(([^)]*)\)", values.get("reference id", ""))
    offset = None
    match = re.match(r"^(\d+(?:\.\d+)?)\s+seconds\s+(fast|slow)", values.get("system time", ""), re.ASCII)
    if match:
        offset = float(match.group(1)) * (1 if match.group(2) == "fast" else -1)
    return Tracking(state, ref.group(1).upper() if ref else None, ref.group(2) if ref else None,
                    to_int(values.get("stratum")), offset, values.get("leap status"))


@dataclass(frozen=True)
class TimeSource:
    daemon: str          # chrony / ntp / timesyncd
    kind: str            # server / pool / peer / refclock / sourcedir / NTP / FallbackNTP
    address: str
    authenticated: bool
    source: str


@dataclass(frozen=True)
class TimeState:
    timedate: dict[str, str]
    timedate_tool: ToolState
    tracking: Tracking
    sources: tuple[TimeSource, ...]


def parse_time_sources(files: dict[str, FileRead]) -> list[TimeSource]:
    sources: list[TimeSource] = []
    chrony_files = texts(files, "/etc/chrony.conf", "/etc/chrony/chrony.conf", "/etc/chrony/conf.d/*.conf",
                         "/etc/chrony/sources.d/*.sources")
    for path, text in chrony_files:
        for line in strip_comments(text).splitlines():
            words = line.split()
            if not words:
                continue
            directive = words[0].lower()
            if directive in ("server", "pool", "peer") and len(words) >= 2:
                options = [w.lower() for w in words[2:]]
                sources.append(TimeSource("chrony", directive, words[1], "nts" in options or "key" in options, path))
            elif directive == "refclock" and len(words) >= 2:
                sources.append(TimeSource("chrony", "refclock", " ".join(words[1:3]), True, path))
            elif directive == "sourcedir" and len(words) >= 2:
                sources.append(TimeSource("chrony", "sourcedir", words[1], False, path))
    for path, text in texts(files, "/etc/ntp.conf", "/etc/ntpsec/ntp.conf"):
        for line in strip_comments(text).splitlines():
            words = line.split()
            if len(words) >= 2 and words[0].lower() in ("server", "pool", "peer"):
                options = [w.lower() for w in words[2:]]
                local = words[1].startswith("127.127.")
                sources.append(TimeSource("ntp", "refclock" if local else words[0].lower(), words[1],
                                          local or "nts" in options or "key" in options or "autokey" in options, path))
    for path, text in texts(files, "/etc/systemd/timesyncd.conf", "/etc/systemd/timesyncd.conf.d/*.conf"):
        values = key_values(text, separator="=", lower_keys=False)
        for key in ("NTP", "FallbackNTP"):
            for server in values.get(key, "").split():
                sources.append(TimeSource("timesyncd", key, server, False, path))
    return sources


@fact("sys_time", protocol="ssh", requests=[TIMEDATE, CHRONY_TRACKING, FILES])
def sys_time(ev: FactEvidence) -> TimeState:
    """Clock synchronisation state (timedatectl, chronyc tracking) and the configured time sources."""
    timedate_out = ev.command(TIMEDATE)
    timedate = {k: v for k, v in key_values(timedate_out.stdout, separator="=", lower_keys=False).items()
                if re.fullmatch(r"[A-Za-z]+", k)} if not tool_absent(timedate_out) else {}
    td_state = tool_state(timedate_out)
    if td_state.state == "ok" and "NTPSynchronized" not in timedate:
        td_state = ToolState("failed", (timedate_out.stdout.strip().splitlines() or ["no output"])[0][:200])
    return TimeState(timedate, td_state, parse_tracking(ev.command(CHRONY_TRACKING)),
                     tuple(parse_time_sources(files_of(ev))))


# --------------------------------------------------------------------------------------------
# Checks: auditd
# --------------------------------------------------------------------------------------------

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
            return passed(observed, expected, "auditd.service is active (kernel audit status not readable: "
                          f"{status.tool.detail or ROOT_HINT})")
        return failed(observed, expected, f"auditd.service is {unit.active} ({unit.sub})")
    return error(f"auditd state unknown: auditctl -s {status.tool.state} ({status.tool.detail}); {ROOT_HINT}",
                 observed)


#: audit rule categories: name -> (description, predicate over the rule list)
def _watch(rules: tuple[AuditRule, ...], *paths: str) -> list[str]:
    covered = []
    for path in paths:
        for rule in rules:
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
                               "/usr/sbin/modprobe"))),
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


# --------------------------------------------------------------------------------------------
# Checks: logs
# --------------------------------------------------------------------------------------------

LOG_FILES = ("/var/log/audit/audit.log", "/var/log/messages", "/var/log/secure", "/var/log/syslog", "/var/log/auth.log")


@check("linux.log.permissions",
       title="Audit and system log files readable only by root and the log group",
       requirements=["SR 3.9", "CR 3.9", "SR 6.1", "CR 6.1"], applies_to=["host"], severity="medium",
       params={"owners": ["root", "syslog"], "file_mode_max": "0640", "audit_dir_mode_max": "0750"},
       remediation=("`chmod 0750 /var/log/audit; chmod 0600 /var/log/audit/audit.log` and `log_group = root` in "
                    "auditd.conf; `chmod 0640 /var/log/syslog /var/log/auth.log` (Debian/Ubuntu, rsyslog "
                    "`$FileCreateMode 0640`) or `chmod 0600 /var/log/messages /var/log/secure` (RHEL)."))
def log_permissions(sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """Audit records and security logs must be protected from unauthorised read, change and deletion
    (SR 3.9); world-readable logs also leak user names, mistyped passwords and addresses."""
    try:
        file_max = int(str(params.get("file_mode_max", "0640")), 8)
        dir_max = int(str(params.get("audit_dir_mode_max", "0750")), 8)
    except ValueError:
        return error("file_mode_max / audit_dir_mode_max must be octal strings such as '0640'")
    owners = set(params.get("owners") or ["root"])
    expected = f"log files mode <= {file_max:04o}, /var/log/audit <= {dir_max:04o}, owned by {sorted(owners)}"
    observed: dict[str, Any] = {}
    problems = []
    directory = sys_stats.get("/var/log/audit")
    if directory is not None:
        observed["/var/log/audit"] = f"{directory.mode:04o} {directory.owner}:{directory.group}"
        if directory.mode & 0o777 & ~dir_max:
            problems.append(f"/var/log/audit mode {directory.mode:04o}")
        if directory.owner not in owners:
            problems.append(f"/var/log/audit owned by {directory.owner}")
    for path in LOG_FILES:
        stat = sys_stats.get(path)
        if stat is None:
            if path in sys_stats.errors and "No such file" not in sys_stats.errors[path]:
                observed[path] = sys_stats.errors[path]
            continue
        observed[path] = f"{stat.mode:04o} {stat.owner}:{stat.group}"
        if stat.mode & 0o777 & ~file_max:
            problems.append(f"{path} mode {stat.mode:04o}")
        if stat.owner not in owners:
            problems.append(f"{path} owned by {stat.owner}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not observed:
        return manual("no classic log file found (journald only?); verify /var/log/journal file modes (0640, "
                      "group systemd-journal/adm)", expected, observed)
    hidden = [p for p, v in observed.items() if "denied" in str(v).lower()]
    note = f"; not stat-able without root (protected by their directory): {hidden}" if hidden else ""
    return passed(observed, expected, "log files and /var/log/audit restricted" + note)


FORWARDING_AGENTS = ["wazuh-agent", "splunkforwarder", "SplunkForwarder", "filebeat", "auditbeat", "elastic-agent",
                     "fluent-bit", "td-agent-bit", "td-agent", "fluentd", "nxlog", "vector", "otelcol-contrib",
                     "datadog-agent", "amazon-cloudwatch-agent", "google-cloud-ops-agent", "ossec"]


@check("linux.log.remote-forwarding",
       title="Logs forwarded to a central collector",
       requirements=["SR 2.8 RE1", "SR 6.2", "CR 6.2"], applies_to=["host"], severity="medium",
       params={"require_tls": False, "agents": FORWARDING_AGENTS},
       remediation=("Forward to the site's log collector/SIEM with rsyslog over TLS: in "
                    "/etc/rsyslog.d/90-forward.conf `*.* action(type=\"omfwd\" target=\"<collector>\" "
                    "port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\" "
                    "StreamDriverAuthMode=\"x509/name\")` (Debian/Ubuntu: `apt install rsyslog rsyslog-gnutls`; "
                    "RHEL: `dnf install rsyslog rsyslog-gnutls`), or systemd-journal-upload with an https URL, or "
                    "the site's SIEM agent; forward audit records with audisp-remote (Debian `audispd-plugins`, "
                    "RHEL `audispd-plugins`)."))
def remote_forwarding(sys_logging: Logging, sys_units: Units, params: dict[str, Any]) -> Verdict:
    """A centrally managed audit trail (SR 2.8 RE1) and continuous monitoring (SR 6.2) need the host's
    events at a collector; local logs are lost with the host and can be edited by an intruder."""
    require_tls = bool(params.get("require_tls"))
    expected = "an active log forwarder with a remote destination" + (" over TLS" if require_tls else "")
    daemons = {"rsyslog": sys_units.is_active("rsyslog"),
               "syslog-ng": sys_units.is_active("syslog-ng"),
               "journal-upload": sys_units.is_active("systemd-journal-upload"),
               "audisp-remote": sys_units.is_active("auditd")}
    active = [f for f in sys_logging.forwards if daemons.get(f.via, False) or not sys_units.available]
    agents = [a for a in (params.get("agents") or []) if sys_units.is_active(a)]
    observed: dict[str, Any] = {
        "forwards": [{"via": f.via, "target": f.target, "transport": f.transport, "tls": f.tls,
                      "daemon_active": daemons.get(f.via)} for f in sys_logging.forwards],
        "agents": agents}
    if not active and not agents:
        if sys_logging.forwards:
            return failed(observed, expected, "forwarding is configured but its daemon is not running")
        if sys_logging.unreadable:
            return error(f"log configuration not readable: {list(sys_logging.unreadable)}; {ROOT_HINT}", observed)
        return failed(observed, expected, "no log forwarding rule and no forwarding agent found")
    if require_tls:
        if any(f.tls for f in active):
            return passed(observed, expected, "TLS forwarding to " + ", ".join(f.target for f in active if f.tls))
        if agents:
            return manual(f"agent(s) {agents} forward logs; verify their transport is TLS-protected", expected,
                          observed)
        return failed(observed, expected, "logs are forwarded without TLS: " + ", ".join(
            f"{f.via} -> {f.target} ({f.transport})" for f in active))
    targets = [f"{f.via} -> {f.target} ({f.transport}{', tls' if f.tls else ''})" for f in active] + agents
    return passed(observed, expected, "forwarding: " + "; ".join(targets))


@check("linux.log.journald-persistent",
       title="System journal kept across reboots (persistent journal or a syslog daemon)",
       requirements=["SR 2.9", "CR 2.9"], applies_to=["host"], severity="low",
       remediation=("Set `Storage=persistent` (and a bound such as `SystemMaxUse=1G`) in "
                    "/etc/systemd/journald.conf.d/60-persistent.conf, or create /var/log/journal, then "
                    "`systemctl restart systemd-journald`; alternatively run rsyslog (Debian/Ubuntu `apt install "
                    "rsyslog`, RHEL `dnf install rsyslog`)."))
def journald_persistent(sys_logging: Logging, sys_stats: Stats, sys_units: Units) -> Verdict:
    """Audit storage capacity (SR 2.9) presumes records survive: a volatile journal loses all events of
    the incident when the host reboots or crashes."""
    storage = (sys_logging.journald.get("storage") or "auto").lower()
    journal_dir = sys_stats.exists("/var/log/journal")
    syslog_daemon = sys_units.first_active(["rsyslog", "syslog-ng"])
    observed = {"Storage": storage, "/var/log/journal": journal_dir, "syslog_daemon": syslog_daemon,
                "SystemMaxUse": sys_logging.journald.get("systemmaxuse")}
    expected = "Storage=persistent (or auto with /var/log/journal), or a running syslog daemon"
    if storage == "persistent" or (storage == "auto" and journal_dir):
        return passed(observed, expected, "journal stored in /var/log/journal")
    if syslog_daemon:
        return passed(observed, expected, f"{syslog_daemon} persists the logs")
    if storage == "auto" and journal_dir is None:
        return error("/var/log/journal could not be checked (stat refused)", observed)
    return failed(observed, expected, f"journal is volatile (Storage={storage}"
                  + (", no /var/log/journal" if storage == "auto" else "") + ") and no syslog daemon runs")


# --------------------------------------------------------------------------------------------
# Checks: time
# --------------------------------------------------------------------------------------------

TIME_DAEMONS = ("chronyd", "chrony", "systemd-timesyncd", "ntpd", "ntp", "ntpsec", "openntpd")


def _approved(address: str, approved: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(address.lower(), a.lower()) for a in approved)


@check("linux.time.synchronized",
       title="Clock synchronised to an (approved) time source",
       requirements=["SR 2.11", "SR 2.11 RE1", "CR 2.11", "CR 2.11 RE1"], applies_to=["host"], severity="medium",
       params={"max_offset_seconds": 1.0, "approved_sources": []},
       remediation=("Run chrony against the site's internal time servers: Debian/Ubuntu `apt install chrony`, RHEL "
                    "`dnf install chrony`; list `server <internal-ntp> iburst` in /etc/chrony/chrony.conf (Debian) "
                    "or /etc/chrony.conf (RHEL), remove public pools, `systemctl enable --now chronyd` (Debian "
                    "unit: chrony), check with `chronyc -n tracking`."))
def time_synchronized(sys_time: TimeState, sys_units: Units, params: dict[str, Any]) -> Verdict:
    """Audit timestamps (SR 2.11) are only comparable across hosts when every clock is synchronised to a
    common, approved source (SR 2.11 RE1, CR 2.11 RE1)."""
    try:
        max_offset = float(params.get("max_offset_seconds", 1.0))
    except (TypeError, ValueError):
        return error("max_offset_seconds must be a number")
    approved = [str(a) for a in (params.get("approved_sources") or [])]
    tracking = sys_time.tracking
    daemon = sys_units.first_active(TIME_DAEMONS) if sys_units.available else None
    configured = [s.address for s in sys_time.sources if s.kind not in ("refclock", "sourcedir")]
    observed: dict[str, Any] = {"daemon": daemon, "NTP": sys_time.timedate.get("NTP"),
                                "NTPSynchronized": sys_time.timedate.get("NTPSynchronized"),
                                "configured_sources": configured}
    expected = f"synchronised, |offset| <= {max_offset:g} s" + (f", sources within {approved}" if approved else "")
    problems: list[str] = []
    synced: bool | None = None
    if tracking.tool.state == "ok":
        observed.update(reference=tracking.reference_name or tracking.reference_id, stratum=tracking.stratum,
                        offset_seconds=tracking.offset_seconds, leap_status=tracking.leap_status)
        if tracking.reference_id == "7F7F0101" or tracking.reference_name in ("LOCL",):
            problems.append("chrony follows only its own local clock (local reference)")
            synced = False
        elif (tracking.leap_status or "").lower().startswith("not synchron") or not tracking.stratum \
                or tracking.stratum >= 16 or tracking.reference_id in (None, "00000000"):
            problems.append(f"chrony is not synchronised (leap status: {tracking.leap_status})")
            synced = False
        else:
            synced = True
            if tracking.offset_seconds is not None and abs(tracking.offset_seconds) > max_offset:
                problems.append(f"offset {tracking.offset_seconds:+.3f} s exceeds {max_offset:g} s")
            ref = tracking.reference_name or ""
            # with -n chronyc names the reference by address; configured sources may be host names, so the
            # reference itself is judged only when no configured (approved) source explains it
            if approved and ref and not _approved(ref, approved) and not configured:
                problems.append(f"reference {ref} is not an approved source")
    elif sys_time.timedate_tool.state == "ok":
        synced = sys_time.timedate.get("NTPSynchronized") == "yes"
        if not synced:
            problems.append("timedatectl: NTPSynchronized=no"
                            + (" and NTP=no (no synchronisation service enabled)"
                               if sys_time.timedate.get("NTP") == "no" else ""))
    if approved:
        unapproved = [s for s in configured if not _approved(s, approved)]
        if unapproved:
            problems.append(f"configured sources not approved: {unapproved}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if synced:
        how = (f"chrony stratum {tracking.stratum}, offset {tracking.offset_seconds:+.6f} s"
               if tracking.tool.state == "ok" and tracking.offset_seconds is not None
               else "timedatectl NTPSynchronized=yes")
        return passed(observed, expected, how)
    if sys_units.available and daemon is None:
        return failed(observed, expected, "no time synchronisation service is running")
    return manual(f"synchronisation state unknown (timedatectl {sys_time.timedate_tool.state}, chronyc "
                  f"{tracking.tool.state}); verify with `chronyc tracking` or `ntpq -pn`", expected, observed)


@check("linux.time.authenticated",
       title="Time sources authenticated (NTS or symmetric keys)",
       requirements=["SR 2.11 RE2", "CR 2.11 RE2"], applies_to=["host"], severity="low",
       remediation=("Use chrony with NTS (`server <ntp> iburst nts`) or symmetric keys (`server <ntp> key 1` with "
                    "/etc/chrony/chrony.keys on Debian, /etc/chrony.keys on RHEL); systemd-timesyncd cannot "
                    "authenticate its sources, replace it with chrony (`apt install chrony` / `dnf install chrony`)."))
def time_authenticated(sys_time: TimeState, sys_units: Units) -> Verdict:
    """Protection of time source integrity (SR 2.11 RE2): an attacker who can shift the clock can break
    certificate validation, log correlation and time-based interlocks."""
    expected = "every network time source uses NTS or a symmetric key"
    daemon = sys_units.first_active(TIME_DAEMONS) if sys_units.available else None
    family = {"chronyd": "chrony", "chrony": "chrony", "systemd-timesyncd": "timesyncd", "ntpd": "ntp",
              "ntp": "ntp", "ntpsec": "ntp"}.get(daemon or "", None)
    sources = [s for s in sys_time.sources if family is None or s.daemon == family]
    observed = {"daemon": daemon, "sources": [{"address": s.address, "kind": s.kind, "authenticated": s.authenticated}
                                              for s in sources]}
    if family == "timesyncd":
        return failed(observed, expected, "systemd-timesyncd cannot authenticate its time sources")
    if daemon == "openntpd":
        return manual("openntpd active: verify its constraints/TLS settings", expected, observed)
    network = [s for s in sources if s.kind not in ("refclock", "sourcedir")]
    if not network:
        if any(s.kind == "refclock" for s in sources):
            return passed(observed, expected, "only local reference clocks (GPS/PTP hardware)")
        if sys_units.available and daemon is None:
            return failed(observed, expected, "no time synchronisation service is running")
        return manual("no time source found in the readable configuration (sources from DHCP or sourcedir?); "
                      "verify that the effective sources are authenticated", expected, observed)
    weak = [s.address for s in network if not s.authenticated]
    if weak:
        return failed(observed, expected, f"unauthenticated time sources: {weak}")
    return passed(observed, expected, f"{len(network)} authenticated source(s)")
