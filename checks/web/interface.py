"""The web interface of a controller, HMI panel or server: HTTPS offered, HTTP only redirecting, current TLS,
a sound certificate, HSTS and no product banner. From TLS handshakes and ``GET /`` only."""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.web.facts import Page, TlsOffer

APPLIES = ["embedded", "application"]
_LEGACY = ("TLSv1", "TLSv1.1")
_AEAD = ("GCM", "CHACHA20", "CCM")
_WEAK_CIPHERS = ("RC4", "3DES", "DES-CBC", "NULL", "EXPORT", "MD5", "anon")
_REDIRECTS = (301, 302, 303, 307, 308)
_PASSWORD_FIELD = re.compile(r"<input[^>]*type\s*=\s*[\"']?password", re.IGNORECASE)
#: An input a login form asks a secret in, masked or not (type=password, or named like a password or PIN).
_SECRET_FIELD = re.compile(r"<input[^>]*(?:type\s*=\s*[\"']?password|(?:name|id)\s*=\s*[\"']?[\w-]*(?:pass|pwd|pin)[\w-]*[\"'\s>])",
                           re.IGNORECASE)
_INPUT_TYPE = re.compile(r"type\s*=\s*[\"']?(\w+)", re.IGNORECASE)
_VERSION = re.compile(r"\d+(\.\d+)+|/\s*\d")


def _no_https(tls: TlsOffer) -> Verdict | None:
    if not tls.accepted():
        return not_applicable("no TLS handshake succeeded (see web.tls.https-offered)")
    return None


@check("web.tls.https-offered", title="Web interface is served over HTTPS",
       requirements=["SR 3.1", "SR 4.1", "CR 3.1", "CR 4.1"], applies_to=APPLIES, severity="high",
       fixture_verdicts={"weak": "pass", "hardened": "pass"},
       fixture_note="the weak panel offers HTTPS too (with TLS 1.0 and a weak certificate, which the other web "
                    "checks fail); the unit tests fail it on a port without TLS",
       remediation="Enable HTTPS on the device's web server (install a certificate from the site PKI) and turn "
                   "plain HTTP off or make it redirect to HTTPS.")
def https_offered(web_tls: TlsOffer) -> Verdict:
    """Without TLS every page, session cookie and password crosses the network in clear and can be changed on
    the way (SR 4.1 confidentiality, SR 3.1 communication integrity)."""
    accepted = [h.version for h in web_tls.accepted()]
    observed = {"accepted": accepted, "refused": {h.version: h.error for h in web_tls.handshakes if not h.accepted}}
    if accepted:
        return passed(observed, "a TLS handshake succeeds on the HTTPS port")
    return failed(observed, "a TLS handshake succeeds on the HTTPS port", "no TLS version was accepted")


@check("web.tls.versions", title="Web interface accepts only TLS 1.2+ with AEAD ciphers",
       requirements=["SR 4.3", "SR 3.1 RE1", "CR 4.3", "CR 3.1 RE1"], applies_to=APPLIES, severity="high",
       remediation="Turn TLS 1.0 and 1.1 off (RFC 8996) and limit TLS 1.2 to ECDHE key exchange with AES-GCM or "
                   "ChaCha20-Poly1305; update firmware whose web server cannot.")
def tls_versions(web_tls: TlsOffer) -> Verdict:
    """TLS 1.0 and 1.1 are deprecated (RFC 8996: weak hashes in the handshake, CBC padding attacks); TLS 1.2 with
    CBC or legacy ciphers keeps those attacks open (SR 4.3 use of cryptography)."""
    if (skip := _no_https(web_tls)):
        return skip
    accepted = web_tls.accepted()
    legacy = [h.version for h in accepted if h.version in _LEGACY]
    weak = [f"{h.version} {h.cipher}" for h in accepted if h.cipher and (
        any(w in h.cipher for w in _WEAK_CIPHERS) or (h.version == "TLSv1.2" and not any(a in h.cipher for a in _AEAD)))]
    observed = {"accepted": {h.version: h.cipher for h in accepted}}
    expected = "only TLS 1.2 (AEAD ciphers) and TLS 1.3"
    if legacy or weak:
        parts = ([f"legacy versions accepted: {', '.join(legacy)}"] if legacy else []) + (
            [f"weak ciphers negotiated: {', '.join(weak)}"] if weak else [])
        return failed(observed, expected, "; ".join(parts))
    return passed(observed, expected)


