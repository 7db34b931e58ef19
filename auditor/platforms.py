"""Which platform a host runs, decided the same way at collection and at (re)scoring.

A host check judges ``linux`` or ``windows`` hosts (see :meth:`auditor.registry.Registry.platforms_of`).
The platform is the inventory's ``platform:`` when given, else what the SSH server's identification
string shows (OpenSSH for Windows says ``SSH-2.0-OpenSSH_for_Windows_<version>``), as the SSH connector
records it in ``ssh:session:info``. Without any of these (a host never reached) it is ``linux``, the
platform the tool has always assumed, so older evidence rescores unchanged; the verdict says so.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

__all__ = ["WINDOWS_IDENTIFICATION", "host_platform", "platform_of"]

#: What OpenSSH for Windows puts in its identification string.
WINDOWS_IDENTIFICATION = "OpenSSH_for_Windows"
DEFAULT_PLATFORM = "linux"


def platform_of(server_version: str | None, declared: str | None = None) -> str:
    """The host's platform: as the inventory declares it, else by the server's identification string."""
    if declared:
        return declared
    return "windows" if WINDOWS_IDENTIFICATION in (server_version or "") else DEFAULT_PLATFORM


def host_platform(declared: str | None, items: Iterable[Any]) -> tuple[str, str]:
    """``(platform, how it is known)`` from the inventory and an asset's evidence items."""
    if declared:
        return declared, "the inventory's platform"
    for item in items:
        request = item.request
        if (request.protocol, request.op, request.target) != ("ssh", "session", "info") or item.status != "ok":
            continue
        try:
            info = json.loads(item.text())
        except (ValueError, TypeError):
            continue
        if isinstance(info, dict):
            found = info.get("platform") or platform_of(info.get("server_version"))
            return str(found), f"the SSH server's identification ({info.get('server_version')})"
    return DEFAULT_PLATFORM, "no SSH session recorded its platform; assumed"
