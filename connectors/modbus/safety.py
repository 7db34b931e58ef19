"""What the Modbus connector may ever put on the wire: an allow-list of read-only function codes.

PLCs are the most fragile components of a plant, and Modbus has no authentication: whatever
reaches a PLC is executed. This module is the connector's only source of request PDUs and the gate
every frame passes through right before it is written to the socket (:func:`guard`). A function
code that is not in :data:`ALLOWED` cannot be built and cannot be sent, whatever the caller asks:

* allowed: 1 Read Coils, 2 Read Discrete Inputs, 3 Read Holding Registers, 4 Read Input
  Registers, 17 Report Server ID, and 43 only with MEI type 14 (Read Device Identification);
* refused (among everything else): the writes 5, 6, 15, 16, 22, 23, the read/write 23, the file
  record functions 20/21, 8 Diagnostics (its sub-functions 1 "restart communications" and 4 "force
  listen only mode" take a device off the bus), 43 with any MEI type other than 14 (13 is CANopen
  general reference, which can write), and vendor programming codes such as 90 (UMAS).

The request builders below produce standard PDUs (cross-checked against pymodbus' decoders in
``tests/unit/modbus/test_modbus_safety.py``).
"""

from __future__ import annotations

import struct
from typing import Mapping

__all__ = ["ALLOWED", "ALLOWED_MEI_TYPES", "FORBIDDEN_EXAMPLES", "ForbiddenRequest", "READ_DEVICE_ID_CODES",
           "guard", "guard_frame", "read_bits", "read_device_identification", "read_registers",
           "report_server_id"]

ALLOWED: Mapping[int, str] = {
    1: "Read Coils",
    2: "Read Discrete Inputs",
    3: "Read Holding Registers",
    4: "Read Input Registers",
    17: "Report Server ID",
    43: "Read Device Identification (MEI type 14 only)",
}
ALLOWED_MEI_TYPES = frozenset({14})
READ_DEVICE_ID_CODES = {"basic": 1, "regular": 2, "extended": 3}

# Documentation and tests: codes that must never leave the connector (not an exhaustive list:
# anything outside ALLOWED is refused).
FORBIDDEN_EXAMPLES: Mapping[int, str] = {
    5: "Write Single Coil", 6: "Write Single Register", 8: "Diagnostics (restart / listen-only sub-functions)",
    15: "Write Multiple Coils", 16: "Write Multiple Registers", 20: "Read File Record", 21: "Write File Record",
    22: "Mask Write Register", 23: "Read/Write Multiple Registers", 90: "vendor programming (e.g. UMAS)",
}

_MAX_PDU = 253  # Modbus application protocol: PDU at most 253 bytes
_REQUEST_SIZES = {1: 5, 2: 5, 3: 5, 4: 5, 17: 1, 43: 4}  # exact PDU length of each allowed request
_MAX_QUANTITY = {1: 2000, 2: 2000, 3: 125, 4: 125}


class ForbiddenRequest(ValueError):
    """A request outside the read-only allow-list: it was not sent."""


def guard(pdu: bytes) -> int:
    """Return the function code of ``pdu`` if it is an allowed read; raise :class:`ForbiddenRequest` otherwise.

    Checks the exact shape too (length, quantities, MEI type), so a write cannot hide behind an
    allowed first byte.
    """
    if not isinstance(pdu, (bytes, bytearray)) or not pdu:
        raise ForbiddenRequest("empty or non-bytes PDU refused")
    function = pdu[0]
    if function not in ALLOWED:
        name = FORBIDDEN_EXAMPLES.get(function, "not a read-only function")
        raise ForbiddenRequest(f"function code {function} ({name}) is not on the read-only allow-list; not sent")
    if len(pdu) != _REQUEST_SIZES[function] or len(pdu) > _MAX_PDU:
        raise ForbiddenRequest(f"function code {function}: a {len(pdu)}-byte PDU is not a well-formed read request; "
                               "not sent")
    if function == 43:
        if pdu[1] not in ALLOWED_MEI_TYPES:
            raise ForbiddenRequest(f"function code 43 with MEI type {pdu[1]} is not allowed (only 14, "
                                   "Read Device Identification); not sent")
        if pdu[2] not in (1, 2, 3, 4):
            raise ForbiddenRequest(f"Read Device Identification code {pdu[2]} is invalid; not sent")
    if function in _MAX_QUANTITY:
        address, quantity = struct.unpack(">HH", pdu[1:5])
        if not 1 <= quantity <= _MAX_QUANTITY[function] or address + quantity > 0x10000:
            raise ForbiddenRequest(f"function code {function}: quantity {quantity} at {address} is out of range; "
                                   "not sent")
    return function


def guard_frame(frame: bytes) -> int:
    """:func:`guard` for a whole Modbus/TCP ADU (7-byte MBAP header + PDU), also checking the header."""
    if len(frame) < 8:
        raise ForbiddenRequest("truncated Modbus/TCP frame refused")
    _tid, protocol, length = struct.unpack(">HHH", frame[:6])
    if protocol != 0 or length != len(frame) - 6:
        raise ForbiddenRequest("malformed MBAP header refused")
    return guard(bytes(frame[7:]))


def read_bits(function: int, address: int, count: int) -> bytes:
    """FC 1 (coils) or FC 2 (discrete inputs)."""
    if function not in (1, 2):
        raise ForbiddenRequest(f"read_bits builds FC 1 or 2, not {function}")
    return _pack(">BHH", function, address, count)


def read_registers(function: int, address: int, count: int) -> bytes:
    """FC 3 (holding registers) or FC 4 (input registers)."""
    if function not in (3, 4):
        raise ForbiddenRequest(f"read_registers builds FC 3 or 4, not {function}")
    return _pack(">BHH", function, address, count)


def read_device_identification(read_code: int, object_id: int = 0) -> bytes:
    """FC 43 / MEI 14: read code 1 basic, 2 regular, 3 extended (stream), 4 one object."""
    return _pack(">BBBB", 43, 14, read_code, object_id)


def report_server_id() -> bytes:
    """FC 17 Report Server ID (no data)."""
    return _pack(">B", 17)


def _pack(fmt: str, *values: int) -> bytes:
    try:
        pdu = struct.pack(fmt, *values)
    except struct.error as exc:
        raise ForbiddenRequest(f"request fields out of range ({exc}); not sent") from None
    guard(pdu)
    return pdu
