"""The scan engine: collect evidence from every asset concurrently, then evaluate it offline.

Concurrency is bounded (``concurrency`` assets at a time, and the inventory's per-zone and
per-protocol ``limits``); each asset has its own timeout, and an asset that reaches it keeps what was
read before (``partial``, with the timeout as its error, the real start and end times); a failing
asset is recorded as ``error`` with its reason while the others go on; cancellation (Ctrl-C) keeps
every asset already finished and marks the rest ``skipped``. An optional admission gate (maintenance windows, see
:mod:`auditor.plant.windows`) may decline to start an asset, which is then recorded ``skipped`` with the
reason; an optional ``on_finished`` hook sees every finished asset at once (the history store commits
it there, so an interrupted scan keeps what was finished).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

from auditor import __version__
from auditor.assessment.attestations import AnswerBook, outcomes as attestation_outcomes
from auditor.assessment.evaluate import collection_outcome, evaluate_asset
from auditor.assessment.risk import rank_asset
from auditor.batching import fork_workers, forked_map, no_cyclic_gc
from auditor.evidence import AssetEvidence, EvidenceBundle, EvidenceRequest, number_items
from auditor.plant.inventory import Asset, Inventory, Limits
from auditor.plant.planning import AssetPlan
from auditor.registry import REGISTRY, Registry, serves
from auditor.results import AssetResult, ConduitResult, ScanResult, Summary
from connectors import ConnectorError, ScanOptions, connector_class

log = logging.getLogger(__name__)

TOOL = {"name": "iacs-auditor", "version": __version__}
Progress = Callable[[str, str, str], None]  # (event, asset id, detail): start | done | error | skipped
Admit = Callable[[str], Any]  # asset id -> None (start it) or an object with .reason and .kind (skip it)
OnFinished = Callable[[AssetPlan, AssetEvidence], "None | Awaitable[None]"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


class RateLimiter:
    """At most ``rate`` starts per second (evenly spaced), shared by every task that uses it."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class Politeness:
    """Semaphores and rate limiters from the inventory's ``limits`` (scan-wide and per zone)."""

    def __init__(self, inventory: Inventory | None = None):
        self._zone_assets: dict[str, asyncio.Semaphore] = {}
        self._protocol: dict[tuple[str | None, str], tuple[asyncio.Semaphore | None, RateLimiter | None]] = {}
        self.global_concurrency: int | None = None
        if inventory is None:
            return
        if inventory.limits is not None:
            self.global_concurrency = inventory.limits.concurrency
            self._add_protocols(None, inventory.limits)
        for zone in inventory.zones:
            if zone.limits is None:
                continue
            if zone.limits.concurrency:
                self._zone_assets[zone.id] = asyncio.Semaphore(zone.limits.concurrency)
            self._add_protocols(zone.id, zone.limits)

    def _add_protocols(self, zone: str | None, limits: Limits) -> None:
        for protocol, limit in limits.protocols.items():
            self._protocol[(zone, protocol)] = (
                asyncio.Semaphore(limit.concurrency) if limit.concurrency else None,
                RateLimiter(limit.connection_rate) if limit.connection_rate else None)

    @contextlib.asynccontextmanager
    async def asset(self, asset: Asset) -> AsyncIterator[None]:
        semaphore = self._zone_assets.get(asset.zone or "")
        if semaphore is None:
            yield
            return
        async with semaphore:
            yield

    @contextlib.asynccontextmanager
    async def slots(self, asset: Asset, protocols: list[str]) -> AsyncIterator[None]:
        """Hold the per-protocol "endpoints at once" slots of every protocol the asset will be read over.

        Taken before the scan-wide slot and held for the whole asset: an asset waiting for, say, one of the switches'
        slots then holds nothing the hosts and PLCs behind it need (in a mixed plant the scan otherwise went one kind
        of device after another). Every asset takes its slots in the same order (protocol, then scan-wide before zone
        scope, then the scan-wide slot last), so no two assets can wait for each other.
        """
        async with contextlib.AsyncExitStack() as stack:
            for protocol in sorted(set(protocols)):
                for scope in (None, asset.zone):
                    semaphore, _limiter = self._protocol.get((scope, protocol), (None, None))
                    if semaphore is not None:
                        await stack.enter_async_context(semaphore)
            yield

    async def connection(self, asset: Asset, protocol: str) -> None:
        """Wait for the protocol's new-connections-per-second limits (scan-wide, then the asset's zone)."""
        for scope in (None, asset.zone):
            _semaphore, limiter = self._protocol.get((scope, protocol), (None, None))
            if limiter is not None:
                await limiter.wait()


