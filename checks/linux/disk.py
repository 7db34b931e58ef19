"""``linux.disk.*`` checks: filesystems encrypted at rest (LUKS/dm-crypt)."""

from __future__ import annotations

import fnmatch
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.filesystem import BlockDevices


@check("linux.disk.encryption",
       title="Root and data filesystems encrypted at rest (LUKS/dm-crypt)",
       requirements=["SR 4.1", "SR 4.1 RE1", "CR 4.1", "SR 4.2", "CR 4.2"], applies_to=["host"], severity="medium",
       params={"exclude_mounts": ["/boot", "/boot/*", "/efi", "[SWAP]", "/snap/*", "/var/lib/snapd/*"],
               "exclude_fstypes": ["squashfs", "iso9660", "vfat", "tmpfs", "overlay"]},
       remediation=("Encrypt the volumes with LUKS2 at installation (Debian/Ubuntu installer 'Guided - use entire "
                    "disk and set up encrypted LVM'; RHEL Anaconda 'Encrypt my data'), unlocked by TPM2/Clevis+Tang "
                    "on unattended hosts (`systemd-cryptenroll --tpm2-device=auto` or `clevis luks bind`). Existing "
                    "volumes: `cryptsetup reencrypt --encrypt` after a verified backup. If physical protection is the "
                    "chosen countermeasure, document it and waive this check."))
def disk_encryption(sys_block_devices: BlockDevices, params: dict[str, Any]) -> Verdict:
    """Engineering laptops and HMI disks leave the site for repair or disposal; without encryption at rest
    their project files, credentials and keys are readable (information confidentiality, SR 4.1 RE1).
    Encryption at rest is also what makes purging a decommissioned disk dependable: destroying the LUKS
    key slots is a cryptographic erase (NIST SP 800-88), the capability SR 4.2 / CR 4.2 asks for."""
    expected = "every mounted root/data filesystem sits on a crypt (LUKS) layer"
    if sys_block_devices.state != "ok":
        return error(f"block devices not readable: {sys_block_devices.detail}")
    excluded_mounts = list(params.get("exclude_mounts") or [])
    excluded_types = {t.lower() for t in (params.get("exclude_fstypes") or [])}
    relevant = [m for m in sys_block_devices.mounts
                if not any(m.mountpoint == p or fnmatch.fnmatchcase(m.mountpoint, p) for p in excluded_mounts)
                and (m.fstype or "").lower() not in excluded_types]
    observed = {m.mountpoint: {"device": " > ".join(m.chain), "fstype": m.fstype, "encrypted": m.encrypted}
                for m in relevant}
    if not any(m.mountpoint == "/" for m in sys_block_devices.mounts):
        return manual("the root filesystem is not a local block device (container, NFS or overlay root?); verify "
                      "encryption of the underlying storage", expected, observed)
    plain = [m.mountpoint for m in relevant if not m.encrypted]
    if plain:
        return failed(observed, expected, "not encrypted: " + ", ".join(plain))
    return passed(observed, expected, f"{len(relevant)} filesystem(s) on LUKS")
