"""One Modbus/TCP connection (plain or Modbus/TCP Security over TLS), one request in flight, paced.

:class:`ModbusSession` owns the socket. Its only way to put bytes on the wire is :meth:`ModbusSession._send`,
which passes every frame through :func:`connectors.modbus.safety.guard_frame` first, so a request
outside the read-only allow-list raises :class:`~connectors.modbus.safety.ForbiddenRequest` and
is never written. Every wait is bounded by the endpoint timeout; a timeout, a reset, a truncated
or malformed answer closes the connection for good (no retry, no reconnect: a PLC that stops
answering is left alone).

:class:`RateLimiter` spaces every action towards one device (Modbus requests and probe
connections alike) by ``1 / requests_per_second``.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from connectors.base import stop_if_cancelled
from connectors.modbus.safety import guard_frame

__all__ = ["ConnectFailed", "Exchange", "ModbusSession", "RateLimiter", "TransportFault", "b64"]

_MBAP = struct.Struct(">HHHB")  # transaction id, protocol id, length, unit id


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


class RateLimiter:
    """At most ``per_second`` actions per second towards one device; the first action is not delayed."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = 0.0
        self.count = 0

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self.interval
        self.count += 1


class ConnectFailed(Exception):
    """The TCP connection (or the TLS handshake on it) could not be established."""

    def __init__(self, reason: str, *, kind: str):
        super().__init__(reason)
        self.kind = kind  # refused | timeout | unreachable | tls | closed | malformed (not TLS)


class TransportFault(Exception):
    """A request got no usable answer; the connection is closed afterwards. ``partial`` holds what arrived."""

    def __init__(self, reason: str, *, kind: str, partial: bytes = b""):
        super().__init__(reason)
        self.kind = kind  # timeout | closed | truncated | malformed
        self.partial = partial


@dataclass
class Exchange:
    """One request frame and the response frame it got (both raw ADUs)."""

    request: bytes
    response: bytes | None
    ms: float
    partial: bytes = b""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"request": b64(self.request), "response": b64(self.response), "ms": round(self.ms, 2)}
        if self.partial:
            data["partial_response"] = b64(self.partial)
        return data


