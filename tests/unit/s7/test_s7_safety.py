"""connectors/s7/safety.py: the allow-list passes Setup Communication and Read SZL (first request and follow-up)
and refuses every PDU python-snap7 can build that reads process data, writes, starts, stops, uploads,
downloads, deletes or sets a password or the clock; the connector cannot send anything but through it."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from snap7.datatypes import S7Area, S7WordLen
from snap7.s7protocol import S7Protocol

from connectors.s7 import connector, safety

P = S7Protocol()

FORBIDDEN = {
    "Write Var": lambda: P.build_write_request(S7Area.DB, 1, 0, S7WordLen.BYTE, b"\x01"),
    "Read Var": lambda: P.build_read_request(S7Area.MK, 0, 0, S7WordLen.BYTE, 1),
    "PLC stop": lambda: P.build_plc_control_request("stop"),
    "hot start": lambda: P.build_plc_control_request("hot_start"),
    "delete block": lambda: P.build_delete_block_request(0x38, 1),
    "compress": P.build_compress_request,
    "download": lambda: P.build_download_request(0x38, 1, b"\x00" * 8),
    "upload": lambda: P.build_start_upload_request(0x38, 1),
    "set clock": lambda: P.build_set_clock_request(dt.datetime(2026, 1, 1)),
    "session password": lambda: P.build_set_session_password_request(b"\x00" * 8),
    "block list": P.build_list_blocks_request,
    "read clock": P.build_get_clock_request,
    "cpu state stub": P.build_cpu_state_request,
}


def test_allowed_pdus() -> None:
    assert safety.check_pdu(P.build_setup_communication_request(1, 1, 480)) == "Setup Communication"
    assert safety.check_pdu(P.build_read_szl_request(0x0232, 4)) == "Read SZL"
    assert safety.check_pdu(P.build_userdata_followup_request(4, 1, 7)) == "Read SZL"


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_everything_else_is_refused(name) -> None:
    with pytest.raises(safety.ForbiddenPdu, match="not read-only identification"):
        safety.check_pdu(FORBIDDEN[name]())


def test_garbage_is_refused() -> None:
    for pdu in (b"", b"\x32\x07", b"\x03\x00\x00\x16" + b"\x00" * 20, b"\x32\x03" + b"\x00" * 20):
        with pytest.raises(safety.ForbiddenPdu):
            safety.check_pdu(pdu)


def test_the_connector_sends_only_through_the_gate() -> None:
    """One send_data call in the connector, right after check_pdu; python-snap7's Client is never used."""
    source = inspect.getsource(connector)
    assert source.count("send_data(") == 1 and "snap7.client" not in source
    exchange = inspect.getsource(connector.S7Connector._exchange)
    assert exchange.index("safety.check_pdu(pdu)") < exchange.index("connection.send_data(pdu)")
