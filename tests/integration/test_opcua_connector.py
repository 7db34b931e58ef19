"""The OPC UA connector against the asyncua simulator: discovery, the anonymous probe and its variable sample,
the user's own session (password, X.509 user token), refusals (a password is never sent unprotected, an
untrusted client certificate), faults (dropped connections, slow and silent servers, refused ports), and
the simulators' service logs proving that nothing but reads was sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
import threading
import time
from typing import Any, Iterator

import pytest
from opcua_support import HARDENED, WEAK, forbidden_services, shared_plant

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from checks.opcua.facts import ANONYMOUS_SESSION, CLIENT_LOG, ENDPOINTS, FIND_SERVERS, SERVER_READ, VARIABLES
from connectors.base import ConnectorError, ScanOptions
from connectors.opcua.connector import OpcuaConnector

ALL = [ENDPOINTS, FIND_SERVERS, ANONYMOUS_SESSION, SERVER_READ, VARIABLES, CLIENT_LOG]


@pytest.fixture(scope="module")
def plant():
    return shared_plant()


def endpoint_of(plant, host: str, **changes: Any) -> dict[str, Any]:
    endpoint = {**plant.endpoints[host], "timeout": 3.0}
    endpoint.update(changes)
    return {k: v for k, v in endpoint.items() if v is not None}


def connector(plant, host: str, address: str | None = None, **changes: Any) -> OpcuaConnector:
    spec = next(h for h in plant.hosts if h.id == host)
    asset = Asset.model_validate({"id": host, "type": "application", "address": address or spec.address,
                                  "endpoints": [endpoint_of(plant, host, **changes)]})
    return OpcuaConnector(asset, asset.endpoints[0], ScanOptions())


def collect(conn: OpcuaConnector, requests=ALL) -> dict[str, EvidenceItem]:
    return {item.request.key: item for item in asyncio.run(conn.collect(requests))}


def data(items: dict[str, EvidenceItem], req) -> Any:
    item = items[req.key]
    assert item.status == "ok", item.error
    return item.data()


@contextlib.contextmanager
def faults(sim, **settings: Any) -> Iterator[None]:
    sim.faults = settings
    try:
        yield
    finally:
        sim.faults = {}


def test_weak_server_discovery_anonymous_probe_and_sample(plant) -> None:
    sim = plant.simulators[WEAK]
    before = len(sim.requests)
    items = collect(connector(plant, WEAK))
    endpoints = data(items, ENDPOINTS)
    assert [(e["security_policy"], e["security_mode"]) for e in endpoints] == [
        ("None", "None"), ("Basic128Rsa15", "SignAndEncrypt"), ("Basic256", "Sign")]
    assert all(e["server_certificate"] for e in endpoints)  # DER, base64
    assert {s["application_uri"] for s in data(items, FIND_SERVERS)} >= {"urn:plant:historian"}
    probe = data(items, ANONYMOUS_SESSION)
    assert probe["accepted"] is True and probe["endpoint"] == {"security_policy": "None", "security_mode": "None"}
    sample = data(items, VARIABLES)
    writable = {v["browse_name"] for v in sample["variables"] if v["user_access_level"] & 2}
    assert writable == {"2:Speed", "2:Running", "2:HighAlarm"}
    assert sample["nodes_visited"] <= 200 and sample["depth"] == 3
    read = data(items, SERVER_READ)
    assert read["identity"] == "anonymous" and read["values"]["i=2994"]["value"] is False
    log = data(items, CLIENT_LOG)
    assert [c["purpose"] for c in log["connections"]] == ["discovery", "anonymous"]
    assert any("does not send it" in note for note in log["notes"])  # the password stayed home
    services = sim.services(before)
    assert services == ["GetEndpoints", "FindServers", "CreateSession", "ActivateSession", "Browse", "Browse",
                        "Browse", "Read", "Read", "CloseSession"]
    activations = [r for r in sim.requests[before:] if r.get("service") == "ActivateSession"]
    assert [a["identity"] for a in activations] == ["AnonymousIdentityToken"]  # never a UserName token to this server


def test_hardened_server_session_with_the_users_password(plant) -> None:
    sim = plant.simulators[HARDENED]
    before = len(sim.requests)
    items = collect(connector(plant, HARDENED))
    assert data(items, ANONYMOUS_SESSION)["attempted"] is False
    assert "no endpoint offers the Anonymous" in data(items, VARIABLES)["skipped"]
    read = data(items, SERVER_READ)
    assert read["identity"] == "username"
    assert read["endpoint"] == {"security_policy": "Aes256_Sha256_RsaPss", "security_mode": "SignAndEncrypt"}
    assert read["values"]["i=2994"]["value"] is True and read["values"]["i=2264"]["value"] == "3.2.1"
    [activation] = [r for r in sim.requests[before:] if r.get("service") == "ActivateSession"]
    assert activation["channel"] == {"policy": "Aes256_Sha256_RsaPss", "mode": "SignAndEncrypt"}
    assert activation["username"] == "auditor"
    log = data(items, CLIENT_LOG)
    assert log["client_certificate"]["source"] == "inventory"
    password = (plant.workdir / f"opcua-{HARDENED}.password").read_text().strip()
    assert all(password not in item.model_dump_json() for item in items.values())
    assert stat.S_IMODE(os.stat(plant.workdir / f"opcua-{HARDENED}.password").st_mode) == 0o600


def test_hardened_server_session_with_an_x509_user_token(plant) -> None:
    sim = plant.simulators[HARDENED]
    before = len(sim.requests)
    items = collect(connector(plant, HARDENED, username=None, password_file=None))
    assert data(items, SERVER_READ)["identity"] == "certificate"
    [activation] = [r for r in sim.requests[before:] if r.get("service") == "ActivateSession"]
    assert activation["identity"] == "X509IdentityToken"


def test_wrong_password_is_an_error_not_a_skip(plant, monkeypatch) -> None:
    monkeypatch.setenv("OPCUA_WRONG_PW", "not-the-password")
    items = collect(connector(plant, HARDENED, password_file=None, password_env="OPCUA_WRONG_PW"))
    item = items[SERVER_READ.key]
    assert item.status == "error" and "BadUserAccessDenied" in item.error
    assert "not-the-password" not in json.dumps([i.model_dump(mode="json") for i in items.values()])


def test_untrusted_client_certificate_is_rejected_and_the_generated_one_is_kept(plant, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    items = collect(connector(plant, HARDENED, client_cert_file=None, client_key_file=None))
    item = items[SERVER_READ.key]
    assert item.status == "error" and "BadCertificateUntrusted" in item.error
    kept = tmp_path / "iacs-auditor"
    assert (kept / "opcua-client.der").is_file()
    assert stat.S_IMODE(os.stat(kept / "opcua-client.pem").st_mode) == 0o600
    first = data(items, CLIENT_LOG)["client_certificate"]
    assert first["source"] == "generated"
    again = data(collect(connector(plant, HARDENED, client_cert_file=None, client_key_file=None)), CLIENT_LOG)
    assert again["client_certificate"]["source"] == "kept" and again["client_certificate"]["sha256"] == first["sha256"]


def test_anonymous_session_only_when_the_inventory_allows_it(plant) -> None:
    sim = plant.simulators[WEAK]
    before = len(sim.requests)
    items = collect(connector(plant, WEAK, anonymous_session=False))
    assert sim.services(before) == ["GetEndpoints", "FindServers"]  # no session at all
    assert data(items, ANONYMOUS_SESSION)["attempted"] is False
    assert "does not allow an anonymous session" in data(items, SERVER_READ)["skipped"]
    assert "does not allow" in data(items, VARIABLES)["skipped"]


def test_discovery_only_scan_opens_no_session(plant) -> None:
    sim = plant.simulators[HARDENED]
    before = len(sim.requests)
    items = collect(connector(plant, HARDENED), [ENDPOINTS])
    assert set(items) == {ENDPOINTS.key, CLIENT_LOG.key}  # plus the connection-level log item
    assert sim.services(before) == ["GetEndpoints"]
    deadline = time.monotonic() + 3  # CloseSecureChannel has no response: the server may record it a bit later
    while time.monotonic() < deadline and sim.requests[-1]["kind"] != "close_channel":
        time.sleep(0.02)
    kinds = [r["kind"] for r in sim.requests[before:]]
    assert kinds == ["connect", "hello", "open_channel", "service", "close_channel"]


def test_dropped_session_is_an_item_error_and_discovery_is_kept(plant) -> None:
    sim = plant.simulators[WEAK]
    with faults(sim, drop_on="CreateSession"):
        items = collect(connector(plant, WEAK))
    assert items[ENDPOINTS.key].status == "ok"
    assert items[SERVER_READ.key].status == "error" and "closed the connection" in items[SERVER_READ.key].error
    probe = data(items, ANONYMOUS_SESSION)
    assert probe["attempted"] and probe["accepted"] is None
    log = data(items, CLIENT_LOG)
    assert log["connections"][1]["error"]


def test_connection_dropped_at_hello_makes_the_endpoint_unusable(plant) -> None:
    with faults(plant.simulators[WEAK], drop_on="Hello"):
        with pytest.raises(ConnectorError, match="closed the connection during Hello") as caught:
            collect(connector(plant, WEAK))
    partial = caught.value.partial_items  # type: ignore[attr-defined]
    assert [i.request.key for i in partial] == [CLIENT_LOG.key]


def test_slow_server_is_bounded(plant) -> None:
    with faults(plant.simulators[HARDENED], delay=5.0):
        started = time.monotonic()
        with pytest.raises(ConnectorError, match="no answer .* to Hello within 1 s"):
            collect(connector(plant, HARDENED, timeout=1.0))
        assert time.monotonic() - started < 4  # not the 5 s the server would have taken


def test_slow_answers_within_the_timeout_still_work(plant) -> None:
    with faults(plant.simulators[HARDENED], delay=0.05):
        items = collect(connector(plant, HARDENED, timeout=3.0), [ENDPOINTS, SERVER_READ])
    assert items[SERVER_READ.key].status == "ok"


def test_refused_and_silent_ports(plant) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="connection refused"):
        collect(connector(plant, WEAK, address="127.0.0.1", port=free))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        with pytest.raises(ConnectorError, match="no answer .* to Hello within 1 s"):
            collect(connector(plant, WEAK, address="127.0.0.1", port=listener.getsockname()[1], timeout=1.0))
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert time.monotonic() - started < 5


def test_no_write_and_no_call_ever_reached_the_servers(plant) -> None:
    """Runs last in this module: everything above went through the same two simulators."""
    assert forbidden_services(plant) == []
    for host in (WEAK, HARDENED):
        services = set(plant.simulators[host].services())
        assert services and not services & {"Write", "Call"}
