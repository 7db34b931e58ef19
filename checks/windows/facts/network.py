"""Firewall profiles, SMB server configuration, TCP listeners, services and event logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact
from checks.windows.facts.json import as_int, as_list, section_json
from checks.windows.facts.sections import EVENT_LOGS, FIREWALL, LISTENERS, SERVICES, SMB_SERVER


@fact("win_firewall", protocol="ssh", requests=[FIREWALL])
def win_firewall(evidence: FactEvidence) -> dict[str, dict[str, str]]:
    """Effective (ActiveStore) firewall profiles Domain, Private, Public: enabled and default actions."""
    profiles = {str(p.get("Name")): {k: str(v) for k, v in p.items()}
                for p in as_list(section_json(evidence, FIREWALL)) if isinstance(p, dict)}
    if not profiles:
        raise FactParseError("Get-NetFirewallProfile listed no profile")
    return profiles


@fact("win_smb", protocol="ssh", requests=[SMB_SERVER])
def win_smb(evidence: FactEvidence) -> dict[str, Any]:
    """``Get-SmbServerConfiguration``: SMB1/2, signing and encryption settings of the SMB server."""
    data = section_json(evidence, SMB_SERVER)
    if not isinstance(data, dict):
        raise FactParseError("Get-SmbServerConfiguration: no object in the answer")
    return data


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    process: str

    @property
    def loopback(self) -> bool:
        return self.address.startswith("127.") or self.address == "::1"


@fact("win_listeners", protocol="ssh", requests=[LISTENERS])
def win_listeners(evidence: FactEvidence) -> tuple[Listener, ...]:
    """Listening TCP sockets (``Get-NetTCPConnection -State Listen``) with their owning process names."""
    found = []
    for entry in as_list(section_json(evidence, LISTENERS)):
        port = as_int(entry.get("LocalPort")) if isinstance(entry, dict) else None
        if port is None:
            raise FactParseError(f"Get-NetTCPConnection entry without LocalPort: {entry!r}"[:200])
        found.append(Listener(str(entry.get("LocalAddress")), port, str(entry.get("Process") or "?")))
    return tuple(found)


@dataclass(frozen=True)
class Service:
    name: str
    display_name: str
    status: str  # Running, Stopped...
    start_type: str  # Automatic, Manual, Disabled...

    @property
    def running(self) -> bool:
        return self.status == "Running"


@fact("win_services", protocol="ssh", requests=[SERVICES])
def win_services(evidence: FactEvidence) -> dict[str, Service]:
    """Every service (``Get-Service``) by its lower-cased name."""
    services = {}
    for s in as_list(section_json(evidence, SERVICES)):
        if isinstance(s, dict) and s.get("Name"):
            services[str(s["Name"]).lower()] = Service(str(s["Name"]), str(s.get("DisplayName") or ""),
                                                       str(s.get("Status")), str(s.get("StartType")))
    if not services:
        raise FactParseError("Get-Service listed no service")
    return services


@fact("win_event_logs", protocol="ssh", requests=[EVENT_LOGS])
def win_event_logs(evidence: FactEvidence) -> dict[str, dict[str, Any]]:
    """Application, Security, System and PowerShell/Operational logs: enabled, maximum size, retention mode."""
    logs = {str(e.get("LogName")): e for e in as_list(section_json(evidence, EVENT_LOGS)) if isinstance(e, dict)}
    if not logs:
        raise FactParseError("Get-WinEvent -ListLog listed no log")
    return logs
