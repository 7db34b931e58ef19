"""Which profile and which SL-T apply to each asset of an inventory.

Precedence, most specific wins: the command line (``--profile`` / ``--sl``), then the asset's own
``profile``/``sl_target``, then its zone's ``sl_target``, then the default SL 2. A ``--profile`` of one
component type applies to assets of that type; other assets get the built-in profile of their own
type at the same level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.assessment.profiles import Profile, builtin_for, load_profile
from auditor.assessment.slvector import SLVector
from auditor.plant.inventory import Asset, Inventory

DEFAULT_SL = 2


@dataclass(frozen=True)
class AssetPlan:
    asset: Asset
    profile: Profile
    sl_target: SLVector
    exposure: str | None = None  # its zone's, for the risk rank of its findings
    #: protocol -> why no read goes over it (no conduit from the scanner's zone allows it)
    refused: dict[str, str] = field(default_factory=dict)


def plan_assets(inventory: Inventory, *, profile: str | None = None, sl: int | None = None) -> list[AssetPlan]:
    cache: dict[str, Profile] = {}

    def get(name: str) -> Profile:
        if name not in cache:
            cache[name] = load_profile(name)
        return cache[name]

    chosen = get(profile) if profile else None
    plans = []
    for asset in inventory.assets:
        zone = inventory.zone(asset.zone)
        if sl is not None:
            target = SLVector.uniform(sl)
        elif chosen is not None and chosen.type == asset.type:
            target = chosen.sl_target
        else:
            target = asset.sl_target or (zone.sl_target if zone else None) or (
                chosen.sl_target if chosen else SLVector.uniform(DEFAULT_SL))
        if chosen is not None and chosen.type == asset.type:
            asset_profile = chosen
        elif asset.profile and chosen is None:
            asset_profile = get(asset.profile)
        else:
            level = sl or (chosen.sl_target.highest() if chosen else target.highest()) or 1
            asset_profile = get(builtin_for(asset.type, max(1, min(level, 4))))
        refused = {e.protocol: reason for e in asset.endpoints
                   if (reason := inventory.conduit_refusal(asset, e.protocol)) is not None}
        plans.append(AssetPlan(asset=asset, profile=asset_profile, sl_target=target,
                               exposure=zone.exposure if zone else None, refused=refused))
    return plans


def selection_label(profile: str | None, sl: int | None) -> str:
    return profile or (f"sl{sl}" if sl is not None else "inventory")
