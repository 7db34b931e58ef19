"""SNMP values as evidence: every var-bind becomes a small JSON-able dict, losslessly.

``{"oid": "1.3.6.1.2.1.1.1.0", "type": "OctetString", "value": "text or null", "hex": "..."}``

* integers (Integer, Counter32, Gauge32, TimeTicks, Counter64) keep their number in ``value``;
* OCTET STRINGs keep their exact bytes in ``hex`` and, when those bytes are printable UTF-8, the text
  in ``value`` (``null`` otherwise: a MAC address or a DateAndTime is not text); one longer than
  :data:`connectors.snmp.limits.MAX_VALUE_BYTES` keeps that many bytes, with ``truncated: true`` and its
  ``original_bytes``;
* OBJECT IDENTIFIERs and IpAddresses are dotted strings;
* the v2c exceptions ``noSuchObject``, ``noSuchInstance`` and ``endOfMibView`` are types with a null value.

This module only describes what the agent sent; it never interprets it (that is the check pack's job).
"""

from __future__ import annotations

from typing import Any

from pysnmp.proto import rfc1902, rfc1905
from pyasn1.type import univ

from connectors.snmp.limits import MAX_VALUE_BYTES

__all__ = ["EXCEPTION_TYPES", "encode_value", "oid_text", "oid_tuple", "is_under", "printable_text"]

EXCEPTION_TYPES = ("noSuchObject", "noSuchInstance", "endOfMibView")

# Most specific first: IpAddress, Opaque and the v2c exceptions share base classes with simpler types.
_TAGS: list[tuple[Any, str]] = [
    (rfc1905.NoSuchObject.tagSet, "noSuchObject"),
    (rfc1905.NoSuchInstance.tagSet, "noSuchInstance"),
    (rfc1905.EndOfMibView.tagSet, "endOfMibView"),
    (rfc1902.IpAddress.tagSet, "IpAddress"),
    (rfc1902.Counter32.tagSet, "Counter32"),
    (rfc1902.Gauge32.tagSet, "Gauge32"),
    (rfc1902.TimeTicks.tagSet, "TimeTicks"),
    (rfc1902.Opaque.tagSet, "Opaque"),
    (rfc1902.Counter64.tagSet, "Counter64"),
    (univ.Integer.tagSet, "Integer"),
    (univ.OctetString.tagSet, "OctetString"),
    (univ.ObjectIdentifier.tagSet, "ObjectIdentifier"),
    (univ.Null.tagSet, "Null"),
]


def oid_tuple(oid: Any) -> tuple[int, ...]:
    """``"1.3.6.1"`` / ``".1.3.6.1"`` / an ObjectName -> ``(1, 3, 6, 1)``; ValueError if not an OID."""
    if isinstance(oid, tuple):
        return tuple(int(x) for x in oid)
    if isinstance(oid, str):
        text = oid.strip().lstrip(".")
        if not text:
            raise ValueError("empty OID")
        parts = text.split(".")
        if not all(p.isdigit() for p in parts):
            raise ValueError(f"not a numeric OID: {oid!r}")
        return tuple(int(p) for p in parts)
    return tuple(int(x) for x in oid.asTuple())


def oid_text(oid: Any) -> str:
    return ".".join(str(x) for x in oid_tuple(oid))


def is_under(oid: tuple[int, ...], root: tuple[int, ...]) -> bool:
    """True when ``oid`` lies strictly inside the subtree ``root``."""
    return len(oid) > len(root) and oid[: len(root)] == root


def printable_text(raw: bytes) -> str | None:
    """The bytes as text when they are printable UTF-8 (tabs and line breaks allowed), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any((ord(ch) < 32 and ch not in "\t\r\n") or ord(ch) == 127 for ch in text):
        return None
    return text


def type_name(value: Any) -> str:
    tag_set = getattr(value, "tagSet", None)
    for candidate, name in _TAGS:
        if tag_set == candidate:
            return name
    for candidate, name in _TAGS:  # subtypes with extra tags: fall back on the base tag
        if tag_set is not None and tag_set.isSuperTagSetOf(candidate):
            return name
    return type(value).__name__


def encode_value(oid: Any, value: Any) -> dict[str, Any]:
    """One var-bind as evidence (see the module docstring)."""
    name = type_name(value)
    entry: dict[str, Any] = {"oid": oid_text(oid), "type": name}
    if name in EXCEPTION_TYPES or name == "Null":
        entry["value"] = None
    elif name == "IpAddress":
        raw = bytes(value.asOctets())
        entry["value"] = ".".join(str(b) for b in raw) if len(raw) == 4 else None
        entry["hex"] = raw.hex()
    elif name in ("OctetString", "Opaque"):
        raw = bytes(value.asOctets())
        if len(raw) > MAX_VALUE_BYTES:
            entry["truncated"], entry["original_bytes"] = True, len(raw)
            raw = raw[:MAX_VALUE_BYTES]
        entry["value"] = printable_text(raw)
        entry["hex"] = raw.hex()
    elif name == "ObjectIdentifier":
        entry["value"] = oid_text(tuple(value))
    else:
        try:
            entry["value"] = int(value)
        except (TypeError, ValueError):
            entry["value"] = str(value)
    return entry
