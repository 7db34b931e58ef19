"""linux.usb/coredump/files/disk/banner/session/backup.* (checks/linux/usb.py, coredump.py, files.py,
disk.py, banner.py, session.py, backup.py; evidence in checks/linux/facts/system.py, filesystem.py): USB
storage, core dumps, world-writable files, disk encryption, login banners, TMOUT, backups and critical file
permissions, on Debian 12 / Ubuntu 22.04 / RHEL 9 outputs (tests/unit/linux/recorded/*/hardening_*),
variants of them, and garbage."""

from __future__ import annotations

import pytest
from system_evidence import DISTROS, recorded, recorded_host

from checks.linux.facts.filesystem import BLOCK_DEVICES, WORLD_WRITABLE, parse_lsblk, parse_world_writable
from checks.linux.facts.parsing import parse_files
from checks.linux.facts.system import parse_hardening


# ------------------------------------------------------------------------------------ parsers

@pytest.mark.parametrize("distro,expected", [
    ("debian12", {"/": False, "[SWAP]": False}),
    ("ubuntu2204", {"/snap/core20/2264": False, "/snap/snapd/21465": False, "/boot/efi": False, "/boot": False,
                    "/": True}),
    ("rhel9", {"/boot/efi": False, "/boot": False, "/": False, "[SWAP]": False}),
])
def test_lsblk_parser_both_json_styles(distro: str, expected: dict[str, bool]) -> None:
    mounts = parse_lsblk(recorded(distro, "hardening_lsblk.txt"))
    assert {m.mountpoint: m.encrypted for m in mounts} == expected
    if distro == "ubuntu2204":
        root = next(m for m in mounts if m.mountpoint == "/")
        assert root.chain == ("nvme0n1", "nvme0n1p3", "dm_crypt-0", "ubuntu--vg-ubuntu--lv")


def test_lsblk_mountpoints_list_and_garbage() -> None:
    text = '{"blockdevices": [{"name": "sda", "type": "disk", "children": [{"name": "sda1", "type": "part", ' \
           '"fstype": "btrfs", "mountpoints": ["/", "/home", null]}]}]}'
    assert [m.mountpoint for m in parse_lsblk(text)] == ["/", "/home"]
    for junk in ("{", "[]", '{"blockdevices": 3}'):
        with pytest.raises((ValueError, TypeError)):
            parse_lsblk(junk)


@pytest.mark.parametrize("distro,state,count", [("debian12", "ok", 0), ("ubuntu2204", "ok", 0), ("rhel9", "ok", 2)])
def test_find_parser(distro: str, state: str, count: int) -> None:
    result = parse_world_writable(recorded(distro, "hardening_find.txt"), 0)
    assert result.state == state and len(result.entries) == count and result.errors >= (0 if distro == "rhel9" else 3)


def test_find_parser_timeout_and_missing_tool() -> None:
    timed_out = parse_world_writable("f 666 root /etc/x.conf\nfind-exit=124\n", 0)
    assert timed_out.state == "timed-out" and timed_out.entries == (("f", "666", "/etc/x.conf"),)
    assert parse_world_writable("sh: 1: timeout: not found\nfind-exit=127\n", 0).state == "absent"
    assert parse_world_writable("", None).state == "failed"


@pytest.mark.parametrize("distro", DISTROS)
def test_hardening_config_parser(distro: str) -> None:
    config = parse_hardening(parse_files(recorded(distro, "hardening_files.txt")))
    assert config.loaded_modules and config.issue["/etc/issue"] and config.shell_files >= 2
    if distro == "rhel9":
        assert config.tmout == (("/etc/profile.d/tmout.sh", "TMOUT=900"), ("/etc/profile.d/tmout.sh", "readonly TMOUT"),
                                ("/etc/profile.d/tmout.sh", "export TMOUT"))
    if distro == "debian12":
        assert ("/etc/security/limits.d/60-coredump.conf", "*", "hard", "0") in config.limits_core


# ------------------------------------------------------------------------------------ checks

