"""How the auditor reached a Windows host: over SSH, or over WinRM with the scheme and encryption it used.

The connectors record it in their session items (``ssh:session:info``, ``winrm:session:info``); a host reached
over WinRM has the second, and its record wins when both are there (the WinRM service was then used too).
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evidence import EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact, request

SSH_SESSION = EvidenceRequest(protocol="ssh", op="session", target="info")
WINRM_SESSION = request("winrm", "session", "info", name="winrm.session-info")


@dataclass(frozen=True)
class RemoteAccess:
    transport: str  # ssh | winrm
    scheme: str  # ssh | https | http
    port: int | None
    encryption: str  # what protected the exchange: ssh, tls, "<auth> message encryption" or none

    @property
    def plain_http(self) -> bool:
        return self.transport == "winrm" and self.scheme == "http"


@fact("win_remote_access", protocol="ssh", requests=[SSH_SESSION, WINRM_SESSION])
def win_remote_access(evidence: FactEvidence) -> RemoteAccess:
    """How the auditor's session reached the host (the WinRM session's record first, else the SSH session's)."""
    try:
        info = evidence.data(WINRM_SESSION)
    except FactUnavailable as winrm_missing:
        try:
            ssh = evidence.data(SSH_SESSION)
        except FactUnavailable:
            raise winrm_missing from None
        port = ssh.get("port") if isinstance(ssh, dict) else None
        return RemoteAccess("ssh", "ssh", port if isinstance(port, int) else None, "ssh")
    if not isinstance(info, dict) or info.get("scheme") not in ("https", "http"):
        raise FactParseError("winrm:session:info has no scheme https or http")
    port = info.get("port")
    return RemoteAccess("winrm", str(info["scheme"]), port if isinstance(port, int) else None,
                        str(info.get("encryption") or ("tls" if info["scheme"] == "https" else "none")))
