"""A host is judged by the checks of its platform only; the platform comes from the evidence, so a rescore
decides the same; the profiles give Windows the values Linux has where a parameter means the same."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from auditor.assessment.evaluate import evaluate_asset
from auditor.assessment.profiles import load_profile
from auditor.evidence import AssetEvidence, EvidenceItem, EvidenceRequest
from auditor.plant.inventory import Asset
from auditor.platforms import host_platform, platform_of
from auditor.registry import REGISTRY
from tests.unit.windows.evidence import WindowsEvidence

SESSION = EvidenceRequest(protocol="ssh", op="session", target="info")


def asset(**extra) -> Asset:
    return Asset.model_validate({"id": "w", "type": "host", "address": "127.0.31.9",
                                 "endpoints": [{"protocol": "ssh", "port": 22, "username": "auditor"}], **extra})


def session(info: dict) -> EvidenceItem:
    return EvidenceItem(id="w#0", asset="w", endpoint="ssh", request=SESSION, encoding="json", response=json.dumps(info))


def judged(items: list[EvidenceItem], profile: str = "host-sl2", **extra):
    loaded = load_profile(profile)
    result = evaluate_asset(asset(**extra), AssetEvidence(asset="w", items=items), loaded, loaded.sl_target)
    return {r.check_id: r for r in result.results}


def test_the_platform_is_the_inventorys_else_the_servers_identification() -> None:
    assert platform_of("SSH-2.0-OpenSSH_for_Windows_8.1") == "windows"
    assert platform_of("SSH-2.0-OpenSSH_9.2p1 Debian-2") == "linux"
    assert platform_of("SSH-2.0-OpenSSH_9.2p1", "windows") == "windows"
    older = session({"server_version": "SSH-2.0-OpenSSH_for_Windows_7.7"})  # evidence from before "platform"
    assert host_platform(None, [older])[0] == "windows"
    assert host_platform(None, [])[0] == "linux"


def test_a_windows_host_is_judged_by_windows_checks_only() -> None:
    items = [*WindowsEvidence("windows-weak").items, session({"platform": "windows",
                                                              "server_version": "SSH-2.0-OpenSSH_for_Windows_8.1"})]
    results = judged(items)
    # the Linux checks do not run (like a check for an interface the asset lacks): no row of them is listed
    assert not [cid for cid in results if REGISTRY.platforms_of(REGISTRY.check(cid)) == ("linux",)]
    assert len(results) >= 35 and results["windows.smb.v1-disabled"].status == "fail"


def test_a_linux_host_is_judged_by_linux_checks_only() -> None:
    results = judged([session({"platform": "linux", "server_version": "SSH-2.0-OpenSSH_9.2p1"})])
    assert not [cid for cid in results if cid.startswith("windows.")]
    assert results["linux.sshd.permit-root-login"].status == "error"  # its evidence is missing here


def test_the_inventory_platform_decides_for_an_unreached_host() -> None:
    results = judged([], platform="windows")
    assert "linux.sshd.permit-root-login" not in results
    assert results["windows.smb.v1-disabled"].status == "error"


def test_platform_is_only_for_hosts() -> None:
    with pytest.raises(ValidationError, match="only a host has a platform"):
        Asset.model_validate({"id": "s", "type": "network", "address": "127.0.31.9", "platform": "windows",
                              "endpoints": [{"protocol": "ssh", "port": 22, "username": "a"}]})
    with pytest.raises(ValidationError):
        asset(platform="macos")


@pytest.mark.parametrize("level", [3, 4])
def test_windows_parameters_follow_the_linux_ones_where_they_mean_the_same(level: int) -> None:
    profile = load_profile(f"host-sl{level}")

    def param(check_id: str, name: str):
        return profile.params_for(REGISTRY.check(check_id))[name]

    assert param("windows.password.min-length", "min_length") == param("linux.pam.pwquality", "min_length")
    assert param("windows.password.ageing", "max_days") == param("linux.accounts.password-ageing", "max_days")
    assert param("windows.lockout.threshold", "deny_max") == param("linux.pam.faillock", "deny_max")
    assert param("windows.session.lock", "max_seconds") == param("linux.session.timeout", "max_seconds")
    assert param("windows.password.history", "min_remember") == param("linux.pam.password-history", "min_remember")
    assert param("windows.malware.signatures", "max_signature_age_days") == param(
        "linux.malware.protection", "max_signature_age_days")
