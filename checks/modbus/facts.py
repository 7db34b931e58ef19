"""Modbus/TCP evidence: the reads and probes the checks need, and their parsers.

Every read is one allow-listed request (see :mod:`connectors.modbus.safety`) to the unit id of the
inventory; every probe is one TCP connect. Parsers read the raw frames the connector recorded
(base64 ADUs inside a json item) with :mod:`checks.modbus.frames`, so the verdicts can always be
recomputed from the evidence bundle alone.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any, Iterable

from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact, request
from checks.modbus import frames
from checks.modbus.frames import FrameError

__all__ = ["DEVID_BASIC", "DEVID_REGULAR", "HOLDING_READ", "PORTS", "SERVER_ID", "SESSION", "TCP_PROBES",
           "TLS_PROBE", "INSECURE_DEFAULT"]

SESSION = request("modbus", "session", "info", name="modbus.session-info")
HOLDING_READ = request("modbus", "read_holding_registers", "0", count=1, name="modbus.holding-register-0")
DEVID_BASIC = request("modbus", "read_device_identification", "basic", name="modbus.device-id-basic")
DEVID_REGULAR = request("modbus", "read_device_identification", "regular", name="modbus.device-id-regular")
SERVER_ID = request("modbus", "report_server_id", "", name="modbus.server-id")

# Well-known industrial and management ports of a PLC, probed with one TCP connect each.
# 161 (SNMP) and 69 (TFTP) are UDP: a TCP connect says nothing about them; the SNMP pack covers 161.
PORTS: dict[int, str] = {
    21: "FTP", 23: "Telnet", 80: "HTTP", 102: "ISO-TSAP / S7comm", 443: "HTTPS", 502: "Modbus/TCP",
    802: "Modbus/TCP Security", 2404: "IEC 60870-5-104", 4840: "OPC UA", 20000: "DNP3", 44818: "EtherNet/IP",
}
MODBUS_PORTS = (502, 802)
INSECURE_DEFAULT: dict[str, str] = {"21": "FTP", "23": "Telnet", "80": "HTTP"}
TCP_PROBES = {port: request("modbus", "tcp_probe", str(port), name=f"modbus.tcp-probe-{port}") for port in PORTS}
TLS_PROBE = request("modbus", "tls_probe", "802", name="modbus.tls-probe")


def _json(ev: FactEvidence, req: Any) -> dict[str, Any]:
    try:
        data = ev.data(req)
    except ValueError as exc:
        raise FactParseError(f"{req.key}: not json ({exc})") from None
    if not isinstance(data, dict):
        raise FactParseError(f"{req.key}: expected a json object")
    return data


def _exchanges(ev: FactEvidence, req: Any) -> tuple[dict[str, Any], list[frames.Response]]:
    record = _json(ev, req)
    exchanges = record.get("exchanges")
    if not isinstance(exchanges, list) or not exchanges:
        raise FactParseError(f"{req.key}: no request/response frames recorded")
    responses = []
    try:
        for exchange in exchanges:
            sent = frames.decode_b64(exchange.get("request"), "request frame")
            answer = frames.decode_b64(exchange.get("response"), "response frame")
            responses.append(frames.parse_response(answer, sent))
    except (FrameError, AttributeError) as exc:
        raise FactParseError(f"{req.key}: {exc}") from None
    return record, responses


def _object(value: Any, key: str, what: str) -> dict[str, Any]:
    """A JSON object of the record (absent: empty); anything else is a parse error, not a crash later."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FactParseError(f"{key}: {what} is not an object")
    return value


