"""Reports: result.json / evidence.json (schemas, round trips, tamper detection) and report.html."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from auditor.results import ScanResult
from reports.html import filter_script, render_html, script_hash, write_html
from reports.json_report import (
    EVIDENCE_SCHEMA_FILE,
    REGENERATE_COMMAND,
    RESULT_SCHEMA_FILE,
    evidence_schema,
    load_evidence,
    load_result,
    main,
    result_schema,
    stale_schemas,
    write_evidence,
    write_result,
    write_schemas,
)
from result_fixture import (
    HOSTILES,
    UNKNOWN_CHECK,
    asset_without_results,
    build_evidence,
    build_result,
    result_with,
)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return build_result()


@pytest.fixture(scope="module")
def html(result: ScanResult) -> str:
    # rendered from the ScanResult alone, as where no check pack is installed
    return render_html(result)


@pytest.fixture(scope="module")
def html_with_evidence(result: ScanResult) -> str:
    return render_html(result, evidence=build_evidence())


# --------------------------------------------------------------------------- JSON schemas


@pytest.mark.parametrize("path, build", [(RESULT_SCHEMA_FILE, result_schema), (EVIDENCE_SCHEMA_FILE, evidence_schema)],
                         ids=["result", "evidence"])
def test_published_schema_equals_generated(path: Path, build) -> None:
    published = json.loads(path.read_text(encoding="utf-8"))
    assert published == build(), (
        f"{path} is out of date with the pydantic models; if the model change is deliberate, "
        f"regenerate it with `{REGENERATE_COMMAND}` and commit the result")


@pytest.mark.parametrize("build, name", [(result_schema, "result"), (evidence_schema, "evidence")])
def test_schema_header(build, name: str) -> None:
    schema = build()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith(f"urn:iacs-auditor:schema:{name}:")
    assert schema["title"] and len(schema["description"]) > 80
    Draft202012Validator.check_schema(schema)


def test_schema_check_command_is_clean(tmp_path: Path) -> None:
    assert stale_schemas() == [], f"run `{REGENERATE_COMMAND}`"
    assert main(["--check"]) == 0
    written = write_schemas(tmp_path)
    for path in written:
        assert path.read_bytes() == (RESULT_SCHEMA_FILE.parent / path.name).read_bytes()
    (tmp_path / RESULT_SCHEMA_FILE.name).write_text("{}", encoding="utf-8")
    assert stale_schemas(tmp_path) == [tmp_path / RESULT_SCHEMA_FILE.name]


def _published(path: Path) -> Draft202012Validator:
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("make", [build_result, lambda: result_with([]), lambda: result_with([asset_without_results()])],
                         ids=["fixture", "no-assets", "asset-without-results"])
def test_result_json_validates_against_published_schema(make, tmp_path: Path) -> None:
    path = write_result(make(), tmp_path / "result.json")
    _published(RESULT_SCHEMA_FILE).validate(json.loads(path.read_text(encoding="utf-8")))


def test_published_schema_rejects_invalid_results(result: ScanResult) -> None:
    validator = _published(RESULT_SCHEMA_FILE)
    data = result.model_dump(mode="json")
    data["assets"][0]["results"][0]["status"] = "probably-fine"
    with pytest.raises(SchemaError):
        validator.validate(data)
    data = result.model_dump(mode="json")
    data["assets"][1]["sl_achieved"]["FR1"] = 5
    with pytest.raises(SchemaError):
        validator.validate(data)
    data = result.model_dump(mode="json")
    data["surprise"] = True
    with pytest.raises(SchemaError):
        validator.validate(data)


def test_evidence_json_validates_against_published_schema(tmp_path: Path) -> None:
    path = write_evidence(build_evidence(), tmp_path / "evidence.json")
    _published(EVIDENCE_SCHEMA_FILE).validate(json.loads(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- round trips and tampering


def test_result_roundtrip(result: ScanResult, tmp_path: Path) -> None:
    path = write_result(result, tmp_path / "out" / "result.json")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("{\n  ") and text.endswith("}\n")
    assert HOSTILES[0] in text  # UTF-8, not escaped into \uXXXX noise
    assert load_result(path) == result
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temp file left behind


def test_load_result_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"schema_version": 1}', encoding="utf-8")
    with pytest.raises(ValueError):
        load_result(path)


def test_evidence_roundtrip_verifies_hashes(tmp_path: Path) -> None:
    bundle = build_evidence()
    path = write_evidence(bundle, tmp_path / "evidence.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["manifest_sha256"] == bundle.manifest_sha256
    assert data["assets"][0]["items"][0]["sha256"] == bundle.assets[0].items[0].sha256
    loaded = load_evidence(path)
    assert loaded.model_dump(mode="json") == bundle.model_dump(mode="json")
    assert loaded.manifest_sha256 == build_result().evidence_manifest_sha256


def _tamper(tmp_path: Path, edit) -> Path:
    path = write_evidence(build_evidence(), tmp_path / "evidence.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _item(data: dict, item_id: str) -> dict:
    return next(i for a in data["assets"] for i in a["items"] if i["id"] == item_id)


def test_tampered_response_is_refused(tmp_path: Path) -> None:
    def edit(data: dict) -> None:
        _item(data, "eng-ws-02#1")["response"] = "permitrootlogin no\npasswordauthentication no\n"
    with pytest.raises(ValueError, match=r"eng-ws-02#1.*sha256 does not match"):
        load_evidence(_tamper(tmp_path, edit))


def test_tampered_request_or_exit_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hmi-01#5"):
        load_evidence(_tamper(tmp_path, lambda d: _item(d, "hmi-01#5").update(exit_code=1)))
    with pytest.raises(ValueError, match="hmi-01#2"):
        load_evidence(_tamper(tmp_path, lambda d: _item(d, "hmi-01#2")["request"].update(target="true")))


def test_rehashed_item_still_breaks_the_manifest(tmp_path: Path) -> None:
    """Editing an item AND its sha256 is caught by the manifest hash."""
    bundle = build_evidence()
    item = bundle.assets[1].items[0]
    forged = item.model_copy(update={"response": "permitrootlogin no\n"})

    def edit(data: dict) -> None:
        entry = _item(data, item.id)
        entry["response"], entry["sha256"] = forged.response, forged.sha256
    with pytest.raises(ValueError, match="manifest_sha256 does not match"):
        load_evidence(_tamper(tmp_path, edit))


def test_removed_item_or_missing_hashes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="manifest_sha256 does not match"):
        load_evidence(_tamper(tmp_path, lambda d: d["assets"][0]["items"].pop()))
    with pytest.raises(ValueError, match=r"hmi-01#3.*no sha256"):
        load_evidence(_tamper(tmp_path, lambda d: _item(d, "hmi-01#3").pop("sha256")))
    with pytest.raises(ValueError, match="no manifest_sha256"):
        load_evidence(_tamper(tmp_path, lambda d: d.pop("manifest_sha256")))


def test_load_evidence_rejects_non_bundles(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    for text in ("not json", "[]", '{"schema_version": 1}'):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError):
            load_evidence(path)


# --------------------------------------------------------------------------- HTML


class _Collector(HTMLParser):
    """Every start tag with its attributes, and all text (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(document: str) -> _Collector:
    collector = _Collector()
    collector.feed(document)
    collector.close()
    return collector


def _section(document: str, index: int) -> str:
    start = document.index(f'<section class="asset" id="asset-{index}">')
    end = document.find('<section class="asset"', start + 1)
    return document[start:end if end != -1 else len(document)]


@pytest.mark.parametrize("which", ["html", "html_with_evidence"])
def test_hostile_values_are_escaped(which: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(which)
    parsed = _parse(document)
    tags = {tag for tag, _ in parsed.tags}
    _assert_only_our_script(document)  # the one inline script is the report's own filter code
    assert "img" not in tags
    for tag, attrs in parsed.tags:
        for name in attrs:
            assert not name.lower().startswith("on"), f"event handler attribute {name!r} on <{tag}>"
    text = "".join(parsed.text)
    for hostile in HOSTILES:
        assert hostile in text, f"{hostile!r} should be shown as text"
    assert "onerror=alert(1)>" not in document  # only ever as &gt;-escaped text


def test_every_asset_and_failing_check_is_shown(result: ScanResult, html: str) -> None:
    text = "".join(_parse(html).text)
    for index, asset in enumerate(result.assets, start=1):
        assert asset.id in text
        section = _section(html, index)
        for check in asset.results:
            if check.status in ("fail", "error"):
                assert f'<code class="cid">{check.check_id}</code>' in section, (asset.id, check.check_id)
    failing = {c.check_id for a in result.assets for c in a.results if c.status == "fail"}
    assert UNKNOWN_CHECK in failing and len(failing) >= 8


def test_report_is_self_contained(html: str, html_with_evidence: str) -> None:
    for document in (html, html_with_evidence):
        parsed = _parse(document)
        for tag, attrs in parsed.tags:
            assert tag not in ("link", "iframe", "object", "embed", "img", "base", "form")
            assert not (tag == "script" and "src" in attrs), "a script must never be loaded from elsewhere"
            for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                value = (attrs.get(name) or "").strip().lower()
                assert not re.match(r"^(https?:)?//", value), f"<{tag} {name}={value!r}> fetches a remote resource"
                if name == "href" and value:
                    assert value.startswith("#"), f"<{tag} href={value!r}> leaves the document"
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", document, re.IGNORECASE)
        assert "url(" not in document and "@import" not in document
        assert "default-src 'none'" in document  # CSP: nothing may be fetched
        assert f"script-src {script_hash(filter_script())};" in document  # ... and only our script may run
        _assert_only_our_script(document)


def _assert_only_our_script(document: str) -> None:
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", document, re.S | re.I)
    assert len(scripts) == 1 and document.lower().count("<script") == 1
    attributes, body = scripts[0]
    assert attributes.strip() == "" and body == filter_script()


def test_header_and_summary(result: ScanResult, html: str) -> None:
    text = "".join(_parse(html).text)
    assert result.site in text
    assert result.evidence_manifest_sha256 in text
    assert "iacs-auditor 0.1.0" in text
    assert "2025-11-20 09:15:00 UTC" in text
    assert "How to read this report" in text
    assert "1 of 3 assets falls short of the target security level; 1 asset could not be assessed." in text
    assert html.count('<svg class="chart"') == len(result.assets)
    # per-FR cells: eng-ws-02 FR6 met, FR1 short; the unreachable PLC neither
    assert 'title="FR6 Timely response to events: SL-A 1 (device evidence only 1), SL-T 1"' in html
    assert html.count('class="sl sl-unknown"') == 7


def test_findings_are_ordered_by_severity_then_status(html: str) -> None:
    section = _section(html, 2)
    attention = section[:section.index('<details class="others">')]
    ids = re.findall(r'<code class="cid">([^<]+)</code>', attention)
    assert ids[0] == UNKNOWN_CHECK  # critical
    severities = re.findall(r'<span class="sev sev-(\w+)">', attention)
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index)
    medium = [s for s in re.findall(r'<article class="finding st-(\w+)"[^>]*>\s*<header>\s*<span[^>]*>[^<]*</span> '
                                    r'<span class="sev sev-medium">', attention)]
    assert medium == ["fail", "fail", "fail", "fail", "error"]
    assert "linux.time.ntp-sync" not in attention  # passes are in the collapsed list
    assert "linux.time.ntp-sync" in section


def test_requirement_matrix_never_shows_not_assessed_as_passed(html: str) -> None:
    section = _section(html, 2)
    rows = re.findall(r'<tr class="rq-(\w+) src-(\w+)">.*?<td class="st"><span class="badge b-(\w+)">([^<]+)</span>'
                      r'.*?<td class="checks"><span class="badge b-(\w+)">([^<]+)</span>', section, re.S)
    assert rows
    for verdict, source, badge, label, status, status_label in rows:
        assert verdict == badge
        if status == "not_assessed":
            assert status_label == "Not assessed"
            assert verdict != "met" or source == "answer", "a row no check judged is met only by an answer"
        if verdict == "open":
            assert source == "none"
    verdicts = {r[0] for r in rows}
    assert {"met", "unmet", "open"} <= verdicts
    assert {r[4] for r in rows} >= {"passed", "failed", "not_assessed"}
    assert "requirements above this asset's SL-T" in section


def test_check_unknown_to_this_installation_renders_from_result(result: ScanResult) -> None:
    # the rationale travels in result.json: no check pack is consulted, installed or not
    asset = result.assets[1]
    results = [r.model_copy(update={"rationale": "Root logins leave no trace of which person acted."})
               if r.check_id == "linux.sshd.permit-root-login" else r for r in asset.results]
    changed = result.model_copy(update={"assets": [result.assets[0], asset.model_copy(update={"results": results}),
                                                   *result.assets[2:]]})
    section = _section(render_html(changed), 2)
    assert "Why it matters:</span> Root logins leave no trace of which person acted." in section
    assert section.count("Why it matters:") == 1  # a result without a rationale (an older result.json) shows none
    assert "Historian forwards audit records to the SIEM" in section  # a third-party check, from its result
    assert "Enable syslog forwarding in Historian &gt; Settings &gt; Audit." in section
    assert "check pack not installed here" not in section


def test_error_asset_shows_reason(html: str) -> None:
    section = _section(html, 3)
    assert "Could not be assessed:" in section
    assert "connection timed out after 10 s" in section
    assert "not assessed: SL-A unknown" in section


def test_evidence_items_are_expandable(html: str, html_with_evidence: str) -> None:
    assert "<details class=\"evidence\">" in html and "<code>eng-ws-02#1</code>" in html
    assert "ssh:exec:sshd -T[sudo=True]" in html_with_evidence
    assert "permitrootlogin yes" in html_with_evidence
    assert "matches the evidence bundle" in html_with_evidence


def test_zero_assets_renders() -> None:
    document = render_html(result_with([]))
    parsed = _parse(document)
    assert "This result contains no assets." in "".join(parsed.text)
    assert "No assets were in scope of this scan." in "".join(parsed.text)


def test_asset_with_zero_results_renders() -> None:
    document = render_html(result_with([asset_without_results("sw-04")]))
    text = "".join(_parse(document).text)
    assert "sw-04" in text and "No checks were selected for this asset." in text
    assert 'class="rq-met' not in document and 'class="rq-open src-none"' in document
    assert "no technical finding; " in text and "await an answer" in text


def test_default_check_metadata_lookup_does_not_break_rendering(result: ScanResult) -> None:
    document = render_html(result)  # whatever packs are installed: the report reads the result only
    assert UNKNOWN_CHECK in document
    probe = ("import sys; from result_fixture import build_result; from reports.html import render_html; "
             "render_html(build_result()); from auditor.registry import REGISTRY; "
             "assert not REGISTRY.checks and 'checks' not in sys.modules, 'the report loaded the check packs'")
    run = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2],
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])])},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_write_html(result: ScanResult, tmp_path: Path) -> None:
    path = write_html(result, tmp_path / "out" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
