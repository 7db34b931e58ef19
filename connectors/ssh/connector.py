# One module on purpose: one connection, one authentication, one exec: the whole session is reviewed in one place.
"""The SSH connector: one connection, one authentication, one exec of one read-only script per asset.

What it does, in order, for the requests of one asset:

1. ``ssh:wire:kexinit`` (if requested): the unauthenticated wire probe of :mod:`connectors.ssh.wire`
   reads what the server offers, BEFORE we authenticate.
2. One TCP connection and one paramiko :class:`~paramiko.Transport`: key exchange, strict host-key
   check (:mod:`connectors.ssh.hostkeys`), ``none`` authentication to learn the offered methods and
   the pre-authentication banner, then ONE authentication with the configured credentials
   (:mod:`connectors.ssh.credentials`: agent keys, key files, a password by reference; each tried at
   most once, never in a retry loop). Where and as whom comes from :mod:`connectors.ssh.sshconfig`
   (inventory, CLI, ssh_config); with jump hosts, the TCP connection goes to the first one and each
   next hop (and finally the target) is reached through a ``direct-tcpip`` channel of the previous
   one, every hop's host key verified and authenticated the same way. The wire probe takes that path
   too.
3. The host's platform: ``windows`` when the inventory says so or the server identifies itself as
   OpenSSH for Windows (``SSH-2.0-OpenSSH_for_Windows_...``), else ``linux``. Only the requests of
   that platform run; the others are not produced (their checks are judged not applicable).
4. Linux: ONE ``exec`` of the script from :func:`connectors.ssh.script.build_script` for all ``exec``
   requests (split into a few execs only if the script would exceed what a Linux host accepts as
   one argument, 96 KiB). Requests that name a ``lane`` (reads that take seconds on the host, such
   as the package manager's pending updates or a bounded ``find``) get their own script in their own
   session channel of the same connection, run at the same time as the main script (at most
   :data:`MAX_CHANNELS` at once): the host works on them side by side and the scan waits for the
   slowest lane, not for their sum. A server that allows fewer sessions per connection
   (``MaxSessions``) gets the refused lanes one after another once the others are done. Windows:
   ONE ``exec`` of the short ``powershell.exe -EncodedCommand`` bootstrap of
   :mod:`connectors.windows.script`, with the composed PowerShell script of all ``powershell``
   requests written to its stdin. Either output is read incrementally with caps and split back into
   one item per request by the same marker splitter.
5. The ``ssh:session:info`` item (always produced when a session was opened, since it records
   whether the host key was trusted on first use, and the platform, so a rescore judges alike).

The connector can only ever send that script: it never opens a shell, a pty, sftp, a subsystem or a
forwarding other than the jump hosts' ``direct-tcpip`` to the next hop, and it refuses channels the server tries to open towards it (paramiko's default).
Secrets are resolved at connection time and live only in local variables; they are never logged
and never recorded. Every wait is bounded (``endpoint.timeout`` for connect, handshake and
authentication; ``ScanOptions.command_timeout`` for the whole exec) and a watchdog closes the
connection if paramiko blocks anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import logging
import secrets as _secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import paramiko

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.platforms import platform_of
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, clip
from connectors.ssh import limits
from connectors.ssh import script as _script
from connectors.ssh.credentials import (Credential, CredentialError, credentials_for, load_private_key,
                                         no_credential_message, sudo_password)
from connectors.ssh.hostkeys import (KnownHostsFile, entry_name, fingerprint, known_hosts_path,
                                     preferred_key_types, verify_host_key)
from connectors.ssh.sshconfig import Hop, SshConfigError, Target, resolve_target
from connectors.ssh.wire import WireProbeError, probe_ssh_wire
from connectors.windows import script as _windows

log = logging.getLogger(__name__)
# paramiko logs connection failures as ERRORs that this connector already reports as ConnectorError;
# its transports log here, silent unless the application configures logging.
_TRANSPORT_LOG = f"{__name__}.transport"


class _ClipFilter(logging.Filter):
    """paramiko logs device strings whole (the auth banner at INFO): keep each record to a bounded length."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if len(text) > limits.MAX_LOG_CHARS:
            record.msg, record.args = f"{text[:limits.MAX_LOG_CHARS]}... [{len(text)} characters]", None
        return True


logging.getLogger(_TRANSPORT_LOG).addHandler(logging.NullHandler())
logging.getLogger(_TRANSPORT_LOG).addFilter(_ClipFilter())

__all__ = ["SshConnector", "SESSION_INFO", "WIRE_KEXINIT", "load_private_key", "per_command_timeout"]

SESSION_INFO = EvidenceRequest(protocol="ssh", op="session", target="info")
WIRE_KEXINIT = EvidenceRequest(protocol="ssh", op="wire", target="kexinit")

