"""The terminal summary of scan and rescore (auditor/cli/summary.py): fits 80 columns, never cuts an asset id,
shows SL-A/SL-T compactly and lists the findings to fix first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from auditor.assessment.slvector import SLVector
from auditor.cli.summary import TOP_ASSETS, TOP_FINDINGS, gap, print_summary, top_findings
from reports.common import SEVERITY_ORDER, shortfall
from result_fixture import build_result

WRITTEN = [Path("out/result.json"), Path("out/evidence.json"), Path("out/report.html")]


def render(result, width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    print_summary(result, WRITTEN, console)
    return console.export_text()


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_ids_whole(text: str, ids: list[str]) -> None:
    for asset_id in ids:
        assert re.search(rf"(^|\s){re.escape(asset_id)}(\s|:|$)", text, re.MULTILINE), asset_id


def test_fits_80_columns_with_ids_whole_and_compact_vectors() -> None:
    result = build_result()
    text = render(result, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert_ids_whole(text, [a.id for a in result.assets])
    eng = next(a for a in result.assets if a.id == "eng-ws-02")
    pair = "".join(str(eng.sl_achieved[fr]) for fr in ("FR1", "FR2", "FR3", "FR4", "FR5", "FR6", "FR7")) + "/" + \
        "".join(str(eng.sl_target[fr]) for fr in ("FR1", "FR2", "FR3", "FR4", "FR5", "FR6", "FR7"))
    row = next(line for line in text.splitlines() if line.lstrip().startswith("eng-ws-02 "))
    assert pair in row and " short " in row  # one row: id, verdict and both vectors on it
    # the verdict lines and the answers hints stay
    for asset in result.assets:
        if asset.status == "assessed":
            assert flat(f"{asset.id}: {shortfall(asset)}") in flat(text)
    assert "iacs-audit questionnaire --result out/result.json --out answers.yaml" in flat(text)
    assert "answers from answers.yaml:" in text


def test_wide_console_keeps_one_line_per_message() -> None:
    result = build_result()
    text = render(result, 200)
    assert max(len(line) for line in text.splitlines()) <= 200
    assert_ids_whole(text, [a.id for a in result.assets])
    lines = text.splitlines()
    for asset in result.assets:
        if asset.status == "assessed":
            assert f"{asset.id}: {shortfall(asset)}" in lines[[i for i, l in enumerate(lines)
                                                              if l.startswith(f"{asset.id}: ")][0]]
    first = next(line for line in lines if "acme.historian.audit-forwarding" in line)
    assert first.startswith("critical") and "eng-ws-02" in first and "expected forwarding enabled" in first


def test_top_findings_grouped_by_check_by_severity_then_gap_at_most_ten_and_the_rest_counted() -> None:
    result = build_result()
    eng = next(a for a in result.assets if a.id == "eng-ws-02")
    further = eng.model_copy(update={"id": "far-below", "sl_target": SLVector.uniform(4)})
    result = result.model_copy(update={"assets": [*result.assets, further]})
    found = top_findings(result)
    failing = {(a.id, c.check_id) for a in result.assets if a.status == "assessed" for c in a.results
               if c.status in ("fail", "error")}
    # one entry per check (plc-03 could not be assessed: its errors are its error line), naming every asset
    assert sorted(g.check_id for g in found) == sorted({check for _, check in failing})
    assert {(a.id, g.check_id) for g in found for a in g.assets} == failing
    ranks = [SEVERITY_ORDER.index(g.severity) for g in found]
    assert ranks == sorted(ranks)
    assert gap(further) > gap(eng)
    for group in found:  # the farther asset first, and counted per status
        assert [a.id for a in group.assets][:1] == ["far-below"] and len(group.assets) == 2
        assert group.failed + group.errors == 2
    text = render(result, 80)
    shown = [line for line in text.splitlines() if re.match(r"^(critical|high|medium|low|info) ", line)]
    assert len(shown) == min(TOP_FINDINGS, len(found))
    assert all(re.search(r" 2 assets on far-below, eng-ws-02$", line) for line in shown), shown
    if len(found) > TOP_FINDINGS:
        assert f"... and {len(found) - TOP_FINDINGS} more checks failing: see out/report.html" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.index("fix first") < text.index("SL-A/SL-T per FR1..FR7")  # the summary leads with it


def test_a_large_plant_lists_the_assets_furthest_below_target_and_counts_the_rest() -> None:
    result = build_result()
    copies = [a.model_copy(update={"id": f"{a.id}-{n:03d}"}) for n in range(40) for a in result.assets]
    result = result.model_copy(update={"assets": copies})
    text = render(result, 120)
    rows = [line.strip() for line in text.splitlines() if re.match(r"^ ?\S+-\d{3} ", line)]
    assert len(rows) == TOP_ASSETS and all(line.startswith("eng-ws-02-") for line in rows[:TOP_ASSETS])
    assert "... and 95 more assets (40 meet their SL-T): see out/report.html" in flat(text)
    assert "fix first" in text and re.search(r"critical +acme\.historian\.audit-forwarding +40 assets on "
                                             r"eng-ws-02-000, eng-ws-02-001, eng-ws-02-002 and 37 more", text)


@pytest.mark.parametrize("width", [80, 200])
def test_long_asset_ids_are_never_cut(width: int) -> None:
    result = build_result()
    renamed = {"hmi-01": "hmi-operator-station-north-wing-01", "eng-ws-02": "engineering-workstation-02-lab",
               "plc-03": "plc-03"}
    result = result.model_copy(update={"assets": [a.model_copy(update={"id": renamed[a.id]})
                                                  for a in result.assets]})
    text = render(result, width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert_ids_whole(text, list(renamed.values()))


def test_an_id_wider_than_the_console_stands_on_its_own_line() -> None:
    result = build_result()
    very_long = "site-north.building-7.cell-12.line-3.hmi-operator-station-primary-01"
    result = result.model_copy(update={"assets": [a.model_copy(update={"id": very_long}) if a.id == "hmi-01" else a
                                                  for a in result.assets]})
    text = render(result, 60)
    assert_ids_whole(text, [very_long, "eng-ws-02", "plc-03"])
    assert all(len(line) <= 60 for line in text.splitlines() if very_long not in line)


def test_nothing_failed_lists_no_findings() -> None:
    result = build_result()
    result = result.model_copy(update={"assets": [a for a in result.assets if a.id == "hmi-01"]})
    text = render(result, 80)
    assert "fix first" not in text and "more: see" not in text


def test_a_long_error_reason_takes_at_most_two_lines() -> None:
    result = build_result()
    eng = next(a for a in result.assets if a.id == "eng-ws-02")
    reason = "evidence unavailable for fact 'acct_shadow': " + "ssh:exec:awk -F: '{h=$2; l=\"\"}' " * 40
    checks = [c.model_copy(update={"reason": reason, "severity": "critical"}) if c.status == "error" else c
              for c in eng.results]
    result = result.model_copy(update={"assets": [a.model_copy(update={"results": checks}) if a.id == "eng-ws-02"
                                                  else a for a in result.assets]})
    text = render(result, 80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    start = next(i for i, line in enumerate(lines) if line.startswith("critical") and "error" not in line
                 and "linux.auditd.enabled" in line)
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("    "):
            break
        body.append(line)
    assert len(body) == 2 and body[-1].rstrip().endswith("…")


@pytest.mark.parametrize("width", [80, 200])
def test_rescore_prints_the_summary_through_the_command(width: int, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import auditor.cli.scan as scan_cli
    from auditor.cli import cli
    from reports.json_report import write_evidence
    from result_fixture import build_evidence

    evidence = write_evidence(build_evidence(), tmp_path / "evidence.json")
    monkeypatch.setattr(scan_cli, "console", lambda: Console(width=width))
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["rescore", str(evidence), "--sl", "2", "--out", str(out)])
    assert run.exit_code == 3, run.output  # plc-03 could not be assessed
    text = run.stdout
    if width == 80:  # piped (200) keeps each message on one line, however long its paths
        assert max(len(line) for line in text.splitlines()) <= width, [l for l in text.splitlines() if len(l) > 80]
    assert "SL-A/SL-T per FR1..FR7" in text and "fix first" in text
    assert_ids_whole(text, ["hmi-01", "eng-ws-02", "plc-03"])
    assert text.index("fix first") < text.index("SL-A/SL-T per FR1..FR7")
    assert re.search(r"critical +linux\.accounts\.empty-passwords +2 assets on ", text)


def test_says_how_many_assets_answers_alone_would_complete() -> None:
    from reports.plant import answering

    result = build_result()
    eng = next(a for a in result.assets if a.id == "eng-ws-02")
    assert answering(result).completes == []  # eng-ws-02 has rows unmet by device evidence
    only_open = eng.model_copy(update={"id": "eng-ws-09", "requirements": [
        r.model_copy(update={"verdict": "met"}) if r.verdict == "unmet" else r for r in eng.requirements]})
    result = result.model_copy(update={"assets": [*result.assets, only_open]})
    found = answering(result)
    assert [a.id for a in found.completes] == ["eng-ws-09"]
    assert found.open_rows == 2 * sum(r.verdict == "open" for r in eng.requirements if r.sl <= eng.sl_target[r.fr])
    assert "answering alone would bring 1 asset to SL-T" in flat(render(result, 80))
