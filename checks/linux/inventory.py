"""Linux host inventory: OS identity and support status, installed packages, pending reboot.

This module is also the home of the *system* reads shared by the audit, integrity, network and
hardening modules, so that each is sent once per host whatever checks are selected:

* ``FILES``: one ``head -v`` dump of every configuration file, ``/proc/sys`` key and ``/sys`` flag
  the system checks read (run under ``sudo -n`` when allowed: auditd.conf, root's crontab and the
  AppArmor profile list are root-only; everything else is read the same way as a plain user);
* ``STAT``: the host clock (``date +%s``) and one ``stat`` line per file whose mode, owner or age
  matters (log files, password files, host keys, signature databases, package caches);
* ``UNITS``: the systemd unit list (services, sockets, timers) with load and active states;
* ``DPKG`` / ``RPM``: the installed package list (each is "not found" on the other family).

Every parser here tolerates a missing tool (exit 127) and returns an explicit "not available"
value instead of raising, so a check can tell "tool absent" (evidence) from "could not read".
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import functools
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Iterable

from auditor.evidence import EvidenceRequest
from auditor.facts import CommandOutput, FactEvidence, FactParseError, FactUnavailable
from auditor.registry import check, fact, ssh_exec
from auditor.verdicts import Verdict, failed, manual, passed
from checks.linux.parsing import FileRead, key_values, parse_files, read_files_command

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


FILES = ssh_exec(read_files_command(*SYSTEM_FILES), sudo=True)
STAT = ssh_exec("date +%s; stat -L -c '%Y|%a|%U|%G|%F|%n' -- " + _shell_paths(STAT_PATHS), sudo=True)
UNITS = ssh_exec("systemctl list-units --all --no-legend --no-pager --plain --type=service,socket,timer")
DPKG = ssh_exec("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\\n'")
RPM = ssh_exec("rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\\n'")

# --------------------------------------------------------------------------------------------
# Helpers shared by every system module
# --------------------------------------------------------------------------------------------

_NOT_FOUND = re.compile(r"(^|\n)(sudo: )?(sh: \d+: )?\S+: (command )?not found\s*$", re.I)
_NEEDS_ROOT = re.compile(
    r"must be root|permission denied|operation not permitted|a password is required|"
    r"not allowed to execute|you need to be root|requires root|only root can", re.I)


def tool_absent(out: CommandOutput) -> bool:
    """True when the shell said the program does not exist (exit 127, or sudo's 'command not found')."""
    if out.exit_code == 127:
        return True
    head = "\n".join(out.stdout.strip().splitlines()[:3])
    return out.exit_code not in (0, None) and bool(_NOT_FOUND.search(head))


def needs_root(out: CommandOutput) -> bool:
    """True when a failing command said it lacks privileges (so its silence is not evidence)."""
    return out.exit_code not in (0, None) and bool(_NEEDS_ROOT.search(out.stdout[:2000]))


ROOT_HINT = "needs root: allow the audit user 'sudo -n' for this read-only command"


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
        raise FactUnavailable(f"head not available on the target: {_first_line(out.stdout)}")
    files = _parsed_files(out.stdout)
    if not files:
        raise FactParseError(f"no file headers in the output of the file dump: {_first_line(out.stdout)!r}")
    return dict(files)


def texts(files: dict[str, FileRead], *patterns: str) -> list[tuple[str, str]]:
    """``(path, content)`` of every readable file whose path matches one of the glob patterns, in order."""
    return [(path, f.content) for path, f in files.items()
            if f.content is not None and any(fnmatch.fnmatchcase(path, p) for p in patterns)]


def unreadable(files: dict[str, FileRead], *patterns: str) -> list[str]:
    """Paths matching ``patterns`` that exist but could not be read (typically: needs root)."""
    return [path for path, f in files.items()
            if f.content is None and f.exists and any(fnmatch.fnmatchcase(path, p) for p in patterns)]


def strip_comments(text: str, marker: str = "#") -> str:
    return "\n".join(line.split(marker, 1)[0] for line in text.splitlines())


def to_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def sysctl_values(files: dict[str, FileRead]) -> dict[str, str]:
    """``{"net.ipv4.ip_forward": "0", ...}`` for every key read from /proc/sys (absent keys left out)."""
    values: dict[str, str] = {}
    for key in SYSCTL_KEYS:
        read = files.get(sysctl_path(key))
        if read is not None and read.content is not None:
            values[key] = read.content.strip()
    return values


@fact("sys_sysctl", protocol="ssh", requests=[FILES])
def sys_sysctl(ev: FactEvidence) -> dict[str, str]:
    """Kernel parameters read from /proc/sys (``{"net.ipv4.ip_forward": "0", ...}``; absent keys omitted)."""
    return sysctl_values(files_of(ev))


# --- systemd units ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    name: str
    load: str
    active: str
    sub: str


@dataclass(frozen=True)
class Units:
    """The loaded systemd units; ``available`` is False when systemctl is absent or systemd not running."""

    available: bool
    units: dict[str, Unit] = field(default_factory=dict)
    problem: str = ""

    def get(self, name: str) -> Unit | None:
        return self.units.get(name if "." in name else name + ".service")

    def is_active(self, name: str) -> bool:
        unit = self.get(name)
        return unit is not None and unit.active in ("active", "reloading", "activating")

    def is_loaded(self, name: str) -> bool:
        unit = self.get(name)
        return unit is not None and unit.load == "loaded"

    def active_matching(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return sorted(n for n, u in self.units.items() if rx.search(n) and u.active in ("active", "reloading"))

    def matching(self, pattern: str) -> list[Unit]:
        rx = re.compile(pattern)
        return [u for n, u in sorted(self.units.items()) if rx.search(n)]

    def first_active(self, names: Iterable[str]) -> str | None:
        return next((n for n in names if self.is_active(n)), None)


_UNIT_LINE = re.compile(r"^\s*(?:[●*x]\s+)?(?P<name>\S+\.(?:service|socket|timer|target|mount|path))\s+"
                        r"(?P<load>\S+)\s+(?P<active>\S+)\s+(?P<sub>\S+)")


def parse_units(out: CommandOutput) -> Units:
    if tool_absent(out):
        return Units(False, problem="systemctl not found (no systemd)")
    units: dict[str, Unit] = {}
    for line in out.stdout.splitlines():
        match = _UNIT_LINE.match(line)
        if match:
            units[match["name"]] = Unit(match["name"], match["load"], match["active"], match["sub"])
    if not units:
        problem = out.stdout.strip().splitlines()[0][:200] if out.stdout.strip() else f"exit {out.exit_code}"
        if out.exit_code not in (0, None) or "systemd" in out.stdout.lower() or out.stdout.strip():
            return Units(False, problem=f"systemctl gave no unit list: {problem}")
    return Units(True, units)


@fact("sys_units", protocol="ssh", requests=[UNITS])
def sys_units(ev: FactEvidence) -> Units:
    """Loaded systemd services, sockets and timers with their load/active/sub states."""
    return parse_units(ev.command(UNITS))


# --- packages ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Packages:
    """Installed packages from dpkg or rpm; ``manager`` is None when neither database answered."""

    manager: str | None
    installed: dict[str, str] = field(default_factory=dict)     # name -> version (arch-qualified dupes merged)
    broken: tuple[str, ...] = ()                                  # dpkg half-installed/unpacked/failed-config
    kernels: tuple[str, ...] = ()                                 # kernel releases as `uname -r` would print them
    problem: str = ""

    def has(self, name: str) -> bool:
        return name in self.installed

    def any_of(self, names: Iterable[str]) -> list[str]:
        return sorted(n for n in names if n in self.installed)

    def matching(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return sorted(n for n in self.installed if rx.fullmatch(n))

    @property
    def count(self) -> int:
        return len(self.installed)


_DPKG_LINE = re.compile(r"^(?P<status>[uihrp][ncHUFWti][ R]?)\s+(?P<name>[a-z0-9][a-z0-9+.\-]*)\s+"
                        r"(?P<version>\S+)\s+(?P<arch>\S+)\s*$")
_RPM_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_][\w+.\-]*)\s+(?P<version>\S+)\s+(?P<arch>\S+)\s*$")
_DEB_KERNEL = re.compile(r"^linux-image-(?P<release>\d+\.\d+[\w.+\-]*)$")
_RPM_KERNELS = ("kernel-core", "kernel", "kernel-rt-core", "kernel-uek-core", "kernel-uek", "kernel-default")


def parse_packages(dpkg: CommandOutput | None, rpm: CommandOutput | None) -> Packages:
    problems: list[str] = []
    if dpkg is not None and not tool_absent(dpkg):
        installed: dict[str, str] = {}
        broken: list[str] = []
        kernels: list[str] = []
        for line in dpkg.stdout.splitlines():
            match = _DPKG_LINE.match(line.rstrip("\n"))
            if not match:
                continue
            status, name = match["status"], match["name"]
            current = status[1]
            if current in "nc":          # not installed / only configuration files left
                continue
            if current in "HUF" or status[2:3] == "R":
                broken.append(name)
            installed[name] = match["version"]
            kernel = _DEB_KERNEL.match(name)
            if kernel and current in "iWt":
                kernels.append(kernel["release"])
        if installed:
            return Packages("dpkg", installed, tuple(sorted(set(broken))), tuple(kernels))
        problems.append("dpkg-query listed no installed package")
    if rpm is not None and not tool_absent(rpm):
        installed, kernels = {}, []
        for line in rpm.stdout.splitlines():
            match = _RPM_LINE.match(line.strip())
            if not match or match["name"] == "gpg-pubkey" or match["arch"] not in _RPM_ARCHES:
                continue
            installed[match["name"]] = match["version"]
            if match["name"] in _RPM_KERNELS:
                kernels.append(f"{match['version']}.{match['arch']}")
        if installed:
            return Packages("rpm", installed, (), tuple(sorted(set(kernels))))
        detail = f" ({_first_line(rpm.stdout)})" if rpm.stdout.strip() else ""
        problems.append("rpm listed no installed package" + detail)
    return Packages(None, problem="; ".join(problems) or "neither dpkg-query nor rpm is available")


_RPM_ARCHES = frozenset({"x86_64", "noarch", "i686", "i386", "aarch64", "ppc64le", "s390x", "armv7hl", "armhfp",
                         "riscv64", "(none)", "src"})


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


@fact("sys_packages", protocol="ssh", requests=[DPKG, RPM])
def sys_packages(ev: FactEvidence) -> Packages:
    """Installed packages (dpkg on Debian/Ubuntu, rpm on RHEL-family) with installed kernel releases."""
    dpkg, rpm = _optional(ev, DPKG), _optional(ev, RPM)
    if dpkg is None and rpm is None:
        raise FactUnavailable("neither the dpkg nor the rpm package list was collected")
    return parse_packages(dpkg, rpm)


def _optional(ev: FactEvidence, request: EvidenceRequest) -> CommandOutput | None:
    """The command's output, or None when it was not collected (e.g. a connector that skipped it)."""
    try:
        return ev.command(request)
    except FactUnavailable:
        return None


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


_STAT_LINE = re.compile(r"^(?P<mtime>-?\d+)\|(?P<mode>[0-7]{1,5})\|(?P<owner>[^|]*)\|(?P<group>[^|]*)\|"
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


# --- OS identity --------------------------------------------------------------------------------

@dataclass(frozen=True)
class OsInfo:
    id: str | None
    version_id: str | None
    pretty_name: str | None
    id_like: tuple[str, ...]
    kernel: str | None
    name: str | None = None

    @property
    def family(self) -> str | None:
        ids = {self.id or "", *self.id_like}
        if ids & {"debian", "ubuntu"}:
            return "debian"
        if ids & {"rhel", "fedora", "centos"}:
            return "rhel"
        return None


def parse_os(files: dict[str, FileRead]) -> OsInfo:
    text = next((f.content for p in ("/etc/os-release", "/usr/lib/os-release")
                 if (f := files.get(p)) is not None and f.content is not None), None)
    kernel_read = files.get(sysctl_path("kernel.osrelease"))
    kernel = kernel_read.content.strip() if kernel_read is not None and kernel_read.content else None
    if text is None:
        return OsInfo(None, None, None, (), kernel or None)
    values = key_values(text, separator="=", lower_keys=False)
    clean = {k: v.strip().strip("'\"") for k, v in values.items()}
    return OsInfo(id=(clean.get("ID") or None) and clean["ID"].lower(), version_id=clean.get("VERSION_ID") or None,
                  pretty_name=clean.get("PRETTY_NAME") or None, id_like=tuple(clean.get("ID_LIKE", "").lower().split()),
                  kernel=kernel or None, name=clean.get("NAME") or None)


@fact("sys_os", protocol="ssh", requests=[FILES])
def sys_os(ev: FactEvidence) -> OsInfo:
    """OS identity from /etc/os-release and the running kernel release (/proc/sys/kernel/osrelease)."""
    return parse_os(files_of(ev))


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

#: End of the vendor's regular security support (standard support; not paid extended support).
#: A hint only: sites with extended support contracts set ``eol_overrides``.
EOL_DATES: dict[tuple[str, str], str] = {
    ("debian", "9"): "2022-06-30", ("debian", "10"): "2024-06-30", ("debian", "11"): "2026-08-31",
    ("debian", "12"): "2028-06-30", ("debian", "13"): "2030-06-30",
    ("ubuntu", "16.04"): "2021-04-30", ("ubuntu", "18.04"): "2023-05-31", ("ubuntu", "20.04"): "2025-05-31",
    ("ubuntu", "22.04"): "2027-06-30", ("ubuntu", "24.04"): "2029-06-30",
    ("rhel", "7"): "2024-06-30", ("rhel", "8"): "2029-05-31", ("rhel", "9"): "2032-05-31",
    ("centos", "7"): "2024-06-30", ("centos", "8"): "2024-05-31", ("centos", "9"): "2027-05-31",
    ("rocky", "8"): "2029-05-31", ("rocky", "9"): "2032-05-31",
    ("almalinux", "8"): "2029-03-01", ("almalinux", "9"): "2032-05-31",
    ("ol", "7"): "2024-12-31", ("ol", "8"): "2029-07-31", ("ol", "9"): "2032-06-30",
}
_MAJOR_ONLY = {"debian", "rhel", "centos", "rocky", "almalinux", "ol"}


def eol_date(os: OsInfo, overrides: dict[str, Any]) -> tuple[str | None, str]:
    """``(YYYY-MM-DD or None, key)`` for the release, the site's override first."""
    if not os.id:
        return None, ""
    if not os.version_id:                      # Debian testing/unstable, rolling releases
        return (str(overrides[os.id]) if os.id in (overrides or {}) else None), os.id
    version = os.version_id.split(".")[0] if os.id in _MAJOR_ONLY else os.version_id
    key = f"{os.id} {version}"
    if key in (overrides or {}):
        return str(overrides[key]), key
    return EOL_DATES.get((os.id, version)), key


@check("linux.inventory.os-release",
       title="Operating system release identified and still supported by its vendor",
       requirements=["SR 7.8", "CR 7.8", "HDR 3.10"], applies_to=["host"], severity="high",
       params={"eol_overrides": {}, "warn_days": 180},
       remediation=("Record the OS release in the component inventory. If the release is past its end of "
                    "support, plan the upgrade (Debian: `apt full-upgrade` to the next stable after a "
                    "release-notes review; Ubuntu: `do-release-upgrade`; RHEL: `leapp upgrade`) or document "
                    "an extended-support contract (Ubuntu Pro/ESM, RHEL ELS) in `eol_overrides`."))
def os_release(sys_os: OsInfo, sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """An IACS component inventory (SR 7.8) must name the OS and kernel of every host, and a release
    without vendor security updates cannot meet the update-support requirement (HDR 3.10)."""
    observed = {"id": sys_os.id, "version_id": sys_os.version_id, "pretty_name": sys_os.pretty_name,
                "kernel": sys_os.kernel}
    if not sys_os.id:
        return failed(observed, "/etc/os-release identifies the OS release",
                      "/etc/os-release is missing or unreadable: the OS release cannot be inventoried")
    end, key = eol_date(sys_os, params.get("eol_overrides") or {})
    observed["end_of_support"] = end
    if end is None:
        return manual(f"release '{key}' is not in the built-in support table; verify with the vendor that it "
                      "still receives security updates (or set eol_overrides)", "a vendor-supported OS release",
                      observed)
    if end.lower() in ("unsupported", "eol", "none"):
        return failed(observed, "a vendor-supported OS release", f"{key} is marked unsupported by the site")
    try:
        end_day = _dt.date.fromisoformat(end)
    except ValueError:
        return manual(f"eol_overrides['{key}'] = {end!r} is not a YYYY-MM-DD date", "a vendor-supported OS release",
                      observed)
    today = (_dt.datetime.fromtimestamp(sys_stats.now, _dt.timezone.utc).date() if sys_stats.now
             else _dt.datetime.now(_dt.timezone.utc).date())
    observed["host_date"] = today.isoformat()
    if today > end_day:
        return failed(observed, "a vendor-supported OS release",
                      f"{sys_os.pretty_name or key}: vendor support ended on {end}")
    left = (end_day - today).days
    note = f"; support ends in {left} days" if left <= int(params.get("warn_days", 180) or 0) else ""
    return passed(observed, "a vendor-supported OS release",
                  f"{sys_os.pretty_name or key}, supported until {end}{note}")


@check("linux.inventory.packages",
       title="Installed software inventory can be produced from the package database",
       requirements=["SR 7.8", "CR 7.8"], applies_to=["host"], severity="medium",
       remediation=("Keep all software under the package manager and export the list into the asset inventory "
                    "(Debian/Ubuntu: `dpkg-query -W`; RHEL: `rpm -qa`). Repair interrupted installs: Debian/Ubuntu "
                    "`dpkg --configure -a` then `apt-get -f install`; RHEL `dnf history` / `rpm -V` to find "
                    "inconsistent packages."))
def packages_inventory(sys_packages: Packages) -> Verdict:
    """The package database is the machine-readable software inventory of a Linux host (SR/CR 7.8):
    its count and versions are the evidence, and half-installed packages make it untrustworthy."""
    observed = {"manager": sys_packages.manager, "installed": sys_packages.count,
                "broken": list(sys_packages.broken)}
    if sys_packages.manager is None:
        return manual(f"no package database answered ({sys_packages.problem}); provide the software inventory "
                      "of this host by other means (vendor image manifest, SBOM)",
                      "a complete software inventory", observed)
    if sys_packages.broken:
        return failed(observed, "every package fully installed",
                      f"{len(sys_packages.broken)} package(s) half-installed or failed to configure: "
                      + ", ".join(sys_packages.broken[:10]))
    return passed(observed, "a complete software inventory",
                  f"{sys_packages.count} packages listed by {sys_packages.manager}")


def version_key(text: str) -> tuple:
    """A sort key that orders kernel releases like rpm/dpkg do for the common cases (numbers > letters)."""
    return tuple((1, int(t)) if t.isdigit() else (0, t) for t in re.findall(r"\d+|[A-Za-z]+", text))


def _flavour(release: str) -> str:
    """'6.1.0-18-amd64' -> 'amd64', '5.15.0-91-generic' -> 'generic', RHEL releases -> arch."""
    match = re.match(r"^\d+\.\d+[.\d]*-\d+(?:\.\d+)*-(?P<flavour>[a-z][\w\-]*)$", release)
    if match:
        return match["flavour"]
    return release.rsplit(".", 1)[-1] if "." in release else ""


@check("linux.updates.reboot-pending",
       title="No reboot pending: the running kernel is the newest installed one",
       requirements=["HDR 3.10", "SR 7.8"], applies_to=["host"], severity="medium",
       remediation=("Schedule a reboot in the next maintenance window so installed security updates take "
                    "effect (Debian/Ubuntu: /run/reboot-required lists the packages; RHEL: "
                    "`dnf needs-restarting -r`). Remove kernels that are intentionally not used."))
def reboot_pending(sys_os: OsInfo, sys_packages: Packages, sys_stats: Stats) -> Verdict:
    """Updates that are installed but not running give no protection, and the inventory (SR 7.8) then
    lists a kernel different from the one actually executing."""
    running = sys_os.kernel
    same_flavour = [k for k in sys_packages.kernels if running and _flavour(k) == _flavour(running)]
    newest = max(same_flavour, key=version_key) if same_flavour else None
    flag = sys_stats.exists("/run/reboot-required")
    observed = {"running_kernel": running, "installed_kernels": sorted(set(sys_packages.kernels), key=version_key),
                "reboot_required_flag": flag}
    reasons = []
    if flag:
        reasons.append("/run/reboot-required is present")
    if running and newest and newest != running and version_key(newest) > version_key(running):
        reasons.append(f"newer kernel {newest} installed, running {running}")
    if reasons:
        return failed(observed, "running kernel is the newest installed; no reboot flag", "; ".join(reasons))
    if not running or sys_packages.manager is None:
        return manual("running kernel or installed kernels unknown; verify that the host was rebooted after "
                      "the last kernel/libc update", "no pending reboot", observed)
    if not same_flavour:
        return manual(f"no installed kernel package matches the running kernel {running} (custom kernel?); "
                      "verify the reboot state by hand", "no pending reboot", observed)
    return passed(observed, "running kernel is the newest installed; no reboot flag",
                  f"running {running}, the newest installed kernel")
