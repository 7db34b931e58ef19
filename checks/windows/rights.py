"""``windows.uac.*``, ``windows.rights.*``, ``windows.auth.*``, ``windows.lsa.*``: use control and credential protection."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import ADMIN_TEMPLATES, SECURITY_OPTIONS, USER_RIGHTS, registry_verify
from checks.windows.accounts import BROAD_SIDS
from checks.windows.facts.policy import RegistryValues, SecurityPolicy
from checks.windows.facts.sections import LSA, POLICIES_SYSTEM


@check("windows.uac.enabled",
       title="User Account Control enabled and prompting administrators",
       requirements=["SR 2.1", "CR 2.1"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {SECURITY_OPTIONS}User Account Control: Run all administrators in Admin Approval Mode = "
                    "Enabled; ... Behavior of the elevation prompt for administrators in Admin Approval Mode = "
                    "Prompt for credentials (or consent) on the secure desktop. Verify: "
                    + registry_verify(POLICIES_SYSTEM, "EnableLUA", "ConsentPromptBehaviorAdmin") + "."))
def uac(win_registry: RegistryValues) -> Verdict:
    """Without UAC every process of an administrator runs with full rights, so one malicious document or
    HMI plug-in owns the host; authorisation enforcement (CR 2.1) needs elevation to be a deliberate step."""
    lua = win_registry.number(POLICIES_SYSTEM, "EnableLUA")
    prompt = win_registry.number(POLICIES_SYSTEM, "ConsentPromptBehaviorAdmin")
    expected = "EnableLUA = 1 and ConsentPromptBehaviorAdmin = 1 or 2 (prompt on the secure desktop)"
    observed = {"EnableLUA": lua, "ConsentPromptBehaviorAdmin": prompt}
    if lua != 1:
        return failed(observed, expected, "UAC is off" if lua == 0 else "EnableLUA is not set")
    if prompt not in (1, 2):
        return failed(observed, expected, "administrators elevate without a prompt on the secure desktop"
                      if prompt is not None else "ConsentPromptBehaviorAdmin is not set")
    return passed(observed, expected)


@check("windows.rights.remote-logon",
       title="Remote and network logon rights exclude broad groups",
       requirements=["SR 2.1", "CR 2.1", "SR 1.1", "CR 1.1"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {USER_RIGHTS}Allow log on through Remote Desktop Services = Administrators, Remote "
                    "Desktop Users; Access this computer from the network = Administrators (and named service "
                    "groups); Deny access to this computer from the network: Guests, Local account. Verify: "
                    "`secedit /export /cfg $env:TEMP\\r.inf /areas USER_RIGHTS; Select-String -Path $env:TEMP\\r.inf "
                    "-Pattern 'SeRemoteInteractiveLogonRight|SeNetworkLogonRight'`."))
def remote_logon(win_secpol: SecurityPolicy) -> Verdict:
    """Who may log on over RDP and the network decides who can reach the HMI from elsewhere; granting it to
    Everyone, Users or Guests makes any account a remote operator (CR 2.1)."""
    rights = ("SeRemoteInteractiveLogonRight", "SeNetworkLogonRight")
    observed = {r: list(win_secpol.holders(r)) for r in rights}
    expected = f"no {', '.join(BROAD_SIDS.values())} in {' or '.join(rights)}"
    broad = [f"{r}: {BROAD_SIDS[sid]}" for r in rights for sid in win_secpol.holders(r) if sid in BROAD_SIDS]
    if broad:
        return failed(observed, expected, "; ".join(broad))
    return passed(observed, expected)


@check("windows.auth.lm-ntlmv1-refused",
       title="LM and NTLMv1 authentication refused, no LM hashes stored",
       requirements=["SR 1.5", "CR 1.5", "SR 4.3", "CR 4.3"], applies_to=["host"], severity="high",
       params={"min_level": 5},
       remediation=(f"GPO: {SECURITY_OPTIONS}Network security: LAN Manager authentication level = Send NTLMv2 "
                    "response only. Refuse LM & NTLM (5); Network security: Do not store LAN Manager hash value on "
                    "next password change = Enabled. Verify: " + registry_verify(LSA, "LmCompatibilityLevel",
                                                                                  "NoLMHash") + "."))
def lm_ntlmv1(win_registry: RegistryValues, params: dict[str, Any]) -> Verdict:
    """LM and NTLMv1 responses are cracked in minutes and relayed trivially; CR 4.3 asks for cryptography
    of current strength, and stored LM hashes are a weak authenticator store (CR 1.5)."""
    level = win_registry.number(LSA, "LmCompatibilityLevel")
    no_lm = win_registry.number(LSA, "NoLMHash")
    expected = f"LmCompatibilityLevel >= {params['min_level']} and NoLMHash = 1 (absent: 1)"
    observed = {"LmCompatibilityLevel": level, "NoLMHash": no_lm}
    if level is None or level < params["min_level"]:
        return failed(observed, expected, "not set: the default (3) still accepts LM and NTLMv1 responses"
                      if level is None else f"level {level} accepts LM or NTLMv1")
    if no_lm == 0:
        return failed(observed, expected, "LM hashes are stored")
    return passed(observed, expected)


@check("windows.lsa.protection",
       title="LSA protection or Credential Guard protects stored credentials",
       requirements=["SR 1.5", "CR 1.5", "SR 3.4", "CR 3.4"], applies_to=["host"], severity="medium",
       remediation=(f"GPO: {ADMIN_TEMPLATES}System\\Local Security Authority\\Configures LSASS to run as a protected "
                    f"process = Enabled with UEFI Lock; or {ADMIN_TEMPLATES}System\\Device Guard\\Turn On "
                    "Virtualization Based Security: Credential Guard = Enabled with UEFI lock. Verify: "
                    + registry_verify(LSA, "RunAsPPL") + "; `(Get-CimInstance -Namespace root/Microsoft/Windows/"
                    "DeviceGuard -ClassName Win32_DeviceGuard).SecurityServicesRunning` (1 = Credential Guard)."))
def lsa_protection(win_registry: RegistryValues, win_device_guard: dict[str, Any]) -> Verdict:
    """Credential dumping from LSASS is how one compromised workstation becomes the whole domain; running
    LSASS protected (or isolated by Credential Guard) protects the authenticators the host holds (CR 1.5)."""
    ppl = win_registry.number(LSA, "RunAsPPL")
    running = win_device_guard.get("SecurityServicesRunning") or []
    running = running if isinstance(running, list) else [running]
    expected = "RunAsPPL = 1 or 2, or Credential Guard running (SecurityServicesRunning contains 1)"
    observed = {"RunAsPPL": ppl, "SecurityServicesRunning": running}
    if 1 in running:
        return passed(observed, expected, "Credential Guard is running")
    if ppl in (1, 2):
        return passed(observed, expected, "LSASS runs as a protected process")
    return failed(observed, expected, "LSASS is neither protected nor isolated")
