"""Field SSH against REAL OpenSSH daemons: a Host alias behind a jump host, passphrase keys, the agent,
and a missing credential refused before any connection.

The bastion is a second real sshd on 127.0.0.1 (the "weak" profile: ``AllowTcpForwarding yes``, here with
``LogLevel DEBUG1`` so its log records each forwarding); the target is a hardened sshd on its own loopback
address 127.0.0.77 with ``AllowTcpForwarding no``. Both host keys are verified against known_hosts.

Needs root, openssh-server and openssh-client (ssh-agent, ssh-add, ssh-keygen): skipped locally without
them, failed under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.errors import ConfigError
from auditor.plant.inventory import Asset, Inventory
from auditor.registry import request, ssh_exec
from connectors.base import ScanOptions
from connectors.ssh.connector import SshConnector
from connectors.ssh.credentials import check_ssh_credentials
from tests.support import require
from tests.support.real_sshd import RealSshd, require_real_sshd

TARGET_ADDRESS = "127.0.0.77"
TIMEOUT = 5.0


@pytest.fixture(scope="module")
def pair() -> Iterator[dict[str, Any]]:
    require_real_sshd()
    for tool in ("ssh-agent", "ssh-add", "ssh-keygen"):
        require(tool, None if shutil.which(tool) else f"{tool} not found (install openssh-client)")
    dirs = [Path(tempfile.mkdtemp(prefix=f"iacs-jump-{name}-")) for name in ("bastion", "target")]
    for path in dirs:
        os.chmod(path, 0o755)
    try:
        with RealSshd("weak", dirs[0], extra_config=["LogLevel DEBUG1"]) as bastion, \
                RealSshd("hardened", dirs[1], listen=TARGET_ADDRESS) as target:
            assert "allowtcpforwarding no" in {f"{k} {v}" for k, v in target.effective_config().items()}
            known = dirs[0] / "known_hosts_both"
            known.write_text(bastion.known_hosts.read_text() + target.known_hosts.read_text())
            yield {"bastion": bastion, "target": target, "known_hosts": known}
    finally:
        for path in dirs:
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_outside_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def _log_size(server: RealSshd) -> int:
    return server.log_path.stat().st_size if server.log_path.exists() else 0


def _new_log(server: RealSshd, since: int) -> str:
    with open(server.log_path, "rb") as fh:
        fh.seek(since)
        return fh.read().decode(errors="replace")


def _ssh_config(tmp_path: Path, pair: dict[str, Any]) -> Path:
    bastion, target = pair["bastion"], pair["target"]
    config = tmp_path / "ssh_config"
    config.write_text(f"""
Host ews-lab
    HostName {TARGET_ADDRESS}
    Port {target.port}
    User {target.username}
    IdentityFile {target.client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {pair['known_hosts']}
    ProxyJump bastion

Host bastion
    HostName 127.0.0.1
    Port {bastion.port}
    User {bastion.username}
    IdentityFile {bastion.client_key}
    UserKnownHostsFile {pair['known_hosts']}
""")
    return config


def _forwarded_to(bastion: RealSshd, since: int, port: int) -> bool:
    text = _new_log(bastion, since)
    return "direct-tcpip" in text and f"{TARGET_ADDRESS} port {port}" in text


def test_host_alias_through_the_jump_host_with_the_cli(pair, tmp_path: Path) -> None:
    """``scan ssh://ews-lab --ssh-config FILE``: alias, HostName, User, Port, IdentityFile, ProxyJump."""
    bastion, target = pair["bastion"], pair["target"]
    since = _log_size(bastion)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", "ssh://ews-lab", "--type", "host", "--sl", "2", "--ssh-config",
                                      str(_ssh_config(tmp_path, pair)), "--out", str(out), "--quiet"],
                                catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    evidence = json.loads((out / "evidence.json").read_text())
    items = evidence["assets"][0]["items"]
    info = json.loads(next(i["response"] for i in items if i["request"]["op"] == "session"))
    assert info["host"] == TARGET_ADDRESS and info["port"] == target.port
    assert info["jump_hosts"] == [f"{bastion.username}@127.0.0.1:{bastion.port}"]
    assert info["host_key_fingerprint"] == target.host_key_fingerprints[info["host_key_type"]]
    assert info["trusted_on_first_use"] is False
    wire = next(i for i in items if i["request"]["op"] == "wire")
    assert wire["status"] == "ok" and "kex_algorithms" in json.loads(wire["response"])
    assert _forwarded_to(bastion, since, target.port), _new_log(bastion, since)[-3000:]


