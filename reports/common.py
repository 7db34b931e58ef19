"""Pieces every renderer shares: orderings, labels, FR lookups, value formatting, atomic writes.

Renderers take one :class:`~auditor.results.ScanResult` (plus, optionally, the evidence bundle it was
scored from). What a result does not carry (FR of a requirement, requirement titles, the 4-2 rows of a
component type) comes from the packaged catalog, never from the network or the registry of installed
checks, so a report renders the same anywhere.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from auditor.assessment.slvector import FRS
from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AnswerRef, AssetResult, CheckResult, RequirementResult, ScanResult
from auditor.safetext import printable_lines

log = logging.getLogger(__name__)

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
STATUS_ORDER = ("fail", "error", "manual", "waived", "pass", "not_applicable")
PROBLEM_STATUSES = frozenset({"fail", "error", "manual", "waived"})
STATUS_LABELS = {"pass": "Pass", "fail": "Fail", "error": "Error", "manual": "Manual",
                 "not_applicable": "N/A", "waived": "Waived"}
REQUIREMENT_LABELS = {"passed": "Passed", "failed": "Failed", "error": "Error", "manual": "Manual",
                      "not_applicable": "N/A", "not_assessed": "Not assessed"}
FALLBACK_FR_NAMES = {
    "FR1": "Identification and authentication control", "FR2": "Use control", "FR3": "System integrity",
    "FR4": "Data confidentiality", "FR5": "Restricted data flow", "FR6": "Timely response to events",
    "FR7": "Resource availability"}
NO_ZONE = "(no zone)"

_FR_IN_ID = re.compile(r"^\s*(?:SR|CR|SAR|EDR|HDR|NDR)\s*(\d)\s*\.", re.IGNORECASE)


def catalog_or_none() -> Any:
    """The packaged catalog, or None if it cannot be loaded (a report then loses titles, not content)."""
    try:
        from auditor.assessment.catalog import load_catalog

        return load_catalog()
    except Exception:  # pragma: no cover - the packaged catalog is validated by its own tests
        log.exception("requirement catalog unavailable; reports show ids without titles")
        return None


def fr_names() -> dict[str, str]:
    catalog = catalog_or_none()
    if catalog is None:  # pragma: no cover
        return dict(FALLBACK_FR_NAMES)
    return {f"FR{n}": catalog.fr_name(n) for n in range(1, 8)}


@lru_cache(maxsize=4096)
def requirement_fr(req_id: str) -> str | None:
    """``"CR 2.11 RE1"`` -> ``"FR2"`` (from the catalog, or from the id's number when unknown)."""
    catalog = catalog_or_none()
    if catalog is not None:
        try:
            return f"FR{catalog.get(req_id).fr}"
        except (KeyError, ValueError):
            pass
    match = _FR_IN_ID.match(req_id)
    if match and f"FR{match.group(1)}" in FRS:
        return f"FR{match.group(1)}"
    return None


def check_frs(result: CheckResult) -> list[str]:
    """The FRs a check gives evidence for, in FR order."""
    found = {fr for fr in (requirement_fr(r) for r in result.requirements) if fr}
    return [fr for fr in FRS if fr in found]


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def status_rank(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def result_sort_key(result: CheckResult) -> tuple[int, int, int, str]:
    """Risk first (findings of a scored result; highest first), then severity (critical..info), then verdict
    (fail, error, manual, waived, pass, n/a), then id."""
    return -(result.risk or 0), severity_rank(result.severity), status_rank(result.status), result.check_id


def sorted_results(asset: AssetResult) -> list[CheckResult]:
    return sorted(asset.results, key=result_sort_key)


def zone_of(asset: AssetResult) -> str:
    return asset.zone if asset.zone is not None else NO_ZONE


def zones(result: ScanResult) -> list[str]:
    """Zones in order of first appearance (the inventory's order)."""
    return list(dict.fromkeys(zone_of(a) for a in result.assets))


def asset_verdict(asset: AssetResult) -> str:
    """``meets`` | ``short`` | ``error`` | ``skipped``."""
    if asset.status != "assessed":
        return asset.status
    return "meets" if asset.meets_target else "short"


def shortfall(asset: AssetResult) -> str:
    """Why an assessed asset stands where it does, in one line: technical findings, answered rows, open rows.

    E.g. "no technical finding; 23 requirements await an answer" or "2 requirements unmet by device evidence,
    1 answered not met". Empty for an asset that was not assessed.
    """
    if asset.status != "assessed" or asset.technical is None:
        return ""
    view = asset.technical
    upto = [r for r in asset.requirements if r.sl <= asset.sl_target[r.fr]]
    answered_unmet = sum(r.verdict == "unmet" and r.source == "answer" for r in upto)
    parts = [f"{_count(len(view.unmet), 'requirement')} unmet by device evidence" if view.unmet
             else "no technical finding"]
    if answered_unmet:
        parts.append(f"{answered_unmet} answered not met")
    if view.open:
        parts.append(f"{_count(len(view.open), 'requirement')} {'awaits' if len(view.open) == 1 else 'await'} an answer")
    if asset.meets_target:
        by_evidence = sum(r.verdict == "met" and r.source == "evidence" for r in upto)
        by_answer = sum(r.verdict in ("met", "not_applicable") and r.source == "answer" for r in upto)
        return f"meets SL-T: {by_evidence} requirements met by device evidence, {by_answer} by answers"
    if not view.unmet and not answered_unmet and not view.open:
        fr = next((g for g in asset.gaps), None)
        return f"below SL-T: {fr.reason}" if fr else "below SL-T"
    return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


VERDICT_LABELS = {"meets": "Meets SL-T", "short": "Below SL-T", "error": "Could not be assessed", "skipped": "Skipped"}

# --------------------------------------------------------------------------- the three sources of a row verdict

ROW_VERDICT_LABELS = {"met": "Met", "unmet": "Unmet", "not_applicable": "N/A", "open": "Open"}
ROW_VERDICT_ORDER = ("unmet", "open", "met", "not_applicable")
SOURCE_LABELS = {"evidence": "device evidence", "answer": "answer", "none": "nothing"}
ANSWER_LABELS = {"met": "met", "not_met": "not met", "not_applicable": "not applicable"}
ANSWER_STATE_NOTES = {
    "counted": "decided the row",
    "confirmed": "device evidence met the row too",
    "overruled": "device evidence failed; the answer changes nothing",
    "expired": "expired: not counted",
}
OPEN_TEXT = "open: needs an answer"
CLAIM_NOTE = "assessor to verify"


def in_target(asset: AssetResult, row: RequirementResult) -> bool:
    """Whether a row is required for the asset's SL-T (rows of unknown FR count as in target)."""
    return row.fr not in FRS or row.sl <= asset.sl_target[row.fr]


def rows_in_target(asset: AssetResult) -> list[RequirementResult]:
    return [r for r in asset.requirements if in_target(asset, r)]


def answered_count(asset: AssetResult) -> int:
    """Rows up to SL-T that an answer decided (met, not met or not applicable)."""
    return sum(r.source == "answer" for r in rows_in_target(asset)) if asset.status == "assessed" else 0


def row_counts(rows: Iterable[RequirementResult]) -> dict[str, int]:
    """How many rows are met by device evidence, met by an answer, unmet (by evidence / by an answer), n/a, open."""
    out = {"met_evidence": 0, "met_answer": 0, "unmet_evidence": 0, "unmet_answer": 0, "not_applicable": 0, "open": 0}
    for row in rows:
        if row.verdict == "open":
            out["open"] += 1
        elif row.verdict == "not_applicable":
            out["not_applicable"] += 1
        else:
            out[f"{row.verdict}_{'answer' if row.source == 'answer' else 'evidence'}"] += 1
    return out


def answer_label(ref: AnswerRef, *, claim: bool = False) -> str:
    """One line for an answer or a claim: "answered met by NAME on DATE" / "claimed met by NAME on DATE"."""
    verb = "claimed" if claim else "answered"
    text = f"{verb} {ANSWER_LABELS.get(ref.answer, ref.answer)} by {ref.attested_by} on {ref.date.isoformat()}"
    if ref.expires is not None:
        text += f" ({'expired' if ref.state == 'expired' else 'expires'} {ref.expires.isoformat()})"
    return text


def evidence_labels(ref: AnswerRef) -> list[str]:
    """The evidence references of an answer, as text (a file with the start of its sha256)."""
    return [label for label in (e.label() for e in ref.evidence) if label]


def row_source_text(row: RequirementResult) -> str:
    """Where the row's verdict comes from, in words: the checks, the answer, or that it is open."""
    if row.source == "evidence":
        if row.verdict == "not_applicable":
            return "device evidence proves it does not apply"
        return "device evidence: " + (", ".join(row.checks) if row.checks else "checks")
    if row.source == "answer" and row.answer is not None:
        return answer_label(row.answer)
    if row.answer is not None and row.answer.state == "expired":
        return f"{OPEN_TEXT} (its answer expired on {row.answer.expires.isoformat() if row.answer.expires else '?'})"
    return OPEN_TEXT


@lru_cache(maxsize=4096)
def question_of(req_id: str) -> tuple[str, str]:
    """(question, evidence that answers it) for a requirement, from the catalog; empty strings if unknown."""
    catalog = catalog_or_none()
    if catalog is None:  # pragma: no cover
        return "", ""
    try:
        row = catalog.get(req_id)
    except (KeyError, ValueError):
        return "", ""
    return row.question, row.answer_evidence


def level_lines(asset: AssetResult) -> list[str]:
    """Which parameters judged each level of the SL-A claim, e.g. "SL 3 judged with host-sl3 parameters"."""
    if asset.status != "assessed":
        return []
    applied = min(asset.applied_sl, 4)
    lines = []
    if applied >= 1:
        span = "SL 1" if applied == 1 else f"SL 1–{applied}"
        lines.append(f"{span} judged with the applied profile's parameters ({asset.profile or 'profile'})")
    for level in sorted(asset.levels, key=lambda lv: lv.sl):
        if level.profile is None:
            lines.append(f"SL {level.sl} not evaluated: not claimed")
        else:
            changed = f" ({_count(len(level.changed), 'row')} judged differently there)" if level.changed else ""
            lines.append(f"SL {level.sl} judged with {level.profile} parameters{changed}")
    return lines


_JSON_LEAF = json.JSONEncoder(ensure_ascii=False, default=str).encode  # the C encoder: scalars, empty containers
_JSON_STRING = json.JSONEncoder(ensure_ascii=False).encode


def pretty_json(value: Any, indent: str = "") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False, default=str)``: the same text (a test holds it so).

    Built without the standard library's indenting encoder, whose closures form reference cycles on every call:
    on the pages of a thousand assets, hundreds of thousands of objects that only the cyclic collector frees;
    and in a third of the time. Containers are laid out here, every scalar is the C encoder's.
    """
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        return "{\n" + ",\n".join(f"{inner}{_json_key(key)}: {pretty_json(item, inner)}"
                                   for key, item in value.items()) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + pretty_json(item, inner) for item in value) + "\n" + indent + "]"
    return _JSON_LEAF(value)


def _json_key(key: Any) -> str:
    """A key as JSON writes it: strings as they are; numbers, booleans and None as their JSON text, quoted."""
    if isinstance(key, str):
        return _JSON_STRING(key)
    if key is None or isinstance(key, (bool, int, float)):
        return _JSON_STRING(_JSON_LEAF(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def observed_text(value: Any, *, pretty: bool = False) -> str:
    """One text for an observed value: strings as they are, everything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, indent=2 if pretty else None, ensure_ascii=False, sort_keys=not pretty, default=str,
                      separators=None if pretty else (", ", ": "))


