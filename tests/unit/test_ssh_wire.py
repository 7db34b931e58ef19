"""Tests for the unauthenticated SSH wire probe (connectors/ssh/wire.py).

Only 127.0.0.1 is used: a real paramiko server proves the probe reports exactly what a server
offers, and tiny socket servers play hostile or broken peers to prove the probe never hangs
or crashes its caller. Every probe runs with a 1 s timeout and is checked against that bound.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import paramiko
import pytest

from connectors.ssh.wire import (
    CLIENT_IDENTIFICATION,
    KEXINIT_NAME_LISTS,
    WireProbeError,
    parse_identification,
    parse_kexinit,
    probe_ssh_wire,
)

TIMEOUT = 1.0
#: Slack for thread scheduling on a loaded CI machine; the probe itself must honour TIMEOUT.
SLACK = 0.5

OPENSSH_IDENT = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"

OPENSSH_LISTS: dict[str, list[str]] = {
    "kex_algorithms": ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
                       "diffie-hellman-group14-sha256", "kex-strict-s-v00@openssh.com"],
    "server_host_key_algorithms": ["rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256",
                                   "ssh-ed25519"],
    "encryption_algorithms_client_to_server": ["chacha20-poly1305@openssh.com", "aes256-ctr"],
    "encryption_algorithms_server_to_client": ["aes128-ctr"],
    "mac_algorithms_client_to_server": ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
    "mac_algorithms_server_to_client": ["hmac-sha2-512"],
    "compression_algorithms_client_to_server": ["none", "zlib@openssh.com"],
    "compression_algorithms_server_to_client": ["none"],
    "languages_client_to_server": [],
    "languages_server_to_client": [],
}


# --------------------------------------------------------------------------- byte builders


def name_list(names: list[str]) -> bytes:
    """RFC 4251 §5 name-list: uint32 length + comma-separated ASCII."""
    data = ",".join(names).encode("ascii")
    return struct.pack(">I", len(data)) + data


def build_kexinit(lists: dict[str, list[str]] | None = None, first_kex_packet_follows: int = 0,
                  cookie: bytes = bytes(range(16))) -> bytes:
    """An SSH_MSG_KEXINIT payload (RFC 4253 §7.1) with the given name-lists."""
    lists = OPENSSH_LISTS if lists is None else lists
    body = b"".join(name_list(lists[key]) for key in KEXINIT_NAME_LISTS)
    return bytes([20]) + cookie + body + bytes([first_kex_packet_follows]) + struct.pack(">I", 0)


def frame(payload: bytes) -> bytes:
    """Wrap a payload in a cleartext binary packet (RFC 4253 §6), 8-byte aligned, >= 4 padding."""
    padding = 8 - (5 + len(payload)) % 8
    if padding < 4:
        padding += 8
    packet_length = 1 + len(payload) + padding
    return struct.pack(">IB", packet_length, padding) + payload + b"\x00" * padding


def disconnect_payload(reason: int, text: str) -> bytes:
    data = text.encode()
    return bytes([1]) + struct.pack(">II", reason, len(data)) + data + struct.pack(">I", 0)


# --------------------------------------------------------------------------- pure parsers


def test_parse_kexinit_reads_every_name_list_in_server_order() -> None:
    result = parse_kexinit(build_kexinit())
    for key in KEXINIT_NAME_LISTS:
        assert result[key] == OPENSSH_LISTS[key]
    assert result["first_kex_packet_follows"] is False


def test_parse_kexinit_treats_any_non_zero_boolean_as_true() -> None:
    assert parse_kexinit(build_kexinit(first_kex_packet_follows=7))["first_kex_packet_follows"] is True


def test_parse_kexinit_accepts_trailing_bytes_after_reserved_field() -> None:
    # OpenSSH ignores them too; what matters is that the ten lists are complete.
    assert parse_kexinit(build_kexinit() + b"\x00" * 8)["kex_algorithms"] == OPENSSH_LISTS["kex_algorithms"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty packet payload"),
        (disconnect_payload(2, "bye"), r"expected SSH_MSG_KEXINIT \(20\), got 1"),
        (bytes([20]) + b"\x00" * 10, "too short for its 16-byte cookie"),
        (bytes([20]) + b"\x00" * 16 + struct.pack(">I", 1000) + b"abc",
         "name-list kex_algorithms claims 1000 bytes but only 3 remain"),
        (bytes([20]) + b"\x00" * 16 + name_list(["curve25519-sha256"]) + b"\x00\x00",
         "truncated before the length of server_host_key_algorithms"),
        (build_kexinit()[:-5], "truncated after its name-lists"),
        (build_kexinit()[:-1], "truncated after its name-lists"),
        (build_kexinit({**OPENSSH_LISTS, "kex_algorithms": ["a", "", "b"]}), "contains an empty name"),
        (bytes([20]) + b"\x00" * 16 + struct.pack(">I", 3) + b"a\xffb", "non-printable or non-ASCII"),
        (bytes([20]) + b"\x00" * 16 + struct.pack(">I", 3) + b"a b", "non-printable or non-ASCII"),
    ],
)
def test_parse_kexinit_rejects_malformed_payloads(payload: bytes, reason: str) -> None:
    with pytest.raises(WireProbeError, match=reason):
        parse_kexinit(payload)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (OPENSSH_IDENT, ("SSH-2.0-OpenSSH_9.2p1 Debian-2", "2.0", "OpenSSH_9.2p1", "Debian-2")),
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\n", ("SSH-2.0-OpenSSH_9.2p1 Debian-2", "2.0", "OpenSSH_9.2p1", "Debian-2")),
        (b"SSH-2.0-dropbear_2022.83", ("SSH-2.0-dropbear_2022.83", "2.0", "dropbear_2022.83", None)),
        (b"SSH-1.99-Cisco-1.25\r\n", ("SSH-1.99-Cisco-1.25", "1.99", "Cisco-1.25", None)),
        (b"SSH-2.0-X with spaces in comment\r\n", ("SSH-2.0-X with spaces in comment", "2.0", "X", "with spaces in comment")),
    ],
)
def test_parse_identification_splits_rfc_4253_fields(line: bytes, expected: tuple) -> None:
    parsed = parse_identification(line)
    assert (parsed["identification"], parsed["protocol_version"], parsed["software"],
            parsed["comments"]) == expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n", "does not start with 'SSH-'"),
        (b"SSH-2.0\r\n", "not 'SSH-protoversion-softwareversion'"),
        (b"SSH-2.0-\r\n", "not 'SSH-protoversion-softwareversion'"),
        (b"SSH-2.0-Open\x00SSH\r\n", "non-printable or non-ASCII"),
        (b"SSH-2.0-" + b"A" * 300 + b"\r\n", "longer than the 255 allowed"),
    ],
)
def test_parse_identification_rejects_invalid_lines(line: bytes, reason: str) -> None:
    with pytest.raises(WireProbeError, match=reason):
        parse_identification(line)


def test_wire_probe_error_carries_its_reason() -> None:
    error = WireProbeError("packet length 4294967295 exceeds 35000")
    assert error.reason == str(error) == "packet length 4294967295 exceeds 35000"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"host": "", "port": 22}, "host"), ({"host": "127.0.0.1", "port": 0}, "port"),
     ({"host": "127.0.0.1", "port": 70000}, "port"),
     ({"host": "127.0.0.1", "port": 22, "timeout": 0}, "timeout"),
     ({"host": "127.0.0.1", "port": 22, "timeout": float("inf")}, "timeout")],
)
def test_probe_rejects_invalid_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        probe_ssh_wire(**kwargs)


# --------------------------------------------------------------------------- fake servers


@dataclass
class ServerState:
    port: int
    received: bytearray = field(default_factory=bytearray)
    info: dict = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)


def _drain(conn: socket.socket, state: ServerState) -> None:
    """Read until the client closes, so the server never resets a connection the probe reads."""
    conn.settimeout(3)
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return
        state.received += chunk


@contextmanager
def one_shot_server(handler: Callable[[socket.socket, ServerState], None],
                    drain: bool = True) -> Iterator[ServerState]:
    """Accept one connection on 127.0.0.1:0 in a thread and let ``handler`` misbehave on it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    state = ServerState(port=listener.getsockname()[1])

    def run() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            try:
                conn.settimeout(3)
                handler(conn, state)
                if drain:
                    _drain(conn, state)
            except OSError:
                pass  # the probe gave up and closed: expected for hostile servers
            except BaseException as exc:  # surfaced in the test thread below
                state.errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        thread.join(5)
        listener.close()
    assert not thread.is_alive(), "fake server thread did not finish"
    assert not state.errors, state.errors


