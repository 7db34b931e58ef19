"""checks/opcua/server.py: auditing, build information and anonymous write access, from session reads;
no session -> manual, never pass."""

from __future__ import annotations

import pytest
from opcua_evidence import OpcuaEvidence, endpoint, token

from checks.opcua.facts import SERVER_READ, VARIABLES

ANON = [endpoint("None", "None", [token("Anonymous", "None")])]
NO_ANON = [endpoint("Basic256Sha256", "SignAndEncrypt", [token("UserName")])]


def test_auditing_pass_fail_and_unreadable() -> None:
    assert OpcuaEvidence().server_read(auditing=True).check("opcua.server.auditing").status == "pass"
    verdict = OpcuaEvidence().server_read(auditing=False).check("opcua.server.auditing")
    assert verdict.status == "fail" and verdict.observed == {"auditing": False, "read_as": "username"}
    denied = OpcuaEvidence().server_read(auditing=("BadUserAccessDenied", None)).check("opcua.server.auditing")
    assert denied.status == "manual" and "BadUserAccessDenied" in denied.reason
    odd = OpcuaEvidence().server_read(auditing="yes").check("opcua.server.auditing")
    assert odd.status == "manual"


def test_no_session_is_manual_with_the_reason() -> None:
    ev = OpcuaEvidence().skipped(SERVER_READ, "no anonymous session: the inventory does not allow an anonymous session")
    for check_id in ("opcua.server.auditing", "opcua.identity.build-info"):
        verdict = ev.check(check_id)
        assert verdict.status == "manual" and "does not allow" in verdict.reason and "anonymous_session" in verdict.reason


def test_session_failure_is_an_error() -> None:
    ev = OpcuaEvidence().failed(SERVER_READ, "session failed: ActivateSession answered BadUserAccessDenied")
    verdict = ev.check("opcua.server.auditing")
    assert verdict.status == "error" and "BadUserAccessDenied" in verdict.reason


def test_build_info_complete_passes() -> None:
    verdict = OpcuaEvidence().server_read().check("opcua.identity.build-info")
    assert verdict.status == "pass"
    assert verdict.observed["product_name"] == "Test Server" and verdict.observed["software_version"] == "2.4.1"


@pytest.mark.parametrize("overrides, words", [
    ({"software_version": "", "manufacturer_name": " "}, "empty: manufacturer_name, software_version"),
    ({"product_name": ("BadUserAccessDenied", None)}, "not readable: product_name (BadUserAccessDenied)"),
])
def test_build_info_incomplete_fails(overrides, words) -> None:
    verdict = OpcuaEvidence().server_read(**overrides).check("opcua.identity.build-info")
    assert verdict.status == "fail" and words in verdict.reason


def test_build_info_vulnerable_version_from_the_site_list() -> None:
    ev = OpcuaEvidence().server_read(product_name="Test Server", software_version="2.4.1")
    listed = [{"product": "Test*", "version": "2.4.*", "advisory": "CVE-2099-0001, fixed in 2.5"}]
    verdict = ev.check("opcua.identity.build-info", vulnerable_versions=listed)
    assert verdict.status == "fail" and "CVE-2099-0001" in verdict.reason
    other = [{"product": "Test*", "version": "1.*"}]
    assert ev.check("opcua.identity.build-info", vulnerable_versions=other).status == "pass"
    assert ev.check("opcua.identity.build-info", vulnerable_versions=["bad entry"]).status == "manual"


def test_server_read_garbage_is_an_error() -> None:
    for response in ('{"values": {"i=2994": {"status": "Good", "value": true}}}', '[]', '{"values": 3}'):
        ev = OpcuaEvidence().raw(SERVER_READ, response)
        assert ev.check("opcua.server.auditing").status == "error", response


def test_anonymous_write() -> None:
    writable = OpcuaEvidence().endpoints(ANON).variables([3, 1, 1])
    verdict = writable.check("opcua.variables.anonymous-write")
    assert verdict.status == "fail" and verdict.observed["writable_count"] == 1
    read_only = OpcuaEvidence().endpoints(ANON).variables([1, 1, 5])  # 5 = read + history read, no CurrentWrite
    assert read_only.check("opcua.variables.anonymous-write").status == "pass"


