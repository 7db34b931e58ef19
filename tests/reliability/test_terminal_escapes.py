"""A device string full of terminal escapes (set title, clear screen, C1 CSI, bidi override) reaches no
terminal and no text report raw: every renderer shows it as visible escapes (auditor.safetext)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from result_fixture import build_evidence, build_result  # noqa: E402

from auditor.cli.summary import print_summary  # noqa: E402
from auditor.results import CheckResult, ScanResult  # noqa: E402
from auditor.safetext import printable, printable_lines  # noqa: E402
from reports import default_name, write_report  # noqa: E402

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[31m\x9b1m\u202etxt.exe\x00\x7f"
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202e]")  # what no text output may hold (\r only before \n)


def hostile_device_result() -> ScanResult:
    result = build_result()
    banner = CheckResult(check_id="linux.sshd.banner", title="Login banner", status="fail", severity="low",
                         requirements=["CR 1.12"], observed=f"SSH-2.0-OpenSSH_9.6 {ESCAPES}",
                         expected="a banner", reason=f"pre-banner line {ESCAPES}", evidence=["eng-ws-02#1"])
    eng = result.assets[1]
    plc = result.assets[2]
    assets = [result.assets[0], eng.model_copy(update={"results": [*eng.results, banner],
                                                      "description": f"HMI {ESCAPES}"}),
              plc.model_copy(update={"error": f"ssh://127.0.32.9: bad banner {ESCAPES}"})]
    return result.model_copy(update={"assets": assets})


def test_the_helper_escapes_every_control_and_keeps_line_breaks() -> None:
    assert printable(ESCAPES) == "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m\\x9b1m\\u202etxt.exe\\x00\\x7f"
    assert printable_lines("a\r\nb\n\tc\rd") == "a\r\nb\n\tc\\x0dd"
    assert printable("plain ünïcödé ✓") == "plain ünïcödé ✓"


def test_the_fast_paths_escape_exactly_the_control_characters() -> None:
    """Printable text skips the regex: each BMP character alone, after a letter and before a line feed is
    escaped exactly when it is a control (C0 but tab and line breaks, DEL, C1, bidi), a lone CR included."""
    controls = set(range(0x20)) | set(range(0x7f, 0xa0)) | {0x61c, 0x200e, 0x200f, *range(0x202a, 0x202f),
                                                             *range(0x2066, 0x206a)}
    for code in range(0x10000):
        char = chr(code)
        shown = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        assert printable(f"a{char}") == ("a" + shown if code in controls else f"a{char}")
        kept = code in controls - {0x09, 0x0a, 0x0d}
        assert printable_lines(f"a{char}\n") == ("a" + shown + "\n" if kept else f"a{char}\n")
    assert printable_lines("a\rb") == "a\\x0db" and printable_lines("a\r\nb") == "a\r\nb"


@pytest.mark.parametrize("fmt", ["md", "csv", "matrix-csv", "junit", "html", "matrix"])
def test_text_reports_hold_no_raw_control_character(fmt: str, tmp_path: Path) -> None:
    path = write_report(hostile_device_result(), fmt, tmp_path / default_name(fmt), build_evidence())
    text = path.read_text(encoding="utf-8")
    assert not RAW.search(text), (fmt, RAW.search(text))
    if fmt in ("md", "csv", "junit", "html"):
        assert "\\x1b]0;owned\\x07" in text  # shown, not dropped: an assessor sees what the device sent


def test_plant_page_and_asset_pages_hold_no_raw_control_character(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A plant too large for one file (the limit lowered): its plant page and every asset page."""
    import reports.html as html

    monkeypatch.setattr(html, "SINGLE_FILE_MAX", 1)
    html.write_html(hostile_device_result(), tmp_path / "report.html", evidence=build_evidence())
    pages = [tmp_path / "report.html", *sorted((tmp_path / "report-assets").glob("*.html"))]
    assert len(pages) == 4
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not RAW.search(text), (page.name, RAW.search(text))
    assert "SSH-2.0-OpenSSH_9.6 \\x1b]0;owned\\x07" in (tmp_path / "report-assets" / "eng-ws-02.html").read_text(
        encoding="utf-8")


def test_report_templates_hold_no_control_character_of_their_own() -> None:
    """What lets the HTML renderers escape control characters in one pass over the finished page
    (reports.html.render_printable): none comes from the templates or the inlined script."""
    folder = Path(__file__).resolve().parents[2] / "reports" / "templates"
    files = sorted(folder.iterdir())
    assert any(f.name == "_filters.js" for f in files) and len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "\r" not in text and not RAW.search(text), path.name


def test_terminal_summary_shows_escapes_not_sequences() -> None:
    buffer = io.StringIO()
    print_summary(hostile_device_result(), [], Console(file=buffer, width=200, color_system=None))
    text = buffer.getvalue()
    assert not RAW.search(text) and "bad banner \\x1b]0;owned\\x07\\x1b[2J" in text


@pytest.mark.parametrize("fmt", ["json", "oscal"])
def test_json_keeps_the_data_faithful_with_c0_escaped(fmt: str, tmp_path: Path) -> None:
    """result.json is data (rescored, hashed): the device's bytes are kept, and JSON itself escapes C0."""
    path = write_report(hostile_device_result(), fmt, tmp_path / default_name(fmt), build_evidence())
    text = path.read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text) and "\\u001b]0;owned\\u0007" in text