@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "fail"), ("rhel9", "fail")])
def test_usb_storage(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.usb.storage-blocked").status == status


def test_usb_storage_blacklist_and_usbguard() -> None:
    ev = recorded_host("rhel9").set_file("/etc/modprobe.d/usb.conf", "blacklist usb_storage\n")
    assert "blacklisted" in ev.check("linux.usb.storage-blocked").reason
    ev = recorded_host("ubuntu2204").replace("units", "snapd.service ", "usbguard.service ")
    verdict = ev.check("linux.usb.storage-blocked")  # active, but its rules were not read: no pass
    assert verdict.status == "manual" and "rules.conf" in verdict.reason
    ev.set_file("/etc/usbguard/rules.conf", "allow id 1d6b:0002 serial \"\" name \"xHCI Host Controller\"\n"
                                             "block\n")
    assert ev.check("linux.usb.storage-blocked").status == "pass"
    ev.set_file("/etc/usbguard/rules.conf", "allow\n")
    verdict = ev.check("linux.usb.storage-blocked")
    assert verdict.status == "fail" and "allows every device" in verdict.reason


@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "fail"), ("rhel9", "fail")])
def test_coredump(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.coredump.disabled").status == status


def test_coredump_systemd_storage_none() -> None:
    ev = recorded_host("rhel9").set_sysctl("fs.suid_dumpable", 0)
    assert ev.check("linux.coredump.disabled").status == "fail"
    ev.set_file("/etc/systemd/coredump.conf.d/60-off.conf", "[Coredump]\nStorage=none\nProcessSizeMax=0\n")
    verdict = ev.check("linux.coredump.disabled")
    assert verdict.status == "pass" and "Storage=none" in verdict.reason


@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "pass"), ("rhel9", "fail")])
def test_world_writable(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.files.world-writable")
    assert verdict.status == status
    if status == "fail":
        assert verdict.observed["entries"] == ["d 777 /opt/hmi-vendor/spool", "f 666 /opt/hmi-vendor/etc/runtime.ini"]


def test_world_writable_exclude_and_timeouts() -> None:
    assert recorded_host("rhel9").check("linux.files.world-writable", exclude=["/opt/hmi-vendor/*"]).status == "pass"
    ev = recorded_host("debian12")
    ev.out(WORLD_WRITABLE, "find-exit=124\n", 0)
    assert ev.check("linux.files.world-writable").status == "manual"
    ev.out(WORLD_WRITABLE, "f 666 root /etc/a\nfind-exit=124\n", 0)
    assert "incomplete" in ev.check("linux.files.world-writable").reason


@pytest.mark.parametrize("distro,status", [("debian12", "fail"), ("ubuntu2204", "pass"), ("rhel9", "fail")])
def test_disk_encryption(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.disk.encryption")
    assert verdict.status == status
    if distro == "ubuntu2204":
        assert list(verdict.observed) == ["/"]       # snaps, /boot and the ESP are not judged


def test_disk_encryption_without_local_root_is_manual() -> None:
    ev = recorded_host("debian12")
    ev.out(BLOCK_DEVICES, '{"blockdevices": [{"name": "vda", "type": "disk", "fstype": null, '
                          '"mountpoint": null}]}', 0)
    assert ev.check("linux.disk.encryption").status == "manual"
    ev.missing(BLOCK_DEVICES)
    assert ev.check("linux.disk.encryption").status == "error"


@pytest.mark.parametrize("distro,status", [("debian12", "fail"), ("ubuntu2204", "pass"), ("rhel9", "fail")])
def test_login_banner(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.banner.login")
    assert verdict.status == status
    if distro == "rhel9":
        assert "\\S" in verdict.reason and "Kernel" in verdict.reason


def test_login_banner_missing_file() -> None:
    ev = recorded_host("ubuntu2204").set_file("/etc/issue.net", None)
    assert "/etc/issue.net missing" in ev.check("linux.banner.login").reason


@pytest.mark.parametrize("distro,status", [("debian12", "fail"), ("ubuntu2204", "fail"), ("rhel9", "pass")])
def test_session_timeout(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.session.timeout")
    assert verdict.status == status
    if distro == "ubuntu2204":
        assert "not readonly" in verdict.reason


def test_session_timeout_variants() -> None:
    ev = recorded_host("debian12").set_file("/etc/profile.d/zz-tmout.sh", "declare -r TMOUT=1800\n")
    verdict = ev.check("linux.session.timeout")
    assert verdict.status == "fail" and "TMOUT=1800" in verdict.reason
    assert ev.check("linux.session.timeout", max_seconds=1800).status == "pass"
    ev = recorded_host("debian12").set_file("/etc/profile.d/zz-tmout.sh", "readonly TMOUT=600; export TMOUT\n")
    assert ev.check("linux.session.timeout").status == "pass"


@pytest.mark.parametrize("distro,status", [("debian12", "manual"), ("ubuntu2204", "manual"), ("rhel9", "fail")])
def test_backup(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.backup.configured")
    assert verdict.status == status, verdict
    if status == "manual":
        assert "SR 7.3 RE1" in verdict.reason       # what to verify by hand
        assert "dpkg-db-backup" not in str(verdict.observed)   # dpkg's own database copy is no backup


def test_backup_pass_and_disabled_timer() -> None:
    ev = recorded_host("rhel9").replace("units", "restic-backup.service                               loaded    failed   failed ",
                                        "restic-backup.service                               loaded    inactive dead   ")
    verdict = ev.check("linux.backup.configured")
    assert verdict.status == "pass" and "restic-backup.timer" in verdict.reason
    ev.replace("units", "restic-backup.timer                                 loaded    active   waiting",
               "restic-backup.timer                                 loaded    inactive dead   ")
    assert "not active" in ev.check("linux.backup.configured").reason
    ev = recorded_host("debian12").set_file("/etc/cron.d/borg", "30 1 * * * root borgmatic --verbosity -1\n")
    assert ev.check("linux.backup.configured").status == "pass"


@pytest.mark.parametrize("distro", DISTROS)
def test_critical_permissions_pass(distro: str) -> None:
    verdict = recorded_host(distro).check("linux.files.critical-permissions")
    assert verdict.status == "pass" and "/etc/shadow" in verdict.observed


def test_critical_permissions_fail() -> None:
    ev = recorded_host("debian12").set_stat("/etc/shadow", "644", "root", "shadow")
    verdict = ev.check("linux.files.critical-permissions")
    assert verdict.status == "fail" and "/etc/shadow mode 0644" in verdict.reason
    ev = recorded_host("rhel9").set_stat("/etc/ssh/ssh_host_rsa_key", "640", "hmi", "ssh_keys")
    assert "owned by hmi" in ev.check("linux.files.critical-permissions").reason


def test_disk_encryption_judges_root_and_data_not_boot_or_swap() -> None:
    verdict = recorded_host("rhel9").check("linux.disk.encryption")
    assert list(verdict.observed) == ["/"] and verdict.reason == "not encrypted: /"
    verdict = recorded_host("rhel9").check("linux.disk.encryption", exclude_mounts=["/boot", "/boot/*"])
    assert "[SWAP]" in verdict.reason
