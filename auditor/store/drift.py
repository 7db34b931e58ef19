"""Drift between two scans: verdicts, SL-A, assets, and the evidence that matters.

Two inputs per scan: its :class:`~auditor.results.ScanResult` and, per asset, a *snapshot* (a small
JSON document of identity facts taken from the evidence when the asset was stored: OS release,
package versions, listening services, SSH host key, server software, certificates). The values of a
snapshot are declared by the check packs, each in its ``drift.py`` (``checks/linux/drift.py``,
``checks/snmp/drift.py``, ...), with :func:`auditor.registry.snapshot`, and computed from facts parsed by
the same parsers the checks use, so a snapshot costs no extra request::

    from auditor.registry import snapshot

    @snapshot("snmp_sysdescr", label="system description (sysDescr)", kind="version", facts=["snmp_system"])
    def sysdescr_snapshot(snmp_system):
        return snmp_system.descr  # see checks/snmp/drift.py for the real ones

Kinds: ``version`` (a string: changed), ``map`` (name -> version: added / removed / changed),
``set`` (strings: new / gone) and ``fingerprint`` (a string or {name: fingerprint}: replaced).
A snapshot value that raises or returns ``None`` is simply left out of the snapshot. This module holds
only what is generic: taking a snapshot with the registered values, and the diff of two scans.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.assessment.slvector import FRS
from auditor.evidence import AssetEvidence
from auditor.registry import REGISTRY, Registry
from auditor.results import AssetResult, ScanResult

log = logging.getLogger(__name__)

PROBLEMS = {"fail", "error", "waived"}
MAX_LISTED = 50  # package changes listed per asset; the rest are counted


def take_snapshot(evidence: AssetEvidence, registry: Registry = REGISTRY) -> dict[str, dict[str, Any]]:
    """The identity facts of one asset's evidence, as JSON-able data."""
    from auditor.assessment.evaluate import FactCache

    if evidence.status in ("error", "skipped") or not evidence.items:
        return {}
    registry = registry.load()
    facts = FactCache(evidence.items, registry)
    by_key = {item.request.key: item for item in evidence.items}
    out: dict[str, dict[str, Any]] = {}
    for snap in registry.snapshots.values():
        try:
            if snap.items:
                arguments = []
                for key in snap.items:
                    item = by_key.get(key)
                    if item is None or item.status != "ok":
                        raise LookupError(key)
                    arguments.append(item.data())
            else:
                if any(name not in registry.facts for name in snap.facts):
                    continue
                arguments = []
                for name in snap.facts:
                    value, problem, _ = facts.get(name)
                    if problem is not None:
                        raise LookupError(name)
                    arguments.append(value)
            value = snap.function(*arguments)
        except Exception:  # a snapshot is a convenience: missing evidence just leaves the value out
            log.debug("snapshot %s not taken", snap.name, exc_info=True)
            continue
        if value is None or value == {} or value == []:
            continue
        if snap.kind == "set":
            value = sorted(set(value))
        out[snap.name] = {"label": snap.label, "kind": snap.kind, "value": value}
    return out


# ------------------------------------------------------------------ the diff


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckChange(_Model):
    check_id: str
    title: str = ""
    severity: str = ""
    before: str | None
    after: str | None


class EvidenceChange(_Model):
    name: str
    label: str
    kind: str
    change: Literal["changed", "replaced", "added", "removed"]
    before: Any = None
    after: Any = None
    detail: str = ""


class AssetDrift(_Model):
    asset: str
    zone: str | None = None
    status_before: str
    status_after: str
    sl_before: dict[str, int]
    sl_after: dict[str, int]
    sl_changes: dict[str, list[int]] = Field(default_factory=dict, description="FR -> [before, after]")
    meets_before: bool
    meets_after: bool
    newly_failing: list[CheckChange] = Field(default_factory=list)
    newly_passing: list[CheckChange] = Field(default_factory=list)
    other_changes: list[CheckChange] = Field(default_factory=list)
    evidence: list[EvidenceChange] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.sl_changes or self.newly_failing or self.newly_passing or self.other_changes
                    or self.evidence or self.status_before != self.status_after)


