"""The default-community probe's bare GET: what it sends, which datagram it takes as the answer, and when it
gives up. A small UDP agent on loopback stands in for the device."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from auditor.plant.inventory import Asset
from connectors.base import ScanOptions
from connectors.snmp.connector import SnmpConnector

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


class _Agent(asyncio.DatagramProtocol):
    """Answers each datagram with what ``reply`` makes of the decoded request (a list of datagrams)."""

    def __init__(self, reply: Callable[[Any, Any], list[bytes]]):
        self.reply = reply
        self.received: list[tuple[str, str]] = []  # (community, PDU type)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message, _ = decoder.decode(data, asn1Spec=V2C.Message())
        pdu = V2C.apiMessage.get_pdu(message)
        self.received.append((str(V2C.apiMessage.get_community(message)), pdu.__class__.__name__))
        for datagram in self.reply(message, pdu):
            self.transport.sendto(datagram, addr)


def _response(message: Any, pdu: Any, request_id: int | None = None) -> bytes:
    response = V2C.apiPDU.get_response(pdu)
    if request_id is not None:
        V2C.apiPDU.set_request_id(response, request_id)
    V2C.apiPDU.set_varbinds(response, [((1, 3, 6, 1, 2, 1, 1, 1, 0), V2C.OctetString("test switch"))])
    out = V2C.Message()
    V2C.apiMessage.set_defaults(out)
    V2C.apiMessage.set_community(out, V2C.apiMessage.get_community(message))
    V2C.apiMessage.set_pdu(out, response)
    return encoder.encode(out)


async def _probe_with(agent: Callable[[], asyncio.DatagramProtocol], *, timeout: float = 1.0,
                      version: str = "2c") -> tuple[Any, Any, SnmpConnector]:
    """One bare probe GET (community ``public``) to the UDP agent ``agent`` makes on 127.0.0.1."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(agent, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    asset = Asset.model_validate({"id": "sw", "type": "network", "address": "127.0.0.1", "endpoints": [
        {"protocol": "snmp", "port": port, "version": "2c", "community_env": "IACS_T_UNUSED", "timeout": timeout}]})
    connector = SnmpConnector(asset, asset.endpoints[0], ScanOptions())
    connector._sent = 0
    try:
        answer = await connector._bare_get(await connector._probe_address(), "public", version)
    finally:
        transport.close()
    return answer, protocol, connector


async def _probe(reply: Callable[[Any, Any], list[bytes]], timeout: float = 1.0):
    return await _probe_with(lambda: _Agent(reply), timeout=timeout)


async def test_the_answer_to_its_request_is_taken() -> None:
    answer, agent, connector = await _probe(lambda message, pdu: [_response(message, pdu)])
    assert agent.received == [("public", "GetRequestPDU")] and connector._sent == 1
    assert answer.indication is None and answer.status == 0 and answer.garbage == 0
    assert answer.varbinds[0][0] == (1, 3, 6, 1, 2, 1, 1, 1, 0) and str(answer.varbinds[0][1]) == "test switch"


async def test_garbage_and_other_requests_answers_are_passed_over() -> None:
    def reply(message: Any, pdu: Any) -> list[bytes]:
        stale = int(V2C.apiPDU.get_request_id(pdu)) + 1
        return [b"\x00not snmp", _response(message, pdu, request_id=stale), _response(message, pdu)]

    answer, _agent, _ = await _probe(reply)
    assert answer.indication is None and str(answer.varbinds[0][1]) == "test switch"
    assert answer.garbage == 1  # the stale answer is valid SNMP, only not this request's


async def test_silence_times_out_within_the_endpoint_timeout_and_counts_garbage() -> None:
    started = asyncio.get_running_loop().time()
    answer, agent, _ = await _probe(lambda message, pdu: [b"\x30\x03junk"], timeout=0.3)
    assert answer.timed_out and answer.indication_kind == "RequestTimedOut"
    assert answer.indication == ("No SNMP response received before timeout "
                                 "(1 datagram(s) from the agent were not valid SNMP)")
    assert len(agent.received) == 1  # never retried
    assert asyncio.get_running_loop().time() - started < 1.5


async def test_an_answer_from_another_address_of_the_agent_is_taken() -> None:
    """Multi-homed agents may answer from another address; the SNMP engine matches answers by request id only."""
    loop = asyncio.get_running_loop()
    other, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.2", 0))
    try:
        senders: list[Any] = []

        def reply(message: Any, pdu: Any) -> list[bytes]:  # answered from 127.0.0.2, not where it was sent
            other.sendto(_response(message, pdu), senders[0])
            return []

        class Agent(_Agent):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                senders.append(addr)
                super().datagram_received(data, addr)

        answer, _agent, _ = await _probe_with(lambda: Agent(reply))
    finally:
        other.close()
    assert answer.indication is None and str(answer.varbinds[0][1]) == "test switch"


@pytest.mark.parametrize("version, expected", [("1", 0), ("2c", 1)])
async def test_the_version_asked_for_is_the_one_sent(version: str, expected: int) -> None:
    seen: list[int] = []

    class Sink(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            seen.append(int(api.decodeMessageVersion(data)))

    await _probe_with(Sink, timeout=0.2, version=version)
    assert seen == [expected]
