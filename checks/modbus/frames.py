"""Pure parsing of the raw Modbus/TCP frames the connector records (no I/O, no registry).

Every function raises :class:`FrameError` on anything that is not a well-formed answer, so a fact
parser can turn garbage into a ``FactParseError`` (an ``error`` verdict naming the problem) instead
of a crash or, worse, a pass.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

__all__ = ["BASIC_OBJECTS", "EXCEPTIONS", "OBJECT_NAMES", "REFUSALS", "TRANSIENT", "FrameError", "Response",
           "decode_b64", "device_identification", "exception_text", "parse_response", "registers", "server_id"]

EXCEPTIONS = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "server device failure",
    5: "acknowledge", 6: "server device busy", 8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
# Exception codes that say "the device processed the request and declined it" as opposed to
# "the device could not answer right now" (TRANSIENT): the latter are faults, never evidence.
REFUSALS = frozenset({1, 2, 3})
TRANSIENT = frozenset({4, 5, 6, 8, 10, 11})

OBJECT_NAMES = {0: "VendorName", 1: "ProductCode", 2: "MajorMinorRevision", 3: "VendorUrl", 4: "ProductName",
                5: "ModelName", 6: "UserApplicationName"}
BASIC_OBJECTS = (0, 1, 2)


class FrameError(ValueError):
    """A recorded frame is not a well-formed Modbus/TCP response to the request it answers."""


def exception_text(code: int) -> str:
    return f"exception {code} ({EXCEPTIONS.get(code, 'unknown code')})"


@dataclass(frozen=True)
class Response:
    transaction_id: int
    unit_id: int
    function_code: int
    exception_code: int | None
    data: bytes  # the PDU after the function code

    @property
    def is_exception(self) -> bool:
        return self.exception_code is not None


def decode_b64(text: object, what: str = "frame") -> bytes:
    if not isinstance(text, str):
        raise FrameError(f"{what} is missing")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FrameError(f"{what} is not valid base64") from None


def parse_response(frame: bytes, request: bytes | None = None) -> Response:
    """Split one response ADU; checks the MBAP header and, given the request ADU, that it answers it."""
    if len(frame) < 9:
        raise FrameError(f"response of {len(frame)} bytes is shorter than any Modbus/TCP answer")
    tid, protocol, length, unit = struct.unpack(">HHHB", frame[:7])
    if protocol != 0:
        raise FrameError(f"protocol id {protocol} is not Modbus (0)")
    if length != len(frame) - 6:
        raise FrameError(f"MBAP length {length} does not match the {len(frame) - 6} bytes that follow")
    function = frame[7]
    if request is not None:
        if len(request) < 8:
            raise FrameError("recorded request is truncated")
        if tid != struct.unpack(">H", request[:2])[0]:
            raise FrameError("response transaction id does not match the request")
        if function & 0x7F != request[7]:
            raise FrameError(f"response function {function & 0x7F} does not answer request function {request[7]}")
    if function & 0x80:
        if len(frame) != 9:
            raise FrameError("exception response of the wrong length")
        return Response(tid, unit, function & 0x7F, frame[8], b"")
    return Response(tid, unit, function, None, bytes(frame[8:]))


def registers(response: Response, count: int) -> list[int]:
    """Values of an FC 3/4 answer that asked for ``count`` registers."""
    data = response.data
    if not data or data[0] != 2 * count or len(data) != 1 + 2 * count:
        raise FrameError(f"register answer does not hold {count} register(s)")
    return list(struct.unpack(f">{count}H", data[1:]))


def device_identification(responses: list[Response]) -> tuple[int, dict[int, bytes]]:
    """(conformity level, objects) from the FC 43/14 answers of one read (with its continuations)."""
    objects: dict[int, bytes] = {}
    conformity = 0
    for response in responses:
        data = response.data
        if len(data) < 6 or data[0] != 14:
            raise FrameError("not a Read Device Identification answer (MEI type 14)")
        conformity, count = data[2], data[5]  # data[1] read code, [3] more follows, [4] next object id
        offset = 6
        for _ in range(count):
            if offset + 2 > len(data):
                raise FrameError("device identification object list is truncated")
            oid, size = data[offset], data[offset + 1]
            value = data[offset + 2: offset + 2 + size]
            if len(value) != size:
                raise FrameError(f"device identification object {oid} is truncated")
            objects[oid] = value
            offset += 2 + size
        if offset != len(data):
            raise FrameError("device identification answer has trailing bytes")
    return conformity, objects


def server_id(response: Response) -> dict[str, object]:
    """An FC 17 answer: the raw server id bytes, their printable text and the run indicator (last byte)."""
    data = response.data
    if not data or data[0] != len(data) - 1 or data[0] == 0:
        raise FrameError("Report Server ID answer has an inconsistent byte count")
    body = data[1:]
    run = body[-1]
    text = "".join(chr(b) if 32 <= b < 127 else " " for b in body[:-1] if b)
    return {"hex": body.hex(), "text": " ".join(text.split()),
            "run_indicator": "on" if run == 0xFF else "off" if run == 0x00 else None}
