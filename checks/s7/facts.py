"""S7 evidence: the SZL lists the checks need and their parsers.

Each request is one Read SZL (``s7:szl:<id>,<index>``) answered by :mod:`connectors.s7.connector` as
``{"answered": true, "data": <hex of the list: LENTHDR, N_DR, records>}`` or ``{"answered": false,
"refused": ...}`` when the CPU does not give that list. Layouts (System Software for S7-300/400, SSL
chapter; offsets inside one record, words big-endian):

* 0x0011 module identification, 28-byte records: +0 index, +2 order number (MLFB, 20 ASCII), +22 BGTyp,
  +24 Ausbg1, +26 Ausbg2. Index 1 module (Ausbg1 = version), 6 basic hardware, 7 basic firmware
  (Ausbg1 = 'V' and the major digit, Ausbg2 = minor and patch);
* 0x001C component identification, 34-byte records: +0 index, +2 text (32): 1 PLC name, 2 module name,
  3 plant id, 4 copyright, 5 serial number, 7 module type name, 0x0B location;
* 0x0232 index 4 protection: +2 sch_schal (mode selector's level), +4 sch_par (parameterized level,
  0 = no password), +6 sch_rel (level in force), +8 bart_sch (1 RUN, 2 RUN-P, 3 STOP, 4 MRES, 0 none),
  +10 anl_sch, +12 ken_rel (0: the checksums that follow are invalid), +14 on the hardware-configuration and
  user-program checksum words; levels 1 no protection, 2 write protection, 3 read/write protection;
* 0x0424 index 0 mode transitions: +3 bzu_id, bits 0-3 the current mode (8 RUN, 1-4 STOP, 5 start-up,
  7 restart, 0xA HOLD, 0xD DEFECT);
* 0x0132 index 8 time system status, 40-byte record: +2 zykl (cycle of the synchronization frames), +4 korr,
  +6 eight run-time meters, +22 the CPU's current date and time (DATE_AND_TIME), +34 status (bit 0: 1 the
  time was synchronized by an external time master, 0 synchronization failed; bits 10-14 and 15 the
  correction to local time in half hours and its sign), +39 status_valid (1: status is valid);
* 0x0037 index 0 Ethernet details of every interface, 48-byte records: +0 logical address, +2 IP address,
  +6 subnet mask, +10 default router (the interface's own address when none is configured), +14 MAC address,
  +20 source of the address (0 not initialized, 1 configured, 2 set by DCP, 3 DHCP);
* 0x01A0 index n the n most recent diagnostic buffer entries, 20-byte records: +0 event id, +2 five words
  of event information, +12 the entry's time stamp (DATE_AND_TIME).

DATE_AND_TIME is eight BCD bytes: year (90-99 1990s, 00-89 2000s), month, day, hour, minute, second, the
two most significant digits of the milliseconds, then the last digit (high nibble) and the weekday.

A list the CPU refuses makes its fact :class:`Refused` (the checks say ``manual``), never a pass.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact, request

__all__ = ["COMPONENT_ID", "DIAGNOSTIC_BUFFER", "DIAGNOSTIC_ENTRIES", "ETHERNET", "MODE", "MODULE_ID", "PROTECTION",
           "SESSION_LOG", "TIME_STATUS", "DiagnosticBuffer", "DiagnosticEntry", "Interface", "Module", "Protection",
           "Refused", "TimeStatus", "date_and_time", "szl_records"]

MODULE_ID = request("s7", "szl", "0x0011,0x0000", name="s7.szl-module-id")
COMPONENT_ID = request("s7", "szl", "0x001C,0x0000", name="s7.szl-component-id")
PROTECTION = request("s7", "szl", "0x0232,0x0004", name="s7.szl-protection")
MODE = request("s7", "szl", "0x0424,0x0000", name="s7.szl-mode")
TIME_STATUS = request("s7", "szl", "0x0132,0x0008", name="s7.szl-time-status")
ETHERNET = request("s7", "szl", "0x0037,0x0000", name="s7.szl-ethernet")
#: How many of the most recent diagnostic buffer entries are read (an S7-300 gives at most 10).
DIAGNOSTIC_ENTRIES = 10
DIAGNOSTIC_BUFFER = request("s7", "szl", f"0x01A0,0x{DIAGNOSTIC_ENTRIES:04X}", name="s7.szl-diagnostic-buffer")
SESSION_LOG = request("s7", "session", "log", name="s7.session-log")

MODE_SELECTOR = {0: "none", 1: "RUN", 2: "RUN-P", 3: "STOP", 4: "MRES"}
MODES = {0x8: "RUN", 0x1: "STOP", 0x2: "STOP", 0x3: "STOP", 0x4: "STOP", 0x5: "START-UP", 0x7: "RESTART",
         0xA: "HOLD", 0xD: "DEFECT"}
COMPONENT_FIELDS = {1: "plc_name", 2: "module_name", 3: "plant_id", 4: "copyright", 5: "serial", 7: "module_type",
                    0x0B: "location"}


@dataclass(frozen=True)
class Refused:
    """The CPU did not give this SZL list; ``reason`` says what it answered."""

    szl: str
    reason: str

    def __bool__(self) -> bool:
        return False


def szl_records(ev: FactEvidence, req: Any) -> list[bytes] | Refused:
    """The records of an SZL answer (the list header checked against its length), or :class:`Refused`."""
    data = ev.data(req)
    if not isinstance(data, dict) or "answered" not in data:
        raise FactParseError(f"{req.key}: not an SZL answer")
    if not data["answered"]:
        return Refused(req.target, str(data.get("refused") or f"return code {data.get('return_code')}"))
    try:
        raw = bytes.fromhex(str(data.get("data") or ""))
    except ValueError:
        raise FactParseError(f"{req.key}: the list is not hex") from None
    if len(raw) < 4:
        raise FactParseError(f"{req.key}: {len(raw)} bytes, no SZL list header")
    length, count = struct.unpack(">HH", raw[:4])
    if length == 0 or 4 + length * count > len(raw):
        raise FactParseError(f"{req.key}: header says {count} records of {length} bytes, {len(raw) - 4} arrived")
    return [raw[4 + i * length: 4 + (i + 1) * length] for i in range(count)]


def _ascii(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()


@dataclass(frozen=True)
class Module:
    order_number: str
    hardware: int | None
    firmware: tuple[int, int, int] | None

    @property
    def firmware_text(self) -> str | None:
        return "V" + ".".join(str(part) for part in self.firmware) if self.firmware else None


@fact("s7_module", protocol="s7", requests=[MODULE_ID])
def s7_module(ev: FactEvidence) -> Module | Refused:
    """Order number, hardware version and firmware version (SZL 0x0011)."""
    records = szl_records(ev, MODULE_ID)
    if isinstance(records, Refused):
        return records
    by_index = {struct.unpack(">H", r[:2])[0]: r for r in records if len(r) >= 28}
    if 1 not in by_index and 6 not in by_index:
        raise FactParseError("SZL 0x0011 has no module (index 1) or hardware (index 6) record")
    module = by_index.get(1) or by_index[6]
    firmware = None
    if 7 in by_index:
        record = by_index[7]
        if record[24] != ord("V"):
            raise FactParseError(f"SZL 0x0011 firmware record does not start with 'V' ({record[24:28].hex()})")
        firmware = (record[25], record[26], record[27])
    return Module(order_number=_ascii(module[2:22]), hardware=struct.unpack(">H", module[24:26])[0], firmware=firmware)


@fact("s7_component", protocol="s7", requests=[COMPONENT_ID])
def s7_component(ev: FactEvidence) -> dict[str, str] | Refused:
    """Component identification texts by name (SZL 0x001C), matched on the record index."""
    records = szl_records(ev, COMPONENT_ID)
    if isinstance(records, Refused):
        return records
    out: dict[str, str] = {}
    for record in records:
        if len(record) < 34:
            raise FactParseError(f"SZL 0x001C record of {len(record)} bytes (34 expected)")
        name = COMPONENT_FIELDS.get(struct.unpack(">H", record[:2])[0])
        if name:
            out[name] = _ascii(record[2:34])
    return out


@dataclass(frozen=True)
class Protection:
    selector: int  # sch_schal
    parameterized: int  # sch_par
    effective: int  # sch_rel
    mode_selector: str  # bart_sch by name
    startup_selector: int  # anl_sch
    checksums: str | None = None  # hex of the checksum words after ken_rel; None when ken_rel says invalid


@fact("s7_protection", protocol="s7", requests=[PROTECTION])
def s7_protection(ev: FactEvidence) -> Protection | Refused:
    """Protection levels and the mode selector (SZL 0x0232 index 4)."""
    records = szl_records(ev, PROTECTION)
    if isinstance(records, Refused):
        return records
    record = next((r for r in records if len(r) >= 12 and (struct.unpack(">H", r[:2])[0] & 0xFF) == 0x04), None)
    if record is None:
        raise FactParseError("SZL 0x0232 has no record of index 4")
    _, selector, parameterized, effective, bart, startup = struct.unpack(">6H", record[:12])
    if not all(0 <= level <= 3 for level in (selector, parameterized, effective)):
        raise FactParseError(f"SZL 0x0232: protection levels out of range ({selector}, {parameterized}, {effective})")
    valid = len(record) >= 14 and struct.unpack(">H", record[12:14])[0] != 0
    return Protection(selector=selector, parameterized=parameterized, effective=effective,
                      mode_selector=MODE_SELECTOR.get(bart, f"unknown ({bart})"), startup_selector=startup,
                      checksums=record[14:].hex() if valid and len(record) > 14 else None)


@fact("s7_mode", protocol="s7", requests=[MODE])
def s7_mode(ev: FactEvidence) -> str | Refused:
    """The CPU's operating mode after its last transition (SZL 0x0424 index 0)."""
    records = szl_records(ev, MODE)
    if isinstance(records, Refused):
        return records
    if not records or len(records[0]) < 4:
        raise FactParseError("SZL 0x0424 has no mode record")
    return MODES.get(records[0][3] & 0x0F, f"unknown (0x{records[0][3] & 0x0F:X})")


