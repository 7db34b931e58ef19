"""The scan plan: before the first packet, every request a scan would send to each asset, and at which pace.

It is built by the code the scan itself runs: :func:`auditor.plant.planning.plan_assets` (profile and SL-T
per asset), :func:`auditor.engine.needed_reads` (the selected checks' reads, ``Profile.checks_for`` and
``Registry.requests_for``) and each connector's :meth:`~connectors.base.Connector.plan` (its connection steps,
the order it sends in, its politeness settings). Nothing here opens a socket or reads a secret.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from auditor.plant.inventory import Inventory
from connectors import ConnectorError, PlannedRequest, ScanOptions, connector_class


@dataclass
class EndpointPlan:
    protocol: str
    endpoint: str
    pacing: str
    steps: list[PlannedRequest]
    min_seconds: float = 0.0
    error: str | None = None  # the connector cannot be used as configured (the scan would record this error)

    @property
    def sends(self) -> int:
        """Requests and connections with a known count (a walk or a browse counts once: at least one PDU)."""
        return sum(1 if step.count is None else step.count for step in self.steps)


@dataclass
class AssetScanPlan:
    asset: str
    type: str
    zone: str | None
    address: str
    profile: str
    sl_target: str
    checks: int
    endpoints: list[EndpointPlan] = field(default_factory=list)
    window: str = "any time (no maintenance window)"
    expected_seconds: float | None = None  # the last measured collection time (history store)

    @property
    def sends(self) -> int:
        return sum(endpoint.sends for endpoint in self.endpoints)

    @property
    def min_seconds(self) -> float:
        return round(sum(endpoint.min_seconds for endpoint in self.endpoints), 2)


@dataclass
class ScanPlan:
    site: str
    selection: str
    assets: list[AssetScanPlan]

    @property
    def sends(self) -> int:
        return sum(asset.sends for asset in self.assets)

    def totals(self) -> dict[str, int]:
        """How many of each operation the whole scan sends (known counts; walks and browses count once)."""
        out: dict[str, int] = {}
        for asset in self.assets:
            for endpoint in asset.endpoints:
                for step in endpoint.steps:
                    if step.count != 0:
                        key = f"{endpoint.protocol} {step.operation}"
                        out[key] = out.get(key, 0) + (1 if step.count is None else step.count)
        return dict(sorted(out.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site, "selection": self.selection, "sends": self.sends, "totals": self.totals(),
            "assets": [{
                "asset": a.asset, "type": a.type, "zone": a.zone, "address": a.address, "profile": a.profile,
                "sl_target": a.sl_target, "checks": a.checks, "sends": a.sends, "min_seconds": a.min_seconds,
                "expected_seconds": a.expected_seconds, "window": a.window,
                "endpoints": [{"protocol": e.protocol, "endpoint": e.endpoint, "pacing": e.pacing, "sends": e.sends,
                               "min_seconds": e.min_seconds, "error": e.error,
                               "steps": [asdict(step) for step in e.steps]} for e in a.endpoints],
            } for a in self.assets],
        }


def build_plan(inventory: Inventory, options: ScanOptions, *, profile: str | None = None, sl: int | None = None,
               window_end: datetime | None = None, ignore_windows: bool = False,
               estimates: dict[str, float] | None = None) -> ScanPlan:
    """The plan of ``scan`` with the same inventory, profile selection and options (see the module docstring)."""
    from auditor.engine import needed_reads
    from auditor.plant.planning import plan_assets, selection_label
    from auditor.plant.windows import WindowGate
    from auditor.registry import REGISTRY

    plans = plan_assets(inventory, profile=profile, sl=sl)
    windows = {} if ignore_windows else {p.asset.id: inventory.windows_for(p.asset) for p in plans}
    gate = WindowGate(windows, window_end=window_end, estimates=estimates)
    assets = []
    for plan in plans:
        asset = plan.asset
        entry = AssetScanPlan(asset=asset.id, type=asset.type, zone=asset.zone, address=asset.address,
                              profile=plan.profile.id,
                              sl_target="".join(str(level) for _, level in plan.sl_target.items()),
                              checks=len(plan.profile.checks_for(asset, REGISTRY)),
                              expected_seconds=(estimates or {}).get(asset.id))
        if windows.get(asset.id) or window_end is not None:
            decision = gate(asset.id)  # as the scan's admission would decide it now
            entry.window = f"skipped now: {decision.reason}" if decision else "may start now"
        for protocol, endpoint, requests in needed_reads(plan, REGISTRY):
            label = f"{protocol}://{asset.address}:{endpoint.port}"
            if protocol in plan.refused:
                entry.endpoints.append(EndpointPlan(protocol, label, "", [], error=f"not read: {plan.refused[protocol]}"))
                continue
            try:
                connector = connector_class(protocol)(asset, endpoint, options)
                label = connector.label
                planned = connector.plan(requests)
            except ConnectorError as exc:
                entry.endpoints.append(EndpointPlan(protocol, label, "", [], error=str(exc)))
                continue
            crossing = inventory.conduit_for(asset, protocol)
            pacing = f"{planned.pacing}; crosses conduit {crossing}" if crossing else planned.pacing
            entry.endpoints.append(EndpointPlan(protocol, label, pacing, list(planned.steps), planned.min_seconds))
        assets.append(entry)
    return ScanPlan(site=inventory.site, selection=selection_label(profile, sl), assets=assets)