@dataclass
class EngineSettings:
    concurrency: int = 8
    asset_timeout: float = 300.0
    admit: Admit | None = None
    on_finished: OnFinished | None = None
    politeness: Politeness | None = field(default=None, repr=False)


def needed_reads(plan: AssetPlan, registry: Registry = REGISTRY
                 ) -> list[tuple[str, Any, list[EvidenceRequest]]]:
    """``(protocol, endpoint, requests)`` per protocol: the reads the asset's selected checks need, and the
    endpoint that serves them (the asset's first of that protocol). The scan and its ``--plan`` both use it.
    A host whose inventory names its platform gets only that platform's reads; otherwise the SSH connector
    learns it from the server and runs only those."""
    declared = getattr(plan.asset, "platform", None)
    needed = registry.requests_for([spec for spec in plan.profile.checks_for(plan.asset, registry)
                                    if not declared or not registry.platforms_of(spec)
                                    or declared in registry.platforms_of(spec)])
    # checks_for() kept only checks whose facts some endpoint can feed; each read goes to the asset's first endpoint
    # that serves it (a Windows section: ssh or winrm, whichever the inventory lists first); a read no endpoint serves
    # (the other transport's session record) is not sent
    routed: dict[str, tuple[Any, dict[str, EvidenceRequest]]] = {}
    for requests in needed.values():
        for request in requests:
            endpoint = next((e for e in plan.asset.endpoints if serves(e.protocol, request)), None)
            if endpoint is not None:
                routed.setdefault(endpoint.protocol, (endpoint, {}))[1].setdefault(request.key, request)
    return [(protocol, endpoint, list(requests.values())) for protocol, (endpoint, requests) in routed.items()]


async def collect_asset(plan: AssetPlan, options: ScanOptions, registry: Registry = REGISTRY,
                        politeness: Politeness | None = None, evidence: AssetEvidence | None = None,
                        needed: list[tuple[str, Any, list[EvidenceRequest]]] | None = None) -> AssetEvidence:
    """Open each needed endpoint once and perform every read the selected checks need.

    Items land in ``evidence`` (a new one if not given) as each endpoint finishes, and, when the
    collection is cancelled (the asset timeout), what the current connector had read so far too: the
    caller that passed ``evidence`` keeps them. With ``politeness``, the caller holds the asset's protocol
    slots (:meth:`Politeness.slots`); each connection still waits for its protocol's connection rate.
    """
    asset = plan.asset
    evidence = evidence if evidence is not None else AssetEvidence(asset=asset.id)
    evidence.started_at = evidence.started_at or _now()
    needed = needed_reads(plan, registry) if needed is None else needed
    reached = 0
    for protocol, endpoint, requests in needed:
        connector = None
        if protocol in plan.refused:  # the plant's conduits do not let this protocol through: nothing is sent
            evidence.endpoint_errors.append(f"{protocol}://{asset.address}:{endpoint.port}: not read: "
                                            f"{plan.refused[protocol]}")
            continue
        try:
            connector = connector_class(protocol)(asset, endpoint, options)
            if politeness is not None:
                await politeness.connection(asset, protocol)
            evidence.items.extend(await connector.collect(requests))
            reached += 1
        except asyncio.CancelledError:
            if connector is not None:
                evidence.items.extend(connector.collected)
            raise
        except ConnectorError as exc:
            # keep what was read before the failure (e.g. the wire facts of a host whose key was refused)
            evidence.items.extend(exc.partial_items)
            where = connector.label if connector is not None else f"{protocol}://{asset.address}:{endpoint.port}"
            evidence.endpoint_errors.append(f"{where}: {exc}")
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
    politeness = settings.politeness or Politeness()
    limit = min(settings.concurrency, politeness.global_concurrency or settings.concurrency)
    semaphore = asyncio.Semaphore(limit)
    results: dict[str, AssetEvidence] = {}
    notify = progress or (lambda *_: None)

    async def finished(plan: AssetPlan, evidence: AssetEvidence) -> None:
        results[plan.asset.id] = evidence
        if settings.on_finished is not None:
            outcome = settings.on_finished(plan, evidence)
            if inspect.isawaitable(outcome):
                await outcome

    async def one(plan: AssetPlan) -> None:
        try:
            needed: list[tuple[str, Any, list[EvidenceRequest]]] | None = needed_reads(plan, registry)
        except Exception:  # collect_asset asks again, where a broken asset is recorded as an error
            needed = None
        protocols = [protocol for protocol, _endpoint, _requests in needed or () if protocol not in plan.refused]
        async with politeness.asset(plan.asset), politeness.slots(plan.asset, protocols), semaphore:
            decision = settings.admit(plan.asset.id) if settings.admit is not None else None
            if decision is not None:
                notify("skipped", plan.asset.id, decision.reason)
                results[plan.asset.id] = AssetEvidence(asset=plan.asset.id, status="skipped", error=decision.reason,
                                                       skipped_because=decision.kind)
                return
            notify("start", plan.asset.id, plan.asset.address)
            started = time.monotonic()
            evidence = AssetEvidence(asset=plan.asset.id, started_at=_now())
            try:
                evidence = await asyncio.wait_for(collect_asset(plan, options, registry, politeness, evidence, needed),
                                                  settings.asset_timeout)
            except TimeoutError:
                cut_short(evidence, f"timed out after {settings.asset_timeout:g} s")
            except Exception as exc:  # one broken target never stops the scan
                log.exception("collection from %s failed", plan.asset.id)
                evidence = AssetEvidence(asset=plan.asset.id, status="error", started_at=_now(), finished_at=_now(),
                                         error=f"unexpected failure: {exc!r}")
            observe = getattr(settings.admit, "observe", None)
            if observe is not None:
                observe(plan.asset.id, time.monotonic() - started)
            await finished(plan, evidence)
            event = "error" if collection_outcome(evidence) == "error" else "done"
            notify(event, plan.asset.id, evidence.error or f"{len(evidence.items)} items in {time.monotonic() - started:.2f} s")

    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=max(4, limit), thread_name_prefix="iacs-io")
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
    finally:
        _release_idle({endpoint.protocol for plan in plans for endpoint in plan.asset.endpoints})
    ordered = []
    for plan in plans:
        if plan.asset.id in results:
            ordered.append(results[plan.asset.id])
        else:
            notify("skipped", plan.asset.id, "interrupted before it finished")
            ordered.append(AssetEvidence(asset=plan.asset.id, status="skipped", skipped_because="interrupted",
                                         error="scan interrupted before this asset finished"))
    return ordered, interrupted


