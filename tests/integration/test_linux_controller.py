"""A Linux-based controller reached over SSH is an ``embedded`` asset: the Linux checks whose evidence applies to it
run from the same one-exec collection, judge CR and EDR rows, and the host-only checks stay away; the scan
sent nothing but the declared read-only commands."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.registry import REGISTRY
from simulators.plant import Plant, PlantHost

CONTROLLER = PlantHost("plc-lx", "controller", "127.0.43.24", "control", type="embedded",
                       description="Linux-based PLC")


@pytest.fixture(scope="module")
def scanned():
    workdir = Path(tempfile.mkdtemp(prefix="iacs-linux-controller-"))
    try:
        with Plant(workdir, [CONTROLLER], timeout=5.0) as plant:
            result = CliRunner().invoke(cli, ["scan", "--inventory", str(plant.inventory_path), "--sl", "2", "--out",
                                              str(workdir / "out"), "--quiet"], catch_exceptions=False)
            requests = list(plant.simulators[CONTROLLER.id].requests)
            yield result, json.loads((workdir / "out" / "result.json").read_text())["assets"][0], requests
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_linux_checks_for_controllers_judge_cr_and_edr_rows(scanned) -> None:
    result, asset, _ = scanned
    assert result.exit_code == 1 and asset["status"] == "assessed" and asset["type"] == "embedded"
    verdicts = {r["check_id"]: r["status"] for r in asset["results"]}
    registry = REGISTRY.load()
    expected = {c.id for c in registry.for_type("embedded") if c.id.startswith("linux.")}
    assert set(verdicts) == expected  # only the Linux checks (no other endpoint), and every one of them ran
    assert not any(c.startswith(("linux.audit.", "linux.updates.", "linux.fim.", "linux.malware.")) for c in verdicts)
    assert verdicts["linux.sshd.permit-root-login"] == "pass" and verdicts["linux.firewall.default-deny"] == "pass"
    # the controller routes between its ports: network segmentation (CR 5.1) is unmet by device evidence
    assert verdicts["linux.network.ip-forwarding"] == "fail"
    rows = {r["id"]: r for r in asset["requirements"]}
    assert (rows["CR 5.1"]["verdict"], rows["CR 5.1"]["source"]) == ("unmet", "evidence")
    assert rows["CR 6.2"]["verdict"] == "met"  # remote log forwarding
    # EDR 3.10: the firmware's release is not in the support table, so a person confirms it
    assert "linux.inventory.os-release" in rows["EDR 3.10"]["checks"] and verdicts["linux.inventory.os-release"] == "manual"
    assert not any(r.startswith("HDR ") for r in rows)
    # no package manager on the firmware: never a pass on a package list nobody read
    assert verdicts["linux.services.insecure"] == "manual"


def test_the_controller_saw_one_session_and_only_declared_commands(scanned) -> None:
    _, _, requests = scanned
    declared = {r.target for f in REGISTRY.load().facts.values() for r in f.requests if r.op == "exec"}
    execs = [r for r in requests if r["kind"] == "exec"]
    assert execs and len(execs) <= 3  # the main script and its two slow lanes
    sent = {c["command"] for r in execs for c in r["commands"]}
    assert sent and sent <= declared
    assert not [r for r in requests if r.get("refused")]
