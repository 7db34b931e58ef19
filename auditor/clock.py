"""A device clock read over a request, compared with the auditor's clock around that request.

The device stamped its answer at some moment between the auditor sending the request and receiving the
answer; only a device time outside that window is skew. Shared by the checks that read a device's clock
from an answer (OPC UA ``ServerStatus.CurrentTime``, the web interface's ``Date`` header, an S7 CPU's time
system status), each judging the result against its ``max_skew_seconds`` parameter.
"""

from __future__ import annotations

import datetime as _dt

__all__ = ["skew_seconds"]


def skew_seconds(device: _dt.datetime, sent: _dt.datetime, answered: _dt.datetime) -> float:
    """How far ``device`` lies outside ``[sent, answered]``: 0 inside, negative before (the device is behind)."""
    if sent <= device <= answered:
        return 0.0
    return min((device - sent).total_seconds(), (device - answered).total_seconds(), key=abs)