def test_anonymous_write_on_a_partial_sample_is_manual() -> None:
    """No writable variable in a truncated sample, or beside unreadable access levels, proves nothing."""
    truncated = OpcuaEvidence().endpoints(ANON).variables([1, 1, 5], truncated=True)
    verdict = truncated.check("opcua.variables.anonymous-write")
    assert verdict.status == "manual" and "limit" in verdict.reason
    partial = OpcuaEvidence().endpoints(ANON).variables([1, None, 5])
    verdict = partial.check("opcua.variables.anonymous-write")
    assert verdict.status == "manual" and "could not be read" in verdict.reason


def test_anonymous_write_not_offered_passes_without_a_session() -> None:
    ev = OpcuaEvidence().endpoints(NO_ANON).skipped(VARIABLES, "no anonymous session: no endpoint offers the Anonymous user token")
    verdict = ev.check("opcua.variables.anonymous-write")
    assert verdict.status == "pass" and "no endpoint offers" in verdict.reason


def test_anonymous_write_offered_but_not_sampled_is_manual() -> None:
    ev = OpcuaEvidence().endpoints(ANON).skipped(VARIABLES)
    assert ev.check("opcua.variables.anonymous-write").status == "manual"
    empty = OpcuaEvidence().endpoints(ANON).variables([])
    assert empty.check("opcua.variables.anonymous-write").status == "manual"
    unreadable = OpcuaEvidence().endpoints(ANON).variables([None, None])
    assert unreadable.check("opcua.variables.anonymous-write").status == "manual"


def test_anonymous_write_garbage_is_an_error() -> None:
    ev = OpcuaEvidence().endpoints(ANON).json(VARIABLES, {"variables": [{"node_id": "ns=2;i=1", "user_access_level": "rw"}]})
    assert ev.check("opcua.variables.anonymous-write").status == "error"


def test_clock_pass_and_fail() -> None:
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    ev = OpcuaEvidence(collected_at=now).server_read(current_time=now.isoformat())
    assert ev.check("opcua.server.clock").status == "pass"
    late = OpcuaEvidence(collected_at=now).server_read(current_time=(now - dt.timedelta(seconds=90)).isoformat())
    verdict = late.check("opcua.server.clock")
    assert verdict.status == "fail" and "off by 90.0 s" in verdict.reason
    assert late.check("opcua.server.clock", max_skew_seconds=120).status == "pass"
    odd = OpcuaEvidence(collected_at=now).server_read(current_time="yesterday")
    assert odd.check("opcua.server.clock").status == "manual"
    skipped = OpcuaEvidence().skipped(SERVER_READ, "no anonymous session: not allowed")
    assert skipped.check("opcua.server.clock").status == "manual"


def test_audit_events_readable_by_tools() -> None:
    from checks.opcua.facts import SERVER_EVENTS

    def events(value, status="Good"):
        return {"identity": "username", "endpoint": {}, "values": {"i=2253": {"status": status, "value": value}}}

    ev = OpcuaEvidence().server_read(auditing=True).json(SERVER_EVENTS, events(1))
    assert ev.check("opcua.server.audit-events").status == "pass"
    off = OpcuaEvidence().server_read(auditing=False).json(SERVER_EVENTS, events(1))
    assert off.check("opcua.server.audit-events").status == "fail"
    no_events = OpcuaEvidence().server_read(auditing=True).json(SERVER_EVENTS, events(0))
    verdict = no_events.check("opcua.server.audit-events")
    assert verdict.status == "fail" and "does not deliver events" in verdict.reason
    unreadable = OpcuaEvidence().server_read(auditing=True).json(SERVER_EVENTS, events(None, "BadUserAccessDenied"))
    assert unreadable.check("opcua.server.audit-events").status == "manual"
    skipped = OpcuaEvidence().skipped(SERVER_READ).skipped(SERVER_EVENTS)
    assert skipped.check("opcua.server.audit-events").status == "manual"
    garbled = OpcuaEvidence().server_read(auditing=True).json(SERVER_EVENTS, events("yes"))
    assert garbled.check("opcua.server.audit-events").status == "error"


def test_audit_events_whose_values_are_not_a_mapping_are_an_error() -> None:
    from checks.opcua.facts import SERVER_EVENTS

    # found by the fuzzer: "values" as text made the parser crash
    ev = OpcuaEvidence().server_read(auditing=True).json(SERVER_EVENTS, {"identity": "anonymous", "values": "Noo/"})
    verdict = ev.check("opcua.server.audit-events")
    assert verdict.status == "error" and "lacks node i=2253" in verdict.reason and "crashed" not in verdict.reason
