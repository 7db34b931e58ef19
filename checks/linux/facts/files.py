"""The *system* reads shared by the facts of every Linux check but sshd, accounts, PAM and sudo.

Each is sent once per host whatever checks are selected:

* ``FILES``: one ``head -v`` dump of every configuration file, ``/proc/sys`` key and ``/sys`` flag
  the system checks read (run under ``sudo -n`` when allowed: auditd.conf, root's crontab and the
  AppArmor profile list are root-only; everything else is read the same way as a plain user);
* ``STAT``: the host clock (``date +%s``) and one ``stat`` line per file whose mode, owner or age
  matters (log files, password files, host keys, signature databases, package caches).

The systemd unit list is :mod:`checks.linux.facts.systemd`, the package lists
:mod:`checks.linux.facts.packages`.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from auditor.facts import CommandOutput, FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import first_line, tool_absent
from checks.linux.facts.parsing import FileRead, key_values, parse_files, read_files_command


# --------------------------------------------------------------------------------------------
# What the system modules read: keep every path here so the commands stay one per kind.
# --------------------------------------------------------------------------------------------

#: sysctl keys read from /proc/sys (one file each, inside the FILES dump: no PATH or sbin issue).
SYSCTL_KEYS: tuple[str, ...] = (
    "kernel.osrelease",
    "kernel.randomize_va_space", "kernel.kptr_restrict", "kernel.dmesg_restrict",
    "kernel.yama.ptrace_scope", "kernel.unprivileged_bpf_disabled", "kernel.kexec_load_disabled",
    "kernel.core_pattern", "kernel.core_uses_pid",
    "fs.suid_dumpable", "fs.protected_symlinks", "fs.protected_hardlinks", "fs.protected_fifos",
    "fs.protected_regular",
    "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv6.conf.default.forwarding",
    "net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.default.accept_redirects",
    "net.ipv4.conf.all.secure_redirects", "net.ipv4.conf.default.secure_redirects",
    "net.ipv4.conf.all.send_redirects", "net.ipv4.conf.default.send_redirects",
    "net.ipv4.conf.all.accept_source_route", "net.ipv4.conf.default.accept_source_route",
    "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter",
    "net.ipv4.conf.all.log_martians",
    "net.ipv4.tcp_syncookies", "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv6.conf.all.accept_redirects", "net.ipv6.conf.default.accept_redirects",
    "net.ipv6.conf.all.accept_source_route", "net.ipv6.conf.all.accept_ra", "net.ipv6.conf.all.disable_ipv6",
)


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


SYSTEM_FILES: tuple[str, ...] = (
    # identity, kernel, modules, mounts
    "/etc/os-release", "/usr/lib/os-release", "/proc/cmdline", "/proc/modules", "/proc/mounts",
    *(sysctl_path(k) for k in SYSCTL_KEYS),
    # audit and logging
    "/etc/audit/auditd.conf", "/etc/audit/plugins.d/au-remote.conf", "/etc/audit/audisp-remote.conf",
    "/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/*.conf",
    "/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf",
    "/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d/*.conf",
    "/etc/systemd/journal-upload.conf",
    # time
    "/etc/chrony.conf", "/etc/chrony/chrony.conf", "/etc/chrony/conf.d/*.conf", "/etc/chrony/sources.d/*.sources",
    "/etc/ntp.conf", "/etc/ntpsec/ntp.conf", "/etc/systemd/timesyncd.conf", "/etc/systemd/timesyncd.conf.d/*.conf",
    # packages and their signature policy
    "/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources",
    "/etc/apt/apt.conf", "/etc/apt/apt.conf.d/*",
    "/etc/dnf/dnf.conf", "/etc/yum.conf", "/etc/yum.repos.d/*.repo",
    # mandatory access control
    "/sys/fs/selinux/enforce", "/etc/selinux/config",
    "/sys/module/apparmor/parameters/enabled", "/sys/kernel/security/apparmor/profiles",
    # devices, core dumps, sessions, banners
    "/etc/modprobe.d/*.conf", "/etc/usbguard/rules.conf",
    "/etc/security/limits.conf", "/etc/security/limits.d/*.conf",
    "/etc/systemd/coredump.conf", "/etc/systemd/coredump.conf.d/*.conf",
    "/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc",
    "/etc/issue", "/etc/issue.net",
    # host firewall configuration (fallback when the live ruleset needs root)
    "/etc/ufw/ufw.conf", "/etc/default/ufw", "/etc/firewalld/firewalld.conf",
    "/etc/firewalld/zones/*.xml", "/usr/lib/firewalld/zones/*.xml",
    "/etc/nftables.conf", "/etc/sysconfig/nftables.conf",
    # scheduled jobs (FIM and backups)
    "/etc/crontab", "/etc/cron.d/*", "/etc/cron.daily/*", "/etc/cron.weekly/*",
    "/var/spool/cron/crontabs/root", "/var/spool/cron/root",
)

#: Files whose metadata matters. Globs are expanded by the shell on the target.
STAT_PATHS: tuple[str, ...] = (
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/ssh/ssh_host_*_key",
    "/var/log/audit", "/var/log/audit/audit.log", "/var/log/messages", "/var/log/secure",
    "/var/log/syslog", "/var/log/auth.log", "/var/log/journal",
    "/var/lib/apt/lists", "/var/cache/apt/pkgcache.bin", "/var/lib/apt/periodic/update-success-stamp",
    "/var/cache/dnf", "/var/cache/dnf/*/repodata/repomd.xml",
    "/var/lib/clamav/*.c[lv]d",
    "/var/lib/aide/aide.db", "/var/lib/aide/aide.db.gz", "/var/log/aide/aide.log",
    "/var/lib/tripwire/*.twd",
    "/run/reboot-required", "/sys/firmware/efi",
)


def _shell_paths(paths: Iterable[str]) -> str:
    return " ".join(p if any(ch in p for ch in "*?[") else shlex.quote(p) for p in paths)


FILES = ssh_exec(read_files_command(*SYSTEM_FILES), sudo=True, name="files.dump")
STAT = ssh_exec("date +%s; stat -L -c '%Y|%a|%U|%G|%F|%n' -- " + _shell_paths(STAT_PATHS), sudo=True,
                name="files.stat")


# --------------------------------------------------------------------------------------------
# The file dump
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _parsed_files(text: str) -> dict[str, FileRead]:
    return parse_files(text)


def files_of(ev: FactEvidence) -> dict[str, FileRead]:
    """The FILES dump as ``{path: FileRead}``.

    Output without a single ``==> path <==`` header or ``cannot open`` line is not a file dump at all
    (the command itself failed): that is a parse error, never "every file is missing".
    """
    out = ev.command(FILES)
    if tool_absent(out):
        raise FactUnavailable(f"head not available on the target: {first_line(out.stdout)}")
    files = _parsed_files(out.stdout)
    if not files:
        raise FactParseError(f"no file headers in the output of the file dump: {first_line(out.stdout)!r}")
    return dict(files)


def files_from(evidence: FactEvidence, req: Any, what: str) -> dict[str, FileRead]:
    """The ``head -v`` dump of ``req`` as ``{path: FileRead}``; ``what`` names it in the errors."""
    out = evidence.command(req)
    if out.exit_code == 127 and "==>" not in out.stdout:
        raise FactUnavailable(f"{what}: command not found on the target ({out.stdout.strip()[:120]})")
    files = parse_files(out.stdout)
    if not files:
        raise FactParseError(f"{what}: no file headers in the output: {out.stdout.strip()[:200]!r}")
    return files


@functools.lru_cache(maxsize=256)
def _globs(patterns: tuple[str, ...]) -> Callable[[str], Any]:
    """One compiled test for "matches any of these glob patterns" (what ``fnmatchcase`` does per pattern)."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or r"(?!)").match


