"""One WinRS command over WS-Management (pypsrp), bounded in size, time and pace: the blocking half of the connector.

The messages, in order, and nothing else: **Create** a ``cmd`` shell (``pypsrp.shell.WinRS``), **Command** (the
PowerShell bootstrap), **Send** the script on its stdin (as many messages as the server's envelope size needs,
the last one with ``End``), **Receive** until the command is done or the deadline, **Signal** ``Terminate``
for the command and **Delete** the shell. A PSRP runspace is never opened: the script writes to
``[Console]::Out``, which a WinRS process has (see :mod:`connectors.windows.script`).

pypsrp does the HTTP (``requests``), the authentication and, over plain HTTP with NTLM/Kerberos/CredSSP, the
message encryption. Around it: every HTTP answer is read at most :data:`limits.MAX_RESPONSE_BYTES` before pypsrp
parses it (an announced length is checked before pypsrp's authentication hook too); messages are paced
(``requests_per_second``); proxies from the environment are ignored (the scan goes to the address the inventory
names, directly); a connection that cannot be opened is retried :data:`limits.CONNECT_RETRIES` time(s), a POST
that was sent never is (urllib3 retries no POST); a watchdog shuts the sockets down once the time budget is spent.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests
import urllib3
from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError, WSManFaultError
from pypsrp.shell import CommandState, SignalCode, WinRS
from pypsrp.wsman import NAMESPACES, WSMan

from connectors.winrm import limits

log = logging.getLogger(__name__)

__all__ = ["OPERATIONS", "WinrsRun", "WinrsSettings", "WinrmUnusable", "describe", "payload_size", "run_command",
           "system_ca"]

#: The WS-Management operations this transport can send (the simulator's record is compared against it).
OPERATIONS = ("create", "command", "send", "receive", "signal", "delete")
#: WS-Management fault "the operation timed out": a Receive that saw no output within OperationTimeout.
_NO_OUTPUT_YET = 2150858793


class WinrmUnusable(Exception):
    """The endpoint cannot be used at all (unreachable, TLS refused, authentication failed, no shell)."""


class ResponseTooLarge(Exception):
    """An HTTP answer over :data:`limits.MAX_RESPONSE_BYTES`."""


@dataclass(frozen=True)
class WinrsSettings:
    host: str
    port: int
    path: str
    https: bool
    username: str
    auth: str
    verify: bool | str  # True: the default CAs; a path: that PEM bundle (or OpenSSL CA directory)
    connect_timeout: float
    requests_per_second: float


@dataclass
class WinrsRun:
    operations: list[str] = field(default_factory=list)  # what was sent, in order
    shell_id: str | None = None
    exit_code: int | None = None
    stderr: str = ""
    stderr_chars: int = 0
    received_bytes: int = 0
    stop_reason: str | None = None  # why reading stopped before the command was done
    error: str | None = None  # the command could not run (a failure after the shell was created)
    cleanup_errors: list[str] = field(default_factory=list)


def system_ca() -> bool | str:
    """The system's CA store as OpenSSL finds it (a file, else a directory); True (requests' certifi) if none."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.capath):
        if candidate and Path(candidate).exists():
            return candidate
    return True


