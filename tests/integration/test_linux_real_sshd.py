"""The Linux sshd/accounts checks against REAL OpenSSH daemons, scanned with the real SSH connector.

RealSshd("weak") and RealSshd("hardened") run side by side on loopback (tests/support/real_sshd.py), so
the sshd checks must also pick the right daemon out of several ``ps`` listeners by the audited port.

How the evidence is obtained (and what that means for the verdicts):

* weak: the config file is 0644, so without sudo the checks read it directly and apply OpenSSH
  defaults ("config files + OpenSSH defaults"); every required check fails.
* hardened WITHOUT sudo (the harness's audit user has no sudo rights, and the config is 0600):
  ``sshd -T`` fails ("Permission denied") and the file cannot be read. The checks that can judge what
  the server shows on the wire still decide: weak-crypto (KEXINIT), password-authentication (methods
  offered before authentication) and banner (pre-authentication banner) pass. PermitRootLogin,
  MaxAuthTries, LoginGraceTime and ClientAlive* are not observable from outside without active login
  attempts, so those four are ``error`` with a reason that says to allow ``sudo -n``. We do not turn
  that into a pass.
* hardened WITH sudo (a temporary sudoers drop-in for the audit user, removed afterwards): ``sshd -T``
  of the right instance is the evidence and all seven required checks pass.

The same checks are also run end to end against the SSH simulator's ``weak`` and ``hardened`` fixtures
(no root needed), with the audit account allowed to sudo and, on a copy of the fixture, not allowed.

The real-sshd tests need root and openssh-server: skipped locally without them, failed under CI=true
(require_real_sshd).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

import paramiko
import pytest
import yaml

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from auditor.verdicts import Verdict
from connectors.base import ScanOptions
from connectors.ssh.connector import SshConnector
from simulators.ssh.server import FIXTURES, SshSimulator
from tests.support.checks import check_verdicts, parse_fact
from tests.support.keys import write_client_key
from tests.support.real_sshd import RealSshd, require_real_sshd, weak_and_hardened

REQUIRED = ["linux.sshd.permit-root-login", "linux.sshd.password-authentication", "linux.sshd.weak-crypto",
            "linux.sshd.max-auth-tries", "linux.sshd.banner", "linux.sshd.login-grace-time", "linux.sshd.idle-timeout"]
OBSERVABLE_FROM_OUTSIDE = ["linux.sshd.weak-crypto", "linux.sshd.banner"]
PACKS = ("checks.linux.sshd", "checks.linux.sshd_crypto", "checks.linux.sshd_session", "checks.linux.accounts",
         "checks.linux.pam", "checks.linux.sudo")
SUDOERS_DROPIN = Path("/etc/sudoers.d/zz-iacs-linux-real-sshd-test")


@pytest.fixture(scope="module")
def daemons() -> Iterator[dict[str, RealSshd]]:
    with weak_and_hardened("iacs-linux") as pair:
        yield pair


def specs() -> list[Any]:
    return sorted((c for c in REGISTRY.load().checks.values() if c.pack in PACKS), key=lambda c: c.id)


async def scan(server: RealSshd) -> list[EvidenceItem]:
    return await collect(server.host, server.port, server.username, server.client_key, server.known_hosts,
                         f"real-{server.profile}")


async def collect(host: str, port: int, username: str, key: Path, known_hosts: Path, asset_id: str
                  ) -> list[EvidenceItem]:
    requests = [r for reqs in REGISTRY.load().requests_for(specs()).values() for r in reqs]
    endpoint = {"protocol": "ssh", "port": port, "username": username, "timeout": 5.0,
                "key_file": str(key), "known_hosts": str(known_hosts)}
    asset = Asset.model_validate({"id": asset_id, "type": "host", "address": host, "endpoints": [endpoint]})
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=30)).collect(requests)
    assert {i.request.key for i in items} >= {r.key for r in requests}
    return items


def evaluate(items: list[EvidenceItem]) -> dict[str, Verdict]:
    return check_verdicts(items, specs())


def report(label: str, verdicts: dict[str, Verdict]) -> None:
    print(f"\n[{label}]")
    for check_id, verdict in verdicts.items():
        print(f"  {check_id}: {verdict.status} {verdict.reason[:140]}")


@contextlib.contextmanager
def audit_user_may_sudo(user: str) -> Iterator[None]:
    """A temporary, validated sudoers drop-in giving the audit user password-less sudo; always removed."""
    if shutil.which("sudo") is None or shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin") is None:
        pytest.skip("sudo/visudo not installed")
    main = Path("/etc/sudoers").read_text(errors="replace")
    if "includedir /etc/sudoers.d" not in main:
        pytest.skip("/etc/sudoers does not include /etc/sudoers.d")
    SUDOERS_DROPIN.write_text(f"# iacs-auditor integration test, removed by the test\n{user} ALL=(root) NOPASSWD: ALL\n")
    try:
        os.chmod(SUDOERS_DROPIN, 0o440)
        visudo = shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin")
        check = subprocess.run([visudo, "-cf", str(SUDOERS_DROPIN)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        yield
    finally:
        SUDOERS_DROPIN.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------- tests


async def test_weak_fails_every_required_check_without_sudo(daemons: dict[str, RealSshd]) -> None:
    server = daemons["weak"]
    items = await scan(server)
    info = parse_fact(items, "sshd_session")
    assert info["sudo"] is False and info["port"] == server.port
    config = parse_fact(items, "sshd_config")
    assert config.source == "config files + OpenSSH defaults"
    assert config.instance["pid"] == server.pid and config.instance["ports"] == [server.port]
    verdicts = evaluate(items)
    report("weak, no sudo", verdicts)
    for check_id in REQUIRED:
        assert verdicts[check_id].status == "fail", (check_id, verdicts[check_id])
    assert verdicts["linux.sshd.weak-crypto"].observed["weak_offered"]  # seen on the wire too


async def test_hardened_without_sudo_decides_only_what_is_observable(daemons: dict[str, RealSshd]) -> None:
    server = daemons["hardened"]
    items = await scan(server)
    verdicts = evaluate(items)
    report("hardened, no sudo, config 0600", verdicts)
    for check_id in OBSERVABLE_FROM_OUTSIDE:
        assert verdicts[check_id].status == "pass", (check_id, verdicts[check_id])
    assert "wire only" in verdicts["linux.sshd.weak-crypto"].reason
    # no password offered to the audit account, but Match blocks for other users are unknown: manual
    password = verdicts["linux.sshd.password-authentication"]
    assert password.status == "manual" and "Permission denied" in password.reason
    for check_id in set(REQUIRED) - set(OBSERVABLE_FROM_OUTSIDE) - {"linux.sshd.password-authentication"}:
        verdict = verdicts[check_id]
        assert verdict.status == "error", (check_id, verdict)
        assert "Permission denied" in verdict.reason and "sudo -n" in verdict.reason
        assert str(server.config_path) in verdict.reason  # the right instance was identified


async def test_an_unreadable_drop_in_is_never_skipped() -> None:
    """A 0600 drop-in included by a glob (as cloud-init's) permits root login; the readable main file says no.
    Without sudo the drop-in cannot be read: the root-login check errs and names it (it used to pass)."""
    require_real_sshd()
    workdir = Path(tempfile.mkdtemp(prefix="iacs-linux-dropin-"))
    os.chmod(workdir, 0o755)  # world-traversable: only the files' own modes decide what the audit user reads
    try:
        verdicts, with_sudo = await _scan_with_unreadable_dropin(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    root = verdicts["linux.sshd.permit-root-login"]
    assert root.status == "error" and "50-cloud-init.conf" in root.reason and "Permission denied" in root.reason
    assert verdicts["linux.sshd.password-authentication"].status != "pass"
    # read with sudo -n, the drop-in is judged: root login is permitted
    assert with_sudo["linux.sshd.permit-root-login"].status == "fail"


async def _scan_with_unreadable_dropin(workdir: Path) -> tuple[dict[str, Verdict], dict[str, Verdict]]:
    with RealSshd("hardened", workdir, unreadable_dropin=["PermitRootLogin yes"]) as server:
        verdicts = evaluate(await scan(server))
        with audit_user_may_sudo(server.username):
            with_sudo = evaluate(await scan(server))
    return verdicts, with_sudo


async def test_with_sudo_sshd_T_decides_and_verdicts_are_opposite(daemons: dict[str, RealSshd]) -> None:
    results: dict[str, dict[str, Verdict]] = {}
    with audit_user_may_sudo(daemons["weak"].username):
        collected = {profile: await scan(server) for profile, server in daemons.items()}
    for profile, items in collected.items():
        server = daemons[profile]
        assert parse_fact(items, "sshd_session")["sudo"] is True
        config = parse_fact(items, "sshd_config")
        assert config.source == "sshd -T", config.notes
        assert config.instance["pid"] == server.pid and config.instance["ports"] == [server.port]
        results[profile] = evaluate(items)
        report(f"{profile}, with sudo", results[profile])
    for check_id in REQUIRED:
        assert results["weak"][check_id].status == "fail", (check_id, results["weak"][check_id])
        assert results["hardened"][check_id].status == "pass", (check_id, results["hardened"][check_id])
    assert not SUDOERS_DROPIN.exists()


# ------------------------------------------------------------------------------------ simulator


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[paramiko.PKey, Path]:
    return write_client_key(tmp_path_factory.mktemp("linux-sim"))


async def simulate(fixture: str | Path, client_key: tuple[paramiko.PKey, Path], tmp_path: Path
                   ) -> tuple[list[EvidenceItem], int]:
    with SshSimulator(fixture, authorized_key=client_key[0]) as sim:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(sim.known_hosts_line)
        items = await collect(sim.host, sim.port, "auditor", client_key[1], known_hosts, "sim")
        assert {r["kind"] for r in sim.requests} <= {"connect", "auth", "exec"}  # nothing but reads
        return items, sim.port


@pytest.mark.parametrize("fixture,expected", [("weak", "fail"), ("hardened", "pass")])
async def test_simulator_fixtures_give_opposite_verdicts(fixture: str, expected: str, client_key, tmp_path: Path
                                                         ) -> None:
    items, port = await simulate(fixture, client_key, tmp_path)
    config = parse_fact(items, "sshd_config")
    assert config.source == "sshd -T" and config.instance["ports"] == [port]
    assert config.instance["pid"] == {"weak": 1093, "hardened": 702}[fixture]  # not the weak host's 2nd daemon
    verdicts = evaluate(items)
    report(f"simulator {fixture}", verdicts)
    for check_id, verdict in verdicts.items():
        assert verdict.status == expected, (check_id, verdict)


async def test_simulator_without_sudo(client_key, tmp_path: Path) -> None:
    """Same hardened host, audit account without sudo: files decide sshd; shadow and sudoers are errors."""
    folder = tmp_path / "hardened-nosudo"
    shutil.copytree(FIXTURES / "hardened", folder)
    host = yaml.safe_load((folder / "host.yaml").read_text())
    host["host"]["sudo"] = False
    (folder / "host.yaml").write_text(yaml.safe_dump(host))
    items, _port = await simulate(folder, client_key, tmp_path)
    assert parse_fact(items, "sshd_config").source == "config files + OpenSSH defaults"
    verdicts = evaluate(items)
    report("simulator hardened, no sudo", verdicts)
    for check_id in REQUIRED:
        assert verdicts[check_id].status == "pass", (check_id, verdicts[check_id])
    for check_id in ("linux.accounts.empty-passwords", "linux.sudo.policy"):
        assert verdicts[check_id].status == "error" and "sudo -n" in verdicts[check_id].reason
