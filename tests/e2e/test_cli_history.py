"""End-to-end: the history commands (history, history export, diff, waivers check) and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import cli
from reports.json_report import load_evidence, result_schema
from simulators.plant import Plant, PlantHost


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One SSH host scanned twice into a fresh SQLite store given by IACS_AUDIT_DB."""
    root = tmp_path_factory.mktemp("history")
    db = root / "h.sqlite"
    with Plant(root / "plant", [PlantHost("ews-01", "hardened", "127.0.10.1", "control")]) as plant:
        for n in (1, 2):
            result = run("scan", "-i", str(plant.inventory_path), "--out", str(root / f"out{n}"), "-q",
                         env={"IACS_AUDIT_DB": str(db)})
            assert result.exit_code in (0, 1), result.stderr
    return root, db


def test_history_lists_scans_and_exports_one(recorded) -> None:
    root, db = recorded
    listing = run("history", "--db", str(db))
    assert listing.exit_code == 0 and "2 scans" in listing.stdout and "weakest SL-A" in listing.stdout
    rows = json.loads(run("history", "--json", env={"IACS_AUDIT_DB": str(db)}).stdout)
    assert [r["id"] for r in rows] == [2, 1] and all(r["status"] == "complete" for r in rows)
    exported = run("history", "--db", str(db), "export", "1", "--out", str(root / "export"))
    assert exported.exit_code == 0, exported.output
    data = json.loads((root / "export" / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    assert data["scan_id"] == "1" and [p["scan_id"] for p in data["history"]["assets"]["ews-01"]] == ["1"]
    original = json.loads((root / "out1" / "result.json").read_text())
    assert data["assets"][0]["results"] == original["assets"][0]["results"]
    bundle = load_evidence(root / "export" / "evidence.json")  # integrity-checked like any bundle
    assert bundle.manifest_sha256 == original["evidence_manifest_sha256"]
    assert (root / "export" / "report.html").exists()
    same = run("diff", "1", "2", "--db", str(db))
    assert same.exit_code == 0 and "no drift" in same.stdout


def test_history_errors(recorded, tmp_path: Path) -> None:
    _, db = recorded
    # no such id, and no uuid starts with it (a short number such as 99 is a uuid prefix of 1 scan in 256)
    assert run("diff", "1", "999999999999", "--db", str(db)).exit_code == 2
    assert run("history", "--db", str(db), "export", "nope", "--out", str(tmp_path / "x")).exit_code == 2
    empty = run("history", "--db", str(tmp_path / "empty.sqlite"))
    assert empty.exit_code == 0 and "no scans recorded yet" in empty.stdout
    unreachable = run("history", "--db", "postgresql://auditor:s3cret@127.0.0.1:1/iacs?connect_timeout=2")
    assert unreachable.exit_code == 2 and "history store" in unreachable.stderr and "s3cret" not in unreachable.stderr


def test_scan_option_errors(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("assets:\n  - {id: a, type: host, address: 127.0.0.1, endpoints: [{protocol: ssh, username: u, port: 1, password_env: HOME}]}\n")
    no_db = run("scan", "-i", str(inventory), "--out", str(tmp_path / "o"), "--resume", env={"IACS_AUDIT_DB": ""})
    assert no_db.exit_code == 2 and "--resume needs a history store" in no_db.stderr
    bad_siem = run("scan", "-i", str(inventory), "--out", str(tmp_path / "o"), "--siem", "http://x")
    assert bad_siem.exit_code == 2
    bad_store = run("scan", "-i", str(inventory), "--out", str(tmp_path / "o"),
                    "--db", "postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2")
    assert bad_store.exit_code == 2 and "--db" in bad_store.stderr and ":pw@" not in bad_store.stderr
    assert not (tmp_path / "o").exists()  # refused before anything was scanned or written
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - {check: no.such.check, assets: [a], justification: j, approver: x}\n")
    assert run("scan", "-i", str(inventory), "--out", str(tmp_path / "o"), "--waivers", str(waivers)).exit_code == 2
    checked = run("waivers", "check", str(waivers))
    assert checked.exit_code == 2 and "matches no known check" in checked.stderr


def test_waivers_check_lists_states(tmp_path: Path) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - {id: OLD, check: linux.sshd.banner, assets: [a], justification: j, approver: x,"
                       " expires: 2020-01-01}\n  - {id: NEW, requirement: CR 1.1, zones: [z], justification: j,"
                       " approver: x, compensating_countermeasure: jump host}\n")
    shown = run("waivers", "check", str(waivers), "--as-of", "2025-01-01")
    assert shown.exit_code == 0
    assert "expired" in shown.stdout and "no expiry" in shown.stdout and "jump host" in shown.stdout
