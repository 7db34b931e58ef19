"""End-to-end: the CLI scans the simulated plant, rescoring offline, ad-hoc targets, host keys, faults.

The plant's simulators record every request they receive, which is how these tests prove that a
scan only ever sent the read-only commands its checks declared.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from auditor.assessment.profiles import load_profile
from auditor.cli import cli
from auditor.registry import REGISTRY
from connectors.ssh.script import parse_script
from connectors.windows.script import bootstrap_command
from connectors.windows.script import parse_script as parse_powershell_script
from reports.json_report import load_evidence, result_schema
from simulators.plant import Plant

REPO = Path(__file__).resolve().parents[2]
REQUIRED_SSHD = ["linux.sshd.permit-root-login", "linux.sshd.password-authentication", "linux.sshd.weak-crypto",
                 "linux.sshd.max-auth-tries", "linux.sshd.banner", "linux.sshd.login-grace-time",
                 "linux.sshd.idle-timeout"]


class SilentServer:
    """Accepts TCP connections and never says anything: a hung device."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    with Plant(tmp_path_factory.mktemp("plant")) as running:
        yield running


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def results_by_asset(path: Path) -> dict[str, dict[str, dict]]:
    data = json.loads(path.read_text())
    return {a["id"]: {r["check_id"]: r for r in a["results"]} for a in data["assets"]}


