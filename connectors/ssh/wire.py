"""Unauthenticated SSH "wire" probe: what does the server *offer* before authentication?

Why this exists
---------------
The auditor compares sshd's configuration (``KexAlgorithms``, ``Ciphers``, ``MACs``,
``HostKeyAlgorithms``...) with what the service actually negotiates on the network, so that a
``sshd_config`` that is overridden by an ``Include``, a crypto policy, a different binary or a
forgotten second daemon is caught. paramiko cannot answer that question: it negotiates *one*
algorithm per category from the server's SSH_MSG_KEXINIT and then discards the message, and
``Transport.get_security_options()`` shows our own preferences, not the server's. The complete
lists the server offers are only visible in its KEXINIT on the wire, so this module reads them from
a raw socket, the way ssh-audit does.

What it does on the wire (read-only and gentle)
-----------------------------------------------
One TCP connection: send our identification string ``SSH-2.0-iacs_auditor_probe``, read the
server's optional pre-version lines and its identification string (RFC 4253 §4.2), read its
SSH_MSG_KEXINIT (RFC 4253 §7.1), close. We never send a KEXINIT of our own, never start a key
exchange and never try to authenticate, so nothing is logged as a login attempt beyond a
"connection closed by ... [preauth]" line.

Hostile or broken servers
-------------------------
The probe is pointed at devices we do not control, so every read is bounded: one total deadline
for the whole probe (not per read, so a server trickling one byte at a time cannot stretch it),
identification lines capped at 255 bytes, at most 20 lines before the identification string,
``packet_length`` capped at 35000 bytes (RFC 4253 §6.1), padding and name-list lengths checked
against the bytes actually present. Every violation, refusal or timeout raises
:class:`WireProbeError` with a human-readable reason that can go straight into the report.

The functions are blocking (plain ``socket`` with timeouts); the async collector calls
:func:`probe_ssh_wire` through ``asyncio.to_thread``. :func:`parse_identification` and
:func:`parse_kexinit` are pure so they can be unit tested on recorded bytes.
"""

from __future__ import annotations

import math
import socket
import struct
import time
from typing import Any

from connectors.ssh.limits import MAX_LINE_BYTES, MAX_PACKET_LENGTH, MAX_PRE_VERSION_LINES, MAX_SKIPPED_PACKETS

__all__ = [
    "CLIENT_IDENTIFICATION",
    "KEXINIT_NAME_LISTS",
    "WireProbeError",
    "parse_identification",
    "parse_kexinit",
    "probe_ssh_wire",
]

#: The only bytes the probe ever sends (RFC 4253 §4.2 requires CR LF).
CLIENT_IDENTIFICATION = b"SSH-2.0-iacs_auditor_probe\r\n"

#: RFC 4253 §6: at least four bytes of random padding.
MIN_PADDING_LENGTH = 4
#: Before NEWKEYS there is no cipher, and the framing is aligned to 8 bytes (RFC 4253 §6).
CLEARTEXT_BLOCK_SIZE = 8

SSH_MSG_DISCONNECT = 1
SSH_MSG_IGNORE = 2
SSH_MSG_DEBUG = 4
SSH_MSG_KEXINIT = 20

#: The ten name-lists of SSH_MSG_KEXINIT, in wire order (RFC 4253 §7.1); also the result keys.
KEXINIT_NAME_LISTS: tuple[str, ...] = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)

_COOKIE_LENGTH = 16
_RECV_CHUNK = 4096


