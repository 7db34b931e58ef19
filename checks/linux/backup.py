"""``linux.backup.*`` checks: an automated backup is detected and not failing."""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.packages import Packages
from checks.linux.facts.system import CronJobs
from checks.linux.facts.systemd import Units

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
