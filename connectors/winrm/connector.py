"""The WinRM connector: the Windows pack's one read-only PowerShell script, run through WinRS, as over SSH.

For the requests of one Windows host it builds the SAME script as the SSH connector
(:func:`connectors.windows.script.build_script` of every ``ssh:powershell`` section), starts the SAME bootstrap
(:func:`connectors.windows.script.bootstrap_command`) as a WinRS command with the script on its stdin, and
splits the output with the SAME splitter (:class:`connectors.ssh.script.OutputSplitter`), so each section becomes
the same evidence item (same request, same response) the SSH connector records and the same checks judge it. The
WS-Management exchange is :mod:`connectors.winrm.transport`: Create shell, Command, Send, Receive, Signal,
Delete, nothing else.

HTTPS (5986) with the certificate validated against ``ca_file`` or the system's CA store is the default; plain
HTTP (5985) only with the endpoint's ``allow_http: true``, and the ``winrm:session:info`` item records it so the
``windows.winrm.unencrypted`` check fails on it. The password is read by reference when the connection is made and
lives in local variables only. Bounds: ``endpoint.timeout`` for connecting and each ordinary request,
``ScanOptions.command_timeout`` for the whole script (each section gets half of it, as over SSH), the sizes in
:mod:`connectors.winrm.limits`, and ``requests_per_second`` between messages.
"""

from __future__ import annotations

import json
import math
import secrets as _secrets
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.secrets import SecretError, remember, resolve
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, run_in_thread
from connectors.ssh import script as _splitting
from connectors.ssh.connector import per_command_timeout
from connectors.windows import script as _windows
from connectors.winrm import limits
from connectors.winrm.transport import WinrmUnusable, WinrsRun, WinrsSettings, payload_size, run_command, system_ca

__all__ = ["SESSION_INFO", "WinrmConnector"]

SESSION_INFO = EvidenceRequest(protocol="winrm", op="session", target="info")
_SECTION_OP = ("ssh", "powershell")