@check("web.tls.certificate", title="Web interface certificate is strong, current and issued by a CA",
       requirements=["SR 1.8", "SR 1.9", "SR 4.3", "CR 1.8", "CR 1.9", "CR 4.3"], applies_to=APPLIES, severity="medium",
       params={"min_rsa_bits": 2048, "min_ec_bits": 256, "weak_hashes": ["md5", "sha1"], "min_days_left": 30,
               "allow_self_signed": False},
       remediation="Install a certificate from the site PKI: RSA 2048+ or EC P-256+, signed with SHA-256 or "
                   "stronger, renewed well before it expires; replace the device's self-signed factory certificate.")
def certificate(web_tls: TlsOffer, params: dict[str, Any]) -> Verdict:
    """A weak key or a SHA-1 signature lets an attacker impersonate the web server; an expired or self-signed
    certificate trains operators to click through warnings, which is how a man in the middle gets in (SR 1.8
    PKI certificates, SR 1.9 strength of public key authentication). Judged at the time of the handshake."""
    if (skip := _no_https(web_tls)):
        return skip
    cert = web_tls.certificate
    expected = (f"RSA >= {params['min_rsa_bits']} / EC >= {params['min_ec_bits']} bits, not signed with "
                f"{', '.join(params['weak_hashes'])}, valid with > {params['min_days_left']} days left, CA-issued")
    if cert is None:
        return manual("the handshakes gave no certificate (or it was over the size limit); check it by hand", expected)
    observed = cert.summary()
    problems = []
    minimum = {"RSA": int(params["min_rsa_bits"]), "EC": int(params["min_ec_bits"])}
    if cert.key_type in minimum and (cert.key_bits or 0) < minimum[cert.key_type]:
        problems.append(f"{cert.key_type} {cert.key_bits}-bit key")
    if (cert.signature_hash or "").lower() in {h.lower() for h in params["weak_hashes"]}:
        problems.append(f"signed with {cert.signature_hash}")
    days_left = (cert.not_after - cert.observed_at).days
    if cert.observed_at < cert.not_before or days_left < 0:
        problems.append("not valid at the time of the handshake")
    elif days_left < int(params["min_days_left"]):
        problems.append(f"expires in {days_left} days")
    if cert.self_signed and not params["allow_self_signed"]:
        problems.append("self-signed")
    if problems:
        return failed(observed, expected, ", ".join(problems))
    if cert.key_type not in minimum:
        return manual(f"key type {cert.key_type} not judged here", expected, observed)
    return passed(observed, expected)


@check("web.http.redirect", title="Plain HTTP only redirects to HTTPS (no login page over HTTP)",
       requirements=["SR 1.5", "SR 4.1", "CR 1.5", "CR 4.1"], applies_to=APPLIES, severity="high",
       remediation="Close port 80 or make it answer only with a redirect (301/308) to the HTTPS URL; never serve the "
                   "login page or Basic authentication over plain HTTP.")
def http_redirect(web_http_page: Page) -> Verdict:
    """A login page or a Basic authentication challenge over plain HTTP sends the operator's password in clear
    (SR 1.5 authenticator management, SR 4.1). Judged from one GET / on the HTTP port: a refusal or a redirect to
    https:// passes; anything else fails."""
    page = web_http_page
    expected = "HTTP port closed, or a redirect to https:// only"
    observed = {"port": page.port, "open": page.open, "status": page.status, "location": page.header("Location"),
                "server_error": page.error}
    if page.open is None:
        return manual(f"GET / over HTTP was not sent ({page.error}); check the HTTP port by hand", expected, observed)
    if not page.open:
        if page.error == "refused":
            return passed(observed, expected, "the HTTP port refused the connection")
        return manual(f"the HTTP port did not answer ({page.error})", expected, observed)
    location = page.header("Location") or ""
    if page.status in _REDIRECTS and location.lower().startswith("https://"):
        return passed(observed, expected)
    login = bool(_SECRET_FIELD.search(page.body))
    basic = (page.header("WWW-Authenticate") or "").lower().startswith("basic")
    observed["password_field"], observed["basic_auth"] = login, basic
    if login or basic:
        return failed(observed, expected, "credentials are asked for over plain HTTP ("
                      + ("a password field" if login else "Basic authentication") + ")")
    return failed(observed, expected, f"HTTP answers {page.status} instead of redirecting to HTTPS")


