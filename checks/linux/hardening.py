"""Linux host hardening: USB mass storage, core dumps, world-writable files in system paths, disk
encryption, login banners, shell session timeout, backups and permissions of critical files.

Reads: one bounded, low-priority ``find`` over the system directories (time-boxed at 20 s, never
descending into other filesystems), ``lsblk -J``, plus the shared file dump, stat listing, unit list
and package list.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from auditor.facts import FactEvidence
from auditor.registry import check, fact, ssh_exec
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.integrity import CronJobs
from checks.linux.inventory import (FILES, ROOT_HINT, Packages, Stats, Units, files_of, strip_comments, texts, to_int,
                                    tool_absent)
from checks.linux.parsing import FileRead, key_values

WORLD_WRITABLE_ROOTS = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/opt")
FIND_TIMEOUT_SECONDS = 20
WORLD_WRITABLE = ssh_exec(
    f"timeout {FIND_TIMEOUT_SECONDS} nice -n 19 ionice -c3 -t find {' '.join(WORLD_WRITABLE_ROOTS)} -xdev "
    "\\( -type f -perm -0002 -o -type d -perm -0002 ! -perm -1000 \\) -printf '%y %m %u %p\\n'; "
    "echo \"find-exit=$?\"")
BLOCK_DEVICES = ssh_exec("lsblk -J -o NAME,TYPE,FSTYPE,MOUNTPOINT")


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorldWritable:
    state: str                                   # ok / timed-out / absent / failed
    entries: tuple[tuple[str, str, str], ...] = ()    # (type f|d, mode, path)
    errors: int = 0                              # unreadable directories (not reachable by others either)
    detail: str = ""


_FIND_ENTRY = re.compile(r"^(?P<type>[fd]) (?P<mode>[0-7]{3,4}) (?P<owner>\S+) (?P<path>/.*)$")


def parse_world_writable(text: str, exit_code: int | None) -> WorldWritable:
    lines = text.splitlines()
    status = None
    for line in reversed(lines):
        match = re.fullmatch(r"find-exit=(\d+)", line.strip())
        if match:
            status = int(match.group(1))
            break
        if line.strip():
            break
    if status is None:
        if exit_code == 127 or re.search(r"not found", text):
            return WorldWritable("absent", detail=(text.strip().splitlines() or [""])[0][:200])
        return WorldWritable("failed", detail=f"no completion marker (exit {exit_code})")
    entries = []
    errors = 0
    for line in lines:
        match = _FIND_ENTRY.match(line)
        if match:
            entries.append((match["type"], match["mode"], match["path"]))
        elif line.startswith("find: "):
            errors += 1
    if status == 124:
        return WorldWritable("timed-out", tuple(entries), errors, f"search stopped after {FIND_TIMEOUT_SECONDS} s")
    if status in (126, 127):
        return WorldWritable("absent", (), errors, f"find/timeout/ionice not runnable (exit {status})")
    return WorldWritable("ok", tuple(entries), errors)


@fact("sys_world_writable", protocol="ssh", requests=[WORLD_WRITABLE])
def sys_world_writable(ev: FactEvidence) -> WorldWritable:
    """World-writable files and non-sticky world-writable directories under the system directories."""
    out = ev.command(WORLD_WRITABLE)
    return parse_world_writable(out.stdout, out.exit_code)


@dataclass(frozen=True)
class Mount:
    mountpoint: str
    device: str
    fstype: str | None
    encrypted: bool
    chain: tuple[str, ...]          # device path from disk to filesystem, e.g. ("sda", "sda3", "luks-..", "vg-root")


@dataclass(frozen=True)
class BlockDevices:
    state: str                      # ok / absent / failed
    mounts: tuple[Mount, ...] = ()
    detail: str = ""


def parse_lsblk(text: str) -> list[Mount]:
    data = json.loads(text)
    devices = data.get("blockdevices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        raise ValueError("no 'blockdevices' list")
    mounts: list[Mount] = []

    def walk(node: Any, ancestors: tuple[dict, ...]) -> None:
        if not isinstance(node, dict):
            return
        chain = ancestors + (node,)
        points = node.get("mountpoints") if isinstance(node.get("mountpoints"), list) else [node.get("mountpoint")]
        for point in points:
            if isinstance(point, str) and point:
                encrypted = any(str(n.get("type", "")).lower() == "crypt" or str(n.get("fstype", "")).lower()
                                == "crypto_luks" for n in chain[:-1]) or str(node.get("type", "")).lower() == "crypt"
                mounts.append(Mount(point, str(node.get("name", "?")), node.get("fstype"), encrypted,
                                    tuple(str(n.get("name", "?")) for n in chain)))
        for child in node.get("children") or []:
            walk(child, chain)

    for device in devices:
        walk(device, ())
    return mounts


@fact("sys_block_devices", protocol="ssh", requests=[BLOCK_DEVICES])
def sys_block_devices(ev: FactEvidence) -> BlockDevices:
    """Mounted filesystems and whether a dm-crypt (LUKS) layer sits below each, from ``lsblk -J``."""
    out = ev.command(BLOCK_DEVICES)
    if tool_absent(out):
        return BlockDevices("absent", detail="lsblk not found")
    start = out.stdout.find("{")
    try:
        return BlockDevices("ok", tuple(parse_lsblk(out.stdout[start:] if start >= 0 else out.stdout)))
    except (ValueError, TypeError, AttributeError) as exc:
        return BlockDevices("failed", detail=f"unparseable lsblk output ({exc}): {out.stdout.strip()[:120]!r}")


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


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

@check("linux.usb.storage-blocked",
       title="USB mass storage blocked (module disabled or USBGuard policy)",
       requirements=["SR 2.3"], applies_to=["host"], severity="medium",
       remediation=("Create /etc/modprobe.d/usb-storage.conf with `install usb-storage /bin/false` and "
                    "`blacklist usb-storage` (Debian/Ubuntu and RHEL), `rmmod usb_storage`, rebuild the initramfs "
                    "(`update-initramfs -u` / `dracut -f`). Where some devices must work, use USBGuard "
                    "(`apt|dnf install usbguard`, `usbguard generate-policy > /etc/usbguard/rules.conf`, "
                    "`systemctl enable --now usbguard`)."))
def usb_storage_blocked(sys_hardening: HardeningConfig, sys_units: Units) -> Verdict:
    """Portable media are the classic path for malware into air-gapped control networks; use control for
    portable and mobile devices (SR 2.3) starts with the host refusing unknown mass storage."""
    expected = "usb-storage disabled (install /bin/false or blacklist) and not loaded, or USBGuard active"
    disabled = [f"{p}: {d}" for p, d in sys_hardening.modprobe
                if re.match(r"^install\s+usb[-_]storage\s+(/usr)?/bin/(true|false)\b", d)]
    blacklisted = [f"{p}: {d}" for p, d in sys_hardening.modprobe if re.match(r"^blacklist\s+usb[-_]storage\b", d)]
    loaded = None if sys_hardening.loaded_modules is None else "usb_storage" in sys_hardening.loaded_modules
    usbguard = sys_units.is_active("usbguard")
    observed = {"install_disabled": disabled, "blacklisted": blacklisted, "module_loaded": loaded,
                "usbguard_active": usbguard}
    if usbguard:
        return passed(observed, expected, "USBGuard daemon enforces a device policy")
    if loaded:
        return failed(observed, expected, "usb_storage module is loaded right now")
    if disabled:
        return passed(observed, expected, "usb-storage module loading disabled")
    if blacklisted:
        return passed(observed, expected, "usb-storage blacklisted (no automatic loading on insertion)")
    return failed(observed, expected, "nothing prevents the usb-storage module from loading")


@check("linux.coredump.disabled",
       title="Core dumps disabled (no memory images with secrets written to disk)",
       requirements=["SR 4.1", "CR 4.1"], applies_to=["host"], severity="low",
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


@check("linux.files.world-writable",
       title="No world-writable files (or unprotected world-writable directories) in system paths",
       requirements=["SR 3.4", "CR 3.4", "SR 2.1", "CR 2.1"], applies_to=["host"], severity="high",
       params={"exclude": [], "max_listed": 20},
       remediation=("Remove the write bit for others: `chmod o-w <file>`; for shared directories add the sticky bit "
                    "(`chmod +t <dir>`) or fix ownership. Find the package that owns the file "
                    "and report vendor packages shipping world-writable files to the vendor (Debian/Ubuntu "
                    "`dpkg -S <path>`, RHEL `rpm -qf <path>`)."))
def world_writable(sys_world_writable: WorldWritable, params: dict[str, Any]) -> Verdict:
    """Any local user (or a compromised service account) can replace a world-writable file in /etc or
    /usr and so run code as whoever uses it: integrity (SR 3.4) and authorisation (SR 2.1) are lost."""
    expected = ("no world-writable files and no non-sticky world-writable directories under "
                f"{list(WORLD_WRITABLE_ROOTS)}")
    found = [e for e in sys_world_writable.entries
             if not any(fnmatch.fnmatchcase(e[2], p) for p in (params.get("exclude") or []))]
    limit = int(params.get("max_listed", 20) or 20)
    observed = {"count": len(found), "entries": [f"{t} {m} {p}" for t, m, p in found[:limit]],
                "unreadable_directories": sys_world_writable.errors, "search": sys_world_writable.state}
    if sys_world_writable.state in ("absent", "failed"):
        return error(f"search did not run: {sys_world_writable.detail}", observed)
    if found:
        partial = " (search incomplete: time limit reached)" if sys_world_writable.state == "timed-out" else ""
        noun = "entry" if len(found) == 1 else "entries"
        return failed(observed, expected, f"{len(found)} world-writable {noun}{partial}: "
                      + ", ".join(p for _, _, p in found[:5]))
    if sys_world_writable.state == "timed-out":
        return manual(f"the bounded search stopped after {FIND_TIMEOUT_SECONDS} s without finding anything; run "
                      "`find / -xdev -type f -perm -0002` off-peak and review the result", expected, observed)
    return passed(observed, expected, "none found")


@check("linux.disk.encryption",
       title="Root and data filesystems encrypted at rest (LUKS/dm-crypt)",
       requirements=["SR 4.1", "SR 4.1 RE1", "CR 4.1", "SR 4.2", "CR 4.2"], applies_to=["host"], severity="medium",
       params={"exclude_mounts": ["/boot", "/boot/*", "/efi", "[SWAP]", "/snap/*", "/var/lib/snapd/*"],
               "exclude_fstypes": ["squashfs", "iso9660", "vfat", "tmpfs", "overlay"]},
       remediation=("Encrypt the volumes with LUKS2 at installation (Debian/Ubuntu installer 'Guided - use entire "
                    "disk and set up encrypted LVM'; RHEL Anaconda 'Encrypt my data'), unlocked by TPM2/Clevis+Tang "
                    "on unattended hosts (`systemd-cryptenroll --tpm2-device=auto` or `clevis luks bind`). Existing "
                    "volumes: `cryptsetup reencrypt --encrypt` after a verified backup. If physical protection is the "
                    "chosen countermeasure, document it and waive this check."))
def disk_encryption(sys_block_devices: BlockDevices, params: dict[str, Any]) -> Verdict:
    """Engineering laptops and HMI disks leave the site for repair or disposal; without encryption at rest
    their project files, credentials and keys are readable (information confidentiality, SR 4.1 RE1).
    Encryption at rest is also what makes purging a decommissioned disk dependable: destroying the LUKS
    key slots is a cryptographic erase (NIST SP 800-88), the capability SR 4.2 / CR 4.2 asks for."""
    expected = "every mounted root/data filesystem sits on a crypt (LUKS) layer"
    if sys_block_devices.state != "ok":
        return error(f"block devices not readable: {sys_block_devices.detail}")
    excluded_mounts = list(params.get("exclude_mounts") or [])
    excluded_types = {t.lower() for t in (params.get("exclude_fstypes") or [])}
    relevant = [m for m in sys_block_devices.mounts
                if not any(m.mountpoint == p or fnmatch.fnmatchcase(m.mountpoint, p) for p in excluded_mounts)
                and (m.fstype or "").lower() not in excluded_types]
    observed = {m.mountpoint: {"device": " > ".join(m.chain), "fstype": m.fstype, "encrypted": m.encrypted}
                for m in relevant}
    if not any(m.mountpoint == "/" for m in sys_block_devices.mounts):
        return manual("the root filesystem is not a local block device (container, NFS or overlay root?); verify "
                      "encryption of the underlying storage", expected, observed)
    plain = [m.mountpoint for m in relevant if not m.encrypted]
    if plain:
        return failed(observed, expected, "not encrypted: " + ", ".join(plain))
    return passed(observed, expected, f"{len(relevant)} filesystem(s) on LUKS")


DISCLOSURE = [r"\\[srvmSO]", r"\b(debian|ubuntu|red ?hat|rhel|centos|rocky|almalinux|fedora|suse|oracle linux)\b",
              r"gnu/linux", r"\bkernel\b", r"\b\d+\.\d+\.\d+-\d+"]


@check("linux.banner.login",
       title="Login banners (/etc/issue, /etc/issue.net) show a use notice without system details",
       requirements=["SR 1.12", "CR 1.12"], applies_to=["host"], severity="low",
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


_TMOUT_ASSIGN = re.compile(r"(?:^|[;&\s])(?:(?:readonly|export|declare|typeset)(?:\s+-\w+)*\s+)*TMOUT=[\"']?(\d+)")
_TMOUT_READONLY = re.compile(r"(?:^|[;&\s])(?:readonly(?:\s+-\w+)*|declare\s+-\w*r\w*|typeset\s+-\w*r\w*)\s+"
                             r"(?:[A-Za-z_]\w*(?:=\S*)?\s+)*TMOUT\b")


@check("linux.session.timeout",
       title="Idle shell sessions terminated (readonly TMOUT)",
       requirements=["SR 2.5", "CR 2.5", "SR 2.6", "CR 2.6"], applies_to=["host"], severity="medium",
       params={"max_seconds": 900},
       remediation=("Create /etc/profile.d/tmout.sh (Debian/Ubuntu and RHEL) with `TMOUT=900`, `readonly TMOUT`, "
                    "`export TMOUT`. Operator consoles that must stay logged in (essential functions) need a "
                    "documented exception instead."))
def session_timeout(sys_hardening: HardeningConfig, params: dict[str, Any]) -> Verdict:
    """Session lock (SR 2.5) and remote session termination (SR 2.6): an unattended shell, local or over SSH,
    is an open door; ``readonly`` stops users from switching the timeout off."""
    try:
        limit = int(params.get("max_seconds", 900))
    except (TypeError, ValueError):
        return error("max_seconds must be an integer")
    expected = f"TMOUT set to 1..{limit} s and readonly in /etc/profile, /etc/profile.d or the system bashrc"
    values = [(path, int(m.group(1)), line) for path, line in sys_hardening.tmout
              for m in [_TMOUT_ASSIGN.search(line)] if m]
    readonly = [(path, line) for path, line in sys_hardening.tmout if _TMOUT_READONLY.search(line)]
    observed = {"assignments": [f"{p}: {line}" for p, _, line in values], "readonly": bool(readonly)}
    if sys_hardening.shell_files == 0:
        return error("none of /etc/profile, /etc/profile.d/*.sh, /etc/bash.bashrc, /etc/bashrc could be read")
    if not values:
        return failed(observed, expected, "TMOUT is not set")
    ro_values = [v for p, v, line in values if _TMOUT_READONLY.search(line)]
    effective = ro_values[0] if ro_values else values[-1][1]
    observed["effective"] = effective
    problems = []
    if effective <= 0 or effective > limit:
        problems.append(f"TMOUT={effective} (want 1..{limit})")
    if not readonly:
        problems.append("TMOUT is not readonly (users can unset it)")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected, f"TMOUT={effective}, readonly")


BACKUP_NAMES = (r"backup|restic|borg|rsnapshot|duplicity|duplicati|bacula|bareos|veeam|urbackup|burp|btrbk|"
                r"\brear\b|dsmcad|proxmox-backup|amanda|rdiff-backup|timeshift|cohesity|rubrik|commvault")
#: jobs whose names say "backup" but that only save package or account databases locally
BACKUP_IGNORE = r"dpkg-db-backup|/var/backups|dpkg\.cron|passwd\.cron"
BACKUP_AGENTS = ["bacula-fd", "bareos-fd", "bareos-filedaemon", "veeamservice", "urbackupclientbackend", "burp",
                 "dsmcad", "cvd", "commvault", "amanda-client", "rubrikagents", "cohesity-agent"]
BACKUP_PACKAGES = ["bacula-fd", "bacula-client", "bareos-filedaemon", "veeam", "urbackup-client", "burp-client",
                   "restic", "borgbackup", "borgmatic", "rsnapshot", "duplicity", "duplicati", "rdiff-backup", "btrbk",
                   "rear", "proxmox-backup-client", "amanda-client", "TIVsm-BA", "tivsm-ba"]


@check("linux.backup.configured",
       title="Automated backup detected (agent, timer or cron job) and not failing",
       requirements=["SR 7.3", "SR 7.3 RE2", "CR 7.3"], applies_to=["host"], severity="medium",
       params={"agents": BACKUP_AGENTS, "packages": BACKUP_PACKAGES, "name_pattern": BACKUP_NAMES,
               "ignore_pattern": BACKUP_IGNORE},
       fixture_verdicts={"weak": "manual", "hardened": "pass"},
       fixture_note=("no backup agent, timer or cron job on the weak host may mean a backup taken from outside "
                     "it (a hypervisor snapshot, a central pull): a person confirms"),
       remediation=("Back up configuration, projects and data of this host automatically (site backup agent, or "
                    "e.g. restic/borg via a systemd timer on Debian/Ubuntu and RHEL), to storage outside the zone; "
                    "monitor failures; restore-test regularly and keep the record (SR 7.3 RE1)."))
def backup_configured(sys_units: Units, sys_cron: CronJobs, sys_packages: Packages, params: dict[str, Any]) -> Verdict:
    """Control system backup (SR 7.3), automated at SL3 (RE2): without a current backup a ransomware or disk
    failure turns into a long outage. Whether restores work (RE1) can only be shown by a restore test."""
    pattern = str(params.get("name_pattern") or BACKUP_NAMES)
    ignore_pattern = str(params.get("ignore_pattern") or "(?!)")
    try:
        rx = re.compile(pattern, re.I)
        ignore = re.compile(ignore_pattern, re.I)
    except re.error as exc:
        return error(f"name_pattern/ignore_pattern is not a valid regular expression: {exc}")
    expected = "a backup agent or scheduled backup job, none failing; restore tests evidenced separately (SR 7.3 RE1)"
    units = [u for u in sys_units.units.values() if rx.search(u.name) and not ignore.search(u.name)]
    agents = [a for a in (params.get("agents") or []) if sys_units.get(a) is not None]
    active_agents = [a for a in agents if sys_units.is_active(a)]
    timers = [u for u in units if u.name.endswith(".timer")]
    failed_units = sorted(u.name for u in units if u.active == "failed")
    idle_timers = sorted(u.name for u in timers if u.load == "loaded" and u.active not in ("active", "activating"))
    cron = [line for line in sys_cron.mentioning(pattern) if not ignore.search(line)]
    packages = sys_packages.any_of(params.get("packages") or BACKUP_PACKAGES)
    observed = {"timers": sorted(u.name for u in timers if u.active == "active"), "agents": active_agents,
                "cron": cron[:5], "packages": packages, "failed_units": failed_units, "inactive_timers": idle_timers}
    if failed_units:
        return failed(observed, expected, "backup unit(s) in failed state: " + ", ".join(failed_units))
    stopped_agents = [a for a in agents if not sys_units.is_active(a)]
    if stopped_agents and not active_agents:
        return failed(observed, expected, "backup agent installed but not running: " + ", ".join(stopped_agents))
    if idle_timers and not observed["timers"] and not cron:
        return failed(observed, expected, "backup timer(s) not active (disabled?): " + ", ".join(idle_timers))
    mechanisms = observed["timers"] + active_agents + cron
    if mechanisms:
        return passed(observed, expected, "backup via " + "; ".join(str(m)[:80] for m in mechanisms[:3])
                      + ". Verify restores separately (SR 7.3 RE1).")
    hint = (f" (backup software installed: {packages}, but nothing schedules it)" if packages else "")
    if sys_cron.unreadable:
        hint += f"; root's crontab not readable ({ROOT_HINT})"
    return manual("no backup agent, timer or cron job detected on the host" + hint + ". Verify with the site's "
                  "backup system that this host is backed up (agentless/VM snapshot/central pull), when the last "
                  "successful backup ran, and that a restore test was done (SR 7.3 RE1).", expected, observed)


CRITICAL_FILES = {
    "/etc/passwd": {"mode": "0644", "groups": ["root"]},
    "/etc/group": {"mode": "0644", "groups": ["root"]},
    "/etc/shadow": {"mode": "0640", "groups": ["root", "shadow"]},
    "/etc/gshadow": {"mode": "0640", "groups": ["root", "shadow"]},
    "/etc/ssh/ssh_host_*_key": {"mode": "0640", "groups": ["root", "ssh_keys"]},
}


@check("linux.files.critical-permissions",
       title="Permissions of password files and SSH host private keys",
       requirements=["SR 1.5", "CR 1.5", "SR 3.4", "CR 3.4"], applies_to=["host"], severity="high",
       params={"files": CRITICAL_FILES},
       remediation=("`chown root:root /etc/passwd /etc/group && chmod 0644 /etc/passwd /etc/group`; Debian/Ubuntu "
                    "`chown root:shadow /etc/shadow /etc/gshadow && chmod 0640 ...`, RHEL `chown root:root ... && "
                    "chmod 0000 /etc/shadow /etc/gshadow`; host keys `chmod 0600 /etc/ssh/ssh_host_*_key` (RHEL: "
                    "0640 root:ssh_keys)."))
def critical_permissions(sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """Readable password hashes or host private keys hand an attacker offline cracking and server
    impersonation (authenticator management, SR 1.5); writable account files hand over root (SR 3.4)."""
    spec = params.get("files") or CRITICAL_FILES
    expected = "; ".join(f"{p} <= {s.get('mode')} owner root group {s.get('groups')}" for p, s in spec.items())
    observed: dict[str, Any] = {}
    problems = []
    for pattern, rule in spec.items():
        try:
            max_mode = int(str(rule.get("mode", "0644")), 8)
        except ValueError:
            return error(f"files[{pattern!r}].mode must be an octal string")
        matches = sys_stats.matching(pattern) if any(c in pattern for c in "*?[") else \
            [s for s in [sys_stats.get(pattern)] if s is not None]
        if not matches:
            if "*" not in pattern and sys_stats.exists(pattern) is False:
                if pattern in ("/etc/passwd", "/etc/shadow"):
                    problems.append(f"{pattern} is missing")
            elif "*" not in pattern and pattern in sys_stats.errors:
                observed[pattern] = sys_stats.errors[pattern]
            continue
        for stat in matches:
            observed[stat.path] = f"{stat.mode:04o} {stat.owner}:{stat.group}"
            if stat.mode & 0o7777 & ~max_mode:
                problems.append(f"{stat.path} mode {stat.mode:04o} (max {max_mode:04o})")
            if stat.owner != "root":
                problems.append(f"{stat.path} owned by {stat.owner}")
            if stat.group not in (rule.get("groups") or ["root"]):
                problems.append(f"{stat.path} group {stat.group}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not any(isinstance(v, str) and re.match(r"^\d{4} ", v) for v in observed.values()):
        return error("none of the critical files could be stat'ed", observed)
    return passed(observed, expected)
