"""Hostile or broken files end in exit code 2 naming the file, the line and the reason: never a traceback.

Every file the auditor reads from a user (inventory, profile, waivers, answers, result.json, evidence.json)
goes through :mod:`auditor.safeload`; these tests hand the command line what an attacker or an accident
would: huge integers, deep nesting, alias bombs, duplicate keys, oversized files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor import safeload
from auditor.cli import cli
from auditor.errors import ConfigError


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


def _deep_yaml(depth: int) -> str:
    return "site: " + "[" * depth + "]" * depth + "\n"


def _alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 8):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


HOSTILE_YAML = {
    "huge integer": ("site: x\nassets:\n  - id: a\n    port: " + "9" * 5000 + "\n", "line 4", "4300 digits"),
    "deep nesting": (_deep_yaml(3000), "line 1", "nested deeper than"),
    "duplicate key": ("site: x\nassets: []\nsite: y\n", "line 3", "duplicate key 'site' (first on line 1)"),
    "alias bomb": (_alias_bomb(), "line 1", "expands to more than"),
    "impossible date": ("site: x\nwhen: 2025-02-30\n", "line 2", "day is out of range"),
}

# each command that reads a YAML file, with where the file goes
YAML_COMMANDS = {
    "inventory": lambda f, tmp: ["scan", "--inventory", f, "--out", str(tmp / "out")],
    "profile": lambda f, tmp: ["profiles", "show", f],
    "waivers": lambda f, tmp: ["waivers", "check", f],
    "answers": lambda f, tmp: ["attestations", "check", f],
}


@pytest.mark.parametrize("command", sorted(YAML_COMMANDS))
@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_exits_2_with_line_and_reason(tmp_path: Path, command: str, case: str) -> None:
    text, line, reason = HOSTILE_YAML[case]
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    result = run(*YAML_COMMANDS[command](str(path), tmp_path))
    assert result.exit_code == 2, result.output
    assert f"{path}: {line}" in result.output and reason in result.output
    assert "Traceback" not in result.output


def test_merge_keys_may_still_be_overridden() -> None:
    data = safeload.yaml_loads("base: &b {port: 22, user: a}\nep:\n  <<: *b\n  port: 2222\n", "x.yaml")
    assert data["ep"] == {"port": 2222, "user": "a"}


def test_duplicate_key_in_a_nested_mapping_names_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        safeload.yaml_loads("assets:\n  - id: a\n    address: 127.0.32.1\n    address: 127.0.32.2\n", "inv.yaml")
    assert str(caught.value).startswith("inv.yaml: line 4, column 5: YAML error: duplicate key 'address'")


def test_nesting_at_the_limit_is_read() -> None:
    depth = safeload.MAX_YAML_DEPTH - 1  # the document node itself is one level
    assert safeload.yaml_loads("[" * depth + "]" * depth, "x.yaml") is not None


@pytest.mark.parametrize("command", ["rescore", "report"])
def test_json_nested_100000_deep_exits_2(tmp_path: Path, command: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    args = ["rescore", str(path), "--out", str(tmp_path / "out")] if command == "rescore" else \
        ["report", str(path), "--format", "md", "--out", "-"]
    result = run(*args)
    assert result.exit_code == 2 and str(path) in result.output and "Traceback" not in result.output


def test_a_file_over_the_limit_is_refused_before_parsing(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("site: x\n" + "# padding\n" * 1000)
    monkeypatch.setattr(safeload, "MAX_YAML_BYTES", 1024)
    parsed = []
    monkeypatch.setattr(safeload, "yaml_loads", lambda *a: parsed.append(a))
    result = run("scan", "--inventory", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "larger than 1024 bytes, the limit for a YAML file" in result.output
    assert parsed == []


def test_the_real_yaml_limit_refuses_a_9_mib_inventory(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"site: x\n" + b"#" * (9 * 1024 * 1024))
    result = run("scan", "--inventory", str(path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "larger than 8 MiB" in result.output


def test_json_over_the_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"padding": "x" * 4096}))
    monkeypatch.setattr(safeload, "MAX_JSON_BYTES", 1024)
    import reports.json_report as json_report

    monkeypatch.setattr(json_report, "MAX_JSON_BYTES", 1024)
    result = run("report", str(path), "--format", "md", "--out", "-")
    assert result.exit_code == 2 and "larger than 1024 bytes, the limit for a result.json" in result.output


def test_csv_answers_with_a_huge_field_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("requirement,answer,attested_by,date\nSR 1.1,\"" + "x" * 200_000 + "\",me,2025-01-01\n")
    result = run("attestations", "check", str(path))
    assert result.exit_code == 2 and f"{path}: line" in result.output and "field larger than" in result.output


def test_ad_hoc_set_value_is_read_by_the_same_loader(tmp_path: Path) -> None:
    result = run("scan", "ssh://127.0.32.1", "--type", "host", "--set", "port=" + "9" * 5000, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "--set port" in result.output and "4300 digits" in result.output
