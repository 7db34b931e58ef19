"""Every limit on what an SSH server can make the auditor read or keep, in one place.

A scanned host is not trusted: each of its answers is bounded here, and what a limit cut is recorded
in the evidence (``truncated`` with the original size), so a check never judges a part it did not see.
The README's "Faulty devices" table lists these values.
"""

from __future__ import annotations

# ---- the unauthenticated wire probe (connectors.ssh.wire), RFC 4253 sizes
#: RFC 4253 §4.2: the identification string is at most 255 bytes including CR LF; the same cap applies
#: to the lines a server may send before it, so a peer that never sends a line feed cannot grow a buffer.
MAX_LINE_BYTES = 255
#: Lines a server may send before its identification string.
MAX_PRE_VERSION_LINES = 20
#: RFC 4253 §6.1: packets of up to 35000 bytes must be handled; larger is hostile.
MAX_PACKET_LENGTH = 35000
#: SSH_MSG_IGNORE / SSH_MSG_DEBUG packets skipped before the KEXINIT.
MAX_SKIPPED_PACKETS = 8

# ---- the session (connectors.ssh.connector)
#: Bytes the server may send before its identification line is complete (the pre-version lines and the line).
MAX_IDENTIFICATION_BYTES = (MAX_PRE_VERSION_LINES + 1) * MAX_LINE_BYTES
#: Bytes the server may send before authentication succeeds (key exchange, host key, auth banner, replies);
#: a real server sends a few KiB. Beyond it the connection is closed and the asset is an error.
MAX_PRE_AUTH_BYTES = 2 * 1024 * 1024
#: Characters kept of the pre-authentication banner (the rest is counted, not kept).
MAX_BANNER_CHARS = 8 * 1024
#: Characters kept of the server's identification string as paramiko read it (RFC 4253: 255 bytes).
MAX_SERVER_VERSION_CHARS = 255
#: Authentication method names kept from the server's list, and characters kept of each.
MAX_AUTH_METHODS = 32
MAX_NAME_CHARS = 64
#: Characters of one library log line (paramiko logs the whole auth banner at INFO).
MAX_LOG_CHARS = 500

# ---- the exec of the read-only script (connectors.ssh.script)
#: Output kept per command; the rest is counted and dropped (recorded as truncated).
MAX_SECTION_BYTES = 4 * 1024 * 1024
#: Total bytes the connector reads from one exec before it stops reading.
MAX_TOTAL_BYTES = 64 * 1024 * 1024
