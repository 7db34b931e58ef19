"""Forwarding a scan's outcome to a SIEM: JSON lines on stdout, or syslog (RFC 5424) over UDP or TCP.

``scan --siem jsonl`` prints one JSON object per line on standard output (the summary table is then
not printed, progress stays on stderr); ``--siem syslog://host:514`` sends the same objects as the
MSG of RFC 5424 messages over UDP, ``syslog+tcp://host:601`` over TCP with octet-counting framing
(RFC 6587). Events (field ``event``):

* ``scan``: site, scan id, times, exit code, summary counts;
* ``asset``: per asset: status, SL-T, SL-A (automated, strict, with countermeasures), meets target;
* ``finding``: per ``fail`` or ``error`` check result: check id, severity, requirements, reason;
* ``waiver_expired``: per expired waiver that would still cover a failure;
* ``drift``: with a history store, what changed since the site's previous scan (newly failing or
  passing checks, SL-A changes, assets added or gone, evidence drift).

Every event carries ``source`` (``iacs-auditor``), ``site``, ``scan_id`` and ``scan_started_at``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from typing import Any, TextIO
from urllib.parse import urlsplit

from auditor.results import ScanResult

FACILITY_LOCAL0 = 16
SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}  # syslog crit/err/warning/notice/info
MAX_UDP = 60000


def _sl(vector: Any) -> dict[str, int] | None:
    return None if vector is None else dict(vector.items())


def events(result: ScanResult, drift: Any = None) -> list[dict[str, Any]]:
    base = {"source": "iacs-auditor", "site": result.site, "scan_id": result.scan_id,
            "scan_started_at": result.started_at.isoformat()}
    out: list[dict[str, Any]] = [{
        **base, "event": "scan", "severity": "info" if result.exit_code() == 0 else "medium",
        "finished_at": result.finished_at.isoformat(), "profile": result.profile, "exit_code": result.exit_code(),
        "interrupted": result.interrupted, **result.summary.model_dump(mode="json")}]
    for asset in result.assets:
        out.append({**base, "event": "asset", "severity": "info" if asset.meets_target else "medium",
                    "asset": asset.id, "zone": asset.zone, "type": asset.type, "address": asset.address,
                    "status": asset.status, "error": asset.error, "skipped_because": asset.skipped_because,
                    "sl_target": _sl(asset.sl_target), "sl_achieved": _sl(asset.sl_achieved),
                    "sl_achieved_strict": _sl(asset.sl_achieved_strict),
                    "sl_achieved_with_countermeasures": _sl(asset.sl_achieved_with_countermeasures),
                    "sl_capability": _sl(asset.sl_capability), "meets_target": asset.meets_target,
                    "technical_unmet": len(asset.technical.unmet) if asset.technical else None,
                    "open_requirements": len(asset.technical.open) if asset.technical else None,
                    "failed_checks": sum(r.status == "fail" for r in asset.results)})
        for check in asset.results:
            if check.status not in ("fail", "error"):
                continue
            out.append({**base, "event": "finding", "severity": check.severity if check.status == "fail" else "low",
                        "asset": asset.id, "zone": asset.zone, "address": asset.address, "check_id": check.check_id,
                        "status": check.status, "title": check.title, "requirements": check.requirements,
                        "expected": check.expected, "reason": check.reason,
                        "waiver_expired": check.waiver.id if check.waiver and check.waiver.state == "expired" else None})
    for waiver in result.waivers:
        if waiver.state == "expired":
            out.append({**base, "event": "waiver_expired", "severity": "medium", "waiver": waiver.id,
                        "approver": waiver.approver, "expires": waiver.expires.isoformat() if waiver.expires else None,
                        "lapsed": waiver.lapsed})
    for entry in result.attestations:
        if entry.state == "expired" and entry.lapsed:
            out.append({**base, "event": "attestation_expired", "severity": "medium", "entry": entry.entry,
                        "attested_by": entry.attested_by, "expires": entry.expires.isoformat() if entry.expires else None,
                        "lapsed": entry.lapsed})
    if drift is not None:
        previous = {"previous_scan_id": drift.scan_a}
        for asset_id in drift.assets_added:
            out.append({**base, **previous, "event": "drift", "severity": "medium", "asset": asset_id,
                        "change": "asset_added"})
        for asset_id in drift.assets_gone:
            out.append({**base, **previous, "event": "drift", "severity": "medium", "asset": asset_id,
                        "change": "asset_gone"})
        for asset in drift.assets:
            for fr, (before, after) in asset.sl_changes.items():
                out.append({**base, **previous, "event": "drift", "severity": "medium" if after < before else "info",
                            "asset": asset.asset, "change": "sl_achieved", "fr": fr, "before": before, "after": after})
            for change in asset.newly_failing:
                out.append({**base, **previous, "event": "drift", "severity": change.severity or "medium",
                            "asset": asset.asset, "change": "newly_failing", "check_id": change.check_id,
                            "before": change.before, "after": change.after})
            for change in asset.newly_passing:
                out.append({**base, **previous, "event": "drift", "severity": "info", "asset": asset.asset,
                            "change": "newly_passing", "check_id": change.check_id, "before": change.before,
                            "after": change.after})
            for change in asset.evidence:
                out.append({**base, **previous, "event": "drift", "severity": "medium", "asset": asset.asset,
                            "change": f"evidence_{change.change}", "what": change.name, "detail": change.detail})
    return out


def syslog_message(event: dict[str, Any], *, hostname: str | None = None, now: datetime | None = None) -> bytes:
    """One RFC 5424 message: ``<PRI>1 TIMESTAMP HOST iacs-audit PID MSGID - JSON``."""
    severity = SEVERITY.get(str(event.get("severity")), 5)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-")[:255]
    msgid = str(event.get("event", "-"))[:32]
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"<{FACILITY_LOCAL0 * 8 + severity}>1 {stamp} {host} iacs-audit {os.getpid()} {msgid} - {body}".encode("utf-8")


def validate_target(target: str) -> str:
    """Raise ValueError unless ``target`` is ``jsonl`` or a syslog URL with host and port."""
    if target in ("jsonl", "-"):
        return "jsonl"
    parts = urlsplit(target)
    if parts.scheme not in ("syslog", "syslog+udp", "syslog+tcp") or not parts.hostname:
        raise ValueError("expected 'jsonl', syslog://HOST:PORT (UDP) or syslog+tcp://HOST:PORT")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"bad port in {target!r}") from None
    return target


def emit(target: str, items: list[dict[str, Any]], *, stream: TextIO | None = None, timeout: float = 5.0) -> None:
    """Send ``items`` to ``target`` (see :func:`validate_target`)."""
    target = validate_target(target)
    if target == "jsonl":
        stream = stream or sys.stdout
        for item in items:
            stream.write(json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
        stream.flush()
        return
    parts = urlsplit(target)
    host, port = parts.hostname or "", parts.port or (601 if parts.scheme == "syslog+tcp" else 514)
    messages = [syslog_message(item) for item in items]
    if parts.scheme == "syslog+tcp":
        with socket.create_connection((host, port), timeout=timeout) as conn:
            for message in messages:
                conn.sendall(f"{len(message)} ".encode() + message)
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for message in messages:
            sock.sendto(message[:MAX_UDP], (host, port))