def _bcd(byte: int) -> int | None:
    high, low = byte >> 4, byte & 0x0F
    return high * 10 + low if high <= 9 and low <= 9 else None


def date_and_time(raw: bytes) -> datetime | None:
    """An S7 DATE_AND_TIME (eight BCD bytes) as a naive datetime, or None when it is not a valid date."""
    if len(raw) != 8:
        return None
    digits = [_bcd(b) for b in raw[:7]]
    last = raw[7] >> 4
    if any(d is None for d in digits) or last > 9:
        return None
    year, month, day, hour, minute, second, millis = digits  # type: ignore[misc]
    try:
        return datetime(year + (1900 if year >= 90 else 2000), month, day, hour, minute, second,
                        (millis * 10 + last) * 1000)
    except ValueError:
        return None


@dataclass(frozen=True)
class TimeStatus:
    """The CPU's time system (SZL 0x0132 index 8) and the auditor's clock around the read."""

    cpu_time: datetime | None  # naive: the CPU keeps no time zone; None when not a valid date
    read_window: tuple[datetime, datetime] | None  # the auditor's clock (UTC) when the request went and came back
    sync_cycle: int  # zykl: cycle of the synchronization frames
    status_valid: bool
    synchronized: bool  # status bit 0
    correction_minutes: int  # local time = basic time + correction