def describe(exc: BaseException, settings: WinrsSettings) -> str:
    """One line saying why a WS-Management exchange failed, with no secret and no traceback."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        found = re.search(r"certificate verify failed[^'\")\]]*|hostname [^'\")\]]*|wrong version number|"
                          r"unsupported protocol|handshake failure", text, re.I)
        reason = found.group(0).strip() if found else text[:200]
        return (f"TLS to {where} failed: {reason}; the certificate is refused unless the CA that signed it is in "
                "ca_file (or the system's CA store) and it names the address")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timed out connecting to {where}"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"{where} did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Connection refused" in text:
            return f"connection refused by {where}"
        return f"cannot connect to {where}: {text[:200]}"
    if isinstance(exc, AuthenticationError):
        return f"authentication as {settings.username!r} with {settings.auth} failed (HTTP 401)"
    if isinstance(exc, WSManFaultError):
        reason = (exc.reason or "no reason given")[:limits.MAX_FIELD_CHARS]
        return f"WS-Management fault {str(exc.code)[:limits.MAX_FIELD_CHARS]}: {reason}"
    if isinstance(exc, WinRMTransportError):
        return f"HTTP {exc.code} from the WinRM service at {where}"
    if isinstance(exc, ResponseTooLarge):
        return str(exc)
    if isinstance(exc, ET.ParseError):
        return f"the WinRM service's answer is not XML ({exc})"
    if isinstance(exc, WinRMError):
        return f"the WinRM service's answer is not usable: {str(exc)[:200]}"
    return f"the WinRM service's answer is not usable ({type(exc).__name__}: {str(exc)[:200]})"


def payload_size() -> int:
    """Bytes of stdin one Send message carries (pypsrp's default envelope, which every Windows version accepts)."""
    return max(1024, WSMan("plan.invalid", auth="basic", username="-", password="-").max_payload_size)


def _announced(response: requests.Response) -> None:
    """Refuse an answer whose announced length is over the limit, without reading it."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limits.MAX_RESPONSE_BYTES:
        response.close()
        raise ResponseTooLarge(f"the WinRM service announced an answer of {length} bytes "
                               f"(limit {limits.MAX_RESPONSE_BYTES})")


def _bounded(response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
    """Read an answer's body up to the limit before anything parses it (a response hook, run after auth's)."""
    _announced(response)
    if response._content_consumed:  # type: ignore[attr-defined]  # already read (by an auth hook)
        body = response.content or b""
    else:
        body = response.raw.read(limits.MAX_RESPONSE_BYTES + 1, decode_content=True) or b""
        response._content = body  # type: ignore[attr-defined]
        response._content_consumed = True  # type: ignore[attr-defined]
        if len(body) <= limits.MAX_RESPONSE_BYTES:
            response.raw.release_conn()
    if len(body) > limits.MAX_RESPONSE_BYTES:
        response.close()
        raise ResponseTooLarge(f"the WinRM service sent an answer over {limits.MAX_RESPONSE_BYTES} bytes")
    return response


def _announced_hook(response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
    _announced(response)
    return response


class _BoundedFirst(requests.auth.AuthBase):
    """The session's authentication with a length check registered before its own hook, so an answer an
    authentication hook reads (a 401 with its challenge) announcing more than the limit is refused; the body is
    not read there, because pypsrp's channel binding needs the answer's TLS socket. pypsrp's encryption reads
    ``contexts``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.register_hook("response", _announced_hook)
        return self.inner(request) if self.inner is not None else request

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Sockets:
    """Every socket the session's connection pools open, so a watchdog can end a request that will not end.

    requests' timeouts bound each socket read, not a whole answer: a server dripping one byte at a time would hold
    a request (and the scan's thread) for ever. :meth:`shut` shuts them all down, which wakes a blocked read.
    """

    def __init__(self, session: requests.Session) -> None:
        self.opened: list[socket.socket] = []
        self.fired = threading.Event()
        record = self.opened.append

        class Connection(urllib3.connection.HTTPConnection):
            def connect(self) -> None:
                super().connect()
                record(self.sock)

        class TlsConnection(urllib3.connection.HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                record(self.sock)

        class Pool(urllib3.HTTPConnectionPool):
            ConnectionCls = Connection

        class TlsPool(urllib3.HTTPSConnectionPool):
            ConnectionCls = TlsConnection

        for adapter in session.adapters.values():
            adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TlsPool}  # type: ignore[attr-defined]

    def shut(self) -> None:
        self.fired.set()
        for sock in list(self.opened):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Paced:
    """``transport.send`` with at least ``1 / rate`` seconds between two messages (no wait once cancelled, so the
    shell is still deleted at once)."""

    def __init__(self, send: Callable[..., bytes], rate: float, cancel: threading.Event):
        self._send = send
        self._interval = 1.0 / rate
        self._next = 0.0
        self._cancel = cancel

    def __call__(self, message: bytes, **kwargs: Any) -> bytes:
        delay = self._next - time.monotonic()
        if delay > 0:
            self._cancel.wait(delay)
        self._next = time.monotonic() + self._interval
        return self._send(message, **kwargs)


