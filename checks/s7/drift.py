"""Evidence drift of an S7 CPU: its firmware and its protection level, from the facts the checks read.

* ``s7_firmware`` (version): order number and firmware (SZL 0x0011), so ``iacs-audit diff`` reports an
  update or a swapped CPU;
* ``s7_protection`` (version): the protection level in force and the mode selector (SZL 0x0232), so a
  password removed or a key left in RUN-P shows between two scans;
* ``s7_checksums`` (version): the hardware-configuration and program checksums (SZL 0x0232).
"""

from __future__ import annotations

from typing import Any

from auditor.registry import snapshot
from checks.s7.facts import Module, Protection


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
