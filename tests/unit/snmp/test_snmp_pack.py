"""The network-device pack as a whole: ids, metadata, requirement mapping, facts, requests and profiles."""

from __future__ import annotations

import re

import pytest
from snmp_evidence import snmp_checks

from auditor.assessment.catalog import load_catalog
from auditor.assessment.profiles import load_profile
from auditor.registry import REGISTRY

REQUIRED = ["snmp.version.v1-v2c-enabled", "snmp.community.default", "snmp.v3.auth-priv", "snmp.inventory.identity"]
ISSUE_TOPICS = ["snmp.v3.weak-protocols", "snmp.service.telnet", "snmp.service.http", "snmp.service.tftp",
                "snmp.interface.unused-enabled", "snmp.system.uptime", "snmp.time.ntp", "snmp.logging.syslog",
                "snmp.routing.ip-forwarding", "snmp.inventory.entity"]


def test_at_least_15_checks_including_the_required_and_issue_topics() -> None:
    ids = [c.id for c in snmp_checks()]
    assert len(ids) >= 15
    assert set(REQUIRED + ISSUE_TOPICS) <= set(ids)


def test_metadata_and_requirement_mapping() -> None:
    catalog = load_catalog()
    for spec in snmp_checks():
        assert re.fullmatch(r"snmp\.[a-z0-9]+\.[a-z0-9-]+", spec.id), spec.id
        assert spec.applies_to == ("network",), spec.id
        assert spec.title and len(spec.rationale) > 60 and len(spec.remediation) > 60, spec.id
        assert spec.severity in ("info", "low", "medium", "high", "critical")
        for req in spec.requirements:
            row = catalog.get(req)
            assert row.id == req and "network" in row.component_types, (spec.id, req)
        assert any(r.startswith(("CR ", "NDR ")) for r in spec.requirements), spec.id   # 4-2 evidence
        if spec.id != "snmp.system.uptime":                                             # 3-3 has no update SR
            assert any(r.startswith("SR ") for r in spec.requirements), spec.id


def test_pack_covers_all_seven_foundational_requirements() -> None:
    catalog = load_catalog()
    assert {catalog.get(r).fr for spec in snmp_checks() for r in spec.requirements} == {1, 2, 3, 4, 5, 6, 7}


def test_facts_are_prefixed_and_only_read_over_snmp() -> None:
    names = {name for spec in snmp_checks() for name in spec.facts}
    assert names and all(name.startswith("snmp_") for name in names)
    for name in names:
        fact = REGISTRY.facts[name]
        assert fact.protocol == "snmp" and fact.pack.startswith("checks.snmp")
        for req in fact.requests:
            assert req.protocol == "snmp" and req.op in ("get", "walk", "probe", "session"), req.key


def test_every_read_is_bounded_and_few() -> None:
    requests = REGISTRY.requests_for(snmp_checks())["snmp"]
    walks = [r for r in requests if r.op == "walk"]
    assert len(requests) <= 18
    for walk in walks:
        assert 0 < int(walk.option("max_rows")) <= 10000, walk.key
    masked = {r.target: r.option("mask_index") for r in walks if r.option("mask_index")}
    assert masked == {"1.3.6.1.6.3.16.1.2.1.5": "str@1",
                      "1.3.6.1.6.3.16.1.4.1.5 1.3.6.1.6.3.16.1.4.1.6": "str@0"}


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_network_profiles_load_and_select_the_pack(level: int) -> None:
    profile = load_profile(f"network-sl{level}")
    assert profile.type == "network" and profile.sl_target.highest() == level
    assert {c.id for c in profile.selected_checks()} >= set(REQUIRED)


def test_higher_levels_are_stricter_where_meaningful() -> None:
    spec = REGISTRY.check("snmp.time.clock-skew")
    skew = [load_profile(f"network-sl{n}").params_for(spec)["max_skew_seconds"] for n in (1, 2, 3, 4)]
    assert skew == sorted(skew, reverse=True) and skew[0] > skew[3]
    weak = REGISTRY.check("snmp.v3.weak-protocols")
    assert "SHA" not in load_profile("network-sl3").params_for(weak)["weak_auth"]
    assert "SHA" in load_profile("network-sl4").params_for(weak)["weak_auth"]


def test_probe_list_is_documented_in_the_pack() -> None:
    from checks.snmp import access
    from auditor.protocols.snmp import DEFAULT_COMMUNITIES

    assert DEFAULT_COMMUNITIES == ("public", "private")
    for name in DEFAULT_COMMUNITIES:
        assert f"``{name}``" in (access.__doc__ or "")
