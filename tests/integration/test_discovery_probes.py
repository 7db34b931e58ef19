"""Discovery's identification rules and its own small probes, on 127.0.44.x.

The SSH identification string decides between a host, a Windows host and a network device's CLI; the SNMP
pre-probe is one engine discovery datagram (the bytes nmap and every SNMPv3 manager send first) whose
outcome (answered, refused, silent) decides whether the connector's probes follow; several ranges are
bounded together; a WinRM port is named as a candidate.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import yaml
from click.testing import CliRunner
from pyasn1.codec.ber import decoder
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message

from auditor.app.discovery import (Found, _engine_discovery, _ssh_kind, addresses_of, draft,
                                   engine_discovery_message, parse_ports)
from auditor.cli import cli
from auditor.plant.inventory import load_inventory
from auditor.plant.ports import guess_type
from simulators.ssh.server import SshSimulator


@pytest.mark.parametrize("identification, protocol, platform", [
    ("SSH-2.0-Cisco-1.25", "cli", "cisco_ios"),
    ("SSH-2.0-Hirschmann-HiOS-09.0", "cli", "hirschmann_hios"),
    ("SSH-2.0-HUAWEI-1.5", "cli", None),
    ("SSH-2.0-OpenSSH_for_Windows_8.1", "ssh", None),
    ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "ssh", None),
])
def test_the_ssh_identification_decides_what_the_device_is(identification, protocol, platform) -> None:
    entry = Found("127.0.44.1")
    endpoint = _ssh_kind(entry, {"protocol": "ssh", "port": 22}, f"22/tcp SSH: {identification}")
    assert endpoint["protocol"] == protocol and endpoint.get("platform") == platform
    assert entry.platform == ("windows" if "Windows" in identification else None)
    assert bool(entry.evidence) == (protocol == "cli" or entry.platform == "windows")


def test_a_banner_before_the_identification_names_the_vendor_too() -> None:
    entry = Found("127.0.44.1")
    evidence = "22/tcp SSH: SSH-2.0-OpenSSH_7.4 (before it: 'Hirschmann Automation and Control GmbH')"
    assert _ssh_kind(entry, {"protocol": "ssh", "port": 22}, evidence) == {
        "protocol": "cli", "port": 22, "platform": "hirschmann_hios"}


def test_a_device_cannot_write_into_the_draft_beyond_its_comment() -> None:
    entry = Found("127.0.44.1", endpoints=[{"protocol": "ssh", "port": 22}], type="host", reason="host: answers ssh",
                  evidence=["22/tcp SSH: SSH-2.0-x\n- id: injected\n  type: host\x1b]0;pwned\x07"])
    data, text = draft([entry], "127.0.44.1")
    assert "\n- id: injected" not in text and "\\x1b" in text
    assert [a["id"] for a in yaml.safe_load(text)["assets"]] == ["127.0.44.1"]


def test_the_guess_ranks_plc_protocols_first_and_a_web_interface_last() -> None:
    assert guess_type(["https", "s7"]) == "embedded"
    assert guess_type(["ssh", "https"]) == "host"
    assert guess_type(["snmp", "https"]) == "network"
    assert guess_type(["cli", "snmp"]) == "network"
    assert guess_type(["https"]) == "embedded"
    assert guess_type(["opcua", "https"]) == "application"


def test_ports_name_the_identification_reads() -> None:
    assert [(s.port, s.protocol) for s in parse_ports("102,443,80,8443:https,8080:http,1102:s7")] == [
        (102, "s7"), (443, "https"), (80, "http"), (8443, "https"), (8080, "http"), (1102, "s7")]
    with pytest.raises(ValueError, match="runs over tcp"):
        parse_ports("102/udp:s7")


def test_several_ranges_are_bounded_together() -> None:
    assert addresses_of(["127.0.44.0/30", "127.0.44.2", "127.0.44.9"]) == ["127.0.44.1", "127.0.44.2", "127.0.44.9"]
    ranges = ["127.0.44.0/23", "127.0.46.0/23", "127.0.48.0/23"]  # 510 addresses each, 1024 at most together
    with pytest.raises(ValueError, match="together; --force"):
        addresses_of(ranges)
    assert len(addresses_of(ranges, force=True)) == 1530 and len(addresses_of(ranges[:2])) == 1020


def test_the_engine_discovery_is_the_standard_first_v3_packet() -> None:
    # the bytes nmap's snmp-info probe and net-snmp send (msgID 0x4a69): version 3, reportable, USM, empty GET
    assert engine_discovery_message(0x4A69).hex() == (
        "303a020103300f02024a69020300ffe30401040201030410300e0400020100020100040004000400"
        "301204000400a00c02024a690201000201003000")


def _udp_server(address: str, answer: bool) -> tuple[socket.socket, list[bytes]]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((address, 0))
    received: list[bytes] = []

    def serve() -> None:
        try:
            data, peer = server.recvfrom(2048)
        except OSError:
            return
        received.append(data)
        if answer:
            server.sendto(b"\x30\x00", peer)

    threading.Thread(target=serve, daemon=True).start()
    return server, received


def test_one_datagram_tells_answered_refused_and_silent_apart() -> None:
    answering, got = _udp_server("127.0.44.2", answer=True)
    silent, ignored = _udp_server("127.0.44.3", answer=False)
    try:
        assert asyncio.run(_engine_discovery("127.0.44.2", answering.getsockname()[1], 2.0)) == "answered"
        message, _ = decoder.decode(got[0], asn1Spec=SNMPv3Message())
        assert got == [engine_discovery_message(int(message["msgGlobalData"]["msgID"]))]  # one datagram, that one
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.44.4", 0))
            closed = probe.getsockname()[1]
        started = time.monotonic()
        assert asyncio.run(_engine_discovery("127.0.44.4", closed, 2.0)) == "refused"
        assert time.monotonic() - started < 1.0  # the ICMP port unreachable, not the timeout
        started = time.monotonic()
        assert asyncio.run(_engine_discovery("127.0.44.3", silent.getsockname()[1], 0.3)) == "silent"
        assert 0.3 <= time.monotonic() - started < 2.0 and len(ignored) == 1
    finally:
        answering.close()
        silent.close()


def test_a_windows_host_gets_its_platform_and_its_winrm_port_is_a_candidate(tmp_path) -> None:
    listener = socket.create_server(("127.0.44.6", 5985))  # a WinRM port; no WinRM read is made
    sim = SshSimulator("windows-weak", host="127.0.44.6", port=0)
    sim.start()
    try:
        result = CliRunner().invoke(cli, ["discover", "127.0.44.6", "--ports", f"5985,{sim.port}:ssh", "--timeout",
                                          "1", "--out", str(tmp_path / "draft.yaml")], catch_exceptions=False)
        kinds = {r["kind"] for r in sim.requests}
    finally:
        sim.stop()
        listener.close()
    assert result.exit_code == 0, result.output
    text = (tmp_path / "draft.yaml").read_text()
    assert "5985/tcp WinRM (HTTP) open: a WinRM candidate" in text and "OpenSSH for Windows: platform windows" in text
    asset = load_inventory(tmp_path / "draft.yaml").assets[0]
    assert (asset.type, asset.platform, [e.protocol for e in asset.endpoints]) == ("host", "windows", ["ssh"])
    assert kinds == {"connect"}


def test_silent_s7_and_web_ports_cost_one_bounded_read_each(tmp_path) -> None:
    """Ports that accept and never answer: each identification read ends at its timeout, nothing is drafted."""
    servers = [socket.create_server(("127.0.44.7", 0)) for _ in range(3)]
    accepted: list[socket.socket] = []

    def accept(server: socket.socket) -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    for server in servers:
        threading.Thread(target=accept, args=(server,), daemon=True).start()
    s7, https, http = (s.getsockname()[1] for s in servers)
    try:
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["discover", "127.0.44.7", "--ports", f"{s7}:s7,{https}:https,{http}:http",
                                          "--timeout", "0.5", "--out", str(tmp_path / "d.yaml")],
                                    catch_exceptions=False)
        elapsed = time.monotonic() - started
    finally:
        for sock in servers + accepted:
            sock.close()
    assert result.exit_code == 0, result.output
    assert "nothing answered on a port the auditor speaks" in result.output and not (tmp_path / "d.yaml").exists()
    # 3 connects, then the S7 session (2 s) and the two GETs (3 s each) at their floor timeouts
    assert elapsed < 20
    assert len(accepted) == 6  # each port: its connect and one identification connection, no retry
