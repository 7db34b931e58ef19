"""Every limit on what an SNMP agent can make the auditor read or keep, in one place.

An agent is not trusted. A walk is bounded in rows, bytes and time (a stopped walk is an ``error`` item
that keeps its rows, meta ``truncated``); an OCTET STRING longer than :data:`MAX_VALUE_BYTES` keeps its
first bytes and says so in the var-bind (``truncated``, ``original_bytes``), which the check pack refuses
to judge. Each datagram is at most 64 KiB (UDP), and the device's whole collection has a time budget.
The README's "Faulty devices" table lists these values.
"""

from __future__ import annotations

#: Rows of one walk by default, and the most a walk request may ask for (option ``max_rows``).
DEFAULT_WALK_ROWS = 2000
MAX_WALK_ROWS = 10000
#: Seconds one walk may take by default (option ``max_seconds``).
DEFAULT_WALK_SECONDS = 20.0
#: Bytes of values one walk keeps (the sum of its OCTET STRINGs) before it stops.
MAX_WALK_BYTES = 4 * 1024 * 1024
#: Bytes kept of one OCTET STRING / Opaque value (a sysDescr is a few hundred).
MAX_VALUE_BYTES = 4 * 1024
