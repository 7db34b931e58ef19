"""Risk-ranked findings: which failed checks to fix first across a plant, by a rule an assessor can redo.

A finding (a failed check, or a check that erred, on an assessed asset) gets a risk score::

    risk = severity x criticality x exposure + gap

* severity of the check: info 1, low 2, medium 3, high 4, critical 5;
* the asset's ``criticality`` (inventory): low 1, medium 2 (the default), high 3, critical 4;
* its zone's ``exposure`` (inventory): control 1 (the default), safety 2, dmz 2, internet-facing 3;
* gap: how far the foundational requirements (FR) of the check's requirements are below target on that
  asset, the sum over those FRs of SL-T minus SL-A (0 where SL-A reaches SL-T).

Higher is more urgent; equal scores keep the order of severity, then asset, then check. Pure: the same
result and inventory give the same ranks, in a scan and in a rescore.
"""

from __future__ import annotations

from typing import Literal

from auditor.assessment.slvector import FRS
from auditor.results import AssetResult

Criticality = Literal["low", "medium", "high", "critical"]
Exposure = Literal["control", "safety", "dmz", "internet-facing"]

SEVERITY_WEIGHT = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
CRITICALITY_WEIGHT = {"low": 1, "medium": 2, "high": 3, "critical": 4}
EXPOSURE_WEIGHT = {"control": 1, "safety": 2, "dmz": 2, "internet-facing": 3}
DEFAULT_CRITICALITY, DEFAULT_EXPOSURE = "medium", "control"


def risk_score(severity: str, criticality: str | None, exposure: str | None, gap: int) -> int:
    return (SEVERITY_WEIGHT.get(severity, 1) * CRITICALITY_WEIGHT[criticality or DEFAULT_CRITICALITY]
            * EXPOSURE_WEIGHT[exposure or DEFAULT_EXPOSURE] + gap)


def rank_asset(result: AssetResult, criticality: str | None, exposure: str | None) -> AssetResult:
    """The asset's result with a ``risk`` on each finding (a copy; assets not assessed are left as they are)."""
    from auditor.assessment.catalog import UnknownRequirement, load_catalog

    if result.status != "assessed":
        return result.model_copy(update={"criticality": criticality, "exposure": exposure})
    catalog = load_catalog()
    below = {int(fr[2:]): max(0, result.sl_target[fr] - result.sl_achieved[fr]) for fr in FRS}
    checks = []
    for check in result.results:
        if check.status in ("fail", "error"):
            frs = set()
            for requirement in check.requirements:
                try:
                    frs.add(catalog.get(requirement).fr)
                except UnknownRequirement:
                    continue
            check = check.model_copy(update={"risk": risk_score(check.severity, criticality, exposure,
                                                                 sum(below[fr] for fr in frs))})
        checks.append(check)
    return result.model_copy(update={"results": checks, "criticality": criticality, "exposure": exposure})
