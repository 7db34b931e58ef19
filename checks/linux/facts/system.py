"""OS identity, kernel parameters, boot and access-control state, scheduled jobs and hardening settings.

Most come from the shared file dump (:data:`checks.linux.facts.files.FILES`): /etc/os-release,
/proc/sys, SELinux/AppArmor flags, crontabs, modprobe.d, limits, coredump.conf, /etc/issue*, shell
profiles. The UEFI SecureBoot variable is read with ``od`` (no privileges needed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.facts import CommandOutput, FactEvidence
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import first_message, tool_absent
from checks.linux.facts.files import FILES, SYSCTL_KEYS, files_of, sysctl_path, texts, unreadable
from checks.linux.facts.parsing import FileRead, key_values, strip_comments


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


# --- kernel parameters --------------------------------------------------------------------------

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


# --- Secure Boot and mandatory access control ---------------------------------------------------

SECURE_BOOT = ssh_exec("od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
                       name="system.secure-boot")


@dataclass(frozen=True)
class SecureBoot:
    state: str            # enabled / disabled / no-variable / legacy-bios / unknown
    detail: str = ""


def parse_secure_boot(out: CommandOutput) -> SecureBoot:
    if tool_absent(out):
        return SecureBoot("unknown", "od not available")
    digits = re.findall(r"\d+", out.stdout) if out.exit_code == 0 else []
    if any(len(n) > 20 for n in digits):  # od prints bytes; a number this long is not od's output
        return SecureBoot("unknown", "od printed something other than the variable's bytes")
    numbers = [int(n) for n in digits]
    if out.exit_code == 0 and numbers and re.fullmatch(r"[\d\s]+", out.stdout.strip()):
        return SecureBoot("enabled" if numbers[-1] == 1 else "disabled", f"SecureBoot variable = {numbers[-1]}")
    if "No such file" in out.stdout:
        return SecureBoot("no-variable", "no SecureBoot EFI variable")
    return SecureBoot("unknown", first_message(out.stdout) or f"od exit {out.exit_code}")


@fact("sys_secure_boot", protocol="ssh", requests=[SECURE_BOOT])
def sys_secure_boot(ev: FactEvidence) -> SecureBoot:
    """UEFI SecureBoot variable (last byte 1 = enabled), read with od (no privileges needed)."""
    return parse_secure_boot(ev.command(SECURE_BOOT))


@dataclass(frozen=True)
class MacState:
    selinux_runtime: str | None        # "1" enforcing / "0" permissive / None: not active
    selinux_config: str | None         # SELINUX= value in /etc/selinux/config
    apparmor_enabled: bool | None
    apparmor_profiles: dict[str, int] | None   # mode -> count; None: list unreadable
    apparmor_unreadable: bool = False


def parse_mac(files: dict[str, FileRead]) -> MacState:
    enforce = files.get("/sys/fs/selinux/enforce")
    selinux_runtime = enforce.content.strip() if enforce is not None and enforce.content is not None else None
    config_read = files.get("/etc/selinux/config")
    selinux_config = None
    if config_read is not None and config_read.content is not None:
        selinux_config = key_values(config_read.content, separator="=").get("selinux", "").lower() or None
    enabled_read = files.get("/sys/module/apparmor/parameters/enabled")
    apparmor_enabled = None
    if enabled_read is not None and enabled_read.content is not None:
        apparmor_enabled = enabled_read.content.strip().upper().startswith("Y")
    profiles_read = files.get("/sys/kernel/security/apparmor/profiles")
    profiles: dict[str, int] | None = None
    apparmor_hidden = False
    if profiles_read is not None and profiles_read.content is not None:
        profiles = {}
        for line in profiles_read.content.splitlines():
            match = re.search(r"\((\w+)\)\s*$", line)
            if match:
                profiles[match.group(1)] = profiles.get(match.group(1), 0) + 1
    elif profiles_read is not None and profiles_read.exists:
        apparmor_hidden = True
    return MacState(selinux_runtime, selinux_config, apparmor_enabled, profiles, apparmor_hidden)


@fact("sys_mac", protocol="ssh", requests=[FILES])
def sys_mac(ev: FactEvidence) -> MacState:
    """SELinux (/sys/fs/selinux/enforce, /etc/selinux/config) and AppArmor (module flag, profile modes)."""
    return parse_mac(files_of(ev))


# --- scheduled jobs -----------------------------------------------------------------------------

CRON_PATTERNS = ("/etc/crontab", "/etc/cron.d/*", "/etc/cron.daily/*", "/etc/cron.weekly/*",
                 "/var/spool/cron/crontabs/root", "/var/spool/cron/root")


@dataclass(frozen=True)
class CronJobs:
    """Non-comment lines of the system and root crontabs and the names of the periodic scripts."""

    lines: tuple[tuple[str, str], ...]          # (file, line)
    scripts: tuple[str, ...]                    # /etc/cron.daily/aide ...
    unreadable: tuple[str, ...]

    def mentioning(self, pattern: str) -> list[str]:
        rx = re.compile(pattern, re.I)
        found = [f"{path}: {line.strip()[:120]}" for path, line in self.lines if rx.search(line)]
        found += [script for script in self.scripts if rx.search(script.rsplit("/", 1)[-1])]
        return found


def parse_cron(files: dict[str, FileRead]) -> CronJobs:
    lines: list[tuple[str, str]] = []
    scripts: list[str] = []
    for path, text in texts(files, *CRON_PATTERNS):
        if path.startswith(("/etc/cron.daily/", "/etc/cron.weekly/")):
            scripts.append(path)
            # a periodic script counts by its name and by the commands it runs
            lines.extend((path, line) for line in text.splitlines()
                         if line.strip() and not line.lstrip().startswith("#"))
            continue
        lines.extend((path, line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    return CronJobs(tuple(lines), tuple(scripts), tuple(unreadable(files, *CRON_PATTERNS)))


@fact("sys_cron", protocol="ssh", requests=[FILES])
def sys_cron(ev: FactEvidence) -> CronJobs:
    """System crontab, /etc/cron.d, periodic scripts and root's crontab (root-only) as non-comment lines."""
    return parse_cron(files_of(ev))