def _wsman(settings: WinrsSettings, password: str, cancel: threading.Event) -> tuple[WSMan, _Sockets]:
    read_timeout = max(settings.connect_timeout, limits.OPERATION_SECONDS + 2)
    wsman = WSMan(settings.host, port=settings.port, path=settings.path, ssl=settings.https,
                  username=settings.username, password=password, auth=settings.auth,
                  cert_validation=settings.verify, connection_timeout=settings.connect_timeout,  # type: ignore[arg-type]
                  read_timeout=read_timeout, operation_timeout=limits.OPERATION_SECONDS,  # type: ignore[arg-type]
                  # Basic over plain HTTP has no message encryption to offer (the report flags the endpoint)
                  encryption="never" if not settings.https and settings.auth == "basic" else "auto",
                  no_proxy=True, reconnection_retries=limits.CONNECT_RETRIES, reconnection_backoff=0.5)
    transport = wsman.transport
    transport.session = transport._build_session()  # built now to add the size bound (pypsrp builds it lazily)
    transport.session.auth = _BoundedFirst(transport.session.auth)
    transport.session.hooks["response"].append(_bounded)  # and after it, on the answer authentication returns
    transport.send = _Paced(transport.send, settings.requests_per_second, cancel)  # type: ignore[method-assign]
    return wsman, _Sockets(transport.session)


def run_command(settings: WinrsSettings, password: str, executable: str | None, arguments: list[str], stdin: bytes,
                on_stdout: Callable[[bytes], None], deadline: float, cancel: threading.Event,
                idle_seconds: int) -> WinrsRun:
    """Run one command in a new WinRS shell with ``stdin`` as its input; stdout goes to ``on_stdout`` as it comes.

    ``executable`` None: the shell is created and deleted, nothing runs (the session alone was asked for).
    Raises :class:`WinrmUnusable` when no shell could be created; any later failure is ``run.error`` (or
    ``run.stop_reason`` when reading stopped early), and the command is signalled and the shell deleted anyway.
    """
    run = WinrsRun()
    try:
        wsman, sockets = _wsman(settings, password, cancel)
    except (ValueError, ImportError) as exc:  # an auth pypsrp cannot do here (kerberos/credssp extras missing)
        raise WinrmUnusable(f"{settings.auth} authentication is not available: {exc}") from None
    shell = WinRS(wsman, codepage=65001, idle_time_out=idle_seconds)
    # the last request may start just before the deadline and wait its read timeout; then the cleanup's two
    budget = max(0.0, deadline - time.monotonic()) + 3 * (settings.connect_timeout + limits.OPERATION_SECONDS + 2)
    done = threading.Event()
    watchdog = threading.Thread(target=_watch, args=(sockets, cancel, done, budget), daemon=True,
                                name=f"winrm-watchdog-{settings.host}")
    watchdog.start()
    try:
        run.operations.append("create")
        try:
            shell.open()
        except Exception as exc:  # noqa: BLE001 - a hostile or broken server: its reason, never a traceback
            log.debug("WinRS create failed", exc_info=True)
            raise WinrmUnusable(describe(exc, settings)) from None
        if not shell.id:
            raise WinrmUnusable("the WinRM service created no shell (no ShellId in its answer)")
        run.shell_id = str(shell.id)[:limits.MAX_FIELD_CHARS]
        command_id: str | None = None
        try:
            if executable is None:
                return run
            run.operations.append("command")
            response = shell.command(executable, arguments)
            found = response.find("rsp:CommandResponse/rsp:CommandId", namespaces=NAMESPACES)
            command_id = found.text if found is not None and found.text else None
            if command_id is None:
                run.error = "the WinRM service started no command (no CommandId in its answer)"
                return run
            size = payload_size()
            chunks = [stdin[i:i + size] for i in range(0, len(stdin), size)] or [b""]
            for index, chunk in enumerate(chunks):
                run.operations.append("send")
                shell.send("stdin", chunk, command_id=command_id, end=index == len(chunks) - 1)
            _receive(shell, command_id, run, on_stdout, deadline, cancel)
        except Exception as exc:  # noqa: BLE001 - as above
            log.debug("WinRS command failed", exc_info=True)
            run.error = describe(exc, settings) if not sockets.fired.is_set() else _STOPPED
        finally:
            if not sockets.fired.is_set():
                _cleanup(shell, command_id, run, settings)
    except WinrmUnusable:
        if sockets.fired.is_set():
            raise WinrmUnusable(_STOPPED) from None
        raise
    finally:
        done.set()  # the watchdog ends with the run
        wsman.close()
    return run


