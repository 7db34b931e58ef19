"""OS, malware protection, boot integrity, disk encryption, application control, updates, software, backup, time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact
from checks.windows.facts.json import as_list, section_json
from checks.windows.facts.sections import (ANTIVIRUS, APPLOCKER, BITLOCKER, DEVICE_GUARD, HOTFIXES, OS, SECURE_BOOT,
                                           SHADOW_COPIES, SOFTWARE, TIME_STATUS)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text (as the sections write dates) as an aware datetime; anything else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class WindowsOs:
    caption: str
    version: str
    build: str
    product_type: int | None  # 1 workstation, 2 domain controller, 3 server
    last_boot: datetime | None
    now: datetime  # the host's clock when the script ran: the reference for every age


@fact("win_os", protocol="ssh", requests=[OS])
def win_os(evidence: FactEvidence) -> WindowsOs:
    """Operating system caption, version and build, last boot and the host's clock (Win32_OperatingSystem)."""
    data = section_json(evidence, OS)
    now = parse_time(data.get("Now")) if isinstance(data, dict) else None
    if not isinstance(data, dict) or now is None or not data.get("Caption"):
        raise FactParseError("Win32_OperatingSystem: no Caption or clock in the answer")
    product = data.get("ProductType")
    return WindowsOs(str(data["Caption"]), str(data.get("Version") or ""), str(data.get("BuildNumber") or ""),
                     product if isinstance(product, int) else None, parse_time(data.get("LastBootUpTime")), now)


@dataclass(frozen=True)
class Antivirus:
    """Defender's status (``Get-MpComputerStatus``) and the Security Center's registered products (clients only)."""

    defender: dict[str, Any] | None
    defender_error: str | None
    products: tuple[dict[str, Any], ...] | None  # None: no Security Center (Windows Server)


@fact("win_antivirus", protocol="ssh", requests=[ANTIVIRUS])
def win_antivirus(evidence: FactEvidence) -> Antivirus:
    """Microsoft Defender status and the antivirus products registered with the Security Center."""
    data = section_json(evidence, ANTIVIRUS)
    if not isinstance(data, dict):
        raise FactParseError("the antivirus section did not print an object")
    products = data.get("SecurityCenter")
    return Antivirus(data.get("Defender") if isinstance(data.get("Defender"), dict) else None,
                     data.get("DefenderError"),
                     None if products is None else tuple(p for p in as_list(products) if isinstance(p, dict)))


@dataclass(frozen=True)
class SecureBoot:
    enabled: bool | None
    unsupported: bool  # legacy BIOS boot: Confirm-SecureBootUEFI says the platform does not support it


@fact("win_secure_boot", protocol="ssh", requests=[SECURE_BOOT])
def win_secure_boot(evidence: FactEvidence) -> SecureBoot:
    """``Confirm-SecureBootUEFI``: true/false on UEFI, an error on legacy BIOS (needs an administrator)."""
    data = section_json(evidence, SECURE_BOOT)
    if not isinstance(data, dict):
        raise FactParseError("the Secure Boot section did not print an object")
    if isinstance(data.get("SecureBoot"), bool):
        return SecureBoot(data["SecureBoot"], False)
    error = str(data.get("Error") or "")
    if "not supported" in error.lower():
        return SecureBoot(None, True)
    raise FactUnavailable(f"Confirm-SecureBootUEFI gave no answer: {error or 'nothing printed'}")


@fact("win_device_guard", protocol="ssh", requests=[DEVICE_GUARD])
def win_device_guard(evidence: FactEvidence) -> dict[str, Any]:
    """Win32_DeviceGuard: VBS state, running security services (1 Credential Guard, 2 HVCI), WDAC enforcement."""
    data = section_json(evidence, DEVICE_GUARD)
    if not isinstance(data, dict):
        raise FactParseError("Win32_DeviceGuard: no object in the answer")
    return data


@dataclass(frozen=True)
class Volume:
    mount_point: str
    volume_type: str  # OperatingSystem | Data (BitLockerVolumeType)
    volume_status: str  # FullyEncrypted, FullyDecrypted, EncryptionInProgress...
    protection: str  # On | Off | Unknown
    percentage: float | None


@fact("win_bitlocker", protocol="ssh", requests=[BITLOCKER])
def win_bitlocker(evidence: FactEvidence) -> tuple[Volume, ...]:
    """Every volume ``Get-BitLockerVolume`` knows (needs an administrator and the BitLocker feature)."""
    volumes = []
    for v in as_list(section_json(evidence, BITLOCKER)):
        if not isinstance(v, dict) or not v.get("MountPoint"):
            raise FactParseError(f"Get-BitLockerVolume entry without MountPoint: {v!r}"[:200])
        pct = v.get("EncryptionPercentage")
        volumes.append(Volume(str(v["MountPoint"]), str(v.get("VolumeType")), str(v.get("VolumeStatus")),
                              str(v.get("ProtectionStatus")), float(pct) if isinstance(pct, (int, float)) else None))
    if not volumes:
        raise FactParseError("Get-BitLockerVolume listed no volume")
    return tuple(volumes)


