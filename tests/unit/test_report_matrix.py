"""The vendor component matrix: every 4-2 requirement of the component's type up to an SL, with the three
sources apart (automated evidence, vendor claim, site answer or what is still to see) and the SL-C; and its
CSV form (``matrix-csv``)."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.assessment.catalog import load_catalog
from auditor.assessment.slvector import FRS
from reports import FORMATS, default_name, write_report
from reports.matrix import CSV_COLUMNS, MatrixError, build_matrix, render_matrix, render_matrix_csv
from result_fixture import ANSWER_HOSTILES, HMI_PRODUCT, HOSTILES, build_evidence, build_result, result_with


@pytest.fixture(scope="module")
def result():
    return build_result()


def test_rows_are_every_requirement_of_the_type_up_to_the_sl(result) -> None:
    for asset_id, component_type in (("eng-ws-02", "host"), ("plc-03", "embedded")):
        for sl in (1, 2, 3, 4):
            matrix = build_matrix(result, asset_id, sl)
            expected = [r.id for r in load_catalog().for_component(component_type) if r.sl <= sl]
            assert [row.requirement.id for row in matrix.rows] == expected
            kinds = {row.requirement.kind for row in matrix.rows}
            assert kinds <= {"CR", {"host": "HDR", "embedded": "EDR"}[component_type]}


def test_default_sl_is_the_highest_target(result) -> None:
    assert build_matrix(result, "eng-ws-02").sl == 2
    assert build_matrix(result, "hmi-01").sl == 1


def test_statuses(result) -> None:
    matrix = build_matrix(result, "eng-ws-02", 2)
    rows = {row.requirement.id: row for row in matrix.rows}
    assert rows["CR 1.1"].status == "failed" and rows["CR 1.1"].checks[0].result.check_id == "linux.sshd.permit-root-login"
    assert rows["CR 2.11"].status == "passed"
    assert rows["CR 2.8"].status == "error" and "evidence could not be read" in rows["CR 2.8"].note
    assert rows["CR 2.8"].capability == "unmet"  # unreadable evidence is unmet, never "not assessed"
    assert rows["CR 1.4"].status == "not assessed" and not rows["CR 1.4"].checks
    assert rows["HDR 2.13"].status == "failed"  # waived failure: an accepted risk is still not a capability
    for row in matrix.rows:
        assert row.status != "passed" or (row.checks and all(c.result.status in ("pass", "not_applicable") for c in row.checks))
    assert sum(matrix.counts.values()) == len(matrix.rows)
    assert sum(matrix.capability_counts.values()) == len(matrix.rows)


def test_rows_carry_the_results_verdicts_and_sources(result) -> None:
    """The matrix takes verdict, source, answer and claim from the result's rows; it does not recompute them."""
    for asset in result.assets:
        judged = {r.id: r for r in asset.requirements}
        for row in build_matrix(result, asset.id, 4).rows:
            assert row.row == judged[row.requirement.id]
            assert (row.verdict, row.source, row.answer, row.claim) == (
                judged[row.requirement.id].verdict, judged[row.requirement.id].source,
                judged[row.requirement.id].answer, judged[row.requirement.id].claim)
    eng = {row.requirement.id: row for row in build_matrix(result, "eng-ws-02", 2).rows}
    assert (eng["CR 1.3"].verdict, eng["CR 1.3"].source) == ("unmet", "answer")  # answered not met
    assert (eng["CR 1.7"].verdict, eng["CR 1.7"].source, eng["CR 1.7"].answer.state) == ("unmet", "evidence", "overruled")
    assert eng["CR 1.4"].verdict == "open" and eng["CR 1.4"].question.startswith("Does the component let administrators")
    assert eng["CR 1.4"].answer_evidence == load_catalog().get("CR 1.4").answer_evidence
    assert eng["CR 1.2"].verdict == "open" and eng["CR 1.2"].answer.state == "expired"
    assert eng["CR 1.1"].question == ""  # only open rows ask


def test_claims_and_capability_standing(result) -> None:
    hmi = {row.requirement.id: row for row in build_matrix(result, "hmi-01", 2).rows}
    assert hmi["CR 1.3"].claim is not None and hmi["CR 1.3"].capability == "claimed"
    assert hmi["CR 1.1"].capability == "met" and hmi["CR 1.1"].claim.state == "confirmed"  # evidence shows it too
    assert hmi["CR 2.2"].capability == "open"  # a site answer (not applicable) is no vendor claim
    assert hmi["CR 2.2"].verdict == "not_applicable" and hmi["CR 2.2"].source == "answer"


