"""World-writable paths in the system directories and the encryption of mounted filesystems.

Reads: one bounded, low-priority ``find`` over the system directories (time-boxed at 20 s, never
descending into other filesystems) and ``lsblk -J``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from auditor.facts import FactEvidence
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import tool_absent

WORLD_WRITABLE_ROOTS = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/opt")
FIND_TIMEOUT_SECONDS = 20
WORLD_WRITABLE = ssh_exec(
    f"timeout {FIND_TIMEOUT_SECONDS} nice -n 19 ionice -c3 -t find {' '.join(WORLD_WRITABLE_ROOTS)} -xdev "
    "\\( -type f -perm -0002 -o -type d -perm -0002 ! -perm -1000 \\) -printf '%y %m %u %p\\n'; "
    "echo \"find-exit=$?\"", lane="filesystem", name="filesystem.world-writable")
BLOCK_DEVICES = ssh_exec("lsblk -J -o NAME,TYPE,FSTYPE,MOUNTPOINT", name="filesystem.block-devices")


@dataclass(frozen=True)
class WorldWritable:
    state: str                                   # ok / timed-out / absent / failed
    entries: tuple[tuple[str, str, str], ...] = ()    # (type f|d, mode, path)
    errors: int = 0                              # unreadable directories (not reachable by others either)
    detail: str = ""


_FIND_ENTRY = re.compile(r"^(?P<type>[fd]) (?P<mode>[0-7]{3,4}) (?P<owner>\S+) (?P<path>/.*)$")


def parse_world_writable(text: str, exit_code: int | None) -> WorldWritable:
    lines = text.splitlines()
    status = None
    for line in reversed(lines):
        match = re.fullmatch(r"find-exit=(\d{1,3})", line.strip())
        if match:
            status = int(match.group(1))
            break
        if line.strip():
            break
    if status is None:
        if exit_code == 127 or re.search(r"not found", text):
            return WorldWritable("absent", detail=(text.strip().splitlines() or [""])[0][:200])
        return WorldWritable("failed", detail=f"no completion marker (exit {exit_code})")
    entries = []
    errors = 0
    for line in lines:
        match = _FIND_ENTRY.match(line)
        if match:
            entries.append((match["type"], match["mode"], match["path"]))
        elif line.startswith("find: "):
            errors += 1
    if status == 124:
        return WorldWritable("timed-out", tuple(entries), errors, f"search stopped after {FIND_TIMEOUT_SECONDS} s")
    if status in (126, 127):
        return WorldWritable("absent", (), errors, f"find/timeout/ionice not runnable (exit {status})")
    return WorldWritable("ok", tuple(entries), errors)


@fact("sys_world_writable", protocol="ssh", requests=[WORLD_WRITABLE])
def sys_world_writable(ev: FactEvidence) -> WorldWritable:
    """World-writable files and non-sticky world-writable directories under the system directories."""
    out = ev.command(WORLD_WRITABLE)
    return parse_world_writable(out.stdout, out.exit_code)


@dataclass(frozen=True)
class Mount:
    mountpoint: str
    device: str
    fstype: str | None
    encrypted: bool
    chain: tuple[str, ...]          # device path from disk to filesystem, e.g. ("sda", "sda3", "luks-..", "vg-root")


@dataclass(frozen=True)
class BlockDevices:
    state: str                      # ok / absent / failed
    mounts: tuple[Mount, ...] = ()
    detail: str = ""


def parse_lsblk(text: str) -> list[Mount]:
    data = json.loads(text)
    devices = data.get("blockdevices") if isinstance(data, dict) else None
    if not isinstance(devices, list):
        raise ValueError("no 'blockdevices' list")
    mounts: list[Mount] = []

    def walk(node: Any, ancestors: tuple[dict, ...]) -> None:
        if not isinstance(node, dict):
            return
        chain = ancestors + (node,)
        points = node.get("mountpoints") if isinstance(node.get("mountpoints"), list) else [node.get("mountpoint")]
        for point in points:
            if isinstance(point, str) and point:
                encrypted = any(str(n.get("type", "")).lower() == "crypt" or str(n.get("fstype", "")).lower()
                                == "crypto_luks" for n in chain[:-1]) or str(node.get("type", "")).lower() == "crypt"
                mounts.append(Mount(point, str(node.get("name", "?")), node.get("fstype"), encrypted,
                                    tuple(str(n.get("name", "?")) for n in chain)))
        for child in node.get("children") or []:
            walk(child, chain)

    for device in devices:
        walk(device, ())
    return mounts


@fact("sys_block_devices", protocol="ssh", requests=[BLOCK_DEVICES])
def sys_block_devices(ev: FactEvidence) -> BlockDevices:
    """Mounted filesystems and whether a dm-crypt (LUKS) layer sits below each, from ``lsblk -J``."""
    out = ev.command(BLOCK_DEVICES)
    if tool_absent(out):
        return BlockDevices("absent", detail="lsblk not found")
    start = out.stdout.find("{")
    try:
        return BlockDevices("ok", tuple(parse_lsblk(out.stdout[start:] if start >= 0 else out.stdout)))
    except (ValueError, TypeError, AttributeError) as exc:
        return BlockDevices("failed", detail=f"unparseable lsblk output ({exc}): {out.stdout.strip()[:120]!r}")