class WireProbeError(Exception):
    """The probe could not read what the server offers; ``reason`` says why, in report-ready words.

    Raised for connection failures, timeouts and every protocol violation, so the caller has a
    single exception to turn into an "unable to assess" finding instead of a traceback.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


# --------------------------------------------------------------------------- pure parsers


def parse_identification(line: bytes) -> dict[str, str | None]:
    """Split an SSH identification line into its RFC 4253 §4.2 parts.

    ``SSH-protoversion-softwareversion SP comments CR LF``; the trailing CR LF (or a bare LF, which
    OpenSSH also accepts) is optional in ``line``. Returns ``identification`` (the line without
    the line ending), ``protocol_version`` ("2.0", "1.99"...), ``software`` and ``comments``
    (``None`` when absent). The software version is what vulnerability checks key on, so it is
    validated strictly: printable US-ASCII only, as the RFC requires; anything else is a
    :class:`WireProbeError` rather than garbage in the report.
    """
    if len(line) > MAX_LINE_BYTES:
        raise WireProbeError(
            f"identification string is {len(line)} bytes, longer than the {MAX_LINE_BYTES} allowed")
    raw = _strip_line_ending(line)
    if not raw.startswith(b"SSH-"):
        raise WireProbeError(f"identification string does not start with 'SSH-': {_excerpt(raw)}")
    if any(byte < 0x20 or byte > 0x7E for byte in raw):
        raise WireProbeError(
            f"identification string contains non-printable or non-ASCII bytes: {_excerpt(raw)}")
    text = raw.decode("ascii")
    protocol_version, dash, rest = text[4:].partition("-")
    software, space, comments = rest.partition(" ")
    if not dash or not protocol_version or not software:
        raise WireProbeError(
            f"identification string is not 'SSH-protoversion-softwareversion': {_excerpt(raw)}")
    return {
        "identification": text,
        "protocol_version": protocol_version,
        "software": software,
        "comments": comments if space else None,
    }


def parse_kexinit(payload: bytes) -> dict[str, list[str] | bool]:
    """Decode an SSH_MSG_KEXINIT payload (message number included) per RFC 4253 §7.1.

    Layout: ``byte 20, byte[16] cookie, name-list x 10, boolean first_kex_packet_follows,
    uint32 0``. Returns the ten name-lists under :data:`KEXINIT_NAME_LISTS` keys (in the server's
    order of preference, which matters for the audit) plus ``first_kex_packet_follows``. Every
    length is checked against the bytes actually present, so a malformed or hostile payload
    raises :class:`WireProbeError` instead of producing partial results or an ``IndexError``.
    """
    if not payload:
        raise WireProbeError("empty packet payload where SSH_MSG_KEXINIT was expected")
    if payload[0] != SSH_MSG_KEXINIT:
        raise WireProbeError(f"expected SSH_MSG_KEXINIT ({SSH_MSG_KEXINIT}), got {payload[0]}")
    offset = 1 + _COOKIE_LENGTH
    if len(payload) < offset:
        raise WireProbeError(f"KEXINIT of {len(payload)} bytes is too short for its 16-byte cookie")
    result: dict[str, list[str] | bool] = {}
    for field in KEXINIT_NAME_LISTS:
        result[field], offset = _read_name_list(payload, offset, field)
    if len(payload) < offset + 5:
        raise WireProbeError(
            "KEXINIT is truncated after its name-lists (first_kex_packet_follows and reserved missing)")
    # RFC 4251 §5: any non-zero boolean is TRUE. The reserved uint32 that follows is ignored,
    # as OpenSSH does; we only require that it is present.
    result["first_kex_packet_follows"] = payload[offset] != 0
    return result


def _read_name_list(payload: bytes, offset: int, field: str) -> tuple[list[str], int]:
    """Read one RFC 4251 §5 name-list at ``offset``; return the names and the next offset."""
    if len(payload) < offset + 4:
        raise WireProbeError(f"KEXINIT is truncated before the length of {field}")
    (length,) = struct.unpack_from(">I", payload, offset)
    offset += 4
    remaining = len(payload) - offset
    if length > remaining:
        raise WireProbeError(
            f"name-list {field} claims {length} bytes but only {remaining} remain in the KEXINIT")
    raw = payload[offset:offset + length]
    offset += length
    if not raw:
        return [], offset
    if any(byte <= 0x20 or byte > 0x7E for byte in raw):
        raise WireProbeError(
            f"name-list {field} contains non-printable or non-ASCII bytes: {_excerpt(raw)}")
    names = raw.decode("ascii").split(",")
    if "" in names:
        raise WireProbeError(f"name-list {field} contains an empty name: {_excerpt(raw)}")
    return names, offset


def _strip_line_ending(line: bytes) -> bytes:
    """Drop a trailing LF and the CR before it; RFC 4253 wants CR LF, servers sometimes send LF."""
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line


def _excerpt(data: bytes, limit: int = 60) -> str:
    """A short, printable rendering of untrusted bytes for an error message."""
    shown = repr(data[:limit])
    return shown + ("..." if len(data) > limit else "")


# --------------------------------------------------------------------------- socket reading


class _DeadlineReader:
    """Buffered reads from a socket under one overall deadline.

    A per-read timeout would let a server that sends one byte just before each timeout keep us
    forever; instead every ``recv`` gets only the time left until the deadline. The buffer keeps
    whatever arrived beyond the identification line (often the start of the KEXINIT).
    """

    def __init__(self, sock: socket.socket, deadline: float, timeout: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._timeout = timeout
        self._buffer = bytearray()

    def remaining(self, waiting_for: str) -> float:
        """Seconds left before the deadline, or :class:`WireProbeError` if it has passed."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out(waiting_for)
        return left

    def timed_out(self, waiting_for: str) -> WireProbeError:
        return WireProbeError(f"timed out after {self._timeout} s waiting for {waiting_for}")

    def _fill(self, waiting_for: str) -> None:
        """Append at least one byte to the buffer, or raise with a reason naming the stage."""
        self._sock.settimeout(self.remaining(waiting_for))
        try:
            chunk = self._sock.recv(_RECV_CHUNK)
        except TimeoutError:
            raise self.timed_out(waiting_for) from None
        except ConnectionResetError:
            raise WireProbeError(f"connection reset by the server before its {waiting_for}") from None
        except OSError as exc:
            raise WireProbeError(f"socket error before the server's {waiting_for}: {exc}") from None
        if not chunk:
            raise WireProbeError(f"server closed the connection before its {waiting_for}")
        self._buffer += chunk

    def read_line(self, waiting_for: str) -> bytes:
        """Return one line including its LF; never buffer more than :data:`MAX_LINE_BYTES` of it."""
        while True:
            newline = self._buffer.find(b"\n", 0, MAX_LINE_BYTES)
            if newline >= 0:
                line = bytes(self._buffer[:newline + 1])
                del self._buffer[:newline + 1]
                return line
            if len(self._buffer) >= MAX_LINE_BYTES:
                raise WireProbeError(
                    f"line exceeds {MAX_LINE_BYTES} bytes without a line feed while waiting for "
                    f"the server's {waiting_for}: {_excerpt(bytes(self._buffer))}")
            self._fill(waiting_for)

    def read_exact(self, count: int, waiting_for: str) -> bytes:
        """Return exactly ``count`` bytes (callers bound ``count`` before asking)."""
        while len(self._buffer) < count:
            self._fill(waiting_for)
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data


