"""The SSH connector against REAL OpenSSH daemons (tests/support/real_sshd.py), weak and hardened.

Proves on a real sshd and a real shell what the simulator tests can only emulate: the batch script
runs under the user's login shell, ``timeout`` bounds a command, sudo falls back to the user when the
account may not use it, the pre-auth banner and offered methods differ between the two configs, and
the wire probe sees the weak algorithms only on the weak daemon.

Needs root and openssh-server: skipped locally without them, failed under CI=true.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import request, ssh_exec
from connectors.base import ConnectorError, ScanOptions
from connectors.ssh.connector import SshConnector
from tests.support.real_sshd import HARDENED_BANNER, RealSshd, weak_and_hardened

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def daemons() -> Iterator[dict[str, RealSshd]]:
    with weak_and_hardened("iacs-conn") as pair:
        yield pair


def connector(server: RealSshd, options: ScanOptions | None = None, **endpoint: Any) -> SshConnector:
    fields = {"protocol": "ssh", "port": server.port, "username": server.username, "timeout": TIMEOUT,
              "key_file": str(server.client_key), "known_hosts": str(server.known_hosts), **endpoint}
    asset = Asset.model_validate({"id": f"real-{server.profile}", "type": "host", "address": server.host,
                                  "endpoints": [fields]})
    return SshConnector(asset, asset.endpoints[0], options or ScanOptions(command_timeout=20))


def by_key(items: list[EvidenceItem]) -> dict[str, EvidenceItem]:
    return {item.request.key: item for item in items}


REQUESTS = [
    ssh_exec("id -un"),
    ssh_exec("id -un", sudo=True),
    ssh_exec('echo "$LC_ALL"'),
    ssh_exec("command -v sshd"),  # /usr/sbin is on PATH although sshd's default PATH lacks it
    ssh_exec("printf 'a\\377b'"),
    ssh_exec("no-such-tool-iacs --version"),
    ssh_exec("cat /etc/shadow", sudo=True),
    request("ssh", "session", "info"),
    request("ssh", "wire", "kexinit"),
]


@pytest.fixture(scope="module")
async def collected(daemons: dict[str, RealSshd]) -> dict[str, dict[str, EvidenceItem]]:
    result = {}
    for profile, server in daemons.items():
        items = await connector(server).collect(REQUESTS)
        assert len(items) == len(REQUESTS)
        result[profile] = by_key(items)
    return result


@pytest.mark.parametrize("profile", ["weak", "hardened"])
async def test_commands_on_a_real_host(collected, daemons, profile: str) -> None:
    got = collected[profile]
    user = daemons[profile].username
    assert (got["ssh:exec:id -un"].status, got["ssh:exec:id -un"].response) == ("ok", f"{user}\n")
    assert got['ssh:exec:echo "$LC_ALL"'].response == "C\n"
    assert got["ssh:exec:command -v sshd"].response.strip().endswith("/sbin/sshd")
    assert got["ssh:exec:printf 'a\\377b'"].response == "a\ufffdb"
    missing = got["ssh:exec:no-such-tool-iacs --version"]
    assert (missing.status, missing.exit_code) == ("ok", 127)


@pytest.mark.parametrize("profile", ["weak", "hardened"])
async def test_sudo_falls_back_to_the_user(collected, daemons, profile: str) -> None:
    got = collected[profile]
    as_sudo = got["ssh:exec:id -un[sudo=True]"]
    assert as_sudo.response == f"{daemons[profile].username}\n" and as_sudo.meta["sudo"] is False
    shadow = got["ssh:exec:cat /etc/shadow[sudo=True]"]
    assert shadow.status == "ok" and shadow.exit_code != 0 and "Permission denied" in shadow.response
    info = got["ssh:session:info"].data()
    assert info["sudo"] is False and info["sudo_checked"] is True


async def test_session_info_differs(collected, daemons) -> None:
    weak = collected["weak"]["ssh:session:info"].data()
    hardened = collected["hardened"]["ssh:session:info"].data()
    for profile, info in (("weak", weak), ("hardened", hardened)):
        server = daemons[profile]
        assert info["port"] == server.port and info["username"] == server.username
        assert info["server_version"].startswith("SSH-2.0-OpenSSH_")
        assert info["host_key_fingerprint"] == server.host_key_fingerprints[info["host_key_type"]]
        assert info["auth_method_used"] == "publickey" and info["round_trips"] == 1
        assert info["trusted_on_first_use"] is False
    assert "password" in weak["auth_methods"]
    assert "password" not in hardened["auth_methods"] and "publickey" in hardened["auth_methods"]
    assert weak["banner"] is None
    assert hardened["banner"] == HARDENED_BANNER


async def test_wire_probe_differs(collected, daemons) -> None:
    weak = collected["weak"]["ssh:wire:kexinit"].data()
    hardened = collected["hardened"]["ssh:wire:kexinit"].data()
    enabled = daemons["weak"].weak_algorithms
    weak_kex = set(enabled.get("KexAlgorithms", []))
    weak_ciphers = set(enabled.get("Ciphers", []))
    assert weak_kex or weak_ciphers, f"this OpenSSH refused every weak algorithm: {daemons['weak'].rejected_algorithms}"
    assert weak_kex <= set(weak["kex_algorithms"])
    assert weak_ciphers <= set(weak["encryption_algorithms_client_to_server"])
    assert not weak_kex & set(hardened["kex_algorithms"])
    assert not weak_ciphers & set(hardened["encryption_algorithms_client_to_server"])
    assert not any(c.endswith("-cbc") for c in hardened["encryption_algorithms_client_to_server"])


async def test_hanging_command_is_killed_by_timeout(daemons) -> None:
    conn = connector(daemons["hardened"], options=ScanOptions(command_timeout=4))  # 2 s per command
    started = time.monotonic()
    items = by_key(await conn.collect([ssh_exec("sleep 30"), ssh_exec("id -un")]))
    assert time.monotonic() - started < 4
    assert (items["ssh:exec:sleep 30"].exit_code, items["ssh:exec:sleep 30"].status) == (124, "error")
    assert items["ssh:exec:id -un"].status == "ok"


async def test_unknown_host_key_of_a_real_daemon(daemons, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(ConnectorError, match=r"is not in known_hosts .*--trust-on-first-use"):
        await connector(daemons["hardened"], known_hosts=str(empty)).collect([ssh_exec("id -un")])
    items = await connector(daemons["hardened"], known_hosts=str(empty),
                            options=ScanOptions(trust_on_first_use=True)).collect([request("ssh", "session", "info")])
    assert by_key(items)["ssh:session:info"].data()["trusted_on_first_use"] is True
    assert f"[127.0.0.1]:{daemons['hardened'].port} ssh-ed25519 " in empty.read_text()


LANE_REQUESTS = [ssh_exec("sleep 1; echo main"), ssh_exec("sleep 1; echo slow-a", lane="a"),
                 ssh_exec("sleep 1; echo slow-b", lane="b"), request("ssh", "session", "info")]


async def test_lanes_run_side_by_side_on_one_connection(daemons) -> None:
    started = time.monotonic()
    items = await connector(daemons["hardened"]).collect(LANE_REQUESTS)
    elapsed = time.monotonic() - started
    found = {item.request.target: item for item in items}
    assert [found[f"sleep 1; echo {w}"].text().strip() for w in ("main", "slow-a", "slow-b")] == ["main", "slow-a",
                                                                                                  "slow-b"]
    info = found["info"].data()
    assert info["exec_channels"] == 3 and info["round_trips"] == 1 and info["lanes"] == ["main", "a", "b"]
    assert elapsed < 2.8, elapsed  # three 1 s commands at once, not one after another


async def test_a_server_allowing_one_session_gets_the_lanes_one_after_another(tmp_path: Path) -> None:
    workdir = tmp_path / "one-session"
    workdir.mkdir()
    workdir.chmod(0o755)
    with RealSshd("hardened", workdir, extra_config=["MaxSessions 1"]) as server:
        items = await connector(server).collect(LANE_REQUESTS)
    found = {item.request.target: item for item in items}
    assert all(item.status == "ok" for item in items), [i.error for i in items if i.status != "ok"]
    assert found["sleep 1; echo slow-b"].text().strip() == "slow-b"
    info = found["info"].data()
    # two lanes refused, then run in turn (again if sshd was still closing the previous channel)
    assert info["exec_channels"] >= 5 and info["round_trips"] >= 3