def _release_idle(protocols: set[str]) -> None:
    """Let each protocol's connector close what it kept between endpoints (never fails the scan)."""
    for protocol in sorted(protocols):
        try:
            connector_class(protocol).release_idle()
        except Exception:  # an uninstalled protocol was already reported per asset; cleanup is best effort
            log.debug("releasing %s connections failed", protocol, exc_info=True)


def cut_short(evidence: AssetEvidence, reason: str) -> None:
    """An asset whose collection was stopped (the asset timeout): keep what was read, say why it stopped.

    With items it is ``partial``: scored on what was read (a check whose evidence is missing errs) and still
    counted as not assessed; without any it is ``error``.
    """
    number_items(evidence.asset, evidence.items)
    evidence.finished_at = _now()
    evidence.status = "partial" if evidence.items else "error"
    evidence.error = f"{reason}; {len(evidence.items)} evidence items were read before" if evidence.items else reason


def bundle_of(inventory: Inventory, evidence: list[AssetEvidence], started: datetime) -> EvidenceBundle:
    return EvidenceBundle(tool=TOOL, started_at=started, finished_at=_now(), inventory=inventory, assets=evidence)


def score_asset(plan: AssetPlan, evidence: AssetEvidence | None, registry: Registry = REGISTRY,
                waivers: Any = None, as_of: date | None = None, answers: AnswerBook | None = None) -> AssetResult:
    """One asset's result: evaluation with the answers (if any), then waivers (if any), then the risk of each
    finding. Pure."""
    evidence = evidence or AssetEvidence(asset=plan.asset.id, status="skipped", skipped_because="no_evidence",
                                         error="no evidence for this asset in the bundle")
    result = evaluate_asset(plan.asset, evidence, plan.profile, plan.sl_target, registry, answers, as_of)
    if waivers:
        result = waivers.apply(result, plan.asset, as_of or date.today())
    return rank_asset(result, plan.asset.criticality, plan.exposure)


def score(bundle: EvidenceBundle, plans: list[AssetPlan], selection: str, *, interrupted: bool = False,
          registry: Registry = REGISTRY, waivers: Any = None, as_of: date | None = None,
          answers: AnswerBook | None = None) -> ScanResult:
    """Evaluate every asset of a bundle against its plan (pure; used by scan and rescore alike).

    ``waivers`` (an :class:`auditor.assessment.waivers.WaiverSet`) and ``answers`` (an answers file) are judged as of
    ``as_of`` (default today).
    """
    as_of = as_of or date.today()
    if waivers:
        waivers.reset()
    with no_cyclic_gc():
        assets = _score_plans(bundle, plans, registry, waivers, as_of, answers)
    profiles = {p.profile.basis for p in plans}
    return ScanResult(
        tool=TOOL, site=bundle.inventory.site, started_at=bundle.started_at, finished_at=bundle.finished_at,
        profile=selection, basis=profiles.pop() if len(profiles) == 1 else "component",
        evidence_manifest_sha256=bundle.manifest_sha256, interrupted=interrupted,
        summary=summarize(assets), assets=assets, waivers=waivers.outcomes(as_of) if waivers else [],
        attestations=attestation_outcomes(answers, assets, as_of) if answers else [],
        attestations_source=answers.source if answers else None,
        conduits=conduit_results(bundle.inventory), scanner_zone=bundle.inventory.scanner_zone)


