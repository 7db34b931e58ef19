"""Waivers: formally accepted risks, with the compensating countermeasure that makes them acceptable.

A waivers file (YAML)::

    waivers:
      - id: W-2025-014
        check: linux.sshd.weak-crypto           # a check id (globs allowed: linux.sshd.*) ...
        requirement: CR 4.3                     # ... and/or a requirement: waives every check mapped to it
        assets: [hmi-01]                        # asset ids or globs; and/or
        zones: [control]                        # zone ids
        justification: Legacy engineering tool only speaks CBC ciphers; vendor fix in 2026.
        compensating_countermeasure: Jump host with MFA; HMI reachable only from the EWS VLAN.
        approver: J. Smith, plant manager
        expires: 2026-06-30                     # optional; inclusive

Semantics:

* a waiver applies to a check result when its selector (``assets`` / ``zones``: either may match)
  and its ``check`` and/or ``requirement`` (both, if both are given) match;
* only ``fail`` results are waived: their status becomes ``waived`` (never ``pass``); the requirement
  behind them still counts as unmet for SL-A;
* SL-A is also given *with accepted compensating countermeasures*: there a failure waived by a waiver
  that names a ``compensating_countermeasure`` counts as met (a waiver without one is a bare risk
  acceptance and counts as unmet in both);
* a waiver is active through its ``expires`` date; after it, it no longer applies (the result stays
  ``fail``, marked with the lapsed waiver) and the result's ``waivers`` list reports it ``expired``
  together with the failures it would have covered;
* a waiver without ``expires`` stays active until it is removed from the file.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.assessment.catalog import UnknownRequirement, load_catalog, normalize_id
from auditor.assessment.scoring import achieved, apply_answers, requirement_status
from auditor.errors import ConfigError, ConfigProblem
from auditor.safeload import load_list_file
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY, Registry
from auditor.results import (AssetResult, CheckResult, LevelEvaluation, RequirementResult, WaiverOutcome,
                             WaiverRef)


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=100)
    check: str | None = Field(default=None, description="check id or glob")
    requirement: str | None = Field(default=None, description="requirement id, e.g. 'CR 4.3' or 'SR 1.1 RE1'")
    assets: list[str] = Field(default_factory=list)
    zones: list[str] = Field(default_factory=list)
    justification: str = Field(min_length=1)
    compensating_countermeasure: str | None = None
    approver: str = Field(min_length=1)
    expires: date | None = None

    @field_validator("requirement")
    @classmethod
    def _canonical(cls, value: str | None) -> str | None:
        return normalize_id(value) if value is not None else None

    @field_validator("assets", "zones", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("justification", "approver", "compensating_countermeasure")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _shape(self) -> "Waiver":
        if not self.check and not self.requirement:
            raise ValueError("give 'check' (a check id) or 'requirement' (a requirement id), or both")
        if not self.assets and not self.zones:
            raise ValueError("give 'assets' and/or 'zones' (use assets: ['*'] for every asset)")
        return self

    def active(self, as_of: date) -> bool:
        return self.expires is None or as_of <= self.expires

    def selects(self, asset_id: str, zone: str | None) -> bool:
        return (any(fnmatch.fnmatchcase(asset_id, p) for p in self.assets)
                or (zone is not None and any(fnmatch.fnmatchcase(zone, p) for p in self.zones)))

    def covers(self, result: CheckResult) -> bool:
        if self.check and not fnmatch.fnmatchcase(result.check_id, self.check):
            return False
        if self.requirement and self.requirement not in result.requirements:
            return False
        return True

    def ref(self, state: str) -> WaiverRef:
        return WaiverRef(id=self.id, state=state, justification=self.justification,  # type: ignore[arg-type]
                         compensating_countermeasure=self.compensating_countermeasure, approver=self.approver,
                         expires=self.expires)


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver] = Field(default_factory=list)


class WaiverSet:
    """The waivers of one file, applied to asset results; remembers what each waiver did."""

    def __init__(self, waivers: list[Waiver], source: str = "waivers"):
        self.waivers = waivers
        self.source = source
        self._applied: dict[str, list[str]] = defaultdict(list)
        self._lapsed: dict[str, list[str]] = defaultdict(list)
        self._not_needed: dict[str, list[str]] = defaultdict(list)

    def __bool__(self) -> bool:
        return bool(self.waivers)

    def reset(self) -> None:
        self._applied.clear()
        self._lapsed.clear()
        self._not_needed.clear()

    def blank(self) -> "WaiverSet":
        """The same waivers with nothing recorded yet: for scoring part of a plant elsewhere (see :meth:`merge`)."""
        return WaiverSet(self.waivers, self.source)

    def merge(self, other: "WaiverSet") -> None:
        """Add what ``other`` (a :meth:`blank` copy that judged other assets) recorded to this set's record."""
        for mine, theirs in ((self._applied, other._applied), (self._lapsed, other._lapsed),
                             (self._not_needed, other._not_needed)):
            for waiver_id, keys in theirs.items():
                mine[waiver_id].extend(keys)

    def apply(self, result: AssetResult, asset: Asset, as_of: date) -> AssetResult:
        """``result`` with matching failures waived and SL-A with countermeasures computed."""
        mine = [w for w in self.waivers if w.selects(asset.id, asset.zone)]
        if not mine or result.status != "assessed":
            return result
        checks: list[CheckResult] = []
        for check in result.results:
            matching = [w for w in mine if w.covers(check)]
            if not matching:
                checks.append(check)
                continue
            key = f"{asset.id}/{check.check_id}"
            if check.status != "fail":
                for waiver in matching:
                    self._not_needed[waiver.id].append(key)
                checks.append(check)
                continue
            active = [w for w in matching if w.active(as_of)]
            if active:
                # prefer a waiver backed by a countermeasure, then the one that lasts longest
                chosen = sorted(active, key=lambda w: (w.compensating_countermeasure is None,
                                                       -(w.expires or date.max).toordinal()))[0]
                self._applied[chosen.id].append(key)
                checks.append(check.model_copy(update={"status": "waived", "waiver": chosen.ref("applied")}))
            else:
                for waiver in matching:
                    self._lapsed[waiver.id].append(key)
                latest = max(matching, key=lambda w: w.expires or date.min)
                checks.append(check.model_copy(update={"waiver": latest.ref("expired")}))
        if not any(c.status == "waived" for c in checks) and checks == result.results:
            return result
        update: dict[str, Any] = {"results": checks}
        if any(c.status == "waived" and c.waiver and c.waiver.compensating_countermeasure for c in checks):
            compensated, levels = compensated_requirements(result.requirements, checks, result.levels)
            sl = achieved(compensated, applied_sl=result.applied_sl, levels=levels)
            update["sl_achieved_with_countermeasures"] = sl
            update["meets_target_with_countermeasures"] = sl.meets(result.sl_target)
        return result.model_copy(update=update)

    def outcomes(self, as_of: date) -> list[WaiverOutcome]:
        return [WaiverOutcome(
            id=w.id, state="active" if w.active(as_of) else "expired", check=w.check, requirement=w.requirement,
            assets=list(w.assets), zones=list(w.zones), justification=w.justification,
            compensating_countermeasure=w.compensating_countermeasure, approver=w.approver, expires=w.expires,
            applied_to=sorted(set(self._applied.get(w.id, []))), lapsed=sorted(set(self._lapsed.get(w.id, []))),
            not_needed=sorted(set(self._not_needed.get(w.id, [])))) for w in self.waivers]


