"""report.html and report.pdf in a real headless Chromium (Debian's ``chromium``, installed by .ci/run).

The browser is driven over the Chrome DevTools Protocol on ``--remote-debugging-pipe`` (fd 3 in, fd 4
out, NUL-separated JSON) with the standard library only. These tests prove that the report loads with no
console error, that no hostile string from the fixture ever runs (no dialog, no exception), that the
filters work (select / click and count the visible rows), that the page is complete without JavaScript,
and they take a screenshot. The PDF test prints the report and reads the cover and page numbers back.

Without Chromium these tests are skipped locally and FAIL in CI (``CI=true``), where it must be present.
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any, Callable

import pytest

from auditor.results import ScanResult
from reports.chromium import BASE_FLAGS, find_chromium
from reports.common import check_frs
from reports.html import render_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from result_fixture import HOSTILE_TEMPLATE, build_evidence, build_result  # noqa: E402

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")  # same rule as tests.support.require
STEP_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        message = "Chromium is not installed (Debian: apt-get install chromium; or set IACS_CHROMIUM)"
        if IN_CI:
            pytest.fail(f"{message}: the browser tests must run in CI")
        pytest.skip(message)
    return path


class CDPError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with a private profile, in its own process group, spoken to over a pipe."""

    def __init__(self, executable: str, profile: Path) -> None:
        self._to_browser_r, self._to_browser_w = os.pipe()
        self._from_browser_r, self._from_browser_w = os.pipe()
        devnull = os.open(os.devnull, os.O_RDWR)
        args = [executable, *BASE_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        try:
            self.pid = os.posix_spawn(executable, args, os.environ, setsid=True, file_actions=[
                (os.POSIX_SPAWN_DUP2, self._to_browser_r, 3), (os.POSIX_SPAWN_DUP2, self._from_browser_w, 4),
                (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                (os.POSIX_SPAWN_DUP2, devnull, 2)])
        finally:
            os.close(devnull)
            os.close(self._to_browser_r)
            os.close(self._from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser_w, json.dumps(message).encode() + b"\0")
        reply = self._read_until(lambda m: m.get("id") == self._next_id, timeout, method)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None, timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event.get("method") == method and (session is None or event.get("sessionId") == session):
                return self.events.pop(index)
        self._read_until(lambda m: m.get("method") == method and (session is None or m.get("sessionId") == session),
                         timeout, method, keep=True)
        return self.wait_event(method, session, 0)

    def _read_until(self, done: Callable[[dict[str, Any]], bool], timeout: float, what: str,
                    keep: bool = False) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if done(message):
                    if keep:
                        self.events.append(message)
                    return message
                if "method" in message:
                    self.events.append(message)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer to {what} within {timeout:.0f} s")
            ready, _, _ = select.select([self._from_browser_r], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser_r, 1 << 20)
                if not chunk:
                    raise CDPError(f"the browser closed the pipe while waiting for {what}")
                self._buffer += chunk

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CDPError, TimeoutError, OSError):
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        else:
            os.killpg(self.pid, signal.SIGKILL)  # the process group we created for this browser
            os.waitpid(self.pid, 0)
        for fd in (self._to_browser_w, self._from_browser_r):
            os.close(fd)


class Page:
    def __init__(self, browser: Browser, *, javascript: bool = True) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(domain)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        if not javascript:
            self.call("Emulation.setScriptExecutionDisabled", {"value": True})

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def open(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired", self.session)

    def eval(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise CDPError(f"{expression!r}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, CSP violations, and any dialog (a hostile string that ran)."""
        found = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log {params['entry'].get('source')}: {params['entry'].get('text')}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog: {params.get('message')}")
        return found

    def select(self, name: str, value: str) -> None:
        """Choose an option of a filter <select> as a user would, firing its change event."""
        self.eval(f"(() => {{ const el = document.querySelector('select[data-filter={json.dumps(name)}]');"
                  f" el.value = {json.dumps(value)}; if (el.value !== {json.dumps(value)}) throw new Error('no option');"
                  " el.dispatchEvent(new Event('change', {bubbles: true})); })()")

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) in the middle of the element."""
        box = self.eval(f"(() => {{ const el = document.querySelector({json.dumps(selector)}); el.scrollIntoView();"
                        " const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1})

    def key(self, selector: str, key: str, code: int) -> None:
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                 "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code})

    def visible(self, selector: str) -> int:
        return self.eval(f"Array.from(document.querySelectorAll({json.dumps(selector)}))"
                         ".filter(el => el.checkVisibility()).length")

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))
        return path


@pytest.fixture(scope="module")
def browser(chromium: str):
    with tempfile.TemporaryDirectory(prefix="iacs-browser-test-") as profile:
        instance = Browser(chromium, Path(profile))
        try:
            instance.send("Browser.getVersion")
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return build_result()


@pytest.fixture(scope="module")
def report_url(result: ScanResult, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(result, evidence=build_evidence()), encoding="utf-8")
    return path.as_uri()


def _expected(result: ScanResult, keep: Callable[[Any, Any], bool]) -> int:
    return sum(keep(asset, check) for asset in result.assets for check in asset.results)


ATTENTION = {"fail", "error", "manual", "waived"}


def test_report_loads_clean_and_filters_work(browser: Browser, result: ScanResult, report_url: str,
                                             tmp_path: Path) -> None:
    page = Page(browser)
    page.open(report_url)
    assert page.eval("document.title").startswith("IEC 62443 hardening audit: Riverside")
    assert page.problems() == [], "the report must load without console errors, CSP violations or dialogs"
    assert page.eval("document.documentElement.classList.contains('js')"), "the filter script did not run"
    assert page.visible("#filters") == 1

    total = _expected(result, lambda a, c: True)
    problems = _expected(result, lambda a, c: c.status in ATTENTION)
    # default: every verdict selected; the passed ones sit in each asset's collapsed list
    assert page.eval("document.getElementById('filter-count').textContent").startswith(f"Showing {total} of {total} check verdicts")
    assert page.visible("article.finding") == problems

    page.select("status", "attention")
    assert page.visible("article.finding") == problems
    assert page.visible("details.others") == 0

    page.select("asset", "eng-ws-02")
    assert page.visible("article.finding") == _expected(result, lambda a, c: a.id == "eng-ws-02" and c.status in ATTENTION)
    assert page.visible("section.asset") == 1 and page.visible("table.heat tr[data-asset]") == 1

    page.select("severity", "high")
    high = _expected(result, lambda a, c: a.id == "eng-ws-02" and c.severity == "high" and c.status in ATTENTION)
    assert high >= 3 and page.visible("article.finding") == high
    assert page.eval("document.getElementById('filter-count').textContent").startswith(f"Showing {high} of {total} check verdicts")

    page.click("[data-filter-reset]")  # a real mouse click
    assert page.eval("document.querySelector('select[data-filter=asset]').value") == ""
    assert page.visible("article.finding") == problems and page.visible("section.asset") == len(result.assets)

    page.select("status", "pass")  # reaches into the collapsed lists and opens them
    passes = _expected(result, lambda a, c: c.status == "pass")
    assert passes > 5 and page.visible("article.finding") == passes

    page.select("status", "")
    page.select("fr", "FR5")
    fr5 = _expected(result, lambda a, c: "FR5" in check_frs(c))
    assert page.eval("document.getElementById('filters').dataset.shown") == str(fr5)
    assert page.visible("table.matrix td[data-fr=FR1]") == 0 and page.visible("table.matrix td[data-fr=FR5]") > 0

    page.click("[data-filter-reset]")
    hostile_zone = f"control {HOSTILE_TEMPLATE}"
    page.select("zone", hostile_zone)  # the option value is the escaped hostile zone, compared as text
    assert page.visible("article.finding") == _expected(result, lambda a, c: a.zone == hostile_zone)
    assert page.visible("article.zone") == 1 and page.visible("section.asset") == 1

    page.click("[data-filter-reset]")
    page.key("select[data-filter=status]", "ArrowDown", 40)  # keyboard: All verdicts -> Needing attention
    assert page.eval("document.querySelector('select[data-filter=status]').value") == "attention"
    assert page.visible("article.finding") == problems

    page.click("[data-filter-reset]")
    assert page.eval("window.__xss === undefined && document.querySelectorAll('img, script[src]').length === 0")
    assert page.problems() == []
    page.eval("window.scrollTo(0, 0)")
    shot = page.screenshot(tmp_path / "report.png")
    full = page.screenshot(tmp_path / "report-full.png", full_page=True)
    for png in (shot, full):
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    print(f"screenshots: {shot} {full}")


def test_report_is_complete_without_javascript(browser: Browser, result: ScanResult, report_url: str) -> None:
    page = Page(browser, javascript=False)
    page.open(report_url)
    assert page.problems() == []
    assert not page.eval("document.documentElement.classList.contains('js')")
    assert page.visible("#filters") == 0, "without the script the filter bar stays hidden"
    assert page.visible("article.finding") == _expected(result, lambda a, c: c.status in ATTENTION)
    assert page.visible("section.asset") == len(result.assets)
    assert page.visible(".no-match") == 0
    assert page.visible("svg.chart") == len(result.assets)


def test_pdf_has_cover_and_page_numbers(chromium: str, result: ScanResult, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from reports.pdf import write_pdf

    path = write_pdf(result, tmp_path / "report.pdf", evidence=build_evidence(), operator="Jane Roe (OT security)",
                     timeout=60)
    reader = PdfReader(str(path))
    pages = [unicodedata.normalize("NFKC", p.extract_text()) for p in reader.pages]  # fi/ff ligatures
    assert len(pages) >= 4
    cover = pages[0]
    for expected in ("Riverside Water", "Assessment date", "2025-11-20", "Profile", "inventory", "Operator",
                     "Jane Roe (OT security)", "iacs-auditor 0.1.0", "Sign-off"):
        assert expected in cover, expected
    assert "Page 1 of" not in cover  # the cover carries no page number
    for number, text in enumerate(pages[1:], start=2):
        assert f"Page {number} of {len(pages)}" in text, f"page {number} has no page number"
    assert reader.metadata.title.startswith("IEC 62443 hardening audit: Riverside")
    body = "\n".join(pages)
    assert "eng-ws-02" in body and "linux.sshd.permit-root-login" in body
    assert "<script>alert(1)</script>" in body  # hostile values are printed as text


def test_report_command_writes_pdf(chromium: str, result: ScanResult, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner
    from pypdf import PdfReader

    from auditor.cli import cli
    from reports.json_report import write_result

    source = write_result(result, tmp_path / "result.json")
    monkeypatch.setenv("IACS_OPERATOR", "operator-from-env")
    run = CliRunner().invoke(cli, ["report", str(source), "--format", "pdf"])
    assert run.exit_code == 0, run.output
    pdf = tmp_path / "report.pdf"
    assert "operator-from-env" in PdfReader(str(pdf)).pages[0].extract_text()
    monkeypatch.setenv("IACS_CHROMIUM", str(tmp_path / "no-such-browser"))
    run = CliRunner().invoke(cli, ["report", str(source), "--format", "pdf", "--out", str(tmp_path / "x.pdf")])
    assert run.exit_code == 2 and "Chromium was not found" in run.stderr


# --------------------------------------------------------------------------- a 1,000-asset plant

PLANT_ASSETS = 1000


@pytest.fixture(scope="module")
def plant(result: ScanResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[ScanResult, Path]:
    """The fixture's assets replicated to a 1,000-asset plant (as bench/bench_rescore.py replicates the demo's),
    written as the plant page plus one page per asset."""
    from reports.html import write_html

    copies = [a.model_copy(update={"id": f"{a.id}-{n:04d}"}) for n in range(PLANT_ASSETS // len(result.assets) + 1)
              for a in result.assets][:PLANT_ASSETS]
    big = result.model_copy(update={"assets": copies})
    path = write_html(big, tmp_path_factory.mktemp("plant") / "report.html", evidence=None)
    return big, path


def test_large_plant_page_opens_fast_filters_and_links_each_asset_page(browser: Browser, plant: tuple[ScanResult, Path],
                                                                      tmp_path: Path) -> None:
    from reports.plant import fix_first, ranked

    big, path = plant
    assert path.stat().st_size <= 10 * 2**20, "the plant page of 1,000 assets must stay within 10 MB"
    assert len(list((path.parent / "report-assets").glob("*.html"))) == PLANT_ASSETS
    page = Page(browser)
    started = time.monotonic()
    page.open(path.as_uri())
    loaded = time.monotonic() - started
    paint = page.eval("(performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')"
                      " || {startTime: -1}).startTime")
    print(f"plant page of {PLANT_ASSETS} assets: {path.stat().st_size / 2**20:.1f} MiB, first contentful paint "
          f"{paint:.0f} ms, load {loaded:.2f} s")
    assert 0 <= paint < 5000 and loaded < 10
    assert page.problems() == []
    assert page.eval("document.documentElement.classList.contains('js')")

    groups = fix_first(big)
    assert page.visible("tr[data-fix]") == len(groups) > 0
    assert page.visible("table.heat tr[data-asset]") == PLANT_ASSETS
    assert page.visible("section.asset") == 0 and page.visible("article.finding") == 0  # detail is on its own pages
    order = page.eval("Array.from(document.querySelectorAll('table.heat tr[data-asset]')).map(r => r.dataset.asset)")
    assert order == [a.id for a in ranked(big.assets)]  # furthest below target first
    first = page.eval("document.querySelector('tr[data-fix] code.cid').textContent")
    assert first == groups[0].check_id and groups[0].severity == "critical"
    assert page.eval("document.querySelector('tr[data-fix] td.num strong').textContent") == str(len(groups[0].assets))

    page.select("zone", "dmz")  # no failing check there
    dmz = sum(a.zone == "dmz" for a in big.assets)
    assert page.visible("table.heat tr[data-asset]") == dmz and page.visible("tr[data-fix]") == 0
    page.select("zone", "control")
    assert page.visible("tr[data-fix]") == len(groups)
    page.select("severity", "critical")
    critical = sum(g.severity == "critical" for g in groups)
    assert critical >= 1 and page.visible("tr[data-fix]") == critical
    assert page.eval("document.getElementById('filter-count').textContent").startswith(
        f"{critical} of {len(groups)} findings to fix first")
    page.click("[data-filter-reset]")
    page.select("asset", big.assets[0].id)  # hmi-01-0000 meets its target: nothing to fix there
    assert page.visible("tr[data-fix]") == 0 and page.visible("table.heat tr[data-asset]") == 1
    page.select("asset", "eng-ws-02-0200")
    assert page.visible("tr[data-fix]") == len(groups)
    page.select("fr", "FR5")
    assert page.visible("tr[data-fix]") == sum("FR5" in g.frs for g in groups)
    page.click("[data-filter-reset]")
    page.screenshot(tmp_path / "plant.png")

    # one asset's detail: follow its link from the heat map (a real click), then back to the plant page
    target = ranked(big.assets)[0]
    page.click(f"table.heat tr[data-asset={json.dumps(target.id)}] a")
    page.browser.wait_event("Page.loadEventFired", page.session)
    assert page.eval("location.pathname").endswith(f"/report-assets/{target.id}.html")
    assert page.eval("document.title").startswith(f"{target.id}: IEC 62443 hardening audit")
    assert page.problems() == []
    attention = sum(c.status in ATTENTION for c in target.results)
    assert page.visible("section.asset") == 1 and page.visible("article.finding") == attention > 0
    assert page.visible("svg.chart") == 1 and page.visible("table.matrix") >= 1
    page.select("severity", "high")
    assert page.visible("article.finding") == sum(c.status in ATTENTION and c.severity == "high"
                                                  for c in target.results)
    page.click("a.back")
    page.browser.wait_event("Page.loadEventFired", page.session)
    assert page.eval("location.pathname").endswith("/report.html") and page.problems() == []
