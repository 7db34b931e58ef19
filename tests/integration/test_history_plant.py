"""Periodic audits of the demo plant (SSH hosts): drift after a fixture switch, waivers, windows, SIEM, resume.

Every scan goes into a real history store (SQLite, and PostgreSQL where marked); the plant's simulators
are restarted with another fixture between two scans to produce a known change.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from auditor.cli import cli
from auditor.store import open_store
from reports.json_report import result_schema
from simulators.plant import Plant, PlantHost
from simulators.ssh.server import FIXTURES, SshSimulator
from tests.support.real_postgres import shared_postgres

REPO = Path(__file__).resolve().parents[2]
HOSTS = [PlantHost("ews-01", "hardened", "127.0.10.1", "control", description="Engineering workstation"),
         PlantHost("hmi-01", "weak", "127.0.10.2", "control", description="Operator HMI"),
         PlantHost("hist-01", "hardened", "127.0.10.3", "dmz", description="Historian")]
ROOT_LOGIN = "linux.sshd.permit-root-login"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def results(path: Path) -> dict[str, dict[str, dict]]:
    data = json.loads(path.read_text())
    return {a["id"]: {r["check_id"]: r for r in a["results"]} for a in data["assets"]}


def patched_weak_fixture(tmp: Path) -> Path:
    """The weak fixture after a maintenance visit: root login closed, openssh updated, a Modbus gateway added."""
    folder = tmp / "weak-after-visit"
    shutil.copytree(FIXTURES / "weak", folder)
    sshd = (folder / "sshd.yaml").read_text()
    (folder / "sshd.yaml").write_text(sshd.replace("permitrootlogin yes", "permitrootlogin no")
                                      .replace("PermitRootLogin yes", "PermitRootLogin no"))
    system = (folder / "system.yaml").read_text()
    system = system.replace("openssh-server 1:7.4p1-10+deb9u7", "openssh-server 1:7.4p1-10+deb9u8")
    system = system.replace("      tcp   LISTEN     0      128          *:111                      *:*",
                            "      tcp   LISTEN     0      128          *:111                      *:*\n"
                            "      tcp   LISTEN     0      128          *:502                      *:*", 1)
    assert "*:502" in system and "deb9u8" in system
    (folder / "system.yaml").write_text(system)
    return folder


def restart(plant: Plant, host_id: str, fixture: str | Path, *, new_key: bool = False) -> None:
    """Swap a host's simulator for one with another fixture (same address and port; same host key unless new_key)."""
    old = plant.simulators[host_id]
    old.stop()
    sim = SshSimulator(fixture, host=old.host, port=old.port, username="auditor", authorized_key=plant.client_key,
                       host_key=None if new_key else old.host_key)
    sim.start()
    plant.simulators[host_id] = sim
    plant._write_known_hosts()


@pytest.fixture
def plant(tmp_path):
    with Plant(tmp_path / "plant", list(HOSTS)) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    return shared_postgres().fresh_database()


