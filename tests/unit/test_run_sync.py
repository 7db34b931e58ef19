"""``run_sync``: a coroutine's result handed back without ``asyncio.run`` formatting it."""

from __future__ import annotations

import pytest

from auditor.engine import run_sync


class _Costly:
    """Stands for a plant's evidence: counts how often it is formatted."""

    formatted = 0

    def __repr__(self) -> str:
        _Costly.formatted += 1
        return "_Costly()"


def test_result_is_returned_and_never_formatted() -> None:
    async def produce() -> tuple[_Costly, int]:
        return _Costly(), 7

    _Costly.formatted = 0
    value, number = run_sync(produce())
    assert isinstance(value, _Costly) and number == 7
    assert _Costly.formatted == 0


def test_an_exception_reaches_the_caller() -> None:
    async def fail() -> None:
        raise LookupError("no such asset")

    with pytest.raises(LookupError, match="no such asset"):
        run_sync(fail())
