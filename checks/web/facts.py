"""Web interface evidence: the TLS handshakes, the two ``GET /`` answers and the error page, and their parsers.

Answered by :mod:`connectors.https.connector`: ``https:tls:versions`` (one handshake per TLS version, the
server certificate as DER), ``https:get:/`` (HTTPS, with the auditor's clock around the answer),
``https:http_get:/`` (plain HTTP; ``open: false`` when the port refused), ``https:not_found:random`` (a random
absent path over HTTPS) and ``https:tls:site-ca`` (the chain verified against the site's CA bundle).
Certificates are parsed as the OPC UA pack parses its own.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import email.utils
from dataclasses import dataclass
from typing import Any

from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact, request
from checks.opcua.facts import Certificate, parse_certificate

__all__ = ["HTTP_GET", "HTTPS_GET", "NOT_FOUND", "SITE_CA", "TLS_VERSIONS", "Handshake", "Page", "PageClock",
           "SiteTrust", "TlsOffer"]

TLS_VERSIONS = request("https", "tls", "versions", name="web.tls-versions")
HTTPS_GET = request("https", "get", "/", name="web.get-https")
HTTP_GET = request("https", "http_get", "/", name="web.get-http")
NOT_FOUND = request("https", "not_found", "random", name="web.get-absent-path")
SITE_CA = request("https", "tls", "site-ca", name="web.tls-site-ca")


@dataclass(frozen=True)
class Handshake:
    version: str  # TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3
    accepted: bool
    cipher: str | None
    error: str | None


@dataclass(frozen=True)
class TlsOffer:
    handshakes: tuple[Handshake, ...]
    certificate: Certificate | None

    def accepted(self) -> list[Handshake]:
        return [h for h in self.handshakes if h.accepted]


@fact("web_tls", protocol="https", requests=[TLS_VERSIONS])
def web_tls(ev: FactEvidence) -> TlsOffer:
    """Which TLS versions the server accepted, the cipher each negotiated, and its certificate."""
    item = ev.item(TLS_VERSIONS)
    data = ev.data(TLS_VERSIONS)  # JSON that is not JSON: a parse error, not a crash
    if not isinstance(data, dict) or not isinstance(data.get("probes"), list):
        raise FactParseError("web.tls-versions: no list of probes")
    try:
        handshakes = tuple(Handshake(version=str(p["version"]), accepted=p["accepted"] is True,
                                     cipher=str(p["cipher"][0]) if p.get("cipher") else None, error=p.get("error"))
                           for p in data["probes"])
    except (KeyError, TypeError, IndexError) as exc:
        raise FactParseError(f"web.tls-versions: malformed probe ({exc!r})") from None
    certificate = None
    if data.get("certificate"):
        try:
            der = base64.b64decode(data["certificate"], validate=True)
        except (binascii.Error, ValueError):
            raise FactParseError("web.tls-versions: the certificate is not base64") from None
        observed = item.collected_at if item.collected_at.tzinfo else item.collected_at.replace(tzinfo=_dt.timezone.utc)
        certificate = parse_certificate(der, endpoints=("https",), observed_at=observed)
    return TlsOffer(handshakes=handshakes, certificate=certificate)


@dataclass(frozen=True)
class Page:
    scheme: str
    port: int | None
    open: bool | None  # None: not asked (http_port 0)
    status: int | None
    headers: dict[str, list[str]]  # lower-case name -> values
    body: str
    error: str | None
    path: str = "/"
    host: str | None = None  # the address the request went to (the page's own origin with scheme and port)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def _page(ev: FactEvidence, req: Any) -> Page:
    data = ev.data(req)
    if not isinstance(data, dict) or "open" not in data:
        raise FactParseError(f"{req.key}: not a GET answer")
    headers: dict[str, list[str]] = {}
    if not isinstance(data.get("headers") or [], list):
        raise FactParseError(f"{req.key}: headers are not a list of name/value pairs")
    for pair in data.get("headers") or []:
        if not isinstance(pair, list) or len(pair) != 2:
            raise FactParseError(f"{req.key}: malformed header {pair!r}")
        headers.setdefault(str(pair[0]).lower(), []).append(str(pair[1]))
    status = data.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise FactParseError(f"{req.key}: status {status!r}")
    return Page(scheme=str(data.get("scheme") or ""), port=data.get("port"), open=data.get("open"), status=status,
                headers=headers, body=str(data.get("body") or ""), error=data.get("error") or data.get("skipped"),
                path=str(data.get("path") or "/"), host=data.get("host"))


@fact("web_https_page", protocol="https", requests=[HTTPS_GET])
def web_https_page(ev: FactEvidence) -> Page:
    """The answer to ``GET /`` over HTTPS."""
    return _page(ev, HTTPS_GET)


@fact("web_http_page", protocol="https", requests=[HTTP_GET])
def web_http_page(ev: FactEvidence) -> Page:
    """The answer to ``GET /`` on the plain HTTP port."""
    return _page(ev, HTTP_GET)


@fact("web_error_page", protocol="https", requests=[NOT_FOUND])
def web_error_page(ev: FactEvidence) -> Page:
    """The answer to ``GET`` of a random path no device has, over HTTPS: the interface's error page."""
    return _page(ev, NOT_FOUND)


