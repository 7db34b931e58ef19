"""Helpers that start real servers (sshd, snmpd, PostgreSQL) on loopback for the integration tests."""

from __future__ import annotations

import os


def require(what: str, reason: str | None) -> None:
    """Skip the calling test when ``what`` cannot run here (``reason``); under CI=true fail instead, so CI
    can never pass by silently skipping the tests against real servers."""
    if reason is None:
        return
    import pytest  # imported lazily: the support modules are usable without pytest

    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"{what} unavailable: {reason}")