@fact("s7_time", protocol="s7", requests=[TIME_STATUS])
def s7_time(ev: FactEvidence) -> TimeStatus | Refused:
    """The CPU's clock and synchronization state (SZL 0x0132 index 8); the read window is the item's own timing
    (collected_at, less its duration), so recorded evidence replays to the same verdict."""
    records = szl_records(ev, TIME_STATUS)
    if isinstance(records, Refused):
        return records
    record = next((r for r in records if len(r) >= 40 and struct.unpack(">H", r[:2])[0] == 0x0008), None)
    if record is None:
        raise FactParseError("SZL 0x0132 has no time system record of index 8 (40 bytes)")
    cycle = struct.unpack(">H", record[2:4])[0]
    status = struct.unpack(">H", record[34:36])[0]
    correction = ((status >> 10) & 0x1F) * 30 * (-1 if status & 0x8000 else 1)
    item = ev.item(TIME_STATUS)
    end = item.collected_at
    window = (end - timedelta(seconds=max(0.0, item.duration_ms / 1000)), end) if end.tzinfo is not None else None
    return TimeStatus(cpu_time=date_and_time(record[22:30]), read_window=window, sync_cycle=cycle,
                      status_valid=record[39] == 0x01, synchronized=bool(status & 0x0001),
                      correction_minutes=correction)