_STOPPED = "the WinRM service did not finish answering within the time budget (connection closed)"


def _watch(sockets: _Sockets, cancel: threading.Event, done: threading.Event, budget: float) -> None:
    """Shut the session's sockets down once the budget is spent, or soon after a cancel, unless the run ended."""
    deadline = time.monotonic() + budget
    while not done.is_set():
        if cancel.is_set():
            deadline = min(deadline, time.monotonic() + 5)  # time for the shell's Delete, no more
        if time.monotonic() >= deadline:
            sockets.shut()
            return
        done.wait(0.2)


def _receive(shell: WinRS, command_id: str, run: WinrsRun, on_stdout: Callable[[bytes], None], deadline: float,
             cancel: threading.Event) -> None:
    while True:
        if cancel.is_set():
            run.stop_reason = "the collection was cancelled"
            return
        remaining = deadline - time.monotonic()
        if remaining < 1:
            run.stop_reason = "the time limit for the whole script was reached"
            return
        run.operations.append("receive")
        try:
            state, rc, buffers = shell.receive("stdout stderr", command_id,
                                               timeout=int(min(limits.OPERATION_SECONDS, remaining)))
        except WSManFaultError as exc:
            if exc.code == _NO_OUTPUT_YET:
                continue
            raise
        out, err = buffers.get("stdout", b""), buffers.get("stderr", b"")
        room = limits.MAX_TOTAL_BYTES - run.received_bytes
        run.received_bytes += len(out)
        on_stdout(out[:max(0, room)])
        run.stderr_chars += len(err)
        if len(run.stderr) < limits.MAX_STDERR_CHARS:
            run.stderr = (run.stderr + err.decode("utf-8", "replace"))[:limits.MAX_STDERR_CHARS]
        if run.received_bytes >= limits.MAX_TOTAL_BYTES:
            run.stop_reason = f"the {limits.MAX_TOTAL_BYTES // (1024 * 1024)} MiB limit for the script's output was reached"
            return
        if state == CommandState.DONE:
            run.exit_code = rc
            return


def _cleanup(shell: WinRS, command_id: str | None, run: WinrsRun, settings: WinrsSettings) -> None:
    """Signal the command to end (a no-op for one that is done) and delete the shell, whatever happened before."""
    steps: list[tuple[str, Callable[[], Any]]] = []
    if command_id is not None:
        steps.append(("signal", lambda: shell.signal(SignalCode.TERMINATE, command_id)))
    steps.append(("delete", shell.close))
    for name, step in steps:
        run.operations.append(name)
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - cleanup is best effort; the reason is kept
            run.cleanup_errors.append(f"{name}: {describe(exc, settings)}")
