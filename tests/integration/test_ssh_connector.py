"""The SSH connector against the SSH simulator: a real SSH server on loopback.

Covers authentication (key, password by reference, failures), the host-key policy (unknown, trust
on first use, changed, hashed entries), sudo and its fallback, the one-exec batching, bounded
timeouts, hostile output, and that the simulator saw nothing but reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import paramiko
import pytest

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset, load_inventory
from auditor.registry import request, ssh_exec
from connectors.base import ConnectorError, ScanOptions
from connectors.ssh import script as ssh_script
from connectors.ssh.connector import SshConnector
from simulators.plant import DEFAULT_HOSTS, Plant
from simulators.ssh.server import SshSimulator, load_fixture
from tests.support.keys import write_client_key

TIMEOUT = 3.0
READ_ONLY_KINDS = {"connect", "auth", "exec"}

FIXTURE = """
host:
  hostname: test-host
  sudo: {sudo}
  banner: {banner}
  auth_methods: [publickey, password]
commands:
  "id -un":
    stdout: "root\\n"
    unprivileged: {{stdout: "auditor\\n"}}
  "cat /etc/shadow":
    stdout: "root:$6$x:19000:0:99999:7:::\\n"
    unprivileged: {{stdout: "cat: /etc/shadow: Permission denied\\n", exit: 1}}
  "echo port":
    stdout: "Port {{port}}\\n"
  "hang":
    sleep: 30
    stdout: "never\\n"
  "stall":
    stall: 30
  "flood":
    stdout: "{line}\\n"
    repeat: {repeat}
  "binary":
    stdout: !!binary gAD/aGk=