def timed_probe(port: int) -> tuple[float, dict | WireProbeError]:
    """Run the probe with TIMEOUT, return (elapsed seconds, result or error); assert the bound."""
    started = time.monotonic()
    try:
        outcome: dict | WireProbeError = probe_ssh_wire("127.0.0.1", port, timeout=TIMEOUT)
    except WireProbeError as exc:
        outcome = exc
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + SLACK, f"probe took {elapsed:.2f} s"
    return elapsed, outcome


def probe_error(port: int) -> str:
    _, outcome = timed_probe(port)
    assert isinstance(outcome, WireProbeError), f"expected WireProbeError, got {outcome!r}"
    return outcome.reason


def sends(data: bytes) -> Callable[[socket.socket, ServerState], None]:
    def handler(conn: socket.socket, state: ServerState) -> None:
        conn.sendall(data)
    return handler


# --------------------------------------------------------------------------- well-behaved servers


def test_probe_reports_recorded_kexinit_and_sends_only_its_identification() -> None:
    with one_shot_server(sends(OPENSSH_IDENT + frame(build_kexinit()))) as server:
        _, result = timed_probe(server.port)
    assert isinstance(result, dict)
    assert result == {
        "identification": "SSH-2.0-OpenSSH_9.2p1 Debian-2",
        "pre_version_lines": [],
        "software": "OpenSSH_9.2p1",
        "comments": "Debian-2",
        **{key: OPENSSH_LISTS[key] for key in KEXINIT_NAME_LISTS[:8]},
        "first_kex_packet_follows": False,
    }
    assert json.loads(json.dumps(result)) == result
    # Read-only: the probe's identification string is the only thing it ever sends.
    assert bytes(server.received) == CLIENT_IDENTIFICATION == b"SSH-2.0-iacs_auditor_probe\r\n"


