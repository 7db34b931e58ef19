"""The Modbus connector against the PLC simulator: reads, the allow-list, pacing, TLS and faults."""

from __future__ import annotations

import base64
import json
import struct
import time

import pytest
from modbus_plc import credential_fields, fresh_address, needs_low_ports

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY, request
from connectors.base import ConnectorError, ScanOptions
from connectors.modbus import safety
from connectors.modbus.connector import ModbusConnector
from connectors.modbus.safety import ForbiddenRequest
from connectors.modbus.transport import ModbusSession, RateLimiter
from simulators.modbus.server import PlcSimulator
from tests.support.checks import check_verdict

SESSION = request("modbus", "session", "info")
FC3 = request("modbus", "read_holding_registers", "0", count=3)


def asset_for(sim: PlcSimulator, address: str = "127.0.0.1", **endpoint: object) -> Asset:
    return Asset(id="plc", type="embedded", address=address,
                 endpoints=[{"protocol": "modbus", "port": sim.port, "timeout": 2, **endpoint}])


async def collect(asset: Asset, requests: list) -> list[EvidenceItem]:
    return await ModbusConnector(asset, asset.endpoints[0], ScanOptions()).collect(requests)


def by_key(items: list[EvidenceItem]) -> dict[str, EvidenceItem]:
    return {i.request.key: i for i in items}


def frames(item: EvidenceItem) -> list[tuple[bytes, bytes | None]]:
    record = json.loads(item.response)
    return [(base64.b64decode(e["request"]), base64.b64decode(e["response"]) if e["response"] else None)
            for e in record["exchanges"]]


@pytest.fixture(scope="module")
def weak():
    with PlcSimulator("weak", "127.0.0.1") as sim:  # ephemeral plain port, no services
        yield sim


# ----------------------------------------------------------------------------- reads
async def test_reads_are_recorded_frame_by_frame(weak: PlcSimulator) -> None:
    before = len(weak.modbus_requests())
    reads = [FC3, request("modbus", "read_input_registers", "2", count=2),
             request("modbus", "read_coils", "0", count=8), request("modbus", "read_discrete_inputs", "0", count=4),
             request("modbus", "read_device_identification", "basic"), request("modbus", "report_server_id", ""),
             SESSION]
    items = by_key(await collect(asset_for(weak, unit_id=7, requests_per_second=50), reads))
    assert all(item.status == "ok" for item in items.values()), [i.error for i in items.values()]
    seen = weak.modbus_requests()[before:]
    assert [r["function_code"] for r in seen] == [3, 4, 1, 2, 43, 17]  # plainest reads first, FC 17 last
    assert {r["unit_id"] for r in seen} == {7}  # the unit id comes from the inventory
    request_frame, response_frame = frames(items[FC3.key])[0]
    assert request_frame == struct.pack(">HHHBBHH", 1, 0, 6, 7, 3, 0, 3)
    assert response_frame == struct.pack(">HHHBBB3H", 1, 0, 9, 7, 3, 6, 1200, 1180, 35)
    assert seen[0]["pdu"] == request_frame[7:].hex()
    info = json.loads(items[SESSION.key].response)
    assert info["transport"] == "tcp" and info["connected"] and info["unit_id"] == 7
    assert [s["function_code"] for s in info["sent"]] == [3, 4, 1, 2, 43, 17]


async def test_one_connection_per_device(weak: PlcSimulator) -> None:
    before = len(weak.requests)
    await collect(asset_for(weak, requests_per_second=50),
                  [FC3, request("modbus", "read_device_identification", "regular"), SESSION])
    connects = [r for r in weak.requests[before:] if r["kind"] == "connect"]
    assert len(connects) == 1


async def test_requests_are_paced(weak: PlcSimulator) -> None:
    before = len(weak.modbus_requests())
    reads = [request("modbus", "read_holding_registers", str(a)) for a in range(4)]
    started = time.monotonic()
    await collect(asset_for(weak, requests_per_second=5), reads)
    elapsed = time.monotonic() - started
    times = [r["time"] for r in weak.modbus_requests()[before:]]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 4 and min(gaps) >= 0.18, gaps  # 5 requests/s (the connect counts as the first action)
    assert 0.75 <= elapsed < 2.0


