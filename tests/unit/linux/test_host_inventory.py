"""The shared system reads (checks/linux/facts/files.py, systemd.py, packages.py, system.py: units,
packages, stat, OS identity) and the inventory checks (checks/linux/inventory.py: os-release, packages;
checks/linux/updates.py: reboot-pending), plus pack-wide properties of the system checks (command count,
FR coverage, metadata, simulator fixtures, garbage input).

Named test_host_inventory.py because tests/unit/test_inventory.py (the core inventory) exists and
pytest's default import mode needs unique basenames.
"""

from __future__ import annotations

import random
import re

import pytest
from system_evidence import (DISTROS, SESSION, SYSTEM_REQUESTS, SystemEvidence, fixture_host, recorded,
                             recorded_host)

from auditor.assessment.catalog import load_catalog
from auditor.facts import CommandOutput, FactParseError, FactUnavailable
from auditor.registry import REGISTRY
from auditor.verdicts import Verdict
from checks.linux.facts.commands import tool_absent
from checks.linux.facts.files import parse_stats
from checks.linux.facts.packages import DPKG, Packages, parse_packages
from checks.linux.facts.parsing import parse_files
from checks.linux.facts.system import parse_os
from checks.linux.facts.systemd import parse_units
from checks.linux.inventory import eol_date
from checks.linux.updates import version_key

#: check modules whose evidence is sshd, accounts, PAM or sudo; every other Linux check is a *system* check
NOT_SYSTEM_MODULES = ("sshd", "sshd_crypto", "sshd_session", "accounts", "pam", "sudo")


def system_checks() -> list:
    return sorted((c for c in REGISTRY.load().checks.values()
                   if c.pack.startswith("checks.linux.") and c.pack.split(".")[-1] not in NOT_SYSTEM_MODULES),
                  key=lambda c: c.id)


def system_facts() -> list[str]:
    return sorted({name for spec in system_checks() for name in spec.facts})


# ------------------------------------------------------------------------------------ pack-wide

def test_at_least_24_checks_with_canonical_ids_and_metadata() -> None:
    specs = system_checks()
    assert len(specs) >= 24
    catalog = load_catalog()
    for spec in specs:
        assert re.fullmatch(r"linux\.[a-z0-9]+\.[a-z0-9-]+", spec.id), spec.id
        assert spec.title and spec.rationale and len(spec.rationale) > 40, spec.id
        assert "Debian" in spec.remediation and "RHEL" in spec.remediation, spec.id
        assert any(r.startswith("SR ") for r in spec.requirements), spec.id          # 3-3 evidence
        if spec.id != "linux.usb.storage-blocked":                                   # 4-2 has no CR 2.3
            assert any(not r.startswith("SR ") for r in spec.requirements), spec.id  # 4-2 evidence
        for req in spec.requirements:
            assert catalog.get(req).id == req                                         # canonical spelling


def test_system_checks_cover_all_seven_foundational_requirements() -> None:
    catalog = load_catalog()
    frs = {catalog.get(r).fr for spec in system_checks() for r in spec.requirements}
    assert frs == {1, 2, 3, 4, 5, 6, 7}


def test_command_budget_one_read_per_kind() -> None:
    requests = {r.key: r for spec in system_checks() for f in spec.facts for r in REGISTRY.facts[f].requests}
    execs = [r for r in requests.values() if r.op == "exec"]
    assert len(execs) == len(SYSTEM_REQUESTS) == 18
    assert sum(1 for r in execs if r.option("sudo")) == 6
    # every command is read-only: no package refresh, no AIDE run, no writes
    for r in execs:
        assert not re.search(r"\b(apt(-get)? (update|upgrade|install)|makecache|aide --(check|init|update)|"
                             r"rm |mv |tee |>\s*/|sysctl -w|setenforce|systemctl (start|stop|restart|enable))",
                             r.target.replace("2>&1", "")), r.target