@pytest.fixture(scope="module")
def scanned(plant, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    before = {host: len(sim.requests) for host, sim in plant.simulators.items()}
    result = run("scan", "--inventory", str(plant.inventory_path), "--sl", "2", "--out", str(out), "--quiet")
    new_requests = {host: sim.requests[before[host]:] for host, sim in plant.simulators.items()}
    return result, out, new_requests


def test_scan_writes_valid_outputs(plant, scanned) -> None:
    result, out, _ = scanned
    assert result.exit_code == 1, result.stderr  # the weak HMI falls short of SL 2
    data = json.loads((out / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    statuses = {a["id"]: a["status"] for a in data["assets"]}
    assert set(statuses) == {h.id for h in plant.hosts}
    assert set(statuses.values()) == {"assessed"}
    bundle = load_evidence(out / "evidence.json")  # verifies every item's hash
    ssh_hosts = {h.id for h in plant.hosts if h.protocol == "ssh"}
    # a Linux-based controller (embedded) gets only the facts of the Linux checks that apply to it
    assert all(len(a.items) > (20 if a.asset != "plc-05" else 10) for a in bundle.assets if a.asset in ssh_hosts)
    # the demo plant has more assets than one page holds: a plant page and one page per asset beside it
    html = "".join(p.read_text() for p in [out / "report.html", *sorted((out / "report-assets").glob("*.html"))])
    assert "hmi-01" in html and "linux.sshd.permit-root-login" in html
    # each check's rationale travels in result.json, so the report needs no check pack to explain it
    assert all(r["rationale"] for a in data["assets"] for r in a["results"])
    assert "Why it matters:" in html


def test_required_sshd_verdicts_flip_between_weak_and_hardened(scanned) -> None:
    _, out, _ = scanned
    verdicts = results_by_asset(out / "result.json")
    for check_id in REQUIRED_SSHD:
        assert verdicts["ews-01"][check_id]["status"] == "pass", verdicts["ews-01"][check_id]
        assert verdicts["hmi-01"][check_id]["status"] == "fail", verdicts["hmi-01"][check_id]
        assert verdicts["hmi-01"][check_id]["evidence"], "a verdict must name its evidence"


def test_without_answers_no_asset_meets_and_each_says_what_is_open(scanned) -> None:
    """The ews-01 case: every check passes, yet requirements nobody judged keep it below its target."""
    _, out, _ = scanned
    assets = {a["id"]: a for a in json.loads((out / "result.json").read_text())["assets"]}
    assert not any(a["meets_target"] for a in assets.values())
    assert all(a["technical"]["open"] for a in assets.values())
    ews = assets["ews-01"]
    assert not ews["technical"]["unmet"] and not any(r["status"] in ("fail", "error") for r in ews["results"])
    assert {"CR 1.2", "CR 1.4", "CR 1.8", "CR 1.10", "CR 1.14"} <= set(ews["technical"]["open"])
    assert ews["sl_achieved"]["FR1"] == 0 and ews["sl_achieved"] == ews["sl_achieved_strict"]
    rows = {r["id"]: r for r in ews["requirements"]}
    assert (rows["CR 1.2"]["verdict"], rows["CR 1.2"]["source"]) == ("open", "none")
    assert (rows["CR 1.11"]["verdict"], rows["CR 1.11"]["source"]) == ("met", "evidence")
    # SL 3 and 4 were judged with the built-in SL 3 and SL 4 parameters, not claimed on SL 2's
    assert [(level["sl"], level["profile"]) for level in ews["levels"]] == [(3, "host-sl3"), (4, "host-sl4")]
    assert ews["applied_sl"] == 2


def test_demo_answers_make_the_hardened_assets_meet_and_change_nothing_on_failures(scanned, tmp_path) -> None:
    from importlib.resources import files

    _, out, _ = scanned
    answers = str(files("simulators") / "demo_answers.yaml")
    result = run("rescore", str(out / "evidence.json"), "--sl", "2", "--attestations", answers,
                 "--out", str(tmp_path), "--quiet")
    assert result.exit_code == 1
    data = json.loads((tmp_path / "result.json").read_text())
    assets = {a["id"]: a for a in data["assets"]}
    hardened = {"ews-01", "hist-01", "hist-02", "hist-03", "sw-02", "sw-cell-02", "sw-cell-04", "scada-02", "plc-02",
                "plc-04", "panel-02"}
    assert {a for a, v in assets.items() if v["meets_target"]} == hardened
    assert all(not assets[a]["technical"]["unmet"] for a in hardened)
    assert all(assets[a]["technical"]["unmet"] for a in set(assets) - hardened)
    # an answer on a row that device evidence fails changes nothing
    hmi_pw = next(r for r in assets["hmi-01"]["requirements"] if r["id"] == "CR 1.7")
    assert (hmi_pw["verdict"], hmi_pw["source"], hmi_pw["answer"]["state"]) == ("unmet", "evidence", "overruled")
    outcomes = {o["entry"]: o for o in data["attestations"]}
    assert any("hmi-01/CR 1.7" in o["overruled"] for o in outcomes.values() if o["requirement"] == "CR 1.7")
    expired = [o for o in outcomes.values() if o["state"] == "expired"]
    assert [o["lapsed"] for o in expired] == [["hmi-01/CR 7.3 RE1"]]
    assert "CR 7.3 RE1" in assets["hmi-01"]["technical"]["open"]
    # the vendor's capability claims give the PLC an SL-C, and only the PLC
    assert assets["plc-02"]["sl_capability"] is not None
    assert all(assets[a]["sl_capability"] is None for a in set(assets) - {"plc-02"})
    # the same answers applied by 'report' to the saved result give the same verdicts
    again = tmp_path / "again.json"
    assert run("report", str(out / "result.json"), "--format", "json", "--attestations", answers,
               "--out", str(again)).exit_code == 0
    rejudged = {a["id"]: a["meets_target"] for a in json.loads(again.read_text())["assets"]}
    assert rejudged == {a: v["meets_target"] for a, v in assets.items()}


def test_higher_levels_are_judged_with_their_own_parameters(scanned, tmp_path) -> None:
    """Every row answered met: ews-01 still cannot claim SL 3 in FR1 or FR7, because the same evidence fails
    host-sl3's stricter parameters (password ageing, login grace time); FR5 holds at every level."""
    _, out, _ = scanned
    answers = tmp_path / "everything.yaml"
    answers.write_text("answers:\n  - {requirement: '*', types: [host], answer: met, evidence: [blanket], "
                       "attested_by: T, date: 2026-01-01}\n")
    assert run("rescore", str(out / "evidence.json"), "--sl", "2", "--attestations", str(answers),
               "--out", str(tmp_path / "out"), "--quiet").exit_code == 1
    ews = next(a for a in json.loads((tmp_path / "out" / "result.json").read_text())["assets"] if a["id"] == "ews-01")
    sl3 = next(level for level in ews["levels"] if level["sl"] == 3)
    assert sl3["changed"].get("CR 1.7 RE1") == "failed" and sl3["changed"].get("CR 7.1") == "failed"
    assert ews["meets_target"] and (ews["sl_achieved"]["FR1"], ews["sl_achieved"]["FR7"]) == (2, 2)
    assert ews["sl_achieved"]["FR5"] == 4


def test_gate_technical_counts_device_evidence_only(plant, tmp_path) -> None:
    """A hardened host with unanswered rows: short for the complete verdict (1), clean for a technical gate (0)."""
    host = next(h for h in plant.hosts if h.id == "ews-01")
    endpoint = plant.endpoints["ews-01"]
    target = f"ssh://auditor@{host.address}:{endpoint['port']}"
    common = ["scan", target, "--type", "host", "--sl", "2", "--key", endpoint["key_file"],
              "--known-hosts", endpoint["known_hosts"], "--quiet"]
    assert run(*common, "--out", str(tmp_path / "complete")).exit_code == 1
    assert run(*common, "--out", str(tmp_path / "technical"), "--gate", "technical").exit_code == 0
    weak = next(h for h in plant.hosts if h.id == "hmi-01")
    weak_target = f"ssh://auditor@{weak.address}:{plant.endpoints['hmi-01']['port']}"
    assert run("scan", weak_target, *common[2:], "--out", str(tmp_path / "weak"), "--gate", "technical").exit_code == 1


def test_every_check_gives_its_declared_verdict_on_the_weak_and_hardened_fixtures(plant, scanned) -> None:
    """The check contract: a built-in check fails on its pack's weak fixture and passes on the hardened one,
    unless it declares other verdicts with a reason; a check without fixture answers errs and fails here."""
    _, out, _ = scanned
    fixture_of = {h.id: h.fixture for h in plant.hosts}
    seen: dict[str, dict[str, set[str]]] = {}
    for asset in json.loads((out / "result.json").read_text())["assets"]:
        fixture = fixture_of[asset["id"]]
        platform = "windows" if fixture.startswith("windows-") else "linux"
        for check in asset["results"]:
            platforms = REGISTRY.platforms_of(REGISTRY.check(check["check_id"]))
            if platforms and platform not in platforms:
                assert check["status"] == "not_applicable", (asset["id"], check["check_id"])
                continue  # another platform's check: each pack has its own weak and hardened fixtures
            seen.setdefault(check["check_id"], {}).setdefault(fixture.removeprefix("windows-"), set()).add(
                check["status"])
    problems = []
    offered = [{plant.endpoints[h.id]["protocol"]} for h in plant.hosts]
    for spec in REGISTRY.load().checks.values():
        if not spec.pack.startswith("checks."):
            continue
        if not any({REGISTRY.facts[name].protocol for name in spec.facts} <= protocols for protocols in offered):
            continue  # a check across two views of one device (CLI and SNMP): no demo asset is read both ways
        for fixture, wanted in spec.fixture_verdicts.items():
            got = seen.get(spec.id, {}).get(fixture, set())
            if got != {wanted}:
                problems.append(f"{spec.id} on the {fixture} fixtures: {sorted(got) or 'never ran'}, declared {wanted}")
    assert not problems, "\n".join(problems)


def test_scan_was_read_only_and_batched(plant, scanned) -> None:
    """Each host saw one SSH session with one exec per lane (the main script and the slow reads beside it),
    and only commands that checks declared, each in its declared lane."""
    _, _, requests = scanned
    by_target = {r.target: r for f in REGISTRY.load().facts.values() for r in f.requests
                 if r.op in ("exec", "powershell")}
    declared = set(by_target)
    ssh_hosts = {h.id for h in plant.hosts if h.protocol == "ssh"}
    for host, log in requests.items():
        if host not in ssh_hosts:
            continue
        kinds = [r["kind"] for r in log]
        execs = [r for r in log if r["kind"] == "exec"]
        lanes = [{dict(by_target[c["command"]].options).get("lane", "") for c in r["commands"]} for r in execs]
        assert all(len(lane) == 1 for lane in lanes), (host, lanes)  # a script never mixes lanes
        windows = any("script" in r for r in execs)  # one PowerShell script; Linux: the main script and two lanes
        expected = [""] if windows else ["", "filesystem", "packages"]
        if host == "plc-05":  # a Linux-based controller: no update checks, so no slow package reads
            expected = ["", "filesystem"]
        assert sorted(lane.pop() for lane in lanes) == expected, (host, kinds)
        assert not [r for r in log if r.get("refused")], (host, "asked for something it should not")
        sent = {c["command"] for r in log if r["kind"] == "exec" for c in r["commands"]}
        assert sent and sent <= declared, sorted(sent - declared)
        # the simulator recognised every command as a registered request and answered it by name
        assert all(c["name"] for r in log if r["kind"] == "exec" for c in r["commands"]), host
        for entry in log:
            if entry["kind"] == "exec" and "script" in entry:  # a Windows host: the PowerShell script on stdin
                assert entry["command"] == bootstrap_command()
                assert parse_powershell_script(entry["script"])[2] == [c["command"] for c in entry["commands"]]
            elif entry["kind"] == "exec":
                nonce, commands = parse_script(entry["command"])
                assert len(commands) == len(entry["commands"])


def test_rescore_offline(scanned, tmp_path, monkeypatch) -> None:
    """Same profile: identical verdicts. SL 3: new target, and only checks with stricter SL 3 params may change."""
    _, out, _ = scanned

    def no_network(*args, **kwargs):
        raise AssertionError("rescore must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    same = run("rescore", str(out / "evidence.json"), "--sl", "2", "--out", str(tmp_path / "sl2"), "--quiet")
    assert same.exit_code == 1, same.stderr
    assert results_by_asset(tmp_path / "sl2" / "result.json") == results_by_asset(out / "result.json")

    result = run("rescore", str(out / "evidence.json"), "--sl", "3", "--out", str(tmp_path / "sl3"), "--quiet")
    assert result.exit_code in (0, 1), result.stderr
    stricter = set()
    for component_type in ("host", "network", "embedded", "application"):
        sl2, sl3 = load_profile(f"{component_type}-sl2"), load_profile(f"{component_type}-sl3")
        stricter |= {spec.id for spec in sl3.selected_checks() if sl3.params_for(spec) != sl2.params_for(spec)}
    original, rescored = results_by_asset(out / "result.json"), results_by_asset(tmp_path / "sl3" / "result.json")
    changed = {check_id for asset, checks in original.items() for check_id, verdict in checks.items()
               if rescored[asset][check_id]["status"] != verdict["status"]}
    assert changed <= stricter, changed - stricter
    data = json.loads((tmp_path / "sl3" / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    assert all(a["sl_target"]["FR1"] == 3 and a["profile"] == f"{a['type']}-sl3" for a in data["assets"])
    assert (tmp_path / "sl3" / "evidence.json").exists() and (tmp_path / "sl3" / "report.html").exists()


def test_tampered_evidence_is_refused(scanned, tmp_path) -> None:
    _, out, _ = scanned
    bundle = json.loads((out / "evidence.json").read_text())
    bundle["assets"][0]["items"][0]["response"] += "tampered"
    (tmp_path / "evidence.json").write_text(json.dumps(bundle))
    result = run("rescore", str(tmp_path / "evidence.json"), "--sl", "2", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "sha256" in result.stderr


def test_ad_hoc_target_and_host_keys(plant, tmp_path) -> None:
    sim = plant.simulators["ews-01"]
    target = f"ssh://auditor@127.0.10.1:{sim.port}"
    ok = run("scan", target, "--type", "host", "--sl", "2", "--key", str(plant.key_path),
             "--known-hosts", str(plant.known_hosts), "--out", str(tmp_path / "a"), "--quiet")
    assert ok.exit_code in (0, 1), ok.stderr
    assert [a["id"] for a in json.loads((tmp_path / "a" / "result.json").read_text())["assets"]] == ["127.0.10.1"]

    empty = tmp_path / "known_hosts"
    empty.write_text("")
    refused = run("scan", target, "--type", "host", "--key", str(plant.key_path), "--known-hosts", str(empty),
                  "--out", str(tmp_path / "b"), "--quiet")
    assert refused.exit_code == 3
    asset = json.loads((tmp_path / "b" / "result.json").read_text())["assets"][0]
    assert asset["status"] == "error" and "known_hosts" in asset["error"]

    tofu = run("scan", target, "--type", "host", "--key", str(plant.key_path), "--known-hosts", str(empty),
               "--trust-on-first-use", "--out", str(tmp_path / "c"), "--quiet")
    assert tofu.exit_code in (0, 1), tofu.stderr
    assert f"[127.0.10.1]:{sim.port}" in empty.read_text()


def test_unreachable_and_hung_assets_do_not_stop_the_scan(plant, tmp_path) -> None:
    silent = SilentServer()
    try:
        inventory = yaml.safe_load(plant.inventory_path.read_text())
        template = inventory["assets"][0]
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        for asset_id, port in (("gone-01", closed_port), ("hung-01", silent.port)):
            inventory["assets"].append({**template, "id": asset_id, "address": "127.0.0.1",
                                        "endpoints": [{**template["endpoints"][0], "port": port, "timeout": 2}]})
        path = tmp_path / "plant.yaml"
        path.write_text(yaml.safe_dump(inventory))
        started = time.monotonic()
        result = run("scan", "--inventory", str(path), "--sl", "2", "--out", str(tmp_path / "out"), "--quiet",
                     "--asset-timeout", "20")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert result.exit_code == 3
    assert elapsed < 20
    assets = {a["id"]: a for a in json.loads((tmp_path / "out" / "result.json").read_text())["assets"]}
    assert assets["ews-01"]["status"] == "assessed" and assets["hmi-01"]["status"] == "assessed"
    assert assets["gone-01"]["status"] == "error" and "refused" in assets["gone-01"]["error"].lower()
    assert assets["hung-01"]["status"] == "error" and assets["hung-01"]["error"]


def test_ctrl_c_writes_what_was_finished(plant, tmp_path) -> None:
    silent = SilentServer()
    try:
        inventory = yaml.safe_load(plant.inventory_path.read_text())
        template = inventory["assets"][0]
        inventory["assets"].append({**template, "id": "hung-01", "address": "127.0.0.1",
                                    "endpoints": [{**template["endpoints"][0], "port": silent.port, "timeout": 60}]})
        path = tmp_path / "plant.yaml"
        path.write_text(yaml.safe_dump(inventory))
        out = tmp_path / "out"
        proc = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--inventory", str(path), "--sl", "2",
                                 "--out", str(out)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.monotonic() + 30
        progress = ""
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if len(silent.conns) >= 1:
                time.sleep(2.0)  # the three simulated hosts finish well within this
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        progress = stderr
    finally:
        silent.close()
    assert proc.returncode == 3, progress
    assets = {a["id"]: a for a in json.loads((out / "result.json").read_text())["assets"]}
    assert assets["hung-01"]["status"] == "skipped"
    assert {assets[h]["status"] for h in ("ews-01", "hmi-01", "hist-01")} == {"assessed"}
    assert json.loads((out / "result.json").read_text())["interrupted"] is True


def test_every_report_format_from_the_plant_result(scanned, tmp_path) -> None:
    """Issue 6: each format rendered from the demo plant's own result.json, and validated."""
    import csv
    import xml.etree.ElementTree as ET

    from trestle.oscal.assessment_results import Model

    _, out, _ = scanned
    data = json.loads((out / "result.json").read_text())
    checks = sum(max(1, len(a["results"])) for a in data["assets"])

    def render(fmt: str, *extra: str) -> Path:
        target = tmp_path / f"report.{fmt}"
        result = run("report", str(out / "result.json"), "--format", fmt, "--out", str(target),
                     "--evidence", str(out / "evidence.json"), *extra)
        assert result.exit_code == 0, result.stderr
        assert target.stat().st_size > 0
        return target

    jsonschema.validate(json.loads(render("json").read_text()), result_schema())
    rows = list(csv.DictReader(render("csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == checks
    suites = ET.fromstring(render("junit").read_bytes())
    cases = suites.findall(".//testcase")
    assert len(cases) >= sum(len(a["results"]) for a in data["assets"])
    failing_checks = sum(r["status"] == "fail" for a in data["assets"] for r in a["results"])
    short_assets = sum(not a["meets_target"] for a in data["assets"])  # each asset also has an "sl-target" case
    assert len(suites.findall(".//failure")) == failing_checks + short_assets
    oscal = json.loads(render("oscal").read_text())
    assert Model.model_validate(oscal) is not None
    markdown = render("md").read_text()
    assert all(a["id"] in markdown for a in data["assets"])
    matrix = render("matrix", "--asset", "plc-02").read_text()
    assert "plc-02" in matrix and "CR 7.8" in matrix
