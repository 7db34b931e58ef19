"""The Linux audit subsystem: kernel audit status, loaded rules and auditd's storage settings.

Reads: ``auditctl -s`` and ``auditctl -l`` (root-only: requested with sudo; without it the checks that
need them say so instead of guessing), plus auditd.conf, /proc/cmdline and /proc/mounts from the shared
file dump.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from auditor.facts import CommandOutput, FactEvidence
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import ToolState, tool_state
from checks.linux.facts.files import FILES, ConfigFile, config_file, files_of
from checks.linux.facts.parsing import to_int

AUDIT_STATUS = ssh_exec("auditctl -s", sudo=True, name="audit.status")
AUDIT_RULES = ssh_exec("auditctl -l", sudo=True, name="audit.rules")


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