@pytest.mark.parametrize("fixture", ["hardened", "weak"])
def test_simulator_fixture_answers_every_system_command(fixture: str) -> None:
    ev = fixture_host(fixture)      # raises MissingAnswer if the fixture has no entry for a request name
    assert set(ev.items) >= {r.key for r in SYSTEM_REQUESTS.values()}


def test_hardened_fixture_passes_every_system_check() -> None:
    ev = fixture_host("hardened", port=2222)
    for spec in system_checks():
        verdict = ev.check(spec.id)
        assert verdict.status == "pass", (spec.id, verdict)


def test_weak_fixture_fails_every_system_check_backup_is_manual() -> None:
    ev = fixture_host("weak", port=2222)
    for spec in system_checks():
        verdict = ev.check(spec.id)
        expected = "manual" if spec.id == "linux.backup.configured" else "fail"
        assert verdict.status == expected, (spec.id, verdict)
    assert "restore test" in ev.check("linux.backup.configured").reason


ROOT_ONLY = {"linux.audit.rules", "linux.audit.immutable", "linux.audit.capacity", "linux.fim.installed",
             "linux.mac.enforcing"}


def test_hardened_fixture_without_sudo_never_passes_root_only_evidence() -> None:
    """Root-only reads refused: those checks say 'allow sudo -n'; the rest decide from what a user can read."""
    ev = fixture_host("hardened", sudo=False)
    for spec in system_checks():
        verdict = ev.check(spec.id)
        if spec.id in ROOT_ONLY:
            assert verdict.status == "error" and "sudo -n" in verdict.reason, (spec.id, verdict)
        elif spec.id in ("linux.audit.auditd-running", "linux.firewall.default-deny"):
            # the unit or the configuration alone proves nothing about the kernel's live state
            assert verdict.status == "manual" and "sudo -n" in verdict.reason, verdict
        else:
            assert verdict.status == "pass", (spec.id, verdict)


@pytest.mark.parametrize("distro", DISTROS)
def test_recorded_hosts_give_a_verdict_for_every_check(distro: str) -> None:
    ev = recorded_host(distro)
    for spec in system_checks():
        verdict = ev.check(spec.id)
        assert isinstance(verdict, Verdict) and verdict.status != "error", (distro, spec.id, verdict)


GARBAGE = ["", "\n", "\x00\x01\x02\xff", "==> /etc/os-release <==\n", "{", "null", "[]", '{"blockdevices": 5}',
           "-P INPUT", "table inet x {\nchain y {\n", "}\n}\n}", "find-exit=abc", "Inst [", "enabled\npid x",
           "Leap status : ", "a" * 5000, "\u2028\u2029 ünïcödé ☃", "1|2|3|4|5|/x\nstat: cannot statx",
           "==> /proc/sys/net/ipv4/ip_forward <==\nnot-a-number\n", "head: cannot open 'x' for reading: boom"]


@pytest.mark.parametrize("seed", range(6))
def test_garbage_never_crashes_facts_or_checks(seed: int) -> None:
    rng = random.Random(seed)
    ev = SystemEvidence()
    for req in SYSTEM_REQUESTS.values():
        text = rng.choice(GARBAGE) + "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(0, 200)))
        ev.out(req, text, rng.choice([0, 1, 2, 4, 100, 124, 127, None]))
    ev.json(SESSION, rng.choice([None, [], {"port": "x"}, {"port": 70000}, {"port": 22}]))
    for name in system_facts():
        try:
            ev.fact(name)
        except (FactUnavailable, FactParseError):
            pass
    for spec in system_checks():
        assert isinstance(ev.check(spec.id), Verdict), spec.id


def test_missing_evidence_items_become_errors_not_crashes() -> None:
    ev = SystemEvidence()
    for spec in system_checks():
        verdict = ev.check(spec.id)
        assert verdict.status == "error", (spec.id, verdict)
    failed = SystemEvidence()
    for req in SYSTEM_REQUESTS.values():
        failed.failed(req, "timed out after 30 s")
    for spec in system_checks():
        assert failed.check(spec.id).status in ("error", "manual", "fail"), spec.id


