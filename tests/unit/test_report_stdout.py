"""``iacs-audit report RESULT.json --format FMT --out -`` writes the report to standard output, never a file
named ``-``; a binary format (pdf) with ``--out -`` is a usage error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from reports.json_report import write_evidence, write_result
from result_fixture import build_evidence, build_result

TEXT_FORMATS = ["md", "csv", "junit", "oscal", "json", "matrix-csv", "html", "matrix"]


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, Path]:
    return write_result(build_result(), tmp_path / "result.json"), write_evidence(build_evidence(), tmp_path / "evidence.json")


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["report", *args])


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_dash_writes_the_same_report_to_stdout(fmt: str, saved: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    result_file, evidence_file = saved
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    to_file = tmp_path / f"report.{fmt}"
    by_file = _invoke(str(result_file), "--format", fmt, "--out", str(to_file), "--evidence", str(evidence_file))
    assert by_file.exit_code == 0, by_file.output
    piped = _invoke(str(result_file), "--format", fmt, "--out", "-", "--evidence", str(evidence_file))
    assert piped.exit_code == 0, piped.output + piped.stderr
    assert os.listdir(work) == []  # no file named "-", nothing else
    assert "wrote" not in piped.stdout[:200]
    expected = to_file.read_text(encoding="utf-8")
    if fmt in ("oscal", "junit", "html", "matrix"):  # these stamp their rendering time or a fresh uuid
        assert len(piped.stdout) == pytest.approx(len(expected), abs=200)
        assert piped.stdout[:20] == expected[:20]
    else:
        assert piped.stdout == expected
    if fmt == "json":
        assert json.loads(piped.stdout) == json.loads(result_file.read_text(encoding="utf-8"))


def test_pdf_to_stdout_is_a_usage_error(saved: tuple[Path, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    result_file, _ = saved
    monkeypatch.chdir(tmp_path)
    run = _invoke(str(result_file), "--format", "pdf", "--out", "-")
    assert run.exit_code == 2
    assert "standard output" in run.output and "--out FILE" in run.output
    assert not (tmp_path / "-").exists()


def test_questionnaire_still_writes_to_stdout(saved: tuple[Path, Path]) -> None:
    result_file, _ = saved
    run = CliRunner().invoke(cli, ["questionnaire", "--result", str(result_file), "--out", "-"])
    assert run.exit_code == 0, run.output
    assert "eng-ws-02" in run.stdout
