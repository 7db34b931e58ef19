"""Every network check on recorded evidence: pass and fail from real recordings, the manual/not-applicable
paths where SNMP cannot decide, and error (never a crash) on failed or garbage evidence."""

from __future__ import annotations

from typing import Any

import pytest
from snmp_evidence import NAMES, NO_SUCH_OBJECT, Recording, integer, octets, snmp_checks

from auditor.registry import REGISTRY
from checks.snmp import facts as f

F, P, M, NA = "fail", "pass", "manual", "not_applicable"
# check id: verdict on sim-weak, sim-hardened, real-weak (net-snmp), real-hardened (net-snmp)
EXPECTED: dict[str, tuple[str, str, str, str]] = {
    "snmp.version.v1-v2c-enabled": (F, P, F, M),
    "snmp.community.default": (F, P, F, P),
    "snmp.v3.auth-priv": (F, P, F, M),
    "snmp.inventory.identity": (F, P, F, P),
    "snmp.v3.weak-protocols": (F, P, NA, P),
    "snmp.access.write-view": (F, P, F, P),
    "snmp.auth.failure-traps": (F, P, F, P),
    "snmp.service.telnet": (F, P, P, P),
    "snmp.service.http": (F, P, P, P),
    "snmp.service.tftp": (F, P, P, P),
    "snmp.service.legacy-cleartext": (P, P, P, P),
    "snmp.interface.unused-enabled": (F, P, P, P),
    "snmp.interface.wireless": (NA, NA, NA, NA),
    "snmp.vlan.default-vlan": (F, P, M, M),
    "snmp.routing.ip-forwarding": (F, P, P, P),
    "snmp.inventory.entity": (F, P, M, M),
    "snmp.firmware.minimum": (M, M, M, M),
    "snmp.system.uptime": (F, M, M, M),
    "snmp.time.ntp": (F, P, M, M),
    "snmp.time.clock-skew": (F, P, P, P),
    "snmp.logging.syslog": (F, P, M, M),
    "snmp.traps.receivers": (M, P, M, M),
}


def test_expectations_cover_the_pack() -> None:
    assert set(EXPECTED) == {c.id for c in snmp_checks()}


@pytest.mark.parametrize("name", NAMES)
def test_verdicts_on_recordings(name: str) -> None:
    recording = Recording(name)
    column = NAMES.index(name)
    got = {check_id: recording.check(check_id) for check_id in EXPECTED}
    wrong = {k: (v.status, v.reason) for k, v in got.items() if v.status != EXPECTED[k][column]}
    assert not wrong
    for verdict in got.values():
        assert verdict.reason and (verdict.status in (M, NA) or verdict.expected)


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_failed_reads_and_garbage_give_error_not_crash(check_id: str) -> None:
    spec = REGISTRY.check(check_id)
    reads = [r for name in spec.facts for r in REGISTRY.facts[name].requests]
    for req in reads:
        failed = Recording("sim-hardened").fail(req).check(check_id)
        assert failed.status == "error" and "timeout" in failed.reason, (req.key, failed)
        garbled = Recording("sim-hardened").garble(req).check(check_id)
        assert garbled.status == "error" and garbled.reason, (req.key, garbled)
        broken_json = Recording("sim-hardened").garble(req, "{not json", "json").check(check_id)
        assert broken_json.status == "error", (req.key, broken_json)


# ------------------------------------------------------------------ version and communities

def _v3_without_vacm(probe_enabled: bool = True) -> Recording:
    rec = Recording("sim-hardened")
    for req in (f.WALK_VACM_GROUPS, f.WALK_VACM_ACCESS, f.WALK_VACM_VIEWS):
        rec.set_rows(req, [])
    rec.edit(f.PROBE_COMMUNITIES, lambda d: d.update(enabled=probe_enabled))
    return rec


def _counters(rec: Recording, bad_versions: int, bad_names: int) -> Recording:
    def change(data: dict[str, Any]) -> None:
        data["counters_before"] = {"snmpInBadVersions": 10, "snmpInBadCommunityNames": 5}
        data["counters_after"] = {"snmpInBadVersions": 10 + bad_versions, "snmpInBadCommunityNames": 5 + bad_names}
    return rec.edit(f.PROBE_COMMUNITIES, change)


def test_version_proven_off_by_unsupported_version_counters_only() -> None:
    check = "snmp.version.v1-v2c-enabled"
    assert _counters(_v3_without_vacm(), 4, 0).check(check).status == P
    community_rejected = _counters(_v3_without_vacm(), 0, 4).check(check)
    assert community_rejected.status == M and "silence does not prove" in community_rejected.reason
    assert _v3_without_vacm(probe_enabled=False).check(check).status == M