# ------------------------------------------------------------------------------------ parsers

def test_tool_absent_recognises_shell_and_sudo_messages() -> None:
    assert tool_absent(CommandOutput("sh: 1: nft: not found\n", 127))
    assert tool_absent(CommandOutput("sudo: auditctl: command not found\n", 1))
    assert not tool_absent(CommandOutput("No rules\n", 0))
    assert not tool_absent(CommandOutput("od: /sys/x: No such file or directory\n", 1))


@pytest.mark.parametrize("distro,expected", [
    ("debian12", {"auditd.service": "active", "chrony.service": "active", "systemd-timesyncd.service": "inactive",
                  "dailyaidecheck.timer": "active"}),
    ("ubuntu2204", {"systemd-timesyncd.service": "active", "auditd.service": "inactive", "ufw.service": "active"}),
    ("rhel9", {"firewalld.service": "active", "restic-backup.service": "failed", "cockpit.socket": "active"}),
])
def test_units_parser(distro: str, expected: dict[str, str]) -> None:
    units = parse_units(CommandOutput(recorded(distro, "inventory_units.txt"), 0))
    assert units.available and len(units.units) > 15
    for name, state in expected.items():
        assert units.units[name].active == state, name
    assert units.get("auditd").name == "auditd.service"
    assert units.is_active("auditd") == (distro != "ubuntu2204")