async def test_inventory_jump_host_by_id_for_a_zone(pair) -> None:
    bastion, target = pair["bastion"], pair["target"]
    inventory = Inventory.model_validate({
        "jump_hosts": [{"id": "bastion-1", "address": "127.0.0.1", "port": bastion.port,
                        "username": bastion.username, "key_file": str(bastion.client_key)}],
        "zones": [{"id": "cell-1", "jump": "bastion-1"}],
        "assets": [{"id": "ews-01", "type": "host", "zone": "cell-1", "address": TARGET_ADDRESS, "endpoints": [
            {"protocol": "ssh", "port": target.port, "username": target.username, "timeout": TIMEOUT,
             "key_file": str(target.client_key), "known_hosts": str(pair["known_hosts"])}]}]})
    asset = inventory.assets[0]
    since = _log_size(bastion)
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20)).collect(
        [ssh_exec("id -un"), request("ssh", "session", "info"), request("ssh", "wire", "kexinit")])
    got = {item.request.key: item for item in items}
    assert got["ssh:exec:id -un"].response == f"{target.username}\n"
    assert got["ssh:wire:kexinit"].status == "ok"
    assert got["ssh:session:info"].data()["jump_hosts"] == [f"{bastion.username}@127.0.0.1:{bastion.port}"]
    assert _forwarded_to(bastion, since, target.port)


async def test_jump_host_key_is_verified_too(pair, tmp_path: Path) -> None:
    bastion, target = pair["bastion"], pair["target"]
    only_target = tmp_path / "known_hosts"
    only_target.write_text(target.known_hosts.read_text())
    asset = Asset.model_validate({"id": "ews-01", "type": "host", "address": TARGET_ADDRESS, "endpoints": [
        {"protocol": "ssh", "port": target.port, "username": target.username, "timeout": TIMEOUT,
         "key_file": str(target.client_key), "known_hosts": str(only_target),
         "jump": f"{bastion.username}@127.0.0.1:{bastion.port}"}]})
    from connectors.base import ConnectorError

    with pytest.raises(ConnectorError, match=r"jump host 127\.0\.0\.1.*is not in known_hosts"):
        await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20)).collect([ssh_exec("id -un")])


@pytest.mark.parametrize("key_format", [[], ["-m", "PEM"]], ids=["openssh", "pem"])
async def test_encrypted_key_with_passphrase_from_the_environment(pair, tmp_path: Path, monkeypatch,
                                                                  key_format: list[str]) -> None:
    target = pair["target"]
    key = tmp_path / "enc_key"
    kind = ["-t", "ecdsa"] if key_format else ["-t", "ed25519"]
    subprocess.run(["ssh-keygen", "-q", *kind, *key_format, "-N", "field pass", "-C", "iacs-enc", "-f", str(key)],
                   check=True, stdin=subprocess.DEVNULL, timeout=30)
    assert (b"BEGIN EC PRIVATE KEY" in key.read_bytes()) == bool(key_format)
    target.authorize(key.with_name("enc_key.pub").read_text())
    monkeypatch.setenv("IACS_TEST_FIELD_PASSPHRASE", "field pass")
    asset = Asset.model_validate({"id": "ews-01", "type": "host", "address": TARGET_ADDRESS, "endpoints": [
        {"protocol": "ssh", "port": target.port, "username": target.username, "timeout": TIMEOUT,
         "key_file": str(key), "key_passphrase_env": "IACS_TEST_FIELD_PASSPHRASE",
         "known_hosts": str(pair["known_hosts"])}]})
    check_ssh_credentials("inv", [asset], ScanOptions())  # no exception: usable
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20)).collect(
        [ssh_exec("id -un")])
    assert items[0].response == f"{target.username}\n"
    monkeypatch.delenv("IACS_TEST_FIELD_PASSPHRASE")
    no_env = asset.model_copy(update={"endpoints": [asset.endpoints[0].model_copy(
        update={"key_passphrase_env": None})]})
    with pytest.raises(ConfigError, match=r"assets \(ews-01\)\.endpoints\[0\].*encrypted.*key_passphrase_env"):
        check_ssh_credentials("inv", [no_env], ScanOptions())


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Path]:
    sock = Path(tempfile.mkdtemp(prefix="iacs-agent-")) / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sock.exists(), "ssh-agent did not create its socket"
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        shutil.rmtree(sock.parent, ignore_errors=True)


