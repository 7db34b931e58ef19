"""Recording a running scan into the history store, asset by asset, and resuming an unfinished one."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from auditor.engine import score_asset
from auditor.evidence import AssetEvidence
from auditor.plant.inventory import Inventory
from auditor.plant.planning import AssetPlan
from auditor.registry import REGISTRY, Registry
from auditor.results import ScanResult
from auditor.store.drift import ScanDrift, diff, take_snapshot
from auditor.store.repository import Store, StoreError

log = logging.getLogger(__name__)
TREND_DEPTH = 12


class ScanRecorder:
    """Glue between the engine's ``on_finished`` hook and :class:`Store` for one scan."""

    def __init__(self, store: Store, inventory: Inventory, plans: list[AssetPlan], selection: str, *,
                 waivers: Any = None, registry: Registry = REGISTRY, as_of: date | None = None,
                 answers: Any = None):
        self.store = store
        self.inventory = inventory
        self.plans = plans
        self.selection = selection
        self.waivers = waivers
        self.answers = answers
        self.registry = registry
        self.as_of = as_of or date.today()
        self.positions = {plan.asset.id: n for n, plan in enumerate(plans)}
        self.scan_id: int | None = None
        self.started_at: datetime | None = None
        self.resumed = False
        self.errors: list[str] = []

    def begin(self, started_at: datetime, *, resume: bool = False) -> dict[str, AssetEvidence]:
        """Start a scan row (or take over the newest unfinished one); returns evidence already finished."""
        basis = {p.profile.basis for p in self.plans}
        if resume:
            candidate = self.store.resumable(self.inventory.site, self.selection)
            if candidate is not None:
                self.scan_id, self.started_at, self.resumed = candidate.id, candidate.started_at, True
                self.store.resume(candidate.id, self.inventory)
                done = self.store.finished_evidence(candidate.id)
                return {asset_id: evidence for asset_id, evidence in done.items() if asset_id in self.positions}
        self.started_at = started_at
        self.scan_id = self.store.begin_scan(self.inventory, self.selection, started_at,
                                             basis.pop() if len(basis) == 1 else "component")
        return {}

    def on_finished(self, plan: AssetPlan, evidence: AssetEvidence) -> None:
        """Commit one finished asset; a store failure is remembered, never stops the scan."""
        if self.scan_id is None:
            return
        try:
            # a private copy of the waivers keeps the final score's bookkeeping clean
            waivers = type(self.waivers)(self.waivers.waivers, self.waivers.source) if self.waivers else None
            result = score_asset(plan, evidence, self.registry, waivers, self.as_of, self.answers)
            self.store.record_asset(self.scan_id, self.positions[plan.asset.id], plan.asset, evidence, result,
                                    take_snapshot(evidence, self.registry))
        except Exception as exc:  # the reports are still written; the exit code says the store missed it
            log.error("could not record %s in the history store: %s", plan.asset.id, exc)
            self.errors.append(f"{plan.asset.id}: {exc}")

    def finish(self, result: ScanResult, *, trend: bool = True) -> ScanResult:
        """Commit the scan's outcome and return the result with its scan id (and trend data)."""
        if self.scan_id is None:
            return result
        result = result.model_copy(update={"scan_id": str(self.scan_id)})
        try:
            assets = {plan.asset.id: plan.asset for plan in self.plans}
            self.store.finish_scan(self.scan_id, result, "interrupted" if result.interrupted else "complete",
                                   self.positions, assets)
            if trend:
                result = result.model_copy(update={
                    "history": self.store.trend(result.site, until=self.scan_id, limit=TREND_DEPTH)})
        except Exception as exc:
            log.error("could not finish scan %s in the history store: %s", self.scan_id, exc)
            self.errors.append(f"scan {self.scan_id}: {exc}")
        return result

    def abandon(self) -> None:
        """Mark the scan interrupted when nothing more can be saved (a second Ctrl-C)."""
        if self.scan_id is not None:
            try:
                self.store.mark(self.scan_id, "interrupted")
            except Exception:  # pragma: no cover - best effort on the way out
                log.debug("could not mark scan %s interrupted", self.scan_id, exc_info=True)

    def drift_since_previous(self, result: ScanResult) -> ScanDrift | None:
        """Drift from the site's previous finished scan to this one (None if this is the first)."""
        if self.scan_id is None:
            return None
        try:
            previous = [s for s in self.store.scans(site=result.site, limit=10)
                        if s["id"] != self.scan_id and s["status"] != "running"
                        and self.started_at is not None and s["started_at"] <= self.started_at]
            if not previous:
                return None
            before = previous[0]["id"]
            return diff(self.store.load_result(before), result, self.store.snapshots(before),
                        self.store.snapshots(self.scan_id))
        except (StoreError, Exception) as exc:  # drift is extra information; never fail the scan for it
            log.warning("no drift computed: %s", exc)
            return None
