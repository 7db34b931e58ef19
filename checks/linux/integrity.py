"""Linux system integrity: file integrity monitoring, malware protection or allow-listing, pending
security updates (from cached metadata only), package signature policy, Secure Boot, mandatory
access control and kernel self-protection settings.

Never refreshes anything: ``apt-get -s dist-upgrade`` (a simulation: no lock, no download, no
change) and ``dnf --cacheonly`` read the package lists as they are on disk, and the age of those
lists is reported beside the verdict. AIDE is never run
(``aide --check`` is CPU/IO heavy on old HMI disks); its schedule and last report are judged instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditor.facts import CommandOutput, FactEvidence, FactUnavailable
from auditor.registry import check, fact, ssh_exec
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.inventory import (FILES, ROOT_HINT, FileStat, Packages, Stats, Units, _optional, files_of,
                                    strip_comments, texts, to_int, tool_absent, unreadable)
from checks.linux.parsing import FileRead, key_values

APT_SIMULATE = ssh_exec("apt-get -s dist-upgrade")
DNF_CHECK_UPDATE = ssh_exec("dnf -q --cacheonly check-update")
DNF_SECURITY = ssh_exec("dnf -q --cacheonly updateinfo list --security")
SECURE_BOOT = ssh_exec("od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")

CRON_PATTERNS = ("/etc/crontab", "/etc/cron.d/*", "/etc/cron.daily/*", "/etc/cron.weekly/*",
                 "/var/spool/cron/crontabs/root", "/var/spool/cron/root")


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class Upgrades:
    """Pending updates from the local package metadata, as the package manager reports them."""

    manager: str | None                      # apt / dnf / None
    packages: tuple[str, ...] = ()
    security: tuple[str, ...] = ()          # packages (apt) or advisories (dnf) that fix security issues
    security_known: bool = False             # whether the metadata classifies security updates at all
    problem: str = ""


_APT_INST = re.compile(r"^Inst (?P<name>[a-z0-9][a-z0-9+.\-]*)(?::\S+)?(?: \[(?P<old>[^\]]*)\])? "
                       r"\((?P<version>\S+) (?P<releases>[^\[]*?)\s*\[(?P<arch>[^\]]+)\]\)")
_DNF_PKG = re.compile(r"^(?P<name>[\w+.\-]+)\.(?P<arch>x86_64|noarch|i686|aarch64|ppc64le|s390x)\s+"
                      r"(?P<version>\S+)\s+(?P<repo>\S+)\s*$")
_DNF_ADVISORY = re.compile(r"^(?P<id>[A-Z]+SA-\d{4}:\d+|FEDORA-\d{4}-[0-9a-f]+|[A-Z]{2,5}-\d{4}[-:]\d+)\s+"
                           r"(?P<kind>\S+)\s+(?P<package>\S+)")


def parse_upgrades(apt: CommandOutput | None, dnf_check: CommandOutput | None,
                   dnf_security: CommandOutput | None) -> Upgrades:
    """``apt-get -s dist-upgrade`` (Debian/Ubuntu) or ``dnf --cacheonly`` (RHEL) into one value.

    apt: a package is a security update when one of the releases it comes from is a security
    pocket ("Debian-Security:12/stable-security", "Ubuntu:22.04/jammy-security"); the label works
    for Debian <= 10 too, whose security suite names carry no "-security".
    """
    if apt is not None and not tool_absent(apt):
        packages, security = [], []
        for line in apt.stdout.splitlines():
            match = _APT_INST.match(line.strip())
            if match:
                packages.append(match["name"])
                if re.search(r"security", match["releases"], re.I):
                    security.append(match["name"])
        if apt.exit_code not in (0, None) and not packages:
            return Upgrades("apt", problem=_first(apt.stdout) or f"apt-get exit {apt.exit_code}")
        if not packages and not re.search(r"^\d+ upgraded, \d+ newly installed", apt.stdout, re.M):
            return Upgrades("apt", problem="apt-get printed no upgrade summary: " + (_first(apt.stdout) or "no output"))
        return Upgrades("apt", tuple(sorted(set(packages))), tuple(sorted(set(security))), True)
    if dnf_check is not None and not tool_absent(dnf_check):
        if dnf_check.exit_code not in (0, 100):
            return Upgrades("dnf", problem=_first(dnf_check.stdout) or f"dnf exit {dnf_check.exit_code}")
        packages = sorted({m["name"] for line in dnf_check.stdout.splitlines()
                           if (m := _DNF_PKG.match(line.strip()))})
        if dnf_check.exit_code == 100 and not packages:
            return Upgrades("dnf", problem="dnf check-update reported updates (exit 100) but listed none")
        advisories: list[str] = []
        known = False
        if dnf_security is not None and not tool_absent(dnf_security) and dnf_security.exit_code == 0:
            known = True
            advisories = sorted({f"{m['id']} {m['package']}" for line in dnf_security.stdout.splitlines()
                                 if (m := _DNF_ADVISORY.match(line.strip()))})
        return Upgrades("dnf", tuple(packages), tuple(advisories), known)
    return Upgrades(None, problem="neither apt-get nor dnf is available")


def _first(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith(("NOTE:", " "))]
    return lines[0][:200] if lines else ""


@fact("sys_upgrades", protocol="ssh", requests=[APT_SIMULATE, DNF_CHECK_UPDATE, DNF_SECURITY])
def sys_upgrades(ev: FactEvidence) -> Upgrades:
    """Pending (security) updates according to the cached package metadata; nothing is refreshed."""
    apt, dnf_check, dnf_security = (_optional(ev, r) for r in (APT_SIMULATE, DNF_CHECK_UPDATE, DNF_SECURITY))
    if apt is None and dnf_check is None:
        raise FactUnavailable("neither apt-get nor dnf output was collected")
    return parse_upgrades(apt, dnf_check, dnf_security)


@dataclass(frozen=True)
class SignaturePolicy:
    family: str | None                         # apt / dnf / None
    weaknesses: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()              # files that were judged
    unreadable: tuple[str, ...] = ()


_TRUE = ("1", "yes", "true", "on")


def _ini_sections(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(";"):
            continue
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            current = sections.setdefault(header.group(1).strip(), {})
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            current[key.strip().lower()] = value.strip()
    return sections


def parse_signature_policy(files: dict[str, FileRead]) -> SignaturePolicy:
    dnf_conf = texts(files, "/etc/dnf/dnf.conf") or texts(files, "/etc/yum.conf")
    repos = texts(files, "/etc/yum.repos.d/*.repo")
    if dnf_conf or repos:
        weaknesses: list[str] = []
        main = _ini_sections(dnf_conf[0][1]).get("main", {}) if dnf_conf else {}
        main_gpg = main.get("gpgcheck", "0").lower() in _TRUE   # dnf's built-in default is False
        if not main_gpg:
            weaknesses.append(f"{dnf_conf[0][0] if dnf_conf else '/etc/dnf/dnf.conf'}: [main] gpgcheck is not 1")
        for path, text in repos:
            for name, options in _ini_sections(text).items():
                if options.get("enabled", "1").lower() not in _TRUE:
                    continue
                gpg = options.get("gpgcheck")
                if (gpg is not None and gpg.lower() not in _TRUE) or (gpg is None and not main_gpg):
                    weaknesses.append(f"{path}: repository [{name}] has gpgcheck disabled")
        return SignaturePolicy("dnf", tuple(weaknesses), tuple(p for p, _ in dnf_conf + repos),
                               tuple(unreadable(files, "/etc/yum.repos.d/*", "/etc/dnf/*")))
    sources = texts(files, "/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list",
                    "/etc/apt/sources.list.d/*.sources")
    confs = texts(files, "/etc/apt/apt.conf", "/etc/apt/apt.conf.d/*")
    if sources or confs:
        weaknesses = []
        for path, text in sources:
            for line in strip_comments(text).splitlines():
                if re.match(r"^\s*deb(-src)?\s+\[[^\]]*\btrusted\s*=\s*yes\b", line, re.I):
                    weaknesses.append(f"{path}: [trusted=yes] disables signature checks: {line.strip()[:120]}")
                elif re.match(r"^\s*Trusted\s*:\s*yes\b", line, re.I):
                    weaknesses.append(f"{path}: 'Trusted: yes' disables signature checks")
                elif re.match(r"^\s*deb(-src)?\s+\[[^\]]*\ballow-insecure\s*=\s*yes\b", line, re.I):
                    weaknesses.append(f"{path}: allow-insecure=yes: {line.strip()[:120]}")
        for path, text in confs:
            for match in re.finditer(r"(AllowUnauthenticated|AllowInsecureRepositories|"
                                     r"AllowDowngradeToInsecureRepositories)\s*\"?\s*(true|yes|1|on)\b",
                                     strip_comments(strip_comments(text), "//"), re.I):
                weaknesses.append(f"{path}: {match.group(1)} enabled")
        return SignaturePolicy("apt", tuple(weaknesses), tuple(p for p, _ in sources + confs),
                               tuple(unreadable(files, "/etc/apt/*")))
    return SignaturePolicy(None, unreadable=tuple(unreadable(files, "/etc/apt/*", "/etc/yum.repos.d/*", "/etc/dnf/*")))


@fact("sys_signature_policy", protocol="ssh", requests=[FILES])
def sys_signature_policy(ev: FactEvidence) -> SignaturePolicy:
    """Where the package manager configuration disables signature verification (apt or dnf/yum)."""
    return parse_signature_policy(files_of(ev))


@dataclass(frozen=True)
class SecureBoot:
    state: str            # enabled / disabled / no-variable / legacy-bios / unknown
    detail: str = ""


def parse_secure_boot(out: CommandOutput) -> SecureBoot:
    if tool_absent(out):
        return SecureBoot("unknown", "od not available")
    numbers = [int(n) for n in re.findall(r"\d+", out.stdout)] if out.exit_code == 0 else []
    if out.exit_code == 0 and numbers and re.fullmatch(r"[\d\s]+", out.stdout.strip()):
        return SecureBoot("enabled" if numbers[-1] == 1 else "disabled", f"SecureBoot variable = {numbers[-1]}")
    if "No such file" in out.stdout:
        return SecureBoot("no-variable", "no SecureBoot EFI variable")
    return SecureBoot("unknown", _first(out.stdout) or f"od exit {out.exit_code}")


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


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------

FIM_AGENTS = ["wazuh-agent", "ossec", "ossec-hids", "samhain", "osqueryd"]
AIDE_DBS = ("/var/lib/aide/aide.db", "/var/lib/aide/aide.db.gz")


@check("linux.fim.installed",
       title="File integrity monitoring installed and initialised",
       requirements=["SR 3.4", "CR 3.4"], applies_to=["host"], severity="high",
       params={"agents": FIM_AGENTS},
       remediation=("Install AIDE and build its baseline in a maintenance window: Debian/Ubuntu `apt install aide "
                    "aide-common && aideinit` (database /var/lib/aide/aide.db); RHEL `dnf install aide && aide --init "
                    "&& mv /var/lib/aide/aide.db.new.gz /var/lib/aide/aide.db.gz`. Keep a copy of the baseline "
                    "off the host. A Wazuh/OSSEC agent with syscheck enabled is an alternative."))
def fim_installed(sys_packages: Packages, sys_stats: Stats, sys_units: Units, params: dict[str, Any]) -> Verdict:
    """Software and information integrity (SR 3.4) needs a way to detect unauthorised changes of system
    files; a file integrity monitor without an initialised baseline detects nothing."""
    expected = "AIDE/Tripwire installed with a baseline database, or an active FIM agent"
    agents = [a for a in (params.get("agents") or []) if sys_units.is_active(a)]
    aide = sys_packages.has("aide")
    tripwire = sys_packages.has("tripwire")
    dbs = [s.path for p in AIDE_DBS if (s := sys_stats.get(p)) is not None]
    tw_dbs = [s.path for s in sys_stats.matching("/var/lib/tripwire/*.twd")]
    observed = {"aide": aide, "tripwire": tripwire, "aide_database": dbs, "tripwire_database": tw_dbs,
                "agents": agents}
    if aide and dbs:
        return passed(observed, expected, f"AIDE baseline {dbs[0]}")
    if tripwire and tw_dbs:
        return passed(observed, expected, f"Tripwire database {tw_dbs[0]}")
    if agents:
        return passed(observed, expected, f"FIM agent active: {', '.join(agents)}")
    if aide or tripwire:
        unknown = [p for p in AIDE_DBS if sys_stats.exists(p) is None]
        if aide and unknown:
            return error(f"AIDE installed but its database could not be checked ({unknown}); {ROOT_HINT}", observed)
        return failed(observed, expected, "integrity monitor installed but never initialised (no baseline database)")
    if sys_packages.manager is None:
        return manual(f"package list unavailable ({sys_packages.problem}); verify a FIM tool is installed", expected,
                      observed)
    return failed(observed, expected, "no file integrity monitoring (AIDE, Tripwire or agent) installed")


@check("linux.fim.scheduled",
       title="File integrity checks scheduled and recently reported",
       requirements=["SR 3.4", "CR 3.4"], applies_to=["host"], severity="medium",
       params={"max_report_age_days": 7, "agents": FIM_AGENTS},
       remediation=("Schedule the check and keep its report: Debian/Ubuntu enable `dailyaidecheck.timer` "
                    "(`systemctl enable --now dailyaidecheck.timer`); RHEL add `/etc/cron.d/aide` with "
                    "`0 5 * * * root /usr/sbin/aide --check` (report in /var/log/aide/aide.log). Send reports "
                    "to the SIEM or by mail (SL3: automated notification)."))
def fim_scheduled(sys_packages: Packages, sys_units: Units, sys_cron: CronJobs, sys_stats: Stats,
                  params: dict[str, Any]) -> Verdict:
    """An integrity baseline only helps if it is compared regularly and somebody sees the result."""
    try:
        max_age = float(params.get("max_report_age_days", 7))
    except (TypeError, ValueError):
        return error("max_report_age_days must be a number")
    expected = f"integrity check scheduled (timer or cron) and a report younger than {max_age:g} days"
    agents = [a for a in (params.get("agents") or []) if sys_units.is_active(a)]
    timers = sys_units.active_matching(r"aide.*\.timer$")
    cron = sys_cron.mentioning(r"\baide(check)?\b|dailyaidecheck|tripwire --check|\btripwire\b")
    report = sys_stats.get("/var/log/aide/aide.log")
    age = sys_stats.age_days(report)
    observed = {"timers": timers, "cron": cron[:5], "agents": agents,
                "last_report_age_days": round(age, 1) if age is not None else None}
    if agents and not (timers or cron):
        return passed(observed, expected, f"agent {agents[0]} runs integrity scans on its own schedule")
    if not (timers or cron):
        if not (sys_packages.any_of(["aide", "tripwire", "samhain"]) or agents):
            return failed(observed, expected, "no file integrity monitoring installed, so nothing is scheduled")
        if sys_cron.unreadable:
            return error(f"no timer found and root's crontab could not be read ({list(sys_cron.unreadable)}); "
                         f"{ROOT_HINT}", observed)
        return failed(observed, expected, "integrity checks are not scheduled (no aide timer or cron entry)")
    if report is None:
        if sys_stats.exists("/var/log/aide/aide.log") is None and "/var/log/aide/aide.log" in sys_stats.errors:
            return manual(f"scheduled ({(timers + cron)[0]}); the last report could not be checked ({ROOT_HINT})",
                          expected, observed)
        if sys_packages.has("tripwire") and not sys_packages.has("aide"):
            return manual(f"Tripwire scheduled ({(timers + cron)[0]}); verify its recent reports in "
                          "/var/lib/tripwire/report", expected, observed)
        return failed(observed, expected, "scheduled but no report found (/var/log/aide/aide.log missing)")
    if age is not None and age > max_age:
        return failed(observed, expected, f"last integrity report is {age:.0f} days old")
    return passed(observed, expected, f"scheduled via {(timers + cron)[0]}; last report {age:.1f} days old"
                  if age is not None else f"scheduled via {(timers + cron)[0]}")


EDR_AGENTS = ["falcon-sensor", "mdatp", "sentinelone", "cbagentd", "ds_agent", "sophos-spl", "esets", "eea",
              "cylancesvc", "cybereason-sensor", "elastic-endpoint", "xagt", "traps_pmd", "cortex-xdr"]
CLAMAV_DAEMONS = ["clamav-daemon", "clamd@scan", "clamd", "clamonacc", "clamav-clamonacc"]


@check("linux.malware.protection",
       title="Malware protection active with current signatures, or application allow-listing enforced",
       requirements=["SR 3.2", "HDR 3.2"], applies_to=["host"], severity="high",
       params={"max_signature_age_days": 7, "agents": EDR_AGENTS},
       remediation=("Either enforce application allow-listing (RHEL: `dnf install fapolicyd && systemctl enable "
                    "--now fapolicyd`), or run the vendor-qualified anti-malware/EDR agent, or ClamAV with updates "
                    "from an internal mirror: Debian/Ubuntu `apt install clamav-daemon clamav-freshclam`; RHEL "
                    "(EPEL) `dnf install clamd clamav-update` and `systemctl enable --now clamd@scan "
                    "clamav-freshclam`. Check the IACS vendor's approval before installing scanners on control "
                    "hosts."))
def malware_protection(sys_packages: Packages, sys_units: Units, sys_stats: Stats, sys_cron: CronJobs,
                       params: dict[str, Any]) -> Verdict:
    """Protection from malicious code (SR 3.2, HDR 3.2) on a host is either a scanner whose signatures are
    current or an allow-list that only lets approved executables run (common on IACS hosts)."""
    try:
        max_age = float(params.get("max_signature_age_days", 7))
    except (TypeError, ValueError):
        return error("max_signature_age_days must be a number")
    expected = f"fapolicyd or an EDR agent active, or ClamAV active with signatures <= {max_age:g} days old"
    agents = [a for a in (params.get("agents") or []) if sys_units.is_active(a)]
    fapolicyd = sys_units.is_active("fapolicyd")
    clamd = [d for d in CLAMAV_DAEMONS if sys_units.is_active(d)]
    scheduled = sys_cron.mentioning(r"\bclam(d)?scan\b") + sys_units.active_matching(r"clam.*scan.*\.timer$")
    signatures = sorted(sys_stats.matching("/var/lib/clamav/daily.c[lv]d"), key=lambda s: -s.mtime)
    age = sys_stats.age_days(signatures[0]) if signatures else None
    clamav = sys_packages.any_of(["clamav", "clamav-daemon", "clamd", "clamav-server"])
    observed = {"fapolicyd": fapolicyd, "agents": agents, "clamav_packages": clamav, "clamav_daemons": clamd,
                "scheduled_scans": scheduled[:3], "signature_age_days": round(age, 1) if age is not None else None}
    if fapolicyd:
        return passed(observed, expected, "application allow-listing (fapolicyd) active")
    if agents:
        return passed(observed, expected, f"anti-malware/EDR agent active: {', '.join(agents)}")
    if clamd or scheduled:
        if not signatures:
            if sys_stats.exists("/var/lib/clamav/daily.cvd") is None and any(
                    "clamav" in p for p in sys_stats.errors if "denied" in sys_stats.errors[p].lower()):
                return error(f"ClamAV signature files not stat-able; {ROOT_HINT}", observed)
            return failed(observed, expected, "ClamAV has no signature database (/var/lib/clamav/daily.c[lv]d)")
        if age is None:
            return manual("ClamAV active; host clock unknown so signature age cannot be computed", expected, observed)
        if age > max_age:
            return failed(observed, expected, f"ClamAV signatures are {age:.0f} days old")
        how = f"clamd ({clamd[0]})" if clamd else f"scheduled scan ({scheduled[0][:60]})"
        return passed(observed, expected, f"{how}, signatures {age:.1f} days old")
    if clamav:
        return failed(observed, expected, "ClamAV installed but neither its daemon runs nor a scan is scheduled")
    if not sys_units.available:
        return manual(f"systemd unit list unavailable ({sys_units.problem}); verify malware protection by hand",
                      expected, observed)
    return failed(observed, expected, "no malware protection and no application allow-listing found")


CACHE_PATHS = {"apt": ("/var/lib/apt/lists", "/var/cache/apt/pkgcache.bin",
                       "/var/lib/apt/periodic/update-success-stamp"),
               "dnf": ("/var/cache/dnf",)}


def _cache_age(manager: str | None, stats: Stats) -> float | None:
    candidates: list[FileStat] = [s for p in CACHE_PATHS.get(manager or "", ()) if (s := stats.get(p))]
    if manager == "dnf":
        candidates += stats.matching("/var/cache/dnf/*/repodata/repomd.xml")
    if not candidates:
        return None
    return stats.age_days(max(candidates, key=lambda s: s.mtime))


@check("linux.updates.pending-security",
       title="No pending security updates (from the host's cached package metadata)",
       requirements=["HDR 3.10", "SR 7.8"], applies_to=["host"], severity="high",
       params={"max_pending_security": 0, "max_cache_age_days": 7},
       remediation=("Apply qualified security updates in the next maintenance window: Debian/Ubuntu `apt update && "
                    "apt upgrade` (or `unattended-upgrade` for -security only); RHEL `dnf upgrade --security`. "
                    "Keep the package metadata fresh from an internal mirror (apt-daily.timer / dnf-makecache.timer) "
                    "so the host can report what is missing; follow the IACS vendor's patch qualification "
                    "(IEC 62443-2-3)."))
def pending_security(sys_upgrades: Upgrades, sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """Support for updates (HDR 3.10) is only useful if updates are applied; the list of missing fixes
    also belongs in the component inventory (SR 7.8). The metadata is the host's own cache: if it is
    old, "nothing pending" means nothing, so an old cache is reported instead of a pass."""
    try:
        allowed = int(params.get("max_pending_security", 0))
        max_cache = float(params.get("max_cache_age_days", 7))
    except (TypeError, ValueError):
        return error("max_pending_security and max_cache_age_days must be numbers")
    up = sys_upgrades
    age = _cache_age(up.manager, sys_stats)
    observed = {"manager": up.manager, "pending": len(up.packages), "security": len(up.security),
                "security_items": list(up.security[:20]),
                "cache_age_days": round(age, 1) if age is not None else None}
    expected = f"<= {allowed} pending security update(s), package metadata <= {max_cache:g} days old"
    if up.manager is None:
        return manual(f"no supported package manager ({up.problem}); verify the patch level against the vendor's "
                      "advisories", expected, observed)
    if up.problem:
        return error(f"{up.manager} could not read its cached metadata: {up.problem}", observed)
    if len(up.security) > allowed:
        return failed(observed, expected, f"{len(up.security)} security update(s) pending: "
                      + ", ".join(up.security[:8]) + (" ..." if len(up.security) > 8 else ""))
    if age is None:
        return manual("no package metadata cache found (never refreshed?): the pending-update list is empty because "
                      "the host knows no newer packages; refresh it from the mirror and re-run", expected, observed)
    if age > max_cache:
        return manual(f"package metadata is {age:.0f} days old; refresh it (apt update / dnf makecache) in a "
                      "maintenance window and re-run before concluding that nothing is pending", expected, observed)
    if not up.security_known and up.packages:
        return manual(f"{len(up.packages)} update(s) pending and the repositories publish no security "
                      "classification (no updateinfo); review them against the vendor's advisories", expected,
                      observed)
    return passed(observed, expected, f"{len(up.security)} security update(s) pending, {len(up.packages)} in total; "
                  f"metadata {age:.1f} days old")


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
    return passed(observed, expected, f"{policy.family}: {len(policy.checked)} configuration files checked")


@check("linux.boot.secure-boot",
       title="UEFI Secure Boot enabled",
       requirements=["SR 3.4", "HDR 3.14", "HDR 3.14 RE1"], applies_to=["host"], severity="medium",
       remediation=("Enable Secure Boot in the UEFI firmware setup (the shim/grub/kernel of Debian, Ubuntu and RHEL "
                    "are signed); enrol any out-of-tree module keys with `mokutil --import`. Hosts booting in "
                    "legacy BIOS mode must be converted to UEFI boot first."))
def secure_boot(sys_secure_boot: SecureBoot, sys_stats: Stats) -> Verdict:
    """Integrity and authenticity of the boot process (HDR 3.14, RE1): only signed boot loaders and
    kernels start, so a modified boot chain (bootkit) is refused."""
    expected = "SecureBoot EFI variable = 1"
    efi = sys_stats.exists("/sys/firmware/efi")
    observed = {"state": sys_secure_boot.state, "uefi": efi, "detail": sys_secure_boot.detail}
    if sys_secure_boot.state == "enabled":
        return passed(observed, expected, "Secure Boot enabled")
    if sys_secure_boot.state == "disabled":
        return failed(observed, expected, "Secure Boot is disabled in the firmware")
    if sys_secure_boot.state == "no-variable":
        if efi is False:
            return failed(observed, expected, "host boots in legacy BIOS mode: no Secure Boot")
        if efi:
            return failed(observed, expected, "UEFI boot without a SecureBoot variable (Secure Boot unsupported/off)")
    return manual(f"Secure Boot state unknown ({sys_secure_boot.detail}); check the firmware setup or "
                  "`mokutil --sb-state`", expected, observed)


@check("linux.mac.enforcing",
       title="Mandatory access control (SELinux or AppArmor) enforcing",
       requirements=["SR 2.1", "SR 5.4", "HDR 3.2"], applies_to=["host"], severity="medium",
       remediation=("RHEL: `SELINUX=enforcing` in /etc/selinux/config, `setenforce 1`, relabel if it was disabled "
                    "(`touch /.autorelabel`, reboot). Debian/Ubuntu: `apt install apparmor apparmor-utils "
                    "apparmor-profiles`, keep `apparmor=1 security=apparmor` on the kernel command line, put profiles "
                    "in enforce mode with `aa-enforce /etc/apparmor.d/<profile>`."))
def mac_enforcing(sys_mac: MacState) -> Verdict:
    """Mandatory access control confines services beyond Unix permissions (authorisation enforcement,
    SR 2.1) and partitions applications from each other (SR 5.4), limiting what exploited code can do."""
    mac = sys_mac
    expected = "SELinux enforcing (runtime and config) or AppArmor with profiles in enforce mode"
    observed = {"selinux": mac.selinux_runtime, "selinux_config": mac.selinux_config,
                "apparmor": mac.apparmor_enabled, "apparmor_profiles": mac.apparmor_profiles}
    if mac.selinux_runtime is not None:
        if mac.selinux_runtime != "1":
            return failed(observed, expected, "SELinux is in permissive mode")
        if mac.selinux_config not in (None, "enforcing"):
            return failed(observed, expected, f"SELinux enforcing now but SELINUX={mac.selinux_config} at next boot")
        return passed(observed, expected, "SELinux enforcing")
    if mac.apparmor_enabled:
        if mac.apparmor_profiles is None:
            return error(f"AppArmor enabled but its profile list could not be read; {ROOT_HINT}", observed)
        enforce = mac.apparmor_profiles.get("enforce", 0)
        if enforce == 0:
            return failed(observed, expected, "AppArmor enabled but no profile is in enforce mode")
        return passed(observed, expected, f"AppArmor: {enforce} profiles enforcing, "
                      f"{mac.apparmor_profiles.get('complain', 0)} complaining")
    if mac.selinux_config == "enforcing":
        return failed(observed, expected, "SELinux configured enforcing but not active (disabled at boot?)")
    return failed(observed, expected, "neither SELinux nor AppArmor is active")


KERNEL_HARDENING = {"kernel.randomize_va_space": 2, "kernel.kptr_restrict": 1, "kernel.dmesg_restrict": 1,
                    "fs.protected_symlinks": 1, "fs.protected_hardlinks": 1}


@check("linux.kernel.hardening",
       title="Kernel self-protection settings (ASLR, pointer and log restrictions, link protection)",
       requirements=["SR 3.2", "HDR 3.2"], applies_to=["host"], severity="medium",
       params={"minimums": KERNEL_HARDENING},
       remediation=("Create /etc/sysctl.d/60-hardening.conf (Debian/Ubuntu and RHEL) with "
                    "`kernel.randomize_va_space = 2`, `kernel.kptr_restrict = 1`, `kernel.dmesg_restrict = 1`, "
                    "`fs.protected_symlinks = 1`, `fs.protected_hardlinks = 1` (SL3+: `kernel.yama.ptrace_scope = 1`, "
                    "`kernel.unprivileged_bpf_disabled = 1`), then `sysctl --system`."))
def kernel_hardening(sys_sysctl: dict[str, str], params: dict[str, Any]) -> Verdict:
    """Exploit mitigations (address-space randomisation, hidden kernel pointers, restricted kernel log,
    safe links in sticky directories) make malicious code less likely to succeed (HDR 3.2 guidance)."""
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