"""
FLOOD_LINE = "F" * 1023  # 1 KiB per line with the newline
FLOOD_LINES = 5 * 1024  # 5 MiB: more than the 4 MiB kept per command


def write_fixture(folder: Path, *, sudo: bool = True, banner: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "host.yaml").write_text(FIXTURE.format(sudo=str(sudo).lower(), banner=json.dumps(banner),
                                                     line=FLOOD_LINE, repeat=FLOOD_LINES))
    return folder


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ssh-connector")


@pytest.fixture(scope="module")
def client_key(workdir: Path) -> tuple[paramiko.PKey, Path]:
    return write_client_key(workdir)


@pytest.fixture(scope="module")
def sim(workdir: Path, client_key: tuple[paramiko.PKey, Path]) -> Iterator[SshSimulator]:
    folder = write_fixture(workdir / "fixture-sudo", sudo=True, banner="Authorized use only.\n")
    with SshSimulator(folder, authorized_key=client_key[0], password="correct horse") as server:
        yield server


@pytest.fixture(scope="module")
def nosudo_sim(workdir: Path, client_key: tuple[paramiko.PKey, Path]) -> Iterator[SshSimulator]:
    folder = write_fixture(workdir / "fixture-nosudo", sudo=False)
    with SshSimulator(folder, host="127.0.0.2", authorized_key=client_key[0]) as server:
        yield server


def known_hosts_for(path: Path, *sims: SshSimulator) -> Path:
    path.write_text("".join(s.known_hosts_line for s in sims))
    return path


def connector(sim: SshSimulator, *, known_hosts: Path | None, options: ScanOptions | None = None,
              **endpoint: Any) -> SshConnector:
    fields = {"protocol": "ssh", "port": sim.port, "username": "auditor", "timeout": TIMEOUT,
              "known_hosts": str(known_hosts) if known_hosts else None, **endpoint}
    asset = Asset.model_validate({"id": "host-1", "type": "host", "address": sim.host,
                                  "endpoints": [{k: v for k, v in fields.items() if v is not None}]})
    return SshConnector(asset, asset.endpoints[0], options or ScanOptions(command_timeout=10))


def by_key(items: list[EvidenceItem]) -> dict[str, EvidenceItem]:
    return {item.request.key: item for item in items}


def session_info(items: list[EvidenceItem]) -> dict[str, Any]:
    return by_key(items)["ssh:session:info"].data()


def new_requests(sim: SshSimulator, before: int) -> list[dict[str, Any]]:
    return sim.requests[before:]


# ----------------------------------------------------------------------------- authentication
async def test_key_auth_and_read_only(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    before = len(sim.requests)
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    items = await conn.collect([ssh_exec("id -un"), ssh_exec("echo port"), ssh_exec("no-such-tool --x"),
                                ssh_exec("binary"), request("ssh", "session", "info")])
    got = by_key(items)
    assert got["ssh:exec:id -un"].response == "auditor\n" and got["ssh:exec:id -un"].exit_code == 0
    assert got["ssh:exec:echo port"].response == f"Port {sim.port}\n"
    missing = got["ssh:exec:no-such-tool --x"]
    assert (missing.status, missing.exit_code) == ("ok", 127)  # the tool is absent: evidence, not an error
    assert "not found" in missing.response
    assert got["ssh:exec:binary"].response == "\ufffd\x00\ufffdhi"
    info = session_info(items)
    assert info["username"] == "auditor" and info["port"] == sim.port
    assert info["auth_methods"] == ["publickey", "password"] and info["auth_method_used"] == "publickey"
    assert info["banner"] == "Authorized use only.\n"
    assert info["host_key_fingerprint"] == sim.host_key.fingerprint
    assert info["host_key_type"] == "ecdsa-sha2-nistp256"
    assert info["server_version"].startswith("SSH-2.0-")
    assert info["negotiated"]["cipher"] and info["negotiated"]["mac"] and info["negotiated"]["kex"]
    assert info["trusted_on_first_use"] is False and info["round_trips"] == 1
    log = new_requests(sim, before)
    assert {r["kind"] for r in log} <= READ_ONLY_KINDS
    assert len([r for r in log if r["kind"] == "exec"]) == 1
    assert len([r for r in log if r["kind"] == "connect"]) == 1


async def test_password_from_env(sim: SshSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_PW", "correct horse")
    conn = connector(sim, password_env="SIM_PW", known_hosts=known_hosts_for(tmp_path / "kh", sim))
    before = len(sim.requests)
    items = await conn.collect([ssh_exec("id -un")])
    assert by_key(items)["ssh:exec:id -un"].response == "auditor\n"
    assert session_info(items)["auth_method_used"] == "password"
    everything = json.dumps([i.model_dump(mode="json") for i in items]) + json.dumps(new_requests(sim, before))
    assert "correct horse" not in everything  # never recorded, not even by the simulator


async def test_password_from_file(sim: SshSimulator, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("correct horse\n")
    conn = connector(sim, password_file=str(secret), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    assert session_info(await conn.collect([request("ssh", "session", "info")]))["auth_method_used"] == "password"


async def test_wrong_key_is_refused(sim: SshSimulator, tmp_path: Path) -> None:
    other = paramiko.ECDSAKey.generate(bits=256)
    path = tmp_path / "other_key"
    other.write_private_key_file(str(path))
    conn = connector(sim, key_file=str(path), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    before = len(sim.requests)
    with pytest.raises(ConnectorError, match=r"authentication as 'auditor' failed: key .*other_key"):
        await conn.collect([ssh_exec("id -un")])
    log = new_requests(sim, before)
    assert not [r for r in log if r["kind"] == "exec"]
    assert len([r for r in log if r["kind"] == "auth" and r["method"] != "none"]) == 1  # one attempt, no loop


async def test_wrong_password_is_refused(sim: SshSimulator, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIM_PW", "wrong")
    conn = connector(sim, password_env="SIM_PW", known_hosts=known_hosts_for(tmp_path / "kh", sim))
    with pytest.raises(ConnectorError, match="authentication as 'auditor' failed: password"):
        await conn.collect([ssh_exec("id -un")])


async def test_unset_password_variable(sim: SshSimulator, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SIM_PW_UNSET", raising=False)
    conn = connector(sim, password_env="SIM_PW_UNSET", known_hosts=known_hosts_for(tmp_path / "kh", sim))
    with pytest.raises(ConnectorError, match="SIM_PW_UNSET is not set"):
        await conn.collect([ssh_exec("id -un")])


async def test_password_not_offered_by_hardened_host(client_key, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIM_PW", "pw")
    with SshSimulator("hardened", authorized_key=client_key[0], password="pw") as hardened:
        conn = connector(hardened, password_env="SIM_PW", known_hosts=known_hosts_for(tmp_path / "kh", hardened))
        with pytest.raises(ConnectorError, match=r"not offered by the server: password.*server offers: publickey"):
            await conn.collect([ssh_exec("id -un")])


@pytest.mark.skipif(shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None,
                    reason="OpenSSH agent not installed")
async def test_agent_key(sim: SshSimulator, client_key, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", str(client_key[1])], env=env, check=True, capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        conn = connector(sim, use_agent=True, known_hosts=known_hosts_for(tmp_path / "kh", sim))
        items = await conn.collect([ssh_exec("id -un")])
        assert by_key(items)["ssh:exec:id -un"].response == "auditor\n"
        assert session_info(items)["auth_method_used"] == "publickey"
    finally:
        agent.terminate()
        agent.wait(timeout=5)


# ----------------------------------------------------------------------------- host keys
async def test_unknown_host_key_is_refused_before_auth(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    known = tmp_path / "empty_known_hosts"
    known.write_text("")
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known)
    before = len(sim.requests)
    with pytest.raises(ConnectorError) as caught:
        await conn.collect([ssh_exec("id -un")])
    message = str(caught.value)
    assert f"host key for [127.0.0.1]:{sim.port} is not in known_hosts {known}" in message
    assert f"ECDSA {sim.host_key.fingerprint}" in message and "--trust-on-first-use" in message
    assert {r["kind"] for r in new_requests(sim, before)} == {"connect"}  # no credential was offered
    assert known.read_text() == ""


async def test_trust_on_first_use(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    known = tmp_path / "new" / "known_hosts"  # neither file nor folder exist yet
    options = ScanOptions(trust_on_first_use=True, command_timeout=10)
    items = await connector(sim, key_file=str(client_key[1]), known_hosts=known, options=options).collect(
        [ssh_exec("id -un")])
    info = session_info(items)  # recorded even though session info was not requested
    assert info["trusted_on_first_use"] is True and info["known_hosts"] == str(known)
    assert known.read_text() == sim.known_hosts_line
    assert known.stat().st_mode & 0o777 == 0o600
    # the second time the key is known: no TOFU, nothing appended
    items = await connector(sim, key_file=str(client_key[1]), known_hosts=known, options=options).collect(
        [request("ssh", "session", "info")])
    assert session_info(items)["trusted_on_first_use"] is False
    assert known.read_text() == sim.known_hosts_line


async def test_known_hosts_from_scan_options(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    known = known_hosts_for(tmp_path / "kh", sim)
    options = ScanOptions(known_hosts=known, ssh_key_file=str(client_key[1]), command_timeout=10)
    items = await connector(sim, known_hosts=None, options=options).collect([ssh_exec("id -un")])
    assert session_info(items)["known_hosts"] == str(known)


async def test_changed_host_key_is_refused_even_with_tofu(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    impostor = paramiko.ECDSAKey.generate(bits=256)
    known = tmp_path / "known_hosts"
    original = f"[127.0.0.1]:{sim.port} {impostor.get_name()} {impostor.get_base64()}\n"
    known.write_text(original)
    options = ScanOptions(trust_on_first_use=True)
    before = len(sim.requests)
    with pytest.raises(ConnectorError, match="HOST KEY MISMATCH.*man-in-the-middle"):
        await connector(sim, key_file=str(client_key[1]), known_hosts=known, options=options).collect(
            [ssh_exec("id -un")])
    assert known.read_text() == original
    assert {r["kind"] for r in new_requests(sim, before)} == {"connect"}


async def test_key_of_another_type_is_refused(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    other = paramiko.RSAKey.generate(2048)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sim.port} ssh-rsa {other.get_base64()}\n")
    with pytest.raises(ConnectorError, match="HOST KEY MISMATCH"):
        await connector(sim, key_file=str(client_key[1]), known_hosts=known,
                        options=ScanOptions(trust_on_first_use=True)).collect([ssh_exec("id -un")])


async def test_hashed_known_hosts_entry(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    hashed = paramiko.HostKeys.hash_host(f"[127.0.0.1]:{sim.port}")
    known = tmp_path / "known_hosts"
    known.write_text(f"# comment\n\n{hashed} {sim.host_key.get_name()} {sim.host_key.get_base64()}\n")
    items = await connector(sim, key_file=str(client_key[1]), known_hosts=known).collect([ssh_exec("id -un")])
    assert by_key(items)["ssh:exec:id -un"].status == "ok"


async def test_revoked_key_is_refused(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sim.known_hosts_line + f"@revoked * {sim.host_key.get_name()} {sim.host_key.get_base64()}\n")
    with pytest.raises(ConnectorError, match="@revoked"):
        await connector(sim, key_file=str(client_key[1]), known_hosts=known).collect([ssh_exec("id -un")])


# ----------------------------------------------------------------------------- sudo
async def test_sudo_used_when_allowed(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    before = len(sim.requests)
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    items = await conn.collect([ssh_exec("id -un", sudo=True), ssh_exec("id -un"),
                                ssh_exec("cat /etc/shadow", sudo=True)])
    got = by_key(items)
    root = got["ssh:exec:id -un[sudo=True]"]
    assert (root.response, root.meta["sudo"]) == ("root\n", True)
    assert (got["ssh:exec:id -un"].response, got["ssh:exec:id -un"].meta["sudo"]) == ("auditor\n", False)
    assert got["ssh:exec:cat /etc/shadow[sudo=True]"].exit_code == 0
    assert session_info(items)["sudo"] is True
    [exec_request] = [r for r in new_requests(sim, before) if r["kind"] == "exec"]
    assert exec_request["sudo"] is True
    assert [(c["command"], c["sudo"]) for c in exec_request["commands"]] == [
        ("id -un", True), ("id -un", False), ("cat /etc/shadow", True)]


async def test_sudo_falls_back_to_the_user(nosudo_sim: SshSimulator, client_key, tmp_path: Path) -> None:
    conn = connector(nosudo_sim, key_file=str(client_key[1]),
                     known_hosts=known_hosts_for(tmp_path / "kh", nosudo_sim))
    items = await conn.collect([ssh_exec("id -un", sudo=True), ssh_exec("cat /etc/shadow", sudo=True)])
    got = by_key(items)
    assert (got["ssh:exec:id -un[sudo=True]"].response, got["ssh:exec:id -un[sudo=True]"].meta["sudo"]) == (
        "auditor\n", False)
    shadow = got["ssh:exec:cat /etc/shadow[sudo=True]"]
    assert (shadow.status, shadow.exit_code, shadow.meta["sudo"]) == ("ok", 1, False)
    info = session_info(items)
    assert info["sudo"] is False and info["sudo_checked"] is True


async def test_sudo_disabled_by_endpoint_or_options(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    known = known_hosts_for(tmp_path / "kh", sim)
    for conn in (connector(sim, key_file=str(client_key[1]), known_hosts=known, sudo=False),
                 connector(sim, key_file=str(client_key[1]), known_hosts=known,
                           options=ScanOptions(use_sudo=False))):
        before = len(sim.requests)
        items = await conn.collect([ssh_exec("id -un", sudo=True)])
        item = by_key(items)["ssh:exec:id -un[sudo=True]"]
        assert (item.response, item.meta["sudo"]) == ("auditor\n", False)
        [exec_request] = [r for r in new_requests(sim, before) if r["kind"] == "exec"]
        assert "sudo" not in exec_request["command"]  # not even tried
        assert session_info(items)["sudo_checked"] is False


# ----------------------------------------------------------------------------- batching and speed
async def test_forty_commands_in_one_exec(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    requests = [ssh_exec(f"cat /etc/file-{i}", sudo=i % 3 == 0) for i in range(38)]
    requests += [ssh_exec("id -un"), ssh_exec("id -un", sudo=True), request("ssh", "session", "info")]
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    before = len(sim.requests)
    started = time.perf_counter()
    items = await conn.collect(requests)
    elapsed = time.perf_counter() - started
    print(f"\n[bench] one collect of {len(requests) - 1} exec requests against the simulator: {elapsed * 1000:.0f} ms")
    assert len(items) == len(requests)
    assert all(i.status == "ok" for i in items)
    assert len([r for r in new_requests(sim, before) if r["kind"] == "exec"]) == 1
    assert session_info(items)["round_trips"] == 1
    assert elapsed < 5


async def test_huge_request_set_is_split_below_the_argument_limit(sim: SshSimulator, client_key,
                                                                  tmp_path: Path) -> None:
    long_path = "/x" * 400
    requests = [ssh_exec(f"ls -l {long_path}/{i}") for i in range(150)]  # ~120 KiB of commands
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    before = len(sim.requests)
    items = await conn.collect(requests)
    execs = [r for r in new_requests(sim, before) if r["kind"] == "exec"]
    assert len(execs) == 2 and all(len(r["command"].encode()) <= ssh_script.MAX_SCRIPT_BYTES for r in execs)
    assert session_info(items)["round_trips"] == 2
    assert [i.exit_code for i in items if i.request.op == "exec"] == [127] * 150


async def test_unsupported_op(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    items = await conn.collect([request("ssh", "sftp", "/etc/passwd"), ssh_exec("id -un")])
    bad = by_key(items)["ssh:sftp:/etc/passwd"]
    assert bad.status == "error" and "unsupported op" in (bad.error or "")


# ----------------------------------------------------------------------------- bounded waits
async def test_hanging_command_is_bounded_by_its_timeout(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim),
                     options=ScanOptions(command_timeout=4))  # 2 s per command
    started = time.monotonic()
    items = await conn.collect([ssh_exec("id -un"), ssh_exec("hang"), ssh_exec("echo port")])
    elapsed = time.monotonic() - started
    got = by_key(items)
    hang = got["ssh:exec:hang"]
    assert (hang.status, hang.exit_code, hang.meta.get("timed_out")) == ("error", 124, True)
    assert "timed out after 2 s" in (hang.error or "")
    assert got["ssh:exec:echo port"].status == "ok"  # the commands after it still ran
    assert elapsed < 4


async def test_stalled_host_is_bounded_by_the_exec_deadline(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim),
                     options=ScanOptions(command_timeout=1.5))
    started = time.monotonic()
    items = await conn.collect([ssh_exec("id -un"), ssh_exec("stall"), ssh_exec("echo port")])
    elapsed = time.monotonic() - started
    got = by_key(items)
    assert got["ssh:exec:id -un"].status == "ok"
    for key in ("ssh:exec:stall", "ssh:exec:echo port"):
        assert got[key].status == "error" and got[key].exit_code is None
        assert "output truncated / command did not finish" in (got[key].error or "")
        assert "1.5 s limit" in (got[key].error or "")
    assert elapsed < 3.5


async def test_connection_refused_fails_fast(tmp_path: Path, client_key) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    asset = Asset.model_validate({"id": "gone", "type": "host", "address": "127.0.0.1", "endpoints": [
        {"protocol": "ssh", "port": port, "username": "auditor", "key_file": str(client_key[1]), "timeout": 3}]})
    started = time.monotonic()
    with pytest.raises(ConnectorError, match=f"connection refused by 127.0.0.1:{port}"):
        await SshConnector(asset, asset.endpoints[0], ScanOptions()).collect(
            [ssh_exec("id -un"), request("ssh", "wire", "kexinit")])
    assert time.monotonic() - started < 1


async def test_reset_seen_by_connect_is_reported_as_a_reset(
        tmp_path: Path, client_key, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and resets at once can beat the poll for the connect's outcome."""
    def reset(*args: Any, **kwargs: Any) -> socket.socket:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(socket, "create_connection", reset)
    asset = Asset.model_validate({"id": "resets", "type": "host", "address": "127.0.0.1", "endpoints": [
        {"protocol": "ssh", "port": 9, "username": "auditor", "key_file": str(client_key[1]), "timeout": 3}]})
    with pytest.raises(ConnectorError, match="connection reset by 127.0.0.1:9 as soon as it was accepted"):
        await SshConnector(asset, asset.endpoints[0], ScanOptions()).collect([ssh_exec("id -un")])


