"""What a site scanner does with one zone's message: check it, then collect the zone as a local scan would.

A message is one zone's collection (see :mod:`auditor.distributed`): the engine runs the zone with the
inventory's politeness limits, the maintenance windows judged on this host's clock and time zone (the site's),
and the secrets resolved here (``*_env``/``*_file`` of this host). Every finished asset is committed to the
store at once; assets the store already holds for this scan are not read again, so a redelivered message
(its first worker lost) continues where the first stopped, and a second delivery of it waits for the lease
of the first rather than scanning the same devices in parallel. A message is taken at most twice: after a
second loss the zone's remaining assets are recorded as errors, never retried without end.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from auditor.distributed.app import TASK_NAME

log = logging.getLogger(__name__)
MAX_DELIVERIES = 2      # the first delivery and one retry after a lost worker
LEASE_SECONDS = 30.0    # default lease; a live worker renews it every third of this


class Refused(Exception):
    """A message this worker will not act on (wrong task, queue, scan or expired)."""


@dataclass
class WorkerContext:
    """What the ``worker`` command hands to the task (set in the parent; the pool processes inherit it)."""

    queues: list[str]
    store: str
    broker: str
    lease_seconds: float = LEASE_SECONDS
    broker_ca: str | None = None
    name: str = field(default_factory=lambda: f"scanner-{uuid.uuid4().hex[:8]}")


CONTEXT: WorkerContext | None = None

OPTION_FIELDS = ("trust_on_first_use", "known_hosts", "use_sudo", "command_timeout", "ssh_key_file", "ssh_config",
                 "use_agent", "key_passphrase_env", "sudo_password_env", "probe_default_communities")


def options_to_message(options: Any) -> dict[str, Any]:
    """The scan-wide connector options a message carries: flags and references, never a secret value
    (paths and variable names are read on the worker)."""
    data = {name: getattr(options, name) for name in OPTION_FIELDS}
    data["known_hosts"] = str(data["known_hosts"]) if data["known_hosts"] else None
    return data


def options_from_message(data: dict[str, Any]) -> Any:
    from connectors import ScanOptions

    values = {name: data[name] for name in OPTION_FIELDS if name in data}
    if values.get("known_hosts"):
        values["known_hosts"] = Path(values["known_hosts"])
    return ScanOptions(**values)


class _Redis:
    """The broker's Redis, for the delivery counter and the lease (other brokers: neither; see the README)."""

    def __init__(self, url: str, ca: str | None = None):
        self.client = None
        if url.startswith(("redis://", "rediss://")):
            import redis

            tls = {"ssl_cert_reqs": "required", "ssl_ca_certs": ca} if ca and url.startswith("rediss://") else {}
            self.client = redis.Redis.from_url(url, **tls)

    def deliveries(self, key: str) -> int:
        if self.client is None:
            return 1
        count = int(self.client.incr(f"iacs:deliveries:{key}"))
        self.client.expire(f"iacs:deliveries:{key}", 7 * 86400)
        return count

    def lease(self, key: str, holder: str, seconds: float) -> "_Lease":
        return _Lease(self.client, f"iacs:lease:{key}", holder, seconds)


