"""checks/web content and device checks on recorded answers (as the connector writes them): the error page of a
random absent path, legacy mobile code and the script policy, script authenticity, the Date header's clock and
the certificate verified against the site's CA. Each passes, fails, and says manual when the evidence cannot
decide."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from auditor.evidence import EvidenceItem
from auditor.registry import REGISTRY
from checks.web.facts import HTTP_GET, HTTPS_GET, NOT_FOUND, SITE_CA, TLS_VERSIONS
from simulators.opcua.certs import CertKey, der, make_certificate, make_key
from tests.support.checks import RunsChecks

NOW = dt.datetime.now(dt.timezone.utc)
_CA_KEY = make_key(2048)
CA = CertKey(make_certificate(_CA_KEY, "Site CA", is_ca=True, dns_names=()), _CA_KEY)
ISSUED = der(make_certificate(make_key(2048), "panel", issuer=CA))
SELF_SIGNED = der(make_certificate(make_key(2048), "panel"))
MODERN = [{"version": "TLSv1.3", "accepted": True, "answered": True, "cipher": ["TLS_AES_256_GCM_SHA384", "TLSv1.3", 256]}]
CSP = "default-src 'self'; script-src 'self' https://cdn.invalid; object-src 'none'"
SRI = "sha384-N0grioSzdIdClA6S/Kbo0Ov2qC6TkgxOUqjzdG5M8kYYNudcEDEomDEPLKsReFm0"


def page(scheme: str, status: int | None, headers: list | None = None, body: str = "", **extra: Any) -> dict[str, Any]:
    return {"scheme": scheme, "host": "127.0.61.5", "port": 443 if scheme == "https" else 80,
            "open": status is not None, "status": status, "headers": headers or [], "body": body, "path": "/", **extra}


def front(body: str = '<script src="/js/login.js"></script>', csp: str | None = CSP, headers: list | None = None,
          **extra: Any) -> dict[str, Any]:
    return page("https", 200, (headers or []) + ([["Content-Security-Policy", csp]] if csp else []), body, **extra)


class Evidence(RunsChecks):
    """The answers of one web-interface visit; each argument replaces one answer."""

    def __init__(self, *, https: dict | None = None, http: dict | None = None, absent: dict | None = None,
                 trust: dict | None = None, certificate: bytes | None = ISSUED) -> None:
        REGISTRY.load()
        self.items: list[EvidenceItem] = []
        self.add(TLS_VERSIONS, {"probes": MODERN,
                                "certificate": base64.b64encode(certificate).decode() if certificate else None})
        self.add(HTTPS_GET, https or front())
        self.add(HTTP_GET, http or page("http", 301, [["Location", "https://127.0.61.5/"]]))
        self.add(NOT_FOUND, absent or page("https", 404, [], "<h1>Not Found</h1>", path="/iacs-audit-0f"))
        self.add(SITE_CA, trust or {"ca_file": "/etc/site/ca.pem", "verified": True, "ca_subjects": ["CN=Site CA"]})

    def add(self, req, body) -> None:
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="p", endpoint="https:443", request=req,
                                       encoding="json", response=json.dumps(body), collected_at=NOW))


# ---------------------------------------------------------------------------------------- error page


@pytest.mark.parametrize("body, shown", [
    ('Traceback (most recent call last):\n  File "/usr/lib/python3/dist-packages/web.py", line 12', "Python traceback"),
    ("java.lang.NullPointerException\n\tat com.vendor.web.Router.route(Router.java:88)", "Java stack trace"),
    ("<h1>Server Error in '/' Application.</h1> System.IO.FileNotFoundException", ".NET stack trace"),
    ("<b>Warning</b>:  include(page.php): failed to open stream in <b>/var/www/html/index.php</b> on line <b>4</b>",
     "PHP error"),
    ("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server", "SQL error"),
    ("<hr><address>Apache/2.4.41 (Ubuntu) Server at 127.0.61.5 Port 443</address>", "server or framework version"),
    ("cannot open C:\\Program Files\\Vendor\\www\\missing.htm", "file-system path"),
    ("<p>File not found: /var/www/html/missing.htm</p>", "file-system path"),
    ("at Object.handler (/opt/hmi/server/routes.js:41:13)", "Node.js stack trace"),
])
def test_an_error_page_that_shows_internals_fails(body, shown) -> None:
    verdict = Evidence(absent=page("https", 404, [], body, path="/iacs-audit-0f")).check("web.error.disclosure")
    assert verdict.status == "fail" and shown in verdict.reason


def test_error_page_passes_when_generic_and_judges_a_catch_all_page_the_same_way() -> None:
    assert Evidence().check("web.error.disclosure").status == "pass"
    catch_all = Evidence(absent=page("https", 200, [], "<html>PLC Web Management</html>"))
    verdict = catch_all.check("web.error.disclosure")
    assert verdict.status == "pass" and "catch-all" in verdict.reason
    leaking = Evidence(absent=page("https", 200, [], "Werkzeug/2.0.1 debugger"))
    assert leaking.check("web.error.disclosure").status == "fail"
    links = '<a href="/var/log/">logs</a> <a href="https://127.0.61.5/opt/home">home</a>'  # URLs, not files
    assert Evidence(absent=page("https", 404, [], links)).check("web.error.disclosure").status == "pass"
    versioned_header = Evidence(absent=page("https", 404, [["X-Powered-By", "PHP/5.4.45"]], "Not Found"))
    assert "PHP/5.4.45" in versioned_header.check("web.error.disclosure").reason


@pytest.mark.parametrize("absent, words", [
    (page("https", None, [], error="TimeoutError: timed out"), "got no answer"),
    (page("https", 302, [["Location", "https://127.0.61.5/login"]]), "redirected"),
    (page("https", 500, [], "Internal error"), "answered 500"),
])
def test_error_page_is_manual_when_no_error_page_was_seen(absent, words) -> None:
    verdict = Evidence(absent=absent).check("web.error.disclosure")
    assert verdict.status == "manual" and words in verdict.reason


# ---------------------------------------------------------------------------------------- mobile code


def test_mobile_code_policy_passes_with_a_strict_csp_header_or_meta() -> None:
    assert Evidence().check("web.mobile-code.policy").status == "pass"
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><script src="/a.js"></script>'
    assert Evidence(https=front(meta, csp=None)).check("web.mobile-code.policy").status == "pass"
    nonce = "script-src 'self' 'unsafe-inline' 'nonce-r4nd0m'"  # browsers ignore unsafe-inline beside a nonce
    assert Evidence(https=front(csp=nonce)).check("web.mobile-code.policy").status == "pass"
    # two policies are both enforced: the strict one restricts scripts whatever the loose one allows
    two = front(headers=[["Content-Security-Policy", "default-src *"]])
    assert Evidence(https=two).check("web.mobile-code.policy").status == "pass"
    loose = Evidence(https=front(csp="default-src *", headers=[["Content-Security-Policy", "img-src 'self'"]]))
    assert loose.check("web.mobile-code.policy").status == "fail"


@pytest.mark.parametrize("body, csp, words", [
    ('<applet code="Trend.class" archive="trend.jar"></applet>', CSP, "Java applet"),
    ('<embed src="/hmi/panel.swf" type="application/x-shockwave-flash">', CSP, "Flash"),
    ('<object classid="clsid:D27CDB6E-AE6D-11cf-96B8-444553540000"></object>', CSP, "ActiveX"),
    ('<object data="/hmi.xap" type="application/x-silverlight-2"></object>', CSP, "Silverlight"),
    ("", None, "no Content-Security-Policy"),
    ("", "frame-ancestors 'none'", "no script-src or default-src"),
    ("", "default-src *", "default-src allows *"),
    ("", "default-src 'self'; script-src 'self' http:", "script-src allows http:"),
    ("", "script-src 'self' data:", "allows data:"),
    ("", "script-src 'self' 'unsafe-inline'", "'unsafe-inline' without a nonce or hash"),
    ("", "script-src 'self' 'unsafe-eval' 'nonce-abc'", "allows 'unsafe-eval'"),
])
def test_legacy_mobile_code_or_a_missing_or_permissive_policy_fails(body, csp, words) -> None:
    verdict = Evidence(https=front(body, csp=csp)).check("web.mobile-code.policy")
    assert verdict.status == "fail" and words in verdict.reason


def test_mobile_code_policy_on_a_login_page_over_http_and_when_no_page_was_served() -> None:
    http_login = Evidence(http=page("http", 200, [], '<applet code="A.class"></applet>'))
    verdict = http_login.check("web.mobile-code.policy")
    assert verdict.status == "fail" and "http: Java applet" in verdict.reason
    redirected = Evidence(https=page("https", 302, [["Location", "/login.htm"]]))
    verdict = redirected.check("web.mobile-code.policy")
    assert verdict.status == "manual" and "302 /login.htm" in verdict.reason


@pytest.mark.parametrize("body", [
    '<script src="/js/app.js"></script><script>init()</script>',
    '<script src="js/app.js"></script><script src="https://127.0.61.5/js/more.js"></script>',
    f'<script src="https://cdn.invalid/lib.js" integrity="{SRI}" crossorigin="anonymous"></script>',
    f"<script integrity='{SRI}' src=//cdn.invalid/lib.js></script>",
])
def test_scripts_from_the_own_origin_or_with_sri_pass(body) -> None:
    assert Evidence(https=front(body)).check("web.mobile-code.authenticity").status == "pass"


@pytest.mark.parametrize("body, words", [
    ('<script src="http://cdn.invalid/jquery.js"></script>', "over plain HTTP"),
    ('<script src="https://cdn.invalid/jquery.js"></script>', "another origin without integrity="),
    ('<script src="https://127.0.61.5:8443/x.js"></script>', "another origin without integrity="),
    ('<script src="https://cdn.invalid/a.js" integrity="md5-abc"></script>', "not a sha256/384/512 digest"),
    ('<script src="https://[::1/a.js"></script>', "not a URL whose origin can be told"),  # found by fuzzing
])
def test_scripts_without_authentication_fail(body, words) -> None:
    verdict = Evidence(https=front(body)).check("web.mobile-code.authenticity")
    assert verdict.status == "fail" and words in verdict.reason


def test_script_authenticity_over_http_without_scripts_and_without_a_page() -> None:
    over_http = Evidence(http=page("http", 200, [], '<script src="/js/login.js"></script>'))
    verdict = over_http.check("web.mobile-code.authenticity")
    assert verdict.status == "fail" and "http page: /js/login.js over plain HTTP" in verdict.reason
    assert Evidence(https=front("<p>no script</p>")).check("web.mobile-code.authenticity").status == "not_applicable"
    nothing = Evidence(https=page("https", None, [], error="refused"))
    assert nothing.check("web.mobile-code.authenticity").status == "manual"


# ---------------------------------------------------------------------------------------- clock


def clocked(offset_s: float | None, rtt_s: float = 0.2, date: str | None = None) -> dict[str, Any]:
    sent = NOW.timestamp()
    headers = []
    if date is not None or offset_s is not None:
        moment = NOW + dt.timedelta(seconds=(offset_s or 0) + rtt_s / 2)
        headers = [["Date", date or moment.strftime("%a, %d %b %Y %H:%M:%S GMT")]]
    return front(requested_at=sent, answered_at=sent + rtt_s, headers=headers)


@pytest.mark.parametrize("offset, status", [(0, "pass"), (4, "pass"), (-4, "pass"), (30, "fail"), (-5400, "fail")])
def test_clock_skew_from_the_date_header(offset, status) -> None:
    verdict = Evidence(https=clocked(offset)).check("web.clock.skew")
    assert verdict.status == status, verdict.reason
    assert verdict.observed["device_time"] and verdict.observed["auditor_sent"] and verdict.observed["auditor_answered"]


def test_clock_limit_is_a_parameter_and_a_slow_answer_widens_the_window() -> None:
    assert Evidence(https=clocked(4)).check("web.clock.skew", max_skew_seconds=2).status == "fail"
    # the device stamped its answer somewhere during a 10 s round trip: 8 s after sending is not skew
    late = Evidence(https=clocked(3, rtt_s=10))
    assert late.check("web.clock.skew", max_skew_seconds=1).status == "pass"


def test_clock_without_a_usable_date_is_manual_or_error() -> None:
    assert Evidence(https=clocked(None)).check("web.clock.skew").status == "manual"
    garbled = Evidence(https=clocked(None, date="yesterday"))
    verdict = garbled.check("web.clock.skew")
    assert verdict.status == "manual" and "not an HTTP date" in verdict.reason
    untimed = Evidence(https=front(headers=[["Date", "Mon, 07 Dec 2026 11:00:00 GMT"]]))
    assert untimed.check("web.clock.skew").status == "error"
    odd = Evidence(https=page("https", 200, 7, ""))  # found by fuzzing: headers that are no list are an error, not a crash
    assert odd.check("web.clock.skew").status == "error"
    for beyond in (1e20, -1e20, float("nan")):  # found by fuzzing: a time no datetime can hold is an error, not a crash
        wild = Evidence(https=front(requested_at=beyond, answered_at=1.0, headers=[["Date", "Mon, 07 Dec 2026 11:00:00 GMT"]]))
        verdict = wild.check("web.clock.skew")
        assert verdict.status == "error" and "requested_at" in verdict.reason


# ---------------------------------------------------------------------------------------- site CA


def test_site_trust_passes_on_a_verified_chain_and_fails_otherwise() -> None:
    assert Evidence().check("web.tls.site-trust").status == "pass"
    untrusted = Evidence(trust={"ca_file": "/etc/site/ca.pem", "verified": False,
                                "reason": "self-signed certificate", "verify_code": 18}, certificate=SELF_SIGNED)
    verdict = untrusted.check("web.tls.site-trust")
    assert verdict.status == "fail" and "self-signed certificate" in verdict.reason
    pinned = Evidence(certificate=SELF_SIGNED)  # verified only because the bundle holds the device's own certificate
    verdict = pinned.check("web.tls.site-trust")
    assert verdict.status == "fail" and "self-signed" in verdict.reason


@pytest.mark.parametrize("trust, status, words", [
    ({"ca_file": None, "skipped": "the inventory names no site CA"}, "manual", "ca_file"),
    ({"ca_file": "/etc/site/ca.pem", "verified": None, "error": "handshake failed: WRONG_VERSION_NUMBER"}, "manual",
     "did not complete"),
    ({"ca_file": "/nowhere.pem", "verified": None, "error": "the CA file cannot be loaded: FileNotFoundError"},
     "error", "cannot be loaded"),
    ({"ca_file": "/etc/site/ca.pem", "verified": "yes"}, "error", "verified"),
])
def test_site_trust_undecided(trust, status, words) -> None:
    verdict = Evidence(trust=trust).check("web.tls.site-trust")
    assert verdict.status == status and words in verdict.reason
