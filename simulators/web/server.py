"""A controller's web interface for tests and demos: HTTPS and plain HTTP on a loopback address, from a fixture.

The fixture says what a PLC's or HMI panel's embedded web server offers:

* ``tls``: ``minimum``/``maximum`` version (``TLSv1`` .. ``TLSv1.3``; legacy versions are served with
  OpenSSL's security level 0) and ``ciphers`` (an OpenSSL cipher string for TLS 1.2 and older);
* ``certificate``: ``{key_bits, hash (sha1|sha256), self_signed, valid_days}`` (built by
  :mod:`simulators.opcua.certs`, which can still make SHA-1 certificates);
* ``http``: ``redirect: true`` answers ``GET /`` on HTTP with 301 to the HTTPS URL, else the login page;
* ``headers``: sent with every answer (``Server``, ``X-Powered-By``, ...); ``hsts``: the
  Strict-Transport-Security value of HTTPS answers (none when empty);
* ``login``: the front page is a login form; ``masked: false`` makes its password field plain text, ``notice``
  is the use notification shown above it;
* ``page_extra``: HTML added to the front page (scripts, applets); ``csp``: the Content-Security-Policy of
  every answer (none when empty);
* ``error_page``: the body of the 404 every path but ``/`` gets;
* ``clock_offset_seconds``: how far the ``Date`` header of every answer is from the real time.

The certificate of a fixture that is not self-signed is issued by ``site_ca`` (the site's CA, given or made
here; :attr:`WebSimulator.site_ca_pem` is its certificate for an inventory's ``ca_file``).

Every request is recorded in :attr:`WebSimulator.requests` (``scheme``, ``method``, ``path``), so a test can
prove that a scan sent only GET requests: no login, no form post, no other method.
Every accepted TCP connection (a TLS version probe is one, with or without a request) is counted in
:attr:`WebSimulator.connections` by scheme, so a test can match a scan's plan connection for connection.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from auditor.safeload import load_yaml_file
from simulators.opcua.certs import CertKey, make_certificate, make_key, pem_key

__all__ = ["FIXTURES", "WebFixture", "WebSimulator", "load_fixture", "make_site_ca"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOGIN_PAGE = ("<html><head><title>{title}</title></head><body>{notice}{extra}<form method=\"post\" action=\"/login\">"
              "<input name=\"user\"><input type=\"{field}\" name=\"password\"><button>Log in</button></form>"
              "</body></html>")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    _VERSIONS = {"TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1, "TLSv1.2": ssl.TLSVersion.TLSv1_2,
                 "TLSv1.3": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class WebFixture:
    name: str
    title: str
    tls: dict[str, str]
    certificate: dict[str, Any]
    http: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    hsts: str = ""
    login: dict[str, Any] = field(default_factory=dict)
    page_extra: str = ""
    csp: str = ""
    error_page: str = "<html><body><h1>404 Not Found</h1></body></html>"
    clock_offset_seconds: float = 0.0


def load_fixture(fixture: str | Path) -> WebFixture:
    """A built-in fixture by name (``weak``, ``hardened``) or a fixture YAML file."""
    path = Path(fixture)
    if not path.suffix:
        path = FIXTURES / f"{fixture}.yaml"
    data = load_yaml_file(path, "a simulator fixture")
    for bound in ("minimum", "maximum"):
        if data["tls"].get(bound, "TLSv1.2") not in _VERSIONS:
            raise ValueError(f"{path}: tls {bound} is one of {sorted(_VERSIONS)}")
    return WebFixture(name=path.stem, **data)


class _QuietServer(ThreadingHTTPServer):
    """A failed or abandoned handshake (every TLS version probe) is normal here, not a traceback."""

    on_accept: Any = None  # called with nothing for every accepted TCP connection

    def verify_request(self, request: Any, client_address: Any) -> bool:
        if self.on_accept is not None:
            self.on_accept()
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class WebSimulator:
    """HTTPS and HTTP servers on one loopback address (well-known ports when it may, else ephemeral)."""

    def __init__(self, fixture: str | Path | WebFixture = "weak", host: str = "127.0.0.1", *,
                 https_port: int = 0, http_port: int = 0, site_ca: CertKey | None = None):
        self.fixture = fixture if isinstance(fixture, WebFixture) else load_fixture(fixture)
        self.host = host
        self.requests: list[dict[str, Any]] = []
        self.connections: dict[str, int] = {"https": 0, "http": 0}
        self._lock = threading.Lock()
        self._workdir = tempfile.TemporaryDirectory(prefix="iacs-web-sim-")
        self.site_ca = site_ca or make_site_ca()
        self.certificate = self._certificate()
        self._https = self._server(https_port, secure=True)
        self._http = self._server(http_port, secure=False)
        self.https_port = self._https.server_address[1]
        self.http_port = self._http.server_address[1]
        self._threads: list[threading.Thread] = []

    def start(self) -> "WebSimulator":
        for server in (self._https, self._http):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._https, self._http):
            server.shutdown()
            server.server_close()
        self._workdir.cleanup()

    def __enter__(self) -> "WebSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sent(self, since: int = 0) -> list[str]:
        """``"https GET /"`` per request received, in order."""
        with self._lock:
            return [f"{r['scheme']} {r['method']} {r['path']}" for r in self.requests[since:]]

    @property
    def site_ca_pem(self) -> bytes:
        """The site CA's certificate (PEM): what an inventory names as the endpoint's ``ca_file``."""
        return self.site_ca.certificate.public_bytes(serialization.Encoding.PEM)

    # ------------------------------------------------------------------ building
    def _certificate(self) -> CertKey:
        spec = self.fixture.certificate
        issuer = None if spec.get("self_signed", True) else self.site_ca
        key = make_key(int(spec.get("key_bits", 2048)))
        cert = make_certificate(key, self.fixture.title, hash_name=spec.get("hash", "sha256"), issuer=issuer,
                                valid_days=float(spec.get("valid_days", 365)), dns_names=("localhost",),
                                ip_addresses=(self.host,))
        return CertKey(cert, key)

    def _context(self) -> ssl.SSLContext:
        tls = self.fixture.tls
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = _VERSIONS[tls.get("minimum", "TLSv1.2")]
            context.maximum_version = _VERSIONS[tls.get("maximum", "TLSv1.3")]
        ciphers = tls.get("ciphers", "DEFAULT")
        if context.minimum_version < ssl.TLSVersion.TLSv1_2 or self.certificate.certificate.public_key().key_size < 2048:
            ciphers += ":@SECLEVEL=0"
        context.set_ciphers(ciphers)
        folder = Path(self._workdir.name)
        (folder / "cert.pem").write_bytes(self.certificate.certificate.public_bytes(serialization.Encoding.PEM))
        (folder / "key.pem").write_bytes(pem_key(self.certificate.key))
        context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        return context

    def _server(self, port: int, *, secure: bool) -> ThreadingHTTPServer:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            server_version = ""
            sys_version = ""

            def log_message(self, *args: Any) -> None:  # the request log is the record
                pass

            def _answer(self) -> None:
                simulator._record("https" if secure else "http", self.command, self.path)
                fx = simulator.fixture
                location = ""
                if not secure and fx.http.get("redirect"):
                    status, body = 301, b""
                    location = f"https://{simulator.host}:{simulator.https_port}/"
                elif self.path != "/":
                    status, body = 404, fx.error_page.encode()
                else:
                    notice = f"<p class=\"notice\">{fx.login['notice']}</p>" if fx.login.get("notice") else ""
                    field = "password" if fx.login.get("masked", True) else "text"
                    status = 200
                    body = LOGIN_PAGE.format(title=fx.title, notice=notice, field=field, extra=fx.page_extra).encode()
                self.send_response_only(status)
                self.send_header("Date", self.date_time_string(time.time() + fx.clock_offset_seconds))
                for name, value in fx.headers.items():
                    self.send_header(name, value)
                if fx.csp:
                    self.send_header("Content-Security-Policy", fx.csp)
                if location:
                    self.send_header("Location", location)
                if secure and fx.hsts:
                    self.send_header("Strict-Transport-Security", fx.hsts)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = do_TRACE = _answer

        server = _QuietServer((self.host, port), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.on_accept = lambda: self._connected("https" if secure else "http")
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        if secure:
            server.socket = self._context().wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        return server

    def _connected(self, scheme: str) -> None:
        with self._lock:
            self.connections[scheme] += 1

    def _record(self, scheme: str, method: str, path: str) -> None:
        with self._lock:
            self.requests.append({"time": time.time(), "scheme": scheme, "method": method, "path": path})


def make_site_ca() -> CertKey:
    """A site CA (the asset owner's root of trust) that issues the certificates of hardened web interfaces."""
    key = make_key(2048)
    return CertKey(make_certificate(key, "Demo plant CA", is_ca=True, valid_days=3650, dns_names=()), key)


def bind_or_ephemeral(host: str, port: int) -> int:
    """``port`` when it can be bound on ``host`` (root, free), else 0 (an ephemeral port)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return 0
    return port