_READ_CHUNK = 64 * 1024
#: Session channels open at once on one connection (OpenSSH's MaxSessions default is 10).
MAX_CHANNELS = 3
_CHANNEL_RETRIES = 3  # a lane refused a channel is tried again this often, one lane at a time
_POLL = 0.25  # seconds between checks of the cancel flag while waiting for output
_NO_BANNER = "Error reading SSH protocol banner"
_UNREACHABLE = ("connection refused by", "cannot connect to", "cannot resolve")
#: The request operation each platform runs (the others are not run on it).
_PLATFORM_OP = {"linux": "exec", "windows": "powershell"}


def per_command_timeout(command_timeout: float) -> float:
    """Bound for ONE command: half the budget of the whole exec, so one hang leaves room for the rest."""
    return max(1.0, command_timeout / 2)


class _AuditTransport(paramiko.Transport):
    """paramiko's client transport, remembering which key exchange was negotiated (paramiko forgets)."""

    negotiated_kex: str | None = None

    def _parse_kex_init(self, m):  # type: ignore[no-untyped-def]
        super()._parse_kex_init(m)
        try:
            engine = type(self.kex_engine)
            self.negotiated_kex = next((n for n in self.preferred_kex if self._kex_info.get(n) is engine), None)
        except Exception:  # pragma: no cover - diagnostics only, never fatal
            self.negotiated_kex = None


class _Stopped(ConnectionAbortedError):
    """Why a bounded socket stopped reading. It carries an errno because paramiko's transport thread formats a
    socket error as ``args[1] (args[0])`` (a one-argument OSError crashes that thread with a traceback);
    shown, it is just the reason."""

    def __str__(self) -> str:
        return str(self.strerror)


def _stopped(reason: str) -> OSError:
    return _Stopped(errno.ECONNABORTED, reason)


class _BoundedSocket:
    """The target's socket as paramiko sees it, refusing to read more, or for longer, than a server should need.

    Until the identification line is complete at most :data:`limits.MAX_IDENTIFICATION_BYTES`, then until
    authentication succeeds :data:`limits.MAX_PRE_AUTH_BYTES` (paramiko itself buffers a line or a packet of
    any length), and all of it before ``deadline`` (paramiko's own timeouts restart with every byte, so a
    server dripping one byte at a time would hold it for ever); after authentication the exec's own caps and
    deadline bound what is read. A cancelled collection stops at the next read (paramiko polls every 0.1 s).
    """

    def __init__(self, sock: Any, deadline: float, cancel: threading.Event) -> None:
        self._sock = sock
        self._deadline = deadline
        self._cancel = cancel
        self.received = 0
        self.authenticated = False
        self._identified = False
        self._line_start = b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def recv(self, size: int) -> bytes:
        if self._cancel.is_set():
            raise _stopped("the collection was cancelled")
        if not self.authenticated and time.monotonic() > self._deadline:
            raise _stopped("the server did not complete the handshake and authentication in time")
        data = self._sock.recv(size)
        self.received += len(data)
        if not self._identified:
            self._watch_identification(data)
            if not self._identified and self.received > limits.MAX_IDENTIFICATION_BYTES:
                raise _stopped(f"the server sent {self.received} bytes without an SSH identification line "
                              f"(limit {limits.MAX_IDENTIFICATION_BYTES})")
        if not self.authenticated and self.received > limits.MAX_PRE_AUTH_BYTES:
            raise _stopped(f"the server sent more than {limits.MAX_PRE_AUTH_BYTES} bytes before authentication "
                          "(the auditor's limit)")
        return data

    def _watch_identification(self, data: bytes) -> None:
        for piece in data.splitlines(keepends=True):
            self._line_start = (self._line_start + piece[:4])[:4]
            if piece.endswith(b"\n"):
                if self._line_start == b"SSH-":
                    self._identified = True
                    return
                self._line_start = b""


@dataclass
class _Batch:
    requests: list[EvidenceRequest]
    wants_sudo: list[bool]
    nonce: str
    script: str
    reads_sudo_password: bool = False  # the script's ``sudo -S -v`` reads the password from stdin
    lane: str = ""  # "" the main script; else the name of a lane run beside it
    command: str = ""  # the exec command: the script itself (Linux) or the PowerShell bootstrap (Windows)
    stdin: bytes | None = None  # written to the channel before EOF (Windows: the script)


@dataclass
class _ExecResult:
    batch: _Batch
    splitter: _script.OutputSplitter | None = None
    stop_reason: str | None = None  # why reading stopped early, for unfinished commands
    error: str | None = None  # the exec itself failed (refused by the server, channel error)
    channel_refused: bool = False  # the server would not open one more session channel


@dataclass
class _Session:
    info: dict[str, Any]
    results: list[_ExecResult] = field(default_factory=list)


