"""report.html beyond the basics of test_reports.py: zones, heat map, radar charts, filters, CSP, print mode,
and the hook for a history partial. (The real-browser behaviour is in tests/integration/test_report_browser.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from jinja2 import ChoiceLoader, DictLoader

import reports.html as html_module
from auditor.results import ScanResult
from reports.common import check_frs
from reports.html import content_security_policy, filter_script, render_html, script_hash
from result_fixture import HOSTILE_TEMPLATE, HOSTILES, build_evidence, build_result


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def having(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def _elements(document: str) -> _Elements:
    parser = _Elements()
    parser.feed(document)
    return parser


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return build_result()


@pytest.fixture(scope="module")
def document(result: ScanResult) -> str:
    return render_html(result, evidence=build_evidence(), checks={})


def test_csp_allows_only_our_script_by_hash(document: str) -> None:
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', document).group(1)
    assert csp == content_security_policy(filter_script())
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["script-src"] == script_hash(filter_script())
    assert "unsafe" not in directives["script-src"] and "http" not in csp and "*" not in csp
    assert document.index("Content-Security-Policy") < document.index("<script>")


def test_filter_script_uses_no_network_or_html_injection() -> None:
    script = filter_script()
    for forbidden in ("fetch(", "XMLHttpRequest", "eval(", "Function(", "innerHTML", "outerHTML", "insertAdjacentHTML",
                      "document.write", "import(", "http:", "https:", "setTimeout(\"", "WebSocket", "localStorage"):
        assert forbidden not in script, forbidden
    assert "</" not in script


def test_filter_bar_is_hidden_until_the_script_shows_it(document: str, result: ScanResult) -> None:
    parsed = _elements(document)
    bar = parsed.having("div", id="filters")
    assert len(bar) == 1 and "hidden" in bar[0]
    selects = {a["data-filter"] for a in parsed.having("select") if a.get("data-filter")}
    assert selects == {"zone", "asset", "fr", "severity", "status"}
    options = re.search(r'data-filter="zone".*?</select>', document, re.S).group(0)
    assert 'value="control {{7*7}}"' in options  # the hostile zone as an escaped attribute value
    assets = re.search(r'data-filter="asset".*?</select>', document, re.S).group(0)
    assert [v for v in re.findall(r'<option value="([^"]*)"', assets) if v] == [a.id for a in result.assets]
    assert all("hidden" in a for a in parsed.having("p", **{"class": "muted no-match"}))


def test_every_finding_carries_its_filter_keys(document: str, result: ScanResult) -> None:
    cards = [a for t, a in _elements(document).elements if t == "article" and (a.get("class") or "").startswith("finding")]
    assert len(cards) == sum(len(a.results) for a in result.assets)
    expected = sorted((a.id, a.zone, " ".join(check_frs(c)), c.severity, c.status) for a in result.assets for c in a.results)
    actual = sorted((c["data-asset"], c["data-zone"], c["data-fr"], c["data-severity"], c["data-status"]) for c in cards)
    assert actual == expected
    assert any(c["data-zone"] == f"control {HOSTILE_TEMPLATE}" for c in cards)


def test_zone_summary_shows_the_weakest_asset(document: str) -> None:
    zones = re.findall(r'<article class="zone" id="zone-\d+" data-zone="([^"]*)">(.*?)</article>', document, re.S)
    assert [z for z, _ in zones] == ["dmz", "control", "control {{7*7}}"]
    control = dict(zones)["control"]
    weakest = re.findall(r'<td class="num zsl zsl-(\w+)">([^<]+)</td>', control)
    assert weakest == [("short", "0")] * 5 + [("met", "1"), ("short", "0")]
    assert "5 critical or high" in control
    unreachable = dict(zones)["control {{7*7}}"]
    assert unreachable.count("zsl-unknown") == 7 and "1 not assessed" in unreachable


def test_heat_map_grades_the_gap(document: str) -> None:
    row = re.search(r'<tr data-asset="eng-ws-02" data-zone="control">(.*?)</tr>', document, re.S).group(1)
    cells = re.findall(r'<td class="sl ([^"]+)" title="(FR\d)', row)
    assert dict((fr, cls) for cls, fr in cells) == {
        "FR1": "sl-short sl-gap2", "FR2": "sl-short sl-gap2", "FR3": "sl-short sl-gap2", "FR4": "sl-short sl-gap1",
        "FR5": "sl-short sl-gap2", "FR6": "sl-met", "FR7": "sl-short sl-gap2"}
    assert document.count('<tr class="zone-row"') == 3


def test_radar_chart_per_asset(document: str, result: ScanResult) -> None:
    charts = re.findall(r'<svg class="chart" data-chart="radar".*?</svg>', document, re.S)
    assert len(charts) == len(result.assets)
    for chart, asset in zip(charts, result.assets):
        target = re.search(r'<polygon class="target" points="([^"]+)"', chart).group(1)
        assert len(target.split()) == 7
        assert chart.count('class="ring') == 4 and chart.count('<line class="spoke"') == 7
        assert ("achieved" in chart) == (asset.status == "assessed")
    eng = charts[1]
    assert 'class="achieved achieved-short"' in eng and eng.count('class="dot dot-short"') == 6
    assert "FR4 Data confidentiality: SL-T 1, SL-A 0, device evidence only 0" in eng
    hmi = charts[0]  # answers lift SL-A above what device evidence alone shows
    assert "FR1 Identification and authentication control: SL-T 1, SL-A 1, device evidence only 0" in hmi
    assert "not assessed: SL-A unknown" in charts[2]


def test_history_partial_is_included_per_zone_and_asset(result: ScanResult, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "HISTORY" not in render_html(result, checks={})  # absent partial: skipped silently
    env = html_module._environment()
    env.loader = ChoiceLoader([DictLoader({"_history.html.j2": (
        '<div class="history">HISTORY {{ history_scope }} {{ history_id }} {{ result.site }}</div>')}), env.loader])
    monkeypatch.setattr(html_module, "_ENV", env)
    document = render_html(result, checks={})
    found = re.findall(r'<div class="history">HISTORY (\w+) (.*?) Riverside Water &amp; Wastewater, plant 2</div>', document)
    assert found == [("zone", "dmz"), ("zone", "control"), ("zone", "control {{7*7}}"),
                     ("asset", "hmi-01"), ("asset", "eng-ws-02"), ("asset", "plc-03")]


def test_print_mode_has_a_cover_and_no_script(result: ScanResult) -> None:
    cover = {"site": result.site, "date": "2025-11-20", "profile": result.profile, "operator": HOSTILES[0],
             "tool": "iacs-auditor 0.1.0"}
    document = render_html(result, evidence=build_evidence(), checks={}, print_mode=True, cover=cover)
    assert "<script" not in document and 'id="filters"' not in document
    assert "script-src 'none'" in document
    cover_html = re.search(r'<section class="cover">(.*?)</section>', document, re.S).group(1)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cover_html and "Sign-off" in cover_html
    assert '<details class="others"' not in document and document.count('<table class="compact">') == 2  # passes listed
    assert '<details class="evidence" open>' in document  # the evidence of each finding printed
    assert "@page cover" in document and 'counter(page) " of " counter(pages)' in document


def test_requirement_rows_carry_their_fr(document: str) -> None:
    assert re.search(r'<td class="mono" data-fr="FR2">CR 2\.11 RE1</td>', document)