def test_two_scans_with_a_fixture_switch_show_the_right_drift(plant, tmp_path, db) -> None:
    first = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "a"), "--db", db, "-q")
    assert first.exit_code == 1, first.stderr
    before = results(tmp_path / "a" / "result.json")
    assert before["hmi-01"][ROOT_LOGIN]["status"] == "fail"

    restart(plant, "hmi-01", patched_weak_fixture(tmp_path))
    restart(plant, "ews-01", "hardened", new_key=True)  # host re-installed: new SSH host key
    data = yaml.safe_load(plant.inventory_path.read_text())
    data["assets"] = [a for a in data["assets"] if a["id"] != "hist-01"]  # decommissioned
    extra = SshSimulator("hardened", host="127.0.10.4", port=0, username="auditor", authorized_key=plant.client_key)
    extra.start()
    try:
        with plant.known_hosts.open("a") as handle:
            handle.write(extra.known_hosts_line)
        data["assets"].append({"id": "hist-02", "type": "host", "zone": "dmz", "address": "127.0.10.4",
                               "endpoints": [{**data["assets"][0]["endpoints"][0], "port": extra.port}]})
        second_inventory = tmp_path / "plant-2.yaml"
        second_inventory.write_text(yaml.safe_dump(data))
        second = run("scan", "-i", str(second_inventory), "--out", str(tmp_path / "b"), "--db", db, "-q")
    finally:
        extra.stop()
    assert second.exit_code == 1, second.stderr
    after = json.loads((tmp_path / "b" / "result.json").read_text())
    jsonschema.validate(after, result_schema())
    assert after["scan_id"] == "2"

    shown = run("diff", "1", "2", "--db", db, "--json")
    assert shown.exit_code == 1, shown.stderr  # drift found
    drift = json.loads(shown.stdout)
    assert drift["assets_added"] == ["hist-02"] and drift["assets_gone"] == ["hist-01"]
    by_asset = {a["asset"]: a for a in drift["assets"]}
    hmi, ews = by_asset["hmi-01"], by_asset["ews-01"]
    assert ROOT_LOGIN in [c["check_id"] for c in hmi["newly_passing"]]
    assert not hmi["newly_failing"]
    details = [c["detail"] for c in hmi["evidence"]]
    assert "openssh-server 1:7.4p1-10+deb9u7 -> 1:7.4p1-10+deb9u8" in details
    assert "new listening service: *:502/tcp" in details
    assert not any("host key" in d for d in details)  # same key: no false alarm
    assert [c["change"] for c in ews["evidence"]] == ["replaced"] and "SSH host key" in ews["evidence"][0]["detail"]
    assert not ews["newly_failing"] and not ews["newly_passing"]

    text = run("diff", "--db", db)  # default: previous -> latest
    assert text.exit_code == 1 and f"newly passing: {ROOT_LOGIN} (fail -> pass)" in text.stdout
    assert "+ asset hist-02 added" in text.stdout and "evidence: SSH host key" in text.stdout
    assert run("diff", "2", "2", "--db", db).exit_code == 0

    listing = run("history", "--db", db)
    assert listing.exit_code == 0 and "complete" in listing.stdout and listing.stdout.count("Demo water") == 2
    asset_rows = json.loads(run("history", "--db", db, "--asset", "hmi-01", "--json").stdout)
    assert [row["scan"] for row in asset_rows] == [2, 1]
    assert set(asset_rows[0]["sl_achieved"]) == {f"FR{n}" for n in range(1, 8)}
    # the second report carries the trend of both scans, per asset and per zone
    assert [p["scan_id"] for p in after["history"]["assets"]["hmi-01"]] == ["1", "2"]
    assert [p["scan_id"] for p in after["history"]["zones"]["control"]] == ["1", "2"]
    html = (tmp_path / "b" / "report.html").read_text()
    assert 'class="trend"' in html and "<polyline" in html