# ----------------------------------------------------------------------------- the allow-list, tried
WRITE_OPS = [request("modbus", "write_register", "0", value=1), request("modbus", "write_coil", "0", value=1),
             request("modbus", "write_registers", "0", values="1,2"), request("modbus", "diagnostics", "restart"),
             request("modbus", "mask_write_register", "0"), request("modbus", "raw", "0600000001")]


async def test_write_requests_are_refused_and_never_reach_the_plc(weak: PlcSimulator) -> None:
    before = len(weak.requests)
    items = await collect(asset_for(weak), WRITE_OPS)
    assert [i.status for i in items] == ["error"] * len(WRITE_OPS)
    assert all("read-only allow-list" in i.error and "nothing was sent" in i.error for i in items)
    assert weak.requests[before:] == []  # not even a connection


@pytest.mark.parametrize("pdu", [struct.pack(">BHH", 6, 0, 1), struct.pack(">BHH", 5, 0, 0xFF00),
                                 struct.pack(">BHHBH", 16, 0, 1, 2, 7), struct.pack(">BHH", 8, 1, 0),
                                 struct.pack(">BHH", 8, 4, 0), struct.pack(">BHHH", 22, 0, 0, 0),
                                 struct.pack(">BHHHHBH", 23, 0, 1, 0, 1, 2, 7), bytes([43, 13, 0, 0])])
async def test_session_cannot_send_forbidden_codes(weak: PlcSimulator, pdu: bytes) -> None:
    """Even code holding the open socket cannot send a write: the frame gate refuses it."""
    before = len(weak.requests)
    session = ModbusSession("127.0.0.1", weak.port, 1, 2.0, RateLimiter(50))
    await session.open()
    try:
        with pytest.raises(ForbiddenRequest):
            await session.exchange(pdu)
        frame = struct.pack(">HHHB", 99, 0, len(pdu) + 1, 1) + pdu
        with pytest.raises(ForbiddenRequest):
            session._send(frame)
        assert session.sent == []
        ok = await session.exchange(safety.read_registers(3, 0, 1))  # the session still works for reads
        assert ok.response is not None
    finally:
        await session.close()
    received = [r for r in weak.requests[before:] if r["kind"] == "modbus"]
    assert [r["function_code"] for r in received] == [3]


# ----------------------------------------------------------------------------- faults
def full_requests() -> list:
    """Every Modbus read and probe the embedded profile's checks ask for."""
    from auditor.assessment.profiles import load_profile

    REGISTRY.load()
    return REGISTRY.requests_for(load_profile("embedded-sl2").selected_checks(REGISTRY))["modbus"]


def verdict(items: list[EvidenceItem], check_id: str):
    REGISTRY.load()
    for index, item in enumerate(items, start=1):
        item.id = f"plc#{index}"
    return check_verdict(items, check_id)


FAULT_READS = [request("modbus", "read_holding_registers", "0", count=1),
               request("modbus", "read_device_identification", "basic"),
               request("modbus", "read_device_identification", "regular"), request("modbus", "report_server_id", ""),
               SESSION]


@pytest.mark.parametrize("fault,needle", [("reset", "connection"), ("truncate", "truncated"),
                                          ("silent", "no response within 1 s"), ("garbage", "not a Modbus/TCP response"),
                                          ("exception", "exception 4")])
async def test_faults_give_error_verdicts_and_never_hang(fault: str, needle: str) -> None:
    """A port that accepts and then resets, truncates, stays silent or answers garbage to the first request is
    an unusable endpoint (as an SSH or OPC UA peer failing its handshake); the items read are kept."""
    with PlcSimulator("weak", "127.0.0.1", fault=fault) as sim:
        asset = Asset(id="plc", type="embedded", address="127.0.0.1",
                      endpoints=[{"protocol": "modbus", "port": sim.port, "timeout": 1, "requests_per_second": 50}])
        started = time.monotonic()
        if fault == "exception":
            items = await collect(asset, FAULT_READS)
        else:
            with pytest.raises(ConnectorError, match="accepted the connection but gave no Modbus/TCP answer") as caught:
                await collect(asset, FAULT_READS)
            items = caught.value.partial_items
            assert needle in str(caught.value)
        elapsed = time.monotonic() - started
        received = sim.modbus_requests()
    assert elapsed < 2.5, elapsed  # one timeout at most, then the session is closed for good
    keyed = by_key(items)
    read = keyed[FAULT_READS[0].key]
    if fault == "exception":
        assert read.status == "ok" and len(received) == 4  # exception replies are answers, not faults
    else:
        assert read.status == "error" and needle in read.error, read.error
        assert len(received) == 1, "after a fault nothing more is sent (no retry, no reconnect)"
        later = keyed[FAULT_READS[1].key]
        assert later.status == "error" and later.error.startswith("not sent:") and "never retries" in later.error
    result = verdict(items, "modbus.access.unauthenticated-read")
    assert result.status == "error" and needle in result.reason, result
    ident = verdict(items, "modbus.identity.device-identification")
    assert ident.status == "error" and ident.reason


