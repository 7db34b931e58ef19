"""The PowerShell sections of the Windows pack: read-only, each printing ONE JSON document.

A section's text is the identity of its evidence item (as a Linux command is), so changing it starts a new
kind of evidence. Every section ends in ``ConvertTo-Json ... -Compress``; a section that throws is
reported by the runner as ``ERROR: <message>`` with exit code 1 (see :mod:`connectors.windows.script`).
Lists are wrapped (``-InputObject @(...)``) so one element still gives a JSON array.
Each section runs with ``$ErrorActionPreference = 'Stop'``: an error fails the whole section (exit 1) rather
than leaving a partial answer, except where a section says otherwise (``Get-Service`` skips services it may
not query: a missing service can only make a check fail, never pass).
"""

from __future__ import annotations

from auditor.registry import ssh_powershell

LSA = r"HKLM:\SYSTEM\CurrentControlSet\Control\Lsa"
WINLOGON = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"
POLICIES_SYSTEM = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
POLICIES_EXPLORER = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer"
TS_POLICY = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
TS_SERVER = r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server"
RDP_TCP = r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
WINRM_SERVICE = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Service"
WINRM_CLIENT = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WinRM\Client"
SCRIPT_BLOCK_LOGGING = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\PowerShell\ScriptBlockLogging"
REMOVABLE_STORAGE = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices"
USBSTOR = r"HKLM:\SYSTEM\CurrentControlSet\Services\USBSTOR"
DEVICE_GUARD_POLICY = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DeviceGuard"
LANMAN_WORKSTATION = r"HKLM:\SYSTEM\CurrentControlSet\Services\LanmanWorkstation\Parameters"
EVENT_FORWARDING = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\EventLog\EventForwarding\SubscriptionManager"
W32TIME = r"HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters"
W32TIME_POLICY = r"HKLM:\SOFTWARE\Policies\Microsoft\W32Time\Parameters"
CBS_REBOOT = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending"
WU_REBOOT = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired"
SESSION_MANAGER = r"HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager"

#: Registry key -> the values read from it (``*``: every value of the key). A key that does not exist is
#: reported as such (``Exists: false``), a value that does not exist as ``null``.
REGISTRY_VALUES: dict[str, tuple[str, ...]] = {
    LSA: ("LmCompatibilityLevel", "NoLMHash", "LimitBlankPasswordUse", "RunAsPPL", "LsaCfgFlags"),
    WINLOGON: ("CachedLogonsCount",),
    POLICIES_SYSTEM: ("EnableLUA", "ConsentPromptBehaviorAdmin", "PromptOnSecureDesktop", "FilterAdministratorToken",
                      "LegalNoticeCaption", "LegalNoticeText", "InactivityTimeoutSecs"),
    POLICIES_EXPLORER: ("NoDriveTypeAutoRun", "NoAutorun"),
    TS_POLICY: ("MaxIdleTime", "MaxDisconnectionTime", "fDenyTSConnections", "UserAuthentication", "SecurityLayer",
                "MinEncryptionLevel"),
    TS_SERVER: ("fDenyTSConnections",),
    RDP_TCP: ("UserAuthentication", "SecurityLayer", "MinEncryptionLevel"),
    WINRM_SERVICE: ("AllowUnencryptedTraffic", "AllowBasic"),
    WINRM_CLIENT: ("AllowUnencryptedTraffic", "AllowBasic"),
    SCRIPT_BLOCK_LOGGING: ("EnableScriptBlockLogging",),
    REMOVABLE_STORAGE: ("Deny_All",),
    USBSTOR: ("Start",),
    DEVICE_GUARD_POLICY: ("EnableVirtualizationBasedSecurity", "LsaCfgFlags"),
    LANMAN_WORKSTATION: ("RequireSecuritySignature", "EnableSecuritySignature"),
    EVENT_FORWARDING: ("*",),
    W32TIME: ("Type", "NtpServer"),
    W32TIME_POLICY: ("Type", "NtpServer"),
    CBS_REBOOT: (),
    WU_REBOOT: (),
    SESSION_MANAGER: ("PendingFileRenameOperations",),
}


def _registry_section() -> str:
    entries = ",\n".join(f"  @('{key}', @({', '.join(repr(v) for v in values)}))" for key, values in
                         REGISTRY_VALUES.items())
    return (
        "$keys = @(\n" + entries + "\n)\n"
        "$out = [ordered]@{}\n"
        "foreach ($entry in $keys) {\n"
        "  $key = $entry[0]; $values = [ordered]@{}\n"
        "  $exists = Test-Path -LiteralPath $key\n"
        "  if ($exists) {\n"
        "    $item = Get-ItemProperty -LiteralPath $key\n"
        "    $names = if ($entry[1] -contains '*') { @((Get-Item -LiteralPath $key).Property) } else { $entry[1] }\n"
        "    foreach ($name in $names) { $values[$name] = $item.$name }\n"
        "  }\n"
        "  $out[$key] = [ordered]@{ Exists = $exists; Values = $values }\n"
        "}\n"
        "$out | ConvertTo-Json -Depth 5 -Compress")


