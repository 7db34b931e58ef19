"""Helpers for the Modbus integration tests: a loopback address of our own, the demo credentials.

:func:`credential_fields` gives the inventory fields (``client_cert_file``, ``client_key_file``,
``ca_file``) naming the demo PKI's auditor files, to merge into a modbus endpoint.

Each test module takes a random address in 127.0.140.0-127.0.199.255 on which none of the probed ports
answers, so parallel test runs (and the demo plant on 127.0.10.31/.32) never share a PLC's ports.
Binding 21/23/80/502/802 needs root (or CAP_NET_BIND_SERVICE): without it the tests that need the
well-known ports skip, and the rest use ephemeral ports.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

import pytest

from checks.modbus.facts import PORTS
from simulators.modbus.pki import demo_pki

WELL_KNOWN = (21, 23, 80, 502, 802)


def can_bind_low_ports() -> bool:
    try:
        start = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        start = 1024
    return os.geteuid() == 0 or start <= 21


needs_low_ports = pytest.mark.skipif(not can_bind_low_ports(), reason="binding ports 21-802 needs root")


def _quiet(address: str) -> bool:
    for port in set(PORTS) | set(WELL_KNOWN):
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((address, port)) == 0:
                return False
    if can_bind_low_ports():
        for port in WELL_KNOWN:
            with socket.socket() as sock:
                try:
                    sock.bind((address, port))
                except OSError:
                    return False
    return True


def fresh_address() -> str:
    for _ in range(50):
        address = f"127.0.{random.randint(140, 199)}.{random.randint(2, 250)}"
        if _quiet(address):
            return address
    raise RuntimeError("no quiet loopback address found")


def credential_fields() -> dict[str, str]:
    """The modbus endpoint fields that name the demo auditor certificate, key and CA (process-lifetime files)."""
    files = demo_pki().process_files()
    return {"client_cert_file": str(files["cert"]), "client_key_file": str(files["key"]), "ca_file": str(files["ca"])}
