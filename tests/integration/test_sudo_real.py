"""sudo for root-only reads, against a REAL sshd and the REAL sudo: the exact rule ``iacs-audit sudoers``
prints, with and without a password, and what that rule does not allow.

The audit account of the harness (``iacsaudit``) gets, for one test at a time, a sudoers drop-in made by
:func:`connectors.ssh.sudoers.sudoers_rule` (validated with ``visudo -c``) and, for the password tests, a
password; both are removed afterwards. Needs root, sudo and openssh-server (failed, not skipped, under
``CI=true``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from auditor.assessment.profiles import load_profile
from auditor.cli import cli
from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from connectors.base import ScanOptions
from connectors.ssh.connector import SshConnector, per_command_timeout
from connectors.ssh.script import sudo_argv
from connectors.ssh.sudoers import sudoers_rule
from tests.support.real_sshd import TEST_USER, RealSshd, require_real_sshd

DROPIN = Path("/etc/sudoers.d/zz-iacs-sudo-real-test")
PASSWORD = "c4nary-Sudo-pw-7q"  # a canary: it must appear in no evidence item
COMMAND_TIMEOUT = ScanOptions().command_timeout  # what a scan uses, so the printed rule fits


def _sudo_requests() -> list:
    profile = load_profile("host-sl2")
    requests = REGISTRY.load().requests_for(profile.selected_checks(REGISTRY))["ssh"]
    return [r for r in requests if r.op == "exec" and r.option("sudo", False)]


def _rule(password: bool) -> str:
    commands = sorted({r.target for r in _sudo_requests()})
    return sudoers_rule(commands, user=TEST_USER, timeout=per_command_timeout(COMMAND_TIMEOUT), password=password)


@pytest.fixture(scope="module")
def server() -> Iterator[RealSshd]:
    require_real_sshd()
    if shutil.which("sudo") is None or shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin") is None:
        pytest.fail("sudo and visudo are needed (Debian package sudo)")
    workdir = Path(tempfile.mkdtemp(prefix="iacs-sudo-real-"))
    os.chmod(workdir, 0o755)
    try:
        with RealSshd("hardened", workdir) as daemon:
            yield daemon
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def installed(rule: str) -> Iterator[None]:
    DROPIN.write_text(rule)
    try:
        os.chmod(DROPIN, 0o440)
        visudo = shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin")
        check = subprocess.run([visudo, "-cf", str(DROPIN)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        yield
    finally:
        DROPIN.unlink(missing_ok=True)


@contextlib.contextmanager
def account_password(password: str) -> Iterator[None]:
    subprocess.run(["chpasswd"], input=f"{TEST_USER}:{password}\n", text=True, check=True, timeout=30)
    try:
        yield
    finally:
        subprocess.run(["usermod", "-p", "*", TEST_USER], check=True, timeout=30)  # locked again, as the harness keeps it
        subprocess.run(["faillock", "--user", TEST_USER, "--reset"], capture_output=True, timeout=30)


def _allowed(argv: list[str]) -> bool:
    """Whether the audit account may run ``argv`` with sudo without a password (asked with ``sudo -n -l``)."""
    probe = subprocess.run(["su", "-s", "/bin/sh", TEST_USER, "-c", 'sudo -n -l "$@" >/dev/null 2>&1', "--", "x",
                            *argv], capture_output=True, timeout=30)
    return probe.returncode == 0


async def _collect(server: RealSshd, **endpoint_fields: str) -> tuple[dict, list[EvidenceItem]]:
    endpoint = {"protocol": "ssh", "port": server.port, "username": server.username, "timeout": 5.0,
                "key_file": str(server.client_key), "known_hosts": str(server.known_hosts), **endpoint_fields}
    asset = Asset.model_validate({"id": "sudo-real", "type": "host", "address": server.host, "endpoints": [endpoint]})
    requests = _sudo_requests()
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=COMMAND_TIMEOUT)).collect(requests)
    info = next(i.data() for i in items if i.request.op == "session")
    return info, [i for i in items if i.request.op == "exec"]


def _shadow_summary(items: list[EvidenceItem]) -> EvidenceItem:
    return next(i for i in items if "/etc/shadow" in i.request.target and i.request.target.startswith("awk"))


async def test_password_rule_and_sudo_password_read_root_only_files(server: RealSshd,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IACS_TEST_SUDO_PW", PASSWORD)
    with account_password(PASSWORD), installed(_rule(password=True)):
        assert not _allowed(sudo_argv("auditctl -l", per_command_timeout(COMMAND_TIMEOUT)))  # needs the password
        info, items = await _collect(server, sudo_password_env="IACS_TEST_SUDO_PW")
    assert info["sudo"] is True and info["sudo_password_sent"] is True
    assert all(item.meta["sudo"] for item in items)
    shadow = _shadow_summary(items)
    assert shadow.exit_code == 0 and f"\n{TEST_USER}:" in "\n" + shadow.text()  # /etc/shadow was read as root
    for item in items:
        assert PASSWORD not in item.model_dump_json()
    assert PASSWORD not in str(info)


async def test_a_wrong_sudo_password_costs_one_attempt_and_the_reads_run_as_the_user(
        server: RealSshd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IACS_TEST_SUDO_PW", "not-the-password")
    with account_password(PASSWORD), installed(_rule(password=True)):
        info, items = await _collect(server, sudo_password_env="IACS_TEST_SUDO_PW")
    assert info["sudo"] is False and info["sudo_checked"] is True
    assert not any(item.meta["sudo"] for item in items)
    assert "Permission denied" in _shadow_summary(items).text()  # as the user: /etc/shadow is unreadable


async def test_nopasswd_rule_allows_exactly_the_scan_reads(server: RealSshd) -> None:
    timeout = per_command_timeout(COMMAND_TIMEOUT)
    with installed(_rule(password=False)):
        info, items = await _collect(server)
        for request in _sudo_requests():  # every read, with and without coreutils timeout, and nothing else
            assert _allowed(sudo_argv(request.target, timeout)) and _allowed(sudo_argv(request.target, None))
        refused = [sudo_argv("id", timeout), sudo_argv("auditctl -l; id", timeout), ["id"], ["sh"],
                   sudo_argv("auditctl -l ", timeout), sudo_argv("auditctl  -l", timeout),
                   sudo_argv("head -v -n 100000 -- /etc/sudoers /etc/sudoers.d/x 2>&1", timeout),
                   sudo_argv("auditctl -l", timeout + 1)]
        assert not any(_allowed(argv) for argv in refused)
    assert info["sudo"] is True and "sudo_password_sent" not in info
    assert all(item.meta["sudo"] for item in items)
    assert _shadow_summary(items).exit_code == 0


def test_sudoers_command_prints_a_rule_visudo_accepts() -> None:
    if shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin") is None:
        pytest.fail("visudo is needed (Debian package sudo)")
    result = CliRunner().invoke(cli, ["sudoers", "--sl", "2", "--user", TEST_USER, "--password"])
    assert result.exit_code == 0, result.output
    assert "Cmnd_Alias IACS_AUDIT_READS" in result.output and "NOPASSWD" not in result.output
    assert result.output.split("\n", 1)[1] == _rule(password=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sudoers") as handle:
        handle.write(result.output)
        handle.flush()
        check = subprocess.run([shutil.which("visudo", path="/usr/sbin:/usr/bin:/sbin"), "-cf", handle.name],
                               capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