OS = ssh_powershell(
    "$os = Get-CimInstance -ClassName Win32_OperatingSystem\n"
    "[pscustomobject]@{ Caption = $os.Caption; Version = $os.Version; BuildNumber = $os.BuildNumber;\n"
    "  ProductType = $os.ProductType; LastBootUpTime = $os.LastBootUpTime.ToUniversalTime().ToString('o');\n"
    "  Now = (Get-Date).ToUniversalTime().ToString('o'); ComputerName = $env:COMPUTERNAME } |\n"
    "  ConvertTo-Json -Compress", name="windows.os")

SECURITY_POLICY = ssh_powershell(
    "$file = Join-Path $env:TEMP ('iacs-' + [guid]::NewGuid().ToString('N') + '.inf')\n"
    "try {\n"
    "  $null = & secedit.exe /export /cfg $file /areas SECURITYPOLICY USER_RIGHTS /quiet\n"
    "  $code = $LASTEXITCODE\n"
    "  $inf = if (Test-Path -LiteralPath $file) { Get-Content -LiteralPath $file -Raw } else { $null }\n"
    "} finally {\n"
    "  if (Test-Path -LiteralPath $file) { Remove-Item -LiteralPath $file -Force }\n"
    "}\n"
    "[pscustomobject]@{ ExitCode = $code; Inf = $inf } | ConvertTo-Json -Compress", name="windows.security-policy")

REGISTRY = ssh_powershell(_registry_section(), name="windows.registry")

AUDIT_POLICY = ssh_powershell(
    "$csv = & auditpol.exe /get /category:* /r\n"
    "[pscustomobject]@{ ExitCode = $LASTEXITCODE; Csv = ($csv -join \"`n\") } | ConvertTo-Json -Compress",
    name="windows.audit-policy")

LOCAL_USERS = ssh_powershell(
    "ConvertTo-Json -Compress -InputObject @(Get-LocalUser | ForEach-Object {\n"
    "  [pscustomobject]@{ Name = $_.Name; SID = $_.SID.Value; Enabled = $_.Enabled;\n"
    "    PasswordRequired = $_.PasswordRequired; Description = $_.Description;\n"
    "    PasswordLastSet = if ($_.PasswordLastSet) { $_.PasswordLastSet.ToUniversalTime().ToString('o') } else { $null };\n"
    "    LastLogon = if ($_.LastLogon) { $_.LastLogon.ToUniversalTime().ToString('o') } else { $null } } })",
    name="windows.local-users")

GROUPS = ssh_powershell(
    "$groups = [ordered]@{}\n"
    "foreach ($sid in 'S-1-5-32-544', 'S-1-5-32-555') {\n"
    "  $groups[$sid] = @(Get-LocalGroupMember -SID $sid | ForEach-Object {\n"
    "    [pscustomobject]@{ Name = $_.Name; SID = $_.SID.Value; ObjectClass = $_.ObjectClass;\n"
    "      PrincipalSource = [string]$_.PrincipalSource } })\n"
    "}\n"
    "$groups | ConvertTo-Json -Depth 4 -Compress", name="windows.groups")

ANTIVIRUS = ssh_powershell(
    "$mp = $null; $mpError = $null; $products = $null\n"
    "try {\n"
    "  $s = Get-MpComputerStatus -ErrorAction Stop\n"
    "  $mp = [pscustomobject]@{ AMServiceEnabled = $s.AMServiceEnabled; AntivirusEnabled = $s.AntivirusEnabled;\n"
    "    RealTimeProtectionEnabled = $s.RealTimeProtectionEnabled; AntivirusSignatureAge = $s.AntivirusSignatureAge;\n"
    "    AntivirusSignatureVersion = $s.AntivirusSignatureVersion; AMRunningMode = $s.AMRunningMode;\n"
    "    IsTamperProtected = $s.IsTamperProtected }\n"
    "} catch { $mpError = $_.Exception.Message }\n"
    "try {\n"
    "  $products = @(Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct -ErrorAction Stop |\n"
    "    ForEach-Object { [pscustomobject]@{ displayName = $_.displayName; productState = $_.productState } })\n"
    "} catch { }\n"
    "[pscustomobject]@{ Defender = $mp; DefenderError = $mpError; SecurityCenter = $products } |\n"
    "  ConvertTo-Json -Depth 4 -Compress", name="windows.antivirus")

SECURE_BOOT = ssh_powershell(
    "$state = $null; $err = $null\n"
    "try { $state = Confirm-SecureBootUEFI -ErrorAction Stop } catch { $err = $_.Exception.Message }\n"
    "[pscustomobject]@{ SecureBoot = $state; Error = $err } | ConvertTo-Json -Compress", name="windows.secure-boot")

DEVICE_GUARD = ssh_powershell(
    "Get-CimInstance -Namespace root/Microsoft/Windows/DeviceGuard -ClassName Win32_DeviceGuard |\n"
    "  Select-Object SecurityServicesConfigured, SecurityServicesRunning, VirtualizationBasedSecurityStatus,\n"
    "    CodeIntegrityPolicyEnforcementStatus, UsermodeCodeIntegrityPolicyEnforcementStatus |\n"
    "  ConvertTo-Json -Depth 3 -Compress", name="windows.device-guard")