class WinrmConnector(Connector):
    """Reads a Windows host's evidence over WinRM (see the module docstring for the exact behaviour)."""

    protocol = "winrm"

    @property
    def label(self) -> str:
        return f"{self.protocol}://{self.asset.address}:{self.endpoint.port}"

    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        items = self.collected
        sections: list[EvidenceRequest] = []
        info_request: EvidenceRequest | None = None
        for req in requests:
            if (req.protocol, req.op) == _SECTION_OP:
                sections.append(req)
            elif (req.protocol, req.op, req.target) == ("winrm", "session", "info"):
                info_request = req
            else:
                items.append(self.item(req, started=time.monotonic(), status="error",
                                       error=f"unsupported op {req.protocol}:{req.op}:{req.target}"))
        if not sections and info_request is None:
            return items
        try:
            password = resolve(self.endpoint.password_env, self.endpoint.password_file) or ""
        except SecretError as exc:
            raise ConnectorError(f"the password of {self.endpoint.username!r}: {exc}") from None
        if self.endpoint.auth == "basic":  # the Authorization header carries base64("user:password")
            remember(f"{self.endpoint.username}:{password}")
        nonce = _secrets.token_hex(16)
        timeout = per_command_timeout(self.options.command_timeout)
        script = _windows.build_script([r.target for r in sections], nonce, timeout) if sections else ""
        splitter = _splitting.OutputSplitter(nonce, len(sections), max_section=limits.MAX_SECTION_BYTES)
        executable, *arguments = _windows.bootstrap_command().split(" ") if sections else [""]
        cancel = threading.Event()
        started = time.monotonic()
        try:
            settings, deadline = self._settings(), time.monotonic() + self.options.command_timeout
            # cancelled: the worker stops at its next receive and deletes the shell
            run = await run_in_thread(lambda: run_command(
                settings, password, executable or None, arguments, script.encode("utf-8"), splitter.feed, deadline,
                cancel, max(60, math.ceil(self.options.command_timeout * 2))), cancel)
        except WinrmUnusable as exc:
            raise ConnectorError(str(exc)) from None
        finally:
            del password
        items.extend(self._section_items(sections, splitter, run, started, timeout))
        items.append(self.item(info_request or SESSION_INFO, started=started, encoding="json",
                               response=json.dumps(self._info(run), sort_keys=True)))
        return items

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """The connection and every WS-Management message :meth:`collect` would send, with no network."""
        endpoint = self.endpoint
        sections = [r for r in requests if (r.protocol, r.op) == _SECTION_OP]
        scheme = "http" if endpoint.allow_http else "https"
        url = f"{scheme}://{self.asset.address}:{endpoint.port}/{endpoint.path}"
        if endpoint.allow_http:
            how = ("plain HTTP (allow_http: the report flags it)" + (
                "; Basic authentication: the password crosses unencrypted" if endpoint.auth == "basic"
                else f"; messages encrypted by {endpoint.auth}"))
        else:
            how = f"HTTPS, certificate validated against {endpoint.ca_file or 'the system CA store'}"
        steps = [PlannedRequest("connect", url, 1, f"{how}; {endpoint.auth} authentication as {endpoint.username}")]
        steps.append(PlannedRequest("create", "a WinRS cmd shell", 1, "WS-Management Create (shell/cmd)"))
        if sections:
            script = _windows.build_script([r.target for r in sections], "0" * 32,
                                           per_command_timeout(self.options.command_timeout))
            sends = max(1, math.ceil(len(script.encode("utf-8")) / payload_size()))
            steps.append(PlannedRequest("command", _windows.bootstrap_command(), 1,
                                        "the PowerShell bootstrap: reads the script from stdin"))
            steps.append(PlannedRequest("send", f"the read-only script of {len(sections)} sections on stdin", sends,
                                        f"{len(script.encode('utf-8'))} bytes; each section in its own runspace "
                                        "under a time bound"))
            steps += [PlannedRequest("section", r.target, 1, "", r.key) for r in sections]
            steps.append(PlannedRequest("receive", "stdout and stderr of the command", None,
                                        f"until it is done; each waits at most {limits.OPERATION_SECONDS} s on "
                                        "the server"))
            steps.append(PlannedRequest("signal", "Terminate for the command", 1, "ends it if it still runs"))
        steps.append(PlannedRequest("delete", "the shell", 1, "WS-Management Delete"))
        for req in requests:
            if (req.protocol, req.op, req.target) == ("winrm", "session", "info"):
                steps.append(PlannedRequest("record", "session info", 0, "nothing sent: how the host was reached",
                                            req.key))
            elif (req.protocol, req.op) != _SECTION_OP:
                steps.append(PlannedRequest(req.op, req.target, 0, "not a read this connector performs: nothing sent",
                                            req.key))
        fixed = sum(s.count or 0 for s in steps if s.operation in ("create", "command", "send", "signal", "delete"))
        pacing = (f"connect and each request bounded by {endpoint.timeout:g} s; every section by "
                  f"{per_command_timeout(self.options.command_timeout):g} s, the script by "
                  f"{self.options.command_timeout:g} s; at most {endpoint.requests_per_second:g} messages/s")
        return ConnectorPlan(pacing=pacing, steps=steps,
                             min_seconds=round(max(0, fixed - 1) / endpoint.requests_per_second, 3))

    # ------------------------------------------------------------------ helpers
    def _settings(self) -> WinrsSettings:
        endpoint = self.endpoint
        verify: bool | str = str(Path(endpoint.ca_file).expanduser()) if endpoint.ca_file else system_ca()
        return WinrsSettings(host=self.asset.address, port=endpoint.port, path=endpoint.path,
                             https=not endpoint.allow_http, username=endpoint.username, auth=endpoint.auth,
                             verify=verify, connect_timeout=float(endpoint.timeout),
                             requests_per_second=float(endpoint.requests_per_second))

    def _info(self, run: WinrsRun) -> dict[str, Any]:
        endpoint = self.endpoint
        https = not endpoint.allow_http
        info: dict[str, Any] = {
            "transport": "winrm", "scheme": "https" if https else "http", "port": endpoint.port,
            "path": endpoint.path, "username": endpoint.username, "auth": endpoint.auth,
            "allow_http": endpoint.allow_http, "certificate_validated": https,
            "ca": (endpoint.ca_file or "system") if https else None,
            "encryption": "tls" if https else ("none" if endpoint.auth == "basic" else f"{endpoint.auth} message "
                                                                                       "encryption"),
            "platform": "windows", "platform_source": "inventory",
            "shell_id": run.shell_id, "exit_code": run.exit_code,
            "operations": {op: run.operations.count(op) for op in dict.fromkeys(run.operations)},
            "round_trips": len(run.operations),
        }
        if run.stderr:
            info["stderr"] = run.stderr
            if run.stderr_chars > len(run.stderr):
                info["truncated"] = {"stderr": {"original_chars": run.stderr_chars, "kept_chars": len(run.stderr)}}
        if run.cleanup_errors:
            info["cleanup_errors"] = run.cleanup_errors
        return info

    def _section_items(self, sections: list[EvidenceRequest], splitter: _splitting.OutputSplitter, run: WinrsRun,
                       started: float, per_section: float) -> list[EvidenceItem]:
        """One item per section, as the SSH connector records a Windows host's sections."""
        items = []
        for index, req in enumerate(sections):
            meta: dict[str, Any] = {"sudo": False}
            if run.error is not None:
                items.append(self.item(req, started=started, status="error", error=run.error, meta=meta))
            else:
                items.append(self.item(req, started=started, **splitter.item_fields(
                    index, stop_reason=run.stop_reason, timeout=per_section, meta=meta)))
        return items
