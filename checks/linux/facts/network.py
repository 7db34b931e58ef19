"""Listening sockets of a Linux host and the port of the auditor's own SSH session.

Reads: ``ss -ltnu`` (no privileges needed without ``-p``) and the SSH session info.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from auditor.facts import FactEvidence, FactUnavailable
from auditor.registry import fact, ssh_exec
from checks.linux.facts.commands import command_state
from checks.linux.facts.sshd_commands import SESSION_INFO

LISTENERS = ssh_exec("ss -ltnu", name="network.listeners")   # no -H: iproute2 < 4.13 (RHEL 7) lacks it; the header line is skipped


@dataclass(frozen=True)
class Listener:
    proto: str          # tcp / udp
    address: str
    port: int
    interface: str | None

    @property
    def loopback(self) -> bool:
        if self.interface == "lo":
            return True
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return False

    @property
    def spec(self) -> str:
        return f"{self.port}/{self.proto}"

    def __str__(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{address}{'%' + self.interface if self.interface else ''}:{self.port}/{self.proto}"


_SS_LINE = re.compile(r"^(?P<netid>tcp|udp|tcp6|udp6)\s+(?P<state>\S+)\s+\d+\s+\d+\s+(?P<local>\S+)\s+(?P<peer>\S+)")


def parse_listeners(text: str) -> list[Listener]:
    listeners: list[Listener] = []
    for line in text.splitlines():
        match = _SS_LINE.match(line.strip())
        if not match or match["state"] not in ("LISTEN", "UNCONN"):
            continue
        local = match["local"]
        host, sep, port = local.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
            continue
        interface = None
        if "%" in host:
            host, _, interface = host.partition("%")
        host = host.strip("[]")
        if host == "":
            host = "*"
        listeners.append(Listener(match["netid"].rstrip("6"), host, int(port), interface or None))
    return listeners


@dataclass(frozen=True)
class Listeners:
    state: str                   # ok / absent / failed
    listeners: tuple[Listener, ...] = ()
    detail: str = ""


@fact("sys_listeners", protocol="ssh", requests=[LISTENERS])
def sys_listeners(ev: FactEvidence) -> Listeners:
    """Listening TCP and bound UDP sockets from ``ss -ltnu`` (no process names: no root needed)."""
    out = ev.command(LISTENERS)
    state, detail = command_state(out)
    if state != "ok":
        return Listeners(state, (), detail)
    return Listeners("ok", tuple(parse_listeners(out.stdout)))


@fact("sys_ssh_port", protocol="ssh", requests=[SESSION_INFO])
def sys_ssh_port(ev: FactEvidence) -> int | None:
    """The TCP port the auditor's own SSH session used (None when the session info is missing)."""
    try:
        info = ev.data(SESSION_INFO)
    except (FactUnavailable, ValueError, TypeError):
        return None
    port = info.get("port") if isinstance(info, dict) else None
    return port if isinstance(port, int) and 0 < port < 65536 else None