def test_slc_is_the_capability_level_capped_at_the_matrix_sl(result) -> None:
    for asset in result.assets:
        for sl in (1, 2, 4):
            matrix = build_matrix(result, asset.id, sl)
            for fr in FRS:
                assert matrix.slc_supported[fr] <= matrix.slc_potential[fr] <= sl
                if asset.status == "assessed":
                    level = asset.sl_capability if asset.sl_capability is not None else asset.sl_achieved_strict
                    assert matrix.slc_supported[fr] == min(level[fr], sl), (asset.id, fr, sl)
    hmi = build_matrix(result, "hmi-01", 1)
    assert hmi.slc_source == "claims" and hmi.slc_label == "SL-C: device evidence and vendor claims"
    assert hmi.slc_supported == {"FR1": 1, "FR2": 0, "FR3": 0, "FR4": 0, "FR5": 1, "FR6": 1, "FR7": 1}
    assert hmi.slc_potential == {fr: 1 for fr in FRS}  # nothing unmet: SL-C 1 if the rest is confirmed
    # SL 2 was judged with host-sl2 parameters, where CR 1.7 fails: no claim lifts FR1 above 1
    assert build_matrix(result, "hmi-01", 2).slc_supported["FR1"] == 1
    assert build_matrix(result, "hmi-01", 2).slc_potential["FR1"] == 1
    eng = build_matrix(result, "eng-ws-02", 2)
    assert eng.slc_source == "evidence" and eng.slc_supported == {fr: min(v, 2) for fr, v in
                                                                 result.assets[1].sl_achieved_strict.items()}


def test_levels_not_evaluated_are_not_claimed(result) -> None:
    """A level whose parameters were never applied is not claimed, whatever the rows say."""
    hmi = result.assets[0]
    lifted = hmi.model_copy(update={"sl_capability": hmi.sl_capability.model_copy(update={"FR5": 4})})
    matrix = build_matrix(result_with([lifted]), "hmi-01", 4)
    assert matrix.slc_supported["FR5"] == 4  # the result's own SL-C is shown ...
    assert matrix.slc_potential["FR5"] == 3  # ... while the potential stops where SL 4 was not evaluated
    assert "SL 4 not evaluated: not claimed" in matrix.levels


def test_unreachable_component_supports_nothing(result) -> None:
    matrix = build_matrix(result, "plc-03", 2)
    assert set(matrix.slc_supported.values()) == {0}
    assert {row.status for row in matrix.rows} == {"not assessed", "error"}
    assert {row.capability for row in matrix.rows} == {"open", "unmet"}


def test_system_basis_result_is_judged_from_checks(result) -> None:
    """A result scored on 3-3 SRs carries no 4-2 rows: the matrix judges them from the checks, evidence only."""
    eng = result.assets[1]
    system = eng.model_copy(update={"requirements": [r for r in eng.requirements if not r.id.startswith(("CR", "HDR"))],
                                    "sl_capability": None})
    matrix = build_matrix(result_with([system]), "eng-ws-02", 2)
    rows = {row.requirement.id: row for row in matrix.rows}
    assert not matrix.from_result
    assert rows["CR 1.1"].verdict == "unmet" and rows["CR 1.3"].verdict == "open"  # no answers on recomputed rows
    assert rows["CR 2.11"].verdict == "met" and rows["CR 2.11"].source == "evidence"
    assert matrix.slc_supported["FR6"] == 1 and matrix.slc_supported["FR1"] == 0


def test_errors(result) -> None:
    with pytest.raises(MatrixError, match="no asset 'nope'.*hmi-01, eng-ws-02, plc-03"):
        build_matrix(result, "nope")
    with pytest.raises(MatrixError, match="out of range"):
        build_matrix(result, "hmi-01", 5)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.events: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.events += [name for name, _ in attrs if name.startswith("on")]


def test_html_is_self_contained_escaped_and_shows_evidence(result) -> None:
    document = render_matrix(result, ["eng-ws-02", "plc-03"], evidence=build_evidence())
    parsed = _Tags()
    parsed.feed(document)
    assert not parsed.tags & {"script", "img", "link", "iframe", "object"} and not parsed.events
    assert "script-src 'none'" in document and "default-src 'none'" in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document  # the banner check's observed value
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in document or "&quot;&gt;&lt;img" in document
    assert re.search(r"eng-ws-02#1</code> ssh:exec:sshd -T\[sudo=True\] <span class=\"mono\">sha256 [0-9a-f]{16}", document)
    assert document.count('<section class="component"') == 2
    assert "SL-C on device evidence alone (no vendor claims)" in document
    for hostile in HOSTILES + ANSWER_HOSTILES:
        assert hostile not in document.replace("&#34;", '"') or hostile == "{{7*7}}"
    assert "M. Smith &lt;img src=x onerror=alert(&#39;by&#39;)&gt;" in document  # the answer's author, as text


