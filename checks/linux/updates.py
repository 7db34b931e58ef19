"""``linux.updates.*`` checks: pending security updates and a pending reboot.

Evidence: :mod:`checks.linux.facts.packages` (pending updates from the host's cached metadata, installed
kernels), the OS identity (running kernel) and the stat listing (metadata age, /run/reboot-required).
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.files import FileStat, Stats
from checks.linux.facts.packages import Packages, Upgrades
from checks.linux.facts.system import OsInfo

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
    observed = {"manager": up.manager, "pending": len(up.packages) if up.all_known else None,
                "security": len(up.security), "security_items": list(up.security[:20]),
                "cache_age_days": round(age, 1) if age is not None else None,
                **({"security_lists": list(up.sources)} if up.sources else {})}
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
    if not up.security_known and not up.all_known:
        return manual("the host's package sources include no security archive (no Release file whose suite or "
                      "label says security), so it cannot know of security updates; add the distribution's "
                      "security archive or mirror, or verify the patch level against the vendor's advisories",
                      expected, observed)
    if not up.security_known and up.packages:
        return manual(f"{len(up.packages)} update(s) pending and the repositories publish no security "
                      "classification (no updateinfo); review them against the vendor's advisories", expected,
                      observed)
    total = f", {len(up.packages)} in total" if up.all_known else ""
    return passed(observed, expected, f"{len(up.security)} security update(s) pending{total}; "
                  f"metadata {age:.1f} days old")


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
    if flag is None and sys_packages.manager == "dpkg":
        return manual(f"running {running}, the newest installed kernel, but whether /run/reboot-required exists "
                      "could not be read (libraries and services may await a restart); verify it",
                      "no pending reboot", observed)
    return passed(observed, "running kernel is the newest installed; no reboot flag",
                  f"running {running}, the newest installed kernel")
