"""An asset that reaches ``--asset-timeout`` stops, whatever its device does (loopback 127.0.46.x).

Two ways a collection could outlive the asset timeout, each proven closed per connector:

* Python 3.11's ``asyncio.wait_for`` returns an answer that completed in the same loop iteration as the
  cancel and swallows the cancel. The tests make that race certain (the answer itself cancels the
  collecting task as it completes) and assert that nothing more is sent and the collection ends cancelled.
* A device that never finishes an answer (accept and silence, a frame dripped a byte at a time, an answer
  slower than the budget) while the endpoint timeout is longer than the asset timeout: the scan still ends
  at the asset timeout, keeping what was read. The S7 and web connectors read in a worker thread: once
  cancelled, that thread sends no further request.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

import pytest
from asyncua.client.ua_client import UaClient
from fault_servers import FaultServer, _Listener

from auditor.assessment.profiles import load_profile
from auditor.assessment.slvector import SLVector
from auditor.engine import EngineSettings, collect
from auditor.plant.inventory import Asset
from auditor.plant.planning import AssetPlan
from auditor.registry import REGISTRY
from checks.modbus.facts import DEVID_BASIC, DEVID_REGULAR, HOLDING_READ, SERVER_ID, SESSION
from checks.opcua.facts import CLIENT_LOG, ENDPOINTS, VARIABLES
from checks.s7.facts import COMPONENT_ID, MODE, MODULE_ID, PROTECTION, SESSION_LOG
from checks.web.facts import HTTP_GET, HTTPS_GET, TLS_VERSIONS
from connectors.base import ScanOptions
from connectors.modbus.connector import ModbusConnector
from connectors.modbus.transport import ModbusSession
from connectors.opcua.connector import OpcuaConnector
from connectors.https.connector import HttpsConnector
from connectors.s7.connector import S7Connector
from simulators.modbus.server import PlcSimulator
from simulators.opcua.server import OpcuaSimulator
from simulators.s7.server import S7Simulator

ASSET_TIMEOUT = 2.0
SLACK = 1.5  # start-up, the engine's bookkeeping, a loaded CI machine


class DrippingModbus(_Listener):
    """Answers every Modbus request with a valid MBAP header announcing 253 bytes, then one byte per 0.1 s:
    every read is "on time", the frame never ends within the asset timeout."""

    def serve(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            request = self.recv(conn)
            if request == b"":
                return
            if not request:
                continue
            self.send(conn, struct.pack(">HHHB", struct.unpack(">H", request[:2])[0], 0, 254, request[6]))
            while not self._stop.is_set():
                self.send(conn, b"\x03")
                time.sleep(0.1)


def _plan(asset: Asset, profile: str) -> AssetPlan:
    return AssetPlan(asset=asset, profile=load_profile(profile), sl_target=SLVector.uniform(2))


async def _scan(asset: Asset, profile: str) -> tuple[Any, float]:
    REGISTRY.load()  # once per process, outside the measured time
    started = time.monotonic()
    [evidence], interrupted = await collect([_plan(asset, profile)], ScanOptions(),
                                            EngineSettings(asset_timeout=ASSET_TIMEOUT))
    assert not interrupted
    return evidence, time.monotonic() - started


async def _cancelled_when_an_answer_completes(collecting: Any, patch: Any) -> tuple[list[str], bool]:
    """Run ``collecting`` as a task whose first awaited answer cancels the task as it completes (the
    race Python 3.11's wait_for loses); the calls made after that and whether the task ended cancelled."""
    after: list[str] = []
    state: dict[str, Any] = {"fired": False}
    task = asyncio.create_task(collecting)

    def on_answer(name: str) -> None:
        if not state["fired"]:
            state["fired"] = True
            task.cancel()
        else:
            after.append(name)

    patch(on_answer)
    try:
        await asyncio.wait_for(asyncio.shield(task), 20)
    except asyncio.CancelledError:
        pass
    assert state["fired"], "the race was never set up"
    return after, task.cancelled()


# ---------------------------------------------------------------------------------------------- Modbus


async def test_modbus_reads_stop_when_the_cancel_arrives_as_an_answer_completes(monkeypatch) -> None:
    with PlcSimulator("weak", "127.0.46.11") as plc:
        asset = Asset(id="plc", type="embedded", address="127.0.46.11",
                      endpoints=[{"protocol": "modbus", "port": plc.port, "timeout": 2, "requests_per_second": 50}])
        original = ModbusSession._read_frame

        def patch(on_answer) -> None:
            async def read_frame(self: ModbusSession) -> bytes:
                frame = await original(self)
                on_answer("modbus frame")
                return frame
            monkeypatch.setattr(ModbusSession, "_read_frame", read_frame)

        before = len(plc.modbus_requests())
        connector = ModbusConnector(asset, asset.endpoints[0], ScanOptions())
        after, cancelled = await _cancelled_when_an_answer_completes(
            connector.collect([HOLDING_READ, DEVID_BASIC, DEVID_REGULAR, SERVER_ID, SESSION]), patch)
        assert cancelled and after == []
        assert len(plc.modbus_requests()) - before == 1  # the PLC saw the one request, nothing after the cancel


async def test_a_modbus_frame_dripped_a_byte_at_a_time_ends_at_the_asset_timeout() -> None:
    with DrippingModbus("127.0.46.12") as server:
        asset = Asset(id="plc", type="embedded", address="127.0.46.12",
                      endpoints=[{"protocol": "modbus", "port": server.port, "timeout": 30}])
        evidence, elapsed = await _scan(asset, "embedded-sl2")
    assert elapsed < ASSET_TIMEOUT + SLACK, elapsed
    assert evidence.error.startswith(f"timed out after {ASSET_TIMEOUT:g} s"), evidence.error


# ---------------------------------------------------------------------------------------------- OPC UA


async def test_an_opcua_browse_stops_when_the_cancel_arrives_as_an_answer_completes(monkeypatch) -> None:
    with OpcuaSimulator("weak", "127.0.46.21") as server:
        asset = Asset.model_validate({"id": "ua", "type": "application", "address": "127.0.46.21",
                                      "endpoints": [{"protocol": "opcua", "port": server.port, "timeout": 3,
                                                     "anonymous_session": True}]})
        browse, read = UaClient.browse, UaClient.read

        def patch(on_answer) -> None:
            async def browsed(self: UaClient, params: Any) -> Any:
                results = await browse(self, params)
                on_answer("Browse")
                return results

            async def read_values(self: UaClient, params: Any) -> Any:
                results = await read(self, params)
                on_answer("Read")
                return results
            monkeypatch.setattr(UaClient, "browse", browsed)
            monkeypatch.setattr(UaClient, "read", read_values)

        connector = OpcuaConnector(asset, asset.endpoints[0], ScanOptions())
        after, cancelled = await _cancelled_when_an_answer_completes(
            connector.collect([ENDPOINTS, VARIABLES, CLIENT_LOG]), patch)
    assert cancelled and after == []


async def test_a_silent_opcua_server_ends_at_the_asset_timeout() -> None:
    with FaultServer("silence", "127.0.46.22") as server:
        asset = Asset.model_validate({"id": "ua", "type": "application", "address": "127.0.46.22",
                                      "endpoints": [{"protocol": "opcua", "port": server.port, "timeout": 30}]})
        evidence, elapsed = await _scan(asset, "application-sl2")
    assert elapsed < ASSET_TIMEOUT + SLACK, elapsed
    assert evidence.error.startswith(f"timed out after {ASSET_TIMEOUT:g} s"), evidence.error


# -------------------------------------------------------------------------------------------------- S7


async def test_a_slow_s7_cpu_ends_at_the_asset_timeout_and_is_sent_nothing_more(monkeypatch) -> None:
    with S7Simulator("weak", "127.0.46.31") as cpu:
        answer = cpu.szl

        def slow(szl_id: int, index: int) -> bytes | None:
            time.sleep(0.8)  # each list answered on time (endpoint timeout 5 s), all of them beyond the budget
            return answer(szl_id, index)
        monkeypatch.setattr(cpu, "szl", slow)
        asset = Asset.model_validate({"id": "plc", "type": "embedded", "address": "127.0.46.31", "endpoints": [
            {"protocol": "s7", "port": cpu.port, "timeout": 5.0, "requests_per_second": 20.0}]})
        connector = S7Connector(asset, asset.endpoints[0], ScanOptions())
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(connector.collect([MODULE_ID, COMPONENT_ID, PROTECTION, MODE, SESSION_LOG] * 3),
                                   1.0)
        assert time.monotonic() - started < 1.0 + SLACK
        sent_at_cancel = len(cpu.pdus())
        time.sleep(2.0)  # the read in flight ends (0.8 s); no further one may start
        assert len(cpu.pdus()) <= sent_at_cancel + 1, cpu.pdus()
        assert any("cancelled" in entry.get("result", "") for entry in connector._sent)


# ------------------------------------------------------------------------------------------------- web


async def test_a_silent_web_interface_ends_at_the_asset_timeout_and_is_sent_nothing_more() -> None:
    with FaultServer("silence", "127.0.46.41") as server:
        asset = Asset.model_validate({"id": "hmi", "type": "embedded", "address": "127.0.46.41", "endpoints": [
            {"protocol": "https", "port": server.port, "http_port": server.port, "timeout": 1.5}]})
        connector = HttpsConnector(asset, asset.endpoints[0], ScanOptions())
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):  # six requests of 1.5 s each: far beyond 1 s
            await asyncio.wait_for(connector.collect([TLS_VERSIONS, HTTPS_GET, HTTP_GET]), 1.0)
        assert time.monotonic() - started < 1.0 + SLACK
        time.sleep(2.5)  # the handshake in flight times out (1.5 s); no further connection may start
        assert server.connections == 1
