"""``windows.audit.*`` and ``windows.eventlog.*``: advanced audit policy, log capacity, forwarding."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import ADMIN_TEMPLATES, ADVANCED_AUDIT, registry_verify
from checks.windows.facts.network import Service
from checks.windows.facts.policy import AuditPolicy, RegistryValues
from checks.windows.facts.sections import EVENT_FORWARDING

#: Advanced audit subcategories by GUID (culture independent): name, needs success, needs failure.
LOGON = {"0CCE9215-69AE-11D9-BED3-505054503030": ("Logon", True, True),
         "0CCE9217-69AE-11D9-BED3-505054503030": ("Account Lockout", False, True),
         "0CCE921B-69AE-11D9-BED3-505054503030": ("Special Logon", True, False),
         "0CCE923F-69AE-11D9-BED3-505054503030": ("Credential Validation", True, True)}
ACCOUNT_MANAGEMENT = {"0CCE9235-69AE-11D9-BED3-505054503030": ("User Account Management", True, True),
                      "0CCE9237-69AE-11D9-BED3-505054503030": ("Security Group Management", True, False)}
POLICY_CHANGE = {"0CCE922F-69AE-11D9-BED3-505054503030": ("Audit Policy Change", True, True),
                 "0CCE9230-69AE-11D9-BED3-505054503030": ("Authentication Policy Change", True, False)}
PRIVILEGE_USE = {"0CCE9228-69AE-11D9-BED3-505054503030": ("Sensitive Privilege Use", True, True)}
PROCESS_CREATION = {"0CCE922B-69AE-11D9-BED3-505054503030": ("Process Creation", True, False)}

_VERIFY = "Verify: `auditpol /get /category:* /r` (or `auditpol /get /subcategory:{{{guid}}}`)."


def _audited(policy: AuditPolicy, wanted: dict[str, tuple[str, bool, bool]]) -> Verdict:
    expected = "; ".join(f"{name}: {'Success' if s else ''}{' and ' if s and f else ''}{'Failure' if f else ''}"
                         for name, s, f in wanted.values())
    observed: dict[str, Any] = {}
    missing = []
    for guid, (name, success, failure) in wanted.items():
        found = policy.subcategories.get(guid)
        if found is None:
            observed[name] = None
            missing.append(f"{name} not reported")
            continue
        observed[name] = ("Success" if found.success else "") + (" Failure" if found.failure else "") or "No Auditing"
        if (success and not found.success) or (failure and not found.failure):
            missing.append(f"{name}: {observed[name].strip()}")
    if policy.unknown:
        observed["not_understood"] = list(policy.unknown)
    return failed(observed, expected, "; ".join(missing)) if missing else passed(observed, expected)


def _remediation(path: str, guid: str) -> str:
    return f"GPO: {ADVANCED_AUDIT}{path}. " + _VERIFY.format(guid=guid)


@check("windows.audit.logon",
       title="Logon events audited (logon, lockout, special logon, credentials)",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="high",
       remediation=_remediation("Logon/Logoff: Audit Logon = Success and Failure, Audit Account Lockout = Failure, "
                                "Audit Special Logon = Success; Account Logon: Audit Credential Validation = Success "
                                "and Failure", "0CCE9215-69AE-11D9-BED3-505054503030"))
def audit_logon(win_audit_policy: AuditPolicy) -> Verdict:
    """Who logged on, from where and who failed is the first question of every incident; CR 2.8 lists
    access control and authentication events as auditable."""
    return _audited(win_audit_policy, LOGON)


@check("windows.audit.account-management",
       title="Account and group management audited",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="medium",
       remediation=_remediation("Account Management: Audit User Account Management = Success and Failure, Audit "
                                "Security Group Management = Success", "0CCE9235-69AE-11D9-BED3-505054503030"))
def audit_accounts(win_audit_policy: AuditPolicy) -> Verdict:
    """A new local administrator is the typical persistence of an attacker; account changes are auditable
    events under CR 2.8."""
    return _audited(win_audit_policy, ACCOUNT_MANAGEMENT)


@check("windows.audit.policy-change",
       title="Audit and authentication policy changes audited",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="medium",
       remediation=_remediation("Policy Change: Audit Audit Policy Change = Success and Failure, Audit Authentication "
                                "Policy Change = Success", "0CCE922F-69AE-11D9-BED3-505054503030"))
def audit_policy_change(win_audit_policy: AuditPolicy) -> Verdict:
    """Switching auditing off is how an intruder hides; configuration changes are auditable events (CR 2.8)."""
    return _audited(win_audit_policy, POLICY_CHANGE)


@check("windows.audit.privilege-use",
       title="Sensitive privilege use audited",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="medium",
       remediation=_remediation("Privilege Use: Audit Sensitive Privilege Use = Success and Failure",
                                "0CCE9228-69AE-11D9-BED3-505054503030"))
def audit_privilege_use(win_audit_policy: AuditPolicy) -> Verdict:
    """Use of debug, backup or take-ownership privileges is how credentials and files are stolen; CR 2.8
    covers the use of privileges."""
    return _audited(win_audit_policy, PRIVILEGE_USE)


@check("windows.audit.process-creation",
       title="Process creation audited",
       requirements=["SR 2.8", "CR 2.8"], applies_to=["host"], severity="medium",
       remediation=_remediation("Detailed Tracking: Audit Process Creation = Success (and Administrative Templates\\"
                                "System\\Audit Process Creation\\Include command line in process creation events)",
                                "0CCE922B-69AE-11D9-BED3-505054503030"))
def audit_process_creation(win_audit_policy: AuditPolicy) -> Verdict:
    """On an HMI, any program beyond the usual few is suspicious; process creation events (4688) are what
    makes that visible (CR 2.8)."""
    return _audited(win_audit_policy, PROCESS_CREATION)


@check("windows.eventlog.capacity",
       title="Event logs large enough to keep the audit trail",
       requirements=["SR 2.9", "CR 2.9"], applies_to=["host"], severity="medium",
       params={"min_security_mb": 192, "min_other_mb": 32},
       remediation=(f"GPO: {ADMIN_TEMPLATES}Windows Components\\Event Log Service\\Security\\Specify the maximum log "
                    "file size (KB) = 196608 or more; Application and System = 32768 or more. Verify: "
                    "`Get-WinEvent -ListLog Security, Application, System | Select-Object LogName, "
                    "MaximumSizeInBytes, LogMode`."))
def eventlog_capacity(win_event_logs: dict[str, dict[str, Any]], params: dict[str, Any]) -> Verdict:
    """The default 20 MB Security log of a busy host covers hours, not the weeks an investigation looks back;
    CR 2.9 asks for enough audit storage capacity."""
    minimum = {"Security": params["min_security_mb"], "Application": params["min_other_mb"],
               "System": params["min_other_mb"]}
    expected = ", ".join(f"{name} >= {mb} MB and enabled" for name, mb in minimum.items())
    observed = {name: {"MB": (log.get("MaximumSizeInBytes") or 0) // (1024 * 1024), "mode": log.get("LogMode"),
                       "enabled": log.get("IsEnabled")} if (log := win_event_logs.get(name)) else None
                for name in minimum}
    problems = []
    for name, mb in minimum.items():
        log = observed[name]
        if log is None:
            problems.append(f"{name} not reported")
        elif not log["enabled"] or log["MB"] < mb:
            problems.append(f"{name}: {log['MB']} MB" + ("" if log["enabled"] else ", disabled"))
    return failed(observed, expected, "; ".join(problems)) if problems else passed(observed, expected)


#: Services of log shippers that forward events off the host (lower-case service names).
FORWARDERS = ("splunkforwarder", "nxlog", "winlogbeat", "elastic-agent", "wazuhsvc", "ossecsvc", "azuremonitoragent",
              "healthservice", "fluent-bit", "otelcol", "snare")


@check("windows.eventlog.forwarding",
       title="Events are forwarded to a central collector",
       requirements=["SR 6.2", "CR 6.2", "SR 3.9", "CR 3.9"], applies_to=["host"], severity="medium",
       params={"forwarders": list(FORWARDERS)},
       remediation=(f"GPO: {ADMIN_TEMPLATES}Windows Components\\Event Forwarding\\Configure target Subscription "
                    "Manager = Server=https://<collector>:5986/wsman/SubscriptionManager/WEC,Refresh=60 (and WinRM "
                    "running), or install the site's log shipper. Verify: "
                    + registry_verify(EVENT_FORWARDING) + "; `Get-Service WinRM`."))
def eventlog_forwarding(win_registry: RegistryValues, win_services: dict[str, Service],
                        params: dict[str, Any]) -> Verdict:
    """Logs kept only on the host are lost with it and can be wiped by whoever owns it; continuous monitoring
    (CR 6.2) and protected audit information (CR 3.9) need a copy elsewhere."""
    targets = [str(v) for v in win_registry.values(EVENT_FORWARDING).values() if str(v or "").strip()]
    winrm = win_services.get("winrm")
    shippers = [s.name for name in params["forwarders"] if (s := win_services.get(name.lower())) and s.running]
    expected = "a Windows Event Forwarding subscription manager with WinRM running, or a log shipper service running"
    observed = {"subscription_managers": targets, "winrm": winrm.status if winrm else None, "shippers": shippers}
    if targets and winrm is not None and winrm.running:
        return passed(observed, expected, "Windows Event Forwarding is configured")
    if shippers:
        return passed(observed, expected, f"log shipper running: {', '.join(shippers)}")
    if targets:
        return failed(observed, expected, "a subscription manager is set but WinRM is not running")
    return failed(observed, expected, "events stay on this host")
