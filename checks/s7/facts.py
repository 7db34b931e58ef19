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
  7 restart, 0xA HOLD, 0xD DEFECT).

A list the CPU refuses makes its fact :class:`Refused` (the checks say ``manual``), never a pass.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact, request

__all__ = ["COMPONENT_ID", "MODE", "MODULE_ID", "PROTECTION", "SESSION_LOG", "Module", "Protection", "Refused",
           "szl_records"]

MODULE_ID = request("s7", "szl", "0x0011,0x0000", name="s7.szl-module-id")
COMPONENT_ID = request("s7", "szl", "0x001C,0x0000", name="s7.szl-component-id")
PROTECTION = request("s7", "szl", "0x0232,0x0004", name="s7.szl-protection")
MODE = request("s7", "szl", "0x0424,0x0000", name="s7.szl-mode")
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