@dataclass
class ModbusSession:
    host: str
    port: int
    unit_id: int
    timeout: float
    limiter: RateLimiter
    tls: ssl.SSLContext | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)  # what this session put on the wire
    handshake: dict[str, Any] | None = None
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _tid: int = 0
    _pending: bytearray = field(default_factory=bytearray)  # bytes of the response being read
    response_ms: list[float] = field(default_factory=list)  # how long each answer took
    closed_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None and self.closed_reason is None

    async def open(self) -> float:
        """Connect (and handshake); returns milliseconds taken. Raises :class:`ConnectFailed`."""
        await self.limiter.wait()
        started = time.monotonic()
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.tls,
                                        ssl_handshake_timeout=self.timeout if self.tls else None,
                                        limit=1024),
                self.timeout)
        except (TimeoutError, asyncio.TimeoutError):
            raise ConnectFailed(f"timed out after {self.timeout:g} s connecting to {self.host}:{self.port}",
                                kind="timeout") from None
        except ssl.SSLError as exc:
            # a TLS server that refuses us (an alert, a certificate we do not trust) is evidence about the PLC;
            # a peer that does not speak TLS at all (garbage, a plain-text answer) is no usable endpoint
            kind = "tls" if _speaks_tls(exc) else "malformed"
            raise ConnectFailed(f"TLS handshake with {self.host}:{self.port} failed: {_ssl_reason(exc)}",
                                kind=kind) from None
        except ConnectionRefusedError:
            raise ConnectFailed(f"connection refused by {self.host}:{self.port}", kind="refused") from None
        except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as exc:
            kind = "tls" if self.tls else "closed"
            raise ConnectFailed(f"{'TLS handshake' if self.tls else 'connection'} with {self.host}:{self.port} "
                                f"was closed by the device ({type(exc).__name__})", kind=kind) from None
        except OSError as exc:
            kind = "unreachable" if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else "refused"
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}", kind=kind) from None
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return (time.monotonic() - started) * 1000

    def _send(self, frame: bytes) -> None:
        """The only write to the device: refuses anything outside the read-only allow-list."""
        function = guard_frame(frame)
        assert self._writer is not None
        self.sent.append({"function_code": function, "mei_type": frame[8] if function == 43 else None,
                          "bytes": len(frame)})
        self._writer.write(frame)

    async def exchange(self, pdu: bytes) -> Exchange:
        """Send one request PDU and read its response ADU; any fault closes the session and raises."""
        stop_if_cancelled()  # the asset timeout stops the reads even if wait_for swallowed its cancel
        if not self.is_open:
            raise TransportFault(f"not sent: {self.closed_reason or 'no connection'}", kind="closed")
        self._tid = (self._tid % 0xFFFF) + 1
        frame = _MBAP.pack(self._tid, 0, len(pdu) + 1, self.unit_id) + pdu
        guard_frame(frame)  # refuse before waiting on the rate limiter
        await self.limiter.wait()
        started = time.monotonic()
        self._send(frame)
        try:
            response = await asyncio.wait_for(self._read_frame(), self.timeout)
        except (TimeoutError, asyncio.TimeoutError):
            partial = bytes(self._pending)
            what = f" ({len(partial)} bytes of an unfinished frame arrived)" if partial else ""
            await self._fault(f"no response within {self.timeout:g} s{what}")
            raise TransportFault(f"no response within {self.timeout:g} s{what}",
                                 kind="truncated" if partial else "timeout", partial=partial) from None
        except TransportFault as exc:
            await self._fault(str(exc))
            raise
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            reason = f"connection lost while waiting for the response: {_ssl_reason(exc) if isinstance(exc, ssl.SSLError) else type(exc).__name__}"
            partial = bytes(self._pending)
            await self._fault(reason)
            raise TransportFault(reason, kind="closed", partial=partial) from None
        elapsed = (time.monotonic() - started) * 1000
        tid = struct.unpack(">H", response[:2])[0]
        if tid != self._tid:
            await self._fault(f"response transaction id {tid} does not match request {self._tid}")
            raise TransportFault(f"response transaction id {tid} does not match request {self._tid}",
                                 kind="malformed", partial=response)
        self.response_ms.append(elapsed)
        return Exchange(request=frame, response=response, ms=elapsed)

    async def _read_frame(self) -> bytes:
        """Read one MBAP-framed response; the header's length field bounds the read."""
        assert self._reader is not None
        self._pending = bytearray()
        header = await self._read_exactly(7)
        _tid, protocol, length, _unit = _MBAP.unpack(header)
        if protocol != 0:
            tls_alert = header[:1] == b"\x15"  # a TLS alert record: this port speaks TLS, not plain Modbus
            raise TransportFault(f"not a Modbus/TCP response (protocol id {protocol:#06x}"
                                 f"{'; the port answers like a TLS server' if tls_alert else ''})",
                                 kind="malformed", partial=bytes(header))
        if not 2 <= length <= 254:
            raise TransportFault(f"invalid MBAP length {length}", kind="malformed", partial=bytes(header))
        await self._read_exactly(length - 1)
        return bytes(self._pending)

    async def _read_exactly(self, n: int) -> bytes:
        assert self._reader is not None
        try:
            chunk = await self._reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            self._pending.extend(exc.partial)
            got = len(self._pending)
            if got == 0:
                raise TransportFault("the device closed the connection without answering", kind="closed") from None
            raise TransportFault(f"truncated response: the connection closed after {got} bytes", kind="truncated",
                                 partial=bytes(self._pending)) from None
        self._pending.extend(chunk)
        return chunk

    async def _fault(self, reason: str) -> None:
        await self.stop(f"the session was closed after a fault ({reason}); the connector never retries")

    async def stop(self, reason: str) -> None:
        """Close for good: every later request is reported as not sent, with ``reason``."""
        self.closed_reason = reason
        await self.close()

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        clean = False
        try:
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), min(self.timeout, 1.0))
            clean = True
        except Exception:  # closing is best effort; never hang on it
            pass
        finally:
            if not clean and writer.transport is not None:
                writer.transport.abort()


def _speaks_tls(exc: ssl.SSLError) -> bool:
    """Whether a failed handshake still came from a TLS server: it sent an alert, or a certificate was judged."""
    text = f"{exc.reason or ''} {exc}".upper()
    return isinstance(exc, ssl.SSLCertVerificationError) or "ALERT" in text or "CERTIFICATE" in text


def _ssl_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or exc.strerror or str(exc)
    return str(exc) or type(exc).__name__