IP_SOURCE = {0: "not initialized", 1: "configured", 2: "set by DCP", 3: "DHCP"}


@dataclass(frozen=True)
class Interface:
    """One Ethernet interface of the CPU (SZL 0x0037)."""

    logical_address: int
    network: ipaddress.IPv4Interface  # address and subnet mask
    router: ipaddress.IPv4Address | None  # None when the CPU names its own address (no router configured)
    mac: str
    source: str

    @property
    def address(self) -> ipaddress.IPv4Address:
        return self.network.ip


@fact("s7_interfaces", protocol="s7", requests=[ETHERNET])
def s7_interfaces(ev: FactEvidence) -> list[Interface] | Refused:
    """Address, subnet mask and default router of every Ethernet interface (SZL 0x0037 index 0)."""
    records = szl_records(ev, ETHERNET)
    if isinstance(records, Refused):
        return records
    out: list[Interface] = []
    for record in records:
        if len(record) < 22:
            raise FactParseError(f"SZL 0x0037 record of {len(record)} bytes (48 expected)")
        address, mask, router = (ipaddress.IPv4Address(record[i:i + 4]) for i in (2, 6, 10))
        try:
            network = ipaddress.IPv4Interface(f"{address}/{mask}")
        except ValueError:
            raise FactParseError(f"SZL 0x0037: {mask} is not a subnet mask") from None
        out.append(Interface(logical_address=struct.unpack(">H", record[:2])[0], network=network,
                             router=None if router in (address, ipaddress.IPv4Address(0)) else router,
                             mac=record[14:20].hex(":"), source=IP_SOURCE.get(record[20], f"unknown ({record[20]})")))
    return out


@dataclass(frozen=True)
class DiagnosticEntry:
    event_id: int
    time: datetime | None  # None: the entry carries no valid date and time

    def describe(self) -> dict[str, str | None]:
        return {"event_id": f"0x{self.event_id:04X}", "time": self.time.isoformat() if self.time else None}


@dataclass(frozen=True)
class DiagnosticBuffer:
    """The most recent diagnostic buffer entries (newest first), as many as the CPU gave."""

    entries: tuple[DiagnosticEntry, ...]
    truncated: bool = False


@fact("s7_diagnostics", protocol="s7", requests=[DIAGNOSTIC_BUFFER])
def s7_diagnostics(ev: FactEvidence) -> DiagnosticBuffer | Refused:
    """Event ids and time stamps of the most recent diagnostic buffer entries (SZL 0x01A0)."""
    records = szl_records(ev, DIAGNOSTIC_BUFFER)
    if isinstance(records, Refused):
        return records
    entries = []
    for record in records:
        if len(record) < 20:
            raise FactParseError(f"SZL 0x01A0 record of {len(record)} bytes (20 expected)")
        entries.append(DiagnosticEntry(event_id=struct.unpack(">H", record[:2])[0], time=date_and_time(record[12:20])))
    return DiagnosticBuffer(entries=tuple(entries), truncated=bool(ev.item(DIAGNOSTIC_BUFFER).meta.get("truncated")))