def test_version_fails_on_a_probe_answer_or_a_community_group() -> None:
    check = "snmp.version.v1-v2c-enabled"
    answered = _v3_without_vacm().edit(
        f.PROBE_COMMUNITIES, lambda d: d["results"].__setitem__(1, {"community": "configured", "version": "1",
                                                                     "outcome": "answered"}))
    verdict = answered.check(check)
    assert verdict.status == F and "configured (v1)" in verdict.reason
    rows = Recording("sim-hardened").data(f.WALK_VACM_GROUPS)["rows"]
    extra = dict(rows[0], oid=rows[0]["oid"].replace(f"{f.VACM_SECURITY_TO_GROUP_STATUS}.3.",
                                                     f"{f.VACM_SECURITY_TO_GROUP_STATUS}.2."))
    mapped = Recording("sim-hardened").set_rows(f.WALK_VACM_GROUPS, rows + [extra]).check(check)
    assert mapped.status == F and "SNMPv2c" in mapped.reason


def test_default_community_probe_outcomes() -> None:
    check = "snmp.community.default"
    hardened = Recording("sim-hardened")
    assert hardened.copy().edit(f.PROBE_COMMUNITIES, lambda d: d.update(enabled=False)).check(check).status == M
    private = hardened.copy().edit(f.PROBE_COMMUNITIES, lambda d: d["results"][2].update(outcome="answered"))
    verdict = private.check(check)
    assert verdict.status == F and "private (v2c)" in verdict.reason
    dead = hardened.copy().edit(f.SESSION, lambda d: d.update(answered=False)).check(check)
    assert dead.status == M and "inconclusive" in dead.reason
    odd = hardened.copy().edit(f.PROBE_COMMUNITIES, lambda d: d["results"][0].update(outcome="error-status"))
    assert odd.check(check).status == M
    weak = Recording("sim-weak").check(check)
    assert weak.status == F and set(weak.observed["answered"]) >= {"public (v2c, audit session)", "private (v2c)",
                                                                    "private (v1)", "public (v1)"}


def test_a_configured_site_community_is_never_named() -> None:
    rec = Recording("sim-weak").edit(f.SESSION, lambda d: d.update(community="configured"))
    rec.edit(f.PROBE_COMMUNITIES, lambda d: d["results"].__delitem__(0))
    verdict = rec.check("snmp.community.default")
    assert verdict.status == F and "configured" not in str(verdict.observed.get("answered"))


# ------------------------------------------------------------------ SNMPv3

def test_auth_priv_lower_levels() -> None:
    check = "snmp.v3.auth-priv"
    rec = Recording("real-hardened")
    assert {r["outcome"] for r in rec.data(f.PROBE_LEVELS)["results"]} == {"rejected"}
    accepted = rec.copy().edit(f.PROBE_LEVELS, lambda d: d["results"][0].update(outcome="answered"))
    assert accepted.check(check).status == F
    silent = rec.copy().edit(f.PROBE_LEVELS, lambda d: d["results"][0].update(outcome="timeout"))
    assert silent.check(check).status == M
    auth_only = rec.copy().edit(f.SESSION, lambda d: d.update(security_level="authNoPriv"))
    assert auth_only.check(check).status == F


def test_weak_protocols_parameters() -> None:
    check = "snmp.v3.weak-protocols"
    assert Recording("sim-hardened").check(check, weak_auth=["none", "MD5", "SHA"]).status == F
    # the audit user alone proves nothing about the other users: never a pass on it
    unknown = Recording("sim-hardened").set_rows(f.WALK_USM, []).check(check)
    assert unknown.status == M and "other users" in unknown.reason


def test_weak_protocols_never_pass_an_unrecognised_protocol() -> None:
    def odd_auth(data: dict) -> None:
        for row in data["rows"]:
            if row["oid"].startswith("1.3.6.1.6.3.15.1.2.2.1.5."):
                row["value"] = "1.3.6.1.4.1.99999.1"
    verdict = Recording("sim-hardened").edit(f.WALK_USM, odd_auth).check("snmp.v3.weak-protocols")
    assert verdict.status == M and "not recognised" in verdict.reason


