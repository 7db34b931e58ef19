"""The web-interface connector: one TLS handshake per protocol version, one ``GET /`` over HTTPS and one over
HTTP, one ``GET`` of a random path that cannot exist, and, when the inventory names the site's CA, one handshake
that verifies the certificate against it; one at a time. Nothing else: no login, no form, no other method, no
redirect followed.

Requests (``request("https", op, target)``):

* ``tls``/``versions``: a handshake with each of TLS 1.0, 1.1, 1.2 and 1.3 alone (minimum = maximum version;
  legacy versions with OpenSSL's security level 0, else a legacy server would look compliant), closed at
  once: the version and cipher each one negotiated, and the server certificate (DER, base64) of the first;
* ``get``/``/``: ``GET /`` over HTTPS: status, headers, the body's first bytes (never followed), and the
  auditor's clock (``requested_at``, ``answered_at``, UTC epoch seconds) around the answer;
* ``not_found``/``random``: ``GET /iacs-audit-<32 random hex digits>`` over HTTPS, a path no device has: the error
  page, kept as ``GET /`` keeps its answer (the path is in ``path``);
* ``tls``/``site-ca``: one handshake verifying the certificate chain against the endpoint's ``ca_file`` (the
  site's CA bundle; host name not checked; every TLS version and key size allowed, which the version and
  certificate checks judge): ``verified`` and OpenSSL's reason; without ``ca_file`` nothing is sent;
* ``http_get``/``/``: ``GET /`` on the endpoint's ``http_port`` (default 80; ``http_port: 0`` skips it): a
  refused port is an answer (``open: false``);
* ``session``/``log``: what was sent, when, and its outcome.

Certificates are not verified (``CERT_NONE``): the checks judge them from the DER. Every answer is bounded by
:mod:`connectors.https.limits`. A port that accepts no TLS handshake at all and no HTTP answer is still
assessed: "no HTTPS" is a finding, not an unreachable asset. Only an endpoint where neither the HTTPS nor
the HTTP port takes a connection is unusable (:class:`ConnectorError`).
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import socket
import ssl
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

from auditor.evidence import EvidenceItem, EvidenceRequest
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, run_in_thread
from connectors.https import limits

__all__ = ["HttpsConnector", "SESSION_LOG", "USER_AGENT"]

SESSION_LOG = EvidenceRequest(protocol="https", op="session", target="log")
USER_AGENT = "iacs-auditor (read-only audit)"
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are probed on purpose
    _VERSIONS = (("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
                 ("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3))


def _context(version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # judged from the DER by the checks, never trusted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if version is not None:
            context.minimum_version = context.maximum_version = version
        if version is not None and version < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


class _Cancelled(Exception):
    """The collection was cancelled (asset timeout): the worker thread stops."""


class HttpsConnector(Connector):
    """Reads a web interface's TLS and front page (see the module docstring for the exact behaviour)."""

    protocol = "https"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._log: list[dict[str, Any]] = []
        self._last = 0.0
        self._cancel = threading.Event()

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        return await run_in_thread(lambda: self._collect(list(requests)), self._cancel)

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """Every handshake and request :meth:`collect` would send, in its order, with its pace (no network)."""
        ep = self.endpoint
        log_request = next((r for r in requests if r.op == "session" and r.target == "log"), None)
        steps: list[PlannedRequest] = []
        for req in requests:
            if req is log_request:
                continue
            if req.op == "tls" and req.target == "versions":
                steps += [PlannedRequest("TLS handshake", f"{self.asset.address}:{ep.port} {name}", 1,
                                         f"a TCP connection and a handshake with {name} alone, closed at once", req.key)
                          for name, _ in _VERSIONS]
            elif req.op == "get" and req.target == "/":
                steps.append(PlannedRequest("GET /", f"https://{self.asset.address}:{ep.port}/", 1,
                                            "one TLS connection; status, headers and the first "
                                            f"{limits.MAX_BODY_BYTES // 1024} KiB kept, no redirect followed", req.key))
            elif req.op == "not_found" and req.target == "random":
                steps.append(PlannedRequest("GET (absent path)", f"https://{self.asset.address}:{ep.port}/iacs-audit-"
                                            "<random hex>", 1, "one TLS connection; a path no device has, for its "
                                            "error page; status, headers and the first "
                                            f"{limits.MAX_BODY_BYTES // 1024} KiB kept", req.key))
            elif req.op == "tls" and req.target == "site-ca":
                steps.append(PlannedRequest("TLS handshake", f"{self.asset.address}:{ep.port} verified against "
                                            f"{ep.ca_file}" if ep.ca_file else "no ca_file", 1 if ep.ca_file else 0,
                                            "the certificate chain verified against the site's CA bundle, closed at "
                                            "once" if ep.ca_file else "nothing sent: the inventory names no site CA",
                                            req.key))
            elif req.op == "http_get" and req.target == "/":
                steps.append(PlannedRequest("GET /", f"http://{self.asset.address}:{ep.http_port}/" if ep.http_port
                                            else "no HTTP port", 1 if ep.http_port else 0,
                                            "no redirect followed" if ep.http_port else "nothing sent: http_port is 0",
                                            req.key))
            else:
                steps.append(PlannedRequest(req.op, req.target, 0, "not a read this connector performs: nothing sent",
                                            req.key))
        steps.append(PlannedRequest("record", "session log", 0, "nothing sent: what was sent and its outcome",
                                    (log_request or SESSION_LOG).key))
        actions = sum(step.count or 0 for step in steps)
        pacing = (f"one connection at a time, at most {ep.requests_per_second:g} per second, {ep.timeout:g} s each; "
                  "GET only (/ and one absent path): no login, no form, no other method")
        return ConnectorPlan(pacing=pacing, steps=steps,
                             min_seconds=round(max(0, actions - 1) / ep.requests_per_second, 2))

    def _collect(self, requests: list[EvidenceRequest]) -> list[EvidenceItem]:
        items = self.collected
        started = time.monotonic()
        log_request = next((r for r in requests if r.op == "session" and r.target == "log"), SESSION_LOG)
        reached = False
        for req in requests:
            if req is log_request:
                continue
            req_started = time.monotonic()
            if req.op == "tls" and req.target == "versions":
                body, meta = self._tls_versions()
                reached |= any(p["accepted"] or p.get("answered") for p in body["probes"])
            elif req.op == "get" and req.target == "/":
                body, meta = self._get(self.endpoint.port, secure=True)
                reached |= body["open"]
            elif req.op == "not_found" and req.target == "random":
                body, meta = self._get(self.endpoint.port, secure=True, path=f"/iacs-audit-{secrets.token_hex(16)}")
                reached |= body["open"]
            elif req.op == "tls" and req.target == "site-ca":
                body, meta = self._tls_site_ca(), {}
            elif req.op == "http_get" and req.target == "/":
                if not self.endpoint.http_port:
                    body, meta = {"open": None, "skipped": "http_port is 0 in the inventory"}, {}
                else:
                    body, meta = self._get(self.endpoint.http_port, secure=False)
                    reached |= body["open"]
            else:
                items.append(self.item(req, started=req_started, status="error", error=f"unsupported request {req.key}"))
                continue
            items.append(self.item(req, started=req_started, encoding="json", response=json.dumps(body, sort_keys=True),
                                   meta=meta))
        log_item = self.item(log_request, started=started, encoding="json", response=json.dumps(
            {"address": self.asset.address, "port": self.endpoint.port, "http_port": self.endpoint.http_port,
             "user_agent": USER_AGENT, "sent": self._log}, sort_keys=True))
        if not reached and len(items) > 0:
            raise ConnectorError(f"{self.asset.address}: neither port {self.endpoint.port} (HTTPS) nor "
                                 f"{self.endpoint.http_port or '-'} (HTTP) took a connection",
                                 partial_items=items + [log_item])
        items.append(log_item)
        return items

    # ------------------------------------------------------------------ pacing and logging
    def _pace(self) -> None:
        """Wait for the next request's turn; a cancelled collection ends here, before anything more is sent
        (nobody awaits the worker thread any more: what it raises is dropped)."""
        if self._cancel.is_set():
            raise _Cancelled()
        wait = self._last + 1.0 / float(self.endpoint.requests_per_second) - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()

    def _record(self, what: str, started: float, result: str) -> None:
        self._log.append({"sent": what, "result": result[:300], "ms": round((time.monotonic() - started) * 1000, 2)})

    # ------------------------------------------------------------------ TLS
    def _tls_versions(self) -> tuple[dict[str, Any], dict[str, Any]]:
        probes: list[dict[str, Any]] = []
        certificate: bytes | None = None
        meta: dict[str, Any] = {}
        for name, version in _VERSIONS:
            self._pace()
            started = time.monotonic()
            probe: dict[str, Any] = {"version": name, "accepted": False}
            try:
                with socket.create_connection((self.asset.address, self.endpoint.port), self.endpoint.timeout) as raw:
                    probe["answered"] = True  # the TCP port is open
                    with _context(version).wrap_socket(raw) as tls:
                        probe.update(accepted=True, negotiated=tls.version(), cipher=list(tls.cipher() or ()))
                        der = tls.getpeercert(binary_form=True)
                        if certificate is None and der:
                            if len(der) > limits.MAX_CERTIFICATE_BYTES:
                                meta = {"truncated": True, "original_certificate_bytes": len(der),
                                        "kept_certificate_bytes": 0}
                            else:
                                certificate = der
            except ssl.SSLError as exc:
                probe["error"] = f"refused: {exc.reason or exc}"
            except (OSError, ValueError) as exc:
                probe["error"] = f"{type(exc).__name__}: {exc}"
            self._record(f"TLS handshake {name}", started, "accepted" if probe["accepted"] else probe["error"])
            probes.append(probe)
        return {"probes": probes, "certificate": base64.b64encode(certificate).decode("ascii") if certificate else None}, meta

    def _tls_site_ca(self) -> dict[str, Any]:
        """One handshake that lets OpenSSL verify the chain against the site's CA bundle (no host name check)."""
        ca_file = self.endpoint.ca_file
        if not ca_file:
            return {"ca_file": None, "skipped": "the inventory names no site CA (ca_file) for this endpoint"}
        body: dict[str, Any] = {"ca_file": ca_file, "verified": None}
        context = _context()
        context.verify_mode = ssl.CERT_REQUIRED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1  # the version and key size are other checks' business
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        try:
            context.load_verify_locations(cafile=str(Path(ca_file).expanduser()))
        except (OSError, ssl.SSLError) as exc:
            return {**body, "error": f"the CA file cannot be loaded: {type(exc).__name__}: {exc}"[:300]}
        body["ca_subjects"] = [", ".join("=".join(pair) for rdn in ca.get("subject", ()) for pair in rdn)[:200]
                               for ca in context.get_ca_certs()[:limits.MAX_CA_CERTIFICATES]]
        self._pace()
        started = time.monotonic()
        try:
            with socket.create_connection((self.asset.address, self.endpoint.port), self.endpoint.timeout) as raw:
                with context.wrap_socket(raw):
                    body["verified"] = True
        except ssl.SSLCertVerificationError as exc:
            body.update(verified=False, reason=str(exc.verify_message or exc.reason or exc)[:300],
                        verify_code=exc.verify_code)
        except ssl.SSLError as exc:
            body["error"] = f"handshake failed: {exc.reason or exc}"[:300]
        except (OSError, ValueError) as exc:
            body["error"] = f"{type(exc).__name__}: {exc}"[:300]
        self._record("TLS handshake verified against the site CA", started,
                     {True: "verified", False: f"not verified: {body.get('reason')}"}.get(body["verified"],
                                                                                           body.get("error", "")))
        return body

    # ------------------------------------------------------------------ GET
    def _get(self, port: int, *, secure: bool, path: str = "/") -> tuple[dict[str, Any], dict[str, Any]]:
        self._pace()
        started = time.monotonic()
        what = f"GET {path} ({'HTTPS' if secure else 'HTTP'} port {port})"
        host, timeout = self.asset.address, float(self.endpoint.timeout)
        connection = (http.client.HTTPSConnection(host, port, timeout=timeout, context=_context()) if secure
                      else http.client.HTTPConnection(host, port, timeout=timeout))
        body: dict[str, Any] = {"host": host, "port": port, "scheme": "https" if secure else "http", "open": False,
                                "path": path}
        meta: dict[str, Any] = {}
        try:
            connection.connect()  # the TCP (and TLS) set-up stays outside the clock window of the answer
            body["requested_at"] = time.time()
            connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "text/html",
                                                     "Connection": "close"})
            response = connection.getresponse()
            body["answered_at"] = time.time()  # the status line and headers (with Date) have arrived
            raw = response.read(limits.MAX_BODY_BYTES + 1)
            headers = response.getheaders()
            kept = []
            for name, value in headers[:limits.MAX_HEADERS]:
                if len(value) > limits.MAX_HEADER_CHARS:
                    meta.update(truncated=True, original_header_chars=max(len(value), meta.get("original_header_chars", 0)),
                                kept_header_chars=limits.MAX_HEADER_CHARS)
                kept.append([name[:200], value[:limits.MAX_HEADER_CHARS]])
            if len(headers) > limits.MAX_HEADERS:
                meta.update(truncated=True, original_headers=len(headers), kept_headers=limits.MAX_HEADERS)
            if len(raw) > limits.MAX_BODY_BYTES:
                meta.update(truncated=True, original_body_bytes=f">{limits.MAX_BODY_BYTES}",
                            kept_body_bytes=limits.MAX_BODY_BYTES)
            body.update(open=True, status=response.status, reason=response.reason[:200], headers=kept,
                        body=raw[:limits.MAX_BODY_BYTES].decode("utf-8", "replace"))
            self._record(what, started, str(response.status))
        except ConnectionRefusedError:
            body["error"] = "refused"
            self._record(what, started, "refused")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            body.update(open=not isinstance(exc, (socket.timeout, TimeoutError)), error=f"{type(exc).__name__}: {exc}"[:300])
            self._record(what, started, body["error"])
        finally:
            connection.close()
        return body, meta