class ScanDrift(_Model):
    scan_a: str
    scan_b: str
    started_a: str
    started_b: str
    assets_added: list[str] = Field(default_factory=list)
    assets_gone: list[str] = Field(default_factory=list)
    assets: list[AssetDrift] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.assets_added or self.assets_gone or any(a.changed for a in self.assets))


def _status_group(status: str | None) -> str:
    return {"fail": "failing", "waived": "failing", "pass": "passing"}.get(status or "", status or "absent")


def _check_changes(a: AssetResult, b: AssetResult) -> tuple[list[CheckChange], list[CheckChange], list[CheckChange]]:
    before = {r.check_id: r for r in a.results}
    after = {r.check_id: r for r in b.results}
    failing, passing, other = [], [], []
    for check_id in sorted(set(before) | set(after)):
        old, new = before.get(check_id), after.get(check_id)
        old_status, new_status = (old.status if old else None), (new.status if new else None)
        if old_status == new_status:
            continue
        ref = new or old
        change = CheckChange(check_id=check_id, title=ref.title if ref else "", severity=ref.severity if ref else "",
                             before=old_status, after=new_status)
        if new_status == "fail" and old_status != "fail":
            failing.append(change)  # includes a waiver that lapsed (waived -> fail)
        elif new_status == "pass" and old_status in ("fail", "waived", "error", "manual"):
            passing.append(change)
        else:
            other.append(change)
    return failing, passing, other


def _evidence_changes(old: dict[str, Any], new: dict[str, Any]) -> list[EvidenceChange]:
    out: list[EvidenceChange] = []
    for name in sorted(set(old) & set(new)):  # a value missing on one side is unknown, not a change
        a, b = old[name], new[name]
        kind, label = b.get("kind", a.get("kind")), b.get("label", a.get("label", name))
        va, vb = a.get("value"), b.get("value")
        if va == vb:
            continue
        if kind == "version":
            out.append(EvidenceChange(name=name, label=label, kind=kind, change="changed", before=va, after=vb,
                                      detail=f"{label}: {va} -> {vb}"))
        elif kind == "fingerprint":
            da = va if isinstance(va, dict) else {"": va}
            db = vb if isinstance(vb, dict) else {"": vb}
            for key in sorted(set(da) | set(db)):
                if da.get(key) == db.get(key):
                    continue
                what = f"{label}{' ' + key if key else ''}"
                if key in da and key in db:
                    out.append(EvidenceChange(name=name, label=label, kind=kind, change="replaced", before=da[key],
                                              after=db[key], detail=f"{what} replaced: {da[key]} -> {db[key]}"))
                elif key in db:
                    out.append(EvidenceChange(name=name, label=label, kind=kind, change="added", after=db[key],
                                              detail=f"{what} added: {db[key]}"))
                else:
                    out.append(EvidenceChange(name=name, label=label, kind=kind, change="removed", before=da[key],
                                              detail=f"{what} removed: {da[key]}"))
        elif kind == "set":
            sa, sb = set(va or []), set(vb or [])
            for entry in sorted(sb - sa):
                out.append(EvidenceChange(name=name, label=label, kind=kind, change="added", after=entry,
                                          detail=f"new {label[:-1] if label.endswith('s') else label}: {entry}"))
            for entry in sorted(sa - sb):
                out.append(EvidenceChange(name=name, label=label, kind=kind, change="removed", before=entry,
                                          detail=f"{label[:-1] if label.endswith('s') else label} gone: {entry}"))
        elif kind == "map":
            ma, mb = dict(va or {}), dict(vb or {})
            changes = []
            for key in sorted(set(ma) | set(mb)):
                if ma.get(key) == mb.get(key):
                    continue
                if key in ma and key in mb:
                    changes.append(EvidenceChange(name=name, label=label, kind=kind, change="changed",
                                                  before={key: ma[key]}, after={key: mb[key]},
                                                  detail=f"{key} {ma[key]} -> {mb[key]}"))
                elif key in mb:
                    changes.append(EvidenceChange(name=name, label=label, kind=kind, change="added",
                                                  after={key: mb[key]}, detail=f"{key} {mb[key]} installed"))
                else:
                    changes.append(EvidenceChange(name=name, label=label, kind=kind, change="removed",
                                                  before={key: ma[key]}, detail=f"{key} {ma[key]} removed"))
            if len(changes) > MAX_LISTED:
                rest = len(changes) - MAX_LISTED
                changes = changes[:MAX_LISTED] + [EvidenceChange(name=name, label=label, kind=kind, change="changed",
                                                                 detail=f"... and {rest} more {label} changes")]
            out.extend(changes)
    return out


