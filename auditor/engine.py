"""The scan engine: collect evidence from every asset concurrently, then evaluate it offline.

Concurrency is bounded (``concurrency`` assets at a time); each asset has its own timeout; a failing
asset is recorded as ``error`` with its reason while the others go on; cancellation (Ctrl-C) keeps
every asset already finished and marks the rest ``skipped``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from auditor import __version__
from auditor.evidence import AssetEvidence, EvidenceBundle, number_items
from auditor.evaluate import evaluate_asset
from auditor.inventory import Inventory
from auditor.planning import AssetPlan
from auditor.registry import REGISTRY, Registry
from auditor.results import ScanResult, Summary
from connectors import ConnectorError, ScanOptions, connector_class

log = logging.getLogger(__name__)

TOOL = {"name": "iacs-auditor", "version": __version__}
Progress = Callable[[str, str, str], None]  # (event, asset id, detail): start | done | error | skipped


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class EngineSettings:
    concurrency: int = 8
    asset_timeout: float = 300.0


async def collect_asset(plan: AssetPlan, options: ScanOptions, registry: Registry = REGISTRY) -> AssetEvidence:
    """Open each needed endpoint once and perform every read the selected checks need."""
    asset = plan.asset
    evidence = AssetEvidence(asset=asset.id, started_at=_now())
    needed = registry.requests_for(plan.profile.selected_checks(registry))
    reached = 0
    for protocol, requests in needed.items():
        endpoints = asset.endpoints_for(protocol)
        if not endpoints:
            evidence.endpoint_errors.append(
                f"no {protocol} endpoint in the inventory; checks that need {protocol} evidence cannot be judged")
            continue
        endpoint = endpoints[0]
        try:
            connector = connector_class(protocol)(asset, endpoint, options)
            evidence.items.extend(await connector.collect(requests))
            reached += 1
        except ConnectorError as exc:
            # keep what was read before the failure (e.g. the wire facts of a host whose key was refused)
            evidence.items.extend(getattr(exc, "partial_items", None) or [])
            evidence.endpoint_errors.append(f"{protocol}://{asset.address}:{endpoint.port}: {exc}")
    number_items(asset.id, evidence.items)
    evidence.finished_at = _now()
    if needed and reached == 0:
        evidence.status, evidence.error = "error", "; ".join(evidence.endpoint_errors) or "no endpoint reached"
    elif evidence.endpoint_errors:
        evidence.status = "partial"
    return evidence


async def collect(plans: list[AssetPlan], options: ScanOptions, settings: EngineSettings,
                  progress: Progress | None = None, registry: Registry = REGISTRY) -> tuple[list[AssetEvidence], bool]:
    """Collect every asset with bounded concurrency; returns the evidence and whether it was interrupted."""
    registry.load()
    semaphore = asyncio.Semaphore(settings.concurrency)
    results: dict[str, AssetEvidence] = {}
    notify = progress or (lambda *_: None)

    async def one(plan: AssetPlan) -> None:
        async with semaphore:
            notify("start", plan.asset.id, plan.asset.address)
            started = time.monotonic()
            try:
                evidence = await asyncio.wait_for(collect_asset(plan, options, registry), settings.asset_timeout)
            except TimeoutError:
                evidence = AssetEvidence(asset=plan.asset.id, status="error", started_at=_now(), finished_at=_now(),
                                         error=f"timed out after {settings.asset_timeout:g} s")
            except Exception as exc:  # one broken target never stops the scan
                log.exception("collection from %s failed", plan.asset.id)
                evidence = AssetEvidence(asset=plan.asset.id, status="error", started_at=_now(), finished_at=_now(),
                                         error=f"unexpected failure: {exc!r}")
            results[plan.asset.id] = evidence
            event = "error" if evidence.status == "error" else "done"
            notify(event, plan.asset.id, evidence.error or f"{len(evidence.items)} items in {time.monotonic() - started:.2f} s")

    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=max(4, settings.concurrency), thread_name_prefix="iacs-io")
    loop.set_default_executor(executor)  # blocking libraries (paramiko) run here, bounded
    tasks = [asyncio.create_task(one(plan)) for plan in plans]
    interrupted = False
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        interrupted = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    ordered = []
    for plan in plans:
        if plan.asset.id in results:
            ordered.append(results[plan.asset.id])
        else:
            notify("skipped", plan.asset.id, "interrupted before it finished")
            ordered.append(AssetEvidence(asset=plan.asset.id, status="skipped", error="scan interrupted before this asset finished"))
    return ordered, interrupted


def bundle_of(inventory: Inventory, evidence: list[AssetEvidence], started: datetime) -> EvidenceBundle:
    return EvidenceBundle(tool=TOOL, started_at=started, finished_at=_now(), inventory=inventory, assets=evidence)


def score(bundle: EvidenceBundle, plans: list[AssetPlan], selection: str, *, interrupted: bool = False,
          registry: Registry = REGISTRY) -> ScanResult:
    """Evaluate every asset of a bundle against its plan (pure; used by scan and rescore alike)."""
    by_id = {e.asset: e for e in bundle.assets}
    assets = []
    for plan in plans:
        evidence = by_id.get(plan.asset.id) or AssetEvidence(
            asset=plan.asset.id, status="skipped", error="no evidence for this asset in the bundle")
        assets.append(evaluate_asset(plan.asset, evidence, plan.profile, plan.sl_target, registry))
    counts: dict[str, int] = {}
    for asset in assets:
        for result in asset.results:
            counts[result.status] = counts.get(result.status, 0) + 1
    profiles = {p.profile.basis for p in plans}
    return ScanResult(
        tool=TOOL, site=bundle.inventory.site, started_at=bundle.started_at, finished_at=bundle.finished_at,
        profile=selection, basis=profiles.pop() if len(profiles) == 1 else "component",
        evidence_manifest_sha256=bundle.manifest_sha256, interrupted=interrupted,
        summary=Summary(assets=len(assets), assessed=sum(a.status == "assessed" for a in assets),
                        errors=sum(a.status == "error" for a in assets),
                        meeting_target=sum(a.meets_target for a in assets), checks_by_status=counts),
        assets=assets)


async def scan(inventory: Inventory, plans: list[AssetPlan], selection: str, options: ScanOptions,
               settings: EngineSettings, progress: Progress | None = None,
               registry: Registry = REGISTRY) -> tuple[EvidenceBundle, ScanResult]:
    started = _now()
    evidence, interrupted = await collect(plans, options, settings, progress, registry)
    bundle = bundle_of(inventory, evidence, started)
    return bundle, score(bundle, plans, selection, interrupted=interrupted, registry=registry)
