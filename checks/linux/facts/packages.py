"""Packages of a Linux host: what is installed, what is pending, and whether updates are signed.

* ``DPKG`` / ``RPM``: the installed package list (each is "not found" on the other family);
* the versions in apt's cached security package lists (compared with the installed versions on the
  auditor's side) and ``dnf --cacheonly`` give the pending updates from the package lists as they are on
  disk: nothing is ever refreshed (the age of those lists is in the ``STAT`` listing of
  :mod:`checks.linux.facts.files`). dnf takes seconds, so these run in their own lane beside the other reads;
* the apt and dnf/yum configuration in the shared file dump tells whether signatures are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from auditor.facts import CommandOutput, FactEvidence, FactUnavailable
from auditor.registry import fact, ssh_exec
from checks.linux.facts.debversion import VersionError, compare_versions
from checks.linux.facts.commands import first_line, first_message, optional_output, tool_absent
from checks.linux.facts.files import FILES, files_of, texts, unreadable
from checks.linux.facts.parsing import FileRead, strip_comments

DPKG = ssh_exec("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\\n'",
                name="packages.dpkg")
RPM = ssh_exec("rpm -qa --qf '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\\n'", name="packages.rpm")


# --- installed packages -------------------------------------------------------------------------

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
        detail = f" ({first_line(rpm.stdout)})" if rpm.stdout.strip() else ""
        problems.append("rpm listed no installed package" + detail)
    return Packages(None, problem="; ".join(problems) or "neither dpkg-query nor rpm is available")


_RPM_ARCHES = frozenset({"x86_64", "noarch", "i686", "i386", "aarch64", "ppc64le", "s390x", "armv7hl", "armhfp",
                         "riscv64", "(none)", "src"})


@fact("sys_packages", protocol="ssh", requests=[DPKG, RPM])
def sys_packages(ev: FactEvidence) -> Packages:
    """Installed packages (dpkg on Debian/Ubuntu, rpm on RHEL-family) with installed kernel releases."""
    dpkg, rpm = optional_output(ev, DPKG), optional_output(ev, RPM)
    if dpkg is None and rpm is None:
        raise FactUnavailable("neither the dpkg nor the rpm package list was collected")
    return parse_packages(dpkg, rpm)


# --- pending updates ----------------------------------------------------------------------------

#: Where apt keeps the downloaded package lists and their Release files.
APT_LISTS = "/var/lib/apt/lists"
#: The versions in the host's cached SECURITY package lists, one ``name version`` line per package, each
#: list after a ``#list FILE`` line and its Release file's ``#release FILE`` (no package name starts with
#: #). A list is a security list when its Release file's Suite, Codename or Label says "security" (Debian's
#: "bookworm-security", Ubuntu's "jammy-security", Debian <= 10's Label "Debian-Security"). The auditor
#: compares these versions with the installed ones (:data:`DPKG`, :mod:`checks.linux.facts.debversion`): a
#: package whose installed version is older than its security list's has a security update pending. Asking
#: apt instead would rebuild its cache from every list (about 20 MB) on each call, 0.4-3 s on a host where a
#: read takes milliseconds; ``apt-helper cat-file`` reads the lists whatever their compression. Nothing is
#: refreshed or written.
APT_SECURITY_LISTS = ssh_exec(
    f"[ -d {APT_LISTS} ] || {{ echo 'apt: no package lists ({APT_LISTS}): not found'; exit 127; }}; "
    f"cd {APT_LISTS} || exit; "
    "for r in *Release; do grep -qsiE '^(Suite|Codename|Label):.*security' \"$r\" || continue; "
    "echo \"#release $r\"; p=${r%InRelease}; p=${p%Release}; for f in \"$p\"*_Packages*; do "
    "[ -f \"$f\" ] || continue; echo \"#list $f\"; "
    "/usr/lib/apt/apt-helper cat-file \"$f\" | awk '/^Package:/ {p = $2} /^Version:/ {print p, $2}'; done; done",
    lane="packages", name="packages.apt-security-lists",
    formerly=[f"if grep -ls '^Label:.*Security' {APT_LISTS}/*Release | xargs -r grep -Ls '^Suite:.*security' "
              "| grep -q .; then nice -n 10 apt-get -s dist-upgrade; else nice -n 10 apt list --upgradable; fi",
              "apt-get -s dist-upgrade"])
DNF_CHECK_UPDATE = ssh_exec("dnf -q --cacheonly check-update", lane="packages", name="packages.dnf-check-update")
DNF_SECURITY = ssh_exec("dnf -q --cacheonly updateinfo list --security", lane="packages",
                        name="packages.dnf-security")


@dataclass(frozen=True)
class Upgrades:
    """Pending updates from the local package metadata, as the package manager reports them."""

    manager: str | None                      # apt / dnf / None
    packages: tuple[str, ...] = ()           # every pending update, when ``all_known``; else only the security ones
    security: tuple[str, ...] = ()          # packages (apt) or advisories (dnf) that fix security issues
    security_known: bool = False             # whether the metadata classifies security updates at all
    problem: str = ""
    all_known: bool = True                   # False when only the security lists were compared (apt)
    sources: tuple[str, ...] = ()            # the security lists compared (apt)


_APT_INST = re.compile(r"^Inst (?P<name>[a-z0-9][a-z0-9+.\-]*)(?::\S+)?(?: \[(?P<old>[^\]]*)\])? "
                       r"\((?P<version>\S+) (?P<releases>[^\[]*?)\s*\[(?P<arch>[^\]]+)\]\)")
_APT_LIST = re.compile(r"^(?P<name>[a-z0-9][a-z0-9+.\-]*)/(?P<suites>\S+) (?P<version>\S+) (?P<arch>\S+) "
                       r"\[upgradable from: (?P<old>[^\]]+)\]$")
_DNF_PKG = re.compile(r"^(?P<name>[\w+.\-]+)\.(?P<arch>x86_64|noarch|i686|aarch64|ppc64le|s390x)\s+"
                      r"(?P<version>\S+)\s+(?P<repo>\S+)\s*$")
_DNF_ADVISORY = re.compile(r"^(?P<id>[A-Z]+SA-\d{4}:\d+|FEDORA-\d{4}-[0-9a-f]+|[A-Z]{2,5}-\d{4}[-:]\d+)\s+"
                           r"(?P<kind>\S+)\s+(?P<package>\S+)")


def parse_upgrades(apt: CommandOutput | None, dnf_check: CommandOutput | None,
                   dnf_security: CommandOutput | None, installed: Packages | None = None) -> Upgrades:
    """The security package lists compared with the ``installed`` packages (Debian/Ubuntu, see
    :data:`APT_SECURITY_LISTS`) or ``dnf --cacheonly`` (RHEL) into one value.

    Evidence recorded by earlier versions of the tool holds ``apt list --upgradable`` or
    ``apt-get -s dist-upgrade`` instead; those still parse: a package is a security update when one of
    the releases it comes from is a security pocket ("Debian-Security:12/stable-security",
    "Ubuntu:22.04/jammy-security" in the simulation, suite "bookworm-security" / "jammy-security" in the
    list).
    """
    if apt is not None and not tool_absent(apt) and _is_security_lists(apt.stdout):
        return _compare_security_lists(apt, installed)
    if apt is not None and not tool_absent(apt) and _is_apt_list(apt.stdout):
        return _parse_apt_list(apt)
    if apt is not None and not tool_absent(apt):
        packages, security = [], []
        for line in apt.stdout.splitlines():
            match = _APT_INST.match(line.strip())
            if match:
                packages.append(match["name"])
                if re.search(r"security", match["releases"], re.I):
                    security.append(match["name"])
        if apt.exit_code not in (0, None) and not packages:
            return Upgrades("apt", problem=first_message(apt.stdout) or f"apt-get exit {apt.exit_code}")
        if not packages and not re.search(r"^\d+ upgraded, \d+ newly installed", apt.stdout, re.M):
            return Upgrades("apt", problem="apt-get printed no upgrade summary: " + (first_message(apt.stdout) or "no output"))
        return Upgrades("apt", tuple(sorted(set(packages))), tuple(sorted(set(security))), True)
    if dnf_check is not None and not tool_absent(dnf_check):
        if dnf_check.exit_code not in (0, 100):
            return Upgrades("dnf", problem=first_message(dnf_check.stdout) or f"dnf exit {dnf_check.exit_code}")
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


def _is_security_lists(text: str) -> bool:
    return not text.strip() or text.lstrip().startswith("#release ")


_LIST_HEADER = re.compile(r"^#(?P<kind>release|list) (?P<file>.+)$")


def _compare_security_lists(apt: CommandOutput, installed: Packages | None) -> Upgrades:
    """Installed packages older than the newest version of the same name in a security list."""
    if installed is None or installed.manager != "dpkg":
        why = installed.problem if installed is not None and installed.problem else "dpkg-query was not collected"
        return Upgrades("apt", problem=f"the installed versions are unknown ({why})", all_known=False)
    releases: list[str] = []
    lists: list[str] = []
    newest: dict[str, str] = {}
    for raw in apt.stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        header = _LIST_HEADER.match(line)
        if header:
            (releases if header["kind"] == "release" else lists).append(header["file"])
            continue
        parts = line.split()
        if len(parts) != 2 or not lists:       # an error of the shell or apt-helper: a list was not read whole
            return Upgrades("apt", problem=f"the security lists could not be read: {line[:200]}", all_known=False)
        name, version = parts
        try:
            if name not in newest or compare_versions(version, newest[name]) > 0:
                newest[name] = version
        except VersionError:
            continue                            # dpkg would refuse this version too: the entry cannot apply
    if releases and not lists:
        return Upgrades("apt", problem="a security archive is configured (" + ", ".join(releases[:3]) + ") but "
                        "its package lists are missing: run `apt update` in a maintenance window", all_known=False)
    pending = []
    for name, version in installed.installed.items():
        best = newest.get(name)
        try:
            if best is not None and compare_versions(version, best) < 0:
                pending.append(name)
        except VersionError:
            continue
    security = tuple(sorted(pending))
    return Upgrades("apt", security, security, security_known=bool(lists), all_known=False, sources=tuple(lists))


def _is_apt_list(text: str) -> bool:
    head = text.lstrip().splitlines()[:3]
    return any(line.startswith("Listing...") for line in head) or any(
        "[upgradable from: " in line for line in text.splitlines()[:50])


def _parse_apt_list(apt: CommandOutput) -> Upgrades:
    packages, security = [], []
    for line in apt.stdout.splitlines():
        match = _APT_LIST.match(line.strip())
        if match:
            packages.append(match["name"])
            if re.search(r"security", match["suites"], re.I):
                security.append(match["name"])
    if apt.exit_code not in (0, None) and not packages:
        errors = [line.strip() for line in apt.stdout.splitlines() if line.startswith(("E:", "W:"))]
        return Upgrades("apt", problem=(errors or [first_message(apt.stdout)])[0] or f"apt exit {apt.exit_code}")
    return Upgrades("apt", tuple(sorted(set(packages))), tuple(sorted(set(security))), True)


@fact("sys_upgrades", protocol="ssh", requests=[APT_SECURITY_LISTS, DNF_CHECK_UPDATE, DNF_SECURITY, DPKG, RPM])
def sys_upgrades(ev: FactEvidence) -> Upgrades:
    """Pending (security) updates according to the cached package metadata; nothing is refreshed."""
    apt, dnf_check, dnf_security = (optional_output(ev, r) for r in (APT_SECURITY_LISTS, DNF_CHECK_UPDATE,
                                                                        DNF_SECURITY))
    if apt is None and dnf_check is None:
        raise FactUnavailable("neither the apt lists nor dnf output was collected")
    dpkg, rpm = optional_output(ev, DPKG), optional_output(ev, RPM)
    installed = parse_packages(dpkg, rpm) if dpkg is not None or rpm is not None else None
    return parse_upgrades(apt, dnf_check, dnf_security, installed)


# --- signature policy ---------------------------------------------------------------------------

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