async def test_a_plc_that_slows_down_is_left_alone() -> None:
    """Response-time interlock: an answer 10x slower than the first (and > 0.5 s) stops the reads."""
    with PlcSimulator("weak", "127.0.0.1", response_delays=[0.0, 0.6, 0.0]) as sim:
        items = by_key(await collect(asset_for(sim, requests_per_second=50), FAULT_READS))
        received = sim.function_codes()
    assert received == [3, 43]
    assert items[FAULT_READS[1].key].status == "ok"
    later = items[FAULT_READS[2].key]
    assert later.status == "error" and "safety interlock" in later.error
    assert "safety interlock" in json.loads(items[SESSION.key].response)["interlock"]


async def test_refused_endpoint_is_a_connector_error() -> None:
    with PlcSimulator("weak", "127.0.0.1") as sim:
        port = sim.port
    asset = Asset(id="plc", type="embedded", address="127.0.0.1",
                  endpoints=[{"protocol": "modbus", "port": port, "timeout": 1}])
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="refused"):
        await collect(asset, FAULT_READS)
    assert time.monotonic() - started < 1.0


async def test_unit_id_the_plc_does_not_serve() -> None:
    with PlcSimulator("weak", "127.0.0.1", unit_ids=[1]) as sim:
        items = await collect(asset_for(sim, unit_id=5), FAULT_READS)
    result = verdict(items, "modbus.access.unauthenticated-read")
    assert result.status == "error" and "exception 11" in result.reason


# ----------------------------------------------------------------------------- TLS (Modbus/TCP Security)
@pytest.fixture(scope="module")
def hardened_address() -> str:
    return fresh_address()