@dataclass(frozen=True)
class AppLocker:
    """Effective AppLocker policy: per rule collection (Exe, Msi, Script, Dll, Appx) its mode and rule count."""

    collections: dict[str, tuple[str, int]]


@fact("win_applocker", protocol="ssh", requests=[APPLOCKER])
def win_applocker(evidence: FactEvidence) -> AppLocker:
    """``Get-AppLockerPolicy -Effective -Xml``: enforcement mode and number of rules of each collection."""
    data = section_json(evidence, APPLOCKER)
    if not isinstance(data, dict):
        raise FactParseError("the AppLocker section did not print an object")
    if not data.get("PolicyXml"):
        if data.get("Error"):
            raise FactUnavailable(f"Get-AppLockerPolicy failed: {data['Error']}")
        return AppLocker({})
    try:
        root = ET.fromstring(str(data["PolicyXml"]))
    except ET.ParseError as exc:
        raise FactParseError(f"AppLocker policy XML: {exc}") from None
    collections = {}
    for rc in root.iter("RuleCollection"):
        collections[rc.get("Type", "?")] = (rc.get("EnforcementMode", "NotConfigured"), len(list(rc)))
    return AppLocker(collections)


@dataclass(frozen=True)
class Hotfix:
    id: str
    description: str
    installed_on: date | None


@fact("win_hotfixes", protocol="ssh", requests=[HOTFIXES])
def win_hotfixes(evidence: FactEvidence) -> tuple[Hotfix, ...]:
    """Installed updates (``Get-HotFix``, Win32_QuickFixEngineering) with their installation dates."""
    fixes = []
    for h in as_list(section_json(evidence, HOTFIXES)):
        if not isinstance(h, dict):
            continue
        try:
            installed = date.fromisoformat(h["InstalledOn"]) if h.get("InstalledOn") else None
        except ValueError:
            installed = None
        fixes.append(Hotfix(str(h.get("HotFixID")), str(h.get("Description") or ""), installed))
    return tuple(fixes)


@fact("win_software", protocol="ssh", requests=[SOFTWARE])
def win_software(evidence: FactEvidence) -> dict[str, str]:
    """Installed programs from the Uninstall registry keys (64- and 32-bit): display name -> version."""
    found = {}
    for s in as_list(section_json(evidence, SOFTWARE)):
        if isinstance(s, dict) and s.get("DisplayName"):
            found[str(s["DisplayName"])] = str(s.get("DisplayVersion") or "")
    return found


@fact("win_shadow_copies", protocol="ssh", requests=[SHADOW_COPIES])
def win_shadow_copies(evidence: FactEvidence) -> tuple[datetime, ...]:
    """Creation times of the Volume Shadow Copies present (Win32_ShadowCopy, needs an administrator)."""
    return tuple(t for s in as_list(section_json(evidence, SHADOW_COPIES))
                 if isinstance(s, dict) and (t := parse_time(s.get("InstallDate"))) is not None)


#: ``w32tm /query /status`` labels in English and German UI culture.
_TIME_LABELS = {
    "leap": ("leap indicator", "sprungindikator"),
    "stratum": ("stratum",),
    "last_sync": ("last successful sync time", "letzte erfolgreiche synchronisierungszeit"),
    "source": ("source", "quelle"),
}


@dataclass(frozen=True)
class TimeStatus:
    leap: int | None  # 3: not synchronised
    stratum: int | None
    source: str | None
    last_sync: str | None


def parse_w32tm_status(text: str) -> TimeStatus:
    values: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if not sep:
            continue
        for key, labels in _TIME_LABELS.items():
            if label.strip().lower() in labels:
                values.setdefault(key, value.strip())
    if not values:
        raise FactParseError("w32tm /query /status: no known label (English or German) in its output")

    def number(key: str) -> int | None:
        match = re.match(r"\d+", values.get(key, ""))
        return int(match.group()) if match else None

    return TimeStatus(number("leap"), number("stratum"), values.get("source"), values.get("last_sync"))


@fact("win_time_status", protocol="ssh", requests=[TIME_STATUS])
def win_time_status(evidence: FactEvidence) -> TimeStatus:
    """The Windows Time service's state: leap indicator, stratum, source and last successful sync."""
    data = section_json(evidence, TIME_STATUS)
    if not isinstance(data, dict) or data.get("ExitCode") != 0:
        code = data.get("ExitCode") if isinstance(data, dict) else None
        raise FactUnavailable(f"w32tm /query /status failed (exit {code}); is the Windows Time service running?")
    return parse_w32tm_status(str(data.get("Status") or ""))
