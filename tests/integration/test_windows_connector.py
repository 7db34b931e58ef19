"""The SSH connector against the simulator's Windows personality (OpenSSH for Windows) on 127.0.31.x.

What was tested here is the simulator, not a real Windows: the simulator reads the PowerShell script the
connector sends with its own reader and answers each section from its fixture, as the runner would print.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import paramiko
import pytest
import yaml

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from connectors.base import ScanOptions
from connectors.ssh.connector import SshConnector
from simulators.ssh.server import FIXTURES, SshSimulator
from tests.support.keys import write_client_key

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[paramiko.PKey, Path]:
    return write_client_key(tmp_path_factory.mktemp("windows-connector"))


@pytest.fixture(scope="module")
def weak(client_key) -> Iterator[SshSimulator]:
    with SshSimulator("windows-weak", host="127.0.31.1", authorized_key=client_key[0]) as server:
        yield server


@pytest.fixture(scope="module")
def linux(client_key) -> Iterator[SshSimulator]:
    with SshSimulator("hardened", host="127.0.31.3", authorized_key=client_key[0]) as server:
        yield server


def collect(sim: SshSimulator, client_key, tmp_path: Path, *, platform: str | None = None,
            command_timeout: float = 20) -> list[EvidenceItem]:
    known = tmp_path / "known_hosts"
    known.write_text(sim.known_hosts_line)
    data: dict[str, Any] = {"id": "w", "type": "host", "address": sim.host,
                            "endpoints": [{"protocol": "ssh", "port": sim.port, "username": "auditor",
                                           "key_file": str(client_key[1]), "known_hosts": str(known),
                                           "timeout": TIMEOUT}]}
    if platform:
        data["platform"] = platform
    asset = Asset.model_validate(data)
    connector = SshConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=command_timeout))
    requests = [r for spec in REGISTRY.load().facts.values() for r in spec.requests if r.protocol == "ssh"]
    return asyncio.run(connector.collect(list({r.key: r for r in requests}.values())))


def info_of(items: list[EvidenceItem]) -> dict[str, Any]:
    return next(i for i in items if i.request.key == "ssh:session:info").data()


def test_one_powershell_exec_answers_every_windows_section(weak, client_key, tmp_path) -> None:
    before = len(weak.requests)
    items = collect(weak, client_key, tmp_path)
    info = info_of(items)
    assert (info["platform"], info["platform_source"]) == ("windows", "identification")
    assert info["server_version"] == "SSH-2.0-OpenSSH_for_Windows_8.1" and info["round_trips"] == 1
    assert info["not_run_other_platform"] == len({r.key for f in REGISTRY.facts.values() for r in f.requests
                                                  if r.op == "exec"})  # the Linux pack's commands were not sent
    sections = [i for i in items if i.request.op == "powershell"]
    assert len(sections) == len([r for r in REGISTRY.named_requests().values() if r.op == "powershell"])
    assert all(i.status == "ok" and i.exit_code == 0 for i in sections), [i.error for i in sections if i.error]
    assert not [i for i in items if i.request.op == "exec"]
    os_item = next(i for i in sections if REGISTRY.request_name(i.request) == "windows.os")
    assert json.loads(os_item.response)["Caption"] == "Microsoft Windows 10 IoT Enterprise LTSC"
    execs = [r for r in weak.requests[before:] if r["kind"] == "exec"]
    assert len(execs) == 1 and execs[0]["command"].startswith("powershell.exe -NoProfile -NonInteractive")
    assert all(c["name"] for c in execs[0]["commands"]) and not [r for r in weak.requests[before:] if r.get("refused")]


def test_a_section_beyond_its_time_bound_is_an_error(client_key, tmp_path) -> None:
    folder = tmp_path / "slow"
    shutil.copytree(FIXTURES / "windows-hardened", folder)
    data = yaml.safe_load((folder / "host.yaml").read_text())
    data["requests"]["windows.hotfixes"]["sleep"] = 3
    (folder / "host.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with SshSimulator(folder, host="127.0.31.2", authorized_key=client_key[0]) as sim:
        items = collect(sim, client_key, tmp_path, command_timeout=4)
    by_name = {REGISTRY.request_name(i.request): i for i in items if i.request.op == "powershell"}
    assert by_name["windows.hotfixes"].status == "error" and "timed out" in by_name["windows.hotfixes"].error
    assert by_name["windows.os"].status == "ok" and by_name["windows.software"].status == "ok"


def test_the_inventorys_platform_wins_over_the_identification(linux, client_key, tmp_path) -> None:
    """A Linux host declared Windows gets the PowerShell bootstrap; sh does not know it: every section errs."""
    items = collect(linux, client_key, tmp_path, platform="windows")
    info = info_of(items)
    assert (info["platform"], info["platform_source"]) == ("windows", "inventory")
    sections = [i for i in items if i.request.op == "powershell"]
    assert sections and all(i.status == "error" for i in sections)


def test_a_linux_host_gets_only_the_sh_script(linux, client_key, tmp_path) -> None:
    before = len(linux.requests)
    items = collect(linux, client_key, tmp_path)
    assert info_of(items)["platform"] == "linux"
    assert not [i for i in items if i.request.op == "powershell"]
    execs = [r for r in linux.requests[before:] if r["kind"] == "exec"]
    assert execs and not any("script" in r for r in execs)  # sh scripts (the main one and its lanes), no PowerShell
    assert not [c for r in execs for c in r["commands"] if (c["name"] or "").startswith("windows.")]
