"""Parsing of recorded Modbus/TCP frames: well-formed answers parse, anything else is a FrameError."""

from __future__ import annotations

import struct

import pytest

from checks.modbus import frames
from checks.modbus.frames import FrameError


def adu(tid: int, pdu: bytes, unit: int = 1, protocol: int = 0, length: int | None = None) -> bytes:
    return struct.pack(">HHHB", tid, protocol, len(pdu) + 1 if length is None else length, unit) + pdu


REQUEST = adu(7, bytes([3, 0, 0, 0, 2]))


def test_register_answer() -> None:
    response = frames.parse_response(adu(7, bytes([3, 4, 0, 1, 0xFF, 0xFF])), REQUEST)
    assert not response.is_exception and frames.registers(response, 2) == [1, 65535]
    with pytest.raises(FrameError):
        frames.registers(response, 3)


def test_exception_answer() -> None:
    response = frames.parse_response(adu(7, bytes([0x83, 2])), REQUEST)
    assert response.exception_code == 2 and frames.exception_text(2) == "exception 2 (illegal data address)"
    assert frames.exception_text(99) == "exception 99 (unknown code)"


@pytest.mark.parametrize("frame,needle", [
    (b"\x00\x07", "shorter"),
    (adu(7, bytes([3, 2, 0, 1]), protocol=5), "protocol id"),
    (adu(7, bytes([3, 2, 0, 1]), length=9), "MBAP length"),
    (adu(8, bytes([3, 2, 0, 1])), "transaction id"),
    (adu(7, bytes([4, 2, 0, 1])), "does not answer"),
    (adu(7, bytes([0x83, 2, 0])), "exception response"),
])
def test_malformed_answers(frame: bytes, needle: str) -> None:
    with pytest.raises(FrameError, match=needle):
        frames.parse_response(frame, REQUEST)


def test_device_identification_objects() -> None:
    pdu = bytes([43, 14, 1, 0x81, 0, 0, 3, 0, 2]) + b"AB" + bytes([1, 1]) + b"C" + bytes([2, 3]) + b"1.0"
    request = adu(1, bytes([43, 14, 1, 0]))
    conformity, objects = frames.device_identification([frames.parse_response(adu(1, pdu), request)])
    assert conformity == 0x81 and objects == {0: b"AB", 1: b"C", 2: b"1.0"}
    for broken in (pdu[:-1], pdu + b"x", bytes([43, 13]) + pdu[2:]):
        with pytest.raises(FrameError):
            frames.device_identification([frames.parse_response(adu(1, broken), request)])


def test_server_id() -> None:
    request = adu(1, bytes([17]))
    answer = frames.parse_response(adu(1, bytes([17, 6]) + b"PLC\x001" + b"\xff"), request)
    assert frames.server_id(answer) == {"hex": "504c430031ff", "text": "PLC1", "run_indicator": "on"}
    with pytest.raises(FrameError):
        frames.server_id(frames.parse_response(adu(1, bytes([17, 9, 1])), request))


def test_base64() -> None:
    assert frames.decode_b64("AAE=") == b"\x00\x01"
    for bad in (None, "***", 5):
        with pytest.raises(FrameError):
            frames.decode_b64(bad)
