"""The limits on what one device can make the auditor read, keep and log, and what a check says about a cut.

Each protocol's limit is exercised by a hostile peer on loopback (127.0.33.x), then the truncation is
followed into the evidence (``truncated`` with the original size) and into the verdict (never a pass on
the part that was cut). Also: an asset that reaches the asset timeout keeps what it read (``partial``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fault_servers import HostileOpcua
from pyasn1.type import univ

from auditor.assessment.evaluate import evaluate_asset
from auditor.assessment.profiles import load_profile
from auditor.assessment.slvector import SLVector
from auditor.engine import EngineSettings, collect
from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.plant.inventory import Asset
from auditor.plant.planning import AssetPlan
from auditor.registry import request
from checks.linux.facts.sshd import SESSION_INFO
from checks.opcua.facts import CLIENT_LOG, ENDPOINTS
from checks.snmp.facts import as_text
from connectors.base import ConnectorError, ScanOptions
from connectors.opcua import limits as opcua_limits
from connectors.opcua.connector import OpcuaConnector
from connectors.snmp.connector import SnmpConnector
from connectors.snmp.limits import MAX_VALUE_BYTES, MAX_WALK_BYTES
from connectors.snmp.values import encode_value
from connectors.ssh import limits as ssh_limits
from connectors.ssh.connector import SshConnector
from simulators.plant import Plant, PlantHost
from simulators.snmp.server import SnmpSimulator, load_fixture
from tests.support.checks import check_verdict

BANNER = "AUTHORISED USE ONLY. " * 36_000  # 756 KB


def numbered(items: list[EvidenceItem]) -> list[EvidenceItem]:
    for number, item in enumerate(items, 1):
        item.id = f"hostile#{number}"
    return items


async def test_a_750_kb_ssh_banner_is_kept_truncated_judged_manual_and_never_logged_whole(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger("connectors.ssh.connector.transport")  # where paramiko logs for this connector
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with Plant(tmp_path, [PlantHost("banner", "weak", "127.0.33.20", "control")]) as plant:
            plant.simulators["banner"].banner = BANNER
            asset = Asset.model_validate(plant.inventory()["assets"][0])
            items = await SshConnector(asset, asset.endpoints[0], ScanOptions()).collect([SESSION_INFO])
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    info_item = next(i for i in items if i.request.key == SESSION_INFO.key)
    info = json.loads(info_item.response)
    assert len(info["banner"]) == ssh_limits.MAX_BANNER_CHARS
    assert info["truncated"]["banner"] == {"original_chars": len(BANNER), "kept_chars": ssh_limits.MAX_BANNER_CHARS}
    assert info_item.meta["truncated_fields"] == ["banner"]
    assert len(info_item.response) < 20_000  # not 750 KB in the evidence
    assert any("Auth banner" in r.getMessage() for r in records)
    longest = max(len(r.getMessage()) for r in records)
    assert longest < ssh_limits.MAX_LOG_CHARS + 100, longest  # paramiko's "Auth banner: ..." line is clipped
    verdict = check_verdict(numbered(items), "linux.sshd.banner")
    assert verdict.status == "manual" and f"{len(BANNER)} characters" in verdict.reason, verdict


async def test_opcua_endpoints_over_the_count_limit_are_kept_truncated_and_not_judged() -> None:
    count = 3 * opcua_limits.MAX_ENDPOINTS
    with HostileOpcua("127.0.33.21", endpoints=count) as server:
        asset = Asset.model_validate({"id": "ua", "type": "application", "address": "127.0.33.21",
                                      "endpoints": [{"protocol": "opcua", "port": server.port, "timeout": 3}]})
        items = await OpcuaConnector(asset, asset.endpoints[0], ScanOptions()).collect([ENDPOINTS, CLIENT_LOG])
    endpoints = next(i for i in items if i.request.key == ENDPOINTS.key)
    assert len(json.loads(endpoints.response)) == opcua_limits.MAX_ENDPOINTS
    assert endpoints.meta["truncated"] is True
    assert (endpoints.meta["original_endpoints"], endpoints.meta["kept_endpoints"]) == (count, opcua_limits.MAX_ENDPOINTS)
    verdict = check_verdict(numbered(items), "opcua.endpoint.security-policy-none")
    assert verdict.status == "error" and f"{count} endpoints" in verdict.reason, verdict


@pytest.mark.parametrize("mode, words", [("endpoints", "exceeds the auditor's limit"),
                                         ("chunk_flood", "chunk over the auditor's 65535-byte limit")])
async def test_opcua_answers_over_the_message_limit_are_refused_before_they_are_buffered(mode: str, words: str) -> None:
    with HostileOpcua("127.0.33.22", endpoints=50_000, mode=mode) as server:
        asset = Asset.model_validate({"id": "ua", "type": "application", "address": "127.0.33.22",
                                      "endpoints": [{"protocol": "opcua", "port": server.port, "timeout": 5}]})
        with pytest.raises(ConnectorError, match=words):
            await OpcuaConnector(asset, asset.endpoints[0], ScanOptions()).collect([ENDPOINTS])
        # the client stopped reading: far less than the 83 MB (or 1 GiB) the server meant to send got through
        assert server.sent < 3 * opcua_limits.MAX_MESSAGE_BYTES


def test_an_snmp_value_over_the_limit_is_kept_truncated_and_refused_by_the_pack() -> None:
    entry = encode_value("1.3.6.1.2.1.1.1.0", univ.OctetString(b"x" * (3 * MAX_VALUE_BYTES)))
    assert entry["truncated"] is True and entry["original_bytes"] == 3 * MAX_VALUE_BYTES
    assert len(bytes.fromhex(entry["hex"])) == MAX_VALUE_BYTES
    with pytest.raises(FactParseError, match="not judged on a part"):
        as_text(entry, "sysDescr.0")


def test_a_truncated_item_is_never_judged() -> None:
    request = EvidenceRequest(protocol="ssh", op="exec", target="cat /etc/passwd")
    item = EvidenceItem(asset="a", endpoint="ssh://a:22", request=request, response="root:x:0:0\n", exit_code=0,
                        meta={"truncated": True, "bytes": 9_000_000, "kept_bytes": 4_194_304})
    evidence = FactEvidence("passwd", [request], {request.key: item})
    with pytest.raises(FactUnavailable, match="truncated at the auditor's limit \\(9000000 bytes"):
        evidence.command(request)


async def test_an_asset_that_reaches_the_asset_timeout_keeps_what_it_read(tmp_path: Path) -> None:
    """An SNMP agent whose walk never ends: the GETs before it are kept, with the real times (partial)."""
    with SnmpSimulator("weak", host="127.0.33.23", behaviour="endless") as sim:
        community = tmp_path / "community"
        community.write_text(sim.agent["communities"][0]["name"])
        asset = Asset.model_validate({"id": "sw", "type": "network", "address": "127.0.33.23", "endpoints": [
            {"protocol": "snmp", "port": sim.port, "version": "2c", "community_file": str(community), "timeout": 1}]})
        profile = load_profile("network-sl2")
        plan = AssetPlan(asset=asset, profile=profile, sl_target=SLVector.uniform(2))
        [evidence], interrupted = await collect([plan], ScanOptions(), EngineSettings(asset_timeout=2.5))
    assert not interrupted
    assert evidence.status == "partial" and evidence.items, evidence
    assert evidence.error.startswith("timed out after 2.5 s") and f"{len(evidence.items)} evidence items" in evidence.error
    assert evidence.started_at is not None and evidence.finished_at is not None
    assert (evidence.finished_at - evidence.started_at).total_seconds() >= 2.4
    assert all(item.id.startswith("sw#") for item in evidence.items)
    result = evaluate_asset(asset, evidence, profile, SLVector.uniform(2))
    assert result.status == "error" and result.error == evidence.error  # not assessed: exit code 3
    judged = [r for r in result.results if not r.reason.startswith("asset could not be assessed")]
    assert judged, "the checks judged what was read"
    assert not any(r.status == "pass" and not r.evidence for r in result.results)



async def test_snmp_walk_values_are_bounded_in_bytes_and_a_long_value_is_kept_truncated(tmp_path: Path) -> None:
    """An agent whose table holds 4 KB strings in 1,200 rows (4.8 MB) and a 10 KB sysDescr."""
    fixture = dict(load_fixture("weak"))
    objects = dict(fixture.get("objects") or {})
    objects["1.3.6.1.2.1.1.1.0"] = ["OctetString", "D" * 10_000]
    column = "1.3.6.1.4.1.32473.9.1"
    objects.update({f"{column}.{row}": ["OctetString", "v" * 4000] for row in range(1, 1201)})
    fixture["objects"] = objects
    walk = request("snmp", "walk", column, max_rows=5000)
    get = request("snmp", "get", "1.3.6.1.2.1.1.1.0")
    with SnmpSimulator(fixture, host="127.0.33.24") as sim:
        community = tmp_path / "community"
        community.write_text(sim.agent["communities"][0]["name"])
        asset = Asset.model_validate({"id": "sw", "type": "network", "address": "127.0.33.24", "endpoints": [
            {"protocol": "snmp", "port": sim.port, "version": "2c", "community_file": str(community), "timeout": 2,
             "requests_per_second": 100}]})
        items = {i.request.key: i for i in await SnmpConnector(asset, asset.endpoints[0], ScanOptions()).collect(
            [walk, get])}
    walked = items[walk.key]
    assert walked.status == "error" and f"byte limit of {MAX_WALK_BYTES}" in walked.error and walked.meta["truncated"]
    rows = json.loads(walked.response)["rows"]
    assert MAX_WALK_BYTES <= sum(len(r["hex"]) // 2 for r in rows) < MAX_WALK_BYTES + 64 * 1024
    described = json.loads(items[get.key].response)["varbinds"][0]
    assert described["truncated"] is True and described["original_bytes"] == 10_000
    assert described["value"] == "D" * MAX_VALUE_BYTES


class _AbsurdLengthAgent:
    """Answers every SNMP datagram with a BER SEQUENCE whose length field claims more bytes than any buffer
    could hold (pyasn1 raises OverflowError on it, not its own decoding error)."""

    def __init__(self, address: str, answer: bytes) -> None:
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.port = self.sock.getsockname()[1]
        self.answer, self.received = answer, 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                _data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            self.received += 1
            self.sock.sendto(self.answer, peer)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("answer", ["3089ffffffffffffffffff020101", "30847fffffff020101", "30887fffffffffffffff"])
async def test_an_snmp_answer_claiming_an_absurd_length_is_a_fault_not_a_traceback(answer: str, monkeypatch) -> None:
    monkeypatch.setenv("FAULT_COMMUNITY", "public")
    agent = _AbsurdLengthAgent("127.0.33.90", bytes.fromhex(answer))
    try:
        asset = Asset.model_validate({"id": "absurd", "type": "network", "address": "127.0.33.90", "endpoints": [
            {"protocol": "snmp", "port": agent.port, "version": "2c", "community_env": "FAULT_COMMUNITY",
             "timeout": 1}]})
        with pytest.raises(ConnectorError, match="not valid SNMP"):
            await SnmpConnector(asset, asset.endpoints[0], ScanOptions()).collect(
                [request("snmp", "get", "1.3.6.1.2.1.1.1.0")])
        assert agent.received >= 1
    finally:
        agent.close()
