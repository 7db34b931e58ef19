"""``assessment-results.json``: the scan as NIST OSCAL assessment results (OSCAL JSON, version 1.2).

Mapping (one ``result`` per scan):

* ``metadata``: title, last-modified (the scan's end, so a rescore of the same result is byte-identical),
  the tool, site, profile and scoring basis as properties, and one ``party`` per person (site answers) or
  organization (vendor capability claims) who attested something in the answers file.
* ``import-ap``: this tool writes no OSCAL assessment plan; the import points at a back-matter resource
  that describes the scope actually used (inventory, profile, requirement catalog).
* ``local-definitions``: the tool as a ``software`` component (the actor of every observation) and each
  asset as an ``inventory-item`` (``asset-id``, ``ipv4-address`` where it is one, and the IEC 62443
  figures: component type, zone, product, SL-T, SL-A, SL-A on device evidence only, SL-C, coverage,
  meets-target, the requirement rows unmet by device evidence and those awaiting an answer).
* ``reviewed-controls``: every IEC 62443 requirement within some asset's SL-T, as control ids
  (``"CR 2.11 RE1"`` -> ``cr-2.11-re1``, ``"SR 1.1"`` -> ``sr-1.1``).
* ``observations``: one per asset x check (method ``TEST``, origin the tool), subject = the asset, relevant
  evidence = the evidence items (request and sha256 when the bundle is given) and remarks with observed,
  expected, reason and remediation. And one per asset x requirement row an answer or a vendor claim
  matched: origin the attesting party (not the tool), method ``EXAMINE`` when the answer names evidence
  (each reference a ``relevant-evidence``; a file also a back-matter resource with its sha256) or
  ``INTERVIEW`` when it rests on the person's word alone, ``collected`` the answer's date, ``expires`` its
  expiry, and properties saying what it did (``answer-state``: counted, confirmed, overruled, expired).
* ``risks``: one per failed (or waived) check, status ``open`` (``deviation-approved`` when waived), with
  the check's remediation as a ``recommendation``.
* ``findings``: one per asset x requirement within its SL-T, from the row's verdict: ``met`` -> objective
  ``satisfied``; ``unmet`` -> ``not-satisfied`` (reason ``fail``; ``other`` when the evidence could not be
  read, which counts against SL-A as in scoring); ``open`` -> ``not-satisfied`` with reason ``other`` and a
  remark that an answer is needed (with the catalog's question); ``not_applicable`` -> implementation
  status ``not-applicable``. Properties give the verdict, its source (``evidence``, ``answer``, ``none``)
  and the device-evidence status; the origin is the tool for device evidence and open rows, the party for
  answered rows. Each finding links the observations behind it (checks and answer) and the checks' risks.

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
from urllib.parse import quote

from auditor.assessment.slvector import FRS
from auditor.evidence import EvidenceBundle, EvidenceItem
from auditor.results import AnswerRef, AssetResult, CheckResult, RequirementResult, ScanResult
from reports.common import (
    ANSWER_LABELS,
    ANSWER_STATE_NOTES,
    CLAIM_NOTE,
    OPEN_TEXT,
    REQUIREMENT_LABELS,
    ROW_VERDICT_LABELS,
    STATUS_LABELS,
    answer_label,
    catalog_or_none,
    evidence_index,
    observed_text,
    question_of,
    shortfall,
    sorted_results,
    tool_label,
    write_text_atomic,
)

OSCAL_VERSION = "1.2.1"
NS = "urn:iacs-auditor:oscal"
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")
_URI_SAFE = ":/?#[]@!$&'()*+,;=-._~%"  # RFC 3986 reserved and unreserved characters: everything else is escaped


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


def _prop(name: str, value: Any, *, ns: bool = True, remarks: str | None = None) -> dict[str, str]:
    prop = {"name": name, "value": _line(str(value))}
    if ns:
        prop["ns"] = NS
    if remarks:
        prop["remarks"] = remarks
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
    for key in ("vendor", "name", "model", "firmware"):
        if asset.product.get(key):
            props.append(_prop(f"product-{key}", asset.product[key]))
    props.append(_prop("sl-target", asset.sl_target.compact()))
    if assessed:
        props += [_prop("sl-achieved", asset.sl_achieved.compact()),
                  _prop("sl-achieved-strict", asset.sl_achieved_strict.compact(),
                        remarks="SL-A on device evidence only (answers not counted)"),
                  _prop("meets-target", "true" if asset.meets_target else "false")]
        if asset.sl_capability is not None:
            props.append(_prop("sl-capability", asset.sl_capability.compact(),
                               remarks="SL-C: device evidence and vendor capability claims"))
        if asset.technical is not None:
            props += [_prop("rows-unmet-by-evidence", len(asset.technical.unmet)),
                      _prop("rows-open", len(asset.technical.open)),
                      _prop("verdict-line", shortfall(asset))]
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


def _when_date(value: Any) -> str:
    """An answer's date as an OSCAL date-time (midnight UTC)."""
    return _when(datetime(value.year, value.month, value.day, tzinfo=timezone.utc))