def test_default_communities_unanswered_pass_only_when_the_agent_counted_them() -> None:
    """Silence after a probe is a pass only if the agent's counters show it rejected every probe."""
    check = "snmp.community.default"
    assert Recording("sim-hardened").check(check).status == P  # 4 probes, 4 counted as bad versions
    assert Recording("real-hardened").check(check).status == P  # 4 counted as bad community names
    dropped = Recording("sim-hardened").edit(
        f.PROBE_COMMUNITIES, lambda d: d.update(counters_after=dict(d["counters_before"])))
    verdict = dropped.check(check)
    assert verdict.status == M and "counters do not show" in verdict.reason


def test_v1_v2c_off_is_proven_only_by_the_agent_discarding_v1_v2c() -> None:
    """A VACM table without community groups is no proof (communities may be authorised outside VACM)."""
    check = "snmp.version.v1-v2c-enabled"
    no_probe = Recording("sim-hardened").edit(f.PROBE_COMMUNITIES, lambda d: d.update(enabled=False, results=[]))
    verdict = no_probe.check(check)
    assert verdict.status == M and "outside VACM" in verdict.reason
    assert Recording("sim-hardened").check(check).status == P  # snmpInBadVersions counted every probe
    assert Recording("real-hardened").check(check).status == M  # communities parsed, just unknown to us


def test_auth_priv_needs_readable_vacm_and_no_community_access() -> None:
    check = "snmp.v3.auth-priv"
    hidden = Recording("sim-hardened").set_rows(f.WALK_VACM_ACCESS, []).check(check)
    assert hidden.status == M and "not readable" in hidden.reason
    vacm = Recording("sim-hardened").data(f.WALK_VACM_ACCESS)
    assert Recording("sim-hardened").check(check).status == P and vacm["rows"]
    # VACM alone is no proof: communities may be authorised outside it unless v1/v2c is proven off
    no_probe = Recording("sim-hardened").edit(f.PROBE_COMMUNITIES, lambda d: d.update(enabled=False, results=[]))
    verdict = no_probe.check(check)
    assert verdict.status == M and "outside VACM" in verdict.reason


def test_write_view_column_missing_is_unknown_not_empty() -> None:
    def drop_write_column(data: dict) -> None:
        data["rows"] = [r for r in data["rows"] if not r["oid"].startswith(f.VACM_ACCESS_WRITE_VIEW + ".")]
    rec = Recording("real-weak").edit(f.WALK_VACM_ACCESS, drop_write_column)
    assert rec.check("snmp.access.write-view").status == M


def test_write_view_needs_visible_tables() -> None:
    check = "snmp.access.write-view"
    assert Recording("sim-weak").set_rows(f.WALK_VACM_ACCESS, []).check(check).status == M
    hidden_views = Recording("real-weak").set_rows(f.WALK_VACM_VIEWS, []).check(check)
    assert hidden_views.status == M and "view tree" in hidden_views.reason
    assert Recording("real-weak").check(check, write_requires="everything").status == "error"


# ------------------------------------------------------------------ services, interfaces, routing

def test_services_loopback_only_and_hidden_tables() -> None:
    loopback = [{"oid": f"{f.TCP_LISTENER_PROCESS}.1.4.127.0.0.1.23", "type": "Gauge32", "value": 0}]
    verdict = Recording("sim-weak").set_listeners(loopback).check("snmp.service.telnet")
    assert verdict.status == P and "loopback only" in verdict.reason
    hidden = Recording("sim-weak").set_listeners([]).check("snmp.service.telnet")
    assert hidden.status == M and "port scan" in hidden.reason
    ftp = [{"oid": f"{f.TCP_LISTENER_PROCESS}.1.4.0.0.0.0.21", "type": "Gauge32", "value": 0}]
    assert Recording("sim-hardened").set_listeners(ftp).check("snmp.service.legacy-cleartext").status == F
    assert Recording("sim-weak").check("snmp.service.telnet", ports=["telnet"]).status == "error"


def test_unused_ports_ignore_and_no_ports() -> None:
    check = "snmp.interface.unused-enabled"
    assert Recording("sim-weak").check(check, ignore=["Gi1/[4-7]"]).status == P
    assert Recording("sim-weak").set_rows(f.WALK_INTERFACES, []).check(check).status == M


