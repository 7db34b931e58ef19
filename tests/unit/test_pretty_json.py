"""reports.common.pretty_json writes exactly what json.dumps(indent=2, ensure_ascii=False, default=str) writes."""

from __future__ import annotations

import gc
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.common import pretty_json

KEYS = st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=20), st.dates())
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(KEYS, inner, max_size=5)), max_leaves=40)


def _standard(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@settings(max_examples=600, deadline=None)
@given(VALUES)
def test_the_same_text_as_the_standard_encoder(value: object) -> None:
    assert pretty_json(value) == _standard(value)


@pytest.mark.parametrize("value", [
    {}, [], (), "", 0, -0.0, float("nan"), float("-inf"), 10**30, "é ✓ \x1b \u2028", {"a": {"b": [[], {}]}},
    {1: "int key", 1.5: "float key", True: "bool key", None: "null key"}, [date(2026, 12, 7), {1, 2}],
])
def test_edge_cases(value: object) -> None:
    assert pretty_json(value) == _standard(value)


def test_keys_json_refuses_are_refused() -> None:
    with pytest.raises(TypeError):
        pretty_json({(1, 2): "tuple key"})
    with pytest.raises(TypeError):
        _standard({(1, 2): "tuple key"})


def test_it_leaves_no_reference_cycle_behind() -> None:
    """The standard indenting encoder's closures are cyclic garbage after every call; these are not."""
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            pretty_json({"a": [1, {"b": 2}]})
        assert gc.collect() == 0
        for _ in range(50):
            _standard({"a": [1, {"b": 2}]})
        assert gc.collect() > 0  # what this replaces did leave some
    finally:
        gc.enable()