def _text(value: Any, key: str) -> str | None:
    """A text field of the record (a TLS version, a cipher, a state) or None; checks compare it and look it up."""
    if value is not None and not isinstance(value, str):
        raise FactParseError(f"{key}: expected text, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------
# session
# --------------------------------------------------------------------------------------------

@fact("modbus_session", protocol="modbus", requests=[SESSION])
def modbus_session(ev: FactEvidence) -> dict[str, Any]:
    """How the connector reached the PLC: transport (tcp|tls), port, unit id, TLS facts, what it sent."""
    info = _json(ev, SESSION)
    transport = info.get("transport")
    if transport not in ("tcp", "tls") or not isinstance(info.get("port"), int):
        raise FactParseError("modbus:session:info lacks transport/port")
    tls = _object(info.get("tls"), SESSION.key, "tls")
    client = _object(tls.get("client_certificate"), SESSION.key, "tls.client_certificate")
    sent = info.get("sent") or []
    if not isinstance(sent, list):
        raise FactParseError(f"{SESSION.key}: 'sent' is not a list")
    return {
        "transport": transport, "port": info["port"], "unit_id": info.get("unit_id"),
        "connected": bool(info.get("connected")), "error": info.get("error"), "aborted": info.get("aborted"),
        "client_certificate": bool(client.get("configured")), "client_role": _text(client.get("role"), SESSION.key),
        "tls_version": _text(tls.get("version"), SESSION.key), "tls_cipher": _text(tls.get("cipher"), SESSION.key),
        "tls_server_certificate": tls.get("server_certificate"),
        "function_codes_sent": [s.get("function_code") for s in sent if isinstance(s, dict)],
        "fault": info.get("fault") if isinstance(info.get("fault"), dict) else None,
    }


# --------------------------------------------------------------------------------------------
# one unauthenticated-looking read: FC 3, quantity 1, address 0
# --------------------------------------------------------------------------------------------

@fact("modbus_holding_read", protocol="modbus", requests=[HOLDING_READ, SESSION])
def modbus_holding_read(ev: FactEvidence) -> dict[str, Any]:
    """What one FC 3 read of holding register 0 got: data, a refusal, or a session the PLC refused.

    ``outcome``: ``data`` | ``refused`` (exception 1/2/3: processed and declined) | ``session-refused``
    (the TLS session was refused before any request). Faults (timeouts, resets, truncated frames,
    exception 4/6/10/11) are not outcomes: they raise, so the verdict is ``error`` with the reason.
    """
    session = modbus_session(ev)
    base = {"transport": session["transport"], "port": session["port"],
            "client_certificate": session["client_certificate"], "client_role": session["client_role"]}
    try:
        _record, responses = _exchanges(ev, HOLDING_READ)
    except FactUnavailable:
        if session["transport"] == "tls" and not session["connected"] and session["error"]:
            return {**base, "outcome": "session-refused", "detail": session["error"]}
        fault = session["fault"] or {}
        if (session["transport"] == "tls" and fault.get("kind") == "closed" and fault.get("answered_before") == 0
                and not session["client_certificate"]):
            # TLS 1.3: the handshake completes on the client side, then a PLC that requires a client
            # certificate ends the session before answering anything.
            return {**base, "outcome": "session-refused", "detail": fault.get("reason")}
        raise
    response = responses[0]
    if response.is_exception:
        code = response.exception_code
        if code in frames.TRANSIENT:
            raise FactUnavailable(f"the device answered FC 3 with {frames.exception_text(code)}: no usable answer")
        return {**base, "outcome": "refused", "exception_code": code, "detail": frames.exception_text(code)}
    try:
        values = frames.registers(response, 1)
    except FrameError as exc:
        raise FactParseError(f"FC 3 answer: {exc}") from None
    return {**base, "outcome": "data", "registers": values, "detail": "1 register of data returned"}


# --------------------------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------------------------

def _decode_objects(objects: dict[int, bytes]) -> dict[str, str]:
    named = {}
    for oid, raw in sorted(objects.items()):
        name = frames.OBJECT_NAMES.get(oid, f"object_{oid:#04x}")
        named[name] = raw.decode("utf-8", "replace").strip()
    return named


@fact("modbus_device_identification", protocol="modbus", requests=[DEVID_BASIC, DEVID_REGULAR])
def modbus_device_identification(ev: FactEvidence) -> dict[str, Any]:
    """FC 43/14 basic (mandatory objects 0-2) and regular (3-6) device identification.

    ``supported`` is False when the device declined the basic read (exception 1/2/3); faults raise.
    """
    _record, responses = _exchanges(ev, DEVID_BASIC)
    first = responses[0]
    if first.is_exception:
        code = first.exception_code
        if code in frames.TRANSIENT:
            raise FactUnavailable(f"the device answered FC 43/14 with {frames.exception_text(code)}")
        return {"supported": False, "exception_code": code, "detail": frames.exception_text(code), "objects": {}}
    try:
        conformity, objects = frames.device_identification(responses)
    except FrameError as exc:
        raise FactParseError(f"FC 43/14 basic answer: {exc}") from None
    regular_note = None
    try:
        _r, regular = _exchanges(ev, DEVID_REGULAR)
        if regular[0].is_exception:
            regular_note = f"regular identification: {frames.exception_text(regular[0].exception_code)}"
        else:
            _c, more = frames.device_identification(regular)
            objects = {**more, **objects}  # the mandatory basic stream wins for objects 0-2
    except (FactUnavailable, FactParseError, FrameError) as exc:  # regular objects are optional
        regular_note = f"regular identification unavailable: {exc}"
    return {"supported": True, "conformity": conformity, "objects": _decode_objects(objects),
            "regular_note": regular_note}


@fact("modbus_server_id", protocol="modbus", requests=[SERVER_ID])
def modbus_server_id(ev: FactEvidence) -> dict[str, Any]:
    """FC 17 Report Server ID (vendor-specific identity text and run indicator); supplementary, never fatal."""
    try:
        _record, responses = _exchanges(ev, SERVER_ID)
    except (FactUnavailable, FactParseError) as exc:
        return {"answered": False, "detail": str(exc)}
    response = responses[0]
    if response.is_exception:
        return {"answered": False, "detail": frames.exception_text(response.exception_code)}
    try:
        return {"answered": True, **frames.server_id(response)}
    except FrameError as exc:
        return {"answered": False, "detail": f"unparseable answer: {exc}"}


# --------------------------------------------------------------------------------------------
# exposure
# --------------------------------------------------------------------------------------------

@fact("modbus_open_ports", protocol="modbus", requests=list(TCP_PROBES.values()))
def modbus_open_ports(ev: FactEvidence) -> dict[int, str]:
    """State of each probed TCP port: open | closed | filtered | unreachable | error."""
    states = {}
    for port, req in TCP_PROBES.items():
        data = _json(ev, req)
        state = data.get("state")
        if state not in ("open", "closed", "filtered", "unreachable", "error") or data.get("port") != port:
            raise FactParseError(f"{req.key}: unexpected probe record {data!r}")
        states[port] = state
    return states


def _certificate(der_b64: str | None, at: dt.datetime) -> dict[str, Any] | None:
    if not der_b64:
        return None
    if not isinstance(der_b64, str):
        raise FactParseError(f"server certificate is not base64 text but {type(der_b64).__name__}")
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(der_b64, validate=True))
    except (ValueError, binascii.Error, x509.InvalidVersion) as exc:
        raise FactParseError(f"server certificate is not DER X.509: {exc}") from None
    try:  # the certificate parses lazily: an unknown algorithm or a broken name shows only now
        key = cert.public_key()
        hash_algorithm = cert.signature_hash_algorithm
        subject, issuer = cert.subject, cert.issuer
        names = subject.rfc4514_string(), issuer.rfc4514_string()
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise FactParseError(f"server certificate has a field that cannot be read: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits = f"EC {key.curve.name}", key.curve.key_size
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        key_type, bits = type(key).__name__.replace("PublicKey", ""), 256 if isinstance(key, ed25519.Ed25519PublicKey) else 456
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    else:  # pragma: no cover - exotic keys
        key_type, bits = type(key).__name__, None
    return {
        "subject": names[0], "issuer": names[1], "self_signed": subject == issuer, "key_type": key_type,
        "key_bits": bits,
        "signature_hash": hash_algorithm.name if hash_algorithm is not None else None,
        "not_before": not_before.isoformat(), "not_after": not_after.isoformat(),
        "valid_at_collection": not_before <= at <= not_after,
    }


@fact("modbus_tls_service", protocol="modbus", requests=[TLS_PROBE, SESSION])
def modbus_tls_service(ev: FactEvidence) -> dict[str, Any] | None:
    """Modbus/TCP Security on 802 as an anonymous client sees it; None when 802 is not open.

    ``handshake``, ``version``, ``cipher``, ``certificate`` (parsed; validity judged at collection
    time, so a rescore gives the same answer), ``certificate_request`` (the PLC asked for a client
    certificate) and ``anonymous_session`` (refused | accepted | unknown). When a TLS 1.2 PLC ends
    the anonymous handshake before it completes, version, cipher and certificate come from the
    auditor's own (authenticated) session on 802, if there was one (``source`` says which).
    """
    item = ev.item(TLS_PROBE)
    data = _json(ev, TLS_PROBE)
    state = data.get("state")
    if state not in ("open", "closed", "filtered", "unreachable", "error"):
        raise FactParseError(f"{TLS_PROBE.key}: no port state")
    if state != "open":
        return None
    tls = data.get("tls")
    if not isinstance(tls, dict) or tls.get("handshake") not in ("completed", "failed"):
        raise FactParseError(f"{TLS_PROBE.key}: port open but no TLS handshake record")
    version, cipher = _text(tls.get("version"), TLS_PROBE.key), _text(tls.get("cipher"), TLS_PROBE.key)
    certificate, source = tls.get("certificate"), "anonymous probe"
    try:
        session = modbus_session(ev)
    except (FactUnavailable, FactParseError):
        session = None
    if (version is None or certificate is None) and session and session["transport"] == "tls" \
            and session["port"] == 802 and session["connected"]:
        version, cipher = version or session["tls_version"], cipher or session["tls_cipher"]
        certificate, source = certificate or session["tls_server_certificate"], "authenticated session"
    return {
        "handshake": tls["handshake"], "error": tls.get("error"), "version": version, "source": source,
        "cipher": cipher, "cipher_bits": tls.get("cipher_bits"),
        "certificate": _certificate(certificate, item.collected_at),
        "certificate_request": bool(tls.get("certificate_request")),
        "anonymous_session": _text(tls.get("anonymous_session"), TLS_PROBE.key) or "unknown",
        "anonymous_detail": tls.get("anonymous_detail"), "alerts": tls.get("alerts") or [],
    }


#: Probe states that prove nothing about a port: no answer, no route, or a local failure.
UNPROVEN_STATES = ("filtered", "unreachable", "error")


def unproven_ports(states: dict[int, str], ports: Iterable[int]) -> list[int]:
    """Those of ``ports`` whose probe neither connected nor was refused: only a refused connection
    (``closed``) proves a service off; a timeout may be a firewall between scanner and PLC."""
    return sorted(p for p in ports if states.get(p) in UNPROVEN_STATES)
