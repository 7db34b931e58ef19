"""``linux.fim.*`` checks: file integrity monitoring installed with a baseline, scheduled and reporting.

AIDE is never run (``aide --check`` is CPU/IO heavy on old HMI disks): its packages, database, schedule
and last report are judged instead.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.files import Stats
from checks.linux.facts.packages import Packages
from checks.linux.facts.system import CronJobs
from checks.linux.facts.systemd import Units

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
    if age is None:  # a schedule is no proof that the checks still run
        return manual(f"scheduled via {(timers + cron)[0]}, but the age of the last report is unknown; verify "
                      "recent reports", expected, observed)
    return passed(observed, expected, f"scheduled via {(timers + cron)[0]}; last report {age:.1f} days old")
