"""The OPC UA access-rights reads against the asyncua simulator: the bounded browse (as anonymous and as the
audit account, within the endpoint's depth, node and time limits) with RolePermissions, the granted session
timeout, ServerCapabilities, and the untrusted-certificate probe; the simulators' logs prove that nothing but
discovery, session, Read and Browse services was sent (no Write, no Call), and the checks flip between the
weak and the hardened fixture."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from checks.opcua.facts import (ACCOUNT_VARIABLES, CAPABILITIES_READ, CLIENT_LOG, CLIENT_TRUST, ENDPOINTS,
                                SESSION_LIMITS, VARIABLES)
from connectors.base import ScanOptions
from connectors.opcua.connector import ALLOWED_SERVICES, OpcuaConnector
from simulators.plant import Plant, PlantHost
from auditor.registry import REGISTRY
from tests.support.checks import check_verdicts as _check_verdicts

WEAK, HARDENED = "ua-weak", "ua-hardened"
HOSTS = [PlantHost(WEAK, "weak", "127.0.37.11", "control", type="application", protocol="opcua"),
         PlantHost(HARDENED, "hardened", "127.0.37.12", "control", type="application", protocol="opcua")]
REQUESTS = [ENDPOINTS, VARIABLES, ACCOUNT_VARIABLES, CAPABILITIES_READ, SESSION_LIMITS, CLIENT_TRUST, CLIENT_LOG]
CHECKS = ["opcua.variables.anonymous-write", "opcua.variables.role-permissions", "opcua.channel.client-trust",
          "opcua.server.operation-limits", "opcua.session.timeout"]
SERVICES = {name.removesuffix("Request") for name in ALLOWED_SERVICES}


@pytest.fixture(scope="module")
def plant() -> Plant:
    workdir = Path(tempfile.mkdtemp(prefix="iacs-opcua-access-"))
    started = Plant(workdir, HOSTS, timeout=3.0)
    started.start()

    def stop() -> None:
        started.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(stop)
    yield started
    stop()


def collect(plant: Plant, host: str, requests=REQUESTS, **changes: Any) -> dict[str, EvidenceItem]:
    endpoint = {k: v for k, v in {**plant.endpoints[host], "timeout": 3.0, **changes}.items() if v is not None}
    address = next(h.address for h in HOSTS if h.id == host)
    asset = Asset.model_validate({"id": host, "type": "application", "address": address, "endpoints": [endpoint]})
    items = asyncio.run(OpcuaConnector(asset, asset.endpoints[0], ScanOptions()).collect(requests))
    return {item.request.key: item for item in items}


def data(items: dict[str, EvidenceItem], req) -> Any:
    item = items[req.key]
    assert item.status == "ok", item.error
    return item.data()


def check_verdicts(items: list[EvidenceItem], check_ids: list[str]):
    registry = REGISTRY.load()
    return _check_verdicts(items, [registry.check(check_id) for check_id in check_ids])


def read_only(plant: Plant, host: str, since: int) -> list[str]:
    services = plant.simulators[host].services(since)
    assert set(services) <= SERVICES, services  # never a Write, Call or anything that changes the server
    return services


def test_weak_server_grants_anonymous_writes_any_certificate_and_a_long_session(plant) -> None:
    before = len(plant.simulators[WEAK].requests)
    items = collect(plant, WEAK)
    sample = data(items, VARIABLES)
    speed = next(v for v in sample["variables"] if v["browse_name"] == "2:Speed")
    assert speed["user_access_level"] & 0x02 and {"RoleId": "i=15644", "Permissions": 0x61} in speed["role_permissions"]
    assert speed["access_restrictions_status"] == "BadAttributeIdInvalid"  # read, absent on this server
    assert "no session with the audit account" in data(items, ACCOUNT_VARIABLES)["skipped"]
    limits = data(items, SESSION_LIMITS)
    assert limits["identity"] == "anonymous" and limits["revised_session_timeout_ms"] == 7_200_000
    assert all(v["value"] == 0 for v in data(items, CAPABILITIES_READ)["values"].values())
    trust = data(items, CLIENT_TRUST)
    assert trust["accepted"] is True and trust["create_session"] == "Good"
    assert trust["endpoint"] == {"security_policy": "Basic128Rsa15", "security_mode": "SignAndEncrypt"}
    services = read_only(plant, WEAK, before)
    assert services[-2:] == ["CreateSession", "CloseSession"]  # the probe's session: created, never activated, closed
    assert services.count("ActivateSession") == 1  # the anonymous session only
    verdicts = check_verdicts(list(items.values()), CHECKS)
    assert {c: v.status for c, v in verdicts.items()} == dict.fromkeys(CHECKS, "fail")
    assert "2:Speed (ns=2;i=3)" in " ".join(verdicts["opcua.variables.anonymous-write"].observed["writable_by_anonymous"])


def test_hardened_server_refuses_the_untrusted_certificate_and_caps_sessions(plant) -> None:
    before = len(plant.simulators[HARDENED].requests)
    items = collect(plant, HARDENED)
    sample = data(items, ACCOUNT_VARIABLES)
    assert sample["identity"] == "username" and len(sample["variables"]) == 4
    assert not any(v["user_access_level"] & 0x02 for v in sample["variables"])
    assert data(items, SESSION_LIMITS)["revised_session_timeout_ms"] == 600_000
    trust = data(items, CLIENT_TRUST)
    assert trust["accepted"] is False and trust["create_session"] == "BadCertificateUntrusted"
    services = read_only(plant, HARDENED, before)
    assert services.count("ActivateSession") == 1 and services[-1] == "CreateSession"  # refused: nothing to close
    verdicts = check_verdicts(list(items.values()), CHECKS)
    assert {c: v.status for c, v in verdicts.items()} == dict.fromkeys(CHECKS, "pass")


def test_browse_stays_within_the_endpoint_limits(plant) -> None:
    items = collect(plant, WEAK, [VARIABLES, CLIENT_LOG], browse_max_nodes=3, browse_depth=2)
    sample = data(items, VARIABLES)
    assert sample["max_nodes"] == 3 and sample["depth"] == 2 and sample["nodes_visited"] <= 3
    assert sample["truncated"] or sample["depth_limit_reached"]
    timed = data(collect(plant, WEAK, [VARIABLES, CLIENT_LOG], browse_seconds=0.000001), VARIABLES)
    assert timed["time_limit_reached"] and timed["truncated"] and timed["variables"] == []
    verdict = check_verdicts(list(collect(plant, WEAK, [ENDPOINTS, VARIABLES, CLIENT_LOG], browse_max_nodes=3).values()),
                             ["opcua.variables.anonymous-write"])["opcua.variables.anonymous-write"]
    assert verdict.status in ("fail", "manual")  # a partial view never passes


def test_the_probe_needs_the_sites_consent(plant) -> None:
    before = len(plant.simulators[WEAK].requests)
    items = collect(plant, WEAK, [ENDPOINTS, CLIENT_TRUST, CLIENT_LOG], probe_client_trust=False)
    assert data(items, CLIENT_TRUST)["attempted"] is False
    assert plant.simulators[WEAK].services(before) == ["GetEndpoints"]
    verdict = check_verdicts(list(items.values()), ["opcua.channel.client-trust"])["opcua.channel.client-trust"]
    assert verdict.status == "manual" and "probe_client_trust" in verdict.reason
