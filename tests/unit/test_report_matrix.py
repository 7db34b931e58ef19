"""The vendor component matrix: every 4-2 requirement of the component's type up to an SL, with status,
evidence and the SL-C the evidence supports."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from auditor.catalog import load_catalog
from auditor.slvector import FRS
from reports.matrix import MatrixError, build_matrix, render_matrix
from result_fixture import HOSTILES, build_evidence, build_result


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
    assert rows["CR 2.8"].status == "not assessed" and "evidence could not be read" in rows["CR 2.8"].note
    assert rows["CR 1.2"].status == "not assessed" and not rows["CR 1.2"].checks
    assert rows["HDR 2.13"].status == "failed"  # waived failure: an accepted risk is still not a capability
    for row in matrix.rows:
        assert row.status != "passed" or (row.checks and all(c.result.status in ("pass", "not_applicable") for c in row.checks))
    assert sum(matrix.counts.values()) == len(matrix.rows)


def test_slc_is_the_strict_level_capped_at_the_matrix_sl(result) -> None:
    for asset in result.assets:
        for sl in (1, 2, 4):
            matrix = build_matrix(result, asset.id, sl)
            for fr in FRS:
                assert matrix.slc_supported[fr] <= matrix.slc_potential[fr] <= sl
                if asset.status == "assessed":
                    assert matrix.slc_supported[fr] == min(asset.sl_achieved_strict[fr], sl), (asset.id, fr, sl)
    hmi = build_matrix(result, "hmi-01", 1)
    assert hmi.slc_supported == {"FR1": 0, "FR2": 0, "FR3": 0, "FR4": 0, "FR5": 1, "FR6": 1, "FR7": 0}
    assert hmi.slc_potential == {fr: 1 for fr in FRS}  # nothing failed: SL-C 1 if the rest is confirmed


def test_unreachable_component_supports_nothing(result) -> None:
    matrix = build_matrix(result, "plc-03", 2)
    assert set(matrix.slc_supported.values()) == {0}
    assert {row.status for row in matrix.rows} == {"not assessed"}


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
    assert "SL-C on automated evidence" in document
    for hostile in HOSTILES:
        assert hostile not in document.replace("&#34;", '"') or hostile == "{{7*7}}"