class _Parties:
    """The people (site answers) and organizations (vendor claims) who attested something: OSCAL parties."""

    def __init__(self, ids: _Ids) -> None:
        self.ids = ids
        self.parties: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str, *, claim: bool) -> str:
        kind = "organization" if claim else "person"
        uuid_ = self.ids("party", kind, name)
        if uuid_ not in self.parties:
            self.parties[uuid_] = {
                "uuid": uuid_, "type": kind, "name": _line(name, "(not recorded)"),
                "props": [_prop("role", "vendor capability claim" if claim else "site answer")]}
        return uuid_


class _FileResources:
    """Back-matter resources for file evidence of answers (with their sha256), one per file."""

    def __init__(self, ids: _Ids) -> None:
        self.ids = ids
        self.resources: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str, sha256: str | None) -> str:
        uuid_ = self.ids("answer-file", name, sha256 or "")
        if uuid_ not in self.resources:
            rlink: dict[str, Any] = {"href": name}
            if sha256:
                rlink["hashes"] = [{"algorithm": "SHA-256", "value": sha256}]
            self.resources[uuid_] = {"uuid": uuid_, "title": _line(f"Answer evidence: {name}"),
                                     "description": "A file named as evidence in the answers file"
                                                    + ("; its sha256 was recorded when the answers were loaded."
                                                       if sha256 else "."),
                                     "rlinks": [rlink]}
        return uuid_


def _answer_evidence(ref: AnswerRef, files: _FileResources) -> list[dict[str, Any]]:
    out = []
    for item in ref.evidence:
        if item.file:
            out.append({"href": f"#{files(item.file, item.sha256)}", "description": _line(f"file {item.label()}"),
                        "props": [_prop("sha256", item.sha256)] if item.sha256 else None})
        elif item.url:
            out.append({"href": quote(item.url.strip(), safe=_URI_SAFE), "description": _line(f"document at {item.url}")})
        elif item.ref:
            out.append({"description": _line(f"document or record: {item.ref}")})
    return out