BITLOCKER = ssh_powershell(
    "ConvertTo-Json -Compress -InputObject @(Get-BitLockerVolume | ForEach-Object {\n"
    "  [pscustomobject]@{ MountPoint = $_.MountPoint; VolumeType = [string]$_.VolumeType;\n"
    "    VolumeStatus = [string]$_.VolumeStatus; ProtectionStatus = [string]$_.ProtectionStatus;\n"
    "    EncryptionMethod = [string]$_.EncryptionMethod; EncryptionPercentage = $_.EncryptionPercentage } })",
    name="windows.bitlocker")

APPLOCKER = ssh_powershell(
    "$xml = $null; $err = $null\n"
    "try { $xml = Get-AppLockerPolicy -Effective -Xml -ErrorAction Stop } catch { $err = $_.Exception.Message }\n"
    "[pscustomobject]@{ PolicyXml = $xml; Error = $err } | ConvertTo-Json -Compress", name="windows.applocker")

HOTFIXES = ssh_powershell(
    "ConvertTo-Json -Compress -InputObject @(Get-HotFix | ForEach-Object {\n"
    "  [pscustomobject]@{ HotFixID = $_.HotFixID; Description = $_.Description;\n"
    "    InstalledOn = if ($_.InstalledOn) { $_.InstalledOn.ToString('yyyy-MM-dd') } else { $null } } })",
    name="windows.hotfixes")

SOFTWARE = ssh_powershell(
    "$paths = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*',\n"
    "  'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*'\n"
    "ConvertTo-Json -Compress -InputObject @(Get-ItemProperty -Path $paths -ErrorAction SilentlyContinue |\n"
    "  Where-Object { $_.DisplayName } | ForEach-Object {\n"
    "    [pscustomobject]@{ DisplayName = $_.DisplayName; DisplayVersion = $_.DisplayVersion; Publisher = $_.Publisher } })",
    name="windows.software")

SHADOW_COPIES = ssh_powershell(
    "ConvertTo-Json -Compress -InputObject @(Get-CimInstance -ClassName Win32_ShadowCopy | ForEach-Object {\n"
    "  [pscustomobject]@{ VolumeName = $_.VolumeName; InstallDate = $_.InstallDate.ToUniversalTime().ToString('o') } })",
    name="windows.shadow-copies")

TIME_STATUS = ssh_powershell(
    "$status = & w32tm.exe /query /status\n"
    "[pscustomobject]@{ ExitCode = $LASTEXITCODE; Status = ($status -join \"`n\") } | ConvertTo-Json -Compress",
    name="windows.time-status")

FIREWALL = ssh_powershell(
    "ConvertTo-Json -Compress -InputObject @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {\n"
    "  [pscustomobject]@{ Name = $_.Name; Enabled = [string]$_.Enabled;\n"
    "    DefaultInboundAction = [string]$_.DefaultInboundAction; DefaultOutboundAction = [string]$_.DefaultOutboundAction } })",
    name="windows.firewall")

SMB_SERVER = ssh_powershell(
    "Get-SmbServerConfiguration | Select-Object EnableSMB1Protocol, EnableSMB2Protocol, RequireSecuritySignature,\n"
    "  EnableSecuritySignature, EncryptData, RejectUnencryptedAccess | ConvertTo-Json -Compress",
    name="windows.smb-server")

LISTENERS = ssh_powershell(
    "$names = @{}\n"
    "Get-Process | ForEach-Object { $names[[int]$_.Id] = $_.ProcessName }\n"
    "ConvertTo-Json -Compress -InputObject @(Get-NetTCPConnection -State Listen | ForEach-Object {\n"
    "  [pscustomobject]@{ LocalAddress = $_.LocalAddress; LocalPort = $_.LocalPort; OwningProcess = $_.OwningProcess;\n"
    "    Process = $names[[int]$_.OwningProcess] } })", name="windows.listeners")

SERVICES = ssh_powershell(
    "ConvertTo-Json -Compress -InputObject @(Get-Service -ErrorAction SilentlyContinue | ForEach-Object {\n"
    "  [pscustomobject]@{ Name = $_.Name; DisplayName = $_.DisplayName; Status = [string]$_.Status;\n"
    "    StartType = [string]$_.StartType } })", name="windows.services")

EVENT_LOGS = ssh_powershell(
    "$names = 'Application', 'Security', 'System', 'Microsoft-Windows-PowerShell/Operational'\n"
    "ConvertTo-Json -Compress -InputObject @(Get-WinEvent -ListLog $names | ForEach-Object {\n"
    "  [pscustomobject]@{ LogName = $_.LogName; IsEnabled = $_.IsEnabled; MaximumSizeInBytes = $_.MaximumSizeInBytes;\n"
    "    LogMode = [string]$_.LogMode } })", name="windows.event-logs")
