"""``windows.bitlocker.*``, ``windows.smb.*``, ``windows.rdp.nla-tls``, ``windows.winrm.*``: data at rest and in transit."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import ADMIN_TEMPLATES, RDS_SESSION_HOST, SECURITY_OPTIONS, registry_verify
from checks.windows.facts.access import RemoteAccess
from checks.windows.facts.policy import RegistryValues
from checks.windows.facts.sections import LANMAN_WORKSTATION, RDP_TCP, TS_POLICY, WINRM_CLIENT, WINRM_SERVICE
from checks.windows.facts.system import Volume
from checks.windows.session import rdp_disabled


@check("windows.bitlocker.volumes",
       title="BitLocker protects the system and data volumes",
       requirements=["SR 4.1", "CR 4.1"], applies_to=["host"], severity="medium",
       remediation=(f"GPO: {ADMIN_TEMPLATES}Windows Components\\BitLocker Drive Encryption\\Operating System Drives "
                    "and Fixed Data Drives (TPM protector, XTS-AES 256); then `manage-bde -on C:` per volume. "
                    "Verify: `Get-BitLockerVolume | Select-Object MountPoint, VolumeType, ProtectionStatus, "
                    "VolumeStatus`."))
def bitlocker(win_bitlocker: tuple[Volume, ...]) -> Verdict:
    """A stolen or discarded disk of an engineering station holds projects, credentials and recipes;
    encryption at rest keeps that information confidential (CR 4.1)."""
    expected = "every volume FullyEncrypted with ProtectionStatus On"
    observed = [{"MountPoint": v.mount_point, "VolumeType": v.volume_type, "VolumeStatus": v.volume_status,
                 "ProtectionStatus": v.protection} for v in win_bitlocker]
    bad = [v.mount_point for v in win_bitlocker if v.protection != "On" or v.volume_status != "FullyEncrypted"]
    if bad:
        return failed(observed, expected, f"not protected: {', '.join(bad)}")
    return passed(observed, expected, f"{len(win_bitlocker)} volumes protected")


@check("windows.smb.signing",
       title="SMB signing required by server and client",
       requirements=["SR 3.1", "CR 3.1"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {SECURITY_OPTIONS}Microsoft network server: Digitally sign communications (always) = "
                    "Enabled; Microsoft network client: Digitally sign communications (always) = Enabled. Verify: "
                    "`Get-SmbServerConfiguration | Select-Object RequireSecuritySignature`; "
                    + registry_verify(LANMAN_WORKSTATION, "RequireSecuritySignature") + "."))
def smb_signing(win_smb: dict[str, Any], win_registry: RegistryValues) -> Verdict:
    """Unsigned SMB lets a machine in the middle alter files and relay NTLM logons; communication integrity
    (CR 3.1) needs signing required on both sides."""
    server = win_smb.get("RequireSecuritySignature")
    client = win_registry.number(LANMAN_WORKSTATION, "RequireSecuritySignature")
    expected = "server RequireSecuritySignature = True and client RequireSecuritySignature = 1"
    observed = {"server_RequireSecuritySignature": server, "client_RequireSecuritySignature": client}
    problems = [side for side, ok in (("server", server is True), ("client", client == 1)) if not ok]
    if problems:
        return failed(observed, expected, f"signing not required by the {' and '.join(problems)}")
    return passed(observed, expected)


@check("windows.smb.encryption",
       title="SMB server encrypts sessions and refuses unencrypted access",
       requirements=["SR 4.1", "CR 4.1", "SR 4.3", "CR 4.3"], applies_to=["host"], severity="medium",
       remediation=("`Set-SmbServerConfiguration -EncryptData $true -RejectUnencryptedAccess $true` (through a "
                    "startup script or DSC, no GPO setting exists). Verify: `Get-SmbServerConfiguration | "
                    "Select-Object EncryptData, RejectUnencryptedAccess`."))
def smb_encryption(win_smb: dict[str, Any]) -> Verdict:
    """Historian exports and project shares cross the network in clear text unless SMB 3 encryption is on;
    CR 4.1 asks for confidentiality in transit where the information needs it."""
    observed = {k: win_smb.get(k) for k in ("EncryptData", "RejectUnencryptedAccess")}
    expected = "EncryptData = True and RejectUnencryptedAccess = True"
    if observed["EncryptData"] is True and observed["RejectUnencryptedAccess"] is True:
        return passed(observed, expected)
    return failed(observed, expected, "SMB sessions may be unencrypted")


@check("windows.smb.v1-disabled",
       title="SMBv1 server protocol disabled",
       requirements=["SR 7.7", "CR 7.7", "SR 4.3", "CR 4.3"], applies_to=["host"], severity="high",
       remediation=("`Set-SmbServerConfiguration -EnableSMB1Protocol $false` and remove the feature "
                    "(`Disable-WindowsOptionalFeature -Online -FeatureName SMB1Protocol`); GPO (MS Security Guide "
                    f"ADMX): {ADMIN_TEMPLATES}MS Security Guide\\Configure SMB v1 server = Disabled. Verify: "
                    "`Get-SmbServerConfiguration | Select-Object EnableSMB1Protocol`."))
def smb_v1(win_smb: dict[str, Any]) -> Verdict:
    """SMBv1 is the protocol WannaCry and NotPetya spread by through plants; an unneeded, broken protocol
    is exactly what least functionality (CR 7.7) removes."""
    value = win_smb.get("EnableSMB1Protocol")
    observed = {"EnableSMB1Protocol": value}
    expected = "EnableSMB1Protocol = False"
    if value is False:
        return passed(observed, expected)
    return failed(observed, expected, "the SMBv1 server is enabled" if value is True else "SMBv1 state not reported")


@check("windows.rdp.nla-tls",
       title="RDP requires Network Level Authentication over TLS",
       requirements=["SR 4.3", "CR 4.3", "SR 3.1", "CR 3.1"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {RDS_SESSION_HOST}Security\\Require user authentication for remote connections by using "
                    "Network Level Authentication = Enabled; Require use of specific security layer for remote (RDP) "
                    "connections = SSL; Set client connection encryption level = High Level. Verify: "
                    + registry_verify(RDP_TCP, "UserAuthentication", "SecurityLayer", "MinEncryptionLevel") + "."))
def rdp_nla(win_registry: RegistryValues) -> Verdict:
    """Without NLA the logon screen is offered to anyone before authentication (and pre-auth RDP bugs are
    reachable); without TLS the server is not authenticated to the client (CR 3.1, CR 4.3)."""
    def effective(name: str) -> int | None:
        policy = win_registry.number(TS_POLICY, name)
        return policy if policy is not None else win_registry.number(RDP_TCP, name)

    nla, layer, level = effective("UserAuthentication"), effective("SecurityLayer"), effective("MinEncryptionLevel")
    expected = "RDP disabled, or UserAuthentication = 1, SecurityLayer = 2 (TLS) and MinEncryptionLevel >= 3"
    observed = {"rdp_disabled": rdp_disabled(win_registry), "UserAuthentication": nla, "SecurityLayer": layer,
                "MinEncryptionLevel": level}
    if observed["rdp_disabled"]:
        return passed(observed, expected, "RDP is disabled (fDenyTSConnections = 1)")
    problems = []
    if nla != 1:
        problems.append("NLA is not required")
    if layer != 2:
        problems.append("TLS is not required")
    if level is None or level < 3:
        problems.append("encryption level below High")
    return failed(observed, expected, "; ".join(problems)) if problems else passed(observed, expected)


@check("windows.winrm.unencrypted",
       title="WinRM refuses unencrypted traffic and Basic authentication",
       requirements=["SR 4.1", "CR 4.1", "SR 1.5", "CR 1.5"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {ADMIN_TEMPLATES}Windows Components\\Windows Remote Management (WinRM)\\WinRM Service and "
                    "WinRM Client: Allow unencrypted traffic = Disabled; Allow Basic authentication = Disabled. "
                    "Serve WinRM over HTTPS only: `winrm quickconfig -transport:https`, then remove the HTTP "
                    "listener (`Remove-Item WSMan:\\localhost\\Listener\\Listener_*` of Transport HTTP). "
                    "Verify: `winrm get winrm/config/service`; `winrm enumerate winrm/config/listener`; "
                    + registry_verify(WINRM_SERVICE) + "."))
def winrm_unencrypted(win_registry: RegistryValues, win_remote_access: RemoteAccess) -> Verdict:
    """Unencrypted WinRM exposes every remote command and its output; Basic authentication sends the
    password itself (CR 4.1, CR 1.5). Unset policies keep WinRM's safe defaults (both off). A host whose
    WinRM service answered the auditor over plain HTTP fails too: that listener is what an attacker on the
    path would use."""
    observed: dict[str, Any] = {f"{side}_{name}": win_registry.number(key, name)
                                for side, key in (("service", WINRM_SERVICE), ("client", WINRM_CLIENT))
                                for name in ("AllowUnencryptedTraffic", "AllowBasic")}
    observed["audit_connection"] = {"transport": win_remote_access.transport, "scheme": win_remote_access.scheme,
                                    "port": win_remote_access.port, "encryption": win_remote_access.encryption}
    expected = ("AllowUnencryptedTraffic and AllowBasic not 1 for the WinRM service and client (absent: off), "
                "and WinRM reached over HTTPS or not used")
    allowed = [name for name, value in observed.items() if value == 1]
    problems = [f"allowed: {', '.join(allowed)}"] if allowed else []
    if win_remote_access.plain_http:
        problems.append(f"the WinRM service answered the auditor over plain HTTP on port {win_remote_access.port} "
                        f"(encryption: {win_remote_access.encryption})")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected, "set to 0, or unset where WinRM's defaults refuse both"
                  + ("; WinRM reached over HTTPS" if win_remote_access.transport == "winrm" else ""))
