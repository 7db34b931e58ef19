"""Requirement claims an independent review found unfounded: each check claims only what its evidence shows."""

from __future__ import annotations

import pytest

from auditor.assessment.profiles import load_profile
from auditor.registry import REGISTRY

#: check id -> requirement ids it must NOT claim (and why)
NOT_CLAIMED = {
    "linux.sshd.idle-timeout": ["SR 2.6", "CR 2.6"],        # ClientAlive ends dead connections, not idle sessions
    "linux.sshd.session-limits": ["SR 2.7", "CR 2.7"],      # MaxSessions is per connection, not per user
    "linux.accounts.service-shells": ["SR 1.11", "CR 1.11"],  # no login shell is not a failed-login limit
    "linux.sshd.login-grace-time": ["SR 1.11", "CR 1.11"],
    "linux.log.permissions": ["SR 6.1", "CR 6.1"],          # restricting access is not providing it
    "snmp.logging.syslog": ["SR 2.9", "CR 2.9"],            # forwarding is not storage capacity
    "linux.log.journald-persistent": ["SR 2.9", "CR 2.9"],
    "linux.mac.enforcing": ["HDR 3.2"],                     # MAC is not malicious code protection
    "linux.kernel.hardening": ["HDR 3.2"],
    "snmp.routing.ip-forwarding": ["NDR 5.2"],              # a non-routing switch is no boundary device
    "modbus.zone.boundary-protection": ["CR 5.1"],          # a zone firewall is not the component's capability
    "linux.sshd.access-allow-list": ["SR 1.13"],
}


@pytest.mark.parametrize("check_id, dropped", sorted(NOT_CLAIMED.items()))
def test_unfounded_claims_are_gone(check_id: str, dropped: list[str]) -> None:
    spec = REGISTRY.load().checks[check_id]
    assert spec.requirements and not set(dropped) & set(spec.requirements), spec.requirements


def test_idle_sessions_and_clock_skew_at_their_levels() -> None:
    registry = REGISTRY.load()
    assert "CR 2.6" in registry.checks["linux.session.timeout"].requirements
    skew = registry.checks["snmp.time.clock-skew"]
    # CR 2.11 RE1 applies from SL 2, so the tighter skew is applied from SL 2 on
    assert load_profile("network-sl1").params_for(skew)["max_skew_seconds"] > 2
    assert [load_profile(f"network-sl{n}").params_for(skew)["max_skew_seconds"] for n in (2, 3, 4)] == [2, 2, 1]