def _answer_observation(ids: _Ids, asset: AssetResult, row: RequirementResult, ref: AnswerRef, subject: dict[str, Any],
                        parties: _Parties, files: _FileResources, *, claim: bool) -> dict[str, Any]:
    kind = "claim" if claim else "answer"
    lines = [f"{'Vendor capability claim' if claim else 'Site answer'} ({ref.entry}): "
             f"{answer_label(ref, claim=claim)}."]
    if ref.justification:
        lines.append(f"Justification: {ref.justification}")
    note = ANSWER_STATE_NOTES.get(ref.state, "")
    if claim:
        lines.append(f"Counts for SL-C only; {CLAIM_NOTE}." + (f" {note.capitalize()}." if ref.state in
                                                                      ("overruled", "expired") else ""))
    elif note:
        lines.append(f"In this assessment it {note}." if ref.state in ("counted", "confirmed") else f"{note.capitalize()}.")
    return {
        "uuid": ids("observation", asset.id, kind, row.id),
        "title": _line(f"{row.id} on {asset.id}: {'claimed' if claim else 'answered'} "
                       f"{ANSWER_LABELS.get(ref.answer, ref.answer)} by {ref.attested_by}"),
        "description": _line(f"{'Capability claim' if claim else 'Attestation'} for {row.id} ({row.title}) "
                             f"on {asset.id}, recorded in the answers file entry {ref.entry}."),
        "props": [_prop("requirement", row.id), _prop("asset-id", asset.id, ns=False), _prop("answer", ref.answer),
                  _prop("answer-state", ref.state), _prop("answers-entry", ref.entry),
                  _prop("capability-claim", "true" if claim else "false")],
        "methods": ["EXAMINE"] if ref.evidence else ["INTERVIEW"],
        "types": ["finding" if ref.answer == "not_met" else "control-objective"],
        "origins": [{"actors": [{"type": "party", "actor-uuid": parties(ref.attested_by, claim=claim)}]}],
        "subjects": [subject],
        "relevant-evidence": _answer_evidence(ref, files) or None,
        "collected": _when_date(ref.date),
        "expires": _when_date(ref.expires) if ref.expires is not None else None,
        "remarks": "\n".join(lines),
    }


def _finding_target(row: RequirementResult) -> tuple[dict[str, Any], str | None]:
    """The finding's objective status from the row's verdict, and remarks explaining it."""
    target: dict[str, Any] = {"type": "objective-id", "target-id": control_id(row.id),
                              "title": _line(f"{row.id} {row.title}")}
    if row.verdict == "met":
        target["status"] = {"state": "satisfied", "reason": "pass"}
        if row.source == "answer":
            return target, "Met by a site answer (attestation): no check could judge this row."
        return target, None
    if row.verdict == "not_applicable":
        target["implementation-status"] = {"state": "not-applicable"}
        return target, ("Not applicable by a justified site answer." if row.source == "answer"
                        else "Device evidence proves this requirement cannot apply to this component.")
    if row.verdict == "unmet":
        if row.source == "answer":
            target["status"] = {"state": "not-satisfied", "reason": "fail"}
            return target, "Answered not met by the site."
        error = row.status == "error"
        target["status"] = {"state": "not-satisfied", "reason": "other" if error else "fail",
                            "remarks": "evidence missing or unreadable; counts as unmet" if error else None}
        overruled = row.answer is not None and row.answer.state == "overruled"
        remark = ("Evidence was missing or unreadable for a check behind it; counts as unmet." if error
                  else "Unmet by device evidence.")
        return target, remark + (f" A site answer said {ANSWER_LABELS.get(row.answer.answer, row.answer.answer)}: "
                                 f"{ANSWER_STATE_NOTES['overruled']}." if overruled and row.answer else "")
    question, wanted = question_of(row.id)
    target["status"] = {"state": "not-satisfied", "reason": "other",
                        "remarks": f"{OPEN_TEXT}: no check judged this row and no current answer decides it"}
    why = {"manual": "A check needs a person to decide it.",
           "not_assessed": "No check covers this requirement."}.get(row.status, "")
    expired = (f" Its answer expired on {row.answer.expires}." if row.answer is not None and row.answer.state == "expired"
               and row.answer.expires else "")
    remark = f"Open: needs an answer. {why}{expired} It counts as unmet for SL-A until answered."
    if question:
        remark += f"\nQuestion: {question}\nEvidence that answers it: {wanted}"
    return target, remark


