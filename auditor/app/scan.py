"""The scan as an application service: what the CLI, the scheduler's runs and the tests call.

One function, :func:`run_scan`, does the whole use case in order: check the inventory's secret references,
plan each asset (profile, SL-T), load waivers and answers, open the history store (and resume), gate by
maintenance windows, collect evidence concurrently (Ctrl-C keeps what finished), score, record, write the
reports and forward to a SIEM. It prints nothing: it reports through :class:`ScanEvents` callbacks and
returns a :class:`ScanOutcome`, so every front end decides how to show it.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from auditor.errors import ConfigError
from auditor.evidence import EvidenceBundle
from auditor.plant.inventory import Inventory
from auditor.results import ScanResult
from reports import DEFAULT_SCAN_FORMATS, default_name, write_report


@dataclass
class ScanRequest:
    """Everything a scan needs besides the connectors' options: what, against which target, and extras."""

    inventory: Inventory
    source: str                       # the inventory file or ad-hoc URL, for error messages
    out: Path
    profile: str | None = None
    sl: int | None = None
    concurrency: int = 8
    asset_timeout: float = 300
    formats: tuple[str, ...] = DEFAULT_SCAN_FORMATS
    store: str | None = None          # history store URL or path (None: not recorded)
    waivers: Path | None = None
    attestations: Path | None = None  # answers file
    window_end: datetime | None = None
    ignore_windows: bool = False
    resume: bool = False
    siem: str | None = None
    # a distributed scan (auditor.distributed.dispatch.Distribution): site scanners collect, this process scores
    distribution: Any = None


@dataclass
class ScanEvents:
    """Callbacks for what a front end may want to show while a scan runs (all optional)."""

    progress: Callable[[str, str, str], None] | None = None   # (event, asset, detail) from the engine
    warning: Callable[[str], None] = lambda message: None
    info: Callable[[str], None] = lambda message: None
    progress_factory: Callable[[int], Any] | None = None      # total -> context manager that is the progress


@dataclass
class ScanOutcome:
    result: ScanResult
    bundle: EvidenceBundle
    written: list[Path]
    scan_id: int | None = None
    store_url: str | None = None
    store_errors: list[str] = field(default_factory=list)
    siem_error: str | None = None


class ScanAbandoned(Exception):
    """A second Ctrl-C while finishing: nothing more could be saved."""


def load_answers_file(path: Path | None, warn: Callable[[str], None] = lambda message: None):
    """The answers file, validated (ConfigError, exit 2, on problems); expired entries are loaded and reported."""
    if path is None:
        return None
    from auditor.assessment.attestations import load_answers

    book = load_answers(path)
    if book.expired:
        warn(f"{path}: {len(book.expired)} expired entries no longer count: " + ", ".join(book.expired))
    return book


def write_outputs(out: Path, result: ScanResult, bundle: EvidenceBundle,
                  formats: tuple[str, ...] = DEFAULT_SCAN_FORMATS, *, bundle_file: Path | None = None) -> list[Path]:
    """evidence.json always (it is what a rescore reads), then one file per requested report format.

    ``bundle_file``: the verified file ``bundle`` was read from (a rescore); it is copied as it is, byte for
    byte, rather than written again.
    """
    from auditor.batching import no_cyclic_gc
    from reports.json_report import copy_evidence, write_evidence

    out.mkdir(parents=True, exist_ok=True)
    target = out / "evidence.json"
    written = [copy_evidence(bundle_file, target) if bundle_file is not None else write_evidence(bundle, target)]
    with no_cyclic_gc():  # a plant's reports build millions of short-lived objects (see auditor.batching)
        for fmt in formats:
            written.append(write_report(result, fmt, out / default_name(fmt), bundle))
    return written