class _Lease:
    """At most one live worker per zone message: taken with SET NX, renewed by a thread, gone with its worker."""

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, client: Any, key: str, holder: str, seconds: float):
        self.client, self.key, self.holder, self.ms = client, key, holder, int(seconds * 1000)
        self._stop = threading.Event()

    def __enter__(self) -> "_Lease":
        if self.client is None:
            return self
        waited = False
        while not self.client.set(self.key, self.holder, nx=True, px=self.ms):
            if not waited:
                log.warning("another worker still holds %s; waiting for it to finish or to be lost", self.key)
                waited = True
            time.sleep(1)
        threading.Thread(target=self._renew, daemon=True, name="iacs-lease").start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.ms / 3000):
            try:
                self.client.set(self.key, self.holder, xx=True, px=self.ms)
            except Exception:  # the broker is away: the lease runs out, as it should for a cut-off worker
                log.warning("could not renew %s", self.key, exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.client is not None:
            self.client.eval(self._RELEASE, 1, self.key, self.holder)


def preload() -> None:
    """Import what every zone needs (engine, check registry, connectors, store) once, before the pool forks."""
    import auditor.engine  # noqa: F401
    import auditor.store.recorder  # noqa: F401
    import connectors.ssh.credentials  # noqa: F401
    from auditor.registry import REGISTRY

    REGISTRY.load()


def check_message(body: dict[str, Any], delivered_to: str | None, context: WorkerContext) -> None:
    """Refuse a body that is not meant for this task, for this worker's queues or for the queue it came in on,
    or that is past its expiry (the signature covers the body only: see :mod:`auditor.distributed.app`)."""
    if body.get("task") != TASK_NAME:
        raise Refused(f"the message names task {body.get('task')!r}")
    queue = body.get("queue")
    if queue not in context.queues:
        raise Refused(f"the message is for queue {queue!r}; this worker serves {', '.join(context.queues)}")
    if delivered_to is not None and delivered_to != queue:
        raise Refused(f"the message for queue {queue!r} was delivered on {delivered_to!r}")
    expires = datetime.fromisoformat(body["expires"])
    if datetime.now(timezone.utc) > expires:
        raise Refused(f"the message expired at {expires.isoformat(timespec='seconds')}")


def collect_zone(body: dict[str, Any], delivered_to: str | None, context: WorkerContext) -> dict[str, Any]:
    """Run one zone message (see the module docstring); returns a small summary for the worker's log."""
    from auditor.store import open_store

    check_message(body, delivered_to, context)
    store = open_store(context.store)
    try:
        row = store.scan_row(body["scan_id"])
        if row["uuid"] != body["scan_uuid"]:
            raise Refused(f"scan {body['scan_id']} of the store is not the scan this message was sent for")
        if row["status"] != "running":
            raise Refused(f"scan {body['scan_id']} is {row['status']}: nothing to do")
        broker = _Redis(context.broker, context.broker_ca)
        key = f"{body['scan_uuid']}:{body['queue']}:{body.get('zone') or '-'}"
        with broker.lease(key, context.name, context.lease_seconds):
            deliveries = broker.deliveries(key)
            log.info("taking zone %s of scan %s (delivery %d)", body.get("zone"), body["scan_id"], deliveries)
            return _run(store, body, context, lost_twice=deliveries > MAX_DELIVERIES)
    finally:
        store.close()


def _run(store: Any, body: dict[str, Any], context: WorkerContext, *, lost_twice: bool) -> dict[str, Any]:
    from auditor.engine import EngineSettings, Politeness, collect, run_sync
    from auditor.errors import ConfigError
    from auditor.evidence import AssetEvidence
    from auditor.plant.inventory import Inventory
    from auditor.plant.planning import plan_assets, selection_label
    from auditor.plant.secrets import check_references
    from auditor.plant.windows import WindowGate, parse_window_end
    from auditor.store.recorder import ScanRecorder
    from connectors.ssh.credentials import check_ssh_credentials

    inventory = Inventory.model_validate(body["inventory"])
    wanted = set(body["assets"])
    plans = plan_assets(inventory, profile=body.get("profile"), sl=body.get("sl"))
    recorder = ScanRecorder(store, inventory, plans, selection_label(body.get("profile"), body.get("sl")))
    recorder.scan_id = body["scan_id"]
    done = _finished(store, body["scan_id"])
    todo = [plan for plan in plans if plan.asset.id in wanted and plan.asset.id not in done]
    options = options_from_message(body["options"])
    source = f"inventory of scan {body['scan_id']} (worker {context.name})"
    runnable = []
    for plan in todo:
        reason = "its scanner was lost twice while scanning this zone; not retried again" if lost_twice else None
        if reason is None:
            try:  # secrets are resolved here, from this host's environment and files
                check_references(source, [plan.asset])
                check_ssh_credentials(source, [plan.asset], options)
            except ConfigError as exc:
                reason = f"worker {context.name}: {exc}"
        if reason is None:
            runnable.append(plan)
            continue
        now = datetime.now(timezone.utc)
        recorder.on_finished(plan, AssetEvidence(asset=plan.asset.id, status="error", error=reason,
                                                 started_at=now, finished_at=now))
    windows = {} if body.get("ignore_windows") else {p.asset.id: inventory.windows_for(p.asset) for p in runnable}
    window_end = parse_window_end(body["window_end"]) if body.get("window_end") else None
    gate = WindowGate(windows, window_end=window_end,
                      estimates=store.estimates([p.asset.id for p in runnable], inventory.site))
    settings = EngineSettings(concurrency=body.get("concurrency", 8), asset_timeout=body.get("asset_timeout", 300),
                              admit=_StillRunning(store, body["scan_id"], gate if gate.active else None),
                              on_finished=recorder.on_finished, politeness=Politeness(inventory))
    collected, _ = run_sync(collect(runnable, options, settings))
    recorded = _finished(store, body["scan_id"])
    by_plan = {plan.asset.id: plan for plan in runnable}
    for evidence in collected:  # assets the gate declined never reached on_finished
        if evidence.asset not in recorded:
            recorder.on_finished(by_plan[evidence.asset], evidence)
    if recorder.errors:
        raise RuntimeError("the store missed: " + "; ".join(recorder.errors))
    return {"zone": body.get("zone"), "assets": len(todo), "collected": len(runnable)}


class _StillRunning:
    """The engine's admission of an asset: none once the dispatcher ended the scan (Ctrl-C: ``interrupted``),
    else the maintenance-window gate's decision."""

    def __init__(self, store: Any, scan_id: int, gate: Any):
        self.store, self.scan_id, self.gate = store, scan_id, gate
        self.observe = getattr(gate, "observe", None)

    def __call__(self, asset_id: str) -> Any:
        from auditor.plant.windows import Decision

        status = self.store.scan_row(self.scan_id)["status"]
        if status != "running":
            return Decision(f"not started: the scan was {status} by its dispatcher", "interrupted")
        return self.gate(asset_id) if self.gate is not None else None


def _finished(store: Any, scan_id: int) -> set[str]:
    """Assets of the scan the store holds collected (a skipped one is judged again: its window may be open now)."""
    return {asset for asset, (_, status) in store.recorded_assets(scan_id).items() if status != "skipped"}
