"""Every limit on what a web interface can make the auditor read or keep, in one place.

Headers beyond the count are dropped, longer values and bodies are cut; a cut is recorded in the item's
meta (``truncated``, ``original_*``, ``kept_*``) and never judged. http.client itself refuses more than
100 header lines and lines over 64 KiB (the request then fails with that reason).
"""

from __future__ import annotations

#: Response headers kept, and characters kept of one header value.
MAX_HEADERS = 64
MAX_HEADER_CHARS = 4096
#: Bytes of a response body read (and kept, as text): a login page is a few KiB.
MAX_BODY_BYTES = 64 * 1024
#: Bytes of the server certificate kept (a certificate over it is dropped).
MAX_CERTIFICATE_BYTES = 64 * 1024
#: CA certificates of the site's bundle whose subjects are recorded (shown in the verdict, never judged).
MAX_CA_CERTIFICATES = 20
