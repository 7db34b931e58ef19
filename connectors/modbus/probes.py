"""Exposure probes: is a TCP port of the device open, and what does its TLS handshake show.

A TCP probe connects once and closes at once (no byte sent). A TLS probe does one anonymous TLS
handshake on the same connection, waits briefly for the device's verdict on a client that has no
certificate, and closes: it never sends application data, so no Modbus request ever goes over it.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import ssl
import time
from typing import Any

from connectors.modbus.tls import HandshakeTrace, probe_context

__all__ = ["tcp_probe", "tls_probe"]


async def _connect(host: str, port: int, timeout: float) -> tuple[dict[str, Any], Any, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"port": port, "state": "error", "connect_ms": None, "error": None}
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, asyncio.TimeoutError):
        result.update(state="filtered", error=f"no answer within {timeout:g} s")
        return result, None, None
    except ConnectionRefusedError:
        result.update(state="closed", error="connection refused")
        return result, None, None
    except OSError as exc:
        unreachable = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH)
        result.update(state="unreachable" if unreachable else "error", error=exc.strerror or str(exc))
        return result, None, None
    result.update(state="open", connect_ms=round((time.monotonic() - started) * 1000, 2))
    return result, reader, writer


async def _close(writer: Any, timeout: float) -> None:
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), min(timeout, 1.0))
    except Exception:
        if writer.transport is not None:
            writer.transport.abort()


async def tcp_probe(host: str, port: int, timeout: float) -> dict[str, Any]:
    """``{"port", "state": open|closed|filtered|unreachable|error, "connect_ms", "error"}``."""
    result, _reader, writer = await _connect(host, port, timeout)
    if writer is not None:
        await _close(writer, timeout)
    return result


async def tls_probe(host: str, port: int, timeout: float, *, settle: float = 1.0) -> dict[str, Any]:
    """TCP probe plus, when open, ``result["tls"]``: the facts of one anonymous TLS handshake.

    ``tls``: ``handshake`` (completed|failed), ``error``, ``version``, ``cipher``, ``cipher_bits``,
    ``certificate`` (server certificate, DER base64), ``certificate_request`` (the device asked for a
    client certificate), ``alerts`` (TLS alerts it sent), ``anonymous_session`` (refused|accepted|unknown)
    and ``anonymous_detail``. ``settle`` bounds the wait for a TLS 1.3 server's post-handshake verdict.
    """
    result, reader, writer = await _connect(host, port, timeout)
    if writer is None:
        return result
    trace = HandshakeTrace()
    ctx = probe_context(trace)
    tls: dict[str, Any] = {"handshake": "failed", "error": None, "version": None, "cipher": None,
                           "cipher_bits": None, "certificate": None, "certificate_request": False, "alerts": [],
                           "anonymous_session": "unknown", "anonymous_detail": None}
    result["tls"] = tls
    started = time.monotonic()
    try:  # the handshake runs on the probe's own connection: one connect per port
        await asyncio.wait_for(writer.start_tls(ctx, ssl_handshake_timeout=timeout), timeout)
    except (TimeoutError, asyncio.TimeoutError):
        tls["error"] = f"TLS handshake did not complete within {timeout:g} s"
    except ssl.SSLError as exc:
        tls["error"] = f"TLS handshake failed: {exc.reason or exc}"
    except (ConnectionError, OSError) as exc:
        tls["error"] = f"TLS handshake failed: the device closed the connection ({type(exc).__name__})"
    else:
        tls["handshake"] = "completed"
        tls["handshake_ms"] = round((time.monotonic() - started) * 1000, 2)
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            tls["version"] = ssl_object.version()
            cipher = ssl_object.cipher()
            if cipher:
                tls["cipher"], tls["cipher_bits"] = cipher[0], cipher[2]
            der = ssl_object.getpeercert(binary_form=True)
            tls["certificate"] = base64.b64encode(der).decode("ascii") if der else None
        # TLS 1.3 servers judge the (absent) client certificate after our side of the handshake is
        # done: wait briefly, without sending anything, for an alert or a close.
        try:
            data = await asyncio.wait_for(reader.read(1), settle)
        except (TimeoutError, asyncio.TimeoutError):
            tls["anonymous_session"] = "accepted"
            tls["anonymous_detail"] = f"the device kept an anonymous TLS session open for {settle:g} s"
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            tls["anonymous_session"] = "refused"
            tls["anonymous_detail"] = f"the device ended the anonymous session: {getattr(exc, 'reason', None) or type(exc).__name__}"
        else:
            if data:
                tls["anonymous_session"] = "accepted"
                tls["anonymous_detail"] = "the device sent data on an anonymous session unprompted"
            else:
                tls["anonymous_session"] = "refused"
                tls["anonymous_detail"] = "the device closed the anonymous session right after the handshake"
    finally:
        tls["certificate_request"] = trace.certificate_request
        tls["alerts"] = list(trace.alerts)
        await _close(writer, timeout)
    if tls["handshake"] == "failed" and trace.certificate_request:
        tls["anonymous_session"] = "refused"
        tls["anonymous_detail"] = "the handshake failed after the device asked for a client certificate"
    return result
