"""End-to-end: the CLI scans two simulated Windows hosts (OpenSSH for Windows) through the real SSH connector.

The hosts are the SSH simulator's Windows personality on 127.0.31.11/.12 (a weak Windows 10 IoT LTSC HMI and
a hardened Windows Server 2022 historian): what is proven here is the connector against the simulator,
not against a real Windows.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.registry import REGISTRY
from simulators.plant import Plant, PlantHost

HOSTS = [PlantHost("hmi-w", "windows-weak", "127.0.31.11", "control", description="Windows 10 IoT LTSC HMI"),
         PlantHost("hist-w", "windows-hardened", "127.0.31.12", "dmz", description="Windows Server 2022 historian")]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("windows")
    with Plant(root / "plant", HOSTS) as plant:
        result = run("scan", "--inventory", str(plant.inventory_path), "--sl", "2", "--out", str(root / "out"),
                     "--quiet")
        logs = {host: sim.requests for host, sim in plant.simulators.items()}
    return result, root / "out", logs


def test_both_windows_hosts_are_judged_by_the_windows_pack(scanned) -> None:
    result, out, _ = scanned
    assert result.exit_code == 1, result.stderr  # the weak HMI falls short
    assets = {a["id"]: a for a in json.loads((out / "result.json").read_text())["assets"]}
    for asset_id, wanted in (("hmi-w", "weak"), ("hist-w", "hardened")):
        results = {r["check_id"]: r for r in assets[asset_id]["results"]}
        windows = {cid: r["status"] for cid, r in results.items() if cid.startswith("windows.")}
        assert len(windows) >= 35
        assert windows == {cid: REGISTRY.check(cid).fixture_verdicts[wanted] for cid in windows}
        assert not [cid for cid in results if cid.startswith("linux.")]  # another platform: not run, not listed
        assert all(r["evidence"] for cid, r in results.items() if cid.startswith("windows."))
    assert assets["hmi-w"]["technical"]["unmet"] and not assets["hist-w"]["technical"]["unmet"]
    assert assets["hist-w"]["sl_achieved"]["FR5"] >= 2  # segmentation rows met by its evidence alone


def test_one_powershell_exec_per_host_and_the_platform_is_in_the_evidence(scanned) -> None:
    _, out, logs = scanned
    for host, log in logs.items():
        execs = [r for r in log if r["kind"] == "exec"]
        assert len(execs) == 1 and execs[0]["command"].startswith("powershell.exe -NoProfile")
        assert all(c["name"] and c["name"].startswith("windows.") for c in execs[0]["commands"])
        assert not [r for r in log if r.get("refused")]
    bundle = json.loads((out / "evidence.json").read_text())
    for asset in bundle["assets"]:
        info = next(i for i in asset["items"] if i["request"]["op"] == "session")
        assert json.loads(info["response"])["platform"] == "windows"


def test_rescore_decides_the_same_offline(scanned, tmp_path) -> None:
    _, out, _ = scanned
    assert run("rescore", str(out / "evidence.json"), "--sl", "2", "--out", str(tmp_path), "--quiet").exit_code == 1

    def verdicts(path):
        return {a["id"]: {r["check_id"]: r["status"] for r in a["results"]}
                for a in json.loads(path.read_text())["assets"]}

    assert verdicts(tmp_path / "result.json") == verdicts(out / "result.json")
