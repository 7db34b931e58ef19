"""Hostile peers for the fault suite: TCP listeners that misbehave in one way each, on a loopback address.

:class:`FaultServer` misbehaves below any protocol (so it stands in for an SSH, Modbus/TCP or OPC UA port):

* ``silence``: accepts, reads, never answers;
* ``reset``: accepts and resets the connection (RST) at once;
* ``garbage``: answers every connection and every read with random bytes;
* ``endless``: streams bytes without a line feed, as fast as the client reads, until it closes;
* ``endless_lines``: streams short text lines forever (an SSH peer that never sends its version line);
* ``drip``: sends one byte every 0.2 s, forever (slow-drip: every single read is "on time").

:class:`HostileOpcua` speaks enough OPC UA binary (Hello/Acknowledge, a None secure channel) to answer
GetEndpoints with ``endpoints`` endpoints (each with a 1500-byte certificate, ignoring the client's
announced limits, as a hostile server would), or, with ``chunk_flood``, to announce a 1 GiB chunk and
stream it, or, with ``channel_error``, to refuse the secure channel with an OPC UA Error message.

Every server counts its connections and the bytes it sent, and stops with the test (context manager).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Any

from asyncua import ua
from asyncua.common.connection import MessageChunk
from asyncua.common.utils import Buffer
from asyncua.crypto.security_policies import SecurityPolicyNone
from asyncua.ua.ua_binary import nodeid_from_binary, struct_from_binary, struct_to_binary, uatcp_to_binary

__all__ = ["FaultServer", "HostileOpcua", "MODES"]

MODES = ("silence", "reset", "garbage", "endless", "endless_lines", "drip")
_HANDLE = 4 + 8  # a response's RequestHandle: after its four-byte type id and the header's timestamp


class _Listener:
    """A threaded TCP listener; subclasses implement :meth:`serve` for one accepted connection."""

    def __init__(self, host: str, port: int = 0):
        self.host, self.port = host, port
        self.connections = 0
        self.sent = 0
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "_Listener":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock, self.port = sock, sock.getsockname()[1]
        thread = threading.Thread(target=self._accept, daemon=True, name=f"fault-{self.host}")
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        if self._sock is not None:
            self._sock.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _peer = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve_safely, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_safely(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        try:
            self.serve(conn)
        except OSError:
            pass  # the client went away: the normal end of every fault
        finally:
            conn.close()

    def send(self, conn: socket.socket, data: bytes) -> None:
        while data and not self._stop.is_set():
            try:
                written = conn.send(data)
            except TimeoutError:
                continue
            self.sent += written
            data = data[written:]

    def recv(self, conn: socket.socket) -> bytes | None:
        """Bytes from the client, b"" when it closed, None when nothing arrived within 0.2 s."""
        try:
            return conn.recv(65536)
        except TimeoutError:
            return None

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class FaultServer(_Listener):
    """One misbehaviour of :data:`MODES` for every connection (see the module docstring)."""

    def __init__(self, mode: str, host: str, port: int = 0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        super().__init__(host, port)
        self.mode = mode

    def serve(self, conn: socket.socket) -> None:
        if self.mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return  # closed by the caller with linger 0: an RST
        if self.mode == "garbage":
            self.send(conn, os.urandom(4096))
        chunk = {"endless": b"A" * 65536, "endless_lines": b"noise before the version line\r\n" * 2048}.get(self.mode)
        while not self._stop.is_set():
            if chunk is not None:
                self.send(conn, chunk)
                continue
            if self.mode == "drip":
                self.send(conn, b"S")
                time.sleep(0.2)
                continue
            data = self.recv(conn)
            if data == b"":
                return
            if data and self.mode == "garbage":
                self.send(conn, os.urandom(512))


class HostileOpcua(_Listener):
    """An OPC UA server that answers GetEndpoints with far too much, or floods a chunk, or refuses the channel."""

    def __init__(self, host: str, *, endpoints: int = 50_000, mode: str = "endpoints", port: int = 0):
        if mode not in ("endpoints", "chunk_flood", "channel_error"):
            raise ValueError(f"unknown mode {mode!r}")
        super().__init__(host, port)
        self.endpoints, self.mode = endpoints, mode
        self._answer = b""

    def __enter__(self) -> "HostileOpcua":
        super().__enter__()
        if self.mode == "endpoints":  # built once, before any scan: encoding 83 MB holds the GIL for a while
            self._answer = self._endpoints_answer()
        return self

    def serve(self, conn: socket.socket) -> None:
        policy = SecurityPolicyNone()
        sequence = [0]  # the channel's sequence numbers continue across messages
        buffer = b""
        while not self._stop.is_set():
            data = self.recv(conn)
            if data == b"":
                return
            buffer += data or b""
            while len(buffer) >= 8:
                size = struct.unpack_from("<I", buffer, 4)[0]
                if len(buffer) < size:
                    break
                message, buffer = buffer[:size], buffer[size:]
                kind = message[:3]
                if kind == b"HEL":
                    ack = ua.Acknowledge()
                    ack.ReceiveBufferSize = ack.SendBufferSize = 65535
                    ack.MaxMessageSize = ack.MaxChunkCount = 0  # "no limits", whatever the client asked
                    self.send(conn, uatcp_to_binary(ua.MessageType.Acknowledge, ack))
                elif kind == b"OPN":
                    if self.mode == "channel_error":
                        error = ua.ErrorMessage(ua.StatusCode(ua.StatusCodes.BadSecurityChecksFailed), "refused")
                        self.send(conn, uatcp_to_binary(ua.MessageType.Error, error))
                        return
                    chunk = MessageChunk.from_binary(policy, Buffer(message))
                    request = struct_from_binary(ua.OpenSecureChannelRequest, Buffer(chunk.Body))
                    response = ua.OpenSecureChannelResponse()
                    response.ResponseHeader.RequestHandle = request.RequestHeader.RequestHandle
                    response.Parameters.SecurityToken.ChannelId = 7
                    response.Parameters.SecurityToken.TokenId = 1
                    response.Parameters.SecurityToken.RevisedLifetime = 600000
                    self._reply(conn, policy, struct_to_binary(response), ua.MessageType.SecureOpen,
                                chunk.SequenceHeader.RequestId, sequence)
                elif kind == b"MSG":
                    chunk = MessageChunk.from_binary(policy, Buffer(message))
                    body = Buffer(chunk.Body)
                    nodeid_from_binary(body)  # the request type
                    header = struct_from_binary(ua.RequestHeader, body)
                    if self.mode == "chunk_flood":
                        self._flood(conn)
                        return
                    self._stream(conn, self._answer, header.RequestHandle, chunk.SequenceHeader.RequestId, sequence)
                else:
                    return  # CLO or anything else: done

    def _endpoints_answer(self) -> bytes:
        response = ua.GetEndpointsResponse()
        certificate = b"\x30\x82\x05\xd8" + os.urandom(1496)
        endpoint = ua.EndpointDescription()
        endpoint.EndpointUrl = f"opc.tcp://{self.host}:{self.port}/"
        endpoint.SecurityPolicyUri = "http://opcfoundation.org/UA/SecurityPolicy#None"
        endpoint.SecurityMode = ua.MessageSecurityMode.None_
        endpoint.Server.ApplicationUri = "urn:hostile"
        endpoint.ServerCertificate = certificate
        token = ua.UserTokenPolicy()
        token.PolicyId, token.TokenType = "anonymous", ua.UserTokenType.Anonymous
        endpoint.UserIdentityTokens = [token]
        response.Endpoints = [endpoint] * self.endpoints
        return struct_to_binary(response)

    def _stream(self, conn: socket.socket, body: bytes, handle: int, request_id: int, sequence: list[int]) -> None:
        """``body`` (an encoded response) with its request handle set, in None-policy MSG chunks made as sent."""
        body = body[:_HANDLE] + struct.pack("<I", handle) + body[_HANDLE + 4:]
        room = 65535 - 24  # chunk header 12, token id 4, sequence header 8
        for offset in range(0, len(body), room):
            piece = body[offset:offset + room]
            final = b"F" if offset + room >= len(body) else b"C"
            sequence[0] += 1
            self.send(conn, b"MSG" + final + struct.pack("<IIIII", 24 + len(piece), 7, 1, sequence[0], request_id)
                      + piece)
            if self._stop.is_set():
                return

    def _reply(self, conn: socket.socket, policy: Any, body: bytes, kind: ua.MessageType, request_id: int,
               sequence: list[int]) -> None:
        chunks = MessageChunk.message_to_chunks(policy, body, 65535, message_type=kind, channel_id=7,
                                                request_id=request_id, token_id=1)
        for chunk in chunks:
            sequence[0] += 1
            chunk.SequenceHeader.SequenceNumber = sequence[0]
            self.send(conn, chunk.to_binary())

    def _flood(self, conn: socket.socket) -> None:
        """A MSG chunk header announcing 1 GiB, then its body streamed until the client hangs up."""
        self.send(conn, b"MSGF" + struct.pack("<I", 1 << 30) + struct.pack("<I", 7))
        block = b"\0" * 65536
        while not self._stop.is_set():
            self.send(conn, block)

