"""Registry of facts and checks, filled by check packs through two decorators.

A *fact* names the raw reads it needs and parses them into a typed value. A *check* is a pure
function whose parameters name the facts it needs (as pytest fixtures are named), plus an optional
``params`` argument carrying the profile's parameters. The engine reads these signatures to collect
exactly the evidence the selected checks need, and nothing more.

Built-in packs are the sub-packages of :mod:`checks`; third-party packs register a module in the
entry-point group ``iacs_auditor.checks`` (contract). Importing a pack runs its decorators.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Literal

from auditor.evidence import EvidenceRequest

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "iacs_auditor.checks"
CHECK_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9][a-z0-9-]*){2,}$")
Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class FactSpec:
    """How to obtain one typed fact: the reads it needs and the parser that turns them into a value."""

    name: str
    protocol: str
    requests: tuple[EvidenceRequest, ...]
    parser: Callable[..., Any]
    description: str
    pack: str


@dataclass(frozen=True)
class CheckSpec:
    """A check's metadata, read by profiles, the engine, scoring and every report."""

    id: str
    title: str
    rationale: str
    remediation: str
    requirements: tuple[str, ...]
    applies_to: tuple[str, ...]
    severity: str
    facts: tuple[str, ...]
    params: dict[str, Any]
    function: Callable[..., Any] = field(repr=False, compare=False)
    pack: str = ""
    takes_params: bool = False  # the function has a ``params`` argument (read once, at registration)


class Registry:
    """All known facts and checks. One process-wide instance: :data:`REGISTRY`."""

    def __init__(self) -> None:
        self.facts: dict[str, FactSpec] = {}
        self.checks: dict[str, CheckSpec] = {}
        self._loaded = False
        self.load_errors: list[str] = []

    def add_fact(self, spec: FactSpec) -> None:
        existing = self.facts.get(spec.name)
        if existing and existing.parser is not spec.parser:
            raise ValueError(f"fact {spec.name!r} is defined twice ({existing.pack} and {spec.pack})")
        self.facts[spec.name] = spec

    def add_check(self, spec: CheckSpec) -> None:
        existing = self.checks.get(spec.id)
        if existing and existing.function is not spec.function:
            raise ValueError(f"check {spec.id!r} is defined twice ({existing.pack} and {spec.pack})")
        self.checks[spec.id] = spec

    def load(self) -> "Registry":
        """Import the built-in packs and every installed third-party pack, once."""
        if self._loaded:
            return self
        self._loaded = True
        import checks as builtin

        for module in pkgutil.iter_modules(builtin.__path__, prefix="checks."):
            self._import_pack(module.name)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            self._import_pack(ep.value, label=f"entry point {ep.name!r}")
        self.validate()
        return self

    def _import_pack(self, module_name: str, label: str = "") -> None:
        try:
            importlib.import_module(module_name)
        except Exception as exc:  # a broken third-party pack must not take the tool down
            message = f"check pack {module_name} ({label or 'built-in'}) failed to load: {exc!r}"
            log.error(message)
            self.load_errors.append(message)

    def validate(self) -> None:
        """Every check must name known facts and requirements that exist in the catalog."""
        from auditor.catalog import load_catalog

        catalog = load_catalog()
        for spec in self.checks.values():
            for name in spec.facts:
                if name not in self.facts:
                    raise ValueError(f"check {spec.id} needs unknown fact {name!r}")
            for req in spec.requirements:
                catalog.get(req)

    def for_type(self, component_type: str) -> list[CheckSpec]:
        return sorted((c for c in self.checks.values() if component_type in c.applies_to), key=lambda c: c.id)

    def check(self, check_id: str) -> CheckSpec:
        try:
            return self.checks[check_id]
        except KeyError:
            raise KeyError(f"unknown check {check_id!r}") from None

    def requests_for(self, specs: Iterable[CheckSpec]) -> dict[str, list[EvidenceRequest]]:
        """Union of the reads the given checks need, grouped by protocol, without duplicates."""
        by_protocol: dict[str, dict[str, EvidenceRequest]] = {}
        for spec in specs:
            for fact_name in spec.facts:
                fact_spec = self.facts[fact_name]
                bucket = by_protocol.setdefault(fact_spec.protocol, {})
                for request in fact_spec.requests:
                    bucket.setdefault(request.key, request)
        return {protocol: list(reqs.values()) for protocol, reqs in by_protocol.items()}


REGISTRY = Registry()


def fact(name: str, *, protocol: str, requests: Iterable[EvidenceRequest], description: str = ""
         ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a fact parser: ``parser(evidence: FactEvidence) -> value``."""

    def register(parser: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY.add_fact(FactSpec(name=name, protocol=protocol, requests=tuple(requests), parser=parser,
                                   description=description or (inspect.getdoc(parser) or "").split("\n")[0],
                                   pack=parser.__module__))
        return parser

    return register


def check(id: str, *, title: str, requirements: Iterable[str], applies_to: Iterable[str],
          severity: Severity, remediation: str, rationale: str = "", params: dict[str, Any] | None = None
          ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a check. Facts are named by the function's parameters; ``params`` receives the profile's values.

    The rationale defaults to the function's docstring, which should say why the check matters.
    """
    if not CHECK_ID.match(id):
        raise ValueError(f"check id {id!r} must be lowercase and dotted: <pack>.<subject>.<property>")
    if severity not in SEVERITIES:
        raise ValueError(f"check {id}: severity {severity!r} not in {SEVERITIES}")
    applies = tuple(applies_to)
    unknown = set(applies) - {"host", "network", "embedded", "application"}
    if unknown or not applies:
        raise ValueError(f"check {id}: applies_to {applies} must name component types")

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        arguments = tuple(inspect.signature(function).parameters)
        names = tuple(p for p in arguments if p != "params")
        REGISTRY.add_check(CheckSpec(
            id=id, title=title, rationale=rationale or inspect.getdoc(function) or "", remediation=remediation,
            requirements=tuple(_canonical(r) for r in requirements), applies_to=applies, severity=severity,
            facts=names, params=dict(params or {}), function=function, pack=function.__module__,
            takes_params="params" in arguments))
        return function

    return register


def _canonical(requirement: str) -> str:
    from auditor.catalog import normalize_id

    return normalize_id(requirement)


def ssh_exec(command: str, *, sudo: bool = False) -> EvidenceRequest:
    """A read-only shell command run over SSH; ``sudo=True`` tries ``sudo -n`` and falls back to the user."""
    return EvidenceRequest(protocol="ssh", op="exec", target=command, options=(("sudo", True),) if sudo else ())


def request(protocol: str, op: str, target: str, **options: Any) -> EvidenceRequest:
    """A generic read for connectors other than SSH (SNMP walk, Modbus read, OPC UA service call...)."""
    return EvidenceRequest(protocol=protocol, op=op, target=target, options=tuple(sorted(options.items())))
