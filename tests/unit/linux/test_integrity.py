"""linux.fim/malware/updates/packages/boot/mac/kernel.* (checks/linux/fim.py, malware.py, updates.py,
packages.py, boot.py, mac.py, kernel.py; evidence in checks/linux/facts/packages.py, system.py): FIM,
malware protection, pending security updates (cached metadata), package signature policy, Secure Boot,
MAC and kernel self-protection, on Debian 12 / Ubuntu 22.04 / RHEL 9 outputs
(tests/unit/linux/recorded/*/integrity_*), variants of them, and garbage."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest
from system_evidence import DISTROS, recorded, recorded_host

from auditor.facts import CommandOutput
from checks.linux.facts.packages import (APT_LISTS, APT_SECURITY_LISTS, DNF_SECURITY, DPKG, Packages, parse_packages,
                                        parse_signature_policy, parse_upgrades)
from checks.linux.facts.parsing import parse_files
from checks.linux.facts.system import parse_cron, parse_mac, parse_secure_boot

NOT_FOUND = CommandOutput("sh: 1: dnf: not found\n", 127)


# ------------------------------------------------------------------------------------ parsers

def test_apt_simulation_parser_real_debian_output() -> None:
    up = parse_upgrades(CommandOutput(recorded("debian12", "integrity_apt_simulate.txt"), 0), NOT_FOUND, NOT_FOUND)
    assert up.manager == "apt" and up.problem == ""
    assert len(up.packages) == 8
    assert up.security == ("libgcrypt20", "libssl3", "openssl", "tzdata")   # "Debian-Security:12/..." pockets


def test_apt_list_gives_the_same_pending_and_security_updates_as_the_simulation_on_one_host() -> None:
    simulated = parse_upgrades(CommandOutput(recorded("debian12", "integrity_apt_simulate_same_state.txt"), 0),
                               NOT_FOUND, NOT_FOUND)
    listed = parse_upgrades(CommandOutput(recorded("debian12", "integrity_apt_list_same_state.txt"), 0),
                            NOT_FOUND, NOT_FOUND)
    assert listed.problem == "" and listed.security_known
    assert len(listed.packages) == 139 and len(listed.security) == 89
    assert (listed.packages, listed.security) == (simulated.packages, simulated.security)


def test_apt_list_parser_edge_cases() -> None:
    nothing = parse_upgrades(CommandOutput("\nWARNING: apt does not have a stable CLI interface. Use with caution "
                                           "in scripts.\n\nListing...\n", 0), None, None)
    assert nothing.manager == "apt" and nothing.packages == () and nothing.problem == "" and nothing.security_known
    jammy = parse_upgrades(CommandOutput("Listing...\nlibssl3/jammy-updates,jammy-security 3.0.2-0ubuntu1.15 amd64 "
                                         "[upgradable from: 3.0.2-0ubuntu1.12]\nsnapd/jammy-updates 2.63 amd64 "
                                         "[upgradable from: 2.61]\n", 0), None, None)
    assert jammy.packages == ("libssl3", "snapd") and jammy.security == ("libssl3",)
    broken = parse_upgrades(CommandOutput("Listing...\nE: Could not open file /var/lib/dpkg/status\n", 100),
                            None, None)
    assert broken.problem.startswith("E: Could not open")


def test_security_lists_give_the_same_security_updates_as_apt_on_one_host() -> None:
    """Recorded one after the other on one Debian 12 host: the security lists compared with dpkg's installed
    versions name exactly the 89 security updates that `apt list --upgradable` and the simulation name."""
    installed = parse_packages(CommandOutput(recorded("debian12", "packages_dpkg_same_state.txt"), 0), None)
    compared = parse_upgrades(CommandOutput(recorded("debian12", "integrity_apt_security_lists_same_state.txt"), 0),
                              NOT_FOUND, NOT_FOUND, installed)
    listed = parse_upgrades(CommandOutput(recorded("debian12", "integrity_apt_list_same_state.txt"), 0),
                            NOT_FOUND, NOT_FOUND)
    assert compared.problem == "" and compared.security_known and not compared.all_known
    assert compared.sources == ("deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_"
                                "Packages.lz4",)
    assert len(compared.security) == 89 and compared.security == listed.security


def _installed(*lines: str) -> Packages:
    return parse_packages(CommandOutput("".join(f"ii  {line} amd64\n" for line in lines), 0), None)


def test_security_lists_parser_edge_cases() -> None:
    installed = _installed("openssl 3.0.11-1~deb12u2", "bash 5.2.15-2+b7", "tzdata 2024a-0+deb12u1")
    lists = ("#release sec_dists_bookworm-security_InRelease\n#list sec_bookworm-security_main_Packages.lz4\n"
             "openssl 3.0.13-1~deb12u1\nopenssl 3.0.11-1~deb12u1\nbash 5.2.15-2+b7\ncurl 7.88.1-10+deb12u8\n")
    up = parse_upgrades(CommandOutput(lists, 0), None, None, installed)
    assert up.security == ("openssl",) and up.packages == ("openssl",) and up.problem == ""
    nothing = parse_upgrades(CommandOutput("", 0), None, None, installed)
    assert nothing.security == () and not nothing.security_known and not nothing.all_known and nothing.problem == ""
    no_lists = parse_upgrades(CommandOutput("#release sec_dists_bookworm-security_InRelease\n", 0), None, None,
                              installed)
    assert "package lists are missing" in no_lists.problem
    one_unread = lists + "#list sec_bookworm-security_contrib_Packages.lz4\nE: Failed to open x (Permission denied)\n"
    assert parse_upgrades(CommandOutput(one_unread, 0), None, None, installed).problem.startswith(
        "the security lists could not be read: E: Failed")
    unknown = parse_upgrades(CommandOutput(lists, 0), None, None, None)
    assert unknown.problem.startswith("the installed versions are unknown")
    odd = lists + "curl not-a-version\n"
    assert parse_upgrades(CommandOutput(odd, 0), None, None, installed).security == ("openssl",)


@pytest.mark.parametrize("release_files, found", [
    ({"deb_dists_bookworm-security_InRelease": "Label: Debian-Security\nSuite: oldstable-security\n",
      "deb_dists_bookworm-security_main_binary-amd64_Packages": "Package: openssl\nVersion: 3.0.13-1~deb12u1\n",
      "deb_dists_bookworm_InRelease": "Label: Debian\nSuite: oldstable\n",
      "deb_dists_bookworm_main_binary-amd64_Packages": "Package: bash\nVersion: 9\n"}, ["openssl 3.0.13-1~deb12u1"]),
    ({"ubuntu_dists_jammy-security_InRelease": "Label: Ubuntu\nSuite: jammy-security\n",
      "ubuntu_dists_jammy-security_main_binary-amd64_Packages.gz": "Package: libssl3\nArchitecture: amd64\n"
                                                                    "Version: 3.0.2-0ubuntu1.15\n"},
     ["libssl3 3.0.2-0ubuntu1.15"]),
    ({"sec_dists_stretch_updates_InRelease": "Label: Debian-Security\nSuite: oldoldstable\n",
      "sec_dists_stretch_updates_main_binary-amd64_Packages": "Package: openssl\nVersion: 1.1.0l-1~deb9u6\n",
      "deb_dists_stretch_Release": "Label: Debian\nSuite: oldoldstable\n"}, ["openssl 1.1.0l-1~deb9u6"]),
    ({}, []),
])
def test_the_host_prints_only_the_security_lists(tmp_path: Path, release_files: dict[str, str],
                                                  found: list[str]) -> None:
    """The command's own shell logic, on fake lists (plain and gzip-compressed) read by the real apt-helper."""
    if not Path("/usr/lib/apt/apt-helper").exists():
        pytest.skip("apt-helper is not installed")
    lists = tmp_path / "lists"
    lists.mkdir()
    for name, text in release_files.items():
        data = text.encode()
        (lists / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    command = APT_SECURITY_LISTS.target.replace(APT_LISTS, str(lists))
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    pairs = [line for line in out.stdout.splitlines() if not line.startswith("#")]
    assert pairs == found, out
    assert all("security" in line.lower() or "updates" in line for line in out.stdout.splitlines()
               if line.startswith("#")), out.stdout
    missing = subprocess.run(["sh", "-c", APT_SECURITY_LISTS.target.replace(APT_LISTS, str(tmp_path / "none"))],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 127 and "not found" in missing.stdout


def test_apt_simulation_parser_ubuntu_and_old_debian_label() -> None:
    up = parse_upgrades(CommandOutput(recorded("ubuntu2204", "integrity_apt_simulate.txt"), 0), None, None)
    assert up.security == ("libssl3", "openssl") and len(up.packages) == 5
    stretch = "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n" \
              "Inst openssl [1.1.0l-1~deb9u1] (1.1.0l-1~deb9u6 Debian-Security:9/oldoldstable [amd64])\n"
    assert parse_upgrades(CommandOutput(stretch, 0), None, None).security == ("openssl",)
    nothing = parse_upgrades(CommandOutput("Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove "
                                           "and 0 not upgraded.\n", 0), None, None)
    assert nothing.packages == () and nothing.problem == ""
    broken = parse_upgrades(CommandOutput("E: The package lists or status file could not be parsed or opened.\n", 100),
                            None, None)
    assert broken.problem.startswith("E: The package lists")


def test_dnf_parsers_rhel() -> None:
    up = parse_upgrades(CommandOutput("sh: 1: apt-get: not found\n", 127),
                        CommandOutput(recorded("rhel9", "integrity_dnf_check_update.txt"), 100),
                        CommandOutput(recorded("rhel9", "integrity_dnf_security.txt"), 0))
    assert up.manager == "dnf" and up.security_known
    assert up.packages == ("glibc", "glibc-common", "kernel", "openssl", "tuned")
    assert len(up.security) == 3 and up.security[0].startswith("RHSA-2024:3339 glibc-")
    no_cache = parse_upgrades(None, CommandOutput("Error: Cache-only enabled but no cache for 'baseos'\n", 1), None)
    assert no_cache.problem.startswith("Error: Cache-only")


def test_signature_policy_parsers() -> None:
    deb = parse_signature_policy(parse_files(recorded("debian12", "integrity_files.txt")))
    assert deb.family == "apt" and deb.weaknesses == ()
    ubu = parse_signature_policy(parse_files(recorded("ubuntu2204", "integrity_files.txt")))
    assert len(ubu.weaknesses) == 1 and "hmi-vendor.list" in ubu.weaknesses[0]
    rhel = parse_signature_policy(parse_files(recorded("rhel9", "integrity_files.txt")))
    assert rhel.family == "dnf" and rhel.weaknesses == ()   # the gpgcheck=0 debug repo is disabled


@pytest.mark.parametrize("distro,state", [("debian12", "no-variable"), ("ubuntu2204", "enabled"), ("rhel9", "disabled")])
def test_secure_boot_parser(distro: str, state: str) -> None:
    text = recorded(distro, "integrity_secureboot.txt")
    assert parse_secure_boot(CommandOutput(text, 1 if "No such" in text else 0)).state == state


@pytest.mark.parametrize("distro,selinux,apparmor,enforce", [
    ("debian12", None, True, 7), ("ubuntu2204", None, True, 20), ("rhel9", "1", None, None)])
def test_mac_parser(distro: str, selinux, apparmor, enforce) -> None:
    mac = parse_mac(parse_files(recorded(distro, "integrity_files.txt")))
    assert mac.selinux_runtime == selinux and mac.apparmor_enabled == apparmor
    assert (mac.apparmor_profiles or {}).get("enforce") == enforce
    if distro == "rhel9":
        assert mac.selinux_config == "enforcing"


def test_mac_parser_profiles_unreadable_without_root() -> None:
    mac = parse_mac(parse_files(recorded("debian12", "integrity_files_nosudo.txt")))
    assert mac.apparmor_enabled and mac.apparmor_profiles is None and mac.apparmor_unreadable


def test_cron_parser() -> None:
    cron = parse_cron(parse_files(recorded("debian12", "integrity_files.txt")))
    assert "/etc/cron.daily/dailyaidecheck" in cron.scripts
    assert any("dailyaidecheck" in line for line in cron.mentioning(r"aide"))
    assert parse_cron(parse_files(recorded("rhel9", "integrity_files_nosudo.txt"))).unreadable == ()


@pytest.mark.parametrize("distro", DISTROS)
def test_sysctl_fact(distro: str) -> None:
    values = recorded_host(distro).fact("sys_sysctl")
    assert values["kernel.randomize_va_space"] == "2" and values["net.ipv4.ip_forward"] == "0"


# ------------------------------------------------------------------------------------ FIM

@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "fail"), ("rhel9", "fail")])
def test_fim_installed(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.fim.installed")
    assert verdict.status == status
    if distro == "rhel9":
        assert "never initialised" in verdict.reason


def test_fim_installed_variants() -> None:
    ev = recorded_host("rhel9").set_stat("/var/lib/aide/aide.db.gz", "600")
    assert ev.check("linux.fim.installed").status == "pass"
    assert recorded_host("debian12", sudo=False).check("linux.fim.installed").status == "error"


@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "fail"), ("rhel9", "fail")])
def test_fim_scheduled(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.fim.scheduled").status == status


def test_fim_scheduled_variants() -> None:
    ev = recorded_host("debian12").set_stat("/var/log/aide/aide.log", "640", "root", "adm", mtime=1710000000)
    verdict = ev.check("linux.fim.scheduled")
    assert verdict.status == "fail" and "days old" in verdict.reason
    ev = recorded_host("rhel9").set_file("/etc/cron.d/aide", "0 5 * * * root /usr/sbin/aide --check\n")
    assert "no report" in ev.check("linux.fim.scheduled").reason
    ev.set_stat("/var/log/aide/aide.log", "600", mtime=1718170000)
    assert ev.check("linux.fim.scheduled").status == "pass"
    ev.replace("stat", "1718179200\n", "")  # the host clock unknown: the report's age is unknown
    verdict = ev.check("linux.fim.scheduled")
    assert verdict.status == "manual" and "age of the last report is unknown" in verdict.reason


def test_partial_views_of_fim_and_package_signatures_are_manual() -> None:
    from checks.linux.facts.systemd import UNITS

    unread = recorded_host("debian12").set_file("/etc/apt/sources.list.d/vendor.list", None, "Permission denied")
    verdict = unread.check("linux.packages.signature-policy")
    assert verdict.status == "manual" and "vendor.list" in verdict.reason
    no_units = recorded_host("debian12")
    no_units.out(UNITS, "sh: 1: systemctl: not found\n", 127)
    verdict = no_units.check("linux.log.remote-forwarding")
    assert verdict.status == "manual" and "unit list" in verdict.reason


# ------------------------------------------------------------------------------------ malware

@pytest.mark.parametrize("distro,status", [("debian12", "fail"), ("ubuntu2204", "pass"), ("rhel9", "pass")])
def test_malware_protection(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.malware.protection").status == status


def test_malware_protection_stale_signatures_and_idle_clamav() -> None:
    ev = recorded_host("ubuntu2204").set_stat("/var/lib/clamav/daily.cld", "644", "clamav", "clamav", mtime=1716000000)
    verdict = ev.check("linux.malware.protection")
    assert verdict.status == "fail" and "days old" in verdict.reason
    ev = recorded_host("ubuntu2204").replace("units", "clamav-daemon.service                          loaded    active   running",
                                             "clamav-daemon.service                          loaded    inactive dead   ")
    assert "neither its daemon" in ev.check("linux.malware.protection").reason
    ev = recorded_host("debian12").replace("units", "cron.service ", "falcon-sensor.service ")
    assert ev.check("linux.malware.protection").status == "pass"


# ------------------------------------------------------------------------------------ updates

@pytest.mark.parametrize("distro", DISTROS)
def test_pending_security_fail_on_recorded_hosts(distro: str) -> None:
    verdict = recorded_host(distro).check("linux.updates.pending-security")
    assert verdict.status == "fail" and verdict.observed["cache_age_days"] is not None


def test_pending_security_pass_stale_and_unclassified() -> None:
    ev = recorded_host("rhel9")
    ev.out(DNF_SECURITY, "", 0)
    verdict = ev.check("linux.updates.pending-security")
    assert verdict.status == "pass" and verdict.observed["pending"] == 5
    assert recorded_host("rhel9").check("linux.updates.pending-security", max_pending_security=5).status == "pass"
    stale = recorded_host("debian12").check("linux.updates.pending-security", max_pending_security=10,
                                            max_cache_age_days=0.01)
    assert stale.status == "manual" and "days old" in stale.reason
    ev = recorded_host("rhel9")
    ev.out(DNF_SECURITY, "Error: updateinfo metadata not available\n", 1)
    assert ev.check("linux.updates.pending-security").status == "manual"


def test_pending_security_from_the_security_lists() -> None:
    ev = recorded_host("debian12")
    ev.out(DPKG, recorded("debian12", "packages_dpkg_same_state.txt"), 0)
    ev.out(APT_SECURITY_LISTS, recorded("debian12", "integrity_apt_security_lists_same_state.txt"), 0)
    verdict = ev.check("linux.updates.pending-security")
    assert verdict.status == "fail" and verdict.observed["security"] == 89 and verdict.observed["pending"] is None
    assert verdict.observed["security_lists"][0].endswith("Packages.lz4")
    assert ev.check("linux.updates.pending-security", max_pending_security=89).status == "pass"
    ev.out(APT_SECURITY_LISTS, "", 0)
    unknown = ev.check("linux.updates.pending-security")
    assert unknown.status == "manual" and "no security archive" in unknown.reason


def test_pending_security_never_refreshed_is_manual() -> None:
    ev = recorded_host("debian12")
    ev.out(APT_SECURITY_LISTS, "Reading package lists...\n0 upgraded, 0 newly installed, 0 to remove and 0 not "
                         "upgraded.\n", 0)
    ev.replace("stat", "1718000000|755|root|root|directory|/var/lib/apt/lists",
               "stat: cannot statx '/var/lib/apt/lists': No such file or directory")
    ev.replace("stat", "1718000120|644|root|root|regular file|/var/cache/apt/pkgcache.bin",
               "stat: cannot statx '/var/cache/apt/pkgcache.bin': No such file or directory")
    assert ev.check("linux.updates.pending-security").status == "manual"


@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("ubuntu2204", "fail"), ("rhel9", "pass")])
def test_signature_policy(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.packages.signature-policy").status == status


def test_signature_policy_variants() -> None:
    ev = recorded_host("rhel9").replace("files", "enabled=1\ngpgcheck=1\ncountme=1", "enabled=1\ngpgcheck=0\ncountme=1")
    verdict = ev.check("linux.packages.signature-policy")
    assert verdict.status == "fail" and "[epel]" in verdict.reason
    ev = recorded_host("debian12").set_file("/etc/apt/apt.conf.d/99insecure", 'APT::Get::AllowUnauthenticated "true";\n')
    assert ev.check("linux.packages.signature-policy").status == "fail"
    ev = recorded_host("debian12").set_file("/etc/apt/apt.conf.d/99insecure", '// APT::Get::AllowUnauthenticated "true";\n')
    assert ev.check("linux.packages.signature-policy").status == "pass"


# ------------------------------------------------------------------------------------ boot, MAC, kernel

@pytest.mark.parametrize("distro,status,words", [("debian12", "fail", "legacy BIOS"), ("ubuntu2204", "pass", "enabled"),
                                                 ("rhel9", "fail", "disabled")])
def test_secure_boot(distro: str, status: str, words: str) -> None:
    verdict = recorded_host(distro).check("linux.boot.secure-boot")
    assert verdict.status == status and words in verdict.reason


@pytest.mark.parametrize("distro", DISTROS)
def test_mac_enforcing_pass(distro: str) -> None:
    assert recorded_host(distro).check("linux.mac.enforcing").status == "pass"


def test_mac_enforcing_failures() -> None:
    ev = recorded_host("rhel9").set_file("/sys/fs/selinux/enforce", "0")
    assert "permissive" in ev.check("linux.mac.enforcing").reason
    ev = recorded_host("rhel9").replace("files", "\nSELINUX=enforcing", "\nSELINUX=permissive")
    assert "next boot" in ev.check("linux.mac.enforcing").reason
    ev = recorded_host("rhel9").set_file("/etc/selinux/config", None)
    verdict = ev.check("linux.mac.enforcing")  # enforcing now, the next boot unknown: no pass
    assert verdict.status == "manual" and "/etc/selinux/config" in verdict.reason
    ev = recorded_host("debian12").set_file("/sys/kernel/security/apparmor/profiles", "/usr/sbin/chronyd (complain)\n")
    assert ev.check("linux.mac.enforcing").status == "fail"
    assert recorded_host("debian12", sudo=False).check("linux.mac.enforcing").status == "error"


@pytest.mark.parametrize("distro,status", [("debian12", "fail"), ("ubuntu2204", "pass"), ("rhel9", "fail")])
def test_kernel_hardening(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.kernel.hardening").status == status


def test_kernel_hardening_params_and_missing_keys() -> None:
    ev = recorded_host("ubuntu2204")
    verdict = ev.check("linux.kernel.hardening", minimums={"kernel.yama.ptrace_scope": 2})
    assert verdict.status == "fail" and "ptrace_scope = 1" in verdict.reason
    ev = recorded_host("ubuntu2204").set_file("/proc/sys/kernel/dmesg_restrict", None)
    assert "not available" in ev.check("linux.kernel.hardening").reason
