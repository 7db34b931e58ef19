"""Pure evaluation: one asset's evidence + a profile -> an :class:`AssetResult`. No I/O here.

The same function serves a live scan and an offline rescore, which is what makes a rescore give
exactly the verdicts a scan would have given on the same evidence.
"""

from __future__ import annotations

import functools
import logging
from datetime import date
from typing import Any

from auditor.assessment.attestations import AnswerBook
from auditor.assessment.catalog import Requirement, load_catalog
from auditor.assessment.profiles import Profile, builtin_for, builtin_names, load_profile
from auditor.assessment.scoring import requirement_results, row_statuses, verdict_fields
from auditor.assessment.slvector import SLVector
from auditor.evidence import AssetEvidence, EvidenceItem
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.plant.inventory import Asset
from auditor.platforms import host_platform
from auditor.registry import REGISTRY, CheckSpec, Registry
from auditor.results import AssetResult, CheckResult, LevelEvaluation, RequirementResult
from auditor.verdicts import Verdict, error

log = logging.getLogger(__name__)


class FactCache:
    """Parses each fact at most once per asset and remembers which evidence items it read."""

    def __init__(self, items: list[EvidenceItem], registry: Registry):
        self._items = {item.request.key: item for item in items}
        self._registry = registry
        self._cache: dict[str, tuple[Any, Exception | None, list[str]]] = {}
        #: (check id, its parameters) -> the verdict: checks are pure, so judging a higher level re-runs only
        #: the checks whose parameters that level changes
        self.verdicts: dict[tuple[str, str], tuple[Verdict, list[str]]] = {}

    def get(self, name: str) -> tuple[Any, Exception | None, list[str]]:
        if name not in self._cache:
            spec = self._registry.facts[name]
            view = FactEvidence(name, spec.requests, self._items, self._registry.former_keys)
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


@functools.lru_cache(maxsize=64)
def _builtin_profile(name: str) -> Profile | None:
    return load_profile(name) if name in builtin_names() else None


def applied_level(profile: Profile) -> int:
    """The level whose parameters a profile applies: its highest SL-T (at least 1)."""
    return max(1, profile.sl_target.highest())


def _verdicts(asset: Asset, evidence: AssetEvidence, profile: Profile, facts: FactCache,
              registry: Registry) -> list[tuple[CheckSpec, Verdict, list[str]]]:
    """Every check of the profile this asset can feed, with its verdict and the evidence items it read."""
    judged: list[tuple[CheckSpec, Verdict, list[str]]] = []
    platform, _known_by = host_platform(getattr(asset, "platform", None), evidence.items)
    for spec in profile.checks_for(asset, registry):
        platforms = registry.platforms_of(spec)
        if platforms and platform not in platforms:
            # another platform's check does not run, like a check for an interface the asset lacks: it removes
            # the check, never the requirement row (the platform, and how it is known, is in the evidence)
            continue
        if evidence.status == "error":
            verdict, used = error(f"asset could not be assessed: {evidence.error}"), []
        else:
            key = (spec.id, profile.params_key(spec))
            if key not in facts.verdicts:
                facts.verdicts[key] = run_check(spec, facts, profile.params_for(spec))
            verdict, used = facts.verdicts[key]
        judged.append((spec, verdict, used))
    return judged


def _run_checks(asset: Asset, evidence: AssetEvidence, profile: Profile, facts: FactCache, row_sl: dict[str, int],
                registry: Registry) -> list[CheckResult]:
    results: list[CheckResult] = []
    for spec, verdict, used in _verdicts(asset, evidence, profile, facts, registry):
        in_basis = [r for r in spec.requirements if r in row_sl]
        results.append(CheckResult(
            check_id=spec.id, title=spec.title, status=verdict.status, severity=spec.severity,
            requirements=list(spec.requirements), target_sl=min((row_sl[r] for r in in_basis), default=None),
            observed=verdict.observed, expected=verdict.expected, reason=verdict.reason, evidence=used,
            remediation=spec.remediation, rationale=spec.rationale, proves_not_applicable=verdict.proves_not_applicable))
    return results


def higher_levels(asset: Asset, evidence: AssetEvidence, profile: Profile, rows: list[Requirement],
                  base: list[RequirementResult], facts: FactCache, registry: Registry) -> list[LevelEvaluation]:
    """Each level above the applied one, judged by the same checks on the same evidence with that level's
    built-in profile, so a level is never claimed on a lower level's parameters. Only the rows whose
    status differs are kept. Without a built-in profile for a level (system basis, unknown type), the
    level is recorded as not evaluated and cannot be claimed."""
    out = []
    for level in range(applied_level(profile) + 1, 5):
        stricter = _builtin_profile(builtin_for(asset.type, level)) if profile.basis == "component" else None
        if stricter is None or stricter.basis != profile.basis:
            out.append(LevelEvaluation(sl=level, profile=None))
            continue
        judged = row_statuses(rows, [(spec.requirements, verdict.status, verdict.proves_not_applicable)
                                     for spec, verdict, _used in _verdicts(asset, evidence, stricter, facts, registry)])
        changed = {old.id: judged[old.id] for old in base if judged[old.id] != old.status}
        out.append(LevelEvaluation(sl=level, profile=stricter.id, changed=changed))  # type: ignore[arg-type]
    return out


def collection_outcome(evidence: AssetEvidence) -> str:
    """The asset's status from its collection: ``error`` when it could not be read, or was cut short (partial
    evidence with an ``error``: the asset timeout), where the checks still judge what was read; else ``skipped``
    or ``assessed``."""
    if evidence.status == "error" or (evidence.status == "partial" and evidence.error):
        return "error"
    return "skipped" if evidence.status == "skipped" else "assessed"


def evaluate_asset(asset: Asset, evidence: AssetEvidence, profile: Profile, sl_target: SLVector,
                   registry: Registry = REGISTRY, answers: AnswerBook | None = None,
                   as_of: date | None = None) -> AssetResult:
    """Checks on the evidence, rows judged from the checks and the answers, SL-A, SL-C and the views."""
    rows = basis_rows(profile, asset.type)
    row_sl = {row.id: row.sl for row in rows}
    facts = FactCache(evidence.items, registry)
    results = _run_checks(asset, evidence, profile, facts, row_sl, registry)
    site, claims = {}, {}
    if answers:
        as_of = as_of or date.today()
        site = answers.match(asset.id, asset.zone, asset.type, rows, as_of, registry)
        claims = answers.match(asset.id, asset.zone, asset.type, rows, as_of, registry, capability=True)
    requirements = requirement_results(rows, results, site, claims)
    status = collection_outcome(evidence)
    levels = higher_levels(asset, evidence, profile, rows, requirements, facts, registry) \
        if status == "assessed" else []
    return AssetResult(
        id=asset.id, type=asset.type, zone=asset.zone, address=asset.address, profile=profile.id,
        status=status, error=evidence.error if status != "assessed" else None,
        skipped_because=(evidence.skipped_because or "interrupted") if status == "skipped" else None,
        sl_target=sl_target, applied_sl=applied_level(profile), levels=levels,
        product=asset.product.as_dict() if asset.product else {},
        results=results, endpoint_errors=list(evidence.endpoint_errors),
        **verdict_fields(requirements, sl_target, applied_sl=applied_level(profile), levels=levels,
                         assessed=status == "assessed"))
