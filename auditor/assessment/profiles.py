"""Profiles: which checks run on a component type, with which parameters, against which SL-T.

A profile is YAML. It may ``extends:`` another (built-in name or file), override ``params`` per check,
and ``select``/``deselect`` checks by id pattern. Built-ins ship in the :mod:`profiles` package as
``<type>-sl<N>.yaml``. Loading resolves the chain and validates parameters against the checks'
declared defaults, so a typo in a profile is an error (exit 2), not a silently ignored setting.
"""

from __future__ import annotations

import fnmatch
import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.assessment.slvector import SLVector
from auditor.errors import ConfigError
from auditor.safeload import load_yaml_file, yaml_loads
from auditor.plant.inventory import ComponentType
from auditor.registry import REGISTRY, CheckSpec, Registry

MAX_EXTENDS_DEPTH = 10


class ProfileFile(BaseModel):
    """One profile file as written; :class:`Profile` is the resolved, effective result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str = ""
    description: str = ""
    extends: str | None = None
    type: ComponentType | None = None
    sl_target: SLVector | None = None
    basis: Literal["component", "system"] | None = None
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    select: list[str] | None = None
    deselect: list[str] = Field(default_factory=list)


class Profile(BaseModel):
    """An effective profile, after ``extends`` has been resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    description: str = ""
    type: ComponentType
    sl_target: SLVector
    basis: Literal["component", "system"] = "component"
    params: dict[str, dict[str, Any]]
    select: list[str]
    deselect: list[str]
    chain: list[str] = Field(description="this profile and its ancestors, nearest first")
    source: str

    def selected_checks(self, registry: Registry = REGISTRY) -> list[CheckSpec]:
        registry.load()
        key = ("selected", id(registry), len(registry.checks))
        memo = _derived(self)
        if key not in memo:
            memo[key] = [spec for spec in registry.for_type(self.type) if self.selects(spec.id)]
        return list(memo[key])

    def checks_for(self, asset: Any, registry: Registry = REGISTRY) -> list[CheckSpec]:
        """The selected checks this asset's interfaces can feed.

        A check whose evidence needs a protocol the asset has no endpoint for does not run (a Modbus-only
        PLC gets no OPC UA checks); its requirements stay *not assessed* unless other checks cover them.
        """
        protocols = frozenset(endpoint.protocol for endpoint in asset.endpoints)
        registry.load()
        key = ("for", id(registry), len(registry.checks), protocols)
        memo = _derived(self)
        if key not in memo:
            memo[key] = [spec for spec in self.selected_checks(registry)
                         if all(registry.can_feed(name, protocols) for name in spec.facts)]
        return list(memo[key])

    def selects(self, check_id: str) -> bool:
        chosen = any(fnmatch.fnmatchcase(check_id, pattern) for pattern in self.select)
        return chosen and not any(fnmatch.fnmatchcase(check_id, pattern) for pattern in self.deselect)

    def params_for(self, spec: CheckSpec) -> dict[str, Any]:
        return {**spec.params, **self.params.get(spec.id, {})}

    def params_key(self, spec: CheckSpec) -> str:
        """:meth:`params_for` as canonical JSON: two profiles giving a check the same key judge it alike."""
        memo = _derived(self)
        key = ("params", id(spec))
        entry = memo.get(key)
        if entry is None or entry[0] is not spec:  # the spec is kept, so its id is not another spec's
            entry = memo[key] = (spec, json.dumps(self.params_for(spec), sort_keys=True, default=repr))
        return entry[1]


#: id(profile) -> (the profile, what its methods derived from it alone): computed once per profile instead of
#: once per asset of a plant. The entry holds the profile, so its id is not reused while the entry lives; a
#: profile is frozen, and a copy is another object with its own entry.
_DERIVED: dict[int, tuple[Profile, dict[tuple, Any]]] = {}
_DERIVED_MAX = 256


def _derived(profile: Profile) -> dict[tuple, Any]:
    entry = _DERIVED.get(id(profile))
    if entry is None or entry[0] is not profile:
        if len(_DERIVED) >= _DERIVED_MAX:
            _DERIVED.clear()
        entry = _DERIVED[id(profile)] = (profile, {})
    return entry[1]


def builtin_names() -> list[str]:
    folder = resources.files("profiles")
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def builtin_for(component_type: str, sl: int) -> str:
    return f"{component_type}-sl{sl}"


def load_profile(name_or_path: str | Path, registry: Registry = REGISTRY) -> Profile:
    """Load a built-in profile by name or a profile file by path; raise :class:`ConfigError` if invalid."""
    chain: list[tuple[ProfileFile, str]] = []
    current: str | None = str(name_or_path)
    base_dir = Path.cwd()
    while current is not None:
        if len(chain) >= MAX_EXTENDS_DEPTH or current in [source for _, source in chain] + [f.id for f, _ in chain]:
            raise ConfigError.single(chain[0][1] if chain else current, "extends",
                                     f"'extends' chain loops or is deeper than {MAX_EXTENDS_DEPTH}: "
                                     + " -> ".join([f.id for f, _ in chain] + [current]))
        try:
            profile_file, source = _read(current, base_dir)
        except ConfigError as exc:
            if chain and not Path(exc.source).is_file():  # 'extends' names nothing: say which file said so
                reasons = "; ".join(problem.reason for problem in exc.problems)
                raise ConfigError.single(chain[-1][1], "extends", f"{current!r}: {reasons}") from None
            raise
        chain.append((profile_file, source))
        if not source.startswith("builtin:"):
            base_dir = Path(source).parent
        current = profile_file.extends
    return _resolve(chain, registry)


