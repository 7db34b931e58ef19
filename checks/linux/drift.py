"""Evidence drift of a Linux host: its OS and kernel, its installed software, its listening services, its SSH server.

Snapshots for :mod:`auditor.store.drift`, computed from the facts the checks already parse and the SSH
session record (no extra request), so ``iacs-audit diff`` reports an OS upgrade, a package installed,
removed or updated, a service that started listening and a replaced SSH host key between two scans:

* ``os`` (version): ``PRETTY_NAME`` of /etc/os-release (else its ``ID`` and ``VERSION_ID``);
* ``kernel`` (version): the running kernel release (/proc/sys/kernel/osrelease);
* ``packages`` (map): every installed package (dpkg or rpm) -> its version (absent when neither database
  answered);
* ``listeners`` (set): the listening TCP and UDP sockets from ``ss -ltnu``, as ``address:port/protocol``;
* ``ssh_host_key`` (fingerprint): the host key the SSH server showed the auditor, by key type;
* ``ssh_server`` (version): the SSH server's identification string (``SSH-2.0-OpenSSH_9.2p1``).

The names are keys of the snapshots already in history stores: keep them.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import snapshot
from checks.linux.facts.network import Listeners
from checks.linux.facts.packages import Packages
from checks.linux.facts.sshd_commands import SESSION_INFO
from checks.linux.facts.system import OsInfo


@snapshot("os", label="operating system release", kind="version", facts=["sys_os"])
def os_snapshot(sys_os: OsInfo) -> str | None:
    return sys_os.pretty_name or (" ".join(p for p in (sys_os.id, sys_os.version_id) if p) or None)


@snapshot("kernel", label="kernel release", kind="version", facts=["sys_os"])
def kernel_snapshot(sys_os: OsInfo) -> str | None:
    return sys_os.kernel


@snapshot("packages", label="installed software", kind="map", facts=["sys_packages"])
def packages_snapshot(sys_packages: Packages) -> dict[str, str] | None:
    return dict(sys_packages.installed) if sys_packages.manager else None


@snapshot("listeners", label="listening services", kind="set", facts=["sys_listeners"])
def listeners_snapshot(sys_listeners: Listeners) -> list[str] | None:
    if sys_listeners.state != "ok":
        return None  # ss did not answer: unknown, not "nothing listens"
    return [str(listener) for listener in sys_listeners.listeners]


@snapshot("ssh_host_key", label="SSH host key", kind="fingerprint", items=[SESSION_INFO.key])
def ssh_host_key_snapshot(info: Any) -> dict[str, str] | None:
    """``{"ssh-ed25519": "SHA256:..."}`` from the session record of the auditor's own connection."""
    if isinstance(info, dict) and info.get("host_key_fingerprint"):
        return {str(info.get("host_key_type") or "key"): str(info["host_key_fingerprint"])}
    return None


@snapshot("ssh_server", label="SSH server software", kind="version", items=[SESSION_INFO.key])
def ssh_server_snapshot(info: Any) -> str | None:
    return str(info["server_version"]) if isinstance(info, dict) and info.get("server_version") else None
