"""``windows.appcontrol.*``, ``windows.usb.*``, ``windows.autorun.*``: what may run and what may be plugged in."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import ADMIN_TEMPLATES, registry_verify
from checks.windows.facts.network import Service
from checks.windows.facts.policy import RegistryValues
from checks.windows.facts.sections import POLICIES_EXPLORER, REMOVABLE_STORAGE, USBSTOR
from checks.windows.facts.system import AppLocker


@check("windows.appcontrol.enforced",
       title="Application control (AppLocker or WDAC) enforced",
       requirements=["HDR 3.2", "SR 3.2", "CR 7.7", "SR 7.7"], applies_to=["host"], severity="high",
       remediation=("GPO: Computer Configuration\\Windows Settings\\Security Settings\\Application Control Policies\\"
                    "AppLocker: Executable Rules (and Script rules) with the HMI's allowed publishers/paths, "
                    "enforcement = Enforce rules; start the Application Identity service (AppIDSvc, Automatic). Or "
                    "deploy a WDAC policy in enforced mode. Verify: `Get-AppLockerPolicy -Effective -Xml`; "
                    "`(Get-CimInstance -Namespace root/Microsoft/Windows/DeviceGuard -ClassName Win32_DeviceGuard)"
                    ".UsermodeCodeIntegrityPolicyEnforcementStatus` (2 = enforced)."))
def appcontrol(win_applocker: AppLocker, win_device_guard: dict[str, Any], win_services: dict[str, Service]) -> Verdict:
    """An HMI or engineering station runs a fixed set of programs; allow-listing them stops malware and
    unapproved tools even when they arrive with valid user rights (HDR 3.2, least functionality CR 7.7)."""
    exe_mode, exe_rules = win_applocker.collections.get("Exe", ("NotConfigured", 0))
    appid = win_services.get("appidsvc")
    wdac = win_device_guard.get("UsermodeCodeIntegrityPolicyEnforcementStatus")
    expected = ("AppLocker Exe rules enforced (EnforcementMode Enabled, rules present, AppIDSvc running), "
                "or WDAC user-mode code integrity enforced (status 2)")
    observed = {"applocker": {k: {"mode": m, "rules": n} for k, (m, n) in win_applocker.collections.items()},
                "appidsvc": appid.status if appid else None, "wdac_usermode_status": wdac}
    if wdac == 2:
        return passed(observed, expected, "WDAC enforces user-mode code integrity")
    if exe_mode == "Enabled" and exe_rules and appid is not None and appid.running:
        return passed(observed, expected, f"AppLocker enforces {exe_rules} executable rules")
    if exe_mode == "Enabled" and exe_rules:
        return failed(observed, expected, "AppLocker rules are set but the Application Identity service is not "
                                          "running, so they are not enforced")
    if exe_mode == "AuditOnly":
        return failed(observed, expected, "AppLocker only audits executables")
    return failed(observed, expected, "no application control policy is enforced")


@check("windows.usb.removable-storage",
       title="Removable storage blocked by policy",
       requirements=["SR 2.3"], applies_to=["host"], severity="medium",
       remediation=(f"GPO: {ADMIN_TEMPLATES}System\\Removable Storage Access\\All Removable Storage classes: Deny all "
                    "access = Enabled (or set the USBSTOR driver to Start = 4 where no USB storage is ever used). "
                    "Verify: " + registry_verify(REMOVABLE_STORAGE, "Deny_All") + "; "
                    + registry_verify(USBSTOR, "Start") + "."))
def removable_storage(win_registry: RegistryValues) -> Verdict:
    """USB sticks are the classic way malware crosses the air gap into control networks; SR 2.3 asks for
    use control of portable and mobile devices."""
    deny_all = win_registry.number(REMOVABLE_STORAGE, "Deny_All")
    usbstor = win_registry.number(USBSTOR, "Start")
    expected = "Deny_All = 1, or the USBSTOR driver disabled (Start = 4)"
    observed = {"Deny_All": deny_all, "USBSTOR_Start": usbstor}
    if deny_all == 1:
        return passed(observed, expected, "all removable storage classes are denied")
    if usbstor == 4:
        return passed(observed, expected, "the USB mass-storage driver is disabled")
    return failed(observed, expected, "removable storage is usable")


@check("windows.autorun.disabled",
       title="AutoRun and AutoPlay disabled for all drives",
       requirements=["HDR 3.2", "SR 3.2", "HDR 2.4"], applies_to=["host"], severity="medium",
       remediation=(f"GPO: {ADMIN_TEMPLATES}Windows Components\\AutoPlay Policies\\Turn off AutoPlay = Enabled: All "
                    "drives; Set the default behavior for AutoRun = Enabled: Do not execute any autorun commands. "
                    "Verify: " + registry_verify(POLICIES_EXPLORER, "NoDriveTypeAutoRun", "NoAutorun") + "."))
def autorun(win_registry: RegistryValues) -> Verdict:
    """AutoRun executes code from inserted media without a decision by anyone: mobile code the host must
    not run on its own (HDR 2.4) and a malware vector (HDR 3.2)."""
    drive_types = win_registry.number(POLICIES_EXPLORER, "NoDriveTypeAutoRun")
    no_autorun = win_registry.number(POLICIES_EXPLORER, "NoAutorun")
    expected = "NoDriveTypeAutoRun = 255 (all drives) and NoAutorun = 1"
    observed = {"NoDriveTypeAutoRun": drive_types, "NoAutorun": no_autorun}
    if drive_types == 255 and no_autorun == 1:
        return passed(observed, expected)
    return failed(observed, expected, "AutoPlay is on for some drive types" if drive_types != 255
                  else "autorun commands are still executed")
