"""report.html beyond the basics of test_reports.py: zones, heat map, radar charts, filters, CSP, print mode,
the hook for a history partial, and the three sources of a row verdict (device evidence, answer, open). (The real-browser behaviour is in tests/integration/test_report_browser.py.)"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from jinja2 import ChoiceLoader, DictLoader

import reports.html as html_module
from auditor.assessment.catalog import load_catalog
from auditor.results import ScanResult
from reports.common import SEVERITY_ORDER, check_frs
from reports.plant import gap, ranked
from reports.html import content_security_policy, filter_script, render_html, script_hash
from result_fixture import ANSWER_HOSTILES, HOSTILE_TEMPLATE, HOSTILES, build_evidence, build_result, result_with


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
    return render_html(result, evidence=build_evidence())


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


def test_heat_map_grades_the_gap(document: str, result: ScanResult) -> None:
    row = re.search(r'<tr data-asset="eng-ws-02" data-zone="control">(.*?)</tr>', document, re.S).group(1)
    cells = re.findall(r'<td class="sl ([^"]+)" title="(FR\d)', row)
    assert dict((fr, cls) for cls, fr in cells) == {
        "FR1": "sl-short sl-gap2", "FR2": "sl-short sl-gap2", "FR3": "sl-short sl-gap2", "FR4": "sl-short sl-gap1",
        "FR5": "sl-short sl-gap2", "FR6": "sl-met", "FR7": "sl-short sl-gap2"}
    heat = re.search(r'<table class="plant heat">.*?</table>', document, re.S).group(0)
    order = re.findall(r'<tr data-asset="([^"]*)"', heat)
    assert order == [html.unescape(a.id) for a in ranked(result.assets)]  # furthest below target first
    assert order[0] == "eng-ws-02" and order[-1] == "hmi-01"
    assert re.search(r'<td class="num gap">(\d+)</td>', row).group(1) == str(gap(result.assets[1]))


def test_radar_chart_per_asset(document: str, result: ScanResult) -> None:
    charts = re.findall(r'<svg class="chart" data-chart="radar".*?</svg>', document, re.S)
    assert len(charts) == len(result.assets)
    for chart, asset in zip(charts, ranked(result.assets)):  # asset sections follow the plant's ranking
        target = re.search(r'<polygon class="target" points="([^"]+)"', chart).group(1)
        assert len(target.split()) == 7
        assert chart.count('class="ring') == 4 and chart.count('<line class="spoke"') == 7
        assert ("achieved" in chart) == (asset.status == "assessed")
    eng = charts[0]
    assert 'class="achieved achieved-short"' in eng and eng.count('class="dot dot-short"') == 6
    assert "FR4 Data confidentiality: SL-T 1, SL-A 0, device evidence only 0" in eng
    hmi = charts[2]  # answers lift SL-A above what device evidence alone shows
    assert "FR1 Identification and authentication control: SL-T 1, SL-A 1, device evidence only 0" in hmi
    assert "not assessed: SL-A unknown" in charts[1]


def test_history_partial_is_included_per_zone_and_asset(result: ScanResult, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "HISTORY" not in render_html(result)  # absent partial: skipped silently
    env = html_module._environment()
    env.loader = ChoiceLoader([DictLoader({"_history.html.j2": (
        '<div class="history">HISTORY {{ history_scope }} {{ history_id }} {{ result.site }}</div>')}), env.loader])
    monkeypatch.setattr(html_module, "_ENV", env)
    document = render_html(result)
    found = re.findall(r'<div class="history">HISTORY (\w+) (.*?) Riverside Water &amp; Wastewater, plant 2</div>', document)
    assert found == [("zone", "dmz"), ("zone", "control"), ("zone", "control {{7*7}}"),
                     ("asset", "eng-ws-02"), ("asset", "plc-03"), ("asset", "hmi-01")]


def test_print_mode_has_a_cover_and_no_script(result: ScanResult) -> None:
    cover = {"site": result.site, "date": "2025-11-20", "profile": result.profile, "operator": HOSTILES[0],
             "tool": "iacs-auditor 0.1.0"}
    document = render_html(result, evidence=build_evidence(), print_mode=True, cover=cover)
    assert "<script" not in document and 'id="filters"' not in document
    assert "script-src 'none'" in document
    cover_html = re.search(r'<section class="cover">(.*?)</section>', document, re.S).group(1)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in cover_html and "Sign-off" in cover_html
    assert '<details class="others"' not in document and document.count('<table class="compact">') == 2  # passes listed
    assert '<details class="evidence" open>' in document  # the evidence of each finding printed
    assert "@page cover" in document and 'counter(page) " of " counter(pages)' in document


def test_requirement_rows_carry_their_fr(document: str) -> None:
    assert re.search(r'<td class="mono" data-fr="FR2">CR 2\.11 RE1</td>', document)


# --------------------------------------------------------------------------- device evidence, answers, open


def _asset_section(document: str, asset_id: str) -> str:
    start = document.index(f'<h2 data-asset="{asset_id}"')
    end = document.find('<section class="asset"', start)
    return document[start:end if end != -1 else document.index('<section class="block answers-section"')]


def _row(section: str, req_id: str) -> str:
    match = re.search(r'<tr class="rq-\w+ src-\w+">\s*<td class="mono" data-fr="FR\d">' + re.escape(req_id)
                      + r"</td>(.*?)</tr>", section, re.S)
    assert match, req_id
    return match.group(1)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip())


def test_figures_show_the_verdict_beside_device_evidence_only(document: str) -> None:
    hmi = _asset_section(document, "hmi-01")
    figures = _text(hmi[hmi.index('<table class="figures">'):hmi.index("</table>", hmi.index('<table class="figures">'))])
    assert "Verdict Meets SL-T meets SL-T: 11 requirements met by device evidence, 25 by answers" in figures
    assert "SL-A {1 1 1 1 3 1 1}" in figures and "SL-A, device evidence only {0 0 0 0 3 1 0}" in figures
    assert "SL-C (device evidence and vendor claims) {1 0 0 0 3 1 1}" in figures
    assert "11 met by device evidence" in figures and "24 met by answers" in figures and "1 not applicable" in figures
    assert "SL 1 judged with the applied profile's parameters (host-sl1)" in figures
    assert "SL 2 judged with host-sl2 parameters (1 row judged differently there)" in figures
    assert "SL 4 not evaluated: not claimed" in figures
    assert "Product Acme Automation OperatorStation OS-2200, firmware 4.2.1" in figures
    eng = _asset_section(document, "eng-ws-02")
    figures = _text(eng[eng.index('<table class="figures">'):eng.index("</table>", eng.index('<table class="figures">'))])
    assert ("Verdict Below SL-T 15 requirements unmet by device evidence; 1 answered not met; "
            "40 requirements await an answer") in figures
    assert "SL 3 not evaluated: not claimed" in figures and "SL-C" not in figures  # no vendor claims, no SL-C
    heat = re.search(r'<tr data-asset="eng-ws-02" data-zone="control">(.*?)</tr>', document, re.S).group(1)
    assert "40 requirements await an answer" in heat


def test_open_row_shows_the_question(document: str) -> None:
    eng = _asset_section(document, "eng-ws-02")
    row = _row(eng, "CR 1.4")
    requirement = load_catalog().get("CR 1.4")
    assert '<span class="badge b-open">Open</span>' in row
    assert '<strong class="open-label">open: needs an answer</strong>' in row
    assert f'<p class="question">{requirement.question}</p>' in row
    assert requirement.answer_evidence in row
    assert '<span class="badge b-not_assessed">Not assessed</span>' in row  # what device evidence said, apart
    expired = _row(eng, "CR 1.2")  # an expired answer leaves the row open, and says so
    assert "open: needs an answer (its answer expired on 2025-10-01)" in expired
    assert "answered met by K. Lee, IT security on 2024-10-01 (expired 2025-10-01)" in expired
    assert '<span class="an-note an-note-expired">expired: not counted</span>' in expired


def test_answered_row_shows_who_when_and_on_what(document: str) -> None:
    hmi = _asset_section(document, "hmi-01")
    row = _row(hmi, "CR 1.3")
    assert '<span class="badge b-met">Met</span>' in row
    assert "answered met by J. Doe, OT security lead on 2025-11-18 (expires 2026-11-18)" in row
    assert "Hardening checklist HC-7 rev 4, item CR 1.3" in row and "evidence/hmi-01-checklist.pdf (sha256 3f0a6c1e9b2d…)" in row
    assert "claimed met by Acme Automation PSIRT on 2025-10-01" in row and "assessor to verify" in row
    manual = _row(hmi, "CR 3.4")  # a check asked for a person; the answer decided it
    assert "answered met by J. Doe" in manual and '<span class="badge b-manual">Manual</span>' in manual
    evidence = _row(hmi, "CR 1.1")
    assert '<span class="src-label">device evidence</span>' in evidence and "device evidence met the row too" in evidence
    assert 'href="#a1-c' in evidence  # the check behind it is linked
    not_applicable = _row(hmi, "CR 2.2")
    assert "answered not applicable by J. Doe" in not_applicable and "no wireless interface" in not_applicable


def test_overruled_answer_is_flagged(document: str) -> None:
    eng = _asset_section(document, "eng-ws-02")
    row = _row(eng, "CR 1.7")
    assert '<span class="badge b-unmet">Unmet</span>' in row and '<span class="src-label">device evidence</span>' in row
    assert '<span class="an-note an-note-overruled">device evidence failed; the answer changes nothing</span>' in row
    not_met = _row(eng, "CR 1.3")
    assert '<span class="badge b-unmet">Unmet</span>' in not_met and "answered not met by J. Doe" in not_met
    answers = document[document.index('<section class="block answers-section" id="answers">'):]
    assert "From <code>answers.yaml</code>: 30 site answers and 19 vendor capability claims." in answers
    overruled = re.search(r'<tr class="an-row an-current an-overruled">(.*?)</tr>', answers, re.S).group(1)
    assert "answers[45] (CR 1.7)" in overruled
    assert "device evidence failed; the answer changes nothing: eng-ws-02/CR 1.7" in _text(overruled)
    expired = re.search(r'<tr class="an-row an-expired">(.*?)</tr>', answers, re.S).group(1)
    assert "expired: not counted" in expired and "would decide: eng-ws-02/CR 1.2" in _text(expired)
    assert "Vendor capability claims (SL-C only, assessor to verify)" in answers
    assert 'href="#answers"' in document


def test_hostile_answers_are_escaped(document: str) -> None:
    for hostile in ANSWER_HOSTILES:
        assert hostile not in document
    assert "M. Smith &lt;img src=x onerror=alert(&#39;by&#39;)&gt;" in document
    assert "&lt;script&gt;alert(&#39;justification&#39;)&lt;/script&gt; nightly backups" in document
    assert "&#34;&gt;&lt;svg onload=alert(&#39;evidence&#39;)&gt;" in document
    parsed = _elements(document)
    assert "img" not in {tag for tag, _ in parsed.elements}
    assert all(not name.lower().startswith("on") for _, attrs in parsed.elements for name in attrs)
    assert document.lower().count("<script") == 1  # only the report's own filter script
    text = _text(re.sub(r"<script>.*?</script>", "", document, flags=re.S))
    for hostile in ANSWER_HOSTILES:  # ... and shown as text
        assert hostile in text


def test_without_answers_file(result: ScanResult) -> None:
    document = render_html(result.model_copy(update={"attestations": [], "attestations_source": None}))
    answers = document[document.index('id="answers"'):]
    assert "No answers file was applied to this result" in answers and "iacs-audit questionnaire" in answers
    assert "no answers file applied" in document


def test_print_mode_keeps_answers_and_questions(result: ScanResult) -> None:
    document = render_html(result, print_mode=True, cover={"site": result.site, "date": "2025-11-20",
                                                                      "profile": result.profile, "operator": None,
                                                                      "tool": "iacs-auditor 0.1.0"})
    assert "answers.yaml (49 entries)" in document and "40 requirements await an answer" in document
    assert '<section class="block answers-section" id="answers">' in document
    assert load_catalog().get("CR 1.4").question.replace("'", "&#39;") in document


# --------------------------------------------------------------------------- the plant page and per-asset pages


def _plant(result: ScanResult, copies: int) -> ScanResult:
    assets = [a.model_copy(update={"id": f"{a.id}-{n:03d}"}) for n in range(copies) for a in result.assets]
    return result.model_copy(update={"assets": assets})


def test_fix_first_groups_failing_checks_across_the_plant(result: ScanResult) -> None:
    plant = _plant(result, 4)
    document = render_html(plant)
    section = re.search(r'<table class="fix">.*?</table>', document, re.S).group(0)
    rows = re.findall(r'<tr data-fix data-severity="(\w+)" data-fr="([^"]*)" data-statuses="([^"]*)" '
                      r'data-zones="([^"]*)" data-assets="([^"]*)">(.*?)</tr>', section, re.S)
    failing = {c.check_id for a in plant.assets if a.status == "assessed" for c in a.results
               if c.status in ("fail", "error")}
    assert len(rows) == len(failing) > 0  # one row per check, not per asset
    ranks = [SEVERITY_ORDER.index(severity) for severity, *_ in rows]
    assert ranks == sorted(ranks)
    zone_key = re.search(r'<option value="control" data-key="(k\d+)">', document).group(1)
    for severity, frs, statuses, zones, assets, body in rows:
        assert zones == zone_key and len(assets.split()) == 4  # eng-ws-02's four copies, all in zone control
        assert "<td class=\"num\"><strong>4</strong>" in body and 'href="#asset-' in body
        assert set(statuses.split()) <= {"fail", "error"}
    assert document.index('id="fix-first"') < document.index('id="heatmap"') < document.index('<section class="asset"')


def test_what_answering_would_complete(result: ScanResult) -> None:
    document = render_html(result)
    answering_html = re.search(r'<h3 id="answering">.*?</table>', document, re.S).group(0)
    open_rows = sum(r.verdict == "open" for a in result.assets if a.status == "assessed" for r in a.requirements
                    if r.sl <= a.sl_target[r.fr])
    assert f"{open_rows} requirement rows up to SL-T" in answering_html
    assert '<tr data-question data-fr="FR' in answering_html


def test_page_names_are_safe_and_unique(result: ScanResult) -> None:
    from reports.html import page_names

    ids = ["plc-01", "../../etc/passwd", "a b", "PLC-01", "<script>", "", "x" * 300, "plc_01"]
    assets = [result.assets[0].model_copy(update={"id": i}) for i in ids]
    names = page_names(result.model_copy(update={"assets": assets}))
    assert names["plc-01"] == "plc-01.html" and names["plc_01"] == "plc_01.html"
    assert names["PLC-01"] == "PLC-01-4.html"  # taken on a case-insensitive file system
    values = list(names.values())
    assert len({v.lower() for v in values}) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,90}\.html", v) for v in values), values


def test_large_plant_gets_a_plant_page_and_one_page_per_asset(result: ScanResult, tmp_path) -> None:
    from reports.html import SINGLE_FILE_MAX, write_html

    plant = _plant(result, SINGLE_FILE_MAX // len(result.assets) + 1)
    folder = tmp_path / "report-assets"
    folder.mkdir()
    (folder / "stale-asset.html").write_text("old", encoding="utf-8")
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    page = write_html(plant, tmp_path / "report.html", evidence=build_evidence())
    document = page.read_text(encoding="utf-8")
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert len(pages) == len(plant.assets) and "stale-asset.html" not in pages
    assert (folder / "notes.txt").exists()  # only asset pages of an earlier report are removed
    assert '<section class="asset"' not in document and "article class=\"finding" not in document
    links = set(re.findall(r'href="(report-assets/[^"#]+)"', document))
    assert links == {f"report-assets/{name}" for name in pages}
    asset_page = (folder / "eng-ws-02-000.html").read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', asset_page).group(1)
    assert csp == content_security_policy(filter_script())
    assert asset_page.count('<section class="asset"') == 1 and 'href="../report.html"' in asset_page
    eng = next(a for a in plant.assets if a.id == "eng-ws-02-000")
    assert asset_page.count('<article class="finding') == len(eng.results)
    assert 'data-filter="zone"' not in asset_page and 'data-filter="severity"' in asset_page
    assert "<details class=\"evidence\"" in asset_page  # the evidence bundle reaches the asset pages
    for hostile in HOSTILES[:2]:  # markup from devices and the inventory stays text (the template one is text anyway)
        assert hostile not in asset_page and hostile not in document


def test_asset_pages_rendered_by_forked_workers_are_the_same(result: ScanResult, tmp_path, monkeypatch) -> None:
    """A plant large enough is rendered by forked workers: the very pages one process writes (but the time)."""
    import reports.html as html

    plant = _plant(result, html.SINGLE_FILE_MAX // len(result.assets) + 1)
    monkeypatch.setattr(html, "fork_workers", lambda: 1)
    html.write_html(plant, tmp_path / "alone" / "report.html", evidence=build_evidence())
    monkeypatch.setattr(html, "fork_workers", lambda: 2)
    monkeypatch.setattr(html, "PARALLEL_PAGES_MIN", 2)
    calls = []
    real = html.forked_map
    monkeypatch.setattr(html, "forked_map", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    html.write_html(plant, tmp_path / "forked" / "report.html", evidence=build_evidence())
    assert calls == [2]
    generated_plant = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?: ?UTC|Z|\+00:00)?")
    assert generated_plant.sub("T", (tmp_path / "alone" / "report.html").read_text(encoding="utf-8")) == \
        generated_plant.sub("T", (tmp_path / "forked" / "report.html").read_text(encoding="utf-8"))
    generated = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?: ?UTC|Z|\+00:00)?")
    alone = sorted((tmp_path / "alone" / "report-assets").glob("*.html"))
    forked = sorted((tmp_path / "forked" / "report-assets").glob("*.html"))
    assert [p.name for p in alone] == [p.name for p in forked] and len(alone) == len(plant.assets)
    for one, other in zip(alone, forked):
        assert generated.sub("T", one.read_text(encoding="utf-8")) == generated.sub("T", other.read_text(encoding="utf-8"))


def test_small_plant_stays_one_file(result: ScanResult, tmp_path) -> None:
    from reports.html import write_html

    page = write_html(result, tmp_path / "report.html")
    assert not (tmp_path / "report-assets").exists()
    assert page.read_text(encoding="utf-8").count('<section class="asset"') == len(result.assets)