def test_html_shows_product_claims_and_what_is_still_to_see(result) -> None:
    document = render_matrix(result, ["hmi-01", "eng-ws-02"])
    hmi = document[document.index('id="component-1"'):document.index('id="component-2"')]
    for value in HMI_PRODUCT.values():
        assert f"<dd>{value}</dd>" in hmi
    assert "SL-C: device evidence and vendor claims" in hmi
    slc = re.search(r"<th[^>]*>SL-C: device evidence and vendor claims</th>(.*?)</tr>", hmi, re.S).group(1)
    assert re.findall(r'<td class="slc">(\d)</td>', slc) == ["1", "0", "0", "0", "1", "1", "1"]
    row = re.search(r'<tr class="cm-row [^"]*">\s*<td class="mono" data-fr="FR1">CR 1.3</td>(.*?)</tr>', hmi, re.S).group(1)
    assert "claimed met by Acme Automation PSIRT on 2025-10-01" in row and "assessor to verify" in row
    assert "OperatorStation security manual v4.2, section 5.3" in row
    assert "answered met by J. Doe, OT security lead on 2025-11-18" in row
    assert "SL 2 judged with host-sl2 parameters" in hmi and "SL 4 not evaluated: not claimed" in hmi
    eng = document[document.index('id="component-2"'):]
    assert "<dd>not recorded</dd>" in eng
    row = re.search(r'<td class="mono" data-fr="FR1">CR 1.4</td>(.*?)</tr>', eng, re.S).group(1)
    assert "open: needs an answer" in row
    assert load_catalog().get("CR 1.4").question.replace("'", "&#39;") in row
    assert "Evidence that answers it:" in row
    row = re.search(r'<td class="mono" data-fr="FR1">CR 1.7</td>(.*?)</tr>', eng, re.S).group(1)
    assert "device evidence failed; the answer changes nothing" in row


# --------------------------------------------------------------------------- matrix-csv


def _csv(document: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(document, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


def test_matrix_csv_is_registered(result, tmp_path: Path) -> None:
    assert FORMATS["matrix-csv"][1] == "component-matrix.csv" == default_name("matrix-csv")
    path = write_report(result, "matrix-csv", tmp_path / default_name("matrix-csv"), build_evidence())
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM for Excel, RFC 4180 line ends, like results.csv
    assert len(_csv(raw.decode("utf-8-sig"))) == sum(len(build_matrix(result, a.id).rows) for a in result.assets)


def test_matrix_csv_columns_and_rows(result) -> None:
    assert CSV_COLUMNS == (
        "asset", "asset_type", "vendor", "product", "model", "firmware", "requirement", "title", "fr", "sl",
        "verdict", "source", "device_status", "checks", "check_statuses", "capability", "claim", "claim_evidence",
        "answer", "answer_evidence", "question", "evidence_wanted")
    rows = _csv(render_matrix_csv(result))
    by = {(r["asset"], r["requirement"]): r for r in rows}
    matrix = build_matrix(result, "eng-ws-02")
    assert [r["requirement"] for r in rows if r["asset"] == "eng-ws-02"] == [row.requirement.id for row in matrix.rows]
    hmi = by[("hmi-01", "CR 1.3")]
    assert (hmi["vendor"], hmi["product"], hmi["model"], hmi["firmware"]) == (
        "Acme Automation", "OperatorStation", "OS-2200", "4.2.1")
    assert (hmi["verdict"], hmi["source"], hmi["device_status"], hmi["capability"]) == ("met", "answer", "not_assessed", "claimed")
    assert hmi["claim"].startswith("met by Acme Automation PSIRT on 2025-10-01") and "assessor to verify" in hmi["claim"]
    assert hmi["claim_evidence"] == "OperatorStation security manual v4.2, section 5.3"
    assert hmi["answer"].startswith("met by J. Doe, OT security lead on 2025-11-18")
    assert "evidence/hmi-01-checklist.pdf (sha256 3f0a6c1e9b2d" in hmi["answer_evidence"]
    assert hmi["question"] == "" and hmi["evidence_wanted"] == ""  # answered: nothing left to ask
    pw = by[("eng-ws-02", "CR 1.7")]
    assert (pw["verdict"], pw["source"]) == ("unmet", "evidence")
    assert pw["checks"] == "linux.pam.password-min-length" and pw["check_statuses"] == "linux.pam.password-min-length: fail"
    assert "[overruled: device evidence failed; the answer changes nothing]" in pw["answer"]
    open_row = by[("eng-ws-02", "CR 1.4")]
    assert (open_row["verdict"], open_row["source"]) == ("open", "none")
    assert open_row["question"] == load_catalog().get("CR 1.4").question
    assert open_row["evidence_wanted"] == load_catalog().get("CR 1.4").answer_evidence
    assert by[("eng-ws-02", "CR 1.2")]["answer"].endswith("[expired: expired: not counted]")
    assert by[("eng-ws-02", "CR 1.2")]["question"]  # expired: open again, so the question is asked again


def test_matrix_csv_neutralizes_formulas(result) -> None:
    hmi = result.assets[0]
    evil = hmi.model_copy(update={"product": {"vendor": "=HYPERLINK(\"http://x\")", "name": "@SUM(1)"}})
    rows = _csv(render_matrix_csv(result_with([evil])))
    assert rows[0]["vendor"].startswith("'=") and rows[0]["product"].startswith("'@")
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)
