"""``linux.inventory.*`` checks: OS release identified and supported, software inventory available.

Evidence: :mod:`checks.linux.facts.system` (OS identity), :mod:`checks.linux.facts.packages`.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, failed, manual, passed
from checks.linux.facts.files import Stats
from checks.linux.facts.packages import Packages
from checks.linux.facts.system import OsInfo

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
       requirements=["SR 7.8", "CR 7.8", "HDR 3.10", "EDR 3.10"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"eol_overrides": {}, "warn_days": 180},
       remediation=("Record the OS release in the component inventory. If the release is past its end of "
                    "support, plan the upgrade (Debian: `apt full-upgrade` to the next stable after a "
                    "release-notes review; Ubuntu: `do-release-upgrade`; RHEL: `leapp upgrade`) or document "
                    "an extended-support contract (Ubuntu Pro/ESM, RHEL ELS) in `eol_overrides`."))
def os_release(sys_os: OsInfo, sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """An IACS component inventory (SR 7.8) must name the OS and kernel of every host or Linux-based controller,
    and a release without vendor security updates cannot meet the update-support requirement (HDR/EDR 3.10)."""
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