# --- modules, core dumps, banners, shell profiles -----------------------------------------------

@dataclass(frozen=True)
class HardeningConfig:
    modprobe: tuple[tuple[str, str], ...]           # (file, directive line) from /etc/modprobe.d
    loaded_modules: tuple[str, ...] | None
    usbguard_rules: str | None
    limits_core: tuple[tuple[str, str, str, str], ...]   # (file, domain, type, value) for item "core"
    coredump: dict[str, str]
    issue: dict[str, str | None]                     # path -> content (None: missing)
    tmout: tuple[tuple[str, str], ...]               # (file, line) mentioning TMOUT
    shell_files: int


def parse_hardening(files: dict[str, FileRead]) -> HardeningConfig:
    modprobe = tuple((path, line.strip()) for path, text in texts(files, "/etc/modprobe.d/*.conf")
                     for line in strip_comments(text).splitlines() if line.strip())
    modules_read = files.get("/proc/modules")
    loaded = tuple(line.split()[0] for line in modules_read.content.splitlines() if line.split()) \
        if modules_read is not None and modules_read.content is not None else None
    rules = texts(files, "/etc/usbguard/rules.conf")
    limits: list[tuple[str, str, str, str]] = []
    for path, text in texts(files, "/etc/security/limits.conf", "/etc/security/limits.d/*.conf"):
        for line in strip_comments(text).splitlines():
            words = line.split()
            if len(words) >= 4 and words[2].lower() == "core":
                limits.append((path, words[0], words[1].lower(), words[3].lower()))
    coredump: dict[str, str] = {}
    for _path, text in texts(files, "/etc/systemd/coredump.conf", "/etc/systemd/coredump.conf.d/*.conf"):
        coredump.update({k.lower(): v for k, v in key_values(text, separator="=").items()})
    issue = {p: (f.content if (f := files.get(p)) is not None and f.content is not None else None)
             for p in ("/etc/issue", "/etc/issue.net")}
    shells = texts(files, "/etc/profile", "/etc/profile.d/*.sh", "/etc/bash.bashrc", "/etc/bashrc")
    tmout = tuple((path, line.strip()) for path, text in shells for line in strip_comments(text).splitlines()
                  if "TMOUT" in line)
    return HardeningConfig(modprobe, loaded, rules[0][1] if rules else None, tuple(limits), coredump, issue, tmout,
                           len(shells))


@fact("sys_hardening", protocol="ssh", requests=[FILES])
def sys_hardening(ev: FactEvidence) -> HardeningConfig:
    """modprobe.d directives, loaded modules, USBGuard rules, core limits, coredump.conf, /etc/issue*, TMOUT lines."""
    return parse_hardening(files_of(ev))