@needs_low_ports
async def test_tls_session_with_client_certificate(hardened_address: str) -> None:
    with PlcSimulator("hardened", hardened_address, well_known_ports=True) as sim:
        assert sim.port == 802
        items = by_key(await collect(asset_for(sim, hardened_address, **credential_fields()), FAULT_READS
                                     + [request("modbus", "tls_probe", "802")]))
        seen = sim.requests
    assert all(i.status == "ok" for i in items.values()), [i.error for i in items.values()]
    info = json.loads(items[SESSION.key].response)
    assert info["transport"] == "tls" and info["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert info["tls"]["verified"] is True and info["tls"]["client_certificate"]["role"] == "Auditor"
    assert "client.key" not in items[SESSION.key].response.replace("client_certificate", "")  # no key material
    probe = json.loads(items["modbus:tls_probe:802"].response)
    assert probe["tls"]["certificate_request"] is True and probe["tls"]["anonymous_session"] == "refused"
    modbus = [r for r in seen if r["kind"] == "modbus"]
    assert {r["client_role"] for r in modbus} == {"Auditor"} and {r["listener"] for r in modbus} == {"tls"}
    assert any(r["kind"] == "tls_refused" for r in seen)  # the anonymous probe, refused by the PLC


@needs_low_ports
async def test_tls_session_without_client_certificate(hardened_address: str) -> None:
    with PlcSimulator("hardened", hardened_address, well_known_ports=True) as sim:
        started = time.monotonic()
        items = by_key(await collect(asset_for(sim, hardened_address, requests_per_second=50), full_requests()))
        elapsed = time.monotonic() - started
        assert sim.modbus_requests() == []
    assert elapsed < 4
    read = items[FAULT_READS[0].key]
    assert read.status == "error" and "client_cert_file and client_key_file" in read.error
    assert verdict(list(items.values()), "modbus.access.unauthenticated-read").status == "pass"
    ident = verdict(list(items.values()), "modbus.identity.device-identification")
    assert ident.status == "error" and "client_cert_file and client_key_file" in ident.reason


async def test_tls_field_on_a_non_standard_port() -> None:
    """``tls: true`` speaks Modbus/TCP Security on any port; credentials come from the endpoint."""
    with PlcSimulator("hardened", "127.0.0.1") as sim:  # ephemeral TLS port, not 802
        assert sim.port != 802
        items = by_key(await collect(asset_for(sim, tls=True, **credential_fields()), FAULT_READS))
        roles = {r["client_role"] for r in sim.modbus_requests()}
    assert all(i.status == "ok" for i in items.values()), [i.error for i in items.values()]
    info = json.loads(items[SESSION.key].response)
    assert info["transport"] == "tls" and info["tls"]["verified"] is True and roles == {"Auditor"}
    assert "client.key" not in items[SESSION.key].response  # the session info describes, never points at, the key


async def test_tls_false_means_plain_modbus_tcp(weak: PlcSimulator) -> None:
    items = by_key(await collect(asset_for(weak, tls=False, **credential_fields()), [FC3, SESSION]))
    info = json.loads(items[SESSION.key].response)
    assert items[FC3.key].status == "ok" and info["transport"] == "tcp" and info["tls"] is None


async def test_encrypted_key_with_passphrase_by_reference(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization

    from simulators.modbus.pki import demo_pki

    key = tmp_path / "auditor.key"
    key.write_bytes(demo_pki().client.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.BestAvailableEncryption(b"plc-s3cret")))
    fields = {**credential_fields(), "client_key_file": str(key), "client_key_passphrase_env": "IACS_TEST_PLC_KEY_PW"}
    monkeypatch.setenv("IACS_TEST_PLC_KEY_PW", "plc-s3cret")
    with PlcSimulator("hardened", "127.0.0.1") as sim:
        items = by_key(await collect(asset_for(sim, tls=True, **fields), FAULT_READS))
        assert {r["client_role"] for r in sim.modbus_requests()} == {"Auditor"}
        assert all(i.status == "ok" for i in items.values()), [i.error for i in items.values()]
        assert not any("plc-s3cret" in (i.response or "") + (i.error or "") for i in items.values())
        monkeypatch.delenv("IACS_TEST_PLC_KEY_PW")
        before = len(sim.requests)
        unset = by_key(await collect(asset_for(sim, tls=True, **fields), FAULT_READS))
        no_passphrase = by_key(await collect(asset_for(sim, tls=True, **{**fields, "client_key_passphrase_env": None}),
                                             FAULT_READS))
        assert sim.requests[before:] == []  # nothing sent with an unusable credential
    unset_reason, no_passphrase_reason = unset[FC3_ONE.key].error, no_passphrase[FC3_ONE.key].error
    assert "client_key_passphrase_env" in unset_reason and "IACS_TEST_PLC_KEY_PW" in unset_reason
    assert "encrypted" in no_passphrase_reason and "client_key_passphrase_env" in no_passphrase_reason


FC3_ONE = FAULT_READS[0]


@pytest.mark.parametrize("fields,needle", [
    ({"client_cert_file": "/nonexistent.crt", "client_key_file": "/nonexistent.key"}, "client_cert_file"),
    ({"client_cert_file": "/nonexistent.crt"}, "set both client_cert_file and client_key_file"),
    ({"ca_file": "~/nonexistent-ca.pem"}, "ca_file"),
])
async def test_bad_credentials_are_reported_not_sent(fields: dict, needle: str) -> None:
    with PlcSimulator("hardened", "127.0.0.1") as sim:
        items = by_key(await collect(asset_for(sim, tls=True, **fields), full_requests()))
        assert sim.requests == []
    read = items[FC3_ONE.key]
    assert read.status == "error" and read.error.startswith("not sent: ") and needle in read.error
    for check_id in ("modbus.access.unauthenticated-read", "modbus.identity.device-identification"):
        result = verdict(list(items.values()), check_id)
        assert result.status not in ("pass", "fail"), (check_id, result)