def _read_server_identification(reader: _DeadlineReader) -> tuple[list[str], bytes]:
    """Read the optional pre-version lines and the ``SSH-`` line (RFC 4253 §4.2).

    Pre-version lines are free text (RFC: SHOULD be UTF-8) that some devices use for banners;
    they are kept for the report, decoded leniently.
    """
    pre_version_lines: list[str] = []
    while True:
        line = reader.read_line("identification string")
        if line.startswith(b"SSH-"):
            return pre_version_lines, line
        if len(pre_version_lines) >= MAX_PRE_VERSION_LINES:
            raise WireProbeError(
                f"server sent more than {MAX_PRE_VERSION_LINES} lines before its identification string")
        pre_version_lines.append(_strip_line_ending(line).decode("utf-8", errors="replace"))


def _read_packet(reader: _DeadlineReader) -> bytes:
    """Read one cleartext binary packet (RFC 4253 §6) and return its payload.

    No MAC and no cipher exist before the first NEWKEYS, so the framing is
    ``uint32 packet_length, byte padding_length, payload, padding``.
    """
    (packet_length,) = struct.unpack(">I", reader.read_exact(4, "KEXINIT"))
    if packet_length > MAX_PACKET_LENGTH:
        raise WireProbeError(f"packet length {packet_length} exceeds {MAX_PACKET_LENGTH}")
    if (packet_length + 4) % CLEARTEXT_BLOCK_SIZE:
        raise WireProbeError(
            f"packet length {packet_length} + 4 is not a multiple of {CLEARTEXT_BLOCK_SIZE}")
    body = reader.read_exact(packet_length, "KEXINIT")
    padding_length = body[0]
    if padding_length < MIN_PADDING_LENGTH:
        raise WireProbeError(
            f"padding length {padding_length} is below the minimum of {MIN_PADDING_LENGTH}")
    payload_length = packet_length - 1 - padding_length
    if payload_length < 1:
        raise WireProbeError(
            f"padding length {padding_length} leaves no payload in a packet of length {packet_length}")
    return body[1:1 + payload_length]


def _read_kexinit_payload(reader: _DeadlineReader) -> bytes:
    """Return the first packet that is not IGNORE/DEBUG; the caller checks it is a KEXINIT."""
    for _ in range(MAX_SKIPPED_PACKETS + 1):
        payload = _read_packet(reader)
        if payload[0] not in (SSH_MSG_IGNORE, SSH_MSG_DEBUG):
            return payload
    raise WireProbeError(
        f"server sent more than {MAX_SKIPPED_PACKETS} IGNORE/DEBUG packets instead of its KEXINIT")


def _describe_disconnect(payload: bytes) -> str:
    """Best-effort text of an SSH_MSG_DISCONNECT (RFC 4253 §11.1), e.g. 'too many connections'."""
    if len(payload) < 9:
        return "SSH_MSG_DISCONNECT"
    reason_code, text_length = struct.unpack_from(">II", payload, 1)
    text = payload[9:9 + min(text_length, 200)].decode("utf-8", errors="replace")
    return f"SSH_MSG_DISCONNECT, reason {reason_code}: {text!r}"


