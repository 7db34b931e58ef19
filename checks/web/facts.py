"""Web interface evidence: the TLS handshakes and the two ``GET /`` answers, and their parsers.

Answered by :mod:`connectors.https.connector`: ``https:tls:versions`` (one handshake per TLS version, the
server certificate as DER), ``https:get:/`` (HTTPS) and ``https:http_get:/`` (plain HTTP; ``open: false``
when the port refused). Certificates are parsed as the OPC UA pack parses its own.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
from dataclasses import dataclass
from typing import Any

from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact, request
from checks.opcua.facts import Certificate, parse_certificate

__all__ = ["HTTP_GET", "HTTPS_GET", "TLS_VERSIONS", "Handshake", "Page", "TlsOffer"]

TLS_VERSIONS = request("https", "tls", "versions", name="web.tls-versions")
HTTPS_GET = request("https", "get", "/", name="web.get-https")
HTTP_GET = request("https", "http_get", "/", name="web.get-http")


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

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def _page(ev: FactEvidence, req: Any) -> Page:
    data = ev.data(req)
    if not isinstance(data, dict) or "open" not in data:
        raise FactParseError(f"{req.key}: not a GET answer")
    headers: dict[str, list[str]] = {}
    for pair in data.get("headers") or []:
        if not isinstance(pair, list) or len(pair) != 2:
            raise FactParseError(f"{req.key}: malformed header {pair!r}")
        headers.setdefault(str(pair[0]).lower(), []).append(str(pair[1]))
    status = data.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise FactParseError(f"{req.key}: status {status!r}")
    return Page(scheme=str(data.get("scheme") or ""), port=data.get("port"), open=data.get("open"), status=status,
                headers=headers, body=str(data.get("body") or ""), error=data.get("error") or data.get("skipped"))


@fact("web_https_page", protocol="https", requests=[HTTPS_GET])
def web_https_page(ev: FactEvidence) -> Page:
    """The answer to ``GET /`` over HTTPS."""
    return _page(ev, HTTPS_GET)


@fact("web_http_page", protocol="https", requests=[HTTP_GET])
def web_http_page(ev: FactEvidence) -> Page:
    """The answer to ``GET /`` on the plain HTTP port."""
    return _page(ev, HTTP_GET)
