"""``assessment-results.json``: the scan as NIST OSCAL assessment results (OSCAL JSON, version 1.2).

Mapping (one ``result`` per scan):

* ``metadata``: title, last-modified (the scan's end, so a rescore of the same result is byte-identical),
  the tool, site, profile and scoring basis as properties.
* ``import-ap``: this tool writes no OSCAL assessment plan; the import points at a back-matter resource
  that describes the scope actually used (inventory, profile, requirement catalog).
* ``local-definitions``: the tool as a ``software`` component (the actor of every observation) and each
  asset as an ``inventory-item`` (``asset-id``, ``ipv4-address`` where it is one, and the IEC 62443
  figures: component type, zone, SL-T, SL-A automated and strict, coverage, meets-target).
* ``reviewed-controls``: every IEC 62443 requirement within some asset's SL-T, as control ids
  (``"CR 2.11 RE1"`` -> ``cr-2.11-re1``, ``"SR 1.1"`` -> ``sr-1.1``).
* ``observations``: one per asset x check (method ``TEST``), subject = the asset, relevant evidence = the
  evidence items (request and sha256 when the bundle is given) and remarks with observed, expected,
  reason and remediation.
* ``risks``: one per failed (or waived) check, status ``open`` (``deviation-approved`` when waived), with
  the check's remediation as a ``recommendation``.
* ``findings``: one per asset x requirement within its SL-T. ``passed`` -> objective ``satisfied``;
  ``failed`` and ``error`` -> ``not-satisfied`` (an error counts against SL-A, as in scoring); ``manual``
  and ``not_assessed`` carry no objective status (the tool did not decide; a property and the remarks
  say why), ``not_applicable`` -> implementation status ``not-applicable``. Each finding links the
  observations of the checks behind it and their risks.

UUIDs are version 5 (name-based) over the scan's identity (site, start, profile, evidence manifest) and
the object's path, so the same result always yields the same document and ids are stable across
re-renders. Tool-specific properties use the namespace :data:`NS`. The output validates against the
OSCAL models of compliance-trestle (see the tests).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AssetResult, CheckResult, ScanResult
from auditor.slvector import FRS
from reports.common import (
    REQUIREMENT_LABELS,
    STATUS_LABELS,
    catalog_or_none,
    evidence_index,
    observed_text,
    sorted_results,
    tool_label,
    write_text_atomic,
)

OSCAL_VERSION = "1.2.1"
NS = "urn:iacs-auditor:oscal"
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


def _when(value: datetime) -> str:
    """OSCAL date-time-with-timezone: UTC offset always, milliseconds only when there are any."""
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat(timespec="seconds" if value.microsecond == 0 else "milliseconds")


def control_id(requirement: str) -> str:
    """OSCAL token for a requirement id: ``"CR 2.11 RE1"`` -> ``"cr-2.11-re1"``."""
    token = _TOKEN_BAD.sub("-", requirement.strip().lower()).strip("-")
    return token if token and (token[0].isalpha() or token[0] == "_") else f"r-{token}"


def _line(text: str, fallback: str = "-") -> str:
    """A one-line, trimmed, non-empty string (OSCAL titles and property values may not span lines)."""
    flat = re.sub(r"\s+", " ", text or "").strip()
    return flat or fallback


def _prop(name: str, value: Any, *, ns: bool = True) -> dict[str, str]:
    prop = {"name": name, "value": _line(str(value))}
    if ns:
        prop["ns"] = NS
    return prop


def _clean(value: Any) -> Any:
    """Drop None and empty lists recursively: OSCAL arrays, when present, have at least one item."""
    if isinstance(value, dict):
        out = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class _Ids:
    def __init__(self, result: ScanResult) -> None:
        self.seed = "|".join((result.site, _when(result.started_at), result.profile,
                              result.evidence_manifest_sha256 or "", result.basis))

    def __call__(self, *path: str) -> str:
        return str(uuid.uuid5(_UUID_NAMESPACE, self.seed + "|" + "/".join(path)))


def _inventory_item(ids: _Ids, asset: AssetResult) -> dict[str, Any]:
    assessed = asset.status == "assessed"
    props = [_prop("asset-id", asset.id, ns=False)]
    try:
        address = ipaddress.ip_address(asset.address)
        props.append(_prop("ipv4-address" if address.version == 4 else "ipv6-address", asset.address, ns=False))
    except ValueError:
        props.append(_prop("address", asset.address))
    props += [_prop("component-type", asset.type), _prop("assessment-status", asset.status)]
    if asset.zone:
        props.append(_prop("zone", asset.zone))
    if asset.profile:
        props.append(_prop("profile", asset.profile))
    props.append(_prop("sl-target", asset.sl_target.compact()))
    if assessed:
        props += [_prop("sl-achieved", asset.sl_achieved.compact()),
                  _prop("sl-achieved-strict", asset.sl_achieved_strict.compact()),
                  _prop("meets-target", "true" if asset.meets_target else "false")]
    props.append(_prop("coverage", f"{asset.coverage.ratio:.3f}"))
    description = f"IEC 62443-4-2 {asset.type} component {asset.id} at {asset.address}"
    if asset.zone:
        description += f", zone {asset.zone}"
    return {"uuid": ids("asset", asset.id), "description": description, "props": props,
            "remarks": asset.error or None}


def _evidence(ids: _Ids, check: CheckResult, items: dict[str, EvidenceItem], resource: str) -> list[dict[str, Any]]:
    out = []
    for item_id in check.evidence:
        item = items.get(item_id)
        props = [_prop("evidence-id", item_id)]
        description = f"evidence item {item_id} in evidence.json"
        if item is not None:
            description = f"evidence item {item_id}: {item.request.key} on {item.endpoint} ({item.status})"
            props.append(_prop("sha256", item.sha256))
        out.append({"href": f"#{resource}", "description": description, "props": props})
    return out


def _remarks(check: CheckResult) -> str:
    lines = []
    observed = observed_text(check.observed, pretty=True)
    if observed:
        lines.append(f"Observed: {observed}")
    if check.expected:
        lines.append(f"Expected: {check.expected}")
    if check.reason:
        lines.append(f"Reason: {check.reason}")
    if check.remediation:
        lines.append(f"Remediation: {check.remediation}")
    waiver = check.waiver
    if waiver is not None:
        lines.append(f"Waiver {waiver.id} ({waiver.state}): {waiver.justification}")
    return "\n".join(lines)


def _collected(result: ScanResult, check: CheckResult, items: dict[str, EvidenceItem]) -> str:
    times = [items[e].collected_at for e in check.evidence if e in items]
    return _when(max(times)) if times else _when(result.finished_at)


def build_oscal(result: ScanResult, evidence: EvidenceBundle | None = None) -> dict[str, Any]:
    """The OSCAL document as JSON-ready data (``{"assessment-results": {...}}``)."""
    ids = _Ids(result)
    items = evidence_index(evidence)
    catalog = catalog_or_none()
    tool = ids("tool")
    plan_resource, evidence_resource, result_resource = ids("resource", "scope"), ids("resource", "evidence"), ids("resource", "result")

    observations, risks, findings = [], [], []
    controls: dict[str, None] = {}
    for asset in result.assets:
        subject = {"subject-uuid": ids("asset", asset.id), "type": "inventory-item", "title": _line(asset.id)}
        obs_by_check: dict[str, str] = {}
        risk_by_check: dict[str, str] = {}
        for check in sorted_results(asset):
            obs = ids("observation", asset.id, check.check_id)
            obs_by_check[check.check_id] = obs
            verdict = STATUS_LABELS.get(check.status, check.status).lower()
            observations.append({
                "uuid": obs, "title": _line(f"{check.title or check.check_id} ({asset.id})"),
                "description": check.reason or f"{check.check_id} on {asset.id}: {verdict}",
                "props": [_prop("check-id", check.check_id), _prop("verdict", check.status),
                          _prop("severity", check.severity), _prop("asset-id", asset.id, ns=False)]
                         + ([_prop("target-sl", check.target_sl)] if check.target_sl is not None else [])
                         + [_prop("requirement", r) for r in check.requirements],
                "methods": ["TEST"], "types": ["finding" if check.status in ("fail", "waived") else "control-objective"],
                "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
                "subjects": [subject],
                "relevant-evidence": _evidence(ids, check, items, evidence_resource),
                "collected": _collected(result, check, items),
                "remarks": _remarks(check) or None,
            })
            if check.status in ("fail", "waived"):
                risk = ids("risk", asset.id, check.check_id)
                risk_by_check[check.check_id] = risk
                risks.append({
                    "uuid": risk, "title": _line(f"{check.title or check.check_id} on {asset.id}"),
                    "description": check.reason or check.title or check.check_id,
                    "statement": (f"{check.severity.capitalize()} severity: {asset.id} fails {check.check_id}, "
                                  f"evidence for {', '.join(check.requirements) or 'no requirement'}."),
                    "props": [_prop("severity", check.severity), _prop("check-id", check.check_id)],
                    "status": "deviation-approved" if check.status == "waived" else "open",
                    "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
                    "remediations": [{"uuid": ids("remediation", asset.id, check.check_id),
                                      "lifecycle": "recommendation", "title": _line(f"Remediate {check.check_id}"),
                                      "description": check.remediation}] if check.remediation else None,
                    "related-observations": [{"observation-uuid": obs}],
                })
        for row in asset.requirements:
            if row.fr in FRS and row.sl > asset.sl_target[row.fr]:
                continue  # above this asset's target: not part of what was assessed against
            controls[control_id(row.id)] = None
            target: dict[str, Any] = {"type": "objective-id", "target-id": control_id(row.id),
                                      "title": _line(f"{row.id} {row.title}")}
            if row.status == "passed":
                target["status"] = {"state": "satisfied", "reason": "pass"}
            elif row.status in ("failed", "error"):
                target["status"] = {"state": "not-satisfied", "reason": "fail" if row.status == "failed" else "other",
                                    "remarks": None if row.status == "failed" else
                                    "evidence missing or unreadable; counts as unmet"}
            elif row.status == "not_applicable":
                target["implementation-status"] = {"state": "not-applicable"}
            explain = {"not_assessed": "Not assessed: no automated check covers this requirement; strict SL-A counts "
                                       "it as unmet until other evidence is provided.",
                       "manual": "Needs manual verification: the automated checks could not decide it.",
                       "error": "Evidence was missing or unreadable for every check behind it."}.get(row.status)
            title = row.title
            if catalog is not None and not title:  # pragma: no cover - results always carry titles
                title = catalog.get(row.id).title
            findings.append({
                "uuid": ids("finding", asset.id, row.id),
                "title": _line(f"{row.id} on {asset.id}: {REQUIREMENT_LABELS.get(row.status, row.status)}"),
                "description": _line(f"{row.id} ({row.fr}, required from SL {row.sl}): {title}. "
                                     f"Checks: {', '.join(row.checks) or 'none'}."),
                "props": [_prop("asset-id", asset.id, ns=False), _prop("requirement-status", row.status),
                          _prop("fr", row.fr), _prop("sl", row.sl)],
                "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
                "target": target,
                "related-observations": [{"observation-uuid": obs_by_check[c]} for c in row.checks if c in obs_by_check],
                "related-risks": [{"risk-uuid": risk_by_check[c]} for c in row.checks if c in risk_by_check],
                "remarks": explain,
            })

    selection: dict[str, Any] = (
        {"description": "IEC 62443 requirements within the target security level (SL-T) of at least one asset",
         "include-controls": [{"control-id": c} for c in controls]} if controls else
        {"description": "no requirement was in scope (no assets)", "include-all": {}})
    basis = "IEC 62443-4-2 component requirements" if result.basis == "component" else "IEC 62443-3-3 system requirements"
    document = {
        "uuid": ids("assessment-results"),
        "metadata": {
            "title": _line(f"IEC 62443 hardening assessment results: {result.site}"),
            "last-modified": _when(result.finished_at),
            "version": _line(result.tool.get("version", "1")),
            "oscal-version": OSCAL_VERSION,
            "props": [_prop("site", result.site), _prop("profile", result.profile), _prop("basis", result.basis),
                      _prop("tool", tool_label(result))],
        },
        "import-ap": {"href": f"#{plan_resource}",
                      "remarks": "No OSCAL assessment plan was written; the referenced resource describes the scope."},
        "results": [{
            "uuid": ids("result"),
            "title": _line(f"Automated assessment of {result.site} against {basis}"),
            "description": (f"Read-only automated assessment by {tool_label(result)} of {len(result.assets)} asset(s), "
                            f"profile {result.profile}. Each observation is one check verdict on one asset; each "
                            "finding is one requirement on one asset within its SL-T."
                            + (" The scan was interrupted before every asset finished." if result.interrupted else "")),
            "start": _when(result.started_at),
            "end": _when(result.finished_at),
            "props": [_prop("assets", len(result.assets)), _prop("assets-assessed", result.summary.assessed),
                      _prop("assets-meeting-target", result.summary.meeting_target),
                      _prop("exit-code", result.exit_code())]
                     + [_prop(f"checks-{status.replace('_', '-')}", count)
                        for status, count in sorted(result.summary.checks_by_status.items())],
            "local-definitions": {
                "components": [{"uuid": tool, "type": "software", "title": _line(tool_label(result)),
                                "description": "iacs-auditor: read-only hardening auditor for IACS components, "
                                               "scored against IEC 62443-3-3 and IEC 62443-4-2.",
                                "status": {"state": "operational"}}],
                "inventory-items": [_inventory_item(ids, a) for a in result.assets],
            },
            "reviewed-controls": {"description": basis, "control-selections": [selection]},
            "observations": observations,
            "risks": risks,
            "findings": findings,
        }],
        "back-matter": {"resources": [
            {"uuid": plan_resource, "title": "Assessment scope",
             "description": (f"Inventory of {result.site} ({len(result.assets)} assets), profile {result.profile}, "
                             f"scored on {basis} with the requirement catalog shipped with {tool_label(result)}."),
             "props": [_prop("profile", result.profile)]},
            {"uuid": result_resource, "title": "result.json (iacs-auditor scan result)",
             "rlinks": [{"href": "result.json", "media-type": "application/json"}]},
            {"uuid": evidence_resource, "title": "evidence.json (raw evidence bundle)",
             "description": "Every raw request and response of the scan, each with a sha256; the manifest hash "
                            "covers all items.",
             "props": [_prop("manifest-sha256", result.evidence_manifest_sha256)] if result.evidence_manifest_sha256 else None,
             "rlinks": [{"href": "evidence.json", "media-type": "application/json"}]},
        ]},
    }
    return {"assessment-results": _clean(document)}


def render_oscal(result: ScanResult, evidence: EvidenceBundle | None = None) -> str:
    return json.dumps(build_oscal(result, evidence), indent=2, ensure_ascii=False) + "\n"


def write_oscal(result: ScanResult, path: str | Path, evidence: EvidenceBundle | None = None) -> Path:
    return write_text_atomic(path, render_oscal(result, evidence))


def write_oscal_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``oscal`` entry of :data:`reports.FORMATS`."""
    return write_oscal(result, path, evidence)