def test_probe_keeps_pre_version_lines_and_skips_ignore_and_debug_packets() -> None:
    data = (b"Authorised access only\r\n\xc3\xa9t\xc3\xa9 banner\n" + OPENSSH_IDENT
            + frame(bytes([2]) + struct.pack(">I", 3) + b"pad")
            + frame(bytes([4, 0]) + struct.pack(">I", 2) + b"hi" + struct.pack(">I", 0))
            + frame(build_kexinit(first_kex_packet_follows=1)))
    with one_shot_server(sends(data)) as server:
        _, result = timed_probe(server.port)
    assert isinstance(result, dict)
    assert result["pre_version_lines"] == ["Authorised access only", "été banner"]
    assert result["first_kex_packet_follows"] is True


def test_probe_handles_a_server_that_writes_in_small_pieces() -> None:
    data = OPENSSH_IDENT + frame(build_kexinit())

    def trickle(conn: socket.socket, state: ServerState) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index in range(0, len(data), 16):
            conn.sendall(data[index:index + 16])
            time.sleep(0.001)

    with one_shot_server(trickle) as server:
        _, result = timed_probe(server.port)
    assert isinstance(result, dict) and result["kex_algorithms"] == OPENSSH_LISTS["kex_algorithms"]


class _NoAuthServer(paramiko.ServerInterface):
    """Never reached: the probe closes before authentication."""

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"


