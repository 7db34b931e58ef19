"""The web-interface connector against the simulator on loopback: one handshake per TLS version, GET / over
HTTPS and HTTP, one GET of a random absent path and one handshake verified against the site CA, nothing else
(the simulator's log: GET only), the checks flipping between the weak and hardened fixtures, bounded answers,
and an endpoint with no open port being unusable."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from typing import Any

import pytest

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from checks.web.facts import HTTP_GET, HTTPS_GET, NOT_FOUND, SITE_CA, TLS_VERSIONS
from connectors.base import ConnectorError, ScanOptions
from connectors.https import limits
from connectors.https.connector import SESSION_LOG, HttpsConnector
from simulators.web.server import WebSimulator
from tests.support.checks import check_verdicts

READS = [TLS_VERSIONS, HTTPS_GET, NOT_FOUND, SITE_CA, HTTP_GET, SESSION_LOG]


@pytest.fixture(scope="module")
def panels():
    weak = WebSimulator("weak", "127.0.61.71").start()
    hardened = WebSimulator("hardened", "127.0.61.72").start()
    yield {"weak": weak, "hardened": hardened}
    weak.stop()
    hardened.stop()


def collect(address: str, port: int, http_port: int, requests=READS, ca_file: str | None = None) -> dict[str, EvidenceItem]:
    endpoint = {"protocol": "https", "port": port, "http_port": http_port, "timeout": 2.0, "requests_per_second": 20.0}
    asset = Asset.model_validate({"id": "panel", "type": "embedded", "address": address,
                                  "endpoints": [{**endpoint, **({"ca_file": ca_file} if ca_file else {})}]})
    items = asyncio.run(HttpsConnector(asset, asset.endpoints[0], ScanOptions()).collect(requests))
    return {item.request.key: item for item in items}


def test_weak_and_hardened_panels(panels, tmp_path) -> None:
    specs = [s for s in REGISTRY.load().checks.values() if s.id.startswith("web.")]
    for name, sim in panels.items():
        before, connections = len(sim.requests), dict(sim.connections)
        ca_file = tmp_path / f"{name}-site-ca.pem"
        ca_file.write_bytes(sim.site_ca_pem)  # the weak panel's certificate is self-signed, not from this CA
        items = collect(sim.host, sim.https_port, sim.http_port, ca_file=str(ca_file))
        sent = sim.sent(before)
        # GET only: the front page over HTTPS and HTTP and one random absent path; no login, form or other method
        assert {r["method"] for r in sim.requests[before:]} == {"GET"}
        assert sent[0] == "https GET /" and sent[2] == "http GET /" and len(sent) == 3
        assert re.fullmatch(r"https GET /iacs-audit-[0-9a-f]{32}", sent[1])
        # four version probes, the verifying handshake, two HTTPS GETs, one HTTP GET: one connection each
        assert {k: sim.connections[k] - connections[k] for k in connections} == {"https": 4 + 1 + 2, "http": 1}
        accepted = [p["version"] for p in items[TLS_VERSIONS.key].data()["probes"] if p["accepted"]]
        assert accepted == (["TLSv1", "TLSv1.1", "TLSv1.2"] if name == "weak" else ["TLSv1.2", "TLSv1.3"])
        verdicts = {c: v.status for c, v in check_verdicts(list(items.values()), specs).items()}
        wanted = "fail" if name == "weak" else "pass"
        assert verdicts == {**dict.fromkeys(verdicts, wanted), "web.tls.https-offered": "pass"}, verdicts
    redirect = items[HTTP_GET.key].data()
    assert redirect["status"] == 301 and ["Location", f"https://127.0.61.72:{sim.https_port}/"] in redirect["headers"]


def test_no_open_port_is_an_unusable_endpoint() -> None:
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.61.73", 0))
        b.bind(("127.0.61.73", 0))
        ports = a.getsockname()[1], b.getsockname()[1]
    with pytest.raises(ConnectorError, match="took a connection") as unusable:
        collect("127.0.61.73", *ports)
    assert {i.request.key for i in unusable.value.partial_items} >= {TLS_VERSIONS.key, SESSION_LOG.key}


def test_a_huge_answer_is_cut_and_never_judged() -> None:
    """An HTTP port that sends a long header value and an endless body: kept within the limits, marked truncated."""
    server = socket.socket()
    server.bind(("127.0.61.74", 0))
    server.listen(4)

    def serve() -> None:
        for _ in range(1):
            conn, _ = server.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nServer: " + b"x" * 10_000 + b"\r\n\r\n" + b"A" * (limits.MAX_BODY_BYTES * 2))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        with socket.socket() as closed:
            closed.bind(("127.0.61.74", 0))
            tls_port = closed.getsockname()[1]
        items = collect("127.0.61.74", tls_port, server.getsockname()[1], [HTTP_GET, SESSION_LOG])
        item = items[HTTP_GET.key]
        assert item.meta["truncated"] and item.meta["kept_header_chars"] == limits.MAX_HEADER_CHARS
        assert len(item.data()["body"]) == limits.MAX_BODY_BYTES
        verdict = check_verdicts([item], [REGISTRY.load().check("web.http.redirect")])["web.http.redirect"]
        assert verdict.status == "error" and "truncated" in verdict.reason
    finally:
        server.close()


def test_without_a_site_ca_nothing_is_sent_for_it_and_the_row_is_a_question(panels, tmp_path) -> None:
    sim = panels["hardened"]
    trust = REGISTRY.load().check("web.tls.site-trust")
    before = dict(sim.connections)
    items = collect(sim.host, sim.https_port, sim.http_port, [TLS_VERSIONS, SITE_CA, SESSION_LOG])
    assert sim.connections["https"] - before["https"] == 4  # the version probes only
    verdict = check_verdicts(list(items.values()), [trust])["web.tls.site-trust"]
    assert verdict.status == "manual" and "ca_file" in verdict.reason
    before = dict(sim.connections)
    items = collect(sim.host, sim.https_port, sim.http_port, [TLS_VERSIONS, SITE_CA, SESSION_LOG],
                    ca_file=str(tmp_path / "missing.pem"))
    assert sim.connections["https"] - before["https"] == 4  # an unreadable CA file: no handshake for it
    verdict = check_verdicts(list(items.values()), [trust])["web.tls.site-trust"]
    assert verdict.status == "error" and "cannot be loaded" in verdict.reason