def test_wireless_absent_proves_the_rows_not_applicable_and_present_asks() -> None:
    check = "snmp.interface.wireless"
    absent = Recording("sim-hardened").check(check)
    assert absent.status == NA and absent.proves_not_applicable and "no wireless access" in absent.reason
    radio = [{"oid": f"{f.IF_TYPE}.99", "type": "Integer", "value": 71},
             {"oid": f"{f.IF_DESCR}.99", "type": "OctetString", "value": "wlan0", "hex": "776c616e30"}]
    present = Recording("sim-hardened").edit(f.WALK_INTERFACES, lambda data: data["rows"].extend(radio)).check(check)
    assert present.status == M and not present.proves_not_applicable and "wlan0" in present.reason
    assert Recording("sim-hardened").set_rows(f.WALK_INTERFACES, []).check(check).status == M
    assert Recording("sim-hardened").check(check, wireless_types="wifi").status == "error"


def test_routing_allowed_and_hidden() -> None:
    check = "snmp.routing.ip-forwarding"
    assert Recording("sim-weak").check(check, routing_allowed=True).status == NA
    half = Recording("sim-hardened").set_varbind(f.SCALARS, f.IPV6_FORWARDING, NO_SUCH_OBJECT)
    assert half.check(check).status == M  # one protocol unknown: never a pass on the other alone
    hidden = Recording("sim-weak").set_varbind(f.SCALARS, f.IP_FORWARDING, NO_SUCH_OBJECT)
    hidden.set_varbind(f.SCALARS, f.IPV6_FORWARDING, NO_SUCH_OBJECT)
    assert hidden.check(check).status == M


# ------------------------------------------------------------------ system, time, logging

def test_identity_without_a_firmware_version_is_manual() -> None:
    rec = Recording("sim-hardened").set_varbind(f.SCALARS, f.SYS_DESCR, octets("Managed industrial switch"))
    rec.set_rows(f.WALK_ENTITIES, [])
    verdict = rec.check("snmp.inventory.identity")
    assert verdict.status == M and "firmware version" in verdict.reason


def test_identity_placeholders_and_missing_name() -> None:
    check = "snmp.inventory.identity"
    assert Recording("real-weak").check(check, require_contact=False, require_location=False).status == P
    no_name = Recording("sim-hardened").set_varbind(f.SCALARS, f.SYS_NAME, octets("")).check(check)
    assert no_name.status == F and "sysName" in no_name.reason
    placeholder = Recording("sim-hardened").set_varbind(f.SCALARS, f.SYS_LOCATION,
                                                        octets("Sitting on the Dock of the Bay"))
    assert placeholder.check(check).status == F
    assert Recording("real-hardened").check(check).observed["firmware_source"] == "sysDescr.0 (parsed)"


def test_ntp_vendor_mib_and_unknown() -> None:
    rec = Recording("sim-weak").set_varbind(f.SCALARS, f.NTP_ENT_STATUS_CURRENT_MODE, NO_SUCH_OBJECT)
    assert rec.copy().set_varbind(f.SCALARS, f.CNTP_SYS_SRV_STATUS, integer(6)).check("snmp.time.ntp").status == P
    assert rec.copy().set_varbind(f.SCALARS, f.CNTP_SYS_SRV_STATUS, integer(1)).check("snmp.time.ntp").status == M
    assert Recording("sim-weak").set_varbind(f.SCALARS, f.NTP_ENT_STATUS_CURRENT_MODE, integer(99)) \
        .check("snmp.time.ntp").status == M


def test_clock_skew_limits_and_absence() -> None:
    check = "snmp.time.clock-skew"
    assert Recording("sim-weak").check(check, max_skew_seconds=4000).status == P
    assert Recording("sim-hardened").set_varbind(f.SCALARS, f.HR_SYSTEM_DATE, NO_SUCH_OBJECT).check(check).status == M
    assert Recording("sim-hardened").check(check, max_skew_seconds="soon").status == "error"


def test_uptime_limit_and_syslog_absence() -> None:
    assert Recording("sim-weak").check("snmp.system.uptime", max_uptime_days=500).status == M
    assert Recording("sim-hardened").check("snmp.system.uptime", max_uptime_days=10).status == F
    hidden = Recording("sim-weak").set_varbind(f.SCALARS, f.CLOG_MAX_SERVERS, NO_SUCH_OBJECT)
    assert hidden.check("snmp.logging.syslog").status == M


def test_entity_gaps() -> None:
    rows = [r for r in Recording("sim-hardened").data(f.WALK_ENTITIES)["rows"]
            if not r["oid"].startswith(f"{f.ENT_PHYSICAL}.11.")]
    verdict = Recording("sim-hardened").set_rows(f.WALK_ENTITIES, rows).check("snmp.inventory.entity")
    assert verdict.status == F and "serial number" in verdict.reason
