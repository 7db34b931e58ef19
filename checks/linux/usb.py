"""``linux.usb.*`` checks: USB mass storage blocked (module disabled or USBGuard policy)."""

from __future__ import annotations

import re

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
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
        rules = sys_hardening.usbguard_rules
        lines = [ln.strip() for ln in (rules or "").splitlines() if ln.strip() and not ln.strip().startswith("#")]
        observed["usbguard_rules"] = len(lines) if rules is not None else None
        if rules is None:
            return manual("USBGuard is active, but /etc/usbguard/rules.conf could not be read, so its policy is "
                          "unknown; verify it does not allow every device", expected, observed)
        if any(re.fullmatch(r"allow(\s+(id\s+\*:\*|with-interface\s+\S+))?", ln) for ln in lines):
            return failed(observed, expected, "the USBGuard policy allows every device (an unconditional allow rule)")
        return passed(observed, expected, f"USBGuard enforces a device policy of {len(lines)} rules")
    if loaded:
        return failed(observed, expected, "usb_storage module is loaded right now")
    if disabled:
        return passed(observed, expected, "usb-storage module loading disabled")
    if blacklisted:
        return passed(observed, expected, "usb-storage blacklisted (no automatic loading on insertion)")
    return failed(observed, expected, "nothing prevents the usb-storage module from loading")
