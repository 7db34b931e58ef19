"""Machine formats: CSV, Markdown, JUnit XML, OSCAL assessment results (and the FORMATS registry).

Golden files (``report_golden/``) pin the exact output for the fixed fixture result; regenerate them after
a deliberate change with ``IACS_UPDATE_GOLDEN=1 pytest tests/unit/test_report_formats.py`` and review the
diff. Each format is also validated structurally (OSCAL with compliance-trestle's OSCAL models) and
checked with hostile values: formula injection for CSV, pipes/newlines/HTML for Markdown, control
characters and markup for XML.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from auditor.results import CheckResult, ScanResult
from reports import FORMATS, default_name, write_report
from reports.csv_report import COLUMNS, neutralize, render_csv, write_csv
from reports.junit import render_junit
from reports.markdown import cell, code_block, render_markdown, text
from reports.oscal import build_oscal, control_id, render_oscal
from result_fixture import (ANSWER_HOSTILES, HOSTILES, build_answers, build_assets, build_evidence, build_result,
                            result_with)

GOLDEN = Path(__file__).resolve().parent / "report_golden"
UPDATE = os.environ.get("IACS_UPDATE_GOLDEN") == "1"

FORMULA = "=cmd|' /C calc'!A0"
CONTROL = "bad\x00byte\x1b[31mred\x07"


def hostile_result() -> ScanResult:
    """The fixture plus one check and one zone full of hostile text for every output syntax."""
    result = build_result()
    evil = CheckResult(
        check_id="acme.evil.formula", title="@SUM(1+1) | <b>bold</b> *star* [link](http://x)", status="fail",
        severity="high", requirements=["SR 1.1", "CR 1.1"],
        observed=f"{FORMULA}\nline | two\n```\n</system-out><x/> ]]> <![CDATA[\n{CONTROL}",
        expected="-2+3+cmd|' /C calc'!A0", reason=f"+evil {CONTROL} | pipe\r\nsecond <script>x</script> line",
        evidence=["eng-ws-02#1"], remediation='\t=HYPERLINK("http://example.invalid")')
    eng = result.assets[1]
    assets = [result.assets[0],
              eng.model_copy(update={"results": [*eng.results, evil], "zone": "ctl|zone\nnext <i>x</i>"}),
              result.assets[2]]
    return result.model_copy(update={"assets": assets, "site": "Site <b>&</b> | =1+1"})


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
    assert path.exists(), f"missing golden file {path}; run with IACS_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{name} differs from its golden file; if deliberate, regenerate with IACS_UPDATE_GOLDEN=1"


# --------------------------------------------------------------------------- registry


def test_every_format_is_registered_and_writes(tmp_path: Path) -> None:
    assert set(FORMATS) >= {"json", "html", "pdf", "csv", "md", "junit", "oscal", "matrix", "matrix-csv"}
    result, evidence = build_result(), build_evidence()
    for fmt in FORMATS:
        if fmt == "pdf":
            continue  # needs Chromium: tests/integration/test_report_browser.py
        path = write_report(result, fmt, tmp_path / default_name(fmt), evidence)
        assert path.stat().st_size > 500, fmt
        mask = os.umask(0)
        os.umask(mask)
        if fmt != "json":  # result.json keeps json_report's private (0600) temp-file mode, like evidence.json
            assert path.stat().st_mode & 0o777 == 0o666 & ~mask, f"{fmt}: reports are written like any file (umask)"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(default_name(f) for f in FORMATS if f != "pdf")


def test_scan_accepts_the_new_formats() -> None:
    from auditor.cli.scan import _formats

    assert _formats(("csv,md", "junit", "oscal,matrix", "matrix-csv")) == ("csv", "md", "junit", "oscal", "matrix",
                                                                         "matrix-csv")


# --------------------------------------------------------------------------- golden files


def test_csv_golden() -> None:
    _golden("fixture.csv", render_csv(build_result()))


def test_markdown_golden() -> None:
    _golden("fixture.md", render_markdown(build_result()))


def test_junit_golden() -> None:
    _golden("fixture.junit.xml", render_junit(build_result()))


def test_oscal_golden() -> None:
    _golden("fixture.oscal.json", render_oscal(build_result()))


def test_outputs_do_not_depend_on_the_clock() -> None:
    result = build_result()
    for render in (render_csv, render_markdown, render_junit, render_oscal):
        assert render(result) == render(build_result())


# --------------------------------------------------------------------------- CSV


def _csv_rows(document: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(document, newline=""))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def test_csv_has_one_row_per_asset_and_check(tmp_path: Path) -> None:
    result = build_result()
    path = write_csv(result, tmp_path / "results.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM for Excel, RFC 4180 line ends
    rows = _csv_rows(raw.decode("utf-8-sig"))
    assert len(rows) == sum(len(a.results) for a in result.assets)
    assert {(r["asset"], r["check_id"]) for r in rows} == {(a.id, c.check_id) for a in result.assets for c in a.results}
    banner = next(r for r in rows if r["asset"] == "eng-ws-02" and r["check_id"] == "linux.login.banner")
    assert banner["observed"] == HOSTILES[0] and banner["status"] == "fail" and banner["frs"] == "FR1"
    firewall = next(r for r in rows if r["asset"] == "eng-ws-02" and r["check_id"] == "linux.firewall.default-deny")
    assert json.loads(firewall["observed"]) == {"INPUT": "ACCEPT", "rules": 0}
    assert firewall["sl_target"] == "{2 2 2 1 2 1 2}" and firewall["requirements"] == "SR 5.1; CR 5.1"


def test_csv_verdict_columns() -> None:
    rows = _csv_rows(render_csv(build_result()))
    assert COLUMNS[-6:] == ("sl_capability", "shortfall", "rows_unmet_by_evidence", "rows_answered", "rows_open",
                            "requirement_verdicts")
    hmi = next(r for r in rows if r["asset"] == "hmi-01")
    assert hmi["sl_capability"] == "{1 0 0 0 3 1 1}" and hmi["sl_achieved_strict"] == "{0 0 0 0 3 1 0}"
    assert hmi["shortfall"].startswith("meets SL-T: ") and (hmi["rows_open"], hmi["rows_answered"]) == ("0", "25")
    eng = {r["check_id"]: r for r in rows if r["asset"] == "eng-ws-02"}
    pw = eng["linux.pam.password-min-length"]
    assert pw["requirement_verdicts"] == "CR 1.7: unmet (evidence)"  # the answer on CR 1.7 was overruled
    assert pw["rows_unmet_by_evidence"] == "15" and pw["rows_open"] == "40" and pw["sl_capability"] == ""
    assert "1 answered not met" in pw["shortfall"] and "40 requirements await an answer" in pw["shortfall"]
    assert eng["linux.pkg.pending-updates"]["requirement_verdicts"] == "HDR 3.10: open"  # manual: needs an answer
    plc = next(r for r in rows if r["asset"] == "plc-03")
    assert plc["shortfall"] == "" and plc["requirement_verdicts"] == "" and plc["rows_open"] == ""


def test_csv_lists_assets_without_checks() -> None:
    from result_fixture import asset_without_results

    rows = _csv_rows(render_csv(result_with([asset_without_results("sw-04")])))
    assert len(rows) == 1 and rows[0]["asset"] == "sw-04" and rows[0]["check_id"] == ""


@pytest.mark.parametrize("value, safe", [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"),
    ("\t=1", "'\t=1"), ("\r=1", "\\x0d=1"), ("\uff1d1+1", "'\uff1d1+1"), ("-1", "-1"), ("+3.5", "+3.5"),
    ("-1e5", "-1e5"), ("plain", "plain"), ("", ""), ("a=b", "a=b")])
def test_csv_formula_neutralization(value: str, safe: str) -> None:
    assert neutralize(value) == safe


def test_csv_hostile_values_are_neutralized() -> None:
    rows = _csv_rows(render_csv(hostile_result()))
    evil = next(r for r in rows if r["check_id"] == "acme.evil.formula")
    assert evil["observed"].startswith("'=cmd|") and evil["observed"][1:].startswith(FORMULA)
    assert evil["expected"] == "'-2+3+cmd|' /C calc'!A0"
    assert evil["title"].startswith("'@SUM")
    assert evil["remediation"].startswith("'\t=HYPERLINK")
    assert evil["reason"].startswith("'+evil") and "\r\n" in evil["reason"]  # multi-line cell survives quoting
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)
            assert not (value.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", value)), (column, value)
    assert rows[0]["site"] == "Site <b>&</b> | =1+1"  # not a formula: starts with a letter


# --------------------------------------------------------------------------- Markdown


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[int] = []
        self._cells = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self._cells = 0
        if tag in ("td", "th"):
            self._cells += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.rows.append(self._cells)


def _markdown_html(document: str) -> _Tags:
    """Render as a permissive renderer would (raw HTML allowed, GFM tables) and collect the tags."""
    parser = _Tags()
    parser.feed(MarkdownIt("commonmark", {"html": True}).enable("table").render(document))
    return parser


ALLOWED_MD_TAGS = {"h1", "h2", "h3", "h4", "p", "strong", "em", "ul", "li", "code", "pre", "table", "thead", "tbody",
                   "tr", "th", "td", "br", "hr", "blockquote"}


@pytest.mark.parametrize("make", [build_result, hostile_result], ids=["fixture", "hostile"])
def test_markdown_renders_safely(make) -> None:
    result = make()
    document = render_markdown(result)
    parsed = _markdown_html(document)
    assert set(parsed.tags) <= ALLOWED_MD_TAGS, set(parsed.tags) - ALLOWED_MD_TAGS
    assert parsed.rows and set(parsed.rows) == {12}, "every table row keeps its 12 cells"
    assert len(parsed.rows) == len(result.assets) + 1
    for asset in result.assets:
        assert f"## {text(asset.id)}" in document


def test_markdown_content() -> None:
    result = build_result()
    document = render_markdown(result)
    assert document.startswith("# IEC 62443 hardening audit: Riverside Water &amp; Wastewater, plant 2\n")
    assert "**1 of 3 assets falls short of the target security level; 1 asset could not be assessed.**" in document
    eng = document[document.index("## eng-ws-02"):document.index("## plc-03")]
    headings = re.findall(r"^#### (\w+) · (\w+) · ", eng, re.M)
    assert headings[0] == ("FAIL", "critical")
    order = ["critical", "high", "medium", "low", "info"]
    assert [h[1] for h in headings] == sorted((h[1] for h in headings), key=order.index)
    assert "linux.time.ntp-sync" not in eng  # passes are counted, not listed
    assert "- Remediation: Set \\`PermitRootLogin no\\` in /etc/ssh/sshd\\_config and reload sshd." in eng


def test_markdown_keeps_the_three_sources_apart() -> None:
    from auditor.assessment.catalog import load_catalog

    document = render_markdown(build_result())
    table = document[document.index("| Asset |"):document.index("SL vectors are")]
    assert ("| `eng-ws-02` | host | control | Below SL-T: 15 requirements unmet by device evidence; 1 answered not met; "
            "40 requirements await an answer | {2 2 2 1 2 1 2} | {0 0 0 0 0 1 0} | {0 0 0 0 0 1 0} | – | 28 % | 11 | 1 | 40 |"
            ) in table
    assert "| `hmi-01` | host | dmz | Meets SL-T: 11 requirements met by device evidence, 25 by answers | " in table
    assert "| {1 1 1 1 3 1 1} | {0 0 0 0 3 1 0} | {1 0 0 0 3 1 1} |" in table  # SL-A, evidence only, SL-C
    eng = document[document.index("## eng-ws-02"):document.index("## plc-03")]
    assert "### 40 requirements open: needs an answer" in eng
    question = text(load_catalog().get("CR 1.4").question)
    assert f"- `CR 1.4` Identifier management (FR1, SL 1): {question} Evidence that answers it: " in eng
    assert ("- `CR 1.3`: answered not met by J. Doe, OT security lead on 2025-11-18 (expires 2026-11-18); "
            "justification: The shared account 'ops' is still used on this workstation (ticket OPS-1201)") in eng
    assert ("- `CR 1.7`: answered met by J. Doe, OT security lead on 2025-11-18 (expires 2026-11-18); evidence: Password "
            "policy PP-2 rev 1 · **overruled: device evidence failed; the answer changes nothing**") in eng
    assert "· **expired: not counted**" in eng and "**its answer expired**" in eng
    assert "Levels: SL 1–2 judged with the applied profile's parameters (host-sl2); SL 3 not evaluated: not claimed" in eng
    hmi = document[document.index("## hmi-01"):document.index("## eng-ws-02")]
    assert "Product: Acme Automation OperatorStation OS-2200 (firmware 4.2.1)" in hmi
    assert "- `CR 3.4`: answered met by J. Doe" in hmi  # an answer on a row whose check asked for a person
    assert "### Vendor capability claims (14; SL-C only, assessor to verify)" in hmi
    assert "open: needs an answer" not in hmi
    answers = document[document.index("## Answers (attestations)"):]
    assert "**overruled** on eng-ws-02/CR 1.7" in answers and "**expired on 2025-10-01, not counted**" in answers
    for hostile in ANSWER_HOSTILES:  # a person's text is escaped like a device's
        assert hostile not in document


def test_markdown_escaping_helpers() -> None:
    assert text("a|b") == "a\\|b" and text("<script>") == "&lt;script&gt;" and text("x\ny") == "x y"
    assert text("*_`[]~\\") == "\\*\\_\\`\\[\\]\\~\\\\"
    assert cell("one\ntwo|three") == "one<br>two\\|three"
    block = code_block("a\n````\nb")
    assert block.startswith("`````text\n") and block.endswith("\n`````")


def test_markdown_code_blocks_cannot_be_closed_by_data() -> None:
    document = render_markdown(hostile_result())
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(document)
    assert "&lt;/system-out&gt;&lt;x/&gt;" in html  # inside the observed code block, as text
    assert "<x/>" not in html and "<b>" not in html and "<script>" not in html and "<i>" not in html


# --------------------------------------------------------------------------- JUnit XML


def validate_junit(document: str) -> ET.Element:
    """Structural check of the JUnit dialect CI servers read (the usual 'junit.xsd' constraints)."""
    root = ET.fromstring(document.encode("utf-8"))
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root:
        assert suite.tag == "testsuite"
        assert suite.get("name") and suite.get("timestamp") and suite.get("hostname") is not None
        children = list(suite)
        assert children[0].tag == "properties" and all(p.tag == "property" and p.get("name") and p.get("value")
                                                       is not None for p in children[0])
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case in children[1:]:
            assert case.tag == "testcase" and case.get("name") and case.get("classname")
            float(case.get("time", "0"))
            outcomes = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
            assert len(outcomes) <= 1 and all(c.tag in ("failure", "error", "skipped", "system-out") for c in case)
            counts["tests"] += 1
            for outcome in outcomes:
                element = case.find(outcome)
                assert element is not None and element.get("message") is not None
                if outcome != "skipped":
                    assert element.get("type")
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[outcome]] += 1
        for key, value in counts.items():
            assert int(suite.get(key)) == value, (suite.get("name"), key)
            totals[key] += value
    for key, value in totals.items():
        assert int(root.get(key)) == value, key
    return root


def test_junit_structure_and_mapping() -> None:
    result = build_result()
    root = validate_junit(render_junit(result))
    suites = {s.get("name"): s for s in root}
    assert list(suites) == [a.id for a in result.assets]
    for asset in result.assets:
        cases = {c.get("name"): c for c in suites[asset.id].findall("testcase")}
        assert set(cases) == {c.check_id for c in asset.results} | {"sl-target"}
        for check in asset.results:
            case = cases[check.check_id]
            tag = {"fail": "failure", "error": "error", "manual": "skipped", "not_applicable": "skipped",
                   "waived": "skipped"}.get(check.status)
            assert (case.find(tag) is not None) if tag else not [c for c in case if c.tag != "system-out"]
    eng = {c.get("name"): c for c in suites["eng-ws-02"].findall("testcase")}
    failure = eng["linux.sshd.permit-root-login"].find("failure")
    assert failure.get("type") == "high" and "observed:     yes" in failure.text and "expected:     no" in failure.text
    assert eng["sl-target"].find("failure") is not None
    assert {c.get("name"): c for c in suites["hmi-01"].findall("testcase")}["sl-target"].find("failure") is None
    assert {c.get("name"): c for c in suites["plc-03"].findall("testcase")}["sl-target"].find("error") is not None
    props = {p.get("name"): p.get("value") for p in suites["eng-ws-02"].find("properties")}
    assert props["sl_target"] == "{2 2 2 1 2 1 2}" and props["zone"] == "control"
    assert (props["technical_findings"], props["answered"], props["open"]) == ("15", "2", "40")
    assert eng["sl-target"].find("failure").get("type") == "sl-target"  # technical findings
    assert "15 requirements unmet by device evidence" in eng["sl-target"].find("failure").get("message")
    hmi = {p.get("name"): p.get("value") for p in suites["hmi-01"].find("properties")}
    assert hmi["sl_capability"] == "{1 0 0 0 3 1 1}" and hmi["shortfall"].startswith("meets SL-T")


def test_junit_tells_open_rows_from_technical_failures() -> None:
    """An asset short only because rows await an answer fails "sl-target" with its own type and message."""
    from auditor.assessment.attestations import AnswerBook
    from auditor.results import AnswerRef
    from datetime import date

    unanswered = build_assets(AnswerBook())  # no answers file: hmi-01 has no technical finding, only open rows
    root = validate_junit(render_junit(result_with(unanswered)))
    suite = next(s for s in root if s.get("name") == "hmi-01")
    failure = next(c for c in suite.findall("testcase") if c.get("name") == "sl-target").find("failure")
    assert failure.get("type") == "sl-target-open"
    assert failure.get("message").endswith(": no technical finding; 25 requirements await an answer")
    assert "open (needs an answer): CR 1.3, " in failure.text and "unmet by device evidence" not in failure.text
    eng = next(s for s in root if s.get("name") == "eng-ws-02")
    assert next(c for c in eng.findall("testcase") if c.get("name") == "sl-target").find("failure").get("type") == "sl-target"
    # answered "not met", no technical finding
    book = build_answers()
    hmi = unanswered[0]
    rows = [r.model_copy(update={"verdict": "unmet", "source": "answer", "answer": AnswerRef(
                entry="answers[9]", answer="not_met", state="counted", attested_by="J. Doe", date=date(2025, 11, 1),
                justification="no account review")}) if r.id == "CR 1.3" else r for r in hmi.requirements]
    answered = hmi.model_copy(update={"requirements": rows})
    suite = validate_junit(render_junit(result_with([answered], book=book)))[0]
    failure = next(c for c in suite.findall("testcase") if c.get("name") == "sl-target").find("failure")
    assert failure.get("type") == "sl-target-answered" and "1 answered not met" in failure.get("message")


def test_junit_escapes_markup_and_control_characters() -> None:
    document = render_junit(hostile_result())
    root = validate_junit(document)  # well-formed despite NUL, ESC and BEL from the "device"
    assert "\x00" not in document and "\x1b" not in document and "\x07" not in document
    evil = next(c for c in root.iter("testcase") if c.get("name") == "acme.evil.formula")
    failure = evil.find("failure")
    assert "bad\\x00byte\\x1b[31mred\\x07" in failure.text
    assert "</system-out><x/> ]]> <![CDATA[" in failure.text  # markup survives as text
    assert failure.get("message").startswith("+evil bad\\x00byte")
    assert root.get("name") == "IEC 62443 hardening audit: Site <b>&</b> | =1+1"
    assert ET.fromstring(document.encode()).find(".//testcase[@name='linux.login.banner']/failure").text.count(HOSTILES[0])


# --------------------------------------------------------------------------- OSCAL


def _trestle_roundtrip(document: dict) -> dict:
    from trestle.oscal.assessment_results import Model

    model = Model.model_validate(document)
    return json.loads(model.model_dump_json(by_alias=True, exclude_none=True))


@pytest.mark.parametrize("make, with_evidence", [(build_result, False), (build_result, True), (hostile_result, False),
                                                 (lambda: result_with([]), False)],
                         ids=["fixture", "fixture+evidence", "hostile", "no-assets"])
def test_oscal_validates_with_trestle(make, with_evidence: bool) -> None:
    document = build_oscal(make(), build_evidence() if with_evidence else None)
    assert _trestle_roundtrip(document) == document  # valid, and nothing dropped or coerced


def _uuids(node, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        if "uuid" in node:
            found.append(node["uuid"])
        for value in node.values():
            _uuids(value, found)
    elif isinstance(node, list):
        for value in node:
            _uuids(value, found)
    return found


def test_oscal_references_resolve() -> None:
    document = build_oscal(build_result(), build_evidence())["assessment-results"]
    uuids = _uuids(document, [])
    assert len(uuids) == len(set(uuids)), "uuids must be unique"
    result = document["results"][0]
    items = {i["uuid"] for i in result["local-definitions"]["inventory-items"]}
    components = {c["uuid"] for c in result["local-definitions"]["components"]}
    observations = {o["uuid"] for o in result["observations"]}
    risks = {r["uuid"] for r in result["risks"]}
    resources = {r["uuid"] for r in document["back-matter"]["resources"]}
    assert document["import-ap"]["href"][1:] in resources
    controls = {c["control-id"] for c in result["reviewed-controls"]["control-selections"][0]["include-controls"]}
    parties = {p["uuid"] for p in document["metadata"]["parties"]}
    for obs in result["observations"]:
        assert {s["subject-uuid"] for s in obs["subjects"]} <= items
        actors = [a for o in obs["origins"] for a in o["actors"]]
        assert {a["actor-uuid"] for a in actors if a["type"] == "tool"} <= components
        assert {a["actor-uuid"] for a in actors if a["type"] == "party"} <= parties
        for evidence in obs.get("relevant-evidence", []):
            assert "href" not in evidence or evidence["href"][1:] in resources or evidence["href"].startswith("https://")
    for finding in result["findings"]:
        assert {a["actor-uuid"] for o in finding["origins"] for a in o["actors"]} <= components | parties
        assert finding["target"]["target-id"] in controls
        assert {r["observation-uuid"] for r in finding.get("related-observations", [])} <= observations
        assert {r["risk-uuid"] for r in finding.get("related-risks", [])} <= risks
    for risk in result["risks"]:
        assert {r["observation-uuid"] for r in risk["related-observations"]} <= observations


def test_oscal_mapping_of_statuses() -> None:
    source = build_result()
    result = build_oscal(source)["assessment-results"]["results"][0]
    checks = [o for o in result["observations"] if o["methods"] == ["TEST"]]
    assert len(checks) == sum(len(a.results) for a in source.assets)
    answers = [o for o in result["observations"] if o["methods"] != ["TEST"]]
    assert len(answers) == sum((r.answer is not None) + (r.claim is not None)
                               for a in source.assets if a.status == "assessed" for r in a.requirements)
    expected_findings = sum(1 for a in source.assets for r in a.requirements if r.sl <= a.sl_target[r.fr])
    assert len(result["findings"]) == expected_findings
    for finding in result["findings"]:
        props = {p["name"]: p["value"] for p in finding["props"]}
        status = finding["target"].get("status", {})
        expected = {"met": "satisfied", "unmet": "not-satisfied", "open": "not-satisfied"}.get(props["verdict"])
        assert status.get("state") == expected, (finding["title"], props)
        if props["verdict"] == "open":  # never shown as satisfied; the remark says an answer is needed
            assert status["reason"] == "other" and "needs an answer" in status["remarks"]
            assert "Open: needs an answer." in finding["remarks"] and "\nQuestion: " in finding["remarks"]
        if props["verdict"] == "not_applicable":
            assert finding["target"]["implementation-status"] == {"state": "not-applicable"}
        actor = finding["origins"][0]["actors"][0]["type"]
        assert actor == ("party" if props["verdict-source"] == "answer" else "tool"), finding["title"]
    risks = {r["title"]: r for r in result["risks"]}
    assert risks["The host firewall drops unsolicited inbound traffic on eng-ws-02"]["status"] == "open"
    assert risks["USB mass storage is disabled on eng-ws-02"]["status"] == "deviation-approved"
    items = {p["value"]: i for i in result["local-definitions"]["inventory-items"] for p in i["props"] if p["name"] == "asset-id"}
    eng = {p["name"]: p["value"] for p in items["eng-ws-02"]["props"]}
    assert eng["sl-target"] == "{2 2 2 1 2 1 2}" and eng["meets-target"] == "false" and eng["ipv4-address"] == "10.10.1.22"
    assert (eng["rows-unmet-by-evidence"], eng["rows-open"]) == ("15", "40")
    hmi = {p["name"]: p["value"] for p in items["hmi-01"]["props"]}
    assert hmi["sl-capability"] == "{1 0 0 0 3 1 1}" and hmi["product-vendor"] == "Acme Automation"


def test_oscal_attestations_are_observations_by_their_party() -> None:
    document = build_oscal(build_result())["assessment-results"]
    parties = {p["uuid"]: p for p in document["metadata"]["parties"]}
    assert {(p["name"], p["type"]) for p in parties.values()} == {
        ("J. Doe, OT security lead", "person"), ("K. Lee, IT security", "person"),
        ("M. Smith <img src=x onerror=alert('by')>", "person"), ("Acme Automation PSIRT", "organization")}
    result = document["results"][0]
    tool = result["local-definitions"]["components"][0]["uuid"]

    def observation(title: str) -> dict:
        return next(o for o in result["observations"] if o["title"].startswith(title))

    def props(obs: dict) -> dict:
        return {p["name"]: p["value"] for p in obs["props"]}

    answered = observation("CR 1.3 on hmi-01: answered met by J. Doe")
    actor = answered["origins"][0]["actors"][0]
    assert actor["type"] == "party" and parties[actor["actor-uuid"]]["name"] == "J. Doe, OT security lead"
    assert actor["actor-uuid"] != tool
    assert answered["methods"] == ["EXAMINE"] and props(answered)["answer-state"] == "counted"
    assert answered["collected"] == "2025-11-18T00:00:00+00:00" and answered["expires"] == "2026-11-18T00:00:00+00:00"
    evidence = answered["relevant-evidence"]
    assert evidence[0] == {"description": "document or record: Hardening checklist HC-7 rev 4, item CR 1.3"}
    resource = next(r for r in document["back-matter"]["resources"] if r["uuid"] == evidence[1]["href"][1:])
    assert resource["rlinks"][0]["hashes"][0]["algorithm"] == "SHA-256"
    not_met = observation("CR 1.3 on eng-ws-02: answered not met")
    assert not_met["methods"] == ["INTERVIEW"] and not_met["types"] == ["finding"]  # no evidence: a person's word
    overruled = observation("CR 1.7 on eng-ws-02: answered met")
    assert props(overruled)["answer-state"] == "overruled"
    assert "Device evidence failed; the answer changes nothing." in overruled["remarks"]
    assert props(observation("CR 1.2 on eng-ws-02: answered met"))["answer-state"] == "expired"
    claim = observation("CR 1.3 on hmi-01: claimed met by Acme Automation PSIRT")
    assert parties[claim["origins"][0]["actors"][0]["actor-uuid"]]["type"] == "organization"
    assert props(claim)["capability-claim"] == "true" and "assessor to verify" in claim["remarks"]
    hostile = observation("CR 7.3 on eng-ws-02: answered met")
    assert hostile["relevant-evidence"][1]["href"] == "https://backup.invalid/jobs?id=7&view=%3Cb%3E"
    for obs in result["observations"]:  # device evidence keeps the tool as its origin
        if obs["methods"] == ["TEST"]:
            assert obs["origins"] == [{"actors": [{"type": "tool", "actor-uuid": tool}]}]
    finding = next(f for f in result["findings"] if f["title"] == "CR 1.7 on eng-ws-02: Unmet (evidence)")
    assert overruled["uuid"] in {r["observation-uuid"] for r in finding["related-observations"]}
    assert "the answer changes nothing" in finding["remarks"]


def test_oscal_ids_are_stable_and_tokens_valid() -> None:
    assert control_id("CR 2.11 RE1") == "cr-2.11-re1" and control_id("SR 1.1") == "sr-1.1"
    assert control_id("HDR 3.10 RE1") == "hdr-3.10-re1"
    one, two = build_oscal(build_result()), build_oscal(build_result())
    assert one == two
    rescored = build_result().model_copy(update={"profile": "host-sl3"})
    assert build_oscal(rescored)["assessment-results"]["uuid"] != one["assessment-results"]["uuid"]


def test_oscal_hostile_text_is_flattened_where_oscal_needs_one_line() -> None:
    document = build_oscal(hostile_result())
    assert "Site <b>&</b> | =1+1" in document["assessment-results"]["metadata"]["title"]
    result = document["assessment-results"]["results"][0]
    evil = next(o for o in result["observations"] if {"name": "check-id", "value": "acme.evil.formula", "ns": "urn:iacs-auditor:oscal"} in o["props"])
    assert "\n" not in evil["title"]
    assert FORMULA in evil["remarks"]
    json.loads(render_oscal(hostile_result()))  # serialises (control characters are JSON-escaped)