def run_scan(request: ScanRequest, options: Any, events: ScanEvents | None = None) -> ScanOutcome:
    """Run one scan to the end (see the module docstring). Raises ConfigError (exit 2) before any packet for
    bad configuration, and ScanAbandoned on a second interruption."""
    from auditor.engine import EngineSettings, Politeness, bundle_of, collect, score
    from auditor.plant.planning import plan_assets, selection_label
    from auditor.plant.secrets import check_references
    from connectors.ssh.credentials import check_ssh_credentials
    from auditor.plant.windows import WindowGate

    events = events or ScanEvents()
    inventory = request.inventory
    distributed = request.distribution is not None
    if not distributed:  # a distributed scan's secrets are resolved by the workers, each from its own host
        check_references(request.source, inventory.assets)
    plans = plan_assets(inventory, profile=request.profile, sl=request.sl)
    if distributed:
        from auditor.distributed.dispatch import check_routing

        check_routing(request.source, inventory, plans)
        if request.store is None:
            raise ConfigError.single(request.source, "--db", "a distributed scan needs the central store that its "
                                                             "workers write to (--db URL)")
    selection = selection_label(request.profile, request.sl)
    waivers = None
    if request.waivers is not None:
        from auditor.assessment.waivers import load_waivers

        waivers = load_waivers(request.waivers)
    answers = load_answers_file(request.attestations, events.warning)
    # credentials (agent, key files, passphrases) and ssh_config/jump hosts of every SSH endpoint: exit 2 before
    # the first connection, naming the asset, the endpoint and the fix
    if not distributed:
        check_ssh_credentials(request.source, [plan.asset for plan in plans], options,
                              ask=getattr(options, "ask_passphrase", None))
    store, recorder, done = None, None, {}
    started = datetime.now(timezone.utc)
    if request.store is not None:
        from auditor.store import StoreError, display, open_store
        from auditor.store.recorder import ScanRecorder

        try:
            store = open_store(request.store)
            recorder = ScanRecorder(store, inventory, plans, selection, waivers=waivers, answers=answers)
            done = recorder.begin(started, resume=request.resume)
        except StoreError as exc:
            if store is not None:
                store.close()
            raise ConfigError.single(display(request.store), "--db", str(exc)) from None
        started = recorder.started_at or started
        if recorder.resumed:
            events.info(f"resuming scan {recorder.scan_id}: {len(done)} of {len(plans)} assets already finished")
    try:
        windows = {} if request.ignore_windows else {p.asset.id: inventory.windows_for(p.asset) for p in plans}
        gate = WindowGate(windows, window_end=request.window_end,
                          estimates=store.estimates([p.asset.id for p in plans], inventory.site) if store else None)
        settings = EngineSettings(concurrency=request.concurrency, asset_timeout=request.asset_timeout,
                                  admit=gate if gate.active else None,
                                  on_finished=recorder.on_finished if recorder else None,
                                  politeness=Politeness(inventory))
        todo = [plan for plan in plans if plan.asset.id not in done]

        def collection(progress: Any):
            if not distributed:
                return collect(todo, options, settings, progress)
            return _dispatch(request, options, store, recorder.scan_id, todo, progress, events.warning)

        if events.progress_factory is not None:
            with events.progress_factory(len(todo)) as progress:
                collected_outcome = run_until_interrupted(collection(progress))
        else:
            collected_outcome = run_until_interrupted(collection(events.progress))
        if collected_outcome is None:
            if recorder:
                recorder.abandon()
            raise ScanAbandoned()
        collected, interrupted = collected_outcome
        by_id = {**done, **{evidence.asset: evidence for evidence in collected}}
        bundle = bundle_of(inventory, [by_id[p.asset.id] for p in plans if p.asset.id in by_id], started)
        result = score(bundle, plans, selection, interrupted=interrupted, waivers=waivers, answers=answers)
        drift = None
        if recorder:
            result = recorder.finish(result)
            drift = recorder.drift_since_previous(result) if request.siem else None
        written = write_outputs(request.out, result, bundle, request.formats)
        outcome = ScanOutcome(result=result, bundle=bundle, written=written,
                              scan_id=recorder.scan_id if recorder else None,
                              store_url=store.display_url if store else None,
                              store_errors=list(recorder.errors) if recorder else [])
        if request.siem:
            from auditor.operations.siem import emit, events as siem_events

            try:
                emit(request.siem, siem_events(result, drift))
            except OSError as exc:
                outcome.siem_error = f"could not forward to {request.siem}: {exc}"
        return outcome
    finally:
        if store:
            store.close()


def _dispatch(request: ScanRequest, options: Any, store: Any, scan_id: int, todo: list, progress: Any,
              warn: Callable[[str], None]):
    """Send the zones' messages to their scanner queues and follow the store until every asset is in."""
    from auditor.distributed.dispatch import follow, messages, queue_of, send

    distribution = request.distribution
    before = store.recorded_assets(scan_id)
    if todo:
        try:
            send(distribution, messages(request, options, todo, scan_id, store.scan_row(scan_id)["uuid"]))
        except ConfigError:  # the broker is unreachable: nothing went out; --resume takes the scan up later
            store.mark(scan_id, "interrupted")
            raise

    def waiting(assets: list[str]) -> None:
        queues = sorted({queue_of(request.inventory, plan) or "?" for plan in todo if plan.asset.id in assets})
        warn(f"{len(assets)} assets not in yet ({', '.join(assets[:5])}{', ...' if len(assets) > 5 else ''}); "
             f"is a worker serving {', '.join(queues)}? (Ctrl-C ends the scan as interrupted; --resume continues it)")

    return follow(store, scan_id, todo, before, distribution.poll_seconds, progress or (lambda *_: None), waiting)


def run_until_interrupted(coroutine):
    """Run the scan; the first Ctrl-C cancels it, and the engine then returns what was finished.

    The loop is closed without waiting for its I/O threads: a thread blocked on a hung device must not
    hold the technician's terminal after Ctrl-C. Returns None after a second interruption.
    """
    loop = asyncio.new_event_loop()
    task = loop.create_task(coroutine)
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        loop.add_signal_handler(signal.SIGTERM, task.cancel)  # systemd stopping a scheduled scan
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests) or no signal support
        pass
    try:
        return loop.run_until_complete(task)
    except (asyncio.CancelledError, KeyboardInterrupt):
        return None
    finally:
        loop.close()