async def test_agent_is_used_by_default(pair, agent: Path, monkeypatch) -> None:
    """SSH_AUTH_SOCK set and the key loaded: no key_file and no use_agent flag needed."""
    target = pair["target"]
    env = dict(os.environ, SSH_AUTH_SOCK=str(agent))
    subprocess.run(["ssh-add", str(target.client_key)], env=env, check=True, capture_output=True, timeout=10,
                   stdin=subprocess.DEVNULL)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent))
    asset = Asset.model_validate({"id": "ews-01", "type": "host", "address": TARGET_ADDRESS, "endpoints": [
        {"protocol": "ssh", "port": target.port, "username": target.username, "timeout": TIMEOUT,
         "known_hosts": str(pair["known_hosts"])}]})
    check_ssh_credentials("inv", [asset], ScanOptions())
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20)).collect(
        [ssh_exec("id -un"), request("ssh", "session", "info")])
    got = {item.request.key: item for item in items}
    assert got["ssh:exec:id -un"].response == f"{target.username}\n"
    assert got["ssh:session:info"].data()["auth_method_used"] == "publickey"
    with pytest.raises(ConfigError, match="agent is turned off"):
        check_ssh_credentials("inv", [asset], ScanOptions(use_agent=False))


def test_missing_credential_exits_2_before_any_connection(pair, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/id_* nor ~/.ssh/config of whoever runs the tests
    target = pair["target"]
    since = _log_size(target)
    result = CliRunner().invoke(cli, ["scan", f"ssh://{target.username}@{TARGET_ADDRESS}:{target.port}",
                                      "--type", "host", "--sl", "2", "--known-hosts", str(pair["known_hosts"]),
                                      "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 2
    message = result.stderr
    assert f"assets ({TARGET_ADDRESS}).endpoints[0]" in message and "no credential" in message
    assert "ssh-add" in message and "key_file" in message
    missing = CliRunner().invoke(cli, ["scan", f"ssh://{target.username}@{TARGET_ADDRESS}:{target.port}",
                                       "--type", "host", "--key", str(tmp_path / "nope"),
                                       "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    time.sleep(0.2)
    assert "Connection from" not in _new_log(target, since)
    assert not (tmp_path / "out").exists()


def test_refused_authentication_is_one_line_for_the_asset(pair, tmp_path: Path) -> None:
    target = pair["target"]
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True,
                   stdin=subprocess.DEVNULL, timeout=30)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", f"ssh://{target.username}@{TARGET_ADDRESS}:{target.port}",
                                      "--type", "host", "--sl", "2", "--key", str(stranger), "--known-hosts",
                                      str(pair["known_hosts"]), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 3
    for stream in (result.stderr, result.stdout):  # the progress line, then the summary: once each, per asset
        lines = [line for line in stream.splitlines() if "authentication as" in line]
        assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    asset = json.loads((out / "result.json").read_text())["assets"][0]
    assert asset["status"] == "error" and "authentication as 'iacsaudit' failed" in asset["error"]


def _keygen(path: Path, passphrase: str = "") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True,
                   stdin=subprocess.DEVNULL, timeout=30)
    return path


async def test_agent_keys_never_crowd_out_the_key_file(pair, agent: Path, tmp_path: Path, monkeypatch) -> None:
    """Three unrelated agent keys and the right key in a file: the hardened host's MaxAuthTries 3 still lets
    the key file in (OpenSSH's order: matching agent keys, other agent keys, file keys, capped)."""
    target = pair["target"]
    env = dict(os.environ, SSH_AUTH_SOCK=str(agent))
    for index in range(3):
        subprocess.run(["ssh-add", str(_keygen(tmp_path / f"other{index}"))], env=env, check=True,
                       capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent))
    asset = Asset.model_validate({"id": "ews-01", "type": "host", "address": TARGET_ADDRESS, "endpoints": [
        {"protocol": "ssh", "port": target.port, "username": target.username, "timeout": TIMEOUT,
         "key_file": str(target.client_key), "known_hosts": str(pair["known_hosts"])}]})
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20)).collect(
        [ssh_exec("id -un")])
    assert items[0].response == f"{target.username}\n"


