"""Security policy (``secedit /export``), registry values and the advanced audit policy (``auditpol /r``).

``secedit /export /areas SECURITYPOLICY USER_RIGHTS`` writes the effective local security policy as an
INF file (keys are culture independent): ``[System Access]`` (password and lockout policy, the built-in
accounts), ``[Registry Values]`` (``MACHINE\\...=<type>,<value>``) and ``[Privilege Rights]`` (user rights
as ``*SID`` lists). It needs an administrator; the section removes its temporary file itself.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact
from checks.windows.facts.json import as_int, section_json
from checks.windows.facts.sections import AUDIT_POLICY, REGISTRY, SECURITY_POLICY


@dataclass(frozen=True)
class SecurityPolicy:
    """The exported INF: ``[System Access]`` values, ``[Privilege Rights]`` as SID lists (``*`` removed)."""

    system_access: dict[str, str]
    privileges: dict[str, tuple[str, ...]]

    def number(self, key: str) -> int | None:
        return as_int(self.system_access.get(key))

    def text(self, key: str) -> str | None:
        value = self.system_access.get(key)
        return value.strip().strip('"') if value is not None else None

    def holders(self, right: str) -> tuple[str, ...]:
        return self.privileges.get(right, ())


def parse_inf(text: str) -> SecurityPolicy:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        if current is not None and "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    if "system access" not in sections:
        raise FactParseError("the exported security policy has no [System Access] section")
    privileges = {right: tuple(p.strip().lstrip("*") for p in value.split(",") if p.strip())
                  for right, value in sections.get("privilege rights", {}).items()}
    return SecurityPolicy(sections["system access"], privileges)


@fact("win_secpol", protocol="ssh", requests=[SECURITY_POLICY])
def win_secpol(evidence: FactEvidence) -> SecurityPolicy:
    """The effective local security policy exported by ``secedit`` (needs an administrator)."""
    data = section_json(evidence, SECURITY_POLICY)
    if not isinstance(data, dict) or not data.get("Inf"):
        code = data.get("ExitCode") if isinstance(data, dict) else None
        raise FactUnavailable(f"secedit /export wrote no policy (exit {code}); the audit account needs to be a "
                              "member of Administrators to export the security policy")
    return parse_inf(str(data["Inf"]))


@dataclass(frozen=True)
class RegistryValues:
    """``key -> (exists, {value name: data})`` as read by the registry section (``null``: value absent)."""

    keys: dict[str, tuple[bool, dict[str, Any]]]

    def exists(self, key: str) -> bool:
        return self.keys.get(key, (False, {}))[0]

    def get(self, key: str, name: str) -> Any:
        return self.keys.get(key, (False, {}))[1].get(name)

    def number(self, key: str, name: str) -> int | None:
        return as_int(self.get(key, name))

    def values(self, key: str) -> dict[str, Any]:
        return dict(self.keys.get(key, (False, {}))[1])


@fact("win_registry", protocol="ssh", requests=[REGISTRY])
def win_registry(evidence: FactEvidence) -> RegistryValues:
    """The registry values the Windows checks read (policy keys, LSA, RDP, WinRM, W32Time, reboot markers)."""
    data = section_json(evidence, REGISTRY)
    if not isinstance(data, dict):
        raise FactParseError("the registry section did not print an object")
    keys: dict[str, tuple[bool, dict[str, Any]]] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise FactParseError(f"registry key {key}: not an object")
        values = entry.get("Values") or {}
        keys[key] = (bool(entry.get("Exists")), dict(values) if isinstance(values, dict) else {})
    return RegistryValues(keys)


#: ``auditpol /r``'s "Inclusion Setting" text, in English and German UI culture -> (success, failure), compared
#: in ASCII letters only (:func:`_setting_key`): auditpol writes in the console's OEM code page, so an umlaut
#: may arrive as anything, while the ASCII letters around it are the same in every code page.
_SETTINGS = {
    "no auditing": (False, False), "keine berwachung": (False, False),
    "success": (True, False), "erfolg": (True, False),
    "failure": (False, True), "fehler": (False, True),
    "success and failure": (True, True), "erfolg und fehler": (True, True),
}


def _setting_key(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if "a" <= c <= "z" or c == " ").split())


@dataclass(frozen=True)
class Subcategory:
    name: str
    success: bool
    failure: bool


@dataclass(frozen=True)
class AuditPolicy:
    """Advanced audit policy by subcategory GUID (upper case, no braces); ``unknown``: settings not understood."""

    subcategories: dict[str, Subcategory]
    unknown: tuple[str, ...] = field(default=())


def parse_auditpol_csv(text: str) -> AuditPolicy:
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error as exc:  # a lone carriage return in a field, say
        raise FactParseError(f"auditpol /r printed no readable CSV: {exc}") from None
    found: dict[str, Subcategory] = {}
    unknown: list[str] = []
    for row in rows:
        if len(row) < 5 or not row[3].strip().startswith("{"):
            continue  # the header (localised) and blank lines
        guid = row[3].strip().strip("{}").upper()
        setting = _setting_key(row[4])
        if setting not in _SETTINGS:
            unknown.append(f"{row[2].strip()}: {row[4].strip()}")
            continue
        success, failure = _SETTINGS[setting]
        found[guid] = Subcategory(row[2].strip(), success, failure)
    if not found and not unknown:
        raise FactParseError("auditpol /r printed no subcategory rows")
    return AuditPolicy(found, tuple(unknown))


@fact("win_audit_policy", protocol="ssh", requests=[AUDIT_POLICY])
def win_audit_policy(evidence: FactEvidence) -> AuditPolicy:
    """The effective advanced audit policy (``auditpol /get /category:* /r``, needs an administrator)."""
    data = section_json(evidence, AUDIT_POLICY)
    if not isinstance(data, dict) or data.get("ExitCode") != 0 or not data.get("Csv"):
        code = data.get("ExitCode") if isinstance(data, dict) else None
        raise FactUnavailable(f"auditpol /get failed (exit {code}); it needs an administrator")
    return parse_auditpol_csv(str(data["Csv"]))
