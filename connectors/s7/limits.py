"""Every limit on what an S7 CPU can make the auditor read or keep, in one place.

A TPKT frame is at most 65,535 bytes by its own length field; an SZL answer may arrive in several
fragments, each asked for with a follow-up request. A list cut at these limits is kept with
``truncated`` and ``original_bytes``/``kept_bytes`` in the item's meta, and never judged.
"""

from __future__ import annotations

#: Follow-up fragments asked for one SZL list (a CPU's identification lists fit in one).
MAX_FRAGMENTS = 8
#: Bytes kept of one SZL list (all fragments).
MAX_SZL_BYTES = 16 * 1024
