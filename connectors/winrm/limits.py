"""Every limit on what a WinRM service can make the auditor read, keep or wait for, in one place.

A scanned host is not trusted: each HTTP answer is bounded before it is parsed, the script's output is cut at
the same per-section and total sizes as over SSH (what a limit cut is recorded in the evidence), and every wait
has a deadline. The README's "Faulty devices" table lists the SSH values these mirror.
"""

from __future__ import annotations

from connectors.ssh.limits import MAX_SECTION_BYTES, MAX_TOTAL_BYTES

__all__ = ["MAX_RESPONSE_BYTES", "MAX_SECTION_BYTES", "MAX_TOTAL_BYTES", "MAX_STDERR_CHARS", "MAX_FIELD_CHARS",
           "OPERATION_SECONDS", "CONNECT_RETRIES"]

#: Bytes of one HTTP answer (one WS-Management message) read before it is parsed; Windows caps an envelope at
#: 500 KiB by default (MaxEnvelopeSizekb), so a larger answer is hostile and ends the session.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
#: Characters kept of what the script wrote to stderr (outside the sections: a bootstrap that could not start).
MAX_STDERR_CHARS = 4 * 1024
#: Characters kept of a value the server names (shell id, fault reason) in the evidence.
MAX_FIELD_CHARS = 256
#: Seconds a Receive may wait on the server for output (WS-Management OperationTimeout), at most; the
#: HTTP read waits two seconds longer.
OPERATION_SECONDS = 10
#: A connection that could not be opened is tried again this often (never a request that was sent).
CONNECT_RETRIES = 1
