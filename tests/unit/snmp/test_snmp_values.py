"""connectors/snmp/values.py: var-binds as lossless JSON evidence."""

from __future__ import annotations

import json

import pytest
from pysnmp.proto import rfc1902, rfc1905

from connectors.snmp.values import encode_value, is_under, oid_text, oid_tuple, printable_text

OID = (1, 3, 6, 1, 2, 1, 1, 1, 0)


@pytest.mark.parametrize("value, expected", [
    (rfc1902.OctetString(b"ACME switch"),
     {"type": "OctetString", "value": "ACME switch", "hex": "41434d4520737769746368"}),
    (rfc1902.OctetString(bytes([7, 234, 11, 26, 9, 0, 0, 0, 43, 0, 0])),
     {"type": "OctetString", "value": None, "hex": "07ea0b1a090000002b0000"}),
    (rfc1902.Integer(2), {"type": "Integer", "value": 2}),
    (rfc1902.Integer32(-5), {"type": "Integer", "value": -5}),
    (rfc1902.Counter32(7), {"type": "Counter32", "value": 7}),
    (rfc1902.Gauge32(3), {"type": "Gauge32", "value": 3}),
    (rfc1902.TimeTicks(4000000000), {"type": "TimeTicks", "value": 4000000000}),
    (rfc1902.Counter64(2 ** 40), {"type": "Counter64", "value": 2 ** 40}),
    (rfc1902.ObjectIdentifier("1.3.6.1.6.3.10.1.1.3"), {"type": "ObjectIdentifier", "value": "1.3.6.1.6.3.10.1.1.3"}),
    (rfc1902.IpAddress("10.10.0.50"), {"type": "IpAddress", "value": "10.10.0.50", "hex": "0a0a0032"}),
    (rfc1905.noSuchObject, {"type": "noSuchObject", "value": None}),
    (rfc1905.noSuchInstance, {"type": "noSuchInstance", "value": None}),
    (rfc1905.endOfMibView, {"type": "endOfMibView", "value": None}),
])
def test_encode_value(value: object, expected: dict[str, object]) -> None:
    entry = encode_value(OID, value)
    assert entry == {"oid": "1.3.6.1.2.1.1.1.0", **expected}
    json.dumps(entry)  # evidence must be JSON


def test_printable_text_refuses_control_bytes_and_bad_utf8() -> None:
    assert printable_text("Plant 1\n rack 3".encode()) == "Plant 1\n rack 3"
    assert printable_text(b"\x00\x01") is None
    assert printable_text(b"\xff\xfe") is None
    assert printable_text("Zürich".encode()) == "Zürich"


def test_oid_helpers() -> None:
    assert oid_tuple(".1.3.6.1") == (1, 3, 6, 1) == oid_tuple("1.3.6.1")
    assert oid_text((1, 3, 6)) == "1.3.6"
    assert is_under((1, 3, 6, 1, 2), (1, 3, 6, 1)) and not is_under((1, 3, 6, 1), (1, 3, 6, 1))
    assert not is_under((1, 3, 6, 2, 1), (1, 3, 6, 1))
    for bad in ("", "1.3.x", "iso.3.6"):
        with pytest.raises(ValueError):
            oid_tuple(bad)