def test_waivers_with_and_without_expiry(plant, tmp_path) -> None:
    waivers = tmp_path / "waivers.yaml"
    today = date.today()
    waivers.write_text(yaml.safe_dump({"waivers": [
        {"id": "W-ROOT", "check": ROOT_LOGIN, "assets": ["hmi-01"], "justification": "vendor service logs in as root",
         "compensating_countermeasure": "root login only from the jump host", "approver": "plant manager",
         "expires": (today + timedelta(days=30)).isoformat()},
        {"id": "W-OLD", "check": "linux.sshd.weak-crypto", "zones": ["control"], "justification": "old HMI client",
         "compensating_countermeasure": "VLAN isolation", "approver": "plant manager",
         "expires": (today - timedelta(days=1)).isoformat()},
        {"id": "W-FOREVER", "check": "linux.sshd.password-authentication", "assets": ["hmi-*"],
         "justification": "operators share a kiosk account", "approver": "plant manager"},
    ]}, sort_keys=False))
    assert run("waivers", "check", str(waivers)).exit_code == 0
    out = tmp_path / "out"
    scanned = run("scan", "-i", str(plant.inventory_path), "--out", str(out), "--waivers", str(waivers),
                  "--db", str(tmp_path / "h.sqlite"), "-q")
    assert scanned.exit_code == 1, scanned.stderr
    data = json.loads((out / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    hmi = next(a for a in data["assets"] if a["id"] == "hmi-01")
    checks = {r["check_id"]: r for r in hmi["results"]}
    assert checks[ROOT_LOGIN]["status"] == "waived" and checks[ROOT_LOGIN]["waiver"]["id"] == "W-ROOT"
    assert checks["linux.sshd.password-authentication"]["status"] == "waived"  # no expiry: applies
    assert checks["linux.sshd.weak-crypto"]["status"] == "fail"  # expired: no longer applies ...
    assert checks["linux.sshd.weak-crypto"]["waiver"]["state"] == "expired"
    outcomes = {w["id"]: w for w in data["waivers"]}
    assert outcomes["W-OLD"]["state"] == "expired" and "hmi-01/linux.sshd.weak-crypto" in outcomes["W-OLD"]["lapsed"]
    assert outcomes["W-ROOT"]["applied_to"] == [f"hmi-01/{ROOT_LOGIN}"]
    assert hmi["sl_achieved_with_countermeasures"] is not None
    assert all(hmi["sl_achieved_with_countermeasures"][fr] >= hmi["sl_achieved"][fr] for fr in hmi["sl_achieved"])
    assert not any(r["status"] == "passed" for r in hmi["requirements"] if r["checks"] == [ROOT_LOGIN])
    html = (out / "report.html").read_text()
    assert "SL-A with accepted compensating countermeasures" in html
    # rescore offline with the same waivers gives the same verdicts
    again = run("rescore", str(out / "evidence.json"), "--out", str(tmp_path / "re"), "--waivers", str(waivers), "-q")
    assert again.exit_code == 1
    assert results(tmp_path / "re" / "result.json")["hmi-01"][ROOT_LOGIN]["status"] == "waived"


def test_maintenance_windows_and_window_end(plant, tmp_path) -> None:
    data = yaml.safe_load(plant.inventory_path.read_text())
    now = datetime.now().astimezone()
    closed = (now + timedelta(hours=3)).strftime("%H:%M")
    for asset in data["assets"]:
        if asset["id"] == "hist-01":  # its window opens in 3 hours: not due now
            asset["maintenance_windows"] = [{"start": closed, "end": (now + timedelta(hours=4)).strftime("%H:%M")}]
    data["zones"][0]["limits"] = {"concurrency": 1, "protocols": {"ssh": {"connection_rate": 50}}}
    inventory = tmp_path / "windows.yaml"
    inventory.write_text(yaml.safe_dump(data))
    scanned = run("scan", "-i", str(inventory), "--out", str(tmp_path / "w"))
    assert scanned.exit_code == 1, scanned.stderr  # hist-01 was not due: it does not make the scan exit 3
    result = json.loads((tmp_path / "w" / "result.json").read_text())
    hist = next(a for a in result["assets"] if a["id"] == "hist-01")
    assert hist["status"] == "skipped" and hist["skipped_because"] == "outside_window"
    assert "outside its maintenance window" in hist["error"] and "next opens" in hist["error"]
    assert result["summary"]["skipped"] == 1 and result["summary"]["assessed"] == 2
    assert plant.simulators["hist-01"].requests == []  # never contacted

    ignoring = run("scan", "-i", str(inventory), "--out", str(tmp_path / "w2"), "--ignore-windows", "-q")
    assert json.loads((tmp_path / "w2" / "result.json").read_text())["summary"]["assessed"] == 3

    past = (datetime.now().astimezone() - timedelta(minutes=1)).isoformat(timespec="seconds")
    late = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "late"), "--window-end", past, "-q")
    assert late.exit_code == 3  # assets that should have been audited were not: monitoring must notice
    skipped = json.loads((tmp_path / "late" / "result.json").read_text())["assets"]
    assert {a["skipped_because"] for a in skipped} == {"window_overrun"} and "ended at" in skipped[0]["error"]
    assert run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "x"), "--window-end", "someday").exit_code == 2


class SyslogCollector:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3)
        self.port = self.sock.getsockname()[1]

    def receive(self, count: int) -> list[bytes]:
        out = []
        while len(out) < count:
            out.append(self.sock.recv(65535))
        return out


def test_siem_json_lines_and_syslog(plant, tmp_path) -> None:
    db = str(tmp_path / "h.sqlite")
    run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "a"), "--db", db, "-q")
    restart(plant, "hmi-01", patched_weak_fixture(tmp_path))
    lines = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "b"), "--db", db, "--siem", "jsonl")
    events = [json.loads(line) for line in lines.stdout.splitlines()]  # stdout holds nothing but JSON lines
    kinds = {e["event"] for e in events}
    assert {"scan", "asset", "finding", "drift"} <= kinds
    assert all(e["scan_id"] == "2" and e["source"] == "iacs-auditor" for e in events)
    assert any(e["event"] == "drift" and e["change"] == "newly_passing" and e["check_id"] == ROOT_LOGIN for e in events)
    assert any(e["event"] == "drift" and e["change"] == "evidence_added" and "502" in e["detail"] for e in events)
    assert next(e for e in events if e["event"] == "scan")["exit_code"] == lines.exit_code == 1

    collector = SyslogCollector()
    try:
        sent = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "c"), "-q",
                   "--siem", f"syslog://127.0.0.1:{collector.port}")
        assert sent.exit_code == 1
        messages = collector.receive(4)
    finally:
        collector.sock.close()
    first = messages[0].decode()
    assert first.startswith("<13") or first.startswith("<1")  # local0 facility
    header, _, body = first.partition(" - ")
    assert header.split()[0].endswith(">1") and " iacs-audit " in header and json.loads(body)["event"] == "scan"


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


