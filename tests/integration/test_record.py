"""``python -m simulators.record``: a device recorded through the real connectors becomes a simulator fixture.

* SSH: the weak and hardened simulators recorded and served again give the same verdict for every host
  check (and the recording IS the fixture: the same answers under the same names); a real OpenSSH sshd
  (tests/support/real_sshd.py) recorded and served by the simulator gives the same verdicts as the real
  daemon; secrets used to log in are never written.
* SNMP: the weak (v2c, default-community probe on) and hardened (v3 only) simulators, and a real net-snmp
  snmpd, recorded and served again give the same verdict for every SNMP check; community and v3 keys are
  never written.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import paramiko
import pytest
import yaml

from auditor.assessment.evaluate import FactCache, run_check
from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from connectors.base import ScanOptions
from connectors.snmp.connector import SnmpConnector
from connectors.ssh.connector import SshConnector
from simulators.record import SIM_AUTH_KEY, main, record_snmp, record_ssh
from simulators.snmp import plant as snmp_plant
from simulators.ssh.server import FIXTURES, SshSimulator, load_fixture
from tests.support.keys import write_client_key


# ----------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[paramiko.PKey, Path]:
    return write_client_key(tmp_path_factory.mktemp("record-key"))


def checks_of(protocol: str) -> list[Any]:
    registry = REGISTRY.load()
    return sorted((c for c in registry.checks.values() if c.pack.startswith("checks.")
                   and {registry.facts[f].protocol for f in c.facts} == {protocol}), key=lambda c: c.id)


def verdicts(items: list[EvidenceItem], protocol: str) -> dict[str, tuple[str, Any]]:
    cache = FactCache(items, REGISTRY)
    results = {}
    for spec in checks_of(protocol):
        verdict = run_check(spec, cache, spec.params)[0]
        results[spec.id] = (verdict.status, verdict.reason)
    return results


def same_verdicts(before: dict[str, tuple[str, Any]], after: dict[str, tuple[str, Any]]) -> None:
    assert before.keys() == after.keys()
    changed = {k: (before[k], after[k]) for k in before if before[k][0] != after[k][0]}
    assert not changed, changed


def ssh_asset(host: str, port: int, user: str, key: Path, known_hosts: Path, **extra: Any) -> Asset:
    endpoint = {"protocol": "ssh", "port": port, "username": user, "key_file": str(key),
                "known_hosts": str(known_hosts), "timeout": 5.0, **extra}
    return Asset.model_validate({"id": "rec", "type": "host", "address": host, "endpoints": [endpoint]})


def ssh_scan(asset: Asset) -> list[EvidenceItem]:
    registry = REGISTRY.load()
    requests = registry.requests_for(checks_of("ssh"))["ssh"]
    return asyncio.run(SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=60)).collect(requests))


def serve_and_scan(folder: Path, client_key: tuple[paramiko.PKey, Path], tmp: Path) -> list[EvidenceItem]:
    with SshSimulator(folder, authorized_key=client_key[0]) as sim:
        known = tmp / f"known-{sim.port}"
        known.write_text(sim.known_hosts_line)
        items = ssh_scan(ssh_asset(sim.host, sim.port, "auditor", client_key[1], known))
        assert {r["kind"] for r in sim.requests} <= {"connect", "auth", "exec"}
        named = [c for r in sim.exec_requests() for c in r["commands"]]
        assert named and all(c["name"] for c in named), [c["command"][:40] for c in named if not c["name"]]
        return items


def all_text(folder: Path) -> str:
    return "".join(p.read_text() for p in sorted(folder.iterdir()) if p.is_file())


# ----------------------------------------------------------------------------------------- SSH
@pytest.mark.parametrize("fixture", ["weak", "hardened"])
def test_ssh_recording_of_the_simulator_is_its_fixture(fixture: str, client_key, tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    with SshSimulator(fixture, authorized_key=client_key[0]) as sim:
        known = tmp_path / "known_hosts"
        known.write_text(sim.known_hosts_line)
        code = main(["ssh", "--host", sim.host, "--port", str(sim.port), "--user", "auditor", "--key",
                     str(client_key[1]), "--known-hosts", str(known), "--hostname", f"{fixture}-host",
                     "--out", str(out)])
        assert code == 0
        original = verdicts(ssh_scan(ssh_asset(sim.host, sim.port, "auditor", client_key[1], known)), "ssh")
    recorded, builtin = load_fixture(out), load_fixture(fixture)
    assert recorded.requests == builtin.requests      # same answers (with {port}), same names, unprivileged too
    assert recorded.host == builtin.host              # version, banner, methods, algorithms, sudo, key type
    assert not recorded.commands
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["host.yaml", *{f"{name.split('.')[0]}.yaml" for name in recorded.requests}])
    same_verdicts(original, verdicts(serve_and_scan(out, client_key, tmp_path), "ssh"))
    assert main(["ssh", "--host", "127.0.0.1", "--port", "1", "--user", "auditor", "--out", str(out)]) == 2


def test_ssh_recording_without_sudo_and_never_a_secret(client_key, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Password login, no sudo: the fixture says sudo: false, and the password never reaches a file even where
    the host prints it."""
    password = "S3cret-Recording-Passw0rd"
    folder = tmp_path / "leaky"
    shutil.copytree(FIXTURES / "hardened", folder)
    host = yaml.safe_load((folder / "host.yaml").read_text())
    host["host"].update(sudo=False, auth_methods=["publickey", "password"])
    (folder / "host.yaml").write_text(yaml.safe_dump(host))
    system = yaml.safe_load((folder / "system.yaml").read_text())
    for dump in (system["requests"]["files.dump"], system["requests"]["files.dump"].get("unprivileged", {})):
        dump["stdout"] = dump["stdout"].replace("==> /etc/issue <==\n", f"==> /etc/issue <==\n{password}\n", 1)
        assert password in dump["stdout"]
    (folder / "system.yaml").write_text(yaml.safe_dump(system))
    monkeypatch.setenv("IACS_RECORD_PASSWORD", password)
    with SshSimulator(folder, password=password) as sim:
        known = tmp_path / "known_hosts"
        known.write_text(sim.known_hosts_line)
        asset = Asset.model_validate({"id": "rec", "type": "host", "address": sim.host, "endpoints": [
            {"protocol": "ssh", "port": sim.port, "username": "auditor", "password_env": "IACS_RECORD_PASSWORD",
             "known_hosts": str(known), "timeout": 5.0}]})
        recording = record_ssh(asset, tmp_path / "out", options=ScanOptions(command_timeout=60))
        assert any(r.get("method") == "password" and r["result"] == "ok" for r in sim.requests if r["kind"] == "auth")
    text = all_text(tmp_path / "out")
    assert password not in text, [l for l in text.splitlines() if password in l]
    assert "<redacted>" in text
    assert any("redacted" in note for note in recording.notes)
    assert str(client_key[1]) not in text and "IACS_RECORD_PASSWORD" not in text
    recorded = load_fixture(tmp_path / "out")
    assert recorded.host.sudo is False and recorded.host.auth_methods == ("publickey", "password")
    assert all(c.unprivileged is None for c in recorded.requests.values())  # one view only: the user's