@contextmanager
def paramiko_server(ciphers: tuple[str, ...], macs: tuple[str, ...],
                    kex: tuple[str, ...]) -> Iterator[ServerState]:
    """A real paramiko SSH server whose offer is restricted through its SecurityOptions."""
    host_key = paramiko.ECDSAKey.generate(bits=256)

    def handler(conn: socket.socket, state: ServerState) -> None:
        transport = paramiko.Transport(conn)
        try:
            transport.add_server_key(host_key)
            options = transport.get_security_options()
            options.ciphers = ciphers
            options.digests = macs
            options.kex = kex
            state.info["local_version"] = transport.local_version
            try:
                transport.start_server(server=_NoAuthServer())
            except (paramiko.SSHException, EOFError):
                pass  # the probe closes after reading our KEXINIT: negotiation "fails"
            state.info["remote_version"] = transport.remote_version
        finally:
            transport.close()

    with one_shot_server(handler, drain=False) as state:
        yield state


def test_probe_reports_exactly_what_a_paramiko_server_offers() -> None:
    ciphers = ("aes256-ctr", "aes128-ctr")
    macs = ("hmac-sha2-512", "hmac-sha2-256")
    kex = ("ecdh-sha2-nistp256", "diffie-hellman-group14-sha256")
    with paramiko_server(ciphers, macs, kex) as server:
        _, result = timed_probe(server.port)
    assert isinstance(result, dict), result
    assert result["identification"] == server.info["local_version"]
    assert result["software"] == f"paramiko_{paramiko.__version__}"
    assert result["comments"] is None
    assert result["pre_version_lines"] == []
    assert result["encryption_algorithms_client_to_server"] == list(ciphers)
    assert result["encryption_algorithms_server_to_client"] == list(ciphers)
    assert result["mac_algorithms_client_to_server"] == list(macs)
    assert result["mac_algorithms_server_to_client"] == list(macs)
    # paramiko (like OpenSSH >= 9.6) appends the strict-kex pseudo-algorithm (Terrapin fix).
    assert result["kex_algorithms"] == [*kex, "kex-strict-s-v00@openssh.com"]
    assert result["server_host_key_algorithms"] == ["ecdsa-sha2-nistp256"]
    assert result["compression_algorithms_client_to_server"] == ["none"]
    assert result["compression_algorithms_server_to_client"] == ["none"]
    assert result["first_kex_packet_follows"] is False
    assert server.info["remote_version"] == "SSH-2.0-iacs_auditor_probe"


# --------------------------------------------------------------------------- hostile servers


def test_silent_server_times_out_within_the_deadline() -> None:
    with one_shot_server(lambda conn, state: None) as server:
        elapsed, outcome = timed_probe(server.port)
    assert isinstance(outcome, WireProbeError)
    assert outcome.reason == "timed out after 1.0 s waiting for identification string"
    assert elapsed >= TIMEOUT - 0.05


def test_silent_server_after_identification_times_out_waiting_for_kexinit() -> None:
    with one_shot_server(sends(OPENSSH_IDENT)) as server:
        assert probe_error(server.port) == "timed out after 1.0 s waiting for KEXINIT"


def test_deadline_is_total_not_per_read() -> None:
    """A byte every 0.1 s never trips a per-read timeout; the total deadline must still hold."""

    def slow_loris(conn: socket.socket, state: ServerState) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index in range(40):
            conn.sendall(b"x" if index % 10 else b"\n")
            time.sleep(0.1)

    with one_shot_server(slow_loris, drain=False) as server:
        assert probe_error(server.port).startswith("timed out after 1.0 s")


def test_endless_line_without_newline_is_capped() -> None:
    def endless(conn: socket.socket, state: ServerState) -> None:
        for _ in range(1000):
            conn.sendall(b"A" * 1024)

    with one_shot_server(endless, drain=False) as server:
        assert "line exceeds 255 bytes without a line feed" in probe_error(server.port)


