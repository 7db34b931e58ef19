"""Every limit on what an OPC UA server can make the auditor read or keep, in one place.

A scanned server is not trusted. The transport limits bound what asyncua buffers and decodes (a larger
answer is refused and that connection fails with the reason); the others bound what is kept of a decoded
answer, and a cut is recorded in the item's meta (``truncated``, ``original_*``, ``kept_*``) so no check
judges an answer it did not see whole. The README's "Faulty devices" table lists these values.
"""

from __future__ import annotations

#: Largest chunk the auditor accepts (and announces in its Hello as ReceiveBufferSize).
MAX_CHUNK_BYTES = 65535
#: Largest response message (all its chunks); announced in the Hello, so a compliant server answers
#: BadResponseTooLarge, and enforced on what arrives, so a non-compliant one is cut off.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Chunks of one response message.
MAX_CHUNK_COUNT = 2048
#: Endpoints kept of a GetEndpoints answer, and servers of a FindServers answer.
MAX_ENDPOINTS = 100
MAX_SERVERS = 100
#: User token policies kept per endpoint, and discovery URLs per application.
MAX_TOKENS = 32
MAX_URLS = 32
#: Bytes of a server certificate (a chain) kept; a real one is 1-8 KiB.
MAX_CERTIFICATE_BYTES = 64 * 1024
#: Characters kept of any string the server sends (URIs, names, values).
MAX_STRING_CHARS = 4096
#: Bytes kept of a ByteString value, and elements kept of an array value (a namespace array, say).
MAX_BYTES_VALUE = 64 * 1024
MAX_ARRAY_ITEMS = 1000