def diff(a: ScanResult, b: ScanResult, snapshots_a: dict[str, dict[str, Any]] | None = None,
         snapshots_b: dict[str, dict[str, Any]] | None = None) -> ScanDrift:
    """What changed from scan ``a`` to scan ``b`` (``b`` is normally the later one)."""
    snapshots_a, snapshots_b = snapshots_a or {}, snapshots_b or {}
    before = {x.id: x for x in a.assets}
    after = {x.id: x for x in b.assets}
    drift = ScanDrift(scan_a=a.scan_id or "A", scan_b=b.scan_id or "B",
                      started_a=a.started_at.isoformat(timespec="seconds"),
                      started_b=b.started_at.isoformat(timespec="seconds"),
                      assets_added=[i for i in after if i not in before],
                      assets_gone=[i for i in before if i not in after])
    for asset_id in [i for i in after if i in before]:
        old, new = before[asset_id], after[asset_id]
        sl_old = {fr: old.sl_achieved[fr] for fr in FRS}
        sl_new = {fr: new.sl_achieved[fr] for fr in FRS}
        both_assessed = old.status == "assessed" and new.status == "assessed"
        failing, passing, other = _check_changes(old, new) if both_assessed else ([], [], [])
        drift.assets.append(AssetDrift(
            asset=asset_id, zone=new.zone, status_before=old.status, status_after=new.status,
            sl_before=sl_old, sl_after=sl_new,
            sl_changes={fr: [sl_old[fr], sl_new[fr]] for fr in FRS if sl_old[fr] != sl_new[fr]} if both_assessed else {},
            meets_before=old.meets_target, meets_after=new.meets_target,
            newly_failing=failing, newly_passing=passing, other_changes=other,
            evidence=_evidence_changes(snapshots_a.get(asset_id, {}), snapshots_b.get(asset_id, {}))))
    return drift


def render_text(drift: ScanDrift) -> list[str]:
    """Plain lines for the terminal and for logs."""
    lines = [f"scan {drift.scan_a} ({drift.started_a}) -> scan {drift.scan_b} ({drift.started_b})"]
    for asset in drift.assets_added:
        lines.append(f"+ asset {asset} added")
    for asset in drift.assets_gone:
        lines.append(f"- asset {asset} gone")
    for asset in drift.assets:
        if not asset.changed:
            continue
        lines.append(f"{asset.asset}" + (f" (zone {asset.zone})" if asset.zone else "") + ":")
        if asset.status_before != asset.status_after:
            lines.append(f"  status {asset.status_before} -> {asset.status_after}")
        if asset.sl_changes:
            changes = ", ".join(f"{fr} {v[0]}->{v[1]}" for fr, v in asset.sl_changes.items())
            lines.append(f"  SL-A {changes}")
        if asset.meets_before != asset.meets_after:
            lines.append(f"  {'now meets' if asset.meets_after else 'no longer meets'} its SL-T")
        for change in asset.newly_failing:
            lines.append(f"  newly failing: {change.check_id} ({change.before or 'not run'} -> {change.after})")
        for change in asset.newly_passing:
            lines.append(f"  newly passing: {change.check_id} ({change.before} -> {change.after})")
        for change in asset.other_changes:
            lines.append(f"  changed: {change.check_id} ({change.before or 'not run'} -> {change.after or 'not run'})")
        for change in asset.evidence:
            lines.append(f"  evidence: {change.detail}")
    if not drift.changed:
        lines.append("no drift")
    return lines
