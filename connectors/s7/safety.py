"""The S7 allow-list: the only PDUs the connector can put on the wire.

Checked on the encoded bytes, right before they are sent, so no code path (a library helper, a
mistaken request) can send a write, a start or stop, an upload, a download, a block deletion, a
password or a clock change. Allowed:

* a JOB (ROSCTR 0x01) whose function is Setup Communication (0xF0);
* a USERDATA request (ROSCTR 0x07) of group 4 (CPU functions / SZL), subfunction 1 (Read SZL), as a
  first request or a follow-up for the next fragment.

Everything else, Read Var (0x04) included (no process image or data block is read), raises
:class:`ForbiddenPdu` and is not sent.
"""

from __future__ import annotations

__all__ = ["ALLOWED", "ForbiddenPdu", "check_pdu", "describe_pdu"]

SETUP_COMMUNICATION = 0xF0
SZL_GROUP, READ_SZL = 0x04, 0x01
#: What :func:`describe_pdu` names the allowed PDUs.
ALLOWED = ("Setup Communication", "Read SZL")


class ForbiddenPdu(Exception):
    """The connector tried to send a PDU outside the allow-list (a bug; nothing was sent)."""


def describe_pdu(pdu: bytes) -> str:
    """``Setup Communication``, ``Read SZL``, or a description of a PDU the allow-list refuses."""
    if len(pdu) < 12 or pdu[0] != 0x32:
        return f"not an S7 PDU ({len(pdu)} bytes)"
    rosctr = pdu[1]
    if rosctr == 0x01:
        function = pdu[10]
        return "Setup Communication" if function == SETUP_COMMUNICATION else f"JOB function 0x{function:02X}"
    if rosctr == 0x07:
        if len(pdu) < 17:
            return "USERDATA without parameters"
        group, subfunction = pdu[15] & 0x0F, pdu[16]
        if group == SZL_GROUP and subfunction == READ_SZL:
            return "Read SZL"
        return f"USERDATA group 0x{group:X} subfunction 0x{subfunction:02X}"
    return f"ROSCTR 0x{rosctr:02X}"


def check_pdu(pdu: bytes) -> str:
    """The PDU's name when it is allowed; :class:`ForbiddenPdu` otherwise."""
    name = describe_pdu(pdu)
    if name not in ALLOWED:
        raise ForbiddenPdu(f"{name} is not read-only identification (only {', '.join(ALLOWED)} may be sent)")
    return name
