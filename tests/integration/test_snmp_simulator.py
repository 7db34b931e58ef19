"""The SNMP connector and the network pack against the bundled SNMP agent simulator (real SNMP on loopback).

Proves from the simulator's own request log that a scan sends nothing but GET / GETNEXT / GETBULK
(never a SET; a positive control shows a SET would be recorded), that probes and rate limits behave,
that secrets stay out of evidence, and that the demo plant's switches are reachable from its inventory.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset, Inventory
from auditor.registry import REGISTRY
from connectors.base import ScanOptions
from connectors.snmp.connector import SnmpConnector
from simulators.plant import Plant, PlantHost
from simulators.snmp.server import SnmpSimulator, load_fixture
from tests.support.checks import check_verdicts

REQUIRED = ["snmp.version.v1-v2c-enabled", "snmp.community.default", "snmp.v3.auth-priv", "snmp.inventory.identity"]
READ_PDUS = {"GetRequest", "GetNextRequest", "GetBulkRequest"}
HARDENED_USER = load_fixture("hardened")["agent"]["users"][0]


def specs() -> list[Any]:
    return sorted((c for c in REGISTRY.load().checks.values() if c.pack.startswith("checks.snmp")), key=lambda c: c.id)


def secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value)
    path.chmod(0o600)
    return str(path)


async def scan(port: int, endpoint: dict[str, Any], *, address: str = "127.0.0.1", **attrs: Any
               ) -> tuple[list[EvidenceItem], float]:
    requests = [r for reqs in REGISTRY.load().requests_for(specs()).values() for r in reqs]
    asset = Asset.model_validate({"id": "sw", "type": "network", "address": address,
                                  "endpoints": [{"protocol": "snmp", "port": port, "timeout": 1.0, **endpoint}]})
    connector = SnmpConnector(asset, asset.endpoints[0], ScanOptions())
    connector.probe_interval = 0.05
    for name, value in attrs.items():
        setattr(connector, name, value)
    started = time.monotonic()
    items = await connector.collect(requests)
    assert {i.request.key for i in items} >= {r.key for r in requests}
    return items, time.monotonic() - started


def verdicts(items: list[EvidenceItem]) -> dict[str, Any]:
    for number, item in enumerate(items, 1):
        item.id = f"sw#{number}"
    return check_verdicts(items, specs())


@pytest.fixture(scope="module")
def weak() -> Iterator[SnmpSimulator]:
    with SnmpSimulator("weak") as sim:
        yield sim


@pytest.fixture(scope="module")
def hardened() -> Iterator[SnmpSimulator]:
    with SnmpSimulator("hardened") as sim:
        yield sim


def v3_endpoint(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"version": "3", "username": HARDENED_USER["name"], "auth_protocol": "SHA", "priv_protocol": "AES",
            "auth_key_file": secret_file(tmp_path, "auth", HARDENED_USER["auth_key"]),
            "priv_key_file": secret_file(tmp_path, "priv", HARDENED_USER["priv_key"]), **extra}


async def test_weak_switch_fails_every_required_check_and_only_reads(weak: SnmpSimulator, tmp_path: Path) -> None:
    weak.clear_requests()
    items, _ = await scan(weak.port, {"version": "2c", "probe_default_communities": True,
                                      "community_file": secret_file(tmp_path, "c", "public")})
    result = verdicts(items)
    assert {k: result[k].status for k in REQUIRED} == dict.fromkeys(REQUIRED, "fail")
    log = weak.requests
    assert log and {r["pdu"] for r in log} <= READ_PDUS
    assert {r["community"] for r in log} == {"public", "private"}
    assert {(r["version"], r["community"]) for r in log if r["oids"] == ["1.3.6.1.2.1.1.1.0"]} >= {
        ("1", "public"), ("2c", "private"), ("1", "private")}


async def test_hardened_switch_passes_every_required_check_and_only_reads(hardened: SnmpSimulator,
                                                                           tmp_path: Path) -> None:
    hardened.clear_requests()
    items, _ = await scan(hardened.port, v3_endpoint(tmp_path, probe_default_communities=True))
    result = verdicts(items)
    assert {k: result[k].status for k in REQUIRED} == dict.fromkeys(REQUIRED, "pass"), {
        k: result[k].reason for k in REQUIRED}
    log = hardened.requests
    assert {r["pdu"] for r in log} <= READ_PDUS, {r["pdu"] for r in log}
    v3 = [r for r in log if r["version"] == "3" and r["user"] == HARDENED_USER["name"]]
    assert {r["security_level"] for r in v3} == {"authPriv", "authNoPriv", "noAuthNoPriv"}
    assert all(r["processed"] for r in v3 if r["security_level"] == "authPriv")  # decrypted, PDU type known
    text = json.dumps([i.model_dump(mode="json") for i in items])
    for key in (HARDENED_USER["auth_key"], HARDENED_USER["priv_key"]):
        assert key not in text and key.encode().hex() not in text


async def test_the_simulator_would_record_a_set(weak: SnmpSimulator) -> None:
    """Positive control for the no-SET proofs: a SET sent by the test (never by the connector) is logged as
    SetRequest, and the read-only simulator changes nothing."""
    from pysnmp.hlapi.v3arch.asyncio import (CommunityData, ContextData, ObjectIdentity, ObjectType, OctetString,
                                             SnmpEngine, UdpTransportTarget, get_cmd, set_cmd)

    weak.clear_requests()
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create(("127.0.0.1", weak.port), timeout=0.5, retries=0)
        await set_cmd(engine, CommunityData("private", mpModel=1), target, ContextData(),
                      ObjectType(ObjectIdentity("1.3.6.1.2.1.1.5.0"), OctetString("pwned")))
        _, _, _, varbinds = await get_cmd(engine, CommunityData("public", mpModel=1), target, ContextData(),
                                          ObjectType(ObjectIdentity("1.3.6.1.2.1.1.5.0")))
    finally:
        engine.close_dispatcher()
    assert "SetRequest" in {r["pdu"] for r in weak.requests}
    assert str(varbinds[0][1]) == "sw-01"


async def test_snmpv1_walks_with_getnext_and_judges_the_same(weak: SnmpSimulator, tmp_path: Path) -> None:
    weak.clear_requests()
    items, _ = await scan(weak.port, {"version": "1", "community_file": secret_file(tmp_path, "c", "public")},
                          requests_per_second=50.0)
    assert {r["pdu"] for r in weak.requests} == {"GetRequest", "GetNextRequest"}
    result = verdicts(items)
    assert result["snmp.version.v1-v2c-enabled"].status == "fail"
    assert result["snmp.service.telnet"].status == "fail"
    assert result["snmp.interface.unused-enabled"].status == "fail"


async def test_a_site_community_is_never_recorded(tmp_path: Path) -> None:
    fixture = load_fixture("weak")
    secret = "Pl4nt-S3cret-Comm"
    fixture["agent"] = dict(fixture["agent"], communities=[{"name": secret, "security_name": secret,
                                                            "versions": ["2c"]}])
    with SnmpSimulator(fixture) as sim:
        items, _ = await scan(sim.port, {"version": "2c", "probe_default_communities": True,
                                         "community_file": secret_file(tmp_path, "c", secret)})
        log = sim.requests
    text = json.dumps([i.model_dump(mode="json") for i in items])
    assert secret not in text and secret.encode().hex() not in text
    assert ".".join(str(b) for b in secret.encode()) not in text
    assert secret not in json.dumps(log) and {r["community"] for r in log} == {"other", "public", "private"}
    result = verdicts(items)
    assert result["snmp.community.default"].status == "pass"
    assert "configured" in json.dumps(result["snmp.version.v1-v2c-enabled"].observed) or \
        result["snmp.version.v1-v2c-enabled"].status == "fail"


async def test_rate_limit_spaces_every_pdu(hardened: SnmpSimulator, tmp_path: Path) -> None:
    hardened.clear_requests()
    _, elapsed = await scan(hardened.port, v3_endpoint(tmp_path), requests_per_second=20.0)
    times = sorted(r["time"] for r in hardened.requests if r["security_level"] == "authPriv")
    # the first GET carries pysnmp's USM time synchronisation (RFC 3414 4: a report, then the same request
    # resent at once); from there on every PDU the connector sends waits for the rate limit
    # (times are taken when the simulator's loop reads each datagram, so a busy loop adds some jitter)
    gaps = sorted(b - a for a, b in zip(times[1:], times[2:]))
    assert len(times) >= 10, times
    assert gaps[len(gaps) // 2] >= 0.045 and gaps[0] >= 0.02, gaps
    assert times[-1] - times[1] >= 0.05 * (len(times) - 2) * 0.9
    assert elapsed >= 0.05 * (len(times) - 2)


async def test_demo_plant_switches_are_scannable_from_the_inventory(tmp_path: Path) -> None:
    hosts = [PlantHost("sw-01", "weak", "127.0.10.21", "control", type="network", protocol="snmp"),
             PlantHost("sw-02", "hardened", "127.0.10.22", "control", type="network", protocol="snmp")]
    with Plant(tmp_path, hosts) as plant:
        inventory = Inventory.model_validate(yaml.safe_load(plant.inventory_path.read_text()))
        text = plant.inventory_path.read_text()
        assert "public" not in text and HARDENED_USER["auth_key"] not in text
        by_id = {a.id: a for a in inventory.assets}
        weak_ep, hard_ep = by_id["sw-01"].endpoints[0], by_id["sw-02"].endpoints[0]
        for path in (weak_ep.community_file, hard_ep.auth_key_file, hard_ep.priv_key_file):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert (weak_ep.version, hard_ep.version, hard_ep.priv_protocol) == ("2c", "3", "AES")
        results = {}
        for asset in inventory.assets:
            endpoint = asset.endpoints[0].model_dump(exclude={"protocol", "port", "timeout"}, exclude_none=True)
            items, _ = await scan(asset.endpoints[0].port, endpoint, address=asset.address)
            results[asset.id] = verdicts(items)
        assert {k: results["sw-01"][k].status for k in REQUIRED} == dict.fromkeys(REQUIRED, "fail")
        assert {k: results["sw-02"][k].status for k in REQUIRED} == dict.fromkeys(REQUIRED, "pass")
        assert all({r["pdu"] for r in sim.requests} <= READ_PDUS for sim in plant.simulators.values())


async def test_legacy_listener_tables_are_walked_only_when_needed(weak: SnmpSimulator, tmp_path: Path) -> None:
    from checks.snmp import facts as f

    endpoint = {"version": "2c", "community_file": secret_file(tmp_path, "c", "public")}
    items, _ = await scan(weak.port, endpoint, requests_per_second=50.0)
    legacy = [i for i in items if i.request.key in (f.WALK_TCP_LEGACY.key, f.WALK_UDP_LEGACY.key)]
    assert len(legacy) == 2 and all(i.meta.get("skipped") and i.meta["pdus"] == 0 for i in legacy)

    fixture = load_fixture("weak")
    fixture["tables"] = [t for t in fixture["tables"]
                         if not {f.TCP_LISTENER_PROCESS, f.UDP_ENDPOINT_PROCESS} & set(t["columns"])]
    fixture["tables"] += [
        {"columns": {f.TCP_CONN_STATE: "Integer"},
         "rows": {"0.0.0.0.23.0.0.0.0.0": [2], "10.0.0.2.23.10.0.0.9.40000": [5]}},
        {"columns": {f.UDP_LOCAL_PORT: "Integer"}, "rows": {"0.0.0.0.69": [69]}}]
    with SnmpSimulator(fixture) as old:
        items, _ = await scan(old.port, endpoint, requests_per_second=50.0)
    legacy = {i.request.key: i for i in items if i.request.key in (f.WALK_TCP_LEGACY.key, f.WALK_UDP_LEGACY.key)}
    assert all(not i.meta.get("skipped") and i.meta["rows"] > 0 for i in legacy.values())
    result = verdicts(items)
    assert result["snmp.service.telnet"].status == "fail" and result["snmp.service.tftp"].status == "fail"
    assert result["snmp.service.telnet"].observed["table"] == ["tcpConnTable"]


@pytest.mark.parametrize("auth, priv", [("MD5", "DES"), ("SHA", "AES"), ("SHA256", "3DES"), ("SHA512", "AES256")])
async def test_v3_pass_phrases_hashed_once_still_authenticate(auth: str, priv: str, tmp_path: Path) -> None:
    """The connector hands pysnmp master keys it hashed itself (once per pass phrase): each auth and privacy
    family, with a pass phrase that is not ASCII, must still read at authPriv, and a wrong key must still fail."""
    user = {"name": "ops", "auth": auth, "auth_key": "pässwörd-auth-1", "priv": priv, "priv_key": "pässwörd-priv-2",
            "level": "authPriv"}
    fixture = {"agent": {"v3_only": True, "users": [user]},
               "objects": {"1.3.6.1.2.1.1.1.0": ["OctetString", "switch"]}}
    endpoint = {"version": "3", "username": "ops", "auth_protocol": auth, "priv_protocol": priv,
                "auth_key_file": secret_file(tmp_path, "auth", user["auth_key"]),
                "priv_key_file": secret_file(tmp_path, "priv", user["priv_key"])}
    with SnmpSimulator(fixture) as sim:
        items, _ = await scan(sim.port, endpoint)
        session = json.loads(next(i for i in items if i.request.target == "info").response)
        assert session["answered"] is True and session["security_level"] == "authPriv"
        assert {r["security_level"] for r in sim.requests if r.get("user") == "ops"} >= {"authPriv"}
        wrong = dict(endpoint, priv_key_file=secret_file(tmp_path, "wrong", "another-priv-key"))
        with pytest.raises(Exception, match="privacy key|Decryption|no SNMPv3 answer"):
            await scan(sim.port, wrong)


async def test_a_walk_asks_few_repetitions_first_then_more(weak: SnmpSimulator, tmp_path: Path) -> None:
    """Most tables an audit walks have a row or two: the first GETBULK of a walk asks three repetitions (not ten
    objects past a short table's end), the next ones more, and every row is still read."""
    weak.clear_requests()
    items, _ = await scan(weak.port, {"version": "2c", "community_file": secret_file(tmp_path, "c", "public")},
                          first_repetitions=3, max_repetitions=10)
    bulks = [r for r in weak.requests if r["pdu"] == "GetBulkRequest"]
    assert bulks
    walks = [i for i in items if i.request.op == "walk" and i.status == "ok" and not i.meta.get("skipped")]
    assert walks and all(json.loads(i.response)["complete"] for i in walks)
    interfaces = next(i for i in walks if i.request.target.startswith("1.3.6.1.2.1.2.2.1.2"))
    assert interfaces.meta["pdus"] >= 2 and interfaces.meta["rows"] > 3 * len(interfaces.request.target.split())


async def test_switches_sharing_credentials_share_an_engine_and_no_others(monkeypatch, tmp_path: Path) -> None:
    """An engine goes on to the next switch with the same credentials (pysnmp's own configuration cache is keyed by
    the community index or user, so it must never serve other credentials): two switches with one community take
    one engine, a third with another community gets its own and still authenticates, and an engine that saw a
    timeout is closed, never reused."""
    from connectors.snmp import engines

    made: list[Any] = []
    real = engines.SnmpEngine

    def counting() -> Any:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(engines, "SnmpEngine", counting)
    SnmpConnector.release_idle()  # engines the earlier tests on this event loop left idle
    other = {"agent": {"communities": [{"name": "plant-b", "versions": ["2c"]}]},
             "objects": {"1.3.6.1.2.1.1.1.0": ["OctetString", "switch b"]}}
    with SnmpSimulator("weak") as first, SnmpSimulator("weak") as second, SnmpSimulator(other) as third:
        public = {"version": "2c", "community_file": secret_file(tmp_path, "c", "public")}
        for sim in (first, second):
            items, _ = await scan(sim.port, public)
            assert json.loads(next(i for i in items if i.request.target == "info").response)["answered"]
        assert len(made) == 1
        items, _ = await scan(third.port, {"version": "2c", "community_file": secret_file(tmp_path, "b", "plant-b")})
        assert json.loads(next(i for i in items if i.request.target == "info").response)["answered"]
        assert len(made) == 2
        assert {r["community"] for r in third.requests} == {"other"}  # plant-b only, never public
    with SnmpSimulator("weak", behaviour="silent") as silent:
        with pytest.raises(Exception, match="no SNMPv2c answer"):
            await scan(silent.port, public)
    assert len(made) == 2  # the idle public engine went to the silent switch ...
    with SnmpSimulator("weak") as fourth:
        await scan(fourth.port, public)
    assert len(made) == 3  # ... and was closed after its timeout: the next switch got a new one
    SnmpConnector.release_idle()  # the scan's collection is over: idle engines are closed
    with SnmpSimulator("weak") as fifth:
        await scan(fifth.port, public)
    assert len(made) == 4


async def test_the_community_probe_runs_alongside_the_reads_within_the_pace(weak: SnmpSimulator,
                                                                          tmp_path: Path) -> None:
    """The default-community probes wait a second between them: the reads go on meanwhile, every PDU to the device
    still keeps the device's pace, the probes keep their own spacing, and each item counts only its own PDUs."""
    weak.clear_requests()
    items, _ = await scan(weak.port, {"version": "2c", "probe_default_communities": True,
                                      "community_file": secret_file(tmp_path, "c", "public")},
                          requests_per_second=20.0, probe_interval=0.3)
    log = sorted(weak.requests, key=lambda r: r["time"])
    probes = [r for r in log if r["oids"] == ["1.3.6.1.2.1.1.1.0"] and (r["version"], r["community"]) != ("2c", "public")]
    assert len(probes) >= 3
    first, last = probes[0]["time"], probes[-1]["time"]
    assert any(r["pdu"] == "GetBulkRequest" and first < r["time"] < last for r in log)  # reads between probes
    gaps = sorted(b["time"] - a["time"] for a, b in zip(log, log[1:]))
    assert gaps[len(gaps) // 2] >= 0.045 and gaps[0] >= 0.02, gaps  # the device's pace: 20 PDUs/s
    probe_gaps = [b["time"] - a["time"] for a, b in zip(probes, probes[1:])]
    assert min(probe_gaps) >= 0.27, probe_gaps
    probe_item = next(i for i in items if i.request.target == "default-communities")
    assert probe_item.meta["pdus"] == len(probes) + 2  # its probes and the two counter reads, nothing else
    session = json.loads(next(i for i in items if i.request.target == "info").response)
    assert session["requests_sent"] == len(log)
    assert sum(i.meta.get("pdus", 0) for i in items if i.request.target != "info") == len(log) - 1  # + liveness