def test_overlong_identification_line_is_rejected() -> None:
    with one_shot_server(sends(b"SSH-2.0-" + b"A" * 300 + b"\r\n")) as server:
        assert "line exceeds 255 bytes" in probe_error(server.port)


def test_too_many_pre_version_lines_are_rejected() -> None:
    with one_shot_server(sends(b"hello\r\n" * 21 + OPENSSH_IDENT)) as server:
        assert probe_error(server.port) == \
            "server sent more than 20 lines before its identification string"


def test_huge_packet_length_is_rejected_without_reading_it() -> None:
    with one_shot_server(sends(OPENSSH_IDENT + b"\xff\xff\xff\xff")) as server:
        assert probe_error(server.port) == "packet length 4294967295 exceeds 35000"


@pytest.mark.parametrize(
    ("after_identification", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n", "packet length 1195725856 exceeds 35000"),
        (b"\x00\x00\x00\x0d" + b"\x00" * 13, "is not a multiple of 8"),
        (struct.pack(">IB", 4, 2) + b"\x14\x00\x00", "padding length 2 is below the minimum of 4"),
        (struct.pack(">IB", 12, 200) + b"\x00" * 11, "leaves no payload"),
        (frame(disconnect_payload(2, "Too many connections")),
         r"^expected SSH_MSG_KEXINIT \(20\), got 1 \(SSH_MSG_DISCONNECT, reason 2: 'Too many connections'\)$"),
        (frame(bytes([21])), r"^expected SSH_MSG_KEXINIT \(20\), got 21$"),
        (frame(bytes([20]) + b"\x00" * 16 + struct.pack(">I", 1000) + b"abc"),
         "name-list kex_algorithms claims 1000 bytes"),
        (frame(bytes([2, 0, 0, 0, 0])) * 9, "more than 8 IGNORE/DEBUG packets"),
    ],
    ids=["http", "misaligned", "short-padding", "padding-overflow", "disconnect", "wrong-message",
         "name-list-overrun", "ignore-flood"],
)
def test_garbage_after_identification_is_rejected(after_identification: bytes, reason: str) -> None:
    with one_shot_server(sends(OPENSSH_IDENT + after_identification)) as server:
        error = probe_error(server.port)
    assert re.search(reason, error), error


def test_ssh1_only_server_is_rejected() -> None:
    with one_shot_server(sends(b"SSH-1.5-OldDevice\r\n")) as server:
        assert probe_error(server.port).startswith("server speaks SSH protocol 1.5, not 2.0")


def test_non_ssh_service_is_reported_as_closed_before_identification() -> None:
    def http(conn: socket.socket, state: ServerState) -> None:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)

    with one_shot_server(http) as server:
        assert probe_error(server.port) == \
            "server closed the connection before its identification string"


def test_server_closing_mid_packet_is_reported() -> None:
    def half_packet(conn: socket.socket, state: ServerState) -> None:
        conn.sendall(OPENSSH_IDENT + struct.pack(">IB", 1020, 4) + b"\x14" * 10)
        conn.shutdown(socket.SHUT_WR)

    with one_shot_server(half_packet) as server:
        assert probe_error(server.port) == "server closed the connection before its KEXINIT"


@pytest.mark.parametrize("abortive", [False, True], ids=["fin", "rst"])
def test_server_closing_immediately_is_reported(abortive: bool) -> None:
    def close_now(conn: socket.socket, state: ServerState) -> None:
        if abortive:  # SO_LINGER 0: close() sends a TCP RST instead of a FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with one_shot_server(close_now, drain=False) as server:
        assert "before its identification string" in probe_error(server.port)


def test_reset_seen_by_connect_itself_is_reported_as_a_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server can accept and reset before the client's poll for the connect's outcome runs."""
    def reset(self: socket.socket, address: object) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(socket.socket, "connect", reset)
    assert probe_error(9) == "connection reset by the server before its identification string"


def test_connection_refused_on_a_closed_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    assert probe_error(port) == f"connection refused by 127.0.0.1:{port}"
