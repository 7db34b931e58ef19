"""Property: every fact parser of every pack, fed mutated real device answers, returns a value or raises the
documented :class:`~auditor.facts.FactUnavailable` / :class:`~auditor.facts.FactParseError`; and every check
fed what such a parser returned gives a verdict without crashing.

The engine would survive a crash (it turns it into an ``error`` verdict saying "parser crashed"), but
that verdict tells the assessor nothing about the device; these tests make such crashes bugs to fix.
Seeds: ``seeds/evidence.json`` (``record_seeds.py``); example counts: ``conftest.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mutations import SEEDS, mutated_item

from auditor.assessment.evaluate import FactCache, run_check
from auditor.evidence import EvidenceItem
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import REGISTRY

REG = REGISTRY.load()


def _key(item: dict) -> str:
    return EvidenceItem(asset="x", endpoint="x", request=item["request"]).request.key


SEED_ITEMS = {asset: {_key(item): item for item in items} for asset, items in SEEDS.items()}


def _seeds_for(name: str) -> list[str]:
    """The seed assets holding at least one answer this fact reads."""
    keys = {request.key for request in REG.facts[name].requests}
    return sorted(asset for asset, items in SEED_ITEMS.items() if keys & set(items))


FACTS = sorted(REG.facts)


def test_the_seed_corpus_feeds_every_fact() -> None:
    assert len(FACTS) >= 50
    assert [name for name in FACTS if not _seeds_for(name)] == []


@st.composite
def evidence_for(draw: st.DrawFn, name: str) -> list[EvidenceItem]:
    """One seed asset's items, the fact's own answers mutated (each may also be missing)."""
    asset = draw(st.sampled_from(_seeds_for(name)))
    reads = {request.key for request in REG.facts[name].requests}
    items = []
    for index, (key, item) in enumerate(sorted(SEED_ITEMS[asset].items())):
        if key in reads:
            if draw(st.integers(0, 15)) == 0:
                continue  # not collected
            item = draw(mutated_item(item))
        items.append(EvidenceItem(id=f"{asset}#{index}", asset=asset, endpoint="fuzz", **item))
    return items


@pytest.mark.parametrize("name", FACTS)
@given(data=st.data())
def test_fact_parser_raises_only_its_documented_errors(name: str, data: st.DataObject) -> None:
    spec = REG.facts[name]
    items = data.draw(evidence_for(name))
    view = FactEvidence(name, spec.requests, {item.request.key: item for item in items})
    try:
        spec.parser(view)
    except (FactUnavailable, FactParseError):
        return
    cache = FactCache(items, REG)
    for check in (check for check in REG.checks.values() if name in check.facts):
        verdict, _ = run_check(check, cache, check.params)
        assert "parser crashed" not in verdict.reason, (check.id, verdict.reason)
        assert not verdict.reason.startswith("check crashed"), (check.id, verdict.reason)