def evidence_index(evidence: EvidenceBundle | None) -> dict[str, EvidenceItem]:
    items: dict[str, EvidenceItem] = {}
    if evidence is not None:
        for asset in evidence.assets:
            for item in asset.items:
                items[item.id] = item
    return items


def iso(value: datetime) -> str:
    """ISO 8601 with an explicit offset (naive times are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def tool_label(result: ScanResult) -> str:
    return f"{result.tool.get('name', 'iacs-auditor')} {result.tool.get('version', 'unknown')}"


def format_time(value: datetime) -> str:
    """``2025-11-20 09:15:00 UTC`` (another offset is printed as ``+0100``; a naive time as is)."""
    if value.tzinfo is not None and value.utcoffset() == timezone.utc.utcoffset(None):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if value.tzinfo is not None:
        return value.strftime("%Y-%m-%d %H:%M:%S %z")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float) -> str:
    """``42.0 s``, ``3 min 5 s``, ``2 h 7 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def overall_verdict(result: ScanResult) -> tuple[str, str]:
    """The scan's verdict as a key (``meets``, ``short``, ``error``, ``empty``) and one sentence saying why."""
    code = result.exit_code()
    errors = sum(a.status == "error" for a in result.assets)
    short = sum(a.status == "assessed" and not a.meets_target for a in result.assets)
    if not result.assets:
        return "empty", "No assets were in scope of this scan."
    parts = []
    if short:
        parts.append(f"{short} of {len(result.assets)} asset{'s' if len(result.assets) != 1 else ''} "
                     f"{'fall' if short != 1 else 'falls'} short of the target security level")
    if errors:
        parts.append(f"{errors} asset{'s' if errors != 1 else ''} could not be assessed")
    if result.interrupted:
        parts.append("the scan was interrupted before every asset finished")
    if code == 0:
        return "meets", "Every assessed asset meets its target security level (SL-T)."
    return ("error" if code == 3 else "short"), "; ".join(parts).capitalize() + "."


def _file_mode() -> int:
    """The mode a plain ``open()`` would give (0666 less the umask): reports are meant to be shared."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write via a temp file + rename, so a crash never leaves half a report behind."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    """Write text atomically; ``newline`` is what ``\\n`` becomes ("" keeps the text's own line ends)."""
    if newline:
        text = text.replace("\n", newline) if newline != "\n" else text
    return write_bytes_atomic(path, text.encode(encoding, errors="replace"))  # a lone surrogate never aborts a report


_XML_INVALID = re.compile("[\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """Replace characters XML 1.0 cannot carry at all, or a terminal would obey, by a visible escape.

    Control characters (a device may well answer with a NUL or an ANSI escape sequence) go through
    :func:`auditor.safetext.printable_lines`; lone surrogates and non-characters become U+FFFD. Escaping of
    ``<``, ``&`` and quotes is the serializer's job.
    """
    return _XML_INVALID.sub("\ufffd", printable_lines(text))


def join(values: Iterable[str], sep: str = "; ") -> str:
    return sep.join(values)