class SshConnector(Connector):
    """Reads evidence from a host over SSH (see the module docstring for the exact behaviour)."""

    protocol = "ssh"
    _agent: paramiko.Agent | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extra_agents: list[paramiko.Agent] = []
        self._resolved: Target | None = None

    @property
    def label(self) -> str:
        """``ssh://ADDRESS:PORT`` with the port actually used (ssh_config's ``Port`` for an alias)."""
        try:
            port = self._target().port
        except ConnectorError:
            port = self.endpoint.port
        return f"{self.protocol}://{self.asset.address}:{port}"

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        items = self.collected
        exec_requests: list[EvidenceRequest] = []
        info_request: EvidenceRequest | None = None
        wire_request: EvidenceRequest | None = None
        for req in requests:
            if req.protocol == "ssh" and req.op in ("exec", "powershell"):
                exec_requests.append(req)
            elif req.protocol == "ssh" and req.op == "session" and req.target == "info":
                info_request = req
            elif req.protocol == "ssh" and req.op == "wire" and req.target == "kexinit":
                wire_request = req
            else:
                items.append(self.item(req, started=time.monotonic(), status="error",
                                       error=f"unsupported op {req.protocol}:{req.op}:{req.target}"))
        wire_task: asyncio.Task[EvidenceItem] | None = None
        if wire_request is not None:
            if self._target().jumps or (not exec_requests and info_request is None):
                items.append(await self._wire(wire_request))  # one hop login at a time through a bastion
            else:  # a direct host: the probe's own short connection runs while the session logs in
                wire_task = asyncio.create_task(self._wire(wire_request))
        if not exec_requests and info_request is None:
            return items
        cancel = threading.Event()
        started = time.monotonic()
        try:
            session = await asyncio.to_thread(self._session, exec_requests, cancel)
        except asyncio.CancelledError:
            cancel.set()  # the worker thread closes the connection at its next check
            if wire_task is not None:
                wire_task.cancel()
            raise
        except ConnectorError as exc:
            # What was read before the failure (the wire probe: what the server offers) is still
            # evidence; the engine may keep it from here (the Connector contract has no other channel).
            if wire_task is not None:
                try:
                    items.append(await wire_task)
                except ConnectorError:
                    pass  # the host is unreachable: the session's own error says so
            exc.partial_items = items
            raise
        if wire_task is not None:
            try:
                items.append(await wire_task)
            except ConnectorError as exc:  # the probe's connection failed while the session's worked
                items.append(self.item(wire_request, started=started, status="error",
                                       error=f"wire probe failed: {exc}"))
        items.extend(self._exec_items(session, started))
        cut = session.info.get("truncated")
        items.append(self.item(info_request or SESSION_INFO, started=started, encoding="json",
                               response=json.dumps(session.info, sort_keys=True),
                               meta={"truncated_fields": sorted(cut)} if cut else {}))
        return items

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """The connections, the authentication and every command of the scripts :meth:`collect` would run."""
        target = self._target()
        hops = " via " + ", ".join(h.where for h in target.jumps) if target.jumps else ""
        where = f"{target.host}:{target.port}{hops}"
        steps: list[PlannedRequest] = []
        execs = [r for r in requests if r.protocol == "ssh" and r.op == "exec"]
        others = [r for r in requests if r not in execs]
        for req in others:
            if req.op == "wire" and req.target == "kexinit":
                steps.append(PlannedRequest("wire probe", where, 1, "one TCP connection: the server's identification "
                                            "and KEXINIT are read, no authentication", req.key))
        session = execs or any(r.op == "session" and r.target == "info" for r in others)
        if session:
            user = target.username or "the local user"
            steps.append(PlannedRequest("connect", where, 1, f"one TCP connection, key exchange, host key checked "
                                        f"against known_hosts, one authentication as {user}"))
        sections = [r for r in others if r.protocol == "ssh" and r.op == _PLATFORM_OP["windows"]]
        others = [r for r in others if r not in sections]
        declared = getattr(self.asset, "platform", None)
        both = bool(execs and sections) and not declared
        linux_when = "the server does not identify as OpenSSH for Windows" if both else ""
        windows_when = "the server identifies as OpenSSH for Windows" if both else ""
        for batch in self._batches(execs) if declared != "windows" else []:
            lane = f" (lane {batch.lane}, its own session channel beside the main script)" if batch.lane else ""
            commands = f"{len(batch.requests)} command" + ("s" if len(batch.requests) > 1 else "")
            steps.append(PlannedRequest("exec", f"a read-only sh script of {commands}", 1,
                                        f"one exec channel{lane}; LC_ALL=C, each command under timeout, stdin closed",
                                        when=linux_when))
            for req, sudo in zip(batch.requests, batch.wants_sudo):
                steps.append(PlannedRequest("command", req.target, 1,
                                            "under sudo where the account may, else as the account" if sudo else "",
                                            req.key, when=linux_when))
        if sections and declared != "linux":
            steps.append(PlannedRequest("exec", f"the PowerShell bootstrap, a read-only script of {len(sections)} "
                                        "sections on its stdin", 1, "one exec channel; each section in its own "
                                        "runspace under a time bound", when=windows_when))
            steps += [PlannedRequest("section", req.target, 1, "", req.key, when=windows_when) for req in sections]
        for req in others:
            if req.op == "session" and req.target == "info":
                steps.append(PlannedRequest("record", "session info", 0, "nothing sent: what the session was", req.key))
            elif not (req.op == "wire" and req.target == "kexinit"):
                steps.append(PlannedRequest(req.op, req.target, 0, "not a read this connector performs: nothing sent",
                                            req.key))
        pacing = (f"connect, handshake and authentication bounded by {self.endpoint.timeout:g} s; every command by "
                  f"{per_command_timeout(self.options.command_timeout):g} s, the exec by "
                  f"{self.options.command_timeout:g} s; at most {MAX_CHANNELS} channels at once")
        return ConnectorPlan(pacing=pacing, steps=steps)

    # ------------------------------------------------------------------ wire probe
    async def _wire(self, req: EvidenceRequest) -> EvidenceItem:
        started = time.monotonic()
        target = self._target()
        try:
            result = await asyncio.to_thread(self._wire_probe, target)
        except (WireProbeError, ValueError) as exc:
            reason = str(exc)
            if reason.startswith(_UNREACHABLE) or (reason.startswith("timed out") and " connecting to " in reason):
                raise ConnectorError(reason) from None  # no point in a second connection attempt
            return self.item(req, started=started, status="error", error=f"wire probe failed: {reason}")
        return self.item(req, started=started, encoding="json", response=json.dumps(result, sort_keys=True))

    def _wire_probe(self, target: Target) -> dict:
        """The unauthenticated probe, through the jump hosts' forwarding when there are any."""
        timeout = float(self.endpoint.timeout)
        if not target.jumps:
            return probe_ssh_wire(target.host, target.port, timeout)
        closables: list[Any] = []
        try:
            channel = self._open_path(target, timeout, closables)
            return probe_ssh_wire(target.host, target.port, timeout, sock=channel)
        finally:
            self._close_all(closables)
            self._close_agents()

    def _close_agents(self) -> None:
        agents, self._extra_agents = [self._agent, *self._extra_agents], []
        self._agent = None
        for agent in agents:
            if agent is not None:
                agent.close()

    def _target(self) -> Target:
        """Resolved once per collection (the connector lives for one collection)."""
        if self._resolved is None:
            try:
                self._resolved = resolve_target(self.asset, self.endpoint, self.options)
            except SshConfigError as exc:
                raise ConnectorError(str(exc)) from None
        return self._resolved

    @staticmethod
    def _close_all(closables: list[Any]) -> None:
        for closable in reversed(closables):
            try:
                closable.close()
            except Exception:  # pragma: no cover - best effort
                pass

    # ------------------------------------------------------------------ items
    def _exec_items(self, session: _Session, started: float) -> list[EvidenceItem]:
        items = []
        per_command = per_command_timeout(self.options.command_timeout)
        for result in session.results:
            splitter = result.splitter
            sudo_ok = bool(splitter and splitter.sudo_ok)
            for index, req in enumerate(result.batch.requests):
                meta: dict[str, Any] = {"sudo": result.batch.wants_sudo[index] and sudo_ok}
                if result.error is not None:
                    items.append(self.item(req, started=started, status="error", error=result.error, meta=meta))
                elif splitter is None:      # the script never started: nothing was read
                    reason = result.stop_reason or "the script ended before this command"
                    items.append(self.item(req, started=started, status="error", exit_code=None, response="",
                                           meta=meta, error=f"output truncated / command did not finish ({reason})"))
                else:
                    items.append(self.item(req, started=started, **splitter.item_fields(
                        index, stop_reason=result.stop_reason, timeout=per_command, meta=meta)))
        return items

    # ------------------------------------------------------------------ the blocking session
    def _session(self, exec_requests: list[EvidenceRequest], cancel: threading.Event) -> _Session:
        target = self._target()
        host, port = target.host, target.port
        timeout = float(self.endpoint.timeout)
        try:
            password = sudo_password(self.endpoint, self.options)
        except CredentialError as exc:
            raise ConnectorError(str(exc)) from None
        budget = 4 * timeout * (1 + len(target.jumps)) + (self.options.command_timeout if exec_requests else 0) + 5
        closables: list[Any] = []
        transport: _AuditTransport | None = None
        fired = threading.Event()

        def close_everything() -> None:
            fired.set()
            self._close_all(closables)

        watchdog = threading.Timer(budget, close_everything)
        watchdog.daemon = True
        watchdog.start()
        try:
            sock = _BoundedSocket(self._open_path(target, timeout, closables),
                                  time.monotonic() + 4 * timeout * (1 + len(target.jumps)), cancel)
            transport = _AuditTransport(sock)
            closables.append(transport)
            path, is_default = known_hosts_path(target.known_hosts, self.options.known_hosts)
            check, server_key = self._handshake(transport, target, path, is_default, timeout, fired, budget)
            offered, banner, authenticated_by = self._auth_none(transport, target.username)
            if authenticated_by is None:
                authenticated_by = self._authenticate(transport, offered, target)
            sock.authenticated = True
            truncated: dict[str, dict[str, int]] = {}
            info: dict[str, Any] = {
                "port": port,
                "username": target.username,
                "server_version": _kept(transport.remote_version, limits.MAX_SERVER_VERSION_CHARS,
                                        "server_version", truncated),
                "host_key_type": server_key.get_name(),
                "host_key_fingerprint": fingerprint(server_key),
                "auth_methods": _kept_names(offered, truncated),
                "auth_method_used": authenticated_by,
                "banner": _kept(banner, limits.MAX_BANNER_CHARS, "banner", truncated),
                "sudo": False,
                "sudo_checked": False,
                "negotiated": {"cipher": transport.local_cipher, "mac": transport.local_mac,
                               "kex": transport.negotiated_kex, "host_key": transport.host_key_type},
                "known_hosts": str(check.known_hosts),
                "trusted_on_first_use": check.trusted_on_first_use,
                "round_trips": 0,
            }
            platform = platform_of(transport.remote_version, getattr(self.asset, "platform", None))
            info["platform"] = platform
            info["platform_source"] = "inventory" if getattr(self.asset, "platform", None) else "identification"
            runnable = [r for r in exec_requests if r.op == _PLATFORM_OP[platform]]
            if len(runnable) < len(exec_requests):
                info["not_run_other_platform"] = len(exec_requests) - len(runnable)
            batches = self._windows_batches(runnable) if platform == "windows" else \
                self._batches(runnable, sudo_password=password is not None)
            if target.host != self.asset.address:
                info["host"] = target.host
            if target.jumps:
                info["jump_hosts"] = [hop.where for hop in target.jumps]
            if truncated:
                info["truncated"] = truncated  # what the limits cut, with the original sizes
            session = _Session(info)
            deadline = time.monotonic() + self.options.command_timeout
            if password is not None:
                info["sudo_password_sent"] = any(batch.reads_sudo_password for batch in batches)
            session.results = self._run_lanes(transport, batches, deadline, cancel, fired, password, info)
            for result in session.results:
                if result.splitter is not None and result.splitter.sudo_ok is not None:
                    info["sudo_checked"] = True
                    info["sudo"] = info["sudo"] or result.splitter.sudo_ok
            return session
        except ConnectorError:
            raise
        except Exception as exc:
            if fired.is_set():
                raise ConnectorError(f"connection to {host}:{port} exceeded its {budget:g} s budget "
                                     f"and was closed") from None
            raise ConnectorError(f"SSH session with {host}:{port} failed: {exc.__class__.__name__}: {exc}") from None
        finally:
            watchdog.cancel()
            self._close_all(closables)
            self._close_agents()

    def _handshake(self, transport: paramiko.Transport, hop: Hop, path: Path, is_default: bool, timeout: float,
                   fired: threading.Event | None = None, budget: float = 0.0) -> tuple[Any, paramiko.PKey]:
        """Key exchange and the strict host-key check of one hop (target or jump host)."""
        transport.set_log_channel(_TRANSPORT_LOG)
        transport.banner_timeout = timeout
        transport.handshake_timeout = timeout
        transport.auth_timeout = timeout
        known = KnownHostsFile(path)
        options = transport.get_security_options()
        options.key_types = preferred_key_types(known, entry_name(hop.host, hop.port), tuple(options.key_types))
        where = f"{hop.host}:{hop.port}"
        try:
            transport.start_client(timeout=timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if fired is not None and fired.is_set():
                raise ConnectorError(f"SSH handshake with {where} did not complete within {budget:g} s") from None
            reason = str(exc) or exc.__class__.__name__
            if reason.startswith(_NO_BANNER) and reason != _NO_BANNER:  # paramiko glues its cause on
                reason = f"{_NO_BANNER}: {reason[len(_NO_BANNER):]}"
            raise ConnectorError(f"SSH handshake with {where} failed: {reason}") from None
        if not (transport.is_active() and transport.initial_kex_done):
            # start_client returns quietly when its timeout passes: the server never completed it
            raise ConnectorError(f"SSH handshake with {where} failed: no SSH key exchange "
                                 f"completed within {timeout:g} s")
        server_key = transport.get_remote_server_key()
        check = verify_host_key(hop.host, hop.port, server_key, path,
                                trust_on_first_use=self.options.trust_on_first_use, include_global=is_default)
        return check, server_key

    def _open_path(self, target: Target, timeout: float, closables: list[Any]) -> Any:
        """A socket to the target: direct, or a ``direct-tcpip`` channel through each jump host in turn
        (each hop's host key verified and authenticated like the target's)."""
        if not target.jumps:
            sock = self._connect(target.host, target.port, timeout)
            closables.append(sock)
            return sock
        first = target.jumps[0]
        sock: Any = self._connect(first.host, first.port, timeout)
        closables.append(sock)
        hops: list[Hop] = [*target.jumps, target]
        for index, hop in enumerate(target.jumps):
            label = f"jump host {hop.label or hop.host} ({hop.where})"
            transport = paramiko.Transport(sock)
            closables.append(transport)
            path, is_default = known_hosts_path(hop.known_hosts, self.options.known_hosts)
            try:
                self._handshake(transport, hop, path, is_default, timeout)
                offered, _banner_text, authenticated_by = self._auth_none(transport, hop.username or "")
                if authenticated_by is None:
                    self._authenticate(transport, offered, hop)
            except ConnectorError as exc:
                raise ConnectorError(f"{label}: {exc}") from None
            nxt = hops[index + 1]
            try:
                sock = transport.open_channel("direct-tcpip", (nxt.host, nxt.port), ("127.0.0.1", 0),
                                              timeout=timeout)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise ConnectorError(f"{label} did not forward to {nxt.host}:{nxt.port}: "
                                     f"{str(exc) or exc.__class__.__name__} (the jump host needs "
                                     "AllowTcpForwarding and must reach that address)") from None
            closables.append(sock)
        return sock

    @staticmethod
    def _connect(host: str, port: int, timeout: float) -> socket.socket:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            raise ConnectorError(f"connection refused by {host}:{port}") from None
        except ConnectionResetError:  # accepted, then reset before connect() saw the outcome
            raise ConnectorError(f"connection reset by {host}:{port} as soon as it was accepted") from None
        except (TimeoutError, socket.timeout):
            raise ConnectorError(f"timed out after {timeout:g} s connecting to {host}:{port}") from None
        except socket.gaierror as exc:
            raise ConnectorError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise ConnectorError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        try:  # SSH sends small packets back to back: avoid Nagle / delayed-ACK stalls
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return sock

    # ------------------------------------------------------------------ authentication
    @staticmethod
    def _auth_none(transport: paramiko.Transport, username: str) -> tuple[list[str], str | None, str | None]:
        """Offered methods and the pre-auth banner; ``authenticated_by="none"`` if the server let us in."""
        try:
            transport.auth_none(username)
        except paramiko.BadAuthenticationType as exc:
            return list(exc.allowed_types), _banner(transport), None
        except paramiko.AuthenticationException as exc:
            raise ConnectorError(f"authentication as {username!r} failed: {exc}") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ConnectorError(f"authentication as {username!r} failed: "
                                 f"{str(exc) or exc.__class__.__name__}") from None
        return ["none"], _banner(transport), "none"

    def _credentials(self, hop: Hop | None = None) -> list[Credential]:
        """(method, description, secret-or-key) in the order they are tried; secrets resolved here."""
        target = self._target()
        hop = hop or target
        password = (target.password_env, target.password_file) if hop is target else (None, None)
        found, agent = credentials_for(hop, use_agent=target.use_agent,
                                       ask=getattr(self.options, "ask_passphrase", None), password=password)
        if agent is not None:
            if self._agent is None:
                self._agent = agent  # closed with the connection
            else:
                self._extra_agents.append(agent)
        return found

    def _authenticate(self, transport: paramiko.Transport, offered: list[str], hop: Hop) -> str:
        username = hop.username or ""
        credentials = self._credentials(None if isinstance(hop, Target) else hop)
        if not credentials:
            raise CredentialError(no_credential_message(hop, self._target().use_agent))
        tried: list[str] = []
        skipped: list[str] = []
        for method, description, secret in credentials:
            usable = method in offered or (method == "password" and "keyboard-interactive" in offered)
            if not usable:
                skipped.append(description)
                continue
            try:
                if method == "publickey":
                    remaining = transport.auth_publickey(username, secret)
                    used = "publickey"
                elif "password" in offered:
                    remaining = transport.auth_password(username, secret, fallback=False)
                    used = "password"
                else:
                    remaining = transport.auth_interactive(username, _password_handler(secret))
                    used = "keyboard-interactive"
            except paramiko.BadAuthenticationType as exc:
                offered = list(exc.allowed_types)
                tried.append(f"{description} (method not allowed)")
                continue
            except paramiko.AuthenticationException as exc:
                tried.append(f"{description} ({_auth_reason(exc)})")
                if not transport.is_active():
                    break
                continue
            except paramiko.SSHException as exc:
                raise ConnectorError(f"authentication as {username!r} failed: {exc}") from None
            if transport.is_authenticated():
                return used
            offered = list(remaining or offered)  # partial success: the server wants another method
            tried.append(f"{description} (accepted, but the server requires more: {', '.join(offered)})")
        what = "; ".join(tried) if tried else "nothing usable was tried"
        extra = f"; not offered by the server: {', '.join(skipped)}" if skipped else ""
        raise ConnectorError(f"authentication as {username!r} failed: {what}{extra} "
                             f"(server offers: {', '.join(offered) or 'nothing'})")

    # ------------------------------------------------------------------ exec
    def _batches(self, exec_requests: list[EvidenceRequest], *, sudo_password: bool = False) -> list[_Batch]:
        allow_sudo = bool(self.endpoint.sudo and self.options.use_sudo)
        timeout = per_command_timeout(self.options.command_timeout)
        batches: list[_Batch] = []

        def make(group: list[tuple[EvidenceRequest, bool]]) -> _Batch:
            nonce = _secrets.token_hex(16)
            reads = sudo_password and any(s for _, s in group)
            text = _script.build_script([(r.target, s) for r, s in group], nonce, timeout, sudo_password=reads)
            return _Batch([r for r, _ in group], [s for _, s in group], nonce, text, reads)

        by_lane: dict[str, list[EvidenceRequest]] = {"": []}
        for req in exec_requests:
            by_lane.setdefault(str(req.option("lane", "") or ""), []).append(req)
        for lane, requests in by_lane.items():
            current: list[tuple[EvidenceRequest, bool]] = []
            for req in requests:
                candidate = current + [(req, allow_sudo and bool(req.option("sudo", False)))]
                if current and len(make(candidate).script.encode()) > _script.MAX_SCRIPT_BYTES:
                    batches.append(dataclasses.replace(make(current), lane=lane))
                    candidate = candidate[-1:]
                current = candidate
            if current:
                batches.append(dataclasses.replace(make(current), lane=lane))
        return batches

    def _run_lanes(self, transport: paramiko.Transport, batches: list[_Batch], deadline: float,
                   cancel: threading.Event, fired: threading.Event, password: str | None,
                   info: dict[str, Any]) -> list[_ExecResult]:
        """Each lane's batches in order, the lanes side by side; refused channels again one by one after."""
        lanes: dict[str, list[int]] = {}
        for index, batch in enumerate(batches):
            lanes.setdefault(batch.lane, []).append(index)
        if not lanes:
            return []
        results: list[_ExecResult | None] = [None] * len(batches)

        def run(index: int) -> _ExecResult:
            batch = batches[index]
            return self._exec(transport, batch, deadline, cancel, fired,
                              password if batch.reads_sudo_password else None)

        seconds: dict[str, float] = {}

        def run_lane(indices: list[int]) -> None:
            started = time.monotonic()
            for index in indices:
                results[index] = run(index)
            seconds[batches[indices[0]].lane or "main"] = round(time.monotonic() - started, 3)

        if len(lanes) == 1:
            run_lane(next(iter(lanes.values())))
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_CHANNELS, len(lanes)),
                                    thread_name_prefix=f"ssh-lanes-{self.asset.id}") as pool:
                for future in [pool.submit(run_lane, indices) for indices in lanes.values()]:
                    future.result()
        refused = [i for i, r in enumerate(results) if r is not None and r.channel_refused]
        retried = 0
        if refused and len(refused) < len(batches):  # the server allows fewer sessions: one after another
            for index in refused:
                for attempt in range(1, _CHANNEL_RETRIES + 1):
                    retried += 1
                    results[index] = run(index)
                    if not results[index].channel_refused or cancel.wait(0.2 * attempt):
                        break  # (the server may still be closing the previous channel: wait a little)
        info["round_trips"] = max(len(indices) for indices in lanes.values()) + retried
        info["exec_channels"] = len(batches) + retried
        if len(lanes) > 1:
            info["lanes"] = [lane or "main" for lane in lanes]
            info["lane_seconds"] = {lane or "main": seconds.get(lane or "main") for lane in lanes}
        return [r for r in results if r is not None]

    def _windows_batches(self, requests: list[EvidenceRequest]) -> list[_Batch]:
        """ONE batch: the composed PowerShell script goes through stdin, so its length has no limit here."""
        if not requests:
            return []
        nonce = _secrets.token_hex(16)
        text = _windows.build_script([r.target for r in requests], nonce,
                                     per_command_timeout(self.options.command_timeout))
        return [_Batch(list(requests), [False] * len(requests), nonce, text, command=_windows.bootstrap_command(),
                       stdin=text.encode("utf-8"))]

    def _exec(self, transport: paramiko.Transport, batch: _Batch, deadline: float,
              cancel: threading.Event, fired: threading.Event, password: str | None = None) -> _ExecResult:
        result = _ExecResult(batch)
        if batch.stdin is None and len(batch.script.encode()) > _script.MAX_SCRIPT_BYTES:
            result.error = f"command too long: the script exceeds {_script.MAX_SCRIPT_BYTES} bytes"
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.error = f"not run: the {self.options.command_timeout:g} s limit for the exec was used up"
            return result
        try:
            channel = transport.open_session(timeout=min(remaining, float(self.endpoint.timeout)))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            result.error = f"the server refused to open a session channel: {exc or exc.__class__.__name__}"
            # refused while the connection lives on (paramiko reports a second refusal at the same moment
            # without its reason, as "Unable to open channel.")
            result.channel_refused = transport.is_active() and not fired.is_set()
            return result
        try:
            channel.set_combine_stderr(True)
            try:
                channel.exec_command(batch.command or batch.script)
                if batch.stdin is not None:  # the Windows script
                    channel.settimeout(max(0.1, deadline - time.monotonic()))
                    channel.sendall(batch.stdin)
                elif password is not None:  # read by the script's 'sudo -S -v' alone, never echoed back
                    channel.sendall((password + "\n").encode("utf-8"))
                channel.shutdown_write()  # stdin: EOF (at once, or after the Windows script or the sudo password)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if not channel.exit_status_ready():
                    result.error = f"the server refused the exec request: {exc or exc.__class__.__name__}"
                    return result
                # a quick server ran the script and closed the channel before its reply to the request
                # arrived: the output and exit status are already here, so read them
            splitter = _script.OutputSplitter(batch.nonce, len(batch.requests),
                                              max_section=_script.MAX_SECTION_BYTES)
            result.splitter = splitter
            result.stop_reason = self._read(channel, splitter, deadline, cancel, fired)
        finally:
            channel.close()
        return result

    def _read(self, channel: paramiko.Channel, splitter: _script.OutputSplitter, deadline: float,
              cancel: threading.Event, fired: threading.Event) -> str | None:
        """Read the channel until EOF; return why reading stopped early, or None at a clean EOF."""
        total = 0
        while True:
            if cancel.is_set():
                return "the collection was cancelled"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"the {self.options.command_timeout:g} s limit for the whole exec was reached"
            channel.settimeout(min(remaining, _POLL))
            try:
                data = channel.recv(_READ_CHUNK)
            except (socket.timeout, TimeoutError):
                continue
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if fired.is_set():
                    return "the connection exceeded its time budget and was closed"
                return f"the connection failed: {exc or exc.__class__.__name__}"
            if not data:
                if fired.is_set():
                    return "the connection exceeded its time budget and was closed"
                return None  # EOF: the script ended (commands without an end marker did not finish)
            room = _script.MAX_TOTAL_BYTES - total
            splitter.feed(data[:room])
            total += len(data)
            if total >= _script.MAX_TOTAL_BYTES:
                return f"the {_script.MAX_TOTAL_BYTES // (1024 * 1024)} MiB limit for one exec's output was reached"


