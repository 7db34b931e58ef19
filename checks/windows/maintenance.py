"""``windows.updates.*``, ``windows.backup.*``, ``windows.inventory.*``: updates, restart, backup, software inventory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.windows.facts.network import Service
from checks.windows.facts.policy import RegistryValues
from checks.windows.facts.sections import CBS_REBOOT, SESSION_MANAGER, WU_REBOOT
from checks.windows.facts.system import Hotfix, WindowsOs


@check("windows.updates.recent",
       title="Updates installed within the patch window",
       requirements=["HDR 3.10"], applies_to=["host"], severity="high", params={"max_age_days": 45},
       remediation=("Install the monthly cumulative update after the vendor's (ICS supplier's) approval, from WSUS or "
                    "an offline package (`wusa.exe <kb>.msu`); GPO: Computer Configuration\\Administrative Templates\\"
                    "Windows Components\\Windows Update\\Specify intranet Microsoft update service location. Verify: "
                    "`Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 3`."))
def updates_recent(win_hotfixes: tuple[Hotfix, ...], win_os: WindowsOs, params: dict[str, Any]) -> Verdict:
    """A host months behind on cumulative updates carries every vulnerability fixed since; HDR 3.10 relies
    on updates actually being applied."""
    dated = [h for h in win_hotfixes if h.installed_on is not None]
    latest = max(dated, key=lambda h: h.installed_on, default=None)  # type: ignore[arg-type, return-value]
    expected = f"an update installed within the last {params['max_age_days']} days (host clock)"
    observed = {"latest": latest.id if latest else None,
                "installed_on": latest.installed_on.isoformat() if latest and latest.installed_on else None,
                "host_date": win_os.now.date().isoformat(), "hotfixes": len(win_hotfixes)}
    if latest is None or latest.installed_on is None:
        return failed(observed, expected, "no installed update with a date")
    age = (win_os.now.date() - latest.installed_on).days
    observed["age_days"] = age
    if age > params["max_age_days"]:
        return failed(observed, expected, f"the last update was installed {age} days ago")
    return passed(observed, expected)


@check("windows.updates.pending-reboot",
       title="No restart pending to complete installed updates",
       requirements=["HDR 3.10"], applies_to=["host"], severity="low",
       remediation=("Restart the host in its next maintenance window so installed updates take effect. Verify: "
                    "`Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\"
                    "RebootPending'`; `Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\"
                    "Auto Update\\RebootRequired'` (both False)."))
def pending_reboot(win_registry: RegistryValues) -> Verdict:
    """An update installed but not yet active protects nothing: until the restart, the old binaries run
    (HDR 3.10). Control-system hosts often postpone restarts for months."""
    observed = {"cbs_reboot_pending": win_registry.exists(CBS_REBOOT),
                "windows_update_reboot_required": win_registry.exists(WU_REBOOT),
                "pending_file_renames": bool(win_registry.get(SESSION_MANAGER, "PendingFileRenameOperations"))}
    expected = "no RebootPending / RebootRequired key and no pending file renames"
    pending = [k for k, v in observed.items() if v]
    if pending:
        return failed(observed, expected, f"restart pending: {', '.join(pending)}")
    return passed(observed, expected)


#: Services of backup agents (lower-case names); Windows Server Backup is ``wbengine``.
BACKUP_AGENTS = ("veeamendpointbackupsvc", "veeamagent", "veeamtransportsvc", "acronis agent", "mms",
                 "backupexecagentaccelerator", "cvd", "wbengine", "tsm client scheduler", "dsmcsvc")


@check("windows.backup.detected",
       title="Backup agent or recent shadow copies present",
       requirements=["SR 7.3", "CR 7.3"], applies_to=["host"], severity="medium",
       params={"max_age_days": 7, "agents": list(BACKUP_AGENTS)},
       fixture_verdicts={"weak": "manual", "hardened": "pass"},
       fixture_note=("the weak HMI has no agent and no shadow copy, which may still mean an image backup taken "
                     "from outside it (hypervisor, central pull): a person confirms"),
       remediation=("Back up projects, configuration and data automatically (site backup agent, or Windows Server "
                    "Backup `wbadmin` schedule; VSS shadow copies via Task Scheduler as a local first line). Verify: "
                    "`Get-CimInstance Win32_ShadowCopy | Select-Object InstallDate`; `Get-Service wbengine, Veeam*`."))
def backup(win_services: dict[str, Service], win_shadow_copies: tuple, win_os: WindowsOs,
           params: dict[str, Any]) -> Verdict:
    """Recovery after ransomware or a failed disk (CR 7.3) needs backups; on a Windows host they show as a
    backup agent or as recent Volume Shadow Copies."""
    agents = [s.name for name in params["agents"] if (s := win_services.get(name.lower())) is not None
              and (s.running or s.start_type == "Automatic")]
    recent = [t for t in win_shadow_copies if win_os.now - t <= timedelta(days=params["max_age_days"])]
    expected = f"a backup agent service, or a shadow copy younger than {params['max_age_days']} days"
    observed = {"agents": agents, "shadow_copies": len(win_shadow_copies),
                "newest_shadow_copy": max(win_shadow_copies).isoformat() if win_shadow_copies else None}
    if agents:
        return passed(observed, expected, f"backup agent: {', '.join(agents)}")
    if recent:
        return passed(observed, expected, f"{len(recent)} recent shadow copies")
    if win_shadow_copies:
        return failed(observed, expected, "the newest shadow copy is too old and no backup agent is installed")
    return manual("no backup agent and no shadow copy on the host: confirm that it is backed up from outside "
                  "(image backup, hypervisor snapshot, central pull) and that a restore was tested", expected, observed)


@check("windows.inventory.software",
       title="Installed software inventory can be read",
       requirements=["SR 7.8", "CR 7.8"], applies_to=["host"], severity="low",
       fixture_verdicts={"weak": "pass", "hardened": "pass"},
       fixture_note="both fixtures list their installed programs: the inventory exists on a weak host too",
       remediation=("Keep software installed through MSI/packages that register an Uninstall entry, and export the "
                    "list to the asset inventory. Verify: `Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\"
                    "CurrentVersion\\Uninstall\\*' | Select-Object DisplayName, DisplayVersion`."))
def software_inventory(win_software: dict[str, str], win_os: WindowsOs) -> Verdict:
    """The component inventory (CR 7.8) of a Windows station is its OS build and its installed programs;
    the scan records both, and the drift report compares them between scans."""
    expected = "the OS build and at least one installed program listed"
    observed = {"os": f"{win_os.caption} {win_os.version}", "programs": len(win_software),
                "sample": sorted(win_software)[:10]}
    if not win_software:
        return failed(observed, expected, "no installed program is registered")
    return passed(observed, expected, f"{len(win_software)} programs inventoried")
