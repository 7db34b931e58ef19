"""An S7 CPU (python-snap7's pure-Python server) that answers the SZL lists a real CPU does, from a fixture.

python-snap7's server answers SZL 0x0011 and 0x001C in layouts of its own (no record indexes) and
0x0232 without the list header, and does not answer 0x0424 at all; :class:`S7Simulator` answers them
as S7-300/400 CPUs do (list header LENTHDR/N_DR, then records; System Software for S7-300/400, SSL
chapter) from its fixture:

* ``order_number``, ``hardware`` (module version), ``firmware`` (``"V3.2.6"``): SZL 0x0011 records
  0x0001 (module), 0x0006 (basic hardware) and 0x0007 (basic firmware: ``'V'`` and the digits);
* ``component``: SZL 0x001C records by index (plc_name 1, module_name 2, plant_id 3, copyright 4,
  serial 5, module_type 7, location 0x0B), 32 characters each;
* ``protection``: SZL 0x0232 index 4: ``selector`` (sch_schal), ``parameterized`` (sch_par),
  ``effective`` (sch_rel), ``mode_selector`` (bart_sch: RUN, RUN-P, STOP, MRES or none),
  ``startup_selector`` (anl_sch) and ``checksums`` (hex: the hardware-configuration and program checksum
  words after ken_rel, which is 1 when they are given);
* ``mode`` (``RUN`` | ``STOP``): SZL 0x0424 index 0, the last mode transition;
* ``clock``: SZL 0x0132 index 8, the time system status: ``skew_seconds`` (the CPU's clock against the
  host's, in UTC), ``synchronized`` (status bit 0), ``sync_cycle`` (zykl), ``correction_minutes`` (local
  time correction, whole half hours) and ``status_valid``;
* ``interfaces``: SZL 0x0037, one record per Ethernet interface: ``address`` (``a.b.c.d/prefix``),
  ``router`` (none: the interface's own address, as a CPU reports it) and ``source`` (configured, DCP, DHCP);
* ``diagnostic_buffer``: SZL 0x00A0 and 0x01A0 (index: how many of the newest), one entry per ``event`` id
  stamped ``age_seconds`` before the read; ``null``: the CPU refuses the list.

Every PDU a client sends is recorded in :attr:`S7Simulator.requests` by what it asks for (``Setup
Communication``, ``Read SZL``, ``Read Var``, ``Write Var``, ``PLC Control``, ``PLC Stop``, ``Upload``,
``Download``, ...), classified here from the bytes, independently of the connector, so a test can prove
that a scan sent nothing that writes, starts, stops, uploads or downloads.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from snap7.server import Server

from auditor.safeload import load_yaml_file

__all__ = ["FIXTURES", "S7Fixture", "S7Simulator", "classify", "load_fixture"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_MODE_SELECTOR = {"none": 0, "RUN": 1, "RUN-P": 2, "STOP": 3, "MRES": 4}
_MODES = {"RUN": 0x8, "STOP": 0x4}
_COMPONENT_INDEX = {"plc_name": 1, "module_name": 2, "plant_id": 3, "copyright": 4, "serial": 5, "module_type": 7,
                    "location": 0x0B}
_IP_SOURCE = {"configured": 1, "DCP": 2, "DHCP": 3}
_CLOCK_FIELDS = {"skew_seconds", "synchronized", "sync_cycle", "correction_minutes", "status_valid"}
_JOBS = {0xF0: "Setup Communication", 0x04: "Read Var", 0x05: "Write Var", 0x1A: "Download", 0x1B: "Download",
         0x1C: "Download", 0x1D: "Upload", 0x1E: "Upload", 0x1F: "Upload", 0x28: "PLC Control", 0x29: "PLC Stop"}


@dataclass(frozen=True)
class S7Fixture:
    name: str
    order_number: str
    hardware: int
    firmware: str
    component: dict[str, str]
    protection: dict[str, Any]
    mode: str = "RUN"
    clock: dict[str, Any] = field(default_factory=dict)
    interfaces: list[dict[str, Any]] = field(default_factory=list)
    diagnostic_buffer: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_fixture(fixture: str | Path) -> S7Fixture:
    """A built-in fixture by name (``weak``, ``hardened``) or a fixture YAML file."""
    path = Path(fixture)
    if not path.suffix:
        path = FIXTURES / f"{fixture}.yaml"
    data = load_yaml_file(path, "a simulator fixture")
    unknown = set(data.get("component") or {}) - set(_COMPONENT_INDEX)
    if unknown:
        raise ValueError(f"{path}: unknown component fields {sorted(unknown)}")
    if data.get("mode", "RUN") not in _MODES or data["protection"].get("mode_selector", "RUN") not in _MODE_SELECTOR:
        raise ValueError(f"{path}: mode is one of {sorted(_MODES)}, mode_selector one of {sorted(_MODE_SELECTOR)}")
    if not str(data["firmware"]).startswith("V"):
        raise ValueError(f"{path}: firmware is written V<major>.<minor>.<patch>")
    unknown = set(data.get("clock") or {}) - _CLOCK_FIELDS
    if unknown:
        raise ValueError(f"{path}: unknown clock fields {sorted(unknown)}")
    for n, interface in enumerate(data.get("interfaces") or []):
        try:
            ipaddress.IPv4Interface(str(interface["address"]))
            if interface.get("router"):
                ipaddress.IPv4Address(str(interface["router"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: interfaces[{n}]: address a.b.c.d/prefix and router a.b.c.d ({exc})") from None
        if interface.get("source", "configured") not in _IP_SOURCE:
            raise ValueError(f"{path}: interfaces[{n}].source is one of {sorted(_IP_SOURCE)}")
    for n, entry in enumerate(data.get("diagnostic_buffer") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("event"), int) or not 0 <= entry["event"] <= 0xFFFF:
            raise ValueError(f"{path}: diagnostic_buffer[{n}].event is a 16-bit event id")
    return S7Fixture(name=path.stem, **data)


def classify(pdu: bytes) -> str:
    """What an S7 PDU asks for, from its bytes (S7 header, then the parameter's function or group)."""
    if len(pdu) < 11 or pdu[0] != 0x32:
        return "not S7"
    if pdu[1] == 0x01:
        return _JOBS.get(pdu[10], f"JOB 0x{pdu[10]:02X}")
    if pdu[1] == 0x07 and len(pdu) >= 17:
        group, subfunction = pdu[15] & 0x0F, pdu[16]
        names = {(4, 1): "Read SZL", (7, 1): "Read Clock", (7, 2): "Set Clock", (3, 1): "List Blocks"}
        return names.get((group, subfunction), "Security (password)" if group == 5 else
                         f"USERDATA group {group} subfunction {subfunction}")
    return f"ROSCTR 0x{pdu[1]:02X}"




def _bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def _date_and_time(when: datetime) -> bytes:
    """S7 DATE_AND_TIME: eight BCD bytes, the last holding the milliseconds' last digit and the weekday."""
    millis = when.microsecond // 1000
    return bytes([_bcd(when.year % 100), _bcd(when.month), _bcd(when.day), _bcd(when.hour), _bcd(when.minute),
                  _bcd(when.second), _bcd(millis // 10), ((millis % 10) << 4) | (when.isoweekday() % 7 + 1)])


def _list(record_length: int, records: list[bytes]) -> bytes:
    return struct.pack(">HH", record_length, len(records)) + b"".join(records)


def _text(value: str, size: int) -> bytes:
    return value.encode("ascii", "replace")[:size].ljust(size, b" " if size == 20 else b"\x00")


class _Server(Server):
    """python-snap7's server with real-CPU SZL answers and a request log."""

    def __init__(self, simulator: "S7Simulator"):
        super().__init__(log=False)
        self.simulator = simulator

    def _process_request(self, request_data: bytes, client_address: Any) -> bytes | None:
        self.simulator._record(bytes(request_data), client_address)
        return super()._process_request(request_data, client_address)

    def _get_szl_data(self, szl_id: int, szl_index: int) -> bytes | None:
        answer = self.simulator.szl(szl_id, szl_index)
        return answer if answer is not None else super()._get_szl_data(szl_id, szl_index)


class S7Simulator:
    """An S7 CPU on a loopback address (ephemeral port by default), run by python-snap7's server threads."""

    def __init__(self, fixture: str | Path | S7Fixture = "weak", host: str = "127.0.0.1", port: int = 0):
        self.fixture = fixture if isinstance(fixture, S7Fixture) else load_fixture(fixture)
        self.host = host
        self.port = port or _free_port(host)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = _Server(self)

    def start(self) -> "S7Simulator":
        self._server.start_to(self.host, self.port)
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "S7Simulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pdus(self, since: int = 0) -> list[str]:
        """What the PDUs received asked for, in order."""
        with self._lock:
            return [r["pdu"] for r in self.requests[since:]]

    def _record(self, pdu: bytes, peer: Any) -> None:
        entry = {"time": time.time(), "peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer),
                 "pdu": classify(pdu)}
        if entry["pdu"] == "Read SZL" and len(pdu) >= 26 and pdu[14] == 0x11:  # a first request names the list
            entry["szl"] = f"0x{struct.unpack('>H', pdu[22:24])[0]:04X},0x{struct.unpack('>H', pdu[24:26])[0]:04X}"
        with self._lock:
            self.requests.append(entry)

    # ------------------------------------------------------------------ SZL answers
    def szl(self, szl_id: int, index: int) -> bytes | None:
        fx = self.fixture
        if szl_id == 0x0011:
            major, minor, patch = (int(p) for p in (fx.firmware[1:].split(".") + ["0", "0"])[:3])
            order = _text(fx.order_number, 20)
            return _list(28, [struct.pack(">H", 1) + order + struct.pack(">HHH", 0, fx.hardware, 0),
                              struct.pack(">H", 6) + order + struct.pack(">HHH", 0, fx.hardware, 0),
                              struct.pack(">H", 7) + b" " * 20 + struct.pack(">HBBBB", 0, ord("V"), major, minor, patch)])
        if szl_id == 0x001C:
            return _list(34, [struct.pack(">H", _COMPONENT_INDEX[name]) + _text(value, 32)
                              for name, value in fx.component.items()])
        if szl_id == 0x0232 and index == 0x0004:
            p = fx.protection
            checksums = bytes.fromhex(str(p.get("checksums", "")))[:6].ljust(6, b"\x00")
            record = struct.pack(">7H", 0x0004, int(p.get("selector", 1)), int(p.get("parameterized", 0)),
                                 int(p.get("effective", 1)), _MODE_SELECTOR[p.get("mode_selector", "RUN")],
                                 int(p.get("startup_selector", 0)), 1 if p.get("checksums") else 0) + checksums
            return _list(20, [record])
        if szl_id == 0x0424 and index == 0:
            mode = _MODES[fx.mode]
            record = struct.pack(">HBB", 0x4303, 0xFF, (0x4 << 4) | mode) + bytes(16)
            return _list(20, [record])
        if szl_id == 0x0132 and index == 0x0008:
            return _list(40, [self._time_record()])
        if szl_id == 0x0037 and index == 0:
            return _list(48, [_interface_record(i) for i in fx.interfaces])
        if szl_id in (0x00A0, 0x01A0) and fx.diagnostic_buffer is not None:
            now = datetime.now(timezone.utc)
            entries = fx.diagnostic_buffer if szl_id == 0x00A0 else fx.diagnostic_buffer[:index]
            return _list(20, [struct.pack(">H", int(e["event"])) + bytes(10)
                              + _date_and_time(now - timedelta(seconds=float(e.get("age_seconds", 0))))
                              for e in entries])
        return None

    def _time_record(self) -> bytes:
        c = self.fixture.clock
        correction = int(c.get("correction_minutes", 0)) // 30
        status = (0x8000 if correction < 0 else 0) | (abs(correction) & 0x1F) << 10 | (1 if c.get("synchronized") else 0)
        now = datetime.now(timezone.utc) + timedelta(seconds=float(c.get("skew_seconds", 0)))
        return (struct.pack(">HHH", 0x0008, int(c.get("sync_cycle", 0)), 0) + bytes(16) + _date_and_time(now)
                + bytes(4) + struct.pack(">H", status) + bytes(3) + bytes([1 if c.get("status_valid", True) else 0]))


def _interface_record(interface: dict[str, Any]) -> bytes:
    network = ipaddress.IPv4Interface(str(interface["address"]))
    router = ipaddress.IPv4Address(str(interface.get("router") or network.ip))
    return (struct.pack(">H", int(interface.get("logical_address", 0x7FF0))) + network.ip.packed
            + network.netmask.packed + router.packed + bytes.fromhex(str(interface.get("mac", "00:1b:1b:00:00:01"))
                                                                      .replace(":", ""))[:6].ljust(6, b"\x00")
            + bytes([_IP_SOURCE[interface.get("source", "configured")], 0]) + bytes(26))


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
