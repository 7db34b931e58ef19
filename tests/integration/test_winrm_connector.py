"""The WinRM connector against the WS-Management test server (simulators/winrm) on 127.0.41.x.

What is proven here is the connector (pypsrp's WinRS over real HTTP and TLS) against our own test server, not
against a real Windows: certificate validation, the HTTP opt-in and its finding, wrong passwords, hostile
answers, exactly which WS-Management operations are sent, and that the evidence and verdicts equal those of the
same fixture read over OpenSSH for Windows.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.evidence import EvidenceRequest
from auditor.plant.inventory import Inventory
from auditor.registry import REGISTRY
from checks.windows.facts.access import WINRM_SESSION
from connectors import ConnectorError, ScanOptions
from connectors.windows.script import bootstrap_command
from connectors.winrm.connector import WinrmConnector
from connectors.winrm.transport import OPERATIONS
from simulators.plant import Plant, PlantHost
from simulators.winrm.pki import WinrmPki
from simulators.winrm.server import WinrmSimulator

PASSWORD = "winrm-test-pw"
SECTIONS = [r for r in REGISTRY.load().named_requests().values() if r.op == "powershell"]


def connector(sim: WinrmSimulator, tmp_path: Path, monkeypatch, **fields) -> WinrmConnector:
    monkeypatch.setenv("WINRM_TEST_PW", fields.pop("password", PASSWORD))
    endpoint = {"protocol": "winrm", "port": sim.port, "username": "auditor", "password_env": "WINRM_TEST_PW",
                "auth": "basic", "timeout": 3, "requests_per_second": 50, **fields}
    if "ca_file" not in endpoint and sim.pki is not None:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(sim.pki.ca_pem)
        endpoint["ca_file"] = str(ca)
    inventory = Inventory.model_validate({"assets": [{"id": "w", "type": "host", "address": sim.host,
                                                      "endpoints": [endpoint]}]})
    asset = inventory.assets[0]
    return WinrmConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20))


def collect(conn: WinrmConnector, requests: list[EvidenceRequest] | None = None):
    return asyncio.run(conn.collect(SECTIONS + [WINRM_SESSION] if requests is None else requests))


def test_https_with_the_trusted_ca_reads_every_section_with_only_the_winrs_operations(tmp_path, monkeypatch,
                                                                                     caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with WinrmSimulator("windows-hardened", "127.0.41.1", password=PASSWORD) as sim:
        items = collect(connector(sim, tmp_path, monkeypatch))
        log = sim.requests
    basic = base64.b64encode(f"auditor:{PASSWORD}".encode()).decode()
    assert "Sending message" in caplog.text  # pypsrp's debug log ran, and shows neither the password nor the header
    assert PASSWORD not in caplog.text and basic not in caplog.text
    assert [i.status for i in items] == ["ok"] * len(items) and len(items) == len(SECTIONS) + 1
    assert [r["op"] for r in log] == list(OPERATIONS)  # one of each, in this order, and nothing else
    assert {r["scheme"] for r in log} == {"https"}
    command = next(r for r in log if r["op"] == "command")
    assert command["command"] == bootstrap_command()
    sent = next(r for r in log if r["op"] == "send" and r.get("sections"))
    assert [s["command"] for s in sent["sections"]] == [r.target for r in SECTIONS]
    assert all(s["name"] for s in sent["sections"])
    info = json.loads(items[-1].text())
    assert (info["scheme"], info["certificate_validated"], info["encryption"], info["exit_code"]) == (
        "https", True, "tls", 0)
    assert info["operations"] == {"create": 1, "command": 1, "send": 1, "receive": 1, "signal": 1, "delete": 1}
    assert PASSWORD not in json.dumps([i.model_dump(mode="json") for i in items])


def test_a_certificate_from_another_ca_is_refused_with_a_clear_reason(tmp_path, monkeypatch) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(WinrmPki.create("127.0.41.2", "Some other CA").ca_pem)
    with WinrmSimulator("windows-hardened", "127.0.41.2", password=PASSWORD) as sim:
        with pytest.raises(ConnectorError, match=r"TLS to 127\.0\.41\.2:\d+ failed: certificate verify failed.*ca_file"):
            collect(connector(sim, tmp_path, monkeypatch, ca_file=str(other)))
        assert not [r for r in sim.requests if r["op"] != "refused"]  # nothing reached the service


def test_plain_http_is_never_spoken_without_the_opt_in(tmp_path, monkeypatch) -> None:
    with WinrmSimulator("windows-weak", "127.0.41.3", https=False, password=PASSWORD) as sim:
        with pytest.raises(ConnectorError, match="TLS to 127.0.41.3"):
            collect(connector(sim, tmp_path, monkeypatch))
        assert sim.requests == []


def test_plain_http_with_the_opt_in_is_read_and_fails_the_winrm_check(tmp_path, monkeypatch) -> None:
    with WinrmSimulator("windows-hardened", "127.0.41.4", https=False, password=PASSWORD) as sim:
        conn = connector(sim, tmp_path, monkeypatch, allow_http=True)
        plan = conn.plan(SECTIONS + [WINRM_SESSION])
        items = collect(conn)
        assert {r["scheme"] for r in sim.requests} == {"http"}
    assert "plain HTTP (allow_http: the report flags it)" in plan.steps[0].detail
    assert all(i.status == "ok" for i in items)
    info = json.loads(items[-1].text())
    assert (info["scheme"], info["encryption"], info["allow_http"]) == ("http", "none", True)
    from tests.unit.windows.evidence import WindowsEvidence

    over_http = WindowsEvidence("windows-hardened")
    over_http.session = ("winrm", info)
    verdict = over_http.check("windows.winrm.unencrypted")
    assert verdict.status == "fail" and "plain HTTP" in verdict.reason


def test_a_wrong_password_is_an_authentication_error(tmp_path, monkeypatch) -> None:
    with WinrmSimulator("windows-hardened", "127.0.41.5", password=PASSWORD) as sim:
        with pytest.raises(ConnectorError, match=r"authentication as 'auditor' with basic failed \(HTTP 401\)"):
            collect(connector(sim, tmp_path, monkeypatch, password="wrong"))
        assert {r["op"] for r in sim.requests} == {"refused"}


@pytest.mark.parametrize("hostile, unusable, reason", [
    ("garbage", True, "not XML"),
    ("no-shell-id", True, "no ShellId"),
    ("wrong-relates", True, "not usable: Received related id does not match"),
    ("fault-on-command", False, "WS-Management fault 5: Access is denied"),
    ("huge", False, "(limit 4194304)"),
    ("endless", False, "time limit for the whole script"),
])
def test_a_hostile_server_gives_error_evidence_never_a_traceback(tmp_path, monkeypatch, hostile, unusable,
                                                                 reason) -> None:
    with WinrmSimulator("windows-hardened", "127.0.41.6", password=PASSWORD, hostile=hostile) as sim:
        conn = connector(sim, tmp_path, monkeypatch)
        if hostile == "endless":
            conn.options = ScanOptions(command_timeout=2)
        if unusable:
            with pytest.raises(ConnectorError, match=reason):
                collect(conn)
            return
        items = collect(conn)
        ops = [r["op"] for r in sim.requests]
    sections = [i for i in items if i.request.op == "powershell"]
    assert sections and all(i.status == "error" for i in sections)
    assert reason in sections[0].error
    assert ops[0] == "create" and ops[-1] == "delete"  # the shell is deleted whatever happened


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_ntlm_over_https_with_the_channel_binding(tmp_path, monkeypatch, auth) -> None:
    """pypsrp's NTLM (and Negotiate falling back to it) against pyspnego's acceptor, which requires the binding."""
    users = tmp_path / "ntlm-users"
    users.write_text(f"PLANT:auditor:{PASSWORD}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    with WinrmSimulator("windows-weak", "127.0.41.8", password=PASSWORD, ntlm=True) as sim:
        items = collect(connector(sim, tmp_path, monkeypatch, auth=auth, username="PLANT\\auditor"))
        assert all(i.status == "ok" for i in items) and len(items) == len(SECTIONS) + 1
        with pytest.raises(ConnectorError, match=f"with {auth} failed"):
            collect(connector(sim, tmp_path, monkeypatch, auth=auth, username="PLANT\\auditor", password="wrong"))
        # a binding to another certificate (a TLS-intercepting middlebox) is refused by the acceptor
        other = WinrmPki.create("127.0.41.8").cert_pem
        monkeypatch.setattr(sim, "pki", type(sim.pki)(sim.pki.ca_pem, other, sim.pki.key_pem))
        with pytest.raises(ConnectorError, match=f"with {auth} failed"):
            collect(connector(sim, tmp_path, monkeypatch, auth=auth, username="PLANT\\auditor", ca_file=str(
                tmp_path / "ca.pem")))


def test_the_session_alone_creates_and_deletes_a_shell(tmp_path, monkeypatch) -> None:
    with WinrmSimulator("windows-hardened", "127.0.41.7", password=PASSWORD) as sim:
        items = collect(connector(sim, tmp_path, monkeypatch), [WINRM_SESSION])
        assert [r["op"] for r in sim.requests] == ["create", "delete"]
    assert [i.request.key for i in items] == ["winrm:session:info"]


def test_an_ad_hoc_winrm_target_is_scanned(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WINRM_TEST_PW", PASSWORD)
    with WinrmSimulator("windows-hardened", "127.0.41.9", password=PASSWORD) as sim:
        (tmp_path / "ca.pem").write_bytes(sim.pki.ca_pem)
        result = CliRunner().invoke(cli, ["scan", f"winrm://auditor@127.0.41.9:{sim.port}", "--type", "host",
                                          "--password-env", "WINRM_TEST_PW", "--set", f"ca_file={tmp_path}/ca.pem",
                                          "--set", "auth=basic", "--sl", "1", "--out", str(tmp_path / "out"),
                                          "--quiet"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    asset = json.loads((tmp_path / "out" / "result.json").read_text())["assets"][0]
    assert asset["status"] == "assessed"
    assert len([r for r in asset["results"] if r["check_id"].startswith("windows.")]) >= 35


HOSTS = [PlantHost("w-ssh", "windows-weak", "127.0.41.11", "dmz"),
         PlantHost("w-winrm", "windows-weak", "127.0.41.12", "dmz", protocol="winrm"),
         PlantHost("h-ssh", "windows-hardened", "127.0.41.13", "dmz"),
         PlantHost("h-winrm", "windows-hardened", "127.0.41.14", "dmz", protocol="winrm")]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("winrm-plant")
    with Plant(root / "plant", HOSTS) as plant:
        shown = CliRunner().invoke(cli, ["scan", "-i", str(plant.inventory_path), "--plan", "--json"],
                                   catch_exceptions=False)
        result = CliRunner().invoke(cli, ["scan", "-i", str(plant.inventory_path), "--sl", "2",
                                          "--out", str(root / "out"), "--quiet"], catch_exceptions=False)
        logs = {host: sim.requests for host, sim in plant.simulators.items()}
    return json.loads(shown.output), result, root / "out", logs


def test_the_same_fixture_gives_the_same_evidence_and_verdicts_over_ssh_and_winrm(scanned) -> None:
    _, result, out, _ = scanned
    assert result.exit_code == 1, result.output
    bundle = {a["asset"]: a for a in json.loads((out / "evidence.json").read_text())["assets"]}
    assets = {a["id"]: a for a in json.loads((out / "result.json").read_text())["assets"]}
    for ssh, winrm in (("w-ssh", "w-winrm"), ("h-ssh", "h-winrm")):
        def sections(asset):
            return {i["request"]["target"]: (i["status"], i["exit_code"], i["response"])
                    for i in bundle[asset]["items"] if i["request"]["op"] == "powershell"}
        assert sections(ssh) == sections(winrm) and len(sections(ssh)) == len(SECTIONS)
        verdicts = {a: {r["check_id"]: r["status"] for r in assets[a]["results"]} for a in (ssh, winrm)}
        assert verdicts[ssh] == verdicts[winrm] and len(verdicts[ssh]) >= 35
        assert assets[ssh]["sl_achieved"] == assets[winrm]["sl_achieved"]
    assert assets["h-winrm"]["status"] == "assessed" and not assets["h-winrm"]["technical"]["unmet"]
    access = next(r for r in assets["h-winrm"]["results"] if r["check_id"] == "windows.winrm.unencrypted")
    assert access["observed"]["audit_connection"]["scheme"] == "https"


def test_the_plan_describes_what_the_test_server_records(scanned) -> None:
    plan, _, _, logs = scanned
    endpoint = next(a for a in plan["assets"] if a["asset"] == "h-winrm")["endpoints"][0]
    assert endpoint["protocol"] == "winrm"
    sent = [s for s in endpoint["steps"] if s["count"] != 0 and s["operation"] not in ("connect", "section")]
    recorded = [r["op"] for r in logs["h-winrm"]]
    for step in sent:
        done = recorded.count(step["operation"])
        assert done == step["count"] if step["count"] is not None else done >= 1, (step, recorded)
    assert set(recorded) == {s["operation"] for s in sent}
    command = next(s for s in endpoint["steps"] if s["operation"] == "command")
    assert command["target"] == next(r["command"] for r in logs["h-winrm"] if r["op"] == "command")
    planned = [s["target"] for s in endpoint["steps"] if s["operation"] == "section"]
    script = next(r for r in logs["h-winrm"] if r.get("sections"))
    assert planned == [s["command"] for s in script["sections"]]