@check("web.https.hsts", title="Web interface sends HSTS (Strict-Transport-Security)",
       requirements=["SR 4.1", "CR 4.1"], applies_to=APPLIES, severity="low",
       params={"min_max_age": 31_536_000},
       remediation="Send 'Strict-Transport-Security: max-age=31536000' on every HTTPS answer, so browsers never "
                   "fall back to plain HTTP for this device.")
def hsts(web_https_page: Page, params: dict[str, Any]) -> Verdict:
    """Without HSTS a browser that types the address or follows an old link starts over plain HTTP, where a man
    in the middle can keep the session unencrypted (SR 4.1). Browsers ignore the header over HTTP, so only the
    HTTPS answer counts."""
    page = web_https_page
    minimum = int(params["min_max_age"])
    expected = f"Strict-Transport-Security with max-age >= {minimum}"
    if not page.open or page.status is None:
        return not_applicable(f"no HTTPS answer to judge ({page.error})")
    value = page.header("Strict-Transport-Security")
    observed = {"strict_transport_security": value, "status": page.status}
    if not value:
        return failed(observed, expected, "no Strict-Transport-Security header")
    match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
    if not match:
        return failed(observed, expected, "Strict-Transport-Security without max-age")
    if int(match.group(1)) < minimum:
        return failed(observed, expected, f"max-age {match.group(1)} is shorter")
    return passed(observed, expected)


@check("web.banner.disclosure", title="Web interface does not disclose product versions in its headers",
       requirements=["SR 7.7", "CR 7.7"], applies_to=APPLIES, severity="low",
       params={"headers": ["Server", "X-Powered-By", "X-AspNet-Version"]},
       remediation="Remove or blank the Server and X-Powered-By headers (or strip their version numbers) in the "
                   "web server's configuration; update firmware that announces an outdated component.")
def banner(web_https_page: Page, web_http_page: Page, params: dict[str, Any]) -> Verdict:
    """A Server or X-Powered-By header naming a component and its version tells an attacker which published
    vulnerabilities to try, without a single probe (SR 7.7 least functionality)."""
    pages = [p for p in (web_https_page, web_http_page) if p.open and p.status is not None]
    expected = "no version number in " + ", ".join(params["headers"])
    if not pages:
        return not_applicable("neither HTTPS nor HTTP answered GET /")
    shown = {f"{page.scheme} {name}": page.header(name) for page in pages for name in params["headers"]
             if page.header(name)}
    versions = {key: value for key, value in shown.items() if value and _VERSION.search(value)}
    if versions:
        return failed(shown, expected, "versions disclosed: " + ", ".join(f"{k}: {v}" for k, v in versions.items()))
    return passed(shown, expected)


@check("web.session.cookies", title="Web interface session cookies are Secure, HttpOnly and SameSite",
       requirements=["SR 3.8", "CR 3.8"], applies_to=APPLIES, severity="medium",
       remediation="Set the Secure, HttpOnly and SameSite (Lax or Strict) attributes on every cookie the web "
                   "server issues (firmware or web server configuration).")
