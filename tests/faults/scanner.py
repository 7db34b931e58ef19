"""Run ``iacs-audit`` in a child process and measure it: exit code, output, wall time and peak RSS.

The scanner runs apart from the simulators and fault servers (which live in the test process), so its
peak resident set size is the scanner's own: a wrapper process starts the CLI and reads
``getrusage(RUSAGE_CHILDREN)`` after it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_WRAPPER = """\
import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, out)
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mib: float


def run_cli(*args: str, workdir: Path, timeout: float = 120.0) -> Run:
    """``python -m auditor ARGS`` from this tree, in a child process of a measuring wrapper."""
    report = workdir / f"rusage-{time.monotonic_ns()}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, str(report), sys.executable, "-m", "auditor", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - started
    measured = json.loads(report.read_text())
    return Run(code=measured["code"], stdout=done.stdout, stderr=done.stderr, seconds=seconds,
               peak_rss_mib=measured["maxrss_kib"] / 1024)