def texts(files: dict[str, FileRead], *patterns: str) -> list[tuple[str, str]]:
    """``(path, content)`` of every readable file whose path matches one of the glob patterns, in order."""
    matches = _globs(patterns)
    return [(path, f.content) for path, f in files.items() if f.content is not None and matches(path)]


def unreadable(files: dict[str, FileRead], *patterns: str) -> list[str]:
    """Paths matching ``patterns`` that exist but could not be read (typically: needs root)."""
    matches = _globs(patterns)
    return [path for path, f in files.items() if f.content is None and f.exists and matches(path)]


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


# --- stat listing and host clock ---------------------------------------------------------------

@dataclass(frozen=True)
class FileStat:
    path: str
    mtime: int
    mode: int           # permission bits as an int (0o640)
    owner: str
    group: str
    kind: str           # "regular file", "directory", ...


@dataclass(frozen=True)
class Stats:
    """``stat`` results by path, the paths that could not be stat'ed and why, and the host clock."""

    now: int | None
    files: dict[str, FileStat] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)     # path -> "No such file or directory" / "Permission denied"

    def get(self, path: str) -> FileStat | None:
        return self.files.get(path)

    def matching(self, pattern: str) -> list[FileStat]:
        return [s for p, s in sorted(self.files.items()) if fnmatch.fnmatchcase(p, pattern)]

    def exists(self, path: str) -> bool | None:
        """True/False when known; None when stat was refused (permission) or not attempted."""
        if path in self.files:
            return True
        error = self.errors.get(path)
        if error is None:
            return None
        return False if "No such file" in error else None

    def age_days(self, stat: FileStat | None) -> float | None:
        if stat is None or self.now is None:
            return None
        return max(0.0, (self.now - stat.mtime) / 86400.0)


_STAT_LINE = re.compile(r"^(?P<mtime>-?\d{1,20})\|(?P<mode>[0-7]{1,5})\|(?P<owner>[^|]*)\|(?P<group>[^|]*)\|"
                        r"(?P<kind>[^|]*)\|(?P<path>/.*)$")
_STAT_ERROR = re.compile(r"^stat: cannot stat(?:x)? '(?P<path>[^']+)': (?P<reason>.+)$")


def parse_stats(out: CommandOutput) -> Stats:
    now: int | None = None
    files: dict[str, FileStat] = {}
    errors: dict[str, str] = {}
    for line in out.stdout.splitlines():
        line = line.rstrip("\r")
        if now is None and re.fullmatch(r"\d{9,11}", line.strip()):
            now = int(line.strip())
            continue
        match = _STAT_LINE.match(line)
        if match:
            files[match["path"]] = FileStat(match["path"], int(match["mtime"]), int(match["mode"], 8),
                                            match["owner"], match["group"], match["kind"])
            continue
        error = _STAT_ERROR.match(line)
        if error:
            errors[error["path"]] = error["reason"].strip()
    return Stats(now, files, errors)


@fact("sys_stats", protocol="ssh", requests=[STAT])
def sys_stats(ev: FactEvidence) -> Stats:
    """Host clock (epoch seconds) and mode/owner/mtime of the files whose metadata the checks judge."""
    return parse_stats(ev.command(STAT))
