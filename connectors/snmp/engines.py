"""SNMP engines kept between the switches of a scan that share credentials, instead of one new engine per switch.

A pysnmp ``SnmpEngine`` costs more to make ready than a switch's whole walk costs to read: the engine itself, its
MIB modules, then its user or community, target parameters and transport written into its configuration MIB at
the first request (about a quarter of the scanner's CPU per switch in a plant of switches). Most plants give
every switch the same audit credentials, so an engine that finished a collection cleanly goes back to an idle list
keyed by a fingerprint of the credentials it was configured with, and the next switch with the same credentials
takes it; pysnmp keys its own configuration cache by the community index or user name, so an engine must never
serve other credentials, and never does here.

An engine is used by one collection at a time, so its counters (the datagrams that were not valid SNMP) still
belong to that collection alone. One that saw a timeout, datagrams that were not valid SNMP, an error or a
cancellation may still have a request in flight or a late answer coming: it is closed, never reused. Idle engines
belong to one event loop, at most :data:`MAX_IDLE` of them (the rest are closed), until the scan's collection ends
(:func:`close_idle`; an engine holds about 0.9 MiB).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import weakref
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

log = logging.getLogger(__name__)

#: Idle engines kept per event loop (each holds one UDP socket).
MAX_IDLE = 32

_KEY = secrets.token_bytes(32)  # fingerprints of credentials mean nothing outside this process
_IDLE: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bytes, list[Any]]]" = weakref.WeakKeyDictionary()


def fingerprint(*parts: Any) -> bytes:
    """A keyed digest of what an engine is configured with (credentials, their role): never the secrets."""
    return hmac.new(_KEY, repr(parts).encode("utf-8"), hashlib.sha256).digest()


def take(key: bytes) -> Any:
    """An idle engine configured for ``key`` on this event loop, or a new one."""
    idle = _IDLE.get(asyncio.get_running_loop(), {}).get(key)
    return idle.pop() if idle else SnmpEngine()


def give_back(key: bytes, engine: Any, clean: bool) -> None:
    """Keep ``engine`` for the next collection with the same credentials if it ended ``clean``; close it otherwise."""
    loop = asyncio.get_running_loop()
    pool = _IDLE.setdefault(loop, {})
    if clean and sum(len(engines) for engines in pool.values()) < MAX_IDLE:
        pool.setdefault(key, []).append(engine)
        return
    close(engine)


def close_idle() -> None:
    """Close every idle engine of this event loop (the scan's collection is over: their memory goes back before
    the evidence is scored)."""
    for idle in _IDLE.pop(asyncio.get_running_loop(), {}).values():
        for engine in idle:
            close(engine)


def close(engine: Any) -> None:
    try:
        engine.close_dispatcher()
    except Exception:  # pragma: no cover - best effort
        log.debug("closing the SNMP engine failed", exc_info=True)