async def test_silent_server_is_bounded_by_the_endpoint_timeout(tmp_path: Path, client_key) -> None:
    with socket.socket() as silent:  # accepts TCP (kernel backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        asset = Asset.model_validate({"id": "mute", "type": "host", "address": "127.0.0.1", "endpoints": [
            {"protocol": "ssh", "port": silent.getsockname()[1], "username": "auditor",
             "key_file": str(client_key[1]), "timeout": 1}]})
        started = time.monotonic()
        with pytest.raises(ConnectorError, match="SSH handshake with 127.0.0.1:.* failed"):
            await SshConnector(asset, asset.endpoints[0], ScanOptions()).collect([ssh_exec("id -un")])
        assert time.monotonic() - started < 3


# paramiko's transport thread must end quietly too (no traceback from the socket that stopped it)
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
async def test_cancelled_collect_closes_the_connection(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim),
                     options=ScanOptions(command_timeout=30))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(conn.collect([ssh_exec("stall")]), 0.5)
    deadline = time.monotonic() + 2
    while sim._connections and time.monotonic() < deadline:  # the worker thread hangs up by itself
        await asyncio.sleep(0.05)
    assert not sim._connections


def test_simulator_stop_never_blocks(workdir: Path, client_key) -> None:
    server = SshSimulator(write_fixture(workdir / "fixture-stop"), authorized_key=client_key[0]).start()
    client = paramiko.SSHClient()
    client.get_host_keys().add(f"[127.0.0.1]:{server.port}", server.host_key.get_name(), server.host_key)
    client.connect("127.0.0.1", port=server.port, username="auditor", pkey=client_key[0], allow_agent=False,
                   look_for_keys=False, timeout=TIMEOUT, banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    try:
        client.exec_command("stall", timeout=TIMEOUT)
        time.sleep(0.2)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
    finally:
        client.close()


# ----------------------------------------------------------------------------- hostile output
async def test_flooding_command_is_capped(sim: SshSimulator, client_key, tmp_path: Path) -> None:
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    items = await conn.collect([ssh_exec("flood"), ssh_exec("id -un")])
    flood = by_key(items)["ssh:exec:flood"]
    assert flood.status == "ok" and flood.exit_code == 0
    assert len(flood.response) == ssh_script.MAX_SECTION_BYTES
    assert flood.meta["truncated"] is True and flood.meta["bytes"] == FLOOD_LINES * 1024
    assert by_key(items)["ssh:exec:id -un"].response == "auditor\n"


async def test_total_output_is_capped(sim: SshSimulator, client_key, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssh_script, "MAX_TOTAL_BYTES", 1024 * 1024)
    conn = connector(sim, key_file=str(client_key[1]), known_hosts=known_hosts_for(tmp_path / "kh", sim))
    items = await conn.collect([ssh_exec("id -un"), ssh_exec("flood"), ssh_exec("echo port")])
    got = by_key(items)
    assert got["ssh:exec:id -un"].status == "ok"
    assert got["ssh:exec:flood"].status == "error" and "1 MiB limit" in (got["ssh:exec:flood"].error or "")
    assert got["ssh:exec:echo port"].status == "error"


# ----------------------------------------------------------------------------- the simulator itself
def test_simulator_refuses_everything_but_exec(sim: SshSimulator, client_key) -> None:
    client = paramiko.SSHClient()
    client.get_host_keys().add(f"[127.0.0.1]:{sim.port}", sim.host_key.get_name(), sim.host_key)
    client.connect("127.0.0.1", port=sim.port, username="auditor", pkey=client_key[0], allow_agent=False,
                   look_for_keys=False, timeout=TIMEOUT, banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    before = len(sim.requests)
    try:
        with pytest.raises(paramiko.SSHException):
            client.invoke_shell()
        with pytest.raises(paramiko.SSHException):
            client.open_sftp()
        with pytest.raises(paramiko.SSHException):
            client.get_transport().request_port_forward("127.0.0.1", 0)
        with pytest.raises(paramiko.ChannelException):
            client.get_transport().open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 1))
        _stdin, stdout, _stderr = client.exec_command("id -un", timeout=TIMEOUT)
        assert stdout.read() == b"auditor\n" and stdout.channel.recv_exit_status() == 0
    finally:
        client.close()
    refused = [r["command"] for r in new_requests(sim, before) if r["kind"] == "channel"]
    assert any(c.startswith("pty-req") or c == "shell" for c in refused)
    assert "subsystem sftp" in refused and any(c.startswith("tcpip-forward") for c in refused)
    assert any(c.startswith("open direct-tcpip") for c in refused)


