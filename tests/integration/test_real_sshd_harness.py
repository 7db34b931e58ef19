"""Integration tests of the real-sshd harness (tests/support/real_sshd.py).

They start real OpenSSH daemons on 127.0.0.1 (one weak, one hardened), log in
with paramiko as the unprivileged user ``iacsaudit`` and check what the auditor
will rely on: the login works with strict host-key checking, the listening sshd
and its ``-f <config>`` are visible to a non-root user through ``ps``, the
hardened config file is unreadable to that user and the user has no sudo.

Needs root and openssh-server: skipped locally without them, failed under CI=true.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import paramiko
import pytest

from tests.support import real_sshd
from tests.support.real_sshd import HARDENED_BANNER, RealSshd, require_real_sshd

TIMEOUT = 10.0  # seconds: bound for every connect / command / wait below


# --------------------------------------------------------------------------- #
# fixtures and helpers
# --------------------------------------------------------------------------- #
def _workdir(profile: str) -> Path:
    # Not pytest's tmp_path: its /tmp/pytest-of-root parent is 0700, which would
    # hide the config from iacsaudit for the wrong reason.  0755 here, so only
    # the config file's own mode decides whether iacsaudit can read it.
    path = Path(tempfile.mkdtemp(prefix=f"iacs-sshd-{profile}-"))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="module", params=["weak", "hardened"])
def sshd(request: pytest.FixtureRequest) -> Iterator[RealSshd]:
    require_real_sshd()
    workdir = _workdir(request.param)
    try:
        with RealSshd(request.param, workdir) as server:
            print(f"\n[harness] started {server!r} fingerprints={server.host_key_fingerprints}")
            if server.rejected_algorithms:
                print(f"[harness] weak algorithms refused by this OpenSSH: {server.rejected_algorithms}")
            yield server
            print(f"\n[harness] sshd.log tail ({request.param}):\n{server.log_tail(8)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def weak_and_hardened() -> Iterator[tuple[RealSshd, RealSshd]]:
    """Both profiles running at the same time (the auditor scans several hosts)."""
    require_real_sshd()
    dirs = [_workdir("weak"), _workdir("hardened")]
    try:
        with RealSshd("weak", dirs[0]) as weak, RealSshd("hardened", dirs[1]) as hard:
            yield weak, hard
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def connect(server: RealSshd) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        server.host,
        port=server.port,
        username=server.username,
        key_filename=str(server.client_key),
        allow_agent=False,
        look_for_keys=False,
        timeout=TIMEOUT,
        banner_timeout=TIMEOUT,
        auth_timeout=TIMEOUT,
        channel_timeout=TIMEOUT,
    )
    return client


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str, str]:
    """Run *command*, bounded by TIMEOUT; return (exit status, stdout, stderr)."""
    _stdin, stdout, stderr = client.exec_command(command, timeout=TIMEOUT)
    out = stdout.read().decode(errors="replace")
    err = stderr.read().decode(errors="replace")
    if not stdout.channel.status_event.wait(TIMEOUT):
        raise TimeoutError(f"no exit status for {command!r} within {TIMEOUT}s")
    return stdout.channel.recv_exit_status(), out, err


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- #
# tests
# --------------------------------------------------------------------------- #
def test_instance_starts_and_config_is_effective(sshd: RealSshd) -> None:
    assert sshd.is_running() and sshd.pid is not None
    assert port_open(sshd.port)
    assert sshd.pid_file.read_text().strip() == str(sshd.pid)
    assert sshd.host == "127.0.0.1" and sshd.username == "iacsaudit"
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in sshd.known_hosts.read_text()
    assert set(sshd.host_key_fingerprints) == (
        {"ssh-ed25519", "ssh-rsa"} if sshd.profile == "weak" else {"ssh-ed25519"}
    )
    assert all(fp.startswith("SHA256:") for fp in sshd.host_key_fingerprints.values())
    assert not str(sshd.config_path).startswith("/etc/ssh")

    eff = sshd.effective_config()
    mode = sshd.config_path.stat().st_mode & 0o777
    if sshd.profile == "weak":
        assert mode == 0o644
        assert eff["permitrootlogin"] == "yes"
        assert eff["passwordauthentication"] == "yes"
        assert eff["permitemptypasswords"] == "yes"
        assert eff["maxauthtries"] == "10"
        assert eff["x11forwarding"] == "yes"
        for keyword, algs in sshd.weak_algorithms.items():
            enabled = eff[keyword.lower()].split(",")
            assert all(a in enabled for a in algs), (keyword, algs, enabled)
        # OpenSSH 9.2 (Debian 12) still accepts every requested weak algorithm.
        assert sshd.rejected_algorithms == {}
    else:
        assert mode == 0o600
        assert eff["permitrootlogin"] == "no"
        assert eff["passwordauthentication"] == "no"
        assert eff["kbdinteractiveauthentication"] == "no"
        assert eff["maxauthtries"] == "3"
        assert eff["logingracetime"] == "30"
        assert eff["allowusers"] == "iacsaudit"
        assert eff["ciphers"] == (
            "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr"
        )
        assert eff["macs"] == "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com"
        assert eff["hostkeyalgorithms"] == "ssh-ed25519"
        assert eff["maxstartups"] == "10:30:60"
        assert eff["loglevel"] == "VERBOSE"


def test_login_as_iacsaudit_and_show_session_parent(sshd: RealSshd) -> None:
    client = connect(sshd)
    try:
        rc, out, err = run(client, "id -un")
        assert (rc, out.strip()) == (0, "iacsaudit"), err
        rc, out, err = run(client, r"cat /proc/$PPID/cmdline | tr '\0' ' '")
        assert rc == 0, err
        print(f"\n[{sshd.profile}] /proc/$PPID/cmdline of the session shell: {out.strip()!r}")
        assert out.startswith("sshd: iacsaudit")
        if sshd.profile == "hardened":
            assert client.get_transport().get_banner().decode() == HARDENED_BANNER
    finally:
        client.close()


def test_ps_shows_listener_with_config_path_to_non_root(sshd: RealSshd) -> None:
    client = connect(sshd)
    try:
        rc, out, err = run(client, "id -u; ps -eo pid,args")
        assert rc == 0, err
        uid, *ps_lines = out.splitlines()
        assert uid.strip() != "0"
        mine = [line.strip() for line in ps_lines if line.split(None, 1)[0] == str(sshd.pid)]
        print(f"\n[{sshd.profile}] listener as seen by iacsaudit: {mine}")
        assert len(mine) == 1
        assert f" -f {sshd.config_path} " in mine[0]
        assert f" -p {sshd.port} " in mine[0]
        assert "[listener]" in mine[0]
        # the same through /proc, the way the auditor reads command lines
        rc, out, err = run(client, f"tr '\\0' ' ' < /proc/{sshd.pid}/cmdline")
        assert rc == 0 and f"-f {sshd.config_path}" in out, err
    finally:
        client.close()


def test_config_readability_and_no_sudo(sshd: RealSshd) -> None:
    client = connect(sshd)
    try:
        rc, out, err = run(client, f"stat -c '%a %U' {sshd.config_path}")
        assert rc == 0, err
        rc_cat, cat_out, cat_err = run(client, f"cat {sshd.config_path}")
        if sshd.profile == "hardened":
            assert out.strip() == "600 root"
            assert rc_cat != 0 and "Permission denied" in cat_err
            print(f"\n[hardened] cat config as iacsaudit -> rc={rc_cat} {cat_err.strip()!r}")
        else:
            # control: the directory is traversable, so only the file mode blocks above
            assert out.strip() == "644 root"
            assert rc_cat == 0 and "PermitRootLogin yes" in cat_out
        rc, out, err = run(client, "sudo -n true")
        print(f"[{sshd.profile}] sudo -n true as iacsaudit -> rc={rc} {err.strip()!r}")
        assert rc != 0
    finally:
        client.close()


def test_weak_crypto_is_negotiable_only_on_weak(weak_and_hardened: tuple[RealSshd, RealSshd]) -> None:
    weak, hard = weak_and_hardened

    def handshake(server: RealSshd, cipher: str, mac: str) -> paramiko.Transport:
        sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        t = paramiko.Transport(sock)
        t.banner_timeout = TIMEOUT
        opts = t.get_security_options()
        opts.ciphers = (cipher,)
        opts.digests = (mac,)
        try:
            t.start_client(timeout=TIMEOUT)
        except BaseException:
            t.close()
            raise
        return t

    for cipher, mac in (("aes128-cbc", "hmac-sha1"), ("3des-cbc", "hmac-md5")):
        t = handshake(weak, cipher, mac)
        try:
            assert t.remote_cipher == cipher and t.remote_mac == mac
        finally:
            t.close()
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            handshake(hard, cipher, mac).close()

    # paramiko no longer speaks SHA-1 kex or ssh-rsa signatures; OpenSSH's client does.
    for kex, hostkey in (("diffie-hellman-group1-sha1", "ssh-rsa"),
                         ("diffie-hellman-group14-sha1", "ssh-rsa")):
        results = {}
        for server in (weak, hard):
            proc = subprocess.run(
                ["ssh", "-vv", "-F", "/dev/null", "-p", str(server.port),
                 "-i", str(server.client_key), "-o", "IdentitiesOnly=yes",
                 "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(TIMEOUT)}",
                 "-o", f"UserKnownHostsFile={server.known_hosts}",
                 "-o", "StrictHostKeyChecking=yes",
                 "-o", f"KexAlgorithms={kex}", "-o", f"HostKeyAlgorithms={hostkey}",
                 f"{server.username}@{server.host}", "true"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=2 * TIMEOUT,
            )
            results[server.profile] = proc
        assert results["weak"].returncode == 0, results["weak"].stderr[-800:]
        assert f"kex: algorithm: {kex}" in results["weak"].stderr
        assert f"kex: host key algorithm: {hostkey}" in results["weak"].stderr
        assert results["hardened"].returncode != 0
        assert "no matching" in results["hardened"].stderr


def test_two_instances_share_the_test_user(weak_and_hardened: tuple[RealSshd, RealSshd]) -> None:
    weak, hard = weak_and_hardened
    assert weak.port != hard.port
    for server in (weak, hard):
        client = connect(server)
        try:
            assert run(client, "id -un")[1].strip() == "iacsaudit"
        finally:
            client.close()


def test_stop_kills_listener_and_open_sessions() -> None:
    require_real_sshd()
    workdir = _workdir("cleanup")
    try:
        server = RealSshd("weak", workdir)
        with server:
            pid, port = server.pid, server.port
            pubkey = server.client_key.with_name("client_key.pub").read_text().strip()
            client = connect(server)
            # a session still running when the harness stops
            _stdin, stdout, _stderr = client.exec_command("echo $$; sleep 60", timeout=TIMEOUT)
            shell_pid = int(stdout.readline().strip())
            assert Path(f"/proc/{shell_pid}").exists()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and (
            real_sshd._proc_stat(shell_pid) is not None or port_open(port)
        ):
            time.sleep(0.1)
        client.close()
        assert real_sshd._proc_stat(pid) is None, "sshd listener survived"
        assert real_sshd._proc_stat(shell_pid) is None, "session shell survived"
        assert not port_open(port)
        assert not server.is_running()
        ak = Path("/home/iacsaudit/.ssh/authorized_keys")
        assert pubkey not in ak.read_text(), "client key left in authorized_keys"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_require_real_sshd_fails_under_ci_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(real_sshd, "sshd_unavailable_reason", lambda: "no sshd here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no sshd here"):
        require_real_sshd()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no sshd here"):
        require_real_sshd()


def test_unavailable_raises_sshd_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(real_sshd, "SSHD", tmp_path / "no-such-sshd")
    with pytest.raises(real_sshd.SshdUnavailable, match="not found"):
        RealSshd("weak", tmp_path).__enter__()
