"""checks/web: each web-interface check passing and failing on recorded answers (as the connector writes them);
nothing judged on a port that did not answer."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from auditor.evidence import EvidenceItem
from auditor.registry import REGISTRY
from checks.web.facts import HTTP_GET, HTTPS_GET, TLS_VERSIONS
from simulators.opcua.certs import CertKey, der, make_certificate, make_key
from tests.support.checks import RunsChecks

NOW = dt.datetime.now(dt.timezone.utc)
_CA_KEY = make_key(2048)
CA = CertKey(make_certificate(_CA_KEY, "Site CA", is_ca=True, dns_names=()), _CA_KEY)
GOOD = der(make_certificate(make_key(2048), "panel", issuer=CA))
WEAK = der(make_certificate(make_key(1024), "panel", hash_name="sha1", valid_days=10))
EC = der(make_certificate(make_key(curve=ec.SECP256R1()), "panel", issuer=CA))


def probe(version: str, cipher: str | None) -> dict[str, Any]:
    if cipher is None:
        return {"version": version, "accepted": False, "answered": True, "error": "refused: TLSV1_ALERT_PROTOCOL_VERSION"}
    return {"version": version, "accepted": True, "answered": True, "negotiated": version, "cipher": [cipher, version, 256]}


MODERN = [probe("TLSv1", None), probe("TLSv1.1", None), probe("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"),
          probe("TLSv1.3", "TLS_AES_256_GCM_SHA384")]


class WebEvidence(RunsChecks):
    def __init__(self, probes=MODERN, certificate: bytes | None = GOOD, https: dict | None = None,
                 http: dict | None = None) -> None:
        REGISTRY.load()
        self.items: list[EvidenceItem] = []
        self.add(TLS_VERSIONS, {"probes": probes, "certificate": base64.b64encode(certificate).decode() if certificate else None})
        self.add(HTTPS_GET, https or page("https", 200, [["Strict-Transport-Security", "max-age=31536000"]]))
        self.add(HTTP_GET, http or page("http", 301, [["Location", "https://127.0.0.1/"]]))

    def add(self, req, body) -> None:
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="p", endpoint="https:443", request=req,
                                       encoding="json", response=json.dumps(body), collected_at=NOW))


def page(scheme: str, status: int | None, headers: list, body: str = "", **extra: Any) -> dict[str, Any]:
    return {"scheme": scheme, "port": 443 if scheme == "https" else 80, "open": status is not None, "status": status,
            "headers": headers, "body": body, **extra}


def test_the_hardened_interface_passes_everything() -> None:
    ev = WebEvidence()
    for check_id in ("web.tls.https-offered", "web.tls.versions", "web.tls.certificate", "web.http.redirect",
                     "web.https.hsts", "web.banner.disclosure"):
        assert ev.check(check_id).status == "pass", (check_id, ev.check(check_id).reason)
    assert WebEvidence(certificate=EC).check("web.tls.certificate").status == "pass"


def test_no_tls_at_all() -> None:
    closed = [probe(v, None) for v in ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")]
    ev = WebEvidence(probes=closed, certificate=None)
    assert ev.check("web.tls.https-offered").status == "fail"
    assert ev.check("web.tls.versions").status == "not_applicable"
    assert ev.check("web.tls.certificate").status == "not_applicable"


@pytest.mark.parametrize("probes, words", [
    ([probe("TLSv1", "ECDHE-RSA-AES256-SHA"), *MODERN[1:]], "legacy versions accepted: TLSv1"),
    ([*MODERN[:2], probe("TLSv1.2", "ECDHE-RSA-AES256-SHA384"), MODERN[3]], "weak ciphers negotiated: TLSv1.2"),
    ([*MODERN[:2], probe("TLSv1.2", "DES-CBC3-SHA"), MODERN[3]], "DES-CBC3-SHA"),
])
def test_legacy_tls_fails(probes, words) -> None:
    verdict = WebEvidence(probes=probes).check("web.tls.versions")
    assert verdict.status == "fail" and words in verdict.reason


def test_weak_certificate_fails_with_every_reason() -> None:
    verdict = WebEvidence(certificate=WEAK).check("web.tls.certificate")
    assert verdict.status == "fail"
    for words in ("RSA 1024-bit key", "signed with sha1", "expires in", "self-signed"):
        assert words in verdict.reason
    assert WebEvidence(certificate=None).check("web.tls.certificate").status == "manual"


@pytest.mark.parametrize("http, status, words", [
    (page("http", 200, [], '<form><input type="password" name="pw"></form>'), "fail", "a password field"),
    (page("http", 401, [["WWW-Authenticate", 'Basic realm="plc"']]), "fail", "Basic authentication"),
    (page("http", 200, [], "<html>status</html>"), "fail", "answers 200"),
    (page("http", 302, [["Location", "http://127.0.0.1/login"]]), "fail", "answers 302"),
    (page("http", None, [], error="refused"), "pass", "refused"),
    (page("http", None, [], error="TimeoutError: timed out"), "manual", "did not answer"),
    ({"open": None, "skipped": "http_port is 0 in the inventory"}, "manual", "was not sent"),
])
def test_http_redirect(http, status, words) -> None:
    verdict = WebEvidence(http=http).check("web.http.redirect")
    assert verdict.status == status and words in verdict.reason


@pytest.mark.parametrize("headers, status", [
    ([], "fail"), ([["Strict-Transport-Security", "max-age=300"]], "fail"),
    ([["Strict-Transport-Security", "includeSubDomains"]], "fail"),
    ([["strict-transport-security", "max-age=63072000; preload"]], "pass"),
])
def test_hsts(headers, status) -> None:
    assert WebEvidence(https=page("https", 200, headers)).check("web.https.hsts").status == status


def test_banner() -> None:
    shown = WebEvidence(http=page("http", 200, [["Server", "GoAhead-Webs/2.5.0"]]))
    verdict = shown.check("web.banner.disclosure")
    assert verdict.status == "fail" and "http Server: GoAhead-Webs/2.5.0" in verdict.reason
    assert WebEvidence(https=page("https", 200, [["Server", "nginx"]])).check("web.banner.disclosure").status == "pass"
    nothing = WebEvidence(https=page("https", None, [], error="refused"), http=page("http", None, [], error="refused"))
    assert nothing.check("web.banner.disclosure").status == "not_applicable"


def test_garbled_answers_are_errors() -> None:
    ev = WebEvidence(http={"status": 200})
    assert ev.check("web.http.redirect").status == "error"
    broken = WebEvidence(probes=[{"accepted": True}])
    assert broken.check("web.tls.versions").status == "error"


def test_a_certificate_whose_subject_cannot_be_read_is_an_error_not_a_crash() -> None:
    # the certificate loads; its subject (invalid UTF-8) fails only when read (the OPC UA pack's parser too)
    assert b"panel" in GOOD
    verdict = WebEvidence(certificate=GOOD.replace(b"panel", b"\xff\xfenel", 1)).check("web.tls.certificate")
    assert verdict.status == "error" and "cannot be read" in verdict.reason and "crashed" not in verdict.reason


def test_a_certificate_with_a_duplicate_extension_is_an_error_not_a_crash() -> None:
    # found by the fuzzer: the certificate loads; reading its extensions raises DuplicateExtension
    # the basic constraints extension's OID turned into a second subject key identifier
    twice = GOOD.replace(bytes.fromhex("0603551d13"), bytes.fromhex("0603551d0e"), 1)
    assert twice != GOOD
    verdict = WebEvidence(certificate=twice).check("web.tls.certificate")
    assert verdict.status == "error" and "Duplicate 2.5.29.14" in verdict.reason and "crashed" not in verdict.reason


def test_a_certificate_of_an_unknown_x509_version_is_an_error_not_a_crash() -> None:
    # found by the fuzzer: cryptography raises InvalidVersion, not ValueError, for a version field it does not know
    assert GOOD[8:13] == bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3)
    odd = GOOD[:12] + bytes([66]) + GOOD[13:]
    verdict = WebEvidence(certificate=odd).check("web.tls.certificate")
    assert verdict.status == "error" and "not a valid X509 version" in verdict.reason and "crashed" not in verdict.reason


def test_a_tls_record_that_is_not_json_is_an_error_not_a_crash() -> None:
    ev = WebEvidence()
    ev.items[0] = ev.items[0].model_copy(update={"response": '{"probes": [\x01'})  # found by the fuzzer
    verdict = ev.check("web.tls.versions")
    assert verdict.status == "error" and "not valid json" in verdict.reason and "crashed" not in verdict.reason


def test_cookies() -> None:
    good = [["Set-Cookie", "SID=1; Path=/; Secure; HttpOnly; SameSite=Strict"]]
    assert WebEvidence(https=page("https", 200, good)).check("web.session.cookies").status == "pass"
    bad = WebEvidence(https=page("https", 200, good), http=page("http", 200, [["Set-Cookie", "SID=2; Path=/; HttpOnly"]]))
    verdict = bad.check("web.session.cookies")
    assert verdict.status == "fail" and verdict.reason == "http SID: no Secure, SameSite"
    assert WebEvidence().check("web.session.cookies").status == "not_applicable"


LOGIN = '<form><input name="user"><input type="{kind}" name="password"></form>'


def test_masked_password_and_use_notice() -> None:
    masked = WebEvidence(https=page("https", 200, [], "<p>Authorized use only</p>" + LOGIN.format(kind="password")))
    assert masked.check("web.login.masked-password").status == "pass"
    assert masked.check("web.login.use-notice").status == "pass"
    plain = WebEvidence(https=page("https", 200, [], LOGIN.format(kind="text")))
    verdict = plain.check("web.login.masked-password")
    assert verdict.status == "fail" and 'type="text"' in verdict.reason
    verdict = plain.check("web.login.use-notice")
    assert verdict.status == "fail" and "no use notice" in verdict.reason
    pin = WebEvidence(https=page("https", 200, [], '<input id="pin">'))
    assert pin.check("web.login.masked-password").status == "fail"
    not_login = WebEvidence(https=page("https", 200, [], "<html>dashboard</html>"))
    for check_id in ("web.login.masked-password", "web.login.use-notice"):
        assert not_login.check(check_id).status == "not_applicable"
    # a plain-text PIN field over HTTP is credentials in clear too
    http_pin = WebEvidence(http=page("http", 200, [], LOGIN.format(kind="text")))
    assert http_pin.check("web.http.redirect").status == "fail"
