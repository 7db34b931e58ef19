"""Registry of facts, checks and drift snapshots, filled by check packs through three decorators.

A *fact* names the raw reads it needs and parses them into a typed value. A *check* is a pure
function whose parameters name the facts it needs (as pytest fixtures are named), plus an optional
``params`` argument carrying the profile's parameters. The engine reads these signatures to collect
exactly the evidence the selected checks need, and nothing more. A *snapshot* is an identity value of
an asset (OS release, firmware, listening services, a certificate fingerprint) computed from facts the
checks already parse; the history store keeps it and :mod:`auditor.store.drift` compares it between two
scans. Each pack keeps its snapshots in its ``drift.py``.

Built-in packs are the sub-packages of :mod:`checks`; third-party packs register a module in the
entry-point group ``iacs_auditor.checks`` (contract). Importing a pack runs its decorators.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import re
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Literal

from auditor.evidence import EvidenceRequest

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "iacs_auditor.checks"
CHECK_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9][a-z0-9-]*){2,}$")
#: A request's name: ``<source>.<what>`` (``files.dump``, ``sshd.effective-config``, ``snmp.scalars``).
REQUEST_NAME = re.compile(r"^[a-z0-9]+(\.[a-z0-9][a-z0-9-]*)+$")
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
    fixture_verdicts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIXTURE_VERDICTS))
    fixture_note: str = ""      # why the verdicts on the weak/hardened fixtures are not fail/pass
    #: Host platforms the check judges (``linux``, ``windows``); empty: every platform. Derived from the
    #: requests of its facts at load time (:meth:`Registry.platforms_of`) unless the check declares them.
    platforms: tuple[str, ...] = ()


SnapshotKind = Literal["version", "map", "set", "fingerprint"]


@dataclass(frozen=True)
class SnapshotSpec:
    """One identity value of an asset, computed from facts (by parameter order) or raw json items (by key).

    Kinds: ``version`` (a string: changed), ``map`` (name -> version: added / removed / changed), ``set``
    (strings: new / gone) and ``fingerprint`` (a string or {name: fingerprint}: replaced).
    """

    name: str
    label: str
    kind: SnapshotKind
    facts: tuple[str, ...]
    function: Callable[..., Any] = field(repr=False, compare=False)
    items: tuple[str, ...] = ()  # raw request keys (json items) instead of facts
    pack: str = ""


#: What every check gives on its pack's simulator fixtures unless it declares otherwise (with a reason):
#: the weak fixture shows the problem, the hardened one shows it fixed.
DEFAULT_FIXTURE_VERDICTS = {"weak": "fail", "hardened": "pass"}
VERDICTS = ("pass", "fail", "not_applicable", "error", "manual")
#: Host platforms a check may be limited to; a host's platform is what its SSH session found (or the inventory says).
PLATFORMS = ("linux", "windows")
#: The platform an SSH request's operation implies: ``exec`` runs in the POSIX sh script (Linux and Unix-like
#: hosts), ``powershell`` in the PowerShell script (Windows). Other reads (session info, wire probe, SNMP...)
#: imply none.
OP_PLATFORM = {("ssh", "exec"): "linux", ("ssh", "powershell"): "windows"}
#: Endpoint protocols that serve a request besides its own: WinRM runs the same PowerShell sections as OpenSSH for
#: Windows (:mod:`connectors.windows.script`), so one Windows pack is fed by either transport.
ALSO_SERVED_BY: dict[tuple[str, str], tuple[str, ...]] = {("ssh", "powershell"): ("winrm",)}


def serves(endpoint_protocol: str, request: EvidenceRequest) -> bool:
    """Whether an endpoint of ``endpoint_protocol`` can perform ``request``."""
    return endpoint_protocol == request.protocol or endpoint_protocol in ALSO_SERVED_BY.get(
        (request.protocol, request.op), ())


def contract_problems(spec: CheckSpec) -> list[str]:
    """The metadata every check must have, whatever its pack: what a report and an assessor rely on."""
    from auditor.assessment.catalog import TYPE_KIND, UnknownRequirement, load_catalog

    problems = []
    if not 10 <= len(spec.title) <= 100 or spec.title.endswith("."):
        problems.append("title: 10 to 100 characters, no final full stop")
    if len(spec.rationale.strip()) < 40:
        problems.append("rationale (or the function's docstring): at least 40 characters saying why it matters")
    if len(spec.remediation.strip()) < 30:
        problems.append("remediation: at least 30 characters saying what to change on that kind of component")
    if not spec.requirements:
        problems.append("requirements: name at least one SR/CR it gives evidence for")
    type_of_kind = {kind: ctype for ctype, kind in TYPE_KIND.items()}
    catalog = load_catalog()
    for requirement in spec.requirements:
        try:
            catalog.get(requirement)
        except UnknownRequirement as exc:
            problems.append(f"requirements: {exc}")
            continue
        kind = requirement.split()[0]
        if kind in type_of_kind and type_of_kind[kind] not in spec.applies_to:
            problems.append(f"requirements: {requirement} is a {type_of_kind[kind]} requirement, but the check "
                            f"applies to {', '.join(spec.applies_to)}")
    unknown_platforms = set(spec.platforms) - set(PLATFORMS)
    if unknown_platforms:
        problems.append(f"platforms: {', '.join(sorted(unknown_platforms))} not in {', '.join(PLATFORMS)}")
    for name, value in spec.params.items():
        if not _plain(value):
            problems.append(f"params.{name}: only booleans, numbers, strings, lists and mappings of them")
    if set(spec.fixture_verdicts) != set(DEFAULT_FIXTURE_VERDICTS) or not set(spec.fixture_verdicts.values()) <= set(
            VERDICTS):
        problems.append(f"fixture_verdicts: a verdict for 'weak' and 'hardened', each one of {', '.join(VERDICTS)}")
    elif spec.fixture_verdicts != DEFAULT_FIXTURE_VERDICTS and len(spec.fixture_note.strip()) < 20:
        problems.append("fixture_note: say why the fixtures do not give fail (weak) and pass (hardened)")
    return problems


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


class Registry:
    """All known facts, checks and snapshots. One process-wide instance: :data:`REGISTRY`."""

    def __init__(self) -> None:
        self.facts: dict[str, FactSpec] = {}
        self.checks: dict[str, CheckSpec] = {}
        self.snapshots: dict[str, SnapshotSpec] = {}
        self._loaded = False
        self.load_errors: list[str] = []
        #: ``EvidenceRequest.key`` -> the request's short, stable name (``ssh_exec(..., name=...)``). The name
        #: is not part of the key: recorded evidence and the history store stay keyed by the request itself.
        self.request_names: dict[str, str] = {}
        self.former_keys: dict[str, list[str]] = {}  # request key -> keys of its earlier forms (still read)

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

    def add_snapshot(self, spec: SnapshotSpec) -> None:
        existing = self.snapshots.get(spec.name)
        if existing and existing.function is not spec.function:
            raise ValueError(f"snapshot {spec.name!r} is defined twice ({existing.pack} and {spec.pack})")
        self.snapshots[spec.name] = spec

    def name_request(self, name: str, req: EvidenceRequest) -> EvidenceRequest:
        """Give ``req`` a short, stable name (simulator fixtures answer requests by it); one name per request."""
        if not REQUEST_NAME.match(name):
            raise ValueError(f"request name {name!r} must be lowercase and dotted: <source>.<what>")
        known = self.request_names.get(req.key)
        if known is not None and known != name:
            raise ValueError(f"request {req.key[:80]!r} is already named {known!r}, not {name!r}")
        taken = next((key for key, other in self.request_names.items() if other == name and key != req.key), None)
        if taken is not None:
            raise ValueError(f"request name {name!r} is already taken by {taken[:80]!r}")
        self.request_names[req.key] = name
        return req

    def request_name(self, req: EvidenceRequest) -> str | None:
        return self.request_names.get(req.key)

    def named_requests(self) -> dict[str, EvidenceRequest]:
        """``name -> request`` for every named request a registered fact needs (what a scan may send)."""
        named: dict[str, EvidenceRequest] = {}
        for spec in self.facts.values():
            for req in spec.requests:
                name = self.request_names.get(req.key)
                if name is not None:
                    named[name] = req
        return named

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
        """Every check must name known facts and keep the check contract (:func:`contract_problems`).

        A built-in check that breaks it stops the tool (a bug to fix before release); a third-party check
        that breaks it is left out with an error, so one sloppy pack cannot take the scan down.
        """
        for spec in list(self.checks.values()):
            problems = [f"needs unknown fact {name!r}" for name in spec.facts if name not in self.facts]
            problems += contract_problems(spec)
            platforms = self.platforms_of(spec)
            if len(platforms) > 1 and not spec.platforms:
                problems.append(f"platforms: its facts read from {' and '.join(platforms)} hosts at once")
            elif not problems and platforms != spec.platforms:
                self.checks[spec.id] = spec = replace(spec, platforms=platforms)
            if not problems:
                continue
            message = f"check {spec.id} ({spec.pack}) breaks the check contract: " + "; ".join(problems)
            if spec.pack.startswith("checks."):
                raise ValueError(message)
            log.error(message)
            self.load_errors.append(message)
            del self.checks[spec.id]

    def platforms_of(self, spec: CheckSpec) -> tuple[str, ...]:
        """The platforms a check judges: as declared, else those its facts' requests imply (none: every one)."""
        if spec.platforms:
            return spec.platforms
        implied = {OP_PLATFORM[(r.protocol, r.op)] for name in spec.facts if name in self.facts
                   for r in self.facts[name].requests if (r.protocol, r.op) in OP_PLATFORM}
        return tuple(p for p in PLATFORMS if p in implied)

    def can_feed(self, fact_name: str, protocols: Iterable[str]) -> bool:
        """Whether endpoints of ``protocols`` can perform a read of the fact (a fact whose reads go over several
        protocols, such as how a host was reached, needs only one of them)."""
        spec = self.facts[fact_name]
        protocols = set(protocols)
        if not spec.requests:
            return spec.protocol in protocols
        return any(serves(p, r) for r in spec.requests for p in protocols)

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
          severity: Severity, remediation: str, rationale: str = "", params: dict[str, Any] | None = None,
          fixture_verdicts: dict[str, str] | None = None, fixture_note: str = "",
          platforms: Iterable[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a check. Facts are named by the function's parameters; ``params`` receives the profile's values.

    ``platforms`` limits a host check to ``linux`` or ``windows`` hosts; by default the registry derives it
    from the requests of the check's facts (``ssh_exec``: linux, ``ssh_powershell``: windows, anything else:
    every platform), so a pack rarely names it.

    The rationale defaults to the function's docstring, which should say why the check matters. A check
    fails on its pack's weak simulator fixture and passes on the hardened one; where it cannot (the
    evidence cannot decide, or the fixtures do not differ in what it reads), ``fixture_verdicts`` says what
    it gives instead and ``fixture_note`` why. :func:`contract_problems` lists the rest of the contract.
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
            takes_params="params" in arguments,
            fixture_verdicts=dict(fixture_verdicts or DEFAULT_FIXTURE_VERDICTS), fixture_note=fixture_note,
            platforms=tuple(platforms)))
        return function

    return register