class SilentServer:
    """Accepts TCP connections and never answers: a hung device that keeps one asset running."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def _finished_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM scan_assets").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.parametrize("how", ["sigkill", "sigint"])
def test_interrupted_scan_keeps_finished_assets_and_resumes(plant, tmp_path, how) -> None:
    silent = SilentServer()
    db = tmp_path / "history.sqlite"
    data = yaml.safe_load(plant.inventory_path.read_text())
    endpoint = dict(data["assets"][0]["endpoints"][0])
    data["assets"].append({"id": "late-01", "type": "host", "zone": "control", "address": "127.0.0.1",
                           "endpoints": [{**endpoint, "port": silent.port, "timeout": 60}]})
    hung = tmp_path / "hung.yaml"
    hung.write_text(yaml.safe_dump(data))
    argv = [sys.executable, "-m", "auditor", "scan", "--inventory", str(hung), "--out", str(tmp_path / "out"),
            "--db", str(db), "--asset-timeout", "120"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        _wait_for(lambda: _finished_rows(db) >= 3)
        proc.send_signal(signal.SIGKILL if how == "sigkill" else signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        silent.close()

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with open_store(db) as store:
        scan = store.scans()[0]
        assert scan["status"] == ("running" if how == "sigkill" else "interrupted")
        kept = store.finished_evidence(scan["id"])  # verified against the stored manifest
        assert set(kept) == {"ews-01", "hmi-01", "hist-01"} and all(e.items for e in kept.values())
    if how == "sigint":
        assert proc.returncode == 3 and "--resume" in stderr
        interrupted = json.loads((tmp_path / "out" / "result.json").read_text())
        assert interrupted["interrupted"] and interrupted["scan_id"] == str(scan["id"])

    # the hung device is back: resume finishes the scan without reading the finished hosts again
    late = SshSimulator("hardened", host="127.0.10.9", port=0, username="auditor", authorized_key=plant.client_key)
    late.start()
    try:
        with plant.known_hosts.open("a") as handle:
            handle.write(late.known_hosts_line)
        data["assets"][-1] = {"id": "late-01", "type": "host", "zone": "control", "address": "127.0.10.9",
                              "endpoints": [{**endpoint, "port": late.port}]}
        hung.write_text(yaml.safe_dump(data))
        seen = {host_id: len(sim.requests) for host_id, sim in plant.simulators.items()}
        resumed = run("scan", "-i", str(hung), "--out", str(tmp_path / "resumed"), "--db", str(db), "--resume")
        assert resumed.exit_code == 1, resumed.stderr
        assert f"resuming scan {scan['id']}: 3 of 4 assets already finished" in resumed.stderr
        assert {host_id: len(sim.requests) for host_id, sim in plant.simulators.items()} == seen
        assert late.requests
    finally:
        late.stop()
    result = json.loads((tmp_path / "resumed" / "result.json").read_text())
    assert result["scan_id"] == str(scan["id"]) and not result["interrupted"]
    assert [a["status"] for a in result["assets"]] == ["assessed"] * 4
    with open_store(db) as store:
        assert [s["status"] for s in store.scans()] == ["complete"]
        bundle = store.load_bundle(scan["id"])
        assert bundle.manifest_sha256 == result["evidence_manifest_sha256"]
    # nothing left to resume: a new scan starts
    fresh = run("scan", "-i", str(plant.inventory_path), "--out", str(tmp_path / "fresh"), "--db", str(db), "--resume", "-q")
    assert json.loads((tmp_path / "fresh" / "result.json").read_text())["scan_id"] != str(scan["id"])
    assert fresh.exit_code in (1, 3)