#: assets from which scoring is spread over the CPUs (forking and sending results back cost about 0.1 s)
PARALLEL_SCORING_MIN = 100


def _score_plans(bundle: EvidenceBundle, plans: list[AssetPlan], registry: Registry, waivers: Any, as_of: date,
                 answers: AnswerBook | None) -> list[AssetResult]:
    """Every plan's result, in plan order. From :data:`PARALLEL_SCORING_MIN` assets on, forked workers score
    beside this process (they inherit the evidence; only results travel back). Each share of the plant records
    what the waivers did in its own copy of the waiver set, merged here, so it makes no difference where an
    asset was scored."""
    by_id = {e.asset: e for e in bundle.assets}

    def score_share(indexes: list[int]) -> tuple[list[AssetResult], Any]:
        book = waivers.blank() if waivers else None
        return [score_asset(plans[i], by_id.get(plans[i].asset.id), registry, book, as_of, answers)
                for i in indexes], book

    workers = fork_workers() if len(plans) >= PARALLEL_SCORING_MIN else 1
    done = None
    if workers > 1:
        count = workers * 8  # interleaved shares, several per process: neighbouring assets are often of one kind
        shares = [list(range(start, len(plans), count)) for start in range(count)]
        done = forked_map(score_share, shares, workers)
    if done is None:
        shares = [list(range(len(plans)))]
        done = [score_share(shares[0])]
    ordered: list[AssetResult | None] = [None] * len(plans)
    for indexes, (results, book) in zip(shares, done):
        for index, result in zip(indexes, results):
            ordered[index] = result
        if book is not None:
            waivers.merge(book)
    return ordered  # type: ignore[return-value]  # every index is in exactly one share


def conduit_results(inventory: Inventory) -> list[ConduitResult]:
    """The inventory's conduits for the report, each marked when the scan read through it."""
    crossed = {inventory.conduit_for(asset, endpoint.protocol) for asset in inventory.assets
               for endpoint in asset.endpoints}
    return [ConduitResult(id=c.id, zones=list(c.zones), protocols=list(c.protocols), description=c.description,
                          scanned_across=c.id in crossed) for c in inventory.conduits]


def summarize(assets: list[AssetResult]) -> Summary:
    counts: dict[str, int] = {}
    for asset in assets:
        for result in asset.results:
            counts[result.status] = counts.get(result.status, 0) + 1
    assessed = [a for a in assets if a.status == "assessed"]
    return Summary(assets=len(assets), assessed=len(assessed), errors=sum(a.status == "error" for a in assets),
                   meeting_target=sum(a.meets_target for a in assets), checks_by_status=counts,
                   skipped=sum(a.status == "skipped" for a in assets),
                   technical_findings=sum(bool(a.technical and a.technical.unmet) for a in assessed),
                   open_rows=sum(len(a.technical.open) for a in assessed if a.technical))


def run_sync(coroutine: Awaitable[Any]) -> Any:
    """``asyncio.run`` for a coroutine that returns a plant's worth of evidence or results.

    Python 3.11's ``asyncio.run`` formats its main task, result included, twice as it puts the SIGINT handler
    back (``signal.getsignal`` fails to turn the ``functools.partial`` it installed into an enum, and the error
    message is built with ``%r``): for 1,000 assets, seconds of ``repr``. The task run here returns nothing;
    the result is handed over beside it.
    """
    box: list[Any] = []

    async def keep() -> None:
        box.append(await coroutine)

    asyncio.run(keep())
    return box[0]


async def scan(inventory: Inventory, plans: list[AssetPlan], selection: str, options: ScanOptions,
               settings: EngineSettings, progress: Progress | None = None,
               registry: Registry = REGISTRY, waivers: Any = None,
               answers: AnswerBook | None = None) -> tuple[EvidenceBundle, ScanResult]:
    started = _now()
    if settings.politeness is None:
        settings.politeness = Politeness(inventory)
    evidence, interrupted = await collect(plans, options, settings, progress, registry)
    bundle = bundle_of(inventory, evidence, started)
    return bundle, score(bundle, plans, selection, interrupted=interrupted, registry=registry, waivers=waivers,
                         answers=answers)
