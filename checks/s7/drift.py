"""Evidence drift of an S7 CPU: its firmware and its protection level, from the facts the checks read.

* ``s7_firmware`` (version): order number and firmware (SZL 0x0011), so ``iacs-audit diff`` reports an
  update or a swapped CPU;
* ``s7_protection`` (version): the protection level in force and the mode selector (SZL 0x0232), so a
  password removed or a key left in RUN-P shows between two scans;
* ``s7_checksums`` (version): the hardware-configuration and program checksums (SZL 0x0232);
* ``s7_interfaces`` (set): each Ethernet interface's address, mask and router (SZL 0x0037), so a CPU moved
  into another network, or given a second interface, shows between two scans.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import snapshot
from checks.s7.facts import Interface, Module, Protection


@snapshot("s7_firmware", label="CPU firmware (SZL 0x0011)", kind="version", facts=["s7_module"])
def firmware_snapshot(s7_module: Any) -> str | None:
    """``"6ES7 315-2EH14-0AB0 V3.3.19"``."""
    if not isinstance(s7_module, Module) or s7_module.firmware is None:
        return None
    return f"{s7_module.order_number} {s7_module.firmware_text}"


@snapshot("s7_protection", label="CPU protection level (SZL 0x0232)", kind="version", facts=["s7_protection"])
def protection_snapshot(s7_protection: Any) -> str | None:
    """``"level 3, selector RUN"``."""
    if not isinstance(s7_protection, Protection):
        return None
    return f"level {s7_protection.effective}, selector {s7_protection.mode_selector}"


@snapshot("s7_checksums", label="CPU program and configuration checksums (SZL 0x0232)", kind="version",
          facts=["s7_protection"])
def checksums_snapshot(s7_protection: Any) -> str | None:
    """The checksum words in hex, so a changed program shows between two scans."""
    return s7_protection.checksums if isinstance(s7_protection, Protection) else None


@snapshot("s7_interfaces", label="CPU Ethernet interfaces (SZL 0x0037)", kind="set", facts=["s7_interfaces"])
def interfaces_snapshot(s7_interfaces: Any) -> list[str] | None:
    """``"127.0.10.221/24 via 127.0.10.1"`` per interface with an address."""
    if not isinstance(s7_interfaces, list):
        return None
    return sorted(f"{i.network}" + (f" via {i.router}" if i.router else "") for i in s7_interfaces
                  if isinstance(i, Interface) and not i.address.is_unspecified) or None
