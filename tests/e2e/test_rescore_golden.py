"""A rescore of the recorded demo plant gives the same outputs as when the golden files were made.

``rescore_golden/evidence.json.gz`` is the evidence of one ``iacs-audit demo`` scan; ``result.json.gz`` is its
rescore at SL 2, and ``outputs.sha256`` the sha256 of the other outputs with their generation times masked.
Work that should change no verdict and no word of a report (speed, memory) must leave them all equal. A
deliberate change of a check or a report regenerates them::

    IACS_UPDATE_GOLDEN=1 python -m pytest tests/e2e/test_rescore_golden.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import cli

GOLDEN = Path(__file__).resolve().parent / "rescore_golden"
UPDATE = os.environ.get("IACS_UPDATE_GOLDEN") == "1"
HASHED = ("report.html", "report.md", "results.csv")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( ?UTC|Z|\+00:00)?")


def _masked(path: Path) -> str:
    return hashlib.sha256(_TIME.sub("<time>", path.read_text(encoding="utf-8")).encode()).hexdigest()


def test_rescore_of_the_demo_bundle_matches_its_golden_outputs(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence.json"
    evidence.write_bytes(gzip.decompress((GOLDEN / "evidence.json.gz").read_bytes()))
    out = tmp_path / "out"
    done = CliRunner().invoke(cli, ["rescore", str(evidence), "--sl", "2", "-f", "json,html,md,csv", "-q",
                                    "--out", str(out)], catch_exceptions=False)
    assert done.exit_code == 1, done.output  # the demo plant falls short of its targets
    hashes = {name: _masked(out / name) for name in HASHED}
    if UPDATE:
        (GOLDEN / "result.json.gz").write_bytes(gzip.compress((out / "result.json").read_bytes(), 9, mtime=0))
        (GOLDEN / "outputs.sha256").write_text("".join(f"{h}  {n}\n" for n, h in hashes.items()))
    expected = json.loads(gzip.decompress((GOLDEN / "result.json.gz").read_bytes()))
    actual = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert actual.keys() == expected.keys()
    assert [a["id"] for a in actual["assets"]] == [a["id"] for a in expected["assets"]]
    for mine, theirs in zip(actual["assets"], expected["assets"]):
        assert mine == theirs, f"asset {mine['id']} differs from the golden result"
    assert actual == expected
    assert (out / "result.json").read_bytes() == gzip.decompress((GOLDEN / "result.json.gz").read_bytes())
    recorded = dict(reversed(line.split("  ", 1)) for line in (GOLDEN / "outputs.sha256").read_text().splitlines())
    assert hashes == recorded, "a report differs from the golden one (times masked)"