def compensated_requirements(requirements: list[RequirementResult], checks: list[CheckResult],
                             levels: list[LevelEvaluation] = ()) -> tuple[list[RequirementResult], list[LevelEvaluation]]:
    """Rows re-judged with countermeasure-backed waivers counted as met (their answers re-applied).

    A row whose failure is covered so is taken as compensated at every level, including the levels above
    the applied one (their evaluations only record row statuses, not which check failed).
    """
    by_id = {c.check_id: c for c in checks}
    out, compensated_ids = [], set()
    for row in requirements:
        statuses = []
        for check_id in row.checks:
            check = by_id.get(check_id)
            if check is None:
                continue
            if check.status == "waived":
                backed = check.waiver is not None and check.waiver.compensating_countermeasure
                statuses.append("pass" if backed else "fail")
            else:
                statuses.append(check.status)
        status = requirement_status(statuses) if row.checks else row.status
        if status != row.status:
            compensated_ids.add(row.id)
        out.append(row.model_copy(update={"status": status}))
    out = apply_answers(out, {r.id: r.answer for r in requirements if r.answer},
                        {r.id: r.claim for r in requirements if r.claim})
    new_levels = [level.model_copy(update={"changed": {k: v for k, v in level.changed.items()
                                                       if k not in compensated_ids}}) for level in levels]
    return out, new_levels


def load_waivers(path: str | Path, registry: Registry = REGISTRY) -> WaiverSet:
    """Load and validate a waivers file; any problem raises :class:`ConfigError` (exit 2)."""
    data = load_list_file(path, "waivers", "a waivers file")
    entries = data.get("waivers")
    if isinstance(entries, list):  # default ids before validation, so errors can name them
        for number, entry in enumerate(entries, start=1):
            if isinstance(entry, dict) and "id" not in entry:
                entry["id"] = f"waiver-{number}"
    try:
        parsed = WaiverFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_validation(path, exc, data) from None
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    registry = registry.load()
    catalog = load_catalog()
    for index, waiver in enumerate(parsed.waivers):
        where = f"waivers[{index}] (id={waiver.id})"
        if waiver.id in seen:
            problems.append(ConfigProblem(f"{where}.id", "duplicate waiver id"))
        seen.add(waiver.id)
        if waiver.check and not any(fnmatch.fnmatchcase(c, waiver.check) for c in registry.checks):
            problems.append(ConfigProblem(f"{where}.check", f"matches no known check ({waiver.check!r}); "
                                                            "see 'iacs-audit checks list'"))
        if waiver.requirement:
            try:
                catalog.get(waiver.requirement)
            except UnknownRequirement as exc:
                problems.append(ConfigProblem(f"{where}.requirement", str(exc)))
    if problems:
        raise ConfigError(str(path), problems)
    return WaiverSet(parsed.waivers, str(path))