def build_oscal(result: ScanResult, evidence: EvidenceBundle | None = None) -> dict[str, Any]:
    """The OSCAL document as JSON-ready data (``{"assessment-results": {...}}``)."""
    ids = _Ids(result)
    items = evidence_index(evidence)
    catalog = catalog_or_none()
    tool = ids("tool")
    plan_resource, evidence_resource, result_resource = ids("resource", "scope"), ids("resource", "evidence"), ids("resource", "result")

    observations, risks, findings = [], [], []
    controls: dict[str, None] = {}
    parties, files = _Parties(ids), _FileResources(ids)
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
            answer_obs = []
            for ref, claim in ((row.answer, False), (row.claim, True)):
                if ref is not None and asset.status == "assessed":
                    observation = _answer_observation(ids, asset, row, ref, subject, parties, files, claim=claim)
                    observations.append(observation)
                    if not claim:
                        answer_obs.append(observation["uuid"])
            if row.fr in FRS and row.sl > asset.sl_target[row.fr]:
                continue  # above this asset's target: not part of what was assessed against
            controls[control_id(row.id)] = None
            target, explain = _finding_target(row)
            if asset.status != "assessed":
                explain = f"The asset could not be assessed. {explain or ''}".strip()
            title = row.title
            if catalog is not None and not title:  # pragma: no cover - results always carry titles
                title = catalog.get(row.id).title
            answered = row.source == "answer" and row.answer is not None
            origin = ({"type": "party", "actor-uuid": parties(row.answer.attested_by, claim=False)}
                      if answered and row.answer is not None else {"type": "tool", "actor-uuid": tool})
            findings.append({
                "uuid": ids("finding", asset.id, row.id),
                "title": _line(f"{row.id} on {asset.id}: {ROW_VERDICT_LABELS.get(row.verdict, row.verdict)}"
                               + ("" if row.verdict == "open" else f" ({row.source.replace('none', 'nothing')})")),
                "description": _line(f"{row.id} ({row.fr}, required from SL {row.sl}): {title}. "
                                     f"Checks: {', '.join(row.checks) or 'none'}. "
                                     f"Device evidence: {REQUIREMENT_LABELS.get(row.status, row.status)}."),
                "props": [_prop("asset-id", asset.id, ns=False), _prop("verdict", row.verdict),
                          _prop("verdict-source", row.source), _prop("requirement-status", row.status),
                          _prop("fr", row.fr), _prop("sl", row.sl)],
                "origins": [{"actors": [origin]}],
                "target": target,
                "related-observations": [{"observation-uuid": obs_by_check[c]} for c in row.checks if c in obs_by_check]
                                        + [{"observation-uuid": o} for o in answer_obs],
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
                      _prop("tool", tool_label(result))]
                     + ([_prop("answers-file", result.attestations_source)] if result.attestations_source else []),
            "parties": list(parties.parties.values()),
        },
        "import-ap": {"href": f"#{plan_resource}",
                      "remarks": "No OSCAL assessment plan was written; the referenced resource describes the scope."},
        "results": [{
            "uuid": ids("result"),
            "title": _line(f"Automated assessment of {result.site} against {basis}"),
            "description": (f"Read-only automated assessment by {tool_label(result)} of {len(result.assets)} asset(s), "
                            f"profile {result.profile}. Each observation is one check verdict on one asset (by the "
                            "tool) or one answer or vendor claim from the answers file (by the party who gave it); "
                            "each finding is one requirement on one asset within its SL-T, judged from device "
                            "evidence, a current answer, or open (needs an answer)."
                            + (" The scan was interrupted before every asset finished." if result.interrupted else "")),
            "start": _when(result.started_at),
            "end": _when(result.finished_at),
            "props": [_prop("assets", len(result.assets)), _prop("assets-assessed", result.summary.assessed),
                      _prop("assets-meeting-target", result.summary.meeting_target),
                      _prop("assets-with-technical-findings", result.summary.technical_findings),
                      _prop("rows-open", result.summary.open_rows),
                      _prop("exit-code", result.exit_code()),
                      _prop("exit-code-technical", result.exit_code("technical"))]
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
            *files.resources.values(),
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