@dataclass(frozen=True)
class PageClock:
    """The device's clock as its HTTPS answer's ``Date`` header gives it, and the auditor's around that answer."""

    date_header: str | None
    device: _dt.datetime | None  # None: no Date header, or one that is not an HTTP date
    requested: _dt.datetime | None  # the auditor's clock when the request was sent
    answered: _dt.datetime | None  # ... and when the status line and headers had arrived


def _utc(seconds: Any, field: str) -> _dt.datetime | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise FactParseError(f"web.get-https: {field} is not a time ({seconds!r})")
    try:
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):  # beyond the platform's time_t, or NaN
        raise FactParseError(f"web.get-https: {field} {seconds!r} is not a time this platform can hold") from None


@fact("web_clock", protocol="https", requests=[HTTPS_GET])
def web_clock(ev: FactEvidence) -> PageClock:
    """The ``Date`` header of ``GET /`` over HTTPS against the auditor's clock at request and answer."""
    page = _page(ev, HTTPS_GET)
    data = ev.data(HTTPS_GET)
    raw = page.header("Date")
    device = None
    if raw:
        try:
            device = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            device = None
        if device is not None and device.tzinfo is None:  # "-0000": RFC 5322 says UTC, meaning unknown
            device = device.replace(tzinfo=_dt.timezone.utc)
    return PageClock(date_header=raw, device=device, requested=_utc(data.get("requested_at"), "requested_at"),
                     answered=_utc(data.get("answered_at"), "answered_at"))


@dataclass(frozen=True)
class SiteTrust:
    """The certificate chain verified against the site's CA bundle named in the inventory."""

    ca_file: str | None
    verified: bool | None  # None: not decided (no CA file, CA file unreadable, handshake failed)
    reason: str | None  # OpenSSL's verification failure
    error: str | None
    ca_subjects: tuple[str, ...]


@fact("web_site_trust", protocol="https", requests=[SITE_CA])
def web_site_trust(ev: FactEvidence) -> SiteTrust:
    """Whether the web certificate chains to the site's CA (one verifying handshake; none without ``ca_file``)."""
    data = ev.data(SITE_CA)
    if not isinstance(data, dict) or "ca_file" not in data:
        raise FactParseError("web.tls-site-ca: not a verification answer")
    verified = data.get("verified")
    if verified not in (True, False, None):
        raise FactParseError(f"web.tls-site-ca: verified is {verified!r}")
    return SiteTrust(ca_file=data["ca_file"], verified=verified, reason=data.get("reason"),
                     error=data.get("error") or data.get("skipped"),
                     ca_subjects=tuple(str(s) for s in data.get("ca_subjects") or ()))