def _read(name: str, base_dir: Path) -> tuple[ProfileFile, str]:
    path = Path(name) if Path(name).is_absolute() else base_dir / name
    if name.endswith((".yaml", ".yml")) or path.is_file():
        data, source = load_yaml_file(path), str(path)
    elif name in builtin_names():
        source = f"builtin:{name}"
        data = yaml_loads((resources.files("profiles") / f"{name}.yaml").read_text(encoding="utf-8"), source)
    else:
        raise ConfigError.single(name, "", f"no such profile; built-in profiles are: {', '.join(builtin_names())}")
    if not isinstance(data, dict):
        raise ConfigError.single(source, "", "a profile must be a mapping")
    try:
        return ProfileFile.model_validate(data), source
    except ValidationError as exc:
        raise ConfigError.from_validation(source, exc, data) from None


def _resolve(chain: list[tuple[ProfileFile, str]], registry: Registry) -> Profile:
    """Apply ancestors first, then each descendant's overrides; validate the result once."""
    merged: dict[str, Any] = {"params": {}, "deselect": []}
    for profile_file, _ in reversed(chain):
        for key in ("type", "sl_target", "basis", "select", "title", "description"):
            value = getattr(profile_file, key)
            if value not in (None, ""):
                merged[key] = value
        for check_id, values in profile_file.params.items():
            merged["params"].setdefault(check_id, {}).update(values)
        merged["deselect"] = merged["deselect"] + profile_file.deselect
    top, source = chain[0]
    for key in ("type", "sl_target"):
        if key not in merged:
            raise ConfigError.single(source, key, "required (here or in a profile it extends)")
    profile = Profile(id=top.id, title=merged.get("title") or top.id, description=merged.get("description", ""),
                      type=merged["type"], sl_target=merged["sl_target"], basis=merged.get("basis", "component"),
                      params=merged["params"], select=merged.get("select", ["*"]), deselect=merged["deselect"],
                      chain=[f.id for f, _ in chain], source=source)
    _validate_params(profile, source, registry.load())
    _validate_selection(chain, profile, registry.load())
    return profile


def _validate_selection(chain: list[tuple[ProfileFile, str]], profile: Profile, registry: Registry) -> None:
    """A ``select``/``deselect`` pattern of a profile file that matches no check of its type is a typo: exit 2.

    Built-in profiles are validated by their own tests (their packs may be optional); user files here.
    """
    known = [spec.id for spec in registry.for_type(profile.type)]
    problems = []
    for profile_file, source in chain:
        if source.startswith("builtin:"):
            continue
        for key in ("select", "deselect"):
            for index, pattern in enumerate(getattr(profile_file, key) or []):
                if not any(fnmatch.fnmatchcase(check_id, pattern) for check_id in known):
                    problems.append((source, f"{key}[{index}]",
                                     f"{pattern!r} matches no {profile.type} check (see 'iacs-audit checks list --type "
                                     f"{profile.type}')"))
    if problems:
        from auditor.errors import ConfigProblem

        raise ConfigError(problems[0][0], [ConfigProblem(f, r) for _, f, r in problems])


def tailoring(profile: Profile, registry: Registry = REGISTRY) -> list[dict[str, Any]]:
    """Every check of the profile's type: selected or not, effective parameters, and which differ from the defaults."""
    out = []
    for spec in registry.load().for_type(profile.type):
        params = profile.params_for(spec)
        out.append({"check": spec.id, "selected": profile.selects(spec.id), "params": params,
                    "tailored": sorted(k for k, v in params.items() if spec.params.get(k) != v)})
    return out


def _validate_params(profile: Profile, source: str, registry: Registry) -> None:
    problems = []
    for check_id, values in profile.params.items():
        spec = registry.checks.get(check_id)
        if spec is None:
            problems.append((f"params.{check_id}", "unknown check id"))
            continue
        for name, value in values.items():
            if name not in spec.params:
                known = ", ".join(sorted(spec.params)) or "none"
                problems.append((f"params.{check_id}.{name}", f"unknown parameter (this check takes: {known})"))
            elif not _same_kind(spec.params[name], value):
                problems.append((f"params.{check_id}.{name}",
                                 f"expected {type(spec.params[name]).__name__}, got {type(value).__name__}"))
    if problems:
        from auditor.errors import ConfigProblem

        raise ConfigError(source, [ConfigProblem(f, r) for f, r in problems])


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))
