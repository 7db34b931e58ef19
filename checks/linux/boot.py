"""``linux.boot.*`` checks: UEFI Secure Boot enabled."""

from __future__ import annotations

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.linux.facts.files import Stats
from checks.linux.facts.system import SecureBoot


@check("linux.boot.secure-boot",
       title="UEFI Secure Boot enabled",
       requirements=["SR 3.4", "HDR 3.14", "HDR 3.14 RE1"], applies_to=["host"], severity="medium",
       remediation=("Enable Secure Boot in the UEFI firmware setup (the shim/grub/kernel of Debian, Ubuntu and RHEL "
                    "are signed); enrol any out-of-tree module keys with `mokutil --import`. Hosts booting in "
                    "legacy BIOS mode must be converted to UEFI boot first."))
def secure_boot(sys_secure_boot: SecureBoot, sys_stats: Stats) -> Verdict:
    """Integrity and authenticity of the boot process (HDR 3.14, RE1): only signed boot loaders and
    kernels start, so a modified boot chain (bootkit) is refused."""
    expected = "SecureBoot EFI variable = 1"
    efi = sys_stats.exists("/sys/firmware/efi")
    observed = {"state": sys_secure_boot.state, "uefi": efi, "detail": sys_secure_boot.detail}
    if sys_secure_boot.state == "enabled":
        return passed(observed, expected, "Secure Boot enabled")
    if sys_secure_boot.state == "disabled":
        return failed(observed, expected, "Secure Boot is disabled in the firmware")
    if sys_secure_boot.state == "no-variable":
        if efi is False:
            return failed(observed, expected, "host boots in legacy BIOS mode: no Secure Boot")
        if efi:
            return failed(observed, expected, "UEFI boot without a SecureBoot variable (Secure Boot unsupported/off)")
    return manual(f"Secure Boot state unknown ({sys_secure_boot.detail}); check the firmware setup or "
                  "`mokutil --sb-state`", expected, observed)
