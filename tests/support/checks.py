"""Run one fact parser or one check on recorded evidence, exactly as the engine does.

The packs' evidence builders (``tests/unit/linux/evidence.py`` and ``system_evidence.py``,
``tests/unit/snmp/snmp_evidence.py``, ``tests/unit/modbus/modbus_evidence.py``,
``tests/unit/opcua/opcua_evidence.py``) each build items their own way and inherit :class:`RunsChecks` for
``.fact(name)`` and ``.check(check_id, **params)``; a test with a plain list of items calls the functions.

* :func:`parse_fact` calls the fact's parser on a :class:`~auditor.facts.FactEvidence` restricted to the
  requests the fact declared, and raises :class:`~auditor.facts.FactUnavailable` /
  :class:`~auditor.facts.FactParseError` as the engine sees them (a parser bug raises as it is);
* :func:`check_verdict` runs a check through :func:`auditor.assessment.evaluate.run_check` with the check's
  default parameters overridden by ``params``: missing or garbled evidence becomes ``error`` with the
  engine's reason; :func:`check_verdicts` runs many checks on one set of items (each fact parsed once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.assessment.evaluate import FactCache, run_check
from auditor.evidence import EvidenceItem
from auditor.facts import FactEvidence
from auditor.registry import REGISTRY, CheckSpec
from auditor.verdicts import Verdict

#: Evidence items as a list, or keyed by request key (``{item.request.key: item}``).
Items = Iterable[EvidenceItem] | Mapping[str, EvidenceItem]


def _listed(items: Items) -> list[EvidenceItem]:
    return list(items.values()) if isinstance(items, Mapping) else list(items)


def parse_fact(items: Items, name: str) -> Any:
    """The value of fact ``name`` parsed from ``items``."""
    spec = REGISTRY.load().facts[name]
    return spec.parser(FactEvidence(name, spec.requests, {i.request.key: i for i in _listed(items)},
                                    REGISTRY.former_keys))


def run_check_with_evidence(items: Items, check_id: str, **params: Any) -> tuple[Verdict, list[str]]:
    """The verdict of check ``check_id`` on ``items`` and the ids of the evidence items it used."""
    spec = REGISTRY.load().check(check_id)
    return run_check(spec, FactCache(_listed(items), REGISTRY), {**spec.params, **params})


def check_verdict(items: Items, check_id: str, **params: Any) -> Verdict:
    """The verdict of check ``check_id`` on ``items``."""
    return run_check_with_evidence(items, check_id, **params)[0]


def check_verdicts(items: Items, specs: Iterable[CheckSpec]) -> dict[str, Verdict]:
    """Check id -> verdict of every check in ``specs`` on ``items``, each with its default parameters."""
    facts = FactCache(_listed(items), REGISTRY.load())
    return {spec.id: run_check(spec, facts, spec.params)[0] for spec in specs}


class RunsChecks:
    """``.fact``/``.check`` for an evidence builder that keeps its items in ``self.items``."""

    items: Items

    def fact(self, name: str) -> Any:
        return parse_fact(self.items, name)

    def check(self, check_id: str, **params: Any) -> Verdict:
        return check_verdict(self.items, check_id, **params)

    def check_with_evidence(self, check_id: str, **params: Any) -> tuple[Verdict, list[str]]:
        return run_check_with_evidence(self.items, check_id, **params)