def test_units_without_systemd() -> None:
    out = CommandOutput("System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                        "Failed to connect to bus: Host is down\n", 1)
    units = parse_units(out)
    assert not units.available and "systemd" in units.problem
    assert not parse_units(CommandOutput("sh: 1: systemctl: not found\n", 127)).available


def test_packages_parser_debian_ubuntu_rhel() -> None:
    deb = parse_packages(CommandOutput(recorded("debian12", "inventory_dpkg.txt"), 0),
                         CommandOutput("sh: 1: rpm: not found\n", 127))
    assert deb.manager == "dpkg" and deb.has("auditd") and not deb.has("linux-image-6.1.0-17-amd64")  # rc
    assert sorted(deb.kernels) == ["6.1.0-18-amd64", "6.1.0-21-amd64"] and deb.broken == ()
    ubu = parse_packages(CommandOutput(recorded("ubuntu2204", "inventory_dpkg.txt"), 0), None)
    assert ubu.kernels == ("5.15.0-105-generic",) and ubu.has("clamav-daemon")
    rhel = parse_packages(CommandOutput("sh: 1: dpkg-query: not found\n", 127),
                          CommandOutput(recorded("rhel9", "inventory_rpm.txt"), 0))
    assert rhel.manager == "rpm" and not rhel.has("gpg-pubkey") and rhel.has("fapolicyd")
    assert "5.14.0-427.13.1.el9_4.x86_64" in rhel.kernels
    none = parse_packages(CommandOutput("sh: 1: dpkg-query: not found\n", 127),
                          CommandOutput("sh: 1: rpm: not found\n", 127))
    assert none.manager is None and none.problem


def test_packages_broken_states() -> None:
    out = CommandOutput("ii  bash 5.2 amd64\niF  hmi 1.0 amd64\niHR half 2 all\nrc  old 1 amd64\nun  x <none> <none>\n", 0)
    packages = parse_packages(out, None)
    assert packages.broken == ("half", "hmi") and packages.count == 3 and not packages.has("old")


@pytest.mark.parametrize("distro", DISTROS)
def test_stat_parser(distro: str) -> None:
    stats = parse_stats(CommandOutput(recorded(distro, "inventory_stat.txt"), 1))
    assert stats.now and stats.now > 1.7e9
    passwd = stats.get("/etc/passwd")
    assert passwd.mode == 0o644 and passwd.owner == "root" and passwd.kind == "regular file"
    assert stats.exists("/run/reboot-required") is False
    assert stats.exists("/etc/shadow") is True


def test_stat_parser_permission_denied_is_unknown_not_missing() -> None:
    stats = parse_stats(CommandOutput(recorded("rhel9", "inventory_stat_nosudo.txt"), 1))
    assert stats.exists("/var/log/audit/audit.log") is None
    assert "Permission denied" in stats.errors["/var/log/audit/audit.log"]


@pytest.mark.parametrize("distro,os_id,version,kernel", [
    ("debian12", "debian", "12", "6.1.0-18-amd64"), ("ubuntu2204", "ubuntu", "22.04", "5.15.0-105-generic"),
    ("rhel9", "rhel", "9.4", "5.14.0-427.13.1.el9_4.x86_64")])
def test_os_release_parser(distro: str, os_id: str, version: str, kernel: str) -> None:
    info = parse_os(parse_files(recorded(distro, "inventory_files.txt")))
    assert (info.id, info.version_id, info.kernel) == (os_id, version, kernel)
    assert info.family == ("rhel" if distro == "rhel9" else "debian")


def test_eol_table_and_overrides() -> None:
    rhel = parse_os(parse_files(recorded("rhel9", "inventory_files.txt")))
    assert eol_date(rhel, {}) == ("2032-05-31", "rhel 9")
    assert eol_date(rhel, {"rhel 9": "2035-01-01"})[0] == "2035-01-01"


def test_version_key_orders_kernels() -> None:
    assert version_key("6.1.0-21-amd64") > version_key("6.1.0-18-amd64")
    assert version_key("5.14.0-427.13.1.el9_4.x86_64") > version_key("5.14.0-362.24.1.el9_3.x86_64")


# ------------------------------------------------------------------------------------ checks

@pytest.mark.parametrize("distro", DISTROS)
def test_os_release_pass_on_supported_releases(distro: str) -> None:
    verdict = recorded_host(distro).check("linux.inventory.os-release")
    assert verdict.status == "pass" and verdict.observed["end_of_support"]


def test_os_release_fail_when_past_end_of_support() -> None:
    ev = recorded_host("ubuntu2204").replace("files", 'VERSION_ID="22.04"', 'VERSION_ID="18.04"')
    verdict = ev.check("linux.inventory.os-release")
    assert verdict.status == "fail" and "2023-05-31" in verdict.reason


def test_os_release_unknown_distribution_is_manual_and_override_decides() -> None:
    ev = recorded_host("debian12").replace("files", "ID=debian", "ID=plantos")
    assert ev.check("linux.inventory.os-release").status == "manual"
    verdict = ev.check("linux.inventory.os-release", eol_overrides={"plantos 12": "unsupported"})
    assert verdict.status == "fail"


@pytest.mark.parametrize("distro", DISTROS)
def test_packages_pass(distro: str) -> None:
    verdict = recorded_host(distro).check("linux.inventory.packages")
    assert verdict.status == "pass" and verdict.observed["installed"] > 20


def test_packages_fail_on_half_installed_and_manual_without_database() -> None:
    ev = recorded_host("debian12").replace("dpkg", "ii  cron 3.0pl1-162", "iF  cron 3.0pl1-162")
    assert ev.check("linux.inventory.packages").status == "fail"
    ev = recorded_host("debian12")
    ev.missing(DPKG, "sh: 1: dpkg-query: not found\n")
    assert ev.check("linux.inventory.packages").status == "manual"


@pytest.mark.parametrize("distro,status", [("debian12", "fail"), ("ubuntu2204", "pass"), ("rhel9", "pass")])
def test_reboot_pending(distro: str, status: str) -> None:
    verdict = recorded_host(distro).check("linux.updates.reboot-pending")
    assert verdict.status == status, verdict
    if status == "fail":
        assert "6.1.0-21-amd64" in verdict.reason


def test_reboot_pending_with_the_flag_unknown_is_manual() -> None:
    ev = recorded_host("ubuntu2204").replace(
        "stat", "stat: cannot statx '/run/reboot-required': No such file or directory\n", "")
    verdict = ev.check("linux.updates.reboot-pending")
    assert verdict.status == "manual" and "/run/reboot-required" in verdict.reason


def test_reboot_pending_flag_file_fails() -> None:
    ev = recorded_host("ubuntu2204").replace(
        "stat", "stat: cannot statx '/run/reboot-required': No such file or directory",
        "1718090000|644|root|root|regular file|/run/reboot-required")
    verdict = ev.check("linux.updates.reboot-pending")
    assert verdict.status == "fail" and "/run/reboot-required" in verdict.reason


def test_packages_fact_value_type() -> None:
    assert isinstance(recorded_host("rhel9").fact("sys_packages"), Packages)


def test_os_release_without_version_id_is_manual_unless_overridden() -> None:
    ev = recorded_host("debian12").replace("files", 'VERSION_ID="12"\n', "")
    assert ev.check("linux.inventory.os-release").status == "manual"
    assert ev.check("linux.inventory.os-release", eol_overrides={"debian": "2099-01-01"}).status == "pass"


@pytest.mark.parametrize("seed", range(40))
def test_mutated_real_outputs_never_crash(seed: int) -> None:
    """Recorded outputs with lines deleted, truncated, corrupted or cut off (as a killed command leaves them)."""
    rng = random.Random(seed)
    base = recorded_host(DISTROS[seed % 3]) if seed % 4 else fixture_host(("weak", "hardened")[seed % 8 // 4])
    ev = SystemEvidence()
    for key, item in base.items.items():
        lines = item.response.splitlines(True)
        for _ in range(rng.randrange(1, 6)):
            if not lines:
                break
            i = rng.randrange(len(lines))
            op = rng.randrange(4)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
            elif op == 2:
                lines.insert(i, "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(30))) + "\n")
            else:
                lines = lines[:i]
        copy = item.model_copy()
        copy.response = "".join(lines)
        ev.items[key] = copy
    for name in system_facts():
        try:
            ev.fact(name)
        except (FactUnavailable, FactParseError):
            pass
    for spec in system_checks():
        assert isinstance(ev.check(spec.id), Verdict), spec.id


@pytest.mark.parametrize("fixture,expected", [("hardened", {"pass": 33}), ("weak", {"fail": 32, "manual": 1})])
async def test_through_the_real_connector_and_ssh_simulator(fixture: str, expected: dict[str, int], tmp_path) -> None:
    """The request strings reach the simulator byte-exactly through the real SSH connector (loopback only)."""
    import os
    from collections import Counter

    import paramiko

    from auditor.plant.inventory import Asset
    from connectors.base import ScanOptions
    from connectors.ssh.connector import SshConnector
    from simulators.ssh.server import SshSimulator
    from tests.support.checks import check_verdicts

    key = paramiko.ECDSAKey.generate(bits=256)
    key_file = tmp_path / "auditor_key"
    key.write_private_key_file(str(key_file))
    os.chmod(key_file, 0o600)
    specs = system_checks()
    requests = [r for reqs in REGISTRY.requests_for(specs).values() for r in reqs]
    with SshSimulator(fixture, authorized_key=key) as sim:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(sim.known_hosts_line)
        endpoint = {"protocol": "ssh", "port": sim.port, "username": "auditor", "timeout": 5.0,
                    "key_file": str(key_file), "known_hosts": str(known_hosts)}
        asset = Asset.model_validate({"id": "h", "type": "host", "address": sim.host, "endpoints": [endpoint]})
        items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=30)).collect(requests)
        assert {r["kind"] for r in sim.requests} <= {"connect", "auth", "exec"}     # nothing but reads
    assert all(i.status == "ok" for i in items), [i.error for i in items if i.status != "ok"]
    verdicts = Counter(verdict.status for verdict in check_verdicts(items, specs).values())
    assert dict(verdicts) == expected
