"""Evidence drift of a PLC: its identity and firmware, its open ports, its Modbus/TCP Security certificate.

Snapshots for :mod:`auditor.store.drift`, computed from the evidence the checks already read (no extra
request), so ``iacs-audit diff`` reports a firmware change, a service opened or closed and a replaced
certificate between two scans:

* ``modbus_identity`` (version): Read Device Identification (FC 43/14) VendorName, ProductCode and
  MajorMinorRevision (absent when the PLC does not implement it);
* ``modbus_server_id`` (version): the Report Server ID (FC 17) text, where many PLCs without
  FC 43/14 name their CPU and firmware (the run indicator is left out: RUN/STOP is no drift);
* ``modbus_open_ports`` (set): the probed well-known ports that accepted a connection, e.g.
  ``23/tcp (Telnet)``, and the port the audit session was accepted on (absent when a probe failed:
  a port that could not be probed is unknown);
* ``modbus_tls_certificate`` (fingerprint): SHA-256 of the server certificate of Modbus/TCP Security,
  per port, from the anonymous TLS probe of 802 and from the auditor's own TLS session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from auditor.registry import snapshot
from checks.modbus.facts import PORTS, SESSION, TLS_PROBE

_BASIC = ("VendorName", "ProductCode", "MajorMinorRevision")


@snapshot("modbus_identity", label="device identification (FC 43/14)", kind="version",
                   facts=["modbus_device_identification"])
def identity_snapshot(modbus_device_identification: dict[str, Any]) -> str | None:
    """``"ACME Automation PLC-9000 4.2.1"``."""
    if not modbus_device_identification.get("supported"):
        return None
    objects = modbus_device_identification.get("objects") or {}
    return " ".join(str(objects[name]).strip() for name in _BASIC if str(objects.get(name) or "").strip()) or None


@snapshot("modbus_server_id", label="Report Server ID (FC 17)", kind="version", facts=["modbus_server_id"])
def server_id_snapshot(modbus_server_id: dict[str, Any]) -> str | None:
    if not modbus_server_id.get("answered"):
        return None
    text = str(modbus_server_id.get("text") or "").strip()
    return text or (f"0x{modbus_server_id['hex']}" if modbus_server_id.get("hex") else None)


_TRANSPORTS = {"tcp": "Modbus/TCP", "tls": "Modbus/TCP Security"}


@snapshot("modbus_open_ports", label="open ports", kind="set", facts=["modbus_open_ports", "modbus_session"])
def open_ports_snapshot(modbus_open_ports: dict[int, str], modbus_session: dict[str, Any]) -> list[str] | None:
    """``"23/tcp (Telnet)"`` per probed port that accepted a connection, and the port of the auditor's own session."""
    if any(state in ("error", "unreachable") for state in modbus_open_ports.values()):
        return None
    names = {port: PORTS.get(port, "unknown") for port, state in modbus_open_ports.items() if state == "open"}
    if modbus_session.get("connected") and isinstance(modbus_session.get("port"), int):
        # the PLC accepted the audit session there, e.g. Modbus on a port outside the probe list
        names.setdefault(modbus_session["port"], _TRANSPORTS.get(modbus_session.get("transport"), "Modbus"))
    return [f"{port}/tcp ({name})" for port, name in sorted(names.items())] or None


def _sha256(der_b64: Any) -> str | None:
    if not isinstance(der_b64, str) or not der_b64:
        return None
    try:
        return hashlib.sha256(base64.b64decode(der_b64, validate=True)).hexdigest()
    except (ValueError, binascii.Error):
        return None


@snapshot("modbus_tls_certificate", label="Modbus/TCP Security certificate", kind="fingerprint",
                   items=[TLS_PROBE.key, SESSION.key])
def tls_certificate_snapshot(probe: Any, session: Any) -> dict[str, str] | None:
    """``{"802/tcp": sha256}``: what the anonymous probe of 802 was shown and what the auditor's session was."""
    out: dict[str, str] = {}
    if isinstance(probe, dict) and probe.get("state") == "open" and isinstance(probe.get("tls"), dict):
        fingerprint = _sha256(probe["tls"].get("certificate"))
        if fingerprint:
            out[f"{probe.get('port') or TLS_PROBE.target}/tcp"] = fingerprint
    if isinstance(session, dict) and session.get("transport") == "tls" and session.get("connected") \
            and isinstance(session.get("tls"), dict):
        tls = session["tls"]
        fingerprint = _sha256(tls.get("server_certificate")) or tls.get("server_certificate_sha256")
        if isinstance(fingerprint, str) and fingerprint:
            out.setdefault(f"{session.get('port')}/tcp", fingerprint.lower())
    return out or None
