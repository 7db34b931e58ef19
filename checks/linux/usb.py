"""``linux.usb.*`` checks: USB mass storage blocked (module disabled or USBGuard policy)."""

from __future__ import annotations

import re

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.linux.facts.system import HardeningConfig
from checks.linux.facts.systemd import Units


@check("linux.usb.storage-blocked",
       title="USB mass storage blocked (module disabled or USBGuard policy)",
       requirements=["SR 2.3"], applies_to=["host"], severity="medium",
       remediation=("Create /etc/modprobe.d/usb-storage.conf with `install usb-storage /bin/false` and "
                    "`blacklist usb-storage` (Debian/Ubuntu and RHEL), `rmmod usb_storage`, rebuild the initramfs "
                    "(`update-initramfs -u` / `dracut -f`). Where some devices must work, use USBGuard "
                    "(`apt|dnf install usbguard`, `usbguard generate-policy > /etc/usbguard/rules.conf`, "
                    "`systemctl enable --now usbguard`)."))
def usb_storage_blocked(sys_hardening: HardeningConfig, sys_units: Units) -> Verdict:
    """Portable media are the classic path for malware into air-gapped control networks; use control for
    portable and mobile devices (SR 2.3) starts with the host refusing unknown mass storage."""
    expected = "usb-storage disabled (install /bin/false or blacklist) and not loaded, or USBGuard active"
    disabled = [f"{p}: {d}" for p, d in sys_hardening.modprobe
                if re.match(r"^install\s+usb[-_]storage\s+(/usr)?/bin/(true|false)\b", d)]
    blacklisted = [f"{p}: {d}" for p, d in sys_hardening.modprobe if re.match(r"^blacklist\s+usb[-_]storage\b", d)]
    loaded = None if sys_hardening.loaded_modules is None else "usb_storage" in sys_hardening.loaded_modules
    usbguard = sys_units.is_active("usbguard")
    observed = {"install_disabled": disabled, "blacklisted": blacklisted, "module_loaded": loaded,
                "usbguard_active": usbguard}
    if usbguard:
        return passed(observed, expected, "USBGuard daemon enforces a device policy")
    if loaded:
        return failed(observed, expected, "usb_storage module is loaded right now")
    if disabled:
        return passed(observed, expected, "usb-storage module loading disabled")
    if blacklisted:
        return passed(observed, expected, "usb-storage blacklisted (no automatic loading on insertion)")
    return failed(observed, expected, "nothing prevents the usb-storage module from loading")
