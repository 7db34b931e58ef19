# One module on purpose: one simulated PLC whose frame handling and fault modes are byte-level and read together.
"""A simulated PLC speaking Modbus/TCP (and Modbus/TCP Security over TLS) from a fixture.

Our own small asyncio server rather than pymodbus' server: pymodbus keeps the device identification
in a process-wide singleton (``ModbusControlBlock``), so two PLCs with different identities could not
share a process, and the fault modes below need byte-level control. The frames it answers are
cross-checked against pymodbus' client in ``tests/integration/test_modbus_simulator.py``.

What it serves (fixture keys, see ``fixtures/weak.yaml`` and ``fixtures/hardened.yaml``):

* ``plain``: Modbus/TCP without any authentication (port 502 when ``well_known_ports`` and free,
  else an ephemeral port);
* ``tls``: Modbus/TCP Security on 802 (or ephemeral), TLS >= 1.2 with a certificate from
  :mod:`simulators.modbus.pki`; ``require_client_cert`` enforces mutual authentication and
  ``read_roles`` the roles (certificate extension 1.3.6.1.4.1.50316.802.1) allowed to read
  (others get exception 1, as the Modbus/TCP Security specification prescribes);
* reads only: FC 1/2 (``coils``/``discrete_inputs``), 3/4 (``holding_registers``/``input_registers``),
  43/14 Read Device Identification (``identity``: object id -> text; empty = not supported),
  17 Report Server ID (``server_id``). Every other function code, writes included, is answered with
  exception 1 and never executed: the simulator has no write path at all;
* ``services``: small listeners on well-known ports of the same address (telnet/FTP banner, HTTP
  answer), bound only when that port is free;
* ``fault``: ``reset`` (RST instead of an answer), ``exception`` (exception ``fault_exception`` to
  everything), ``truncate`` (half a frame, then close), ``silent`` (accept, never answer),
  ``garbage`` (a non-Modbus answer); ``response_delays`` slows the n-th answer of a connection down.

Every request is recorded in :attr:`PlcSimulator.requests` (a thread-safe copy on read) with its
function code, and every connection to any listener as a ``connect`` record.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import logging
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.safeload import load_yaml_file

__all__ = ["FIXTURES", "PlcFixture", "PlcSimulator", "load_fixture"]

log = logging.getLogger(__name__)

FIXTURES = ("weak", "hardened")
_MBAP = struct.Struct(">HHHB")
_FAULTS = (None, "reset", "exception", "truncate", "silent", "garbage")
_SERVICE_BANNERS = {
    "telnet": b"\r\n{product} maintenance shell\r\nlogin: ",
    "ftp": b"220 {product} FTP server ready.\r\n",
    "http": b"",
}
_HTTP_ANSWER = (b"HTTP/1.0 200 OK\r\nServer: {product} web\r\nContent-Type: text/html\r\nContent-Length: 38\r\n\r\n"
                b"<html><body>PLC status</body></html>\r\n")


@dataclass
class PlcFixture:
    name: str
    description: str = ""
    product: str = "PLC"
    unit_ids: list[int] | None = None  # None: answer every unit id
    plain: bool = True
    tls: bool = False
    require_client_cert: bool = True
    read_roles: list[str] | None = None  # None: any authenticated client may read
    identity: dict[int, str] = field(default_factory=dict)
    conformity: int = 0x81
    server_id: str | None = None
    run_indicator: int = 0xFF
    holding_registers: list[int] = field(default_factory=lambda: [0] * 100)
    input_registers: list[int] = field(default_factory=lambda: [0] * 100)
    coils: list[bool] = field(default_factory=lambda: [False] * 64)
    discrete_inputs: list[bool] = field(default_factory=lambda: [False] * 64)
    services: list[dict[str, Any]] = field(default_factory=list)
    fault: str | None = None
    fault_exception: int = 4
    response_delays: list[float] = field(default_factory=list)  # seconds before the n-th answer of a connection


def _fixture_path(name: str) -> Path | None:
    folder = resources.files("simulators.modbus") / "fixtures"
    candidate = folder / f"{name}.yaml"
    return Path(str(candidate)) if candidate.is_file() else None


def load_fixture(fixture: str | Path | dict[str, Any] | PlcFixture, **overrides: Any) -> PlcFixture:
    """A fixture by built-in name, YAML path or mapping; ``overrides`` replace top-level keys."""
    if isinstance(fixture, PlcFixture):
        data: dict[str, Any] = copy.deepcopy(fixture.__dict__)
    elif isinstance(fixture, dict):
        data = copy.deepcopy(fixture)
    else:
        path = _fixture_path(str(fixture)) if not str(fixture).endswith((".yaml", ".yml")) else Path(fixture)
        if path is None or not path.is_file():
            raise FileNotFoundError(f"no Modbus PLC fixture {fixture!r}; built-in: {', '.join(FIXTURES)}")
        data = load_yaml_file(path) or {}
        data.setdefault("name", path.stem)
    data.update(overrides)
    data.setdefault("name", "custom")
    if "identity" in data:
        data["identity"] = {int(k): str(v) for k, v in (data["identity"] or {}).items()}
    known = set(PlcFixture.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown PLC fixture keys: {sorted(unknown)}")
    result = PlcFixture(**data)
    if result.fault not in _FAULTS:
        raise ValueError(f"fault must be one of {_FAULTS}")
    return result


class PlcSimulator:
    """One simulated PLC on one loopback address; ``start()``/``stop()`` or use as a context manager."""

    def __init__(self, fixture: str | Path | dict[str, Any] | PlcFixture = "weak", host: str = "127.0.0.1", *,
                 port: int = 0, tls_port: int | None = None, well_known_ports: bool = False,
                 **overrides: Any):
        self.fixture = load_fixture(fixture, **overrides)
        self.host = host
        self.well_known_ports = well_known_ports
        self._plain_request = port
        self._tls_request = tls_port
        self.plain_port: int | None = None
        self.tls_port: int | None = None
        self.service_ports: dict[int, str] = {}
        self.warnings: list[str] = []
        self._requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._tls_context: ssl.SSLContext | None = None

    # ------------------------------------------------------------------ public surface
    @property
    def port(self) -> int:
        """The Modbus endpoint port an inventory should name (TLS if served, else plain)."""
        port = self.tls_port if self.fixture.tls else self.plain_port
        if port is None:
            raise RuntimeError("simulator not started")
        return port

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def modbus_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["kind"] == "modbus"]

    def function_codes(self) -> list[int]:
        return [r["function_code"] for r in self.modbus_requests()]

    def endpoint(self, **extra: Any) -> dict[str, Any]:
        return {"protocol": "modbus", "port": self.port, "unit_id": 1, **extra}

    def start(self) -> "PlcSimulator":
        if self.fixture.tls:
            self._tls_context = self._server_tls_context()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"plc-sim-{self.host}", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("PLC simulator did not start within 10 s")
        if self._startup_error is not None:
            self.stop()
            raise RuntimeError(f"PLC simulator failed to start: {self._startup_error}") from self._startup_error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(5)
            except Exception:  # pragma: no cover - best effort
                log.debug("PLC simulator shutdown failed", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._loop = self._thread = None

    def __enter__(self) -> "PlcSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ loop thread
    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.set_exception_handler(self._loop_exception)
        try:
            self._loop.run_until_complete(self._start_servers())
        except BaseException as exc:  # reported by start()
            self._startup_error = exc
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        log.debug("PLC simulator: %s", context.get("message"), exc_info=context.get("exception"))

    async def _start_servers(self) -> None:
        fixture = self.fixture
        if fixture.plain:
            sock, self.plain_port = self._bind(502, self._plain_request, "plain Modbus/TCP")
            self._servers.append(await asyncio.start_server(
                lambda r, w: self._serve_modbus(r, w, "tcp"), sock=sock))
        if fixture.tls:
            sock, self.tls_port = self._bind(802, self._tls_request, "Modbus/TCP Security")
            self._servers.append(await asyncio.start_server(
                lambda r, w: self._serve_modbus(r, w, "tls"), sock=sock, ssl=self._tls_context,
                ssl_handshake_timeout=5))
        for service in fixture.services:
            port, kind = int(service["port"]), str(service["kind"])
            sock = self._bind_fixed(port)
            if sock is None:
                self.warnings.append(f"{kind} listener not started: {self.host}:{port} is in use or not permitted")
                continue
            self.service_ports[port] = kind
            self._servers.append(await asyncio.start_server(
                lambda r, w, kind=kind, port=port: self._serve_service(r, w, kind, port), sock=sock))

    def _bind(self, well_known: int, requested: int | None, what: str) -> tuple[socket.socket, int]:
        """A listening socket: the well-known port if asked for and free, else the requested/ephemeral one."""
        if self.well_known_ports and not requested:
            sock = self._bind_fixed(well_known)
            if sock is not None:
                return sock, well_known
            self.warnings.append(f"{what} on {self.host}:{well_known} not possible (in use or not permitted); "
                                 "using an ephemeral port")
        sock = self._bind_fixed(requested or 0, strict=True)
        assert sock is not None
        return sock, sock.getsockname()[1]

    def _bind_fixed(self, port: int, *, strict: bool = False) -> socket.socket | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT only; never shares a listener
        try:
            sock.bind((self.host, port))
            sock.listen(16)
        except OSError as exc:
            sock.close()
            if strict or exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EPERM, errno.EADDRNOTAVAIL):
                raise
            return None
        sock.setblocking(False)
        return sock

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            if writer.transport is not None:
                writer.transport.abort()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except (TimeoutError, asyncio.TimeoutError):  # pragma: no cover
                pass
        self._servers.clear()

    # ------------------------------------------------------------------ TLS
    def _server_tls_context(self) -> ssl.SSLContext:
        from simulators.modbus.pki import demo_pki

        pki = demo_pki()
        issued = pki.server(self.host, self.fixture.product)
        files = pki.process_files()
        folder = files["ca"].parent / f"server-{self.host}"
        folder.mkdir(exist_ok=True)
        (folder / "server.crt").write_bytes(issued.cert_pem)
        (folder / "server.key").write_bytes(issued.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(folder / "server.crt", folder / "server.key")
        ctx.load_verify_locations(cafile=str(files["ca"]))
        ctx.verify_mode = ssl.CERT_REQUIRED if self.fixture.require_client_cert else ssl.CERT_OPTIONAL

        def alerts(_conn: Any, direction: str, _version: Any, content_type: Any, msg_type: Any, _data: bytes) -> None:
            # a refused handshake never reaches the connection handler: its alert is the record
            name = getattr(msg_type, "name", str(msg_type))
            if direction == "write" and getattr(content_type, "name", "") == "ALERT" and name != "CLOSE_NOTIFY":
                self._record(kind="tls_refused", listener="tls", port=self.tls_port, alert=name)

        try:
            ctx._msg_callback = alerts  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # pragma: no cover - fewer records, same behaviour
            pass
        return ctx

    @staticmethod
    def _client_role(writer: asyncio.StreamWriter) -> tuple[bool, str | None]:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            return False, None
        from cryptography import x509

        from connectors.modbus.tls import role_of

        return True, role_of(x509.load_der_x509_certificate(der))

    # ------------------------------------------------------------------ recording
    def _record(self, **entry: Any) -> None:
        entry.setdefault("time", time.time())
        with self._lock:
            self._requests.append(entry)

    # ------------------------------------------------------------------ services
    async def _serve_service(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: str,
                             port: int) -> None:
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")
        self._record(kind="connect", listener=kind, port=port, peer=f"{peer[0]}:{peer[1]}" if peer else None)
        product = self.fixture.product.encode()
        try:
            banner = _SERVICE_BANNERS.get(kind, b"").replace(b"{product}", product)
            if banner:
                writer.write(banner)
                await writer.drain()
            data = await asyncio.wait_for(reader.read(1024), 5)
            if data:
                self._record(kind="service_data", listener=kind, port=port, bytes=len(data))
                if kind == "http":
                    writer.write(_HTTP_ANSWER.replace(b"{product}", product))
                    await writer.drain()
        except (Exception, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    # ------------------------------------------------------------------ Modbus
    async def _serve_modbus(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: str) -> None:
        self._writers.add(writer)
        peer = writer.get_extra_info("peername")
        sockname = writer.get_extra_info("sockname")
        peer_text = f"{peer[0]}:{peer[1]}" if peer else None
        port = sockname[1] if sockname else None
        authenticated, role = self._client_role(writer) if listener == "tls" else (False, None)
        self._record(kind="connect", listener=listener, port=port, peer=peer_text,
                     client_certificate=authenticated, client_role=role)
        answered = 0
        try:
            while True:
                try:
                    header = await reader.readexactly(7)
                except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                    return
                tid, protocol, length, unit = _MBAP.unpack(header)
                if not 2 <= length <= 254:
                    self._record(kind="malformed", listener=listener, peer=peer_text, header=header.hex())
                    return
                try:
                    pdu = await reader.readexactly(length - 1)
                except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                    return
                function = pdu[0]
                entry: dict[str, Any] = {
                    "kind": "modbus", "listener": listener, "peer": peer_text, "transaction_id": tid,
                    "protocol_id": protocol, "unit_id": unit, "function_code": function,
                    "mei_type": pdu[1] if function == 43 and len(pdu) > 1 else None,
                    "sub_function": struct.unpack(">H", pdu[1:3])[0] if function == 8 and len(pdu) >= 3 else None,
                    "pdu": pdu.hex(), "client_role": role}
                if protocol != 0:
                    entry["answer"] = "ignored (protocol id is not 0)"
                    self._record(**entry)
                    continue
                fault = self.fixture.fault
                if fault == "silent":
                    entry["answer"] = "none (silent fault)"
                    self._record(**entry)
                    continue
                if fault == "reset":
                    entry["answer"] = "connection reset (fault)"
                    self._record(**entry)
                    sock = writer.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if fault == "exception":
                    answer = bytes([function | 0x80, self.fixture.fault_exception])
                else:
                    answer = self._answer(unit, pdu, listener, authenticated, role)
                frame = _MBAP.pack(tid, 0, len(answer) + 1, unit) + answer
                entry["answer"] = (f"exception {answer[1]}" if answer[0] & 0x80 else "normal")
                if fault == "truncate":
                    entry["answer"] = "truncated frame (fault)"
                    self._record(**entry)
                    writer.write(frame[: max(3, len(frame) // 2)])
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    return
                if fault == "garbage":
                    entry["answer"] = "garbage (fault)"
                    self._record(**entry)
                    writer.write(b"\x16\x03\x01garbage-not-modbus\r\n")
                    await writer.drain()
                    continue
                self._record(**entry)
                delays = self.fixture.response_delays
                if delays:
                    await asyncio.sleep(delays[min(answered, len(delays) - 1)])
                answered += 1
                writer.write(frame)
                await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            if writer.transport is not None and not writer.transport.is_closing():
                writer.close()

    def _answer(self, unit: int, pdu: bytes, listener: str, authenticated: bool, role: str | None) -> bytes:
        """The response PDU for one request PDU. There is no write path: anything else is exception 1."""
        fixture = self.fixture
        function = pdu[0]
        if fixture.unit_ids is not None and unit not in fixture.unit_ids:
            return bytes([function | 0x80, 0x0B])  # gateway target device failed to respond
        if listener == "tls" and fixture.read_roles is not None and (not authenticated or role not in fixture.read_roles):
            return bytes([function | 0x80, 0x01])  # Modbus/TCP Security: not authorized -> exception 1
        if function in (1, 2, 3, 4):
            if len(pdu) != 5:
                return bytes([function | 0x80, 0x03])
            address, count = struct.unpack(">HH", pdu[1:5])
            if function in (1, 2):
                table = fixture.coils if function == 1 else fixture.discrete_inputs
                if not 1 <= count <= 2000:
                    return bytes([function | 0x80, 0x03])
                if address + count > len(table):
                    return bytes([function | 0x80, 0x02])
                bits = table[address:address + count]
                packed = bytearray((count + 7) // 8)
                for i, bit in enumerate(bits):
                    if bit:
                        packed[i // 8] |= 1 << (i % 8)
                return bytes([function, len(packed)]) + bytes(packed)
            table = fixture.holding_registers if function == 3 else fixture.input_registers
            if not 1 <= count <= 125:
                return bytes([function | 0x80, 0x03])
            if address + count > len(table):
                return bytes([function | 0x80, 0x02])
            values = table[address:address + count]
            return bytes([function, 2 * count]) + struct.pack(f">{count}H", *(v & 0xFFFF for v in values))
        if function == 43:
            if len(pdu) != 4 or pdu[1] != 14:
                return bytes([function | 0x80, 0x01])
            return self._device_identification(pdu[2], pdu[3])
        if function == 17:
            if fixture.server_id is None:
                return bytes([function | 0x80, 0x01])
            data = fixture.server_id.encode("utf-8")[:240] + bytes([fixture.run_indicator & 0xFF])
            return bytes([17, len(data)]) + data
        return bytes([function | 0x80, 0x01])  # illegal function: never executed, only recorded

    def _device_identification(self, read_code: int, object_id: int) -> bytes:
        identity = self.fixture.identity
        if not identity:
            return bytes([0xAB, 0x01])
        if read_code not in (1, 2, 3, 4):
            return bytes([0xAB, 0x03])
        if read_code == 4:
            if object_id not in identity:
                return bytes([0xAB, 0x02])
            ids = [object_id]
        else:
            last = {1: 0x02, 2: 0x06, 3: 0xFF}[read_code]
            ids = sorted(i for i in identity if i <= last)
            if object_id not in ids:
                object_id = 0
            ids = [i for i in ids if i >= object_id]
        objects = b""
        more, next_id, count = 0x00, 0x00, 0
        for oid in ids:
            value = identity[oid].encode("utf-8")[:245]
            if 7 + len(objects) + 2 + len(value) > 253:
                more, next_id = 0xFF, oid
                break
            objects += bytes([oid, len(value)]) + value
            count += 1
        return bytes([43, 14, read_code, self.fixture.conformity, more, next_id, count]) + objects