def _connect(host: str, port: int, deadline: float, timeout: float) -> socket.socket:
    """Open the single TCP connection, mapping every failure to a :class:`WireProbeError`.

    ``socket.create_connection`` would give *each* resolved address the full timeout; here all
    attempts share the probe's deadline. Name resolution itself cannot be interrupted by a
    socket timeout, so callers that need a hard bound should pass an IP address.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WireProbeError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    last_error: OSError | None = None
    for family, sock_type, proto, _canonname, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, sock_type, proto)
        try:
            sock.settimeout(left)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    if last_error is None or isinstance(last_error, TimeoutError):
        raise WireProbeError(f"timed out after {timeout} s connecting to {host}:{port}")
    if isinstance(last_error, ConnectionRefusedError):
        raise WireProbeError(f"connection refused by {host}:{port}")
    if isinstance(last_error, ConnectionResetError):
        # A reset seen by connect() itself: the server completed the handshake (a refusal would be
        # ECONNREFUSED), then reset before our poll for the connect's outcome ran.
        raise WireProbeError("connection reset by the server before its identification string")
    raise WireProbeError(f"cannot connect to {host}:{port}: {last_error.strerror or last_error}")


def _send_identification(sock: socket.socket, reader: _DeadlineReader) -> None:
    """Send our identification string; servers such as OpenSSH wait for it before their KEXINIT."""
    sock.settimeout(reader.remaining("our identification string to be sent"))
    try:
        sock.sendall(CLIENT_IDENTIFICATION)
    except TimeoutError:
        raise reader.timed_out("our identification string to be sent") from None
    except OSError as exc:
        raise WireProbeError(
            f"server closed the connection before its identification string "
            f"(sending ours failed: {exc.strerror or exc})") from None


def _validate_arguments(host: str, port: int, timeout: float) -> None:
    """Reject caller mistakes with ``ValueError``; these are bugs, not findings about the server."""
    if not host:
        raise ValueError("host must be a non-empty string")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}")
    if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")


# --------------------------------------------------------------------------- public probe


def probe_ssh_wire(host: str, port: int, timeout: float = 5.0, sock: Any = None) -> dict:
    """Report what the SSH server at ``host:port`` offers before authentication.

    One connection, our identification string out, the server's identification string and
    SSH_MSG_KEXINIT in, close; ``timeout`` bounds the *whole* probe, connect included. Returns a
    JSON-serialisable dict with ``identification``, ``pre_version_lines``, ``software``,
    ``comments``, the eight algorithm name-lists (kex, host key, encryption/MAC/compression in
    both directions) and ``first_kex_packet_follows``. ``sock``: an already connected socket-like object
    (``settimeout``/``recv``/``sendall``/``close``, e.g. a paramiko ``direct-tcpip`` channel through a jump
    host) to use instead of connecting to ``host:port``; it is closed afterwards. Raises :class:`WireProbeError` for
    anything that prevents a trustworthy answer (refused, timed out, protocol violation) and
    ``ValueError`` for invalid arguments.
    """
    _validate_arguments(host, port, timeout)
    timeout = float(timeout)
    deadline = time.monotonic() + timeout
    if sock is None:
        sock = _connect(host, port, deadline, timeout)
    try:
        reader = _DeadlineReader(sock, deadline, timeout)
        _send_identification(sock, reader)
        pre_version_lines, line = _read_server_identification(reader)
        identification = parse_identification(line)
        if identification["protocol_version"] not in ("2.0", "1.99"):
            raise WireProbeError(
                f"server speaks SSH protocol {identification['protocol_version']}, not 2.0: "
                f"{identification['identification']!r}")
        payload = _read_kexinit_payload(reader)
        if payload[0] == SSH_MSG_DISCONNECT:
            raise WireProbeError(
                f"expected SSH_MSG_KEXINIT ({SSH_MSG_KEXINIT}), got {SSH_MSG_DISCONNECT} "
                f"({_describe_disconnect(payload)})")
        kexinit = parse_kexinit(payload)
    finally:
        sock.close()
    return _build_result(pre_version_lines, identification, kexinit)


def _build_result(pre_version_lines: list[str], identification: dict[str, str | None],
                  kexinit: dict[str, list[str] | bool]) -> dict:
    """Assemble the report dict; languages are dropped (no server fills them in practice)."""
    result: dict = {
        "identification": identification["identification"],
        "pre_version_lines": pre_version_lines,
        "software": identification["software"],
        "comments": identification["comments"],
    }
    for field in KEXINIT_NAME_LISTS[:8]:
        result[field] = kexinit[field]
    result["first_kex_packet_follows"] = kexinit["first_kex_packet_follows"]
    return result