def snapshot(name: str, *, label: str, kind: SnapshotKind, facts: Iterable[str] = (), items: Iterable[str] = ()
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a drift snapshot value: ``function(*facts)`` or ``function(*json items)`` -> a value, or ``None``.

    A snapshot that raises or returns ``None`` (or an empty value) is left out: unknown, never a change.
    """
    if kind not in ("version", "map", "set", "fingerprint"):
        raise ValueError(f"snapshot {name}: kind {kind!r} must be version, map, set or fingerprint")

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY.add_snapshot(SnapshotSpec(name=name, label=label, kind=kind, facts=tuple(facts), function=function,
                                           items=tuple(items), pack=function.__module__))
        return function

    return register


def _canonical(requirement: str) -> str:
    from auditor.assessment.catalog import normalize_id

    return normalize_id(requirement)


def ssh_exec(command: str, *, sudo: bool = False, name: str | None = None, lane: str | None = None,
             formerly: Iterable[str] = ()) -> EvidenceRequest:
    """A read-only shell command run over SSH; ``sudo=True`` runs it under sudo where allowed, else as the user.

    ``name`` (``<source>.<what>``, e.g. ``files.dump``) is how simulator fixtures answer it; it is not part of
    the request's key, so naming or renaming a request never changes its recorded evidence. ``lane``: a read
    that takes seconds on the host runs in a script of its own beside the others (reads of one lane run in
    order). ``formerly``: the earlier texts of this command, so bundles recorded with them still rescore (the
    parser sees the item's own request and may tell the forms apart).
    """
    options = tuple(sorted({**({"sudo": True} if sudo else {}), **({"lane": lane} if lane else {})}.items()))
    req = EvidenceRequest(protocol="ssh", op="exec", target=command, options=options)
    for old in formerly:
        for old_options in dict.fromkeys([options, (("sudo", True),) if sudo else ()]):
            REGISTRY.former_keys.setdefault(req.key, []).append(
                EvidenceRequest(protocol="ssh", op="exec", target=old, options=old_options).key)
    return REGISTRY.name_request(name, req) if name is not None else req


def ssh_powershell(section: str, *, name: str | None = None) -> EvidenceRequest:
    """A read-only PowerShell section run over SSH on a Windows host (:mod:`connectors.windows.script`).

    ``section`` is PowerShell that prints ONE JSON document (it ends in ``ConvertTo-Json -Compress``);
    every section of a host runs in one composed script, each in its own runspace with a time bound.
    ``name`` as for :func:`ssh_exec`.
    """
    req = EvidenceRequest(protocol="ssh", op="powershell", target=section)
    return REGISTRY.name_request(name, req) if name is not None else req


def request(protocol: str, op: str, target: str, *, name: str | None = None, **options: Any) -> EvidenceRequest:
    """A generic read for connectors other than SSH (SNMP walk, Modbus read, OPC UA service call...).

    ``name`` as for :func:`ssh_exec`.
    """
    req = EvidenceRequest(protocol=protocol, op=op, target=target, options=tuple(sorted(options.items())))
    return REGISTRY.name_request(name, req) if name is not None else req
