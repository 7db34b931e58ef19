"""The distribution works as users install it (a wheel, not the source tree): data files ship inside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import pathlib, sys
import auditor
assert pathlib.Path(auditor.__file__).is_relative_to(pathlib.Path(sys.argv[1])), auditor.__file__
from auditor.assessment.catalog import load_catalog
from auditor.assessment.profiles import builtin_names, load_profile
from auditor.registry import REGISTRY
assert len(load_catalog().for_system()) == 100
assert len(builtin_names()) == 16
assert len(load_profile("host-sl2").selected_checks()) >= 35, "host pack missing from the wheel"
from reports.json_report import result_schema
from reports.html import render_html
from tests_fixture import build_result
assert "<html" in render_html(build_result())
from simulators.ssh.server import load_fixture
load_fixture("weak"); load_fixture("hardened")
import simulators.plant  # the demo plant and its fixtures ship too: 'iacs-audit demo' works after pip install
from importlib.resources import files
from auditor.assessment.attestations import load_answers
assert load_answers(str(files("simulators") / "demo_answers.yaml")).entries  # the demo's answers file ships
assert load_catalog().get("CR 1.2").question  # the questionnaire's questions ship with the catalog
print("wheel ok")
"""


def test_wheel_installs_with_its_data(tmp_path: Path) -> None:
    # build from a clean copy: a stale build/ folder in the work tree must not leak into the wheel
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                                  "demo-out", "out", ".pytest_cache"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(source)], check=True, timeout=300, cwd=tmp_path)
    wheel = next(wheels.glob("iacs_auditor-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, timeout=300, cwd=tmp_path)
    fixture_dir = tmp_path / "fixture"
    fixture_dir.mkdir()
    (fixture_dir / "tests_fixture.py").write_text((REPO / "tests" / "unit" / "result_fixture.py").read_text())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(target), str(fixture_dir)])
    run = subprocess.run([sys.executable, "-c", PROBE, str(target)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "wheel ok" in run.stdout
    cli = subprocess.run([sys.executable, "-m", "auditor", "profiles", "show", "host-sl2"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and "host-sl2" in cli.stdout, cli.stderr
