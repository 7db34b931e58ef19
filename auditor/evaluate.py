"""Pure evaluation: one asset's evidence + a profile -> an :class:`AssetResult`. No I/O here.

The same function serves a live scan and an offline rescore, which is what makes a rescore give
exactly the verdicts a scan would have given on the same evidence.
"""

from __future__ import annotations

import logging
from typing import Any

from auditor.catalog import Requirement, load_catalog
from auditor.evidence import AssetEvidence, EvidenceItem
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.inventory import Asset
from auditor.profiles import Profile
from auditor.registry import REGISTRY, CheckSpec, Registry
from auditor.results import AssetResult, CheckResult
from auditor.scoring import achieved, coverage, gaps, requirement_results
from auditor.slvector import SLVector
from auditor.verdicts import Verdict, error

log = logging.getLogger(__name__)


class FactCache:
    """Parses each fact at most once per asset and remembers which evidence items it read."""

    def __init__(self, items: list[EvidenceItem], registry: Registry):
        self._items = {item.request.key: item for item in items}
        self._registry = registry
        self._cache: dict[str, tuple[Any, Exception | None, list[str]]] = {}

    def get(self, name: str) -> tuple[Any, Exception | None, list[str]]:
        if name not in self._cache:
            spec = self._registry.facts[name]
            view = FactEvidence(name, spec.requests, self._items)
            try:
                self._cache[name] = (spec.parser(view), None, view.used)
            except (FactUnavailable, FactParseError) as exc:
                self._cache[name] = (None, exc, view.used)
            except Exception as exc:  # a parser bug on odd device output is a fault, not a crash
                log.debug("fact parser %s crashed", name, exc_info=True)
                self._cache[name] = (None, FactParseError(f"parser crashed on this evidence: {exc!r}"), view.used)
        return self._cache[name]


def run_check(spec: CheckSpec, facts: FactCache, params: dict[str, Any]) -> tuple[Verdict, list[str]]:
    """Run one check; missing evidence and check bugs become ``error`` verdicts that say why."""
    arguments: dict[str, Any] = {}
    used: list[str] = []
    for name in spec.facts:
        value, problem, item_ids = facts.get(name)
        used.extend(i for i in item_ids if i not in used)
        if problem is not None:
            kind = "unavailable" if isinstance(problem, FactUnavailable) else "unparseable"
            return error(f"evidence {kind} for fact '{name}': {problem}"), used
        arguments[name] = value
    if spec.takes_params:
        arguments["params"] = params
    try:
        verdict = spec.function(**arguments)
    except Exception as exc:
        log.debug("check %s crashed", spec.id, exc_info=True)
        return error(f"check crashed: {exc!r}"), used
    if not isinstance(verdict, Verdict):
        return error(f"check returned {type(verdict).__name__}, not a Verdict"), used
    return verdict, used


def basis_rows(profile: Profile, component_type: str) -> list[Requirement]:
    return load_catalog().rows(profile.basis, component_type)


def evaluate_asset(asset: Asset, evidence: AssetEvidence, profile: Profile, sl_target: SLVector,
                   registry: Registry = REGISTRY) -> AssetResult:
    rows = basis_rows(profile, asset.type)
    row_sl = {row.id: row.sl for row in rows}
    facts = FactCache(evidence.items, registry)
    results: list[CheckResult] = []
    for spec in profile.checks_for(asset, registry):
        if evidence.status == "error":
            verdict, used = error(f"asset could not be assessed: {evidence.error}"), []
        else:
            verdict, used = run_check(spec, facts, profile.params_for(spec))
        in_basis = [r for r in spec.requirements if r in row_sl]
        results.append(CheckResult(
            check_id=spec.id, title=spec.title, status=verdict.status, severity=spec.severity,
            requirements=list(spec.requirements), target_sl=min((row_sl[r] for r in in_basis), default=None),
            observed=verdict.observed, expected=verdict.expected, reason=verdict.reason, evidence=used,
            remediation=spec.remediation))
    requirements = requirement_results(rows, results)
    sl_achieved = achieved(requirements, strict=False)
    status = "error" if evidence.status == "error" else ("skipped" if evidence.status == "skipped" else "assessed")
    return AssetResult(
        id=asset.id, type=asset.type, zone=asset.zone, address=asset.address, profile=profile.id,
        status=status, error=evidence.error if status != "assessed" else None,
        skipped_because=(evidence.skipped_because or "interrupted") if status == "skipped" else None,
        sl_target=sl_target,
        sl_achieved=sl_achieved, sl_achieved_strict=achieved(requirements, strict=True),
        meets_target=status == "assessed" and sl_achieved.meets(sl_target),
        coverage=coverage(requirements, sl_target), gaps=gaps(requirements, sl_achieved, sl_target),
        results=results, requirements=requirements,
        endpoint_errors=list(evidence.endpoint_errors))
