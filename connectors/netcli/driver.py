"""netmiko drivers bound to an SSH transport the auditor has already verified and authenticated.

netmiko knows each platform's prompts, paging and privilege levels, but it would open its own SSH
client (with its own host-key policy, ssh_config reading and credentials). Here it gets a session channel
of the auditor's transport instead (:mod:`connectors.ssh`: strict known_hosts, ssh_config, jump hosts,
agent/key/password handling), and every byte it writes goes through :class:`LineGuard`: only the
platform's allow-listed read commands, its session commands and the enable secret can leave, so
netmiko's own helpers (``send_config_set``, ``save_config``, ...) could not reach the device even if
called by mistake.
"""

from __future__ import annotations

import functools
from typing import Any

import paramiko
from netmiko.ssh_dispatcher import CLASS_MAPPER
from netmiko.channel import SSHChannel

from auditor.protocols.cli import PLATFORMS, allowed


class RefusedCommand(Exception):
    """Something other than an allow-listed read or session command was about to be written."""


class OutputLimit(Exception):
    """A command answered more than the endpoint's ``max_output_bytes``."""


class LineGuard:
    """Decides, line by line, whether text may be written to a device's CLI."""

    def __init__(self, platform: str, secret: str | None):
        self.platform = platform
        self._session = set(PLATFORMS[platform].session_commands)
        self._secret = secret
        self.sent: list[str] = []  # every line written, the secret replaced by a placeholder

    def check(self, data: str) -> None:
        """Accept ``data`` whole or refuse it whole: one bad line and nothing of it is written."""
        accepted = []
        for line in data.replace("\r", "\n").split("\n"):
            text = line.strip()
            if not text:
                continue
            if self._secret is not None and line == self._secret:
                accepted.append("<enable secret>")
            elif text in self._session or allowed(self.platform, text):
                accepted.append(text)
            else:
                raise RefusedCommand(f"{text!r} is not a read command allowed on {self.platform}")
        self.sent.extend(accepted)


class _OnAuditTransport:
    """Mixed into a netmiko driver: a pty shell on the given transport instead of netmiko's own SSH client."""

    audit_transport: paramiko.Transport
    line_guard: LineGuard
    output_budget: int = 0

    def establish_connection(self, width: int = 511, height: int = 1000) -> None:
        channel = self.audit_transport.open_session(timeout=self.conn_timeout)  # type: ignore[attr-defined]
        channel.get_pty(term="vt100", width=width, height=height)
        channel.invoke_shell()
        channel.settimeout(self.blocking_timeout)  # type: ignore[attr-defined]
        self.remote_conn = channel
        self.remote_conn_pre = None
        self.channel = SSHChannel(conn=channel, encoding=self.encoding)  # type: ignore[attr-defined]

    def write_channel(self, out_data: str) -> None:
        self.line_guard.check(out_data)
        super().write_channel(out_data)  # type: ignore[misc]

    def read_channel(self) -> str:
        data = super().read_channel()  # type: ignore[misc]
        self.output_budget -= len(data)
        if self.output_budget < 0:
            raise OutputLimit("the answer exceeded the endpoint's max_output_bytes")
        return data


@functools.lru_cache(maxsize=None)
def _driver_class(device_type: str) -> type:
    base = CLASS_MAPPER[device_type]
    return type(f"Audit{base.__name__}", (_OnAuditTransport, base), {})


def open_driver(platform: str, transport: paramiko.Transport, *, host: str, port: int, username: str,
                secret: str | None, timeout: float, guard: LineGuard) -> Any:
    """A logged-in netmiko session (prompt found, paging off) on a new channel of ``transport``."""
    cls = _driver_class(PLATFORMS[platform].netmiko_device_type)
    conn = cls(host=host, port=port, username=username, password="", secret=secret or "", auto_connect=False,
               conn_timeout=timeout, auth_timeout=timeout, banner_timeout=timeout, read_timeout_override=None,
               fast_cli=False, session_log=None)
    conn.audit_transport = transport
    conn.line_guard = guard
    conn.output_budget = 1 << 30
    conn._open()
    return conn
