"""The dispatcher's half of a distributed scan: send one signed message per zone, then follow the store.

The scan service (:func:`auditor.app.scan.run_scan`) does everything else as for a local scan: it opens the
scan in the store (or resumes one), and once every asset is in, scores the evidence the workers stored,
finishes the scan (complete or interrupted) and renders the reports. Progress is what the store holds: a
worker commits each asset the moment it finishes. Ctrl-C (or SIGTERM) stops following; the assets not in yet
are marked skipped as in a local scan, the scan ends ``interrupted``, and workers that see it so take nothing
more from it (``--resume`` continues it later).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from auditor.distributed.app import TASK_NAME, Pki, make_app
from auditor.distributed.work import options_to_message
from auditor.errors import ConfigError, ConfigProblem
from auditor.evidence import AssetEvidence
from auditor.plant.inventory import Inventory
from auditor.plant.planning import AssetPlan

STALL_SECONDS = 120.0  # no asset in for this long: say which are still out
MESSAGE_LIFETIME = timedelta(days=2)  # a message not taken by then is refused: it belongs to a stale scan


@dataclass(frozen=True)
class Distribution:
    """Where a distributed scan's work goes: the broker URL and the dispatcher's signing material."""

    broker: str
    pki: Path
    poll_seconds: float = 0.5
    broker_ca: Path | None = None  # the CA that verifies a TLS broker


def queue_of(inventory: Inventory, plan: AssetPlan) -> str | None:
    zone = inventory.zone(plan.asset.zone)
    return (zone.scanner if zone is not None else None) or inventory.scanner


def check_routing(source: str, inventory: Inventory, plans: list[AssetPlan]) -> None:
    """Every asset must reach a scanner queue (its zone's ``scanner``, else the inventory's): exit 2 otherwise."""
    problems = [ConfigProblem(f"assets ({plan.asset.id})", f"no scanner queue: give its zone "
                              f"{plan.asset.zone!r} a 'scanner:' or the inventory a default 'scanner:'"
                              if plan.asset.zone else "no scanner queue: give the inventory a default 'scanner:'")
                for plan in plans if queue_of(inventory, plan) is None]
    if problems:
        raise ConfigError(source, problems)


def messages(request: Any, options: Any, todo: list[AssetPlan], scan_id: int, scan_uuid: str) -> list[dict[str, Any]]:
    """One body per (queue, zone): what the worker needs, references instead of secrets, and what it checks."""
    inventory = request.inventory
    groups: dict[tuple[str, str | None], list[str]] = {}
    for plan in todo:
        groups.setdefault((queue_of(inventory, plan) or "", plan.asset.zone), []).append(plan.asset.id)
    expires = (datetime.now(timezone.utc) + MESSAGE_LIFETIME).isoformat()
    common = {"task": TASK_NAME, "scan_id": scan_id, "scan_uuid": scan_uuid, "expires": expires,
              "inventory": inventory.model_dump(mode="json"),
              "profile": request.profile, "sl": request.sl, "options": options_to_message(options),
              "asset_timeout": request.asset_timeout, "concurrency": request.concurrency,
              "ignore_windows": request.ignore_windows,
              "window_end": request.window_end.isoformat() if request.window_end else None}
    return [{**common, "queue": queue, "zone": zone, "assets": assets} for (queue, zone), assets in groups.items()]


def send(distribution: Distribution, bodies: list[dict[str, Any]]) -> None:
    """Publish the signed messages; an unreachable broker is a configuration error (exit 2) naming it."""
    from kombu.exceptions import OperationalError

    app = make_app(distribution.broker, Pki(distribution.pki), broker_ca=distribution.broker_ca)
    try:
        with app.producer_or_acquire() as producer:
            for body in bodies:
                app.send_task(TASK_NAME, kwargs={"body": body}, queue=body["queue"], producer=producer,
                              retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1})
    except OperationalError as exc:
        raise ConfigError.single(_safe(distribution.broker), "--broker", f"cannot reach the broker: {exc}") from None
    finally:
        app.close()


def _safe(url: str) -> str:
    """``url`` with its password masked, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


async def follow(store: Any, scan_id: int, todo: list[AssetPlan], before: dict[str, tuple[int, str]],
                 poll: float, notify: Callable[[str, str, str], None],
                 waiting: Callable[[list[str]], None] = lambda assets: None,
                 stall: float = STALL_SECONDS) -> tuple[list[AssetEvidence], bool]:
    """Wait until every asset of ``todo`` has a row written after dispatch (``before``: the rows there were);
    returns the evidence in ``todo``'s order and whether following was interrupted (Ctrl-C). ``waiting`` hears
    which assets are still out whenever nothing arrived for ``stall`` seconds (no worker on their queue?)."""
    wanted = {plan.asset.id for plan in todo}
    arrived: dict[str, str] = {}
    interrupted = False
    loop = asyncio.get_running_loop()
    last = loop.time()
    try:
        while len(arrived) < len(wanted):
            rows = await asyncio.to_thread(store.recorded_assets, scan_id)
            for asset, (row_id, status) in rows.items():
                if asset in wanted and asset not in arrived and before.get(asset, (None,))[0] != row_id:
                    arrived[asset], last = status, loop.time()
                    notify("skipped" if status == "skipped" else "error" if status == "error" else "done", asset,
                           f"collection {status}")
            if len(arrived) < len(wanted):
                if loop.time() - last >= stall:
                    waiting([plan.asset.id for plan in todo if plan.asset.id not in arrived])
                    last = loop.time()
                await asyncio.sleep(poll)
    except asyncio.CancelledError:
        interrupted = True
    return evidence_of(store, scan_id, todo, arrived, notify), interrupted


def evidence_of(store: Any, scan_id: int, todo: list[AssetPlan], arrived: dict[str, str],
                notify: Callable[[str, str, str], None]) -> list[AssetEvidence]:
    """The stored evidence of the assets that arrived (verified against the manifest), skipped ones as the
    workers recorded them, and the rest skipped as interrupted, as a local scan marks them."""
    collected = store.finished_evidence(scan_id)
    results = {asset.id: asset for asset in store.load_result(scan_id).assets}
    out = []
    for plan in todo:
        asset = plan.asset.id
        if asset in arrived and arrived[asset] != "skipped":
            out.append(collected[asset])
        elif asset in arrived:
            result = results[asset]
            out.append(AssetEvidence(asset=asset, status="skipped", error=result.error,
                                     skipped_because=result.skipped_because))
        else:
            notify("skipped", asset, "interrupted before it finished")
            out.append(AssetEvidence(asset=asset, status="skipped", skipped_because="interrupted",
                                     error="scan interrupted before this asset finished"))
    return out
