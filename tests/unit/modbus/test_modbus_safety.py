"""The read-only allow-list: what the Modbus connector can build and put on the wire, and what it cannot."""

from __future__ import annotations

import ast
import struct
from pathlib import Path

import pytest
from pymodbus.pdu import DecodePDU

from connectors.modbus import safety
from connectors.modbus.safety import ForbiddenRequest, guard, guard_frame

REPO = Path(__file__).resolve().parents[3]

WRITES = {
    5: struct.pack(">BHH", 5, 0, 0xFF00),                          # write single coil
    6: struct.pack(">BHH", 6, 0, 1234),                            # write single register
    15: struct.pack(">BHHB", 15, 0, 8, 1) + b"\xff",               # write multiple coils
    16: struct.pack(">BHHBH", 16, 0, 1, 2, 1234),                  # write multiple registers
    22: struct.pack(">BHHH", 22, 0, 0xFFFF, 0),                    # mask write register
    23: struct.pack(">BHHHHBH", 23, 0, 1, 10, 1, 2, 99),           # read/write multiple registers
    20: bytes([20, 7, 6, 0, 1, 0, 0, 0, 1]),                       # read file record
    21: bytes([21, 9, 6, 0, 1, 0, 0, 0, 1, 0, 0]),                 # write file record
    90: bytes([90, 0, 0x10]),                                      # vendor programming (UMAS)
}
DIAGNOSTICS = {sub: struct.pack(">BHH", 8, sub, 0) for sub in (0x00, 0x01, 0x04, 0x0A)}


@pytest.mark.parametrize("function", sorted(WRITES))
def test_writes_and_file_and_vendor_codes_are_refused(function: int) -> None:
    with pytest.raises(ForbiddenRequest, match=f"function code {function}"):
        guard(WRITES[function])
    with pytest.raises(ForbiddenRequest):
        guard_frame(struct.pack(">HHHB", 1, 0, len(WRITES[function]) + 1, 1) + WRITES[function])


@pytest.mark.parametrize("sub_function", sorted(DIAGNOSTICS))
def test_diagnostics_are_refused_including_restart_and_listen_only(sub_function: int) -> None:
    with pytest.raises(ForbiddenRequest, match="function code 8"):
        guard(DIAGNOSTICS[sub_function])


def test_every_code_outside_the_allow_list_is_refused() -> None:
    for function in range(256):
        pdu = bytes([function, 0, 0, 0, 1])
        if function in (1, 2, 3, 4):
            assert guard(pdu) == function
        else:
            with pytest.raises(ForbiddenRequest):
                guard(pdu)


def test_shape_is_checked_not_just_the_first_byte() -> None:
    with pytest.raises(ForbiddenRequest):
        guard(bytes([3, 0, 0, 0, 1, 0x12]))          # trailing bytes
    with pytest.raises(ForbiddenRequest):
        guard(bytes([3, 0, 0, 0, 126]))              # more than 125 registers
    with pytest.raises(ForbiddenRequest):
        guard(bytes([43, 13, 0, 0]))                 # MEI 13: CANopen general reference (can write)
    with pytest.raises(ForbiddenRequest):
        guard(bytes([43, 14, 9, 0]))                 # invalid read device id code
    with pytest.raises(ForbiddenRequest):
        guard(bytes([17, 0]))
    with pytest.raises(ForbiddenRequest):
        guard(b"")
    with pytest.raises(ForbiddenRequest):
        guard_frame(struct.pack(">HHHB", 1, 1, 6, 1) + bytes([3, 0, 0, 0, 1]))   # protocol id 1
    with pytest.raises(ForbiddenRequest):
        guard_frame(struct.pack(">HHHB", 1, 0, 9, 1) + bytes([3, 0, 0, 0, 1]))   # length lies
    with pytest.raises(ForbiddenRequest):
        safety.read_registers(6, 0, 1)
    with pytest.raises(ForbiddenRequest):
        safety.read_registers(3, 70000, 1)


def test_allowed_requests_are_standard_pdus() -> None:
    """pymodbus (the reference implementation) decodes each request as the read it is meant to be."""
    decoder = DecodePDU(True)
    cases = [(safety.read_bits(1, 0, 8), "ReadCoilsRequest", 0, 8),
             (safety.read_bits(2, 5, 2000), "ReadDiscreteInputsRequest", 5, 2000),
             (safety.read_registers(3, 0, 1), "ReadHoldingRegistersRequest", 0, 1),
             (safety.read_registers(4, 10, 125), "ReadInputRegistersRequest", 10, 125)]
    for pdu, name, address, count in cases:
        decoded = decoder.decode(pdu)
        assert type(decoded).__name__ == name and (decoded.address, decoded.count) == (address, count)
    ident = decoder.decode(safety.read_device_identification(2, 0))
    assert type(ident).__name__ == "ReadDeviceInformationRequest" and ident.read_code == 2
    assert type(decoder.decode(safety.report_server_id())).__name__ == "ReportDeviceIdRequest"
    assert set(safety.ALLOWED) == {1, 2, 3, 4, 17, 43} and safety.ALLOWED_MEI_TYPES == {14}


def test_the_connector_has_exactly_one_write_to_a_socket_and_it_is_gated() -> None:
    """Static proof: in connectors/modbus only ModbusSession._send writes, and it calls guard_frame first.

    (The probes write nothing; the TLS probe's handshake bytes are produced by the ssl module.)
    """
    writes = []
    for path in sorted((REPO / "connectors" / "modbus").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "write", "writelines", "send", "sendall", "sendto", "sendmsg"):
                writes.append((path.name, node.lineno))
    assert len(writes) == 1, writes
    source = (REPO / "connectors" / "modbus" / "transport.py").read_text()
    tree = ast.parse(source)
    send = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_send")
    body = ast.get_source_segment(source, send) or ""
    assert writes[0][0] == "transport.py" and send.lineno <= writes[0][1] <= send.end_lineno
    assert body.index("guard_frame(frame)") < body.index(".write(frame)")
