"""The PLC simulator speaks standard Modbus/TCP: checked with pymodbus' client as the reference."""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest
from modbus_plc import credential_fields, fresh_address, needs_low_ports
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import DeviceInformation

from simulators.modbus.server import PlcSimulator, load_fixture


async def client_for(port: int, host: str = "127.0.0.1") -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient(host, port=port, timeout=2, retries=0)
    assert await client.connect()
    return client


async def test_pymodbus_reads_registers_and_identity() -> None:
    with PlcSimulator("hardened", "127.0.0.1", plain=True, tls=False) as sim:
        client = await client_for(sim.port)
        try:
            rr = await client.read_holding_registers(0, count=3, device_id=1)
            assert not rr.isError() and rr.registers == [1200, 1180, 35]
            info = await client.read_device_information(read_code=DeviceInformation.REGULAR, object_id=0, device_id=1)
            assert info.information[0] == b"ACME Automation" and info.information[2] == b"4.2.1"
            assert info.information[5] == b"PLC-9000-S2"
            coils = await client.read_coils(0, count=8, device_id=1)
            assert not coils.isError() and coils.bits[:8] == [False] * 8
            report = await client.report_device_id(device_id=1)
            assert not report.isError() and b"FW 4.2.1" in report.identifier
        finally:
            client.close()
    assert sim.function_codes() == [3, 43, 1, 17]


async def test_two_plcs_in_one_process_keep_their_own_identity() -> None:
    """pymodbus' server shares one identity per process (ModbusControlBlock); this simulator does not."""
    with PlcSimulator("hardened", "127.0.0.1", plain=True, tls=False) as a, \
            PlcSimulator("hardened", "127.0.0.1", plain=True, tls=False,
                         identity={0: "Other Vendor", 1: "X-1", 2: "0.9"}) as b:
        client_a, client_b = await client_for(a.port), await client_for(b.port)
        try:
            info_a = await client_a.read_device_information(device_id=1)
            info_b = await client_b.read_device_information(device_id=1)
        finally:
            client_a.close()
            client_b.close()
    assert info_a.information[0] == b"ACME Automation" and info_b.information[0] == b"Other Vendor"


async def test_the_simulator_has_no_write_path_and_records_every_function_code() -> None:
    with PlcSimulator("weak", "127.0.0.1") as sim:
        client = await client_for(sim.port)
        try:
            written = await client.write_register(0, 4321, device_id=1)
            assert written.isError() and written.exception_code == 1
            diag = await client.diag_restart_communication(False, device_id=1)
            assert diag.isError()
            rr = await client.read_holding_registers(0, count=1, device_id=1)
            assert rr.registers == [1200]  # unchanged
        finally:
            client.close()
    log = sim.modbus_requests()
    assert [r["function_code"] for r in log] == [6, 8, 3]
    assert log[1]["sub_function"] == 1 and log[0]["answer"] == "exception 1"


async def test_device_identification_pages_when_objects_overflow_a_frame() -> None:
    identity = {0: "V" * 100, 1: "P" * 100, 2: "1.0", 3: "U" * 100, 4: "N" * 100}
    with PlcSimulator("weak", "127.0.0.1", identity=identity, conformity=0x82) as sim:
        client = await client_for(sim.port)
        try:
            first = await client.read_device_information(read_code=DeviceInformation.REGULAR, object_id=0, device_id=1)
        finally:
            client.close()
    assert first.more_follows == 0xFF and first.next_object_id in (2, 3)


def test_fixtures_load() -> None:
    weak, hardened = load_fixture("weak"), load_fixture("hardened")
    assert weak.plain and not weak.tls and not weak.identity and {s["port"] for s in weak.services} == {21, 23, 80}
    assert hardened.tls and not hardened.plain and hardened.require_client_cert and hardened.services == []
    with pytest.raises(ValueError):
        load_fixture("weak", no_such_key=1)
    with pytest.raises(FileNotFoundError):
        load_fixture("nonexistent")


@needs_low_ports
async def test_well_known_ports_and_services() -> None:
    address = fresh_address()
    with PlcSimulator("weak", address, well_known_ports=True) as sim:
        assert sim.port == 502 and sim.service_ports == {23: "telnet", 21: "ftp", 80: "http"} and not sim.warnings
        reader, writer = await asyncio.open_connection(address, 21)
        banner = await asyncio.wait_for(reader.readline(), 2)
        writer.close()
        assert banner.startswith(b"220 ")
        # a second PLC on the same address cannot take the ports: it falls back and says so
        with PlcSimulator("weak", address, well_known_ports=True) as other:
            assert other.port != 502 and other.service_ports == {} and len(other.warnings) == 4
    with socket.socket() as probe:  # stop() frees the ports
        assert probe.connect_ex((address, 502)) != 0


@needs_low_ports
async def test_hardened_requires_a_client_certificate() -> None:
    address = fresh_address()
    files = credential_fields()
    with PlcSimulator("hardened", address, well_known_ports=True) as sim:
        assert sim.port == 802 and sim.plain_port is None
        anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        anonymous.check_hostname, anonymous.verify_mode = False, ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(address, 802, ssl=anonymous)
        writer.write(bytes.fromhex("0001000000060103 00000001".replace(" ", "")))
        try:  # TLS 1.3: refused after the handshake, seen as EOF or as a reset depending on timing
            assert await asyncio.wait_for(reader.read(100), 2) == b""
        except (ConnectionResetError, ssl.SSLError):
            pass
        writer.close()
        trusted = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        trusted.check_hostname = False
        trusted.load_verify_locations(files["ca_file"])
        trusted.load_cert_chain(files["client_cert_file"], files["client_key_file"])
        reader, writer = await asyncio.open_connection(address, 802, ssl=trusted)
        writer.write(bytes.fromhex("000100000006010300000001"))
        answer = await asyncio.wait_for(reader.readexactly(11), 2)
        writer.close()
        assert answer[7:] == bytes([3, 2, 0x04, 0xB0])
    assert [r["kind"] for r in sim.requests if r["kind"] != "connect"] == ["tls_refused", "modbus"]
