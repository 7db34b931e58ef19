"""Evidence drift of a Windows host: OS build, installed programs, hotfixes and listening TCP ports.

Snapshots for :mod:`auditor.store.drift`, from facts the checks already parse. Names carry ``windows_`` so
they never collide with the Linux pack's (``os``, ``packages``...).
"""

from __future__ import annotations

from auditor.registry import snapshot
from checks.windows.facts.network import Listener
from checks.windows.facts.system import Hotfix, WindowsOs


@snapshot("windows_os", label="Windows release and build", kind="version", facts=["win_os"])
def os_snapshot(win_os: WindowsOs) -> str | None:
    return f"{win_os.caption} {win_os.version}".strip() or None


@snapshot("windows_software", label="installed Windows programs", kind="map", facts=["win_software"])
def software_snapshot(win_software: dict[str, str]) -> dict[str, str] | None:
    return dict(win_software) or None


@snapshot("windows_hotfixes", label="installed Windows updates", kind="set", facts=["win_hotfixes"])
def hotfix_snapshot(win_hotfixes: tuple[Hotfix, ...]) -> list[str] | None:
    return sorted(h.id for h in win_hotfixes) or None


@snapshot("windows_listeners", label="listening TCP ports", kind="set", facts=["win_listeners"])
def listener_snapshot(win_listeners: tuple[Listener, ...]) -> list[str] | None:
    return sorted({f"{listener.address}:{listener.port}/tcp" for listener in win_listeners}) or None