def _kept(text: str | None, limit: int, name: str, truncated: dict[str, dict[str, int]]) -> str | None:
    """``text`` within ``limit`` characters; a cut is recorded in ``truncated[name]``."""
    kept, original = clip(text, limit)
    if original is not None:
        truncated[name] = {"original_chars": original, "kept_chars": limit}
    return kept


def _kept_names(names: list[str], truncated: dict[str, dict[str, int]]) -> list[str]:
    """The offered authentication methods within :data:`limits.MAX_AUTH_METHODS` names of bounded length."""
    kept = [name[:limits.MAX_NAME_CHARS] for name in names[:limits.MAX_AUTH_METHODS]]
    if len(names) > limits.MAX_AUTH_METHODS or any(len(n) > limits.MAX_NAME_CHARS for n in names):
        truncated["auth_methods"] = {"original_count": len(names), "kept_count": len(kept)}
    return kept


def _banner(transport: paramiko.Transport) -> str | None:
    raw = transport.get_banner()
    if raw is None:
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _auth_reason(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text[0].lower() + text[1:] if text else "rejected"


def _password_handler(password: str):  # type: ignore[no-untyped-def]
    """keyboard-interactive: answer the one hidden prompt with the password, nothing else."""
    def handler(_title: str, _instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        if len(prompts) == 1 and not prompts[0][1]:
            return [password]
        return ["" for _ in prompts]
    return handler