def test_ssh_recording_of_a_real_sshd(client_key, tmp_path: Path) -> None:
    """A real OpenSSH daemon (no sudo for the audit user) recorded, then served by the simulator: same verdicts."""
    from tests.support.real_sshd import RealSshd, require_real_sshd

    require_real_sshd()
    with RealSshd("hardened", tmp_path / "sshd") as server:
        port = server.port
        recording = record_ssh(ssh_asset(server.host, server.port, server.username, server.client_key,
                                         server.known_hosts), tmp_path / "out",
                               options=ScanOptions(command_timeout=60), hostname="real-hardened")
        real = verdicts(recording.items, "ssh")
        key_text = server.client_key.read_text()
    recorded = load_fixture(tmp_path / "out")
    assert recorded.host.version and recorded.host.version.startswith("SSH-2.0-OpenSSH")
    assert recorded.host.sudo is False and recorded.host.banner and "Authorized use only" in recorded.host.banner
    exec_names = {REGISTRY.request_name(r) for r in REGISTRY.requests_for(checks_of("ssh"))["ssh"] if r.op == "exec"}
    assert set(recorded.requests) == exec_names
    for name in ("sshd.effective-config", "sshd.config-files"):  # the daemon's port, from its command line
        stdout = recorded.requests[name].privileged.stdout.decode()
        assert " -p {port} " in stdout and f" -p {port} " not in stdout, stdout[:300]
    assert f"127.0.0.1:{{port}} " in recorded.requests["network.listeners"].privileged.stdout.decode()
    text = all_text(tmp_path / "out")
    assert not any(line in text for line in key_text.splitlines()[1:-1] if len(line) > 20)
    same_verdicts(real, verdicts(serve_and_scan(tmp_path / "out", client_key, tmp_path), "ssh"))