async def test_encrypted_key_in_the_agent_needs_no_passphrase(pair, agent: Path, tmp_path: Path,
                                                              monkeypatch) -> None:
    target = pair["target"]
    key = _keygen(tmp_path / "agent_enc", "only the agent knows")
    target.authorize(key.with_name("agent_enc.pub").read_text())
    env = dict(os.environ, SSH_AUTH_SOCK=str(agent), SSH_ASKPASS_REQUIRE="never")
    # ssh-add reads the passphrase from a terminal only; load the decrypted copy instead
    plain = tmp_path / "agent_plain"
    shutil.copy(key, plain)
    os.chmod(plain, 0o600)
    subprocess.run(["ssh-keygen", "-q", "-p", "-P", "only the agent knows", "-N", "", "-f", str(plain)],
                   check=True, stdin=subprocess.DEVNULL, timeout=30)
    subprocess.run(["ssh-add", str(plain)], env=env, check=True, capture_output=True, timeout=10,
                   stdin=subprocess.DEVNULL)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent))
    asset = Asset.model_validate({"id": "ews-01", "type": "host", "address": TARGET_ADDRESS, "endpoints": [
        {"protocol": "ssh", "port": target.port, "username": target.username, "timeout": TIMEOUT,
         "key_file": str(key), "identities_only": True, "known_hosts": str(pair["known_hosts"])}]})
    check_ssh_credentials("inv", [asset], ScanOptions())  # no passphrase asked, none needed
    items = await SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20)).collect(
        [ssh_exec("id -un")])
    assert items[0].response == f"{target.username}\n"


def test_cli_key_passphrase_env(pair, tmp_path: Path, monkeypatch) -> None:
    """``--key K --key-passphrase-env VAR`` (the issue's TypeError: password must be bytes)."""
    target = pair["target"]
    key = _keygen(tmp_path / "cli_enc", "cli words")
    target.authorize(key.with_name("cli_enc.pub").read_text())
    monkeypatch.setenv("IACS_TEST_CLI_PASSPHRASE", "cli words")
    common = ["scan", f"ssh://{target.username}@{TARGET_ADDRESS}:{target.port}", "--type", "host", "--sl", "2",
              "--key", str(key), "--known-hosts", str(pair["known_hosts"]), "--quiet"]
    ok = CliRunner().invoke(cli, [*common, "--key-passphrase-env", "IACS_TEST_CLI_PASSPHRASE",
                                  "--out", str(tmp_path / "ok")], catch_exceptions=False)
    assert ok.exit_code in (0, 1), ok.output
    asset = json.loads((tmp_path / "ok" / "result.json").read_text())["assets"][0]
    assert asset["status"] == "assessed"
    refused = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "no")], catch_exceptions=False)
    assert refused.exit_code == 2 and "is encrypted" in refused.stderr and "--key-passphrase-env" in refused.stderr