def test_simulator_bounds_concurrent_connections(workdir: Path, client_key) -> None:
    with SshSimulator(write_fixture(workdir / "fixture-bounded"), authorized_key=client_key[0],
                      max_connections=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as first:
            assert first.recv(64).startswith(b"SSH-2.0-")
            with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as second:
                assert second.recv(64) == b""  # closed at once
        refused = [r for r in server.requests if r.get("refused") == "too many connections"]
        assert len(refused) == 1


def test_builtin_fixtures_have_a_transport_personality() -> None:
    weak, hardened = load_fixture("weak"), load_fixture("hardened")
    assert "password" in weak.host.auth_methods and weak.host.banner is None
    assert hardened.host.auth_methods == ("publickey",) and "Authorized use only" in (hardened.host.banner or "")
    assert hardened.host.sudo is True


def test_fixture_conflicts_and_typos_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text('commands: {"uname -a": {stdout: "Linux\\n"}}\n')
    (tmp_path / "b.yaml").write_text('commands: {"uname -a": {stdout: "BSD\\n"}}\n')
    with pytest.raises(ValueError, match="also defined, differently"):
        load_fixture(tmp_path)
    (tmp_path / "b.yaml").write_text('commands: {"uname -r": {stout: "6.1\\n"}}\n')
    with pytest.raises(ValueError, match="unknown key"):
        load_fixture(tmp_path)
    (tmp_path / "b.yaml").write_text("host: {kex: [diffie-hellman-group-exchange-sha1]}\n")
    with pytest.raises(ValueError, match="cannot speak"):
        load_fixture(tmp_path)


async def test_wire_probe_sees_what_each_fixture_offers(client_key, tmp_path: Path) -> None:
    with SshSimulator("weak", authorized_key=client_key[0]) as weak, \
            SshSimulator("hardened", host="127.0.0.3", authorized_key=client_key[0]) as hardened:
        offered = {}
        for name, server in (("weak", weak), ("hardened", hardened)):
            conn = connector(server, key_file=str(client_key[1]),
                             known_hosts=known_hosts_for(tmp_path / f"kh-{name}", server))
            items = await conn.collect([request("ssh", "wire", "kexinit"), request("ssh", "session", "info")])
            offered[name] = (by_key(items)["ssh:wire:kexinit"].data(), session_info(items))
    weak_wire, weak_info = offered["weak"]
    hard_wire, hard_info = offered["hardened"]
    assert {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"} <= set(weak_wire["kex_algorithms"])
    assert {"aes128-cbc", "3des-cbc"} <= set(weak_wire["encryption_algorithms_client_to_server"])
    assert {"hmac-md5", "hmac-sha1"} <= set(weak_wire["mac_algorithms_client_to_server"])
    assert not any("sha1" in k for k in hard_wire["kex_algorithms"])
    assert not any(c.endswith("-cbc") for c in hard_wire["encryption_algorithms_client_to_server"])
    assert all(m.endswith("-etm@openssh.com") for m in hard_wire["mac_algorithms_client_to_server"])
    assert weak_info["auth_methods"] == ["publickey", "password"] and weak_info["banner"] is None
    assert hard_info["auth_methods"] == ["publickey"] and hard_info["banner"].startswith("Authorized use only")
    assert weak_info["host_key_type"] == "ssh-rsa" and hard_info["host_key_type"] == "ecdsa-sha2-nistp256"


@pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH client not installed")
@pytest.mark.parametrize("kex,cipher,mac", [("diffie-hellman-group1-sha1", "3des-cbc", "hmac-md5"),
                                            ("diffie-hellman-group14-sha1", "aes128-cbc", "hmac-sha1")])
def test_openssh_client_negotiates_the_weak_algorithms(client_key, tmp_path: Path, kex: str, cipher: str,
                                                       mac: str) -> None:
    """The SHA-1 key exchanges the simulator adds are real: OpenSSH's client completes them."""
    with SshSimulator("weak", authorized_key=client_key[0]) as weak:
        known = known_hosts_for(tmp_path / "kh", weak)
        proc = subprocess.run(
            ["ssh", "-F", "/dev/null", "-v", "-o", "BatchMode=yes", "-o", f"KexAlgorithms={kex}",
             "-o", f"Ciphers={cipher}", "-o", f"MACs={mac}", "-o", f"UserKnownHostsFile={known}",
             "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=3", "-i", str(client_key[1]),
             "-p", str(weak.port), "auditor@127.0.0.1", "no-such-command"],
            capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    if "Unsupported KEX algorithm" in proc.stderr or "Bad SSH2 KexAlgorithms" in proc.stderr:
        pytest.skip(f"this OpenSSH client cannot do {kex}")
    assert f"kex: algorithm: {kex}" in proc.stderr
    assert f"cipher: {cipher} MAC: {mac}" in proc.stderr
    assert proc.returncode == 127 and "not found" in proc.stdout


# ----------------------------------------------------------------------------- the demo plant
async def test_demo_plant(tmp_path: Path) -> None:
    ssh_hosts = [h for h in DEFAULT_HOSTS
                 if h.protocol == "ssh" and h.type == "host" and not h.fixture.startswith("windows")]
    with Plant(tmp_path / "plant", ssh_hosts) as plant:
        inventory = load_inventory(plant.inventory_path)
        assert [a.id for a in inventory.assets] == ["ews-01", "hmi-01", "hist-01"]
        assert {a.address for a in inventory.assets} == {"127.0.10.1", "127.0.10.2", "127.0.10.3"}
        assert {z.id for z in inventory.zones} == {"control", "dmz"}
        assert plant.key_path.stat().st_mode & 0o777 == 0o600
        assert len(plant.known_hosts.read_text().splitlines()) == 3
        for asset in inventory.assets:
            sim = plant.simulators[asset.id]
            items = await SshConnector(asset, asset.endpoints[0], ScanOptions()).collect(
                [ssh_exec("id -un"), request("ssh", "session", "info")])
            assert session_info(items)["trusted_on_first_use"] is False
            assert {r["kind"] for r in sim.requests} <= READ_ONLY_KINDS
        assert plant.simulators["hmi-01"].personality.auth_methods == ("publickey", "password")


def test_scaled_plant(tmp_path: Path) -> None:
    with Plant.scaled(tmp_path / "bench", 4) as plant:
        inventory = load_inventory(plant.inventory_path)
        assert [a.address for a in inventory.assets] == [f"127.0.20.{i}" for i in range(1, 5)]
        assert [plant.simulators[a.id].fixture.name for a in inventory.assets] == [
            "weak", "hardened", "weak", "hardened"]
