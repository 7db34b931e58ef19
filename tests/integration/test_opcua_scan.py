"""End to end through the CLI: a plant of a weak and a hardened OPC UA server is scanned; every OPC UA check
flips between them, the evidence holds the DER certificates and no secret, rescoring offline gives the same
verdicts, and the servers saw nothing but discovery, session and read/browse services."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from cryptography import x509
from opcua_support import HARDENED, WEAK, forbidden_services, shared_plant

from auditor.cli import cli
from auditor.registry import REGISTRY
from reports.json_report import load_evidence, result_schema

REQUIRED = ["opcua.endpoint.security-policy-none", "opcua.endpoint.deprecated-policy", "opcua.endpoint.sign-only",
            "opcua.auth.anonymous", "opcua.auth.password-over-insecure-channel", "opcua.certificate.key-strength",
            "opcua.certificate.signature-hash", "opcua.certificate.validity", "opcua.certificate.self-signed",
            "opcua.server.auditing", "opcua.identity.build-info"]
EXTRA = ["opcua.variables.anonymous-write", "opcua.discovery.exposure", "opcua.variables.role-permissions",
         "opcua.channel.client-trust", "opcua.server.operation-limits", "opcua.session.timeout",
         "opcua.variables.per-user-rights", "opcua.server.audit-events", "opcua.auth.user-token-protection",
         "opcua.roles.identity-mappings"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def verdicts(path: Path) -> dict[str, dict[str, dict]]:
    data = json.loads(path.read_text())
    return {a["id"]: {r["check_id"]: r for r in a["results"]} for a in data["assets"]}


@pytest.fixture(scope="module")
def plant():
    return shared_plant()


@pytest.fixture(scope="module")
def scanned(plant, tmp_path_factory):
    out = tmp_path_factory.mktemp("opcua-out")
    before = {h: len(plant.simulators[h].requests) for h in (WEAK, HARDENED)}
    result = run("scan", "--inventory", str(plant.inventory_path), "--sl", "2", "--out", str(out), "--quiet")
    new = {h: plant.simulators[h].requests[before[h]:] for h in (WEAK, HARDENED)}
    return result, out, new


def test_every_opcua_check_flips_between_weak_and_hardened(scanned) -> None:
    result, out, _ = scanned
    assert result.exit_code == 1, result.output  # the weak gateway falls short of SL 2
    data = json.loads((out / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    assert {a["id"]: a["status"] for a in data["assets"]} == {WEAK: "assessed", HARDENED: "assessed"}
    found = verdicts(out / "result.json")
    opcua_checks = {c.id for c in REGISTRY.load().for_type("application") if c.id.startswith("opcua.")}
    assert set(REQUIRED + EXTRA) <= opcua_checks
    for check_id in REQUIRED + EXTRA:
        weak, hardened = found[WEAK][check_id], found[HARDENED][check_id]
        assert weak["status"] == "fail", (check_id, weak)
        assert hardened["status"] == "pass", (check_id, hardened)
        assert weak["evidence"] and hardened["evidence"], "a verdict must name its evidence"
    # the weak gateway announces the wildcard address; the hardened server one address, whose network only the
    # site knows (allowed_networks is not set here)
    networks = "opcua.endpoint.advertised-networks"
    assert (found[WEAK][networks]["status"], found[HARDENED][networks]["status"]) == ("fail", "manual")
    assert "0.0.0.0" in found[WEAK][networks]["reason"]
    hardened_asset = next(a for a in data["assets"] if a["id"] == HARDENED)
    # no technical finding, yet short of SL-T until a person answers what OPC UA reads cannot judge
    assert not hardened_asset["technical"]["unmet"] and hardened_asset["technical"]["open"]
    assert hardened_asset["sl_achieved"]["FR1"] == 0 and not hardened_asset["meets_target"]


def test_evidence_holds_the_der_certificates_and_no_secret(plant, scanned) -> None:
    _, out, _ = scanned
    bundle = load_evidence(out / "evidence.json")  # verifies every item's hash
    by_asset = {a.asset: {i.request.key: i for i in a.items} for a in bundle.assets}
    weak_endpoints = by_asset[WEAK]["opcua:get_endpoints:server"].data()
    cert = x509.load_der_x509_certificate(base64.b64decode(weak_endpoints[0]["server_certificate"]))
    assert cert.public_key().key_size == 1024
    text = (out / "evidence.json").read_text() + (out / "result.json").read_text()
    for host in (WEAK, HARDENED):
        password = (plant.workdir / f"opcua-{host}.password").read_text().strip()
        assert password not in text
    log = by_asset[HARDENED]["opcua:client:log"].data()
    assert [c["purpose"] for c in log["connections"]] == ["discovery", "credentials", "client-trust probe"]


def test_scan_was_read_only(plant, scanned) -> None:
    _, _, new = scanned
    # the audit account's session (its reads, the RoleSet: its roles, their properties and one Read of who holds
    # each, and the bounded browse), then the untrusted-certificate probe, refused at CreateSession
    assert [r["service"] for r in new[HARDENED] if r["kind"] == "service"] == [
        "GetEndpoints", "FindServers", "CreateSession", "ActivateSession", "Read", "Browse", "Browse", "Read", "Read",
        "Read", "Browse", "Browse", "Browse", "Read", "CloseSession", "CreateSession"]
    weak_services = [r["service"] for r in new[WEAK] if r["kind"] == "service"]
    assert set(weak_services) == {"GetEndpoints", "FindServers", "CreateSession", "ActivateSession", "Browse",
                                  "Read", "CloseSession"}
    assert "Write" not in weak_services and "Call" not in weak_services
    assert forbidden_services(plant) == []


def test_rescore_is_offline_and_identical(scanned, tmp_path, monkeypatch) -> None:
    _, out, _ = scanned

    def no_network(*args, **kwargs):
        raise AssertionError("rescore must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    same = run("rescore", str(out / "evidence.json"), "--sl", "2", "--out", str(tmp_path / "sl2"), "--quiet")
    assert same.exit_code == 1, same.output
    assert verdicts(tmp_path / "sl2" / "result.json") == verdicts(out / "result.json")
    sl1 = run("rescore", str(out / "evidence.json"), "--sl", "1", "--out", str(tmp_path / "sl1"), "--quiet")
    assert sl1.exit_code in (0, 1), sl1.output
    rescored = verdicts(tmp_path / "sl1" / "result.json")
    assert rescored[WEAK]["opcua.certificate.self-signed"]["status"] == "manual"  # allowed at SL 1, never a pass