def cookies(web_https_page: Page, web_http_page: Page) -> Verdict:
    """A session cookie without Secure leaks over plain HTTP, without HttpOnly to a script injected in a page,
    and without SameSite to cross-site requests: each lets an attacker ride or steal the operator's session
    (SR 3.8 session integrity). Judged on the cookies set by the unauthenticated front page."""
    pages = [p for p in (web_https_page, web_http_page) if p.open and p.status is not None]
    expected = "every Set-Cookie has Secure, HttpOnly and SameSite"
    cookies_set = [(page.scheme, value) for page in pages for value in page.headers.get("set-cookie", [])]
    if not cookies_set:
        return not_applicable("GET / set no cookie (the session cookie may be set only after a login; the auditor "
                              "never logs in)")
    missing = []
    for scheme, value in cookies_set:
        attributes = {part.strip().split("=", 1)[0].lower() for part in value.split(";")[1:]}
        lacking = [name for name in ("Secure", "HttpOnly", "SameSite") if name.lower() not in attributes]
        if lacking:
            missing.append(f"{scheme} {value.split(';', 1)[0].split('=', 1)[0]}: no {', '.join(lacking)}")
    observed = {"cookies": [f"{scheme}: {value}" for scheme, value in cookies_set]}
    if missing:
        return failed(observed, expected, "; ".join(missing))
    return passed(observed, expected)


def _login_pages(*pages: Page) -> list[Page]:
    return [p for p in pages if p.open and p.status == 200 and _SECRET_FIELD.search(p.body)]


@check("web.login.masked-password", title="Web login form masks the password as it is typed",
       requirements=["SR 1.10", "CR 1.10"], applies_to=APPLIES, severity="low",
       remediation="Make the login form's password or PIN field an input of type 'password' (firmware update or web "
                   "configuration), so it is not readable over an operator's shoulder or on a screen recording.")
def masked_password(web_https_page: Page, web_http_page: Page) -> Verdict:
    """A password or PIN field that echoes what is typed exposes the authenticator to anyone who sees the screen
    (SR 1.10 authenticator feedback). Judged on the front page when it is a login form; the auditor never logs in."""
    pages = _login_pages(web_https_page, web_http_page)
    expected = "every password or PIN field of the login form is an input of type 'password'"
    if not pages:
        return not_applicable("the front page is not a login form (a login page elsewhere is not looked for)")
    fields = [(page.scheme, match.group(0)) for page in pages for match in _SECRET_FIELD.finditer(page.body)]
    plain = [f"{scheme}: {tag}" for scheme, tag in fields
             if (m := _INPUT_TYPE.search(tag)) is None or m.group(1).lower() != "password"]
    observed = {"fields": [f"{scheme}: {tag}" for scheme, tag in fields][:10]}
    if plain:
        return failed(observed, expected, "password fields shown in clear: " + "; ".join(plain[:5]))
    return passed(observed, expected)


@check("web.login.use-notice", title="Web login page shows a system use notification",
       requirements=["SR 1.12", "CR 1.12"], applies_to=APPLIES, severity="low",
       params={"notice_patterns": [r"authori[sz]ed", r"monitored", r"use of this system", r"prohibited"]},
       remediation="Configure the login page's notice (where the device has one) with the site's authorized-use "
                   "text, e.g. 'Authorized use only. Activity on this system is monitored and recorded.'")
def use_notice(web_https_page: Page, web_http_page: Page, params: dict[str, Any]) -> Verdict:
    """A notice before login tells users the system is for authorized use and monitored, which the site's legal
    and disciplinary measures rely on (SR 1.12 system use notification). Judged on the front page when it is the
    login form."""
    pages = _login_pages(web_https_page, web_http_page)
    expected = "the login page holds a use notice matching one of " + ", ".join(params["notice_patterns"])
    if not pages:
        return not_applicable("the front page is not a login form (a login page elsewhere is not looked for)")
    patterns = [re.compile(p, re.IGNORECASE) for p in params["notice_patterns"]]
    text = {page.scheme: re.sub(r"<[^>]+>", " ", page.body) for page in pages}
    found = {scheme: sorted({m.group(0) for p in patterns for m in [p.search(body)] if m}) for scheme, body in text.items()}
    observed = {"notice_words": found}
    lacking = [scheme for scheme, words in found.items() if not words]
    if lacking:
        return failed(observed, expected, "no use notice on the login page (" + ", ".join(lacking) + ")")
    return passed(observed, expected)
