"""WinRM without a server: the inventory endpoint, where a Windows host's reads go, the transport's bounds and error
reasons, the plan, and the WinRM check on how the host was reached."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest
import requests
from pydantic import ValidationError
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

from auditor.engine import needed_reads
from auditor.plant.inventory import Inventory
from auditor.plant.planning import plan_assets
from auditor.registry import REGISTRY
from checks.windows.facts.access import WINRM_SESSION
from connectors import ScanOptions
from connectors.windows.script import bootstrap_command
from connectors.winrm import limits
from connectors.winrm.connector import WinrmConnector
from connectors.winrm.transport import ResponseTooLarge, WinrsSettings, _bounded, _Paced, _Sockets, _watch, describe
from tests.unit.windows.evidence import WindowsEvidence

WINRM = {"protocol": "winrm", "username": "auditor", "password_env": "UNUSED_WINRM_PW"}
SSH = {"protocol": "ssh", "username": "auditor", "key_file": "/nonexistent/key"}
SETTINGS = WinrsSettings(host="127.0.41.9", port=5986, path="wsman", https=True, username="auditor",
                         auth="negotiate", verify=True, connect_timeout=3, requests_per_second=5)


def inventory(*endpoints: dict, **asset: object) -> Inventory:
    return Inventory.model_validate({"assets": [{"id": "w", "type": "host", "address": "127.0.41.9",
                                                 "endpoints": list(endpoints), **asset}]})


def test_a_winrm_endpoint_is_https_by_default_and_its_host_windows() -> None:
    asset = inventory(WINRM).assets[0]
    endpoint = asset.endpoints[0]
    assert asset.platform == "windows"
    assert (endpoint.port, endpoint.allow_http, endpoint.auth, endpoint.ca_file) == (5986, False, "negotiate", None)
    assert inventory({**WINRM, "allow_http": True}).assets[0].endpoints[0].port == 5985
    assert inventory({**WINRM, "allow_http": True, "port": 8080}).assets[0].endpoints[0].port == 8080


@pytest.mark.parametrize("change, message", [
    ({"password": "x"}, "inline secret 'password'"),
    ({"password_env": None}, "password_env or password_file"),
    ({"auth": "digest"}, "auth"),
    ({"path": "wsman?x=1"}, "path"),
])
def test_a_bad_winrm_endpoint_is_refused(change: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        inventory({**WINRM, **change})


def test_a_winrm_host_cannot_be_declared_linux() -> None:
    with pytest.raises(ValidationError, match="platform must be windows"):
        inventory(WINRM, platform="linux")


def _reads(inv: Inventory) -> dict[str, list[str]]:
    plan = plan_assets(inv, sl=2)[0]
    return {protocol: [r.key for r in reqs] for protocol, _endpoint, reqs in needed_reads(plan, REGISTRY.load())}


def test_a_winrm_host_gets_the_windows_sections_and_its_session_record_over_winrm() -> None:
    reads = _reads(inventory(WINRM))
    assert list(reads) == ["winrm"]
    sections = [k for k in reads["winrm"] if k.startswith("ssh:powershell:")]
    assert len(sections) >= 20 and "winrm:session:info" in reads["winrm"]
    assert not [k for k in reads["winrm"] if k.startswith("ssh:") and not k.startswith("ssh:powershell:")]
    checks = plan_assets(inventory(WINRM), sl=2)[0].profile.checks_for(inventory(WINRM).assets[0], REGISTRY)
    assert any(c.id.startswith("windows.") for c in checks) and not any(c.id.startswith("linux.") for c in checks)


def test_the_first_listed_endpoint_that_serves_a_section_reads_it() -> None:
    reads = _reads(inventory(SSH, WINRM, platform="windows"))
    assert any(k.startswith("ssh:powershell:") for k in reads["ssh"])
    assert reads["winrm"] == ["winrm:session:info"]  # WinRM is still asked how it answers (HTTPS or HTTP)
    reversed_order = _reads(inventory(WINRM, SSH, platform="windows"))
    assert not any(k.startswith("ssh:powershell:") for k in reversed_order["ssh"])


def test_an_ssh_only_windows_host_is_unchanged() -> None:
    reads = _reads(inventory(SSH, platform="windows"))
    assert list(reads) == ["ssh"] and "winrm:session:info" not in reads["ssh"]


def _connector(**fields: object) -> WinrmConnector:
    asset = inventory({**WINRM, **fields}).assets[0]
    return WinrmConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=60))


def test_the_plan_lists_every_winrs_operation(monkeypatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the plan opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("UNUSED_WINRM_PW", raising=False)  # the plan reads no secret either
    sections = [r for r in REGISTRY.load().named_requests().values() if r.op == "powershell"]
    plan = _connector(ca_file="/etc/plant-ca.pem").plan(sections + [WINRM_SESSION])
    operations = [s.operation for s in plan.steps]
    assert operations[:4] == ["connect", "create", "command", "send"]
    assert operations[-4:] == ["receive", "signal", "delete", "record"]
    assert operations.count("section") == len(sections)
    assert plan.steps[0].target == "https://127.0.41.9:5986/wsman"
    assert "certificate validated against /etc/plant-ca.pem" in plan.steps[0].detail
    assert plan.steps[2].target == bootstrap_command()
    assert "at most 5 messages/s" in plan.pacing and plan.min_seconds > 0
    http = _connector(allow_http=True, auth="basic").plan(sections)
    assert "the password crosses unencrypted" in http.steps[0].detail
    assert http.steps[0].target.startswith("http://127.0.41.9:5985/")


@pytest.mark.parametrize("exc, expected", [
    (requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
                                  "certificate (_ssl.c:1000)"), "TLS to 127.0.41.9:5986 failed: certificate verify "
                                                                "failed: self-signed certificate"),
    (requests.exceptions.ConnectTimeout("x"), "timed out connecting to 127.0.41.9:5986"),
    (requests.exceptions.ReadTimeout("x"), "did not answer in time"),
    (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), "connection refused by 127.0.41.9:5986"),
    (AuthenticationError("x"), "authentication as 'auditor' with negotiate failed (HTTP 401)"),
    (WSManFaultError(5, "m", "Access is denied.", None, None, None), "WS-Management fault 5: Access is denied."),
    (WinRMTransportError("http", 503, "busy"), "HTTP 503 from the WinRM service"),
    (KeyError("State"), "not usable (KeyError"),
])
def test_every_failure_has_a_one_line_reason(exc: BaseException, expected: str) -> None:
    assert expected in describe(exc, SETTINGS)


class _Raw(io.BytesIO):
    released = False

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:  # type: ignore[override]
        return super().read(amt)

    def release_conn(self) -> None:
        self.released = True


def _response(body: bytes, length: str | None = None) -> requests.Response:
    response = requests.Response()
    response.raw = _Raw(body)
    response.status_code = 200
    if length is not None:
        response.headers["Content-Length"] = length
    return response


def test_an_answer_is_read_up_to_the_limit_before_anything_parses_it() -> None:
    small = _bounded(_response(b"<s:Envelope/>"))
    assert small.content == b"<s:Envelope/>" and small.raw.released
    with pytest.raises(ResponseTooLarge, match="announced an answer of 99999999 bytes"):
        _bounded(_response(b"", str(99_999_999)))
    with pytest.raises(ResponseTooLarge, match="over 4194304 bytes"):
        _bounded(_response(b"A" * (limits.MAX_RESPONSE_BYTES + 10)))


def test_messages_are_paced() -> None:
    sent: list[float] = []
    paced = _Paced(lambda message, **kw: sent.append(time.monotonic()) or b"", 20, threading.Event())
    for _ in range(3):
        paced(b"x")
    assert sent[2] - sent[0] >= 0.09


def test_the_winrm_check_judges_how_the_host_was_reached() -> None:
    https = WindowsEvidence("windows-hardened")
    https.session = ("winrm", {"scheme": "https", "port": 5986, "encryption": "tls"})
    verdict = https.check("windows.winrm.unencrypted")
    assert verdict.status == "pass" and "HTTPS" in verdict.reason
    http = WindowsEvidence("windows-hardened")
    http.session = ("winrm", {"scheme": "http", "port": 5985, "encryption": "negotiate message encryption"})
    verdict = http.check("windows.winrm.unencrypted")
    assert verdict.status == "fail" and "plain HTTP on port 5985" in verdict.reason
    assert WindowsEvidence("windows-hardened").check("windows.winrm.unencrypted").status == "pass"  # over SSH
    unknown = WindowsEvidence("windows-hardened")
    unknown.session = None
    assert unknown.check("windows.winrm.unencrypted").status == "error"
    garbled = WindowsEvidence("windows-hardened")
    garbled.session = ("winrm", {"scheme": "gopher"})
    assert garbled.check("windows.winrm.unencrypted").status == "error"


def test_a_dripping_answer_is_cut_by_the_watchdog() -> None:
    """requests' read timeout restarts with every byte: only shutting the socket down ends a drip."""
    listener = socket.create_server(("127.0.41.9", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"<")
            except OSError:
                break
            stop.wait(0.1)
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    session = requests.Session()
    sockets = _Sockets(session)
    done = threading.Event()
    threading.Thread(target=_watch, args=(sockets, threading.Event(), done, 0.5), daemon=True).start()
    started = time.monotonic()
    with pytest.raises(requests.exceptions.RequestException):
        session.post(f"http://127.0.41.9:{listener.getsockname()[1]}/wsman", data=b"x", timeout=5)
    assert time.monotonic() - started < 3 and sockets.fired.is_set()
    done.set()
    stop.set()
    listener.close()
