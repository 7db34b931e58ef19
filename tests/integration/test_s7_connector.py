"""The S7 connector against the python-snap7 simulator on loopback: the SZL reads of every S7 check, pacing, a refused list,
ports that refuse or stay silent, and the simulator's request log proving that nothing but Setup Communication
and Read SZL reached the CPU (its own classifier, independent of the connector, also names writes and stops)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
from snap7.client import Client

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY, request
from checks.s7.facts import (COMPONENT_ID, DIAGNOSTIC_BUFFER, ETHERNET, MODE, MODULE_ID, PROTECTION, SESSION_LOG,
                             TIME_STATUS)
from connectors.base import ConnectorError, ScanOptions
from connectors.s7.connector import S7Connector
from simulators.s7.server import S7Simulator
from tests.support.checks import check_verdicts

READS = [MODULE_ID, COMPONENT_ID, PROTECTION, MODE, TIME_STATUS, ETHERNET, DIAGNOSTIC_BUFFER, SESSION_LOG]
READ_ONLY = {"Setup Communication", "Read SZL"}


@pytest.fixture(scope="module")
def cpus():
    weak = S7Simulator("weak", "127.0.62.41").start()
    hardened = S7Simulator("hardened", "127.0.62.42").start()
    yield {"weak": weak, "hardened": hardened}
    weak.stop()
    hardened.stop()


def collect(address: str, port: int, requests=READS, **endpoint: Any) -> dict[str, EvidenceItem]:
    asset = Asset.model_validate({"id": "plc", "type": "embedded", "address": address, "endpoints": [
        {"protocol": "s7", "port": port, "timeout": 2.0, "requests_per_second": 20.0, **endpoint}]})
    items = asyncio.run(S7Connector(asset, asset.endpoints[0], ScanOptions()).collect(requests))
    return {item.request.key: item for item in items}


def test_weak_and_hardened_cpus_read_only(cpus) -> None:
    registry = REGISTRY.load()
    specs = [spec for spec in registry.checks.values() if spec.id.startswith("s7.")]
    expected = {"weak": {"s7.identity.component": "fail", "s7.protection.level": "fail",
                         "s7.protection.mode-selector": "fail", "s7.identity.firmware": "manual",
                         "s7.integrity.checksum": "manual", "s7.time.clock": "fail", "s7.time.synchronized": "fail",
                         "s7.network.interfaces": "fail", "s7.audit.diagnostic-buffer": "fail"},
                "hardened": {"s7.identity.component": "pass", "s7.protection.level": "pass",
                             "s7.protection.mode-selector": "pass", "s7.identity.firmware": "manual",
                             "s7.integrity.checksum": "manual", "s7.time.clock": "pass",
                             "s7.time.synchronized": "pass", "s7.network.interfaces": "manual",
                             "s7.audit.diagnostic-buffer": "pass"}}
    for name, sim in cpus.items():
        before = len(sim.requests)
        items = collect(sim.host, sim.port)
        assert all(item.status == "ok" for item in items.values()), [i.error for i in items.values()]
        assert sim.pdus(before) == ["Setup Communication"] + ["Read SZL"] * 7
        assert [r["szl"] for r in sim.requests[before:] if "szl" in r] == [
            "0x0011,0x0000", "0x001C,0x0000", "0x0232,0x0004", "0x0424,0x0000", "0x0132,0x0008", "0x0037,0x0000",
            "0x01A0,0x000A"]
        log = items[SESSION_LOG.key].data()
        assert log["pdus_sent"] == 8 and log["allowed_pdus"] == ["Setup Communication", "Read SZL"]
        verdicts = check_verdicts(list(items.values()), specs)
        assert {c: v.status for c, v in verdicts.items()} == expected[name]
    assert {pdu for sim in cpus.values() for pdu in sim.pdus()} <= READ_ONLY


def test_reads_are_paced(cpus) -> None:
    sim = cpus["hardened"]
    before = len(sim.requests)
    collect(sim.host, sim.port, [MODULE_ID, PROTECTION, SESSION_LOG], requests_per_second=5.0)
    times = [r["time"] for r in sim.requests[before:]]
    assert len(times) == 3 and min(b - a for a, b in zip(times, times[1:])) >= 0.18


def test_a_refused_list_is_an_answer_and_the_session_goes_on(cpus) -> None:
    sim = cpus["weak"]
    unknown = request("s7", "szl", "0x0074,0x0000")
    items = collect(sim.host, sim.port, [unknown, PROTECTION, SESSION_LOG])
    assert items[unknown.key].status == "ok" and items[unknown.key].data()["answered"] is False
    assert items[PROTECTION.key].data()["answered"] is True


def test_the_log_would_show_a_write_or_a_stop(cpus) -> None:
    """The simulator's classifier is independent of the connector: python-snap7's own client, used here on
    purpose, shows up as Write Var and PLC Stop (so an empty log of such PDUs after a scan means something)."""
    sim = S7Simulator("weak", "127.0.62.43").start()
    try:
        plc = Client()
        plc.connect(sim.host, 0, 2, tcp_port=sim.port)
        try:
            plc.db_write(1, 0, bytearray(b"\x01"))
        except Exception:
            pass  # the simulator has no DB 1: the request was still sent and logged
        plc.plc_stop()
        plc.disconnect()
        assert {"Write Var", "PLC Stop"} <= set(sim.pdus())
    finally:
        sim.stop()


def test_refused_port_and_silent_peer_make_the_endpoint_unusable() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.62.44", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ConnectorError, match="gave no S7 answer") as refused:
        collect("127.0.62.44", port)
    assert any(i.request == SESSION_LOG for i in refused.value.partial_items)

    silent = socket.socket()
    silent.bind(("127.0.62.45", 0))
    silent.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(ConnectorError, match="gave no S7 answer"):
            collect("127.0.62.45", silent.getsockname()[1], timeout=0.5)
        assert time.monotonic() - started < 3
    finally:
        for conn in accepted:
            conn.close()
        silent.close()