# ----------------------------------------------------------------------------------------- SNMP
class _Plant:
    def __init__(self, workdir: Path):
        self.workdir, self.timeout = workdir, 2.0


class _Host:
    def __init__(self, fixture: str, host_id: str):
        self.fixture, self.id, self.address = fixture, host_id, "127.0.0.1"


def snmp_scan(endpoint: dict[str, Any]) -> tuple[Asset, list[EvidenceItem]]:
    asset = Asset.model_validate({"id": "rec", "type": "network", "address": "127.0.0.1", "endpoints": [endpoint]})
    requests = REGISTRY.load().requests_for(checks_of("snmp"))["snmp"]
    return asset, asyncio.run(SnmpConnector(asset, asset.endpoints[0], ScanOptions()).collect(requests))


@pytest.mark.parametrize("fixture,probe", [("weak", True), ("hardened", False)])
def test_snmp_recording_serves_the_same_verdicts(fixture: str, probe: bool, tmp_path: Path) -> None:
    sim, endpoint = snmp_plant.launch(_Host(fixture, "orig"), _Plant(tmp_path))
    endpoint["probe_default_communities"] = probe
    try:
        asset = Asset.model_validate({"id": "rec", "type": "network", "address": "127.0.0.1",
                                      "endpoints": [endpoint]})
        recording = record_snmp(asset, tmp_path / "recorded.yaml")
    finally:
        sim.stop()
    original = verdicts(recording.items, "snmp")
    text = (tmp_path / "recorded.yaml").read_text()
    for secret in ("sw02-auth-key-demo", "sw02-priv-key-demo"):
        assert secret not in text
    data = yaml.safe_load(text)
    assert data["agent"]["fixture_subtrees"] == ["1.3.6.1.6.3.15", "1.3.6.1.6.3.16"]
    if fixture == "weak":
        assert [c["name"] for c in data["agent"]["communities"]] == ["private", "public"]  # what the probe saw
        assert data["agent"]["clock_offset_s"] in range(-3735, -3714) and data["agent"]["uptime_ticks"] == 4000000000
    else:
        assert data["agent"]["users"][0]["auth_key"] == SIM_AUTH_KEY and not data["agent"]["communities"]
    sim, endpoint = snmp_plant.launch(_Host(str(tmp_path / "recorded.yaml"), "again"), _Plant(tmp_path))
    endpoint["probe_default_communities"] = probe
    try:
        _asset, items = snmp_scan(endpoint)
    finally:
        sim.stop()
    same_verdicts(original, verdicts(items, "snmp"))


def test_snmp_recording_of_a_real_snmpd(tmp_path: Path) -> None:
    from tests.support.real_snmpd import RealSnmpd, require_real_snmpd

    require_real_snmpd()
    with RealSnmpd("hardened", tmp_path / "snmpd") as agent:
        endpoint = agent.endpoint(probe=False)
        asset = Asset.model_validate({"id": "rec", "type": "network", "address": "127.0.0.1",
                                      "endpoints": [endpoint]})
        recording = record_snmp(asset, tmp_path / "recorded.yaml")
        secrets = (agent.auth_key, agent.priv_key)
    text = (tmp_path / "recorded.yaml").read_text()
    assert not any(secret in text for secret in secrets)
    sim, endpoint = snmp_plant.launch(_Host(str(tmp_path / "recorded.yaml"), "again"), _Plant(tmp_path))
    endpoint["probe_default_communities"] = False
    try:
        _asset, items = snmp_scan(endpoint)
    finally:
        sim.stop()
    same_verdicts(verdicts(recording.items, "snmp"), verdicts(items, "snmp"))
