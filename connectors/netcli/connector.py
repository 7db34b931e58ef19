"""The network-device CLI connector (protocol ``cli``): read-only ``show`` commands over one SSH session.

For the requests of one device, in order:

1. One SSH connection, exactly as the SSH host connector makes it (it reuses
   :class:`connectors.ssh.connector.SshConnector`'s path, handshake and authentication): ssh_config,
   jump hosts, strict known_hosts (or trust on first use when the scan asks), agent keys, key files,
   a password by reference, each tried once.
2. One interactive shell (pty) on that transport, driven by netmiko's driver for the platform
   (:mod:`connectors.netcli.driver`): prompt, paging off, and ``enable`` only when the endpoint names an
   enable secret (HiOS: always, it asks for none). With ``platform: auto`` the platform is taken from the
   SSH identification, else from the first read, the version command (``show version``); when that names
   another platform, or nothing, a new shell on the same transport is opened with the next driver, whose
   own version command (HiOS: ``show system info``) is read.
3. The logical reads (:data:`auditor.protocols.cli.READS`), each turned into its platform's command,
   paced by ``requests_per_second``, each bounded in time (``ScanOptions.command_timeout`` / 2) and in
   size (``max_output_bytes``). Anything not on the platform's allow-list is refused before a byte is
   written (:class:`connectors.netcli.driver.LineGuard`), and a watchdog closes the connection if the whole
   session overruns its budget.
   The running configuration is recorded with its secrets removed (:func:`auditor.protocols.cli.redact_config`:
   the storage type of each password stays, the password, hash or key goes; factory-default SNMP
   communities stay, they are the finding).
4. A ``cli:session:info`` item: identification, host key, platform and how it was found, every line
   written (the enable secret as a placeholder).

A read the platform has no command for becomes an error item that says so; a command the device rejects
("% Invalid input", "% Authorization failed") is an ``ok`` item with that text: the parsers decide.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from netmiko.exceptions import NetmikoBaseException, ReadTimeout

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.secrets import SecretError, resolve
from auditor.protocols.cli import AUTO_START, PLATFORMS, READS, detect_platform, redact_config
from auditor.protocols.snmp import DEFAULT_COMMUNITIES
from connectors.base import ConnectorError, ConnectorPlan, PlannedRequest, run_in_thread
from connectors.netcli.driver import LineGuard, OutputLimit, RefusedCommand, open_driver
from connectors.ssh.connector import SshConnector, _AuditTransport, per_command_timeout
from connectors.ssh.hostkeys import fingerprint, known_hosts_path

log = logging.getLogger(__name__)

SESSION_INFO = EvidenceRequest(protocol="cli", op="session", target="info")
#: IOS says "cisco_xe" for IOS-XE; both speak the same CLI (the same netmiko driver and templates).
_ALIASES = {"cisco_xe": "cisco_ios"}


@dataclass
class _Answer:
    command: str | None
    text: str = ""
    error: str | None = None
    truncated: bool = False
    seconds: float = 0.0
    secrets_removed: int = 0


@dataclass
class _CliSession:
    info: dict[str, Any]
    answers: dict[str, _Answer] = field(default_factory=dict)


class NetcliConnector(SshConnector):
    """Reads a network device's configuration and state with allow-listed CLI commands (module docstring)."""

    protocol = "cli"

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        items: list[EvidenceItem] = []
        reads: list[EvidenceRequest] = []
        info_request: EvidenceRequest | None = None
        for req in requests:
            if req.protocol == "cli" and req.op == "show" and req.target in READS:
                reads.append(req)
            elif req.protocol == "cli" and req.op == "session" and req.target == "info":
                info_request = req
            else:
                items.append(self.item(req, started=time.monotonic(), status="error",
                                       error=f"unsupported CLI read {req.protocol}:{req.op}:{req.target}"))
        if not reads and info_request is None:
            return items
        cancel = threading.Event()
        started = time.monotonic()
        ordered = sorted({r.target for r in reads}, key=READS.index)  # version first: it names the platform
        session = await run_in_thread(lambda: self._cli_session(ordered, cancel), cancel)
        for req in reads:
            answer = session.answers.get(req.target) or _Answer(None, error="not read")
            meta = {"platform": session.info.get("platform"), "command": answer.command,
                    "privileged": session.info.get("privileged")}
            if answer.truncated:
                meta["truncated"] = True
            if answer.secrets_removed:
                meta["secrets_removed"] = answer.secrets_removed
            if answer.error is not None:
                items.append(self.item(req, started=started, status="error", error=answer.error, meta=meta,
                                       response=answer.text))
            else:
                items.append(self.item(req, started=started, response=answer.text, meta=meta))
        items.append(self.item(info_request or SESSION_INFO, started=started, encoding="json",
                               response=json.dumps(session.info, sort_keys=True)))
        return items

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """The SSH login (as the host connector makes it), one shell, and the allow-listed commands."""
        target = self._target()
        hops = " via " + ", ".join(h.where for h in target.jumps) if target.jumps else ""
        where = f"{target.host}:{target.port}{hops}"
        reads = sorted({r.target for r in requests if r.protocol == "cli" and r.op == "show" and r.target in READS},
                       key=READS.index)
        keys = {r.target: r.key for r in requests if r.protocol == "cli" and r.op == "show"}
        configured = self.endpoint.platform
        platform = PLATFORMS.get(configured if configured != "auto" else AUTO_START)
        steps = [PlannedRequest("connect", where, 1, "one TCP connection, key exchange, host key checked against "
                                f"known_hosts, one authentication as {target.username or 'the local user'}"),
                 PlannedRequest("shell", platform.title if platform else configured, 1,
                                "one interactive shell; the driver's session commands: "
                                + ", ".join(platform.session_commands if platform else ()))]
        when = "" if configured != "auto" else f"the device is {platform.title if platform else configured} " \
                                               "(from the SSH identification and 'show version')"
        for read in reads:
            command = platform.command_for(read) if platform else None
            steps.append(PlannedRequest("command", command or read, 1 if command else 0,
                                        "" if command else "nothing sent: no command on this platform",
                                        keys.get(read), when=when if read != "version" else ""))
        if configured == "auto" and platform is not None:  # the next family's shell, as the session would open it
            for other in (spec for name, spec in PLATFORMS.items() if name != platform.name):
                commands = ", ".join(c for c in (other.command_for(r) for r in reads) if c)
                steps.append(PlannedRequest("shell", other.title, 1,
                                            f"a new shell: {', '.join(other.session_commands)}; then {commands}",
                                            when=f"'{platform.command_for('version')}' names no platform (another "
                                                 "CLI family refuses it) and the SSH identification named none"))
        for req in requests:
            if not (req.protocol == "cli" and (req.op == "show" and req.target in READS
                                               or req.op == "session" and req.target == "info")):
                steps.append(PlannedRequest(req.op, req.target, 0, "not a read this connector performs: "
                                            "nothing sent", req.key))
        pacing = (f"{self.endpoint.requests_per_second:g} commands per second; each command bounded by half of "
                  f"{self.options.command_timeout:g} s and {self.endpoint.max_output_bytes} bytes")
        return ConnectorPlan(pacing=pacing, steps=steps)

    # ------------------------------------------------------------------ the blocking session
    def _cli_session(self, reads: list[str], cancel: threading.Event) -> _CliSession:
        target = self._target()
        timeout = float(self.endpoint.timeout)
        per_command = per_command_timeout(self.options.command_timeout)
        gap = 1.0 / float(self.endpoint.requests_per_second)
        budget = 4 * timeout * (1 + len(target.jumps)) + len(reads) * (per_command + gap) + 2 * timeout + 5
        try:
            secret = resolve(self.endpoint.enable_password_env, self.endpoint.enable_password_file)
        except SecretError as exc:
            raise ConnectorError(f"enable secret: {exc}") from None
        closables: list[Any] = []
        fired = threading.Event()

        def close_everything() -> None:
            fired.set()
            self._close_all(closables)

        watchdog = threading.Timer(budget, close_everything)
        watchdog.daemon = True
        watchdog.start()
        where = f"{target.host}:{target.port}"
        try:
            sock = self._open_path(target, timeout, closables)
            transport = _AuditTransport(sock)
            closables.append(transport)
            path, is_default = known_hosts_path(target.known_hosts, self.options.known_hosts)
            check, server_key = self._handshake(transport, target, path, is_default, timeout, fired, budget)
            offered, banner, authenticated_by = self._auth_none(transport, target.username)
            if authenticated_by is None:
                authenticated_by = self._authenticate(transport, offered, target)
            configured = _ALIASES.get(self.endpoint.platform, self.endpoint.platform)
            info: dict[str, Any] = {
                "port": target.port, "username": target.username, "server_version": transport.remote_version,
                "host_key_type": server_key.get_name(), "host_key_fingerprint": fingerprint(server_key),
                "auth_methods": offered, "auth_method_used": authenticated_by, "banner": banner,
                "known_hosts": str(check.known_hosts), "trusted_on_first_use": check.trusted_on_first_use,
                "platform_configured": self.endpoint.platform, "lines_sent": [], "shells": 0,
            }
            if target.jumps:
                info["jump_hosts"] = [hop.where for hop in target.jumps]
            session = _CliSession(info)
            if configured != "auto":
                platform, source = configured, "inventory"
            else:
                found = detect_platform("", transport.remote_version or "")
                platform, source = (found, "ssh identification") if found else (AUTO_START, "auto start")
            info["platform"], info["platform_source"] = platform, source
            pending = list(reads)
            tried = {platform}
            while True:
                shell = self._shell(transport, target, platform, secret, timeout, info)
                closables.append(shell)
                try:
                    if configured == "auto" and "version" in pending and info["platform_source"] == "auto start":
                        self._read(shell, platform, "version", session, per_command, cancel, gap)
                        pending.remove("version")
                        found = detect_platform(session.answers["version"].text)
                        if found is not None:
                            info["platform_source"] = session.answers["version"].command
                        else:  # this platform's version command named nothing: the next platform's may
                            found = next((name for name in PLATFORMS if name not in tried), None)
                        if found is not None and found != platform:
                            tried.add(found)
                            session.answers.pop("version")
                            pending.insert(0, "version")
                            platform = info["platform"] = found
                            continue  # a new shell with the right driver, same transport
                    for read in pending:
                        if cancel.is_set() or fired.is_set():
                            break
                        self._read(shell, platform, read, session, per_command, cancel, gap)
                    break
                finally:
                    self._close_shell(shell, info)
            return session
        except ConnectorError:
            raise
        except Exception as exc:
            if fired.is_set():
                raise ConnectorError(f"CLI session with {where} exceeded its {budget:g} s budget and was closed"
                                     ) from None
            raise ConnectorError(f"CLI session with {where} failed: {exc.__class__.__name__}: {exc}") from None
        finally:
            watchdog.cancel()
            self._close_all(closables)
            self._close_agents()

    def _shell(self, transport: Any, target: Any, platform: str, secret: str | None, timeout: float,
               info: dict[str, Any]) -> Any:
        guard = LineGuard(platform, secret)
        info["shells"] += 1
        try:
            shell = open_driver(platform, transport, host=target.host, port=target.port,
                                username=target.username or "", secret=secret, timeout=timeout, guard=guard)
            info["prompt"] = shell.base_prompt
            privileged = shell.check_enable_mode()
            if not privileged and (secret is not None or PLATFORMS[platform].enable_without_secret):
                shell.enable()
                privileged = shell.check_enable_mode()
            info["privileged"] = bool(privileged)
        except (NetmikoBaseException, OSError, EOFError) as exc:
            info["lines_sent"].extend(guard.sent)
            raise ConnectorError(f"the device's CLI did not come up as {platform}: "
                                 f"{_first_line(exc)}") from None
        shell.audit_guard = guard
        return shell

    @staticmethod
    def _close_shell(shell: Any, info: dict[str, Any]) -> None:
        try:
            shell.disconnect()  # the driver's logout ("exit"/"logout"), then the channel
        except Exception:  # pragma: no cover - best effort
            pass
        info["lines_sent"].extend(shell.audit_guard.sent)
        shell.audit_guard.sent.clear()

    def _read(self, shell: Any, platform: str, read: str, session: _CliSession, per_command: float,
              cancel: threading.Event, gap: float) -> None:
        command = PLATFORMS[platform].command_for(read)
        if command is None:
            session.answers[read] = _Answer(None, error=f"{PLATFORMS[platform].title} has no command for {read!r}")
            return
        if session.answers and cancel.wait(gap):
            return
        started = time.monotonic()
        shell.output_budget = int(self.endpoint.max_output_bytes)
        try:
            text = shell.send_command(command, read_timeout=per_command, strip_prompt=True, strip_command=True)
            answer = _Answer(command, _clean(str(text)))
            if read == "running-config":  # passwords, hashes, keys and communities never reach the evidence
                answer.text, answer.secrets_removed = redact_config(answer.text, DEFAULT_COMMUNITIES,
                                                                       platform)
        except RefusedCommand as exc:
            answer = _Answer(command, error=f"refused by the allow-list: {exc}")
        except OutputLimit:
            answer = _Answer(command, error=f"the answer exceeded {self.endpoint.max_output_bytes} bytes",
                             truncated=True)
        except ReadTimeout:
            answer = _Answer(command, error=f"no prompt after {per_command:g} s")
        answer.seconds = round(time.monotonic() - started, 3)
        session.answers[read] = answer


def _clean(text: str) -> str:
    return re.sub(r"\r\n?", "\n", text).strip("\n") + "\n"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [exc.__class__.__name__])[0]
