"""``iacs-audit report RESULT.json --format ... --out FILE [--evidence EVIDENCE.json]`` (offline rendering)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from auditor.cli import cli
from reports import FORMATS, default_name
from reports.json_report import RESULT_SCHEMA_FILE, write_evidence, write_result
from result_fixture import build_evidence, build_result


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, Path]:
    return write_result(build_result(), tmp_path / "result.json"), write_evidence(build_evidence(), tmp_path / "evidence.json")


class _Run:
    def __init__(self, run) -> None:
        self.exit_code, self.stdout, self.output = run.exit_code, run.stdout, run.output
        self.stderr = " ".join(run.stderr.split())  # rich folds long error lines


def _run(*args: str) -> _Run:
    return _Run(CliRunner().invoke(cli, ["report", *args]))


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "pdf"])
def test_each_format(fmt: str, saved: tuple[Path, Path], tmp_path: Path) -> None:
    result_file, evidence_file = saved
    out = tmp_path / "out" / f"report.{fmt}"
    run = _run(str(result_file), "--format", fmt, "--out", str(out), "--evidence", str(evidence_file))
    assert run.exit_code == 0, run.output + run.stderr
    assert run.stdout.strip() == f"wrote {out}"
    assert out.stat().st_size > 500
    if fmt == "json":
        data = json.loads(out.read_text(encoding="utf-8"))
        Draft202012Validator(json.loads(RESULT_SCHEMA_FILE.read_text(encoding="utf-8"))).validate(data)
        assert data == json.loads(result_file.read_text(encoding="utf-8"))
    if fmt == "html":
        assert "matches the evidence bundle" in out.read_text(encoding="utf-8")


def test_default_output_name_beside_the_result(saved: tuple[Path, Path]) -> None:
    result_file, _ = saved
    run = _run(str(result_file), "--format", "junit")
    assert run.exit_code == 0, run.stderr
    assert (result_file.parent / default_name("junit")).is_file()


def test_matrix_for_one_asset_and_sl(saved: tuple[Path, Path], tmp_path: Path) -> None:
    result_file, evidence_file = saved
    out = tmp_path / "matrix.html"
    run = _run(str(result_file), "--format", "matrix", "--asset", "eng-ws-02", "--sl", "3", "--out", str(out),
               "--evidence", str(evidence_file))
    assert run.exit_code == 0, run.stderr
    document = out.read_text(encoding="utf-8")
    assert document.count('<section class="component"') == 1 and "matrix up to <strong>SL 3</strong>" in document
    run = _run(str(result_file), "--format", "matrix", "--asset", "nope", "--out", str(out))
    assert run.exit_code == 2 and "no asset 'nope'" in run.stderr


@pytest.mark.parametrize("args, message", [
    (["--format", "csv", "--asset", "hmi-01"], "--asset and --sl apply to --format matrix and matrix-csv only"),
    (["--format", "html", "--sl", "2"], "--asset and --sl apply to --format matrix and matrix-csv only"),
    (["--format", "md", "--operator", "me"], "--operator applies to --format pdf only"),
    (["--format", "docx"], "Invalid value for '-f' / '--format'"),
])
def test_usage_errors(args: list[str], message: str, saved: tuple[Path, Path]) -> None:
    result_file, _ = saved
    run = _run(str(result_file), *args)
    assert run.exit_code == 2 and message in run.stderr


def test_invalid_result_or_evidence(saved: tuple[Path, Path], tmp_path: Path) -> None:
    result_file, evidence_file = saved
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1}', encoding="utf-8")
    run = _run(str(broken), "--format", "csv")
    assert run.exit_code == 2 and "not a valid result.json" in run.stderr
    tampered = json.loads(evidence_file.read_text(encoding="utf-8"))
    tampered["assets"][0]["items"][0]["response"] = "permitrootlogin no\n"
    evidence_file.write_text(json.dumps(tampered), encoding="utf-8")
    run = _run(str(result_file), "--format", "html", "--evidence", str(evidence_file))
    assert run.exit_code == 2 and "sha256 does not match" in run.stderr


def test_evidence_of_another_scan_is_flagged(saved: tuple[Path, Path], tmp_path: Path) -> None:
    result_file, _ = saved
    other = build_evidence()
    other.assets[0].items.pop()
    other_file = write_evidence(other, tmp_path / "other-evidence.json")
    out = tmp_path / "report.html"
    run = _run(str(result_file), "--format", "html", "--evidence", str(other_file), "--out", str(out))
    assert run.exit_code == 0 and "not the evidence this result was scored from" in run.stderr
    assert "does NOT match the evidence bundle shown" in out.read_text(encoding="utf-8")
