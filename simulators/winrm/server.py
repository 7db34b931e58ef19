"""A WS-Management test server: the WinRS subset a WinRM client uses to run one command, answering from a fixture.

:class:`WinrmSimulator` listens on a loopback address over HTTPS (a certificate from :mod:`simulators.winrm.pki`)
or plain HTTP, accepts HTTP Basic authentication of one user (401 otherwise) or, with ``ntlm=True`` over HTTPS,
NTLM in ``Negotiate`` headers once per connection, with the channel binding of its certificate required
(Extended Protection; pyspnego's acceptor, which reads the user's password from the
file named by the ``NTLM_USER_FILE`` environment variable, ``DOMAIN:USER:PASSWORD`` lines), and implements, in the SOAP shapes
of MS-WSMV: **Create** a shell (``ShellId``), **Command** (``CommandId``), **Send** (stdin, base64, until
``End="true"``), **Receive** (stdout in base64 ``Stream`` elements, then ``CommandState Done`` with the
``ExitCode``), **Signal** and **Delete**, each answer with ``RelatesTo`` equal to the request's ``MessageID``.
Anything else gets a WS-Management fault (HTTP 500). It is a test server, not Windows: no Kerberos or CredSSP,
no NTLM over plain HTTP (no message encryption), no PSRP.

A command is answered as cmd.exe would pass it on: the auditor's PowerShell bootstrap
(:func:`simulators.ssh.powershell_reader.is_bootstrap`) with its script read from stdin by the SSH simulator's
reader and answered section by section from the same Windows fixtures
(:func:`simulators.ssh.server.powershell_sections`); any other command gets cmd.exe's "is not recognized".

Every request is recorded in :attr:`WinrmSimulator.requests` (operation, action, the command line, the script and
the names of its sections), so a test can prove what a scan sent. ``hostile`` makes the server misbehave in one
way (see :data:`HOSTILE`) for the connector's robustness tests.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import ssl
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from xml.sax.saxutils import escape

import spnego
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from defusedxml import ElementTree as SafeET
from spnego.channel_bindings import GssChannelBindings

from simulators.ssh.powershell_reader import NotAPowerShellScript, is_bootstrap, read_powershell_script
from simulators.ssh.server import Answer, RequestNames, load_fixture, not_recognized, powershell_sections
from simulators.winrm.pki import WinrmPki

__all__ = ["HOSTILE", "WinrmSimulator"]

log = logging.getLogger(__name__)

S = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
WST = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
#: Action URI -> the operation it is recorded as.
OPERATIONS = {_TRANSFER + "Create": "create", _SHELL + "Command": "command", _SHELL + "Send": "send",
              _SHELL + "Receive": "receive", _SHELL + "Signal": "signal", _TRANSFER + "Delete": "delete"}
_DONE = _SHELL + "CommandState/Done"
_RUNNING = _SHELL + "CommandState/Running"
_MAX_BODY = 4 * 1024 * 1024
_MAX_STDIN = 16 * 1024 * 1024
_CHUNK = 64 * 1024  # stdout bytes per Receive answer
#: Ways the server misbehaves: garbage (Create answers text, not XML), huge (a Receive answer over the client's
#: limit), wrong-relates (RelatesTo of another message), no-shell-id (Create without a ShellId), endless (a hung
#: command: Receive never brings output nor Done), fault-on-command (Command answers "Access is denied").
HOSTILE = ("garbage", "huge", "wrong-relates", "no-shell-id", "endless", "fault-on-command")


class _Command:
    def __init__(self, line: str) -> None:
        self.id = str(uuid.uuid4()).upper()
        self.line = line
        self.stdin = bytearray()
        self.output: Iterator[bytes | int] | None = None
        self.exit_code: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client that hangs up is no error
        log.debug("winrm simulator: connection from %s ended", client_address, exc_info=True)


class WinrmSimulator:
    """A WS-Management server on loopback answering WinRS commands from a Windows fixture (see the module)."""

    def __init__(self, fixture: str | Path = "windows-hardened", host: str = "127.0.0.1", port: int = 0, *,
                 username: str = "auditor", password: str = "", https: bool = True, pki: WinrmPki | None = None,
                 hostile: str | None = None, ntlm: bool = False) -> None:
        if hostile is not None and hostile not in HOSTILE:
            raise ValueError(f"hostile must be one of {', '.join(HOSTILE)}")
        self.fixture = load_fixture(fixture)
        self.request_names = RequestNames()
        self.host = host
        self.https = https
        self.username = username
        self.password = password
        self.hostile = hostile
        self.ntlm = ntlm
        self.pki = pki or (WinrmPki.create(host) if https else None)
        self._requested_port = port
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._shells: dict[str, dict[str, _Command]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- public API
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of every request so far: ``{"op", "action", "scheme", "shell", ...}`` (and refused logins)."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}/wsman"

    def start(self) -> "WinrmSimulator":
        server = _Server((self.host, self._requested_port), self._handler())
        if self.https:
            assert self.pki is not None
            self._tmp = tempfile.TemporaryDirectory(prefix="winrm-sim-")
            cert, key = Path(self._tmp.name) / "server.crt", Path(self._tmp.name) / "server.key"
            cert.write_bytes(self.pki.cert_pem)
            key.write_bytes(self.pki.key_pem)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"winrm-sim-{self.host}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(3)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "WinrmSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"WinrmSimulator({self.fixture.name!r}, {self.url})"

    # -- the WinRS operations
    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append({"time": time.time(), "scheme": "https" if self.https else "http", **entry})

    def answer(self, body: bytes) -> tuple[int, bytes]:
        """HTTP status and body for one authenticated WS-Management message."""
        try:
            envelope = SafeET.fromstring(body)
        except Exception:  # noqa: BLE001 - whatever the client sent, it is recorded and refused
            self._record({"op": "invalid", "action": None})
            return 400, b""
        action = _text(envelope, f"{{{S}}}Header/{{{WSA}}}Action")
        message_id = _text(envelope, f"{{{S}}}Header/{{{WSA}}}MessageID")
        shell_id = next((s.text for s in envelope.iter(f"{{{WSMAN}}}Selector") if s.get("Name") == "ShellId"), None)
        op = OPERATIONS.get(action or "")
        entry: dict[str, Any] = {"op": op or "other", "action": action, "shell": shell_id,
                                 "resource_uri": _text(envelope, f"{{{S}}}Header/{{{WSMAN}}}ResourceURI")}
        if op is None:
            self._record(entry)
            return 500, self._fault(message_id, "ActionNotSupported", "The action is not supported by the service.")
        shell = self._shells.get(shell_id or "")
        if op != "create" and shell is None:
            self._record(entry)
            return 500, self._fault(message_id, "InvalidSelectors", "The shell was not found.")
        body_xml = envelope.find(f"{{{S}}}Body")
        content, relates = getattr(self, f"_{op}")(body_xml, shell, entry), message_id
        self._record(entry)
        if isinstance(content, tuple):  # a fault
            return content
        if self.hostile == "wrong-relates":
            relates = f"uuid:{uuid.uuid4()}"
        return 200, self._envelope((action or "") + "Response", relates, content)

    def _create(self, _body: Any, _shell: Any, entry: dict[str, Any]) -> str | tuple[int, bytes]:
        shell_id = str(uuid.uuid4()).upper()
        self._shells[shell_id] = {}
        entry["shell"] = shell_id
        if self.hostile == "garbage":
            return 200, b"this is not a WS-Management answer"
        if self.hostile == "no-shell-id":
            return f"<rsp:Shell xmlns:rsp='{RSP}'></rsp:Shell>"
        return (f"<x:ResourceCreated xmlns:x='{WST}' xmlns:a='{WSA}' xmlns:w='{WSMAN}'><a:Address>{self.url}"
                f"</a:Address><a:ReferenceParameters><w:ResourceURI>{_SHELL}cmd</w:ResourceURI><w:SelectorSet>"
                f"<w:Selector Name='ShellId'>{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>"
                f"</x:ResourceCreated><rsp:Shell xmlns:rsp='{RSP}'><rsp:ShellId>{shell_id}</rsp:ShellId>"
                f"<rsp:ResourceUri>{_SHELL}cmd</rsp:ResourceUri><rsp:Owner>{escape(self.username)}</rsp:Owner>"
                f"<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>"
                f"</rsp:Shell>")

    def _command(self, body: Any, shell: dict[str, _Command], entry: dict[str, Any]) -> str | tuple[int, bytes]:
        line = body.find(f"{{{RSP}}}CommandLine") if body is not None else None
        parts = [] if line is None else [line.findtext(f"{{{RSP}}}Command") or ""] + [
            a.text or "" for a in line.findall(f"{{{RSP}}}Arguments")]
        command = _Command(" ".join(parts))
        entry["command"] = command.line
        if self.hostile == "fault-on-command":
            return 500, self._fault(None, "AccessDenied", "Access is denied.", code=5)
        shell[command.id] = command
        entry["command_id"] = command.id
        return f"<rsp:CommandResponse xmlns:rsp='{RSP}'><rsp:CommandId>{command.id}</rsp:CommandId></rsp:CommandResponse>"

    def _send(self, body: Any, shell: dict[str, _Command], entry: dict[str, Any]) -> str:
        stream = body.find(f"{{{RSP}}}Send/{{{RSP}}}Stream") if body is not None else None
        command = shell.get(stream.get("CommandId", "") if stream is not None else "")
        if command is None or stream is None:
            return f"<rsp:SendResponse xmlns:rsp='{RSP}'/>"
        try:
            data = base64.b64decode(stream.text or "", validate=True)
        except binascii.Error:
            data = b""
        if len(command.stdin) + len(data) <= _MAX_STDIN:
            command.stdin += data
        entry.update(command_id=command.id, bytes=len(data), end=stream.get("End") in ("true", "True"))
        if entry["end"] and command.output is None:
            command.output = self._run(command, entry)
        return f"<rsp:SendResponse xmlns:rsp='{RSP}'/>"

    def _run(self, command: _Command, entry: dict[str, Any]) -> Iterator[bytes | int]:
        """cmd.exe's view: only the PowerShell bootstrap does anything, with the script it read from stdin."""
        if not is_bootstrap(command.line):
            return iter([not_recognized(command.line).stdout, 1])
        script = command.stdin.decode("utf-8", "replace")
        try:
            parsed = read_powershell_script(script)
        except NotAPowerShellScript as exc:
            entry.update(script=script, error=str(exc))
            return iter([f"ERROR: {exc}\r\n".encode(), 1])
        entry.update(script=script, sections=[{"index": i, "command": c, "name": self.request_names.name_of(c)}
                                              for i, c in enumerate(parsed.sections)])
        return powershell_sections(self.fixture, self.request_names, parsed, self._output)

    def _output(self, answer: Answer, timeout: float | None) -> Iterator[bytes | int]:
        if answer.sleep and timeout is not None and answer.sleep >= timeout:
            yield 124
            return
        data = answer.stdout.replace(b"{port}", str(self.port).encode())
        yield data * max(1, answer.repeat)
        yield answer.exit

    def _receive(self, body: Any, shell: dict[str, _Command], entry: dict[str, Any]) -> str:
        desired = body.find(f"{{{RSP}}}Receive/{{{RSP}}}DesiredStream") if body is not None else None
        command = shell.get(desired.get("CommandId", "") if desired is not None else "")
        if command is None:
            return f"<rsp:ReceiveResponse xmlns:rsp='{RSP}'/>"
        entry["command_id"] = command.id
        out = bytearray()
        if self.hostile == "huge":
            out += b"A" * (5 * 1024 * 1024)
        elif command.output is not None and command.exit_code is None and self.hostile != "endless":
            for chunk in command.output:
                if isinstance(chunk, int):
                    command.exit_code = chunk
                    break
                out += chunk
                if len(out) >= _CHUNK:
                    break
        streams = (f"<rsp:Stream Name='stdout' CommandId='{command.id}'>{base64.b64encode(bytes(out)).decode()}"
                   f"</rsp:Stream>") if out else ""
        done = command.exit_code is not None and self.hostile != "endless"
        state = (f"<rsp:CommandState CommandId='{command.id}' State='{_DONE}'><rsp:ExitCode>{command.exit_code}"
                 f"</rsp:ExitCode></rsp:CommandState>") if done else \
            f"<rsp:CommandState CommandId='{command.id}' State='{_RUNNING}'/>"
        entry.update(bytes=len(out), done=done)
        return f"<rsp:ReceiveResponse xmlns:rsp='{RSP}'>{streams}{state}</rsp:ReceiveResponse>"

    def _signal(self, body: Any, shell: dict[str, _Command], entry: dict[str, Any]) -> str:
        signal = body.find(f"{{{RSP}}}Signal") if body is not None else None
        entry.update(command_id=signal.get("CommandId") if signal is not None else None,
                     code=signal.findtext(f"{{{RSP}}}Code") if signal is not None else None)
        shell.pop(entry["command_id"] or "", None)
        return f"<rsp:SignalResponse xmlns:rsp='{RSP}'/>"

    def _delete(self, _body: Any, _shell: Any, entry: dict[str, Any]) -> str:
        self._shells.pop(entry["shell"] or "", None)
        return ""

    # -- SOAP
    @staticmethod
    def _envelope(action: str, relates_to: str | None, body: str) -> bytes:
        return (f"<s:Envelope xmlns:s='{S}' xmlns:a='{WSA}'><s:Header><a:Action>{escape(action)}</a:Action>"
                f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:To>"
                f"http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
                f"<a:RelatesTo>{escape(relates_to or '')}</a:RelatesTo></s:Header><s:Body>{body}</s:Body>"
                f"</s:Envelope>").encode("utf-8")

    @staticmethod
    def _fault(relates_to: str | None, subcode: str, reason: str, code: int = 2150858770) -> bytes:
        return (f"<s:Envelope xmlns:s='{S}' xmlns:a='{WSA}' xmlns:w='{WSMAN}'><s:Header><a:Action>"
                f"http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:RelatesTo>{escape(relates_to or '')}"
                f"</a:RelatesTo></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>"
                f"<s:Value>w:{subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang='en-US'>"
                f"{escape(reason)}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f='{FAULT}' Code='{code}' "
                f"Machine='sim'><f:Message>{escape(reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
                f"</s:Body></s:Envelope>").encode("utf-8")

    def channel_bindings(self) -> GssChannelBindings | None:
        """RFC 5929 ``tls-server-end-point`` of the HTTPS certificate: NTLM must carry it (Extended Protection)."""
        if not self.https or self.pki is None:
            return None
        cert = x509.load_pem_x509_certificate(self.pki.cert_pem)
        digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
        return GssChannelBindings(application_data=b"tls-server-end-point:" + digest)

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.username and password == self.password

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "Microsoft-HTTPAPI/2.0"
            sys_version = ""
            ntlm_context: Any = None  # one handler per connection: NTLM authenticates the connection
            authenticated = False

            def log_message(self, *args: Any) -> None:  # the request log is the record
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if body:
                    self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != "/wsman" or length > _MAX_BODY:
                    self._reply(404, b"")
                    return
                body = self.rfile.read(length)
                if sim.ntlm:
                    if not self._ntlm():
                        return
                elif not sim._authorized(self.headers.get("Authorization")):
                    sim._record({"op": "refused", "action": None, "reason": "authentication"})
                    self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
                    return
                status, answer = sim.answer(body)
                self._reply(status, answer)

            def _ntlm(self) -> bool:
                """True once the connection is authenticated; else the 401 of the next NTLM leg was sent."""
                if self.authenticated:
                    return True
                scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
                try:
                    if scheme.lower() != "negotiate" or not token:
                        raise ValueError("no Negotiate token")
                    if self.ntlm_context is None:
                        self.ntlm_context = spnego.server(protocol="negotiate", channel_bindings=sim.channel_bindings())
                    answer = self.ntlm_context.step(base64.b64decode(token))
                except Exception as exc:  # noqa: BLE001 - any failed leg is a refused login
                    if scheme:
                        sim._record({"op": "refused", "action": None, "reason": f"ntlm: {type(exc).__name__}"})
                    self.ntlm_context = None
                    self._reply(401, b"", {"WWW-Authenticate": "Negotiate"})
                    return False
                if not self.ntlm_context.complete:
                    self._reply(401, b"", {"WWW-Authenticate": f"Negotiate {base64.b64encode(answer or b'').decode()}"})
                    return False
                self.authenticated = True
                return True

            def do_GET(self) -> None:  # noqa: N802
                self._reply(405, b"")

        return Handler


def _text(element: Any, path: str) -> str | None:
    found = element.find(path)
    return found.text.strip() if found is not None and found.text else None
