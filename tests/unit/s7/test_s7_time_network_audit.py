"""checks/s7 time, network and diagnostic buffer checks on recorded SZL answers: each passes, fails and is manual
(or an error) on evidence, a refused list never passes, and a garbled list is an error, never a traceback."""

from __future__ import annotations

import struct
from datetime import datetime, timezone

import pytest
from s7_evidence import S7Evidence, szl_list

from checks.s7.facts import DIAGNOSTIC_BUFFER, ETHERNET, TIME_STATUS, date_and_time
from simulators.s7.server import _date_and_time

READ_AT = datetime(2026, 3, 29, 10, 0, 0, tzinfo=timezone.utc)  # the auditor's clock when the answer came back


def time_record(cpu: datetime | bytes, *, synchronized: bool = True, cycle: int = 10, valid: bool = True,
                correction_half_hours: int = 0) -> bytes:
    stamp = cpu if isinstance(cpu, bytes) else _date_and_time(cpu)
    status = (0x8000 if correction_half_hours < 0 else 0) | (abs(correction_half_hours) << 10) | int(synchronized)
    return szl_list(40, [struct.pack(">HHH", 8, cycle, 0) + bytes(16) + stamp + bytes(4) + struct.pack(">H", status)
                         + bytes(3) + bytes([int(valid)])])


def clock_evidence(cpu: datetime | bytes, **status) -> S7Evidence:
    """A time status answer that came back at READ_AT after 200 ms on the wire."""
    return S7Evidence("hardened").answer(TIME_STATUS, time_record(cpu, **status),
                                         item={"collected_at": READ_AT, "duration_ms": 200.0})


def at(seconds: float) -> datetime:
    """The CPU's (naive) clock reading ``seconds`` from READ_AT."""
    return datetime.fromtimestamp(READ_AT.timestamp() + seconds, timezone.utc).replace(tzinfo=None)


def interface(address: str, mask: str, router: str | None = None, source: int = 1) -> bytes:
    import ipaddress
    ip = ipaddress.IPv4Address(address)
    return (struct.pack(">H", 0x7FF0) + ip.packed + ipaddress.IPv4Address(mask).packed
            + ipaddress.IPv4Address(router or address).packed + bytes(6) + bytes([source, 0]) + bytes(26))


def entry(event: int, stamp: bytes) -> bytes:
    return struct.pack(">H", event) + bytes(10) + stamp


# ---------------------------------------------------------------------------------------------- DATE_AND_TIME

@pytest.mark.parametrize("raw, expected", [
    (bytes.fromhex("2603291005075634"), datetime(2026, 3, 29, 10, 5, 7, 563000)),
    (bytes.fromhex("9401010000000002"), datetime(1994, 1, 1)),
    (bytes.fromhex("26133210050700f1"), None),  # month 13
    (bytes.fromhex("2603291a05070001"), None),  # not BCD
    (bytes.fromhex("26032910050700"), None),  # seven bytes
    (bytes.fromhex("26032910050700a1"), None),  # millisecond digit 10
])
def test_date_and_time(raw, expected) -> None:
    assert date_and_time(raw) == expected


# ---------------------------------------------------------------------------------------------- clock (CR 2.11)

def test_clock_pass_fail_on_the_read_window() -> None:
    verdict = clock_evidence(at(-0.1)).check("s7.time.clock")  # inside the 200 ms the read took
    assert verdict.status == "pass" and verdict.observed["skew_seconds"] == 0.0
    assert clock_evidence(at(1.5)).check("s7.time.clock").status == "pass"
    verdict = clock_evidence(at(-754)).check("s7.time.clock")
    assert verdict.status == "fail" and "off by -753.8 s" in verdict.reason
    assert clock_evidence(at(1.5)).check("s7.time.clock", max_skew_seconds=1.0).status == "fail"


def test_clock_in_local_time() -> None:
    # an hour ahead: a time zone, which the CPU's own correction or the site's offset explains, else a question
    verdict = clock_evidence(at(3600.4)).check("s7.time.clock")
    assert verdict.status == "manual" and "+1:00 h off UTC" in verdict.reason
    verdict = clock_evidence(at(3600.4), correction_half_hours=2).check("s7.time.clock")
    assert verdict.status == "pass" and "correction of +1:00 h" in verdict.reason
    assert clock_evidence(at(3600.4)).check("s7.time.clock", utc_offset_minutes=60).status == "pass"
    verdict = clock_evidence(at(3600.4)).check("s7.time.clock", utc_offset_minutes=120)
    assert verdict.status == "fail" and "UTC +120 min" in verdict.reason
    assert clock_evidence(at(3600 + 30)).check("s7.time.clock").status == "fail"  # a zone and 30 s more
    assert clock_evidence(at(-5.5 * 3600)).check("s7.time.clock").status == "manual"


def test_clock_manual_error_and_invalid_date() -> None:
    verdict = clock_evidence(bytes(8)).check("s7.time.clock")
    assert verdict.status == "fail" and "no valid date" in verdict.reason
    refused = S7Evidence("hardened").answer(TIME_STATUS, None)
    assert refused.check("s7.time.clock").status == "manual"
    assert clock_evidence(at(0)).check("s7.time.clock", max_skew_seconds="soon").status == "error"
    verdict = S7Evidence("hardened").answer(TIME_STATUS, szl_list(40, [bytes(40)])).check("s7.time.clock")
    assert verdict.status == "error" and "no time system record of index 8" in verdict.reason


# ------------------------------------------------------------------------------------ synchronization (RE1)

def test_synchronized_pass_fail_manual() -> None:
    verdict = clock_evidence(at(0)).check("s7.time.synchronized")
    assert verdict.status == "pass" and verdict.observed == {"synchronized": True, "status_valid": True,
                                                             "sync_cycle": 10}
    verdict = clock_evidence(at(0), synchronized=False, cycle=0).check("s7.time.synchronized")
    assert verdict.status == "fail" and "runs free" in verdict.reason
    verdict = clock_evidence(at(0), synchronized=False, cycle=10).check("s7.time.synchronized")
    assert verdict.status == "fail" and "synchronization failed" in verdict.reason
    verdict = clock_evidence(at(0), synchronized=True, valid=False).check("s7.time.synchronized")
    assert verdict.status == "manual" and "not valid" in verdict.reason
    assert S7Evidence("hardened").answer(TIME_STATUS, None).check("s7.time.synchronized").status == "manual"


def test_fixtures_time_status() -> None:
    assert S7Evidence("hardened").check("s7.time.clock").status == "pass"
    assert S7Evidence("weak").check("s7.time.clock").status == "fail"
    assert S7Evidence("hardened").check("s7.time.synchronized").status == "pass"
    assert S7Evidence("weak").check("s7.time.synchronized").status == "fail"


# ------------------------------------------------------------------------------------- interfaces (CR 5.1)

ZONE = ["127.0.10.0/24"]


def with_interfaces(*records: bytes) -> S7Evidence:
    return S7Evidence("hardened").answer(ETHERNET, szl_list(48, list(records)))


def test_interfaces_pass_fail_against_allowed_networks() -> None:
    one = with_interfaces(interface("127.0.10.221", "255.255.255.0"))
    verdict = one.check("s7.network.interfaces", allowed_networks=ZONE)
    assert verdict.status == "pass" and verdict.observed["interfaces"][0]["address"] == "127.0.10.221/24"
    verdict = one.check("s7.network.interfaces", allowed_networks=["127.0.11.0/24"])
    assert verdict.status == "fail" and "127.0.10.221/24" in verdict.reason
    wide = with_interfaces(interface("127.0.10.221", "255.255.0.0"))  # a mask wider than the zone's network
    assert wide.check("s7.network.interfaces", allowed_networks=ZONE).status == "fail"
    two = with_interfaces(interface("127.0.10.221", "255.255.255.0"),
                          interface("127.200.4.17", "255.255.0.0", "127.200.0.1", source=3))
    verdict = two.check("s7.network.interfaces", allowed_networks=ZONE)
    assert verdict.status == "fail" and "127.200.4.17/16" in verdict.reason
    assert verdict.observed["interfaces"][1] == {"address": "127.200.4.17/16", "router": "127.200.0.1",
                                                 "mac": "00:00:00:00:00:00", "source": "DHCP"}
    assert two.check("s7.network.interfaces", allowed_networks=ZONE + ["127.200.0.0/16"]).status == "pass"


def test_interfaces_without_the_parameter() -> None:
    verdict = S7Evidence("weak").check("s7.network.interfaces")
    assert verdict.status == "fail" and "sits in 2 networks" in verdict.reason
    verdict = S7Evidence("hardened").check("s7.network.interfaces")
    assert verdict.status == "manual" and "127.0.10.0/24" in verdict.reason
    unset = with_interfaces(interface("0.0.0.0", "0.0.0.0", source=0))
    assert unset.check("s7.network.interfaces", allowed_networks=ZONE).status == "manual"
    assert S7Evidence("hardened").answer(ETHERNET, None).check("s7.network.interfaces").status == "manual"
    verdict = S7Evidence("hardened").check("s7.network.interfaces", allowed_networks=["zone-a"])
    assert verdict.status == "error" and "allowed_networks" in verdict.reason


@pytest.mark.parametrize("data, words", [
    (szl_list(48, [interface("127.0.10.221", "255.0.255.0")]), "not a subnet mask"),
    (szl_list(12, [bytes(12)]), "48 expected"),
    (szl_list(48, [bytes(48)])[:30], "header says"),
])
def test_garbled_interfaces_are_errors(data, words) -> None:
    verdict = S7Evidence("hardened").answer(ETHERNET, data).check("s7.network.interfaces")
    assert verdict.status == "error" and words in verdict.reason


# -------------------------------------------------------------------------------- diagnostic buffer (CR 6.1)

def test_diagnostic_buffer_pass_fail_manual() -> None:
    verdict = S7Evidence("hardened").check("s7.audit.diagnostic-buffer")
    assert verdict.status == "pass" and [e["event_id"] for e in verdict.observed["entries"]] == [
        "0x4302", "0x4301", "0x1381"]
    assert all(e["time"] for e in verdict.observed["entries"])
    verdict = S7Evidence("weak").check("s7.audit.diagnostic-buffer")
    assert verdict.status == "fail" and "does not give its diagnostic buffer" in verdict.reason
    undated = S7Evidence("hardened").answer(DIAGNOSTIC_BUFFER, szl_list(20, [
        entry(0x4302, _date_and_time(datetime(2026, 3, 29, 9))), entry(0x4301, bytes(8))]))
    verdict = undated.check("s7.audit.diagnostic-buffer")
    assert verdict.status == "fail" and "1 of 2 entries carry no valid date" in verdict.reason
    assert verdict.observed["entries"][1] == {"event_id": "0x4301", "time": None}
    empty = S7Evidence("hardened").answer(DIAGNOSTIC_BUFFER, szl_list(20, []))
    assert empty.check("s7.audit.diagnostic-buffer").status == "manual"
    short = S7Evidence("hardened").answer(DIAGNOSTIC_BUFFER, szl_list(8, [bytes(8)]))
    verdict = short.check("s7.audit.diagnostic-buffer")
    assert verdict.status == "error" and "20 expected" in verdict.reason


def test_the_diagnostic_buffer_read_is_bounded() -> None:
    assert DIAGNOSTIC_BUFFER.target == "0x01A0,0x000A"  # the ten newest entries, never the whole buffer


def test_interfaces_snapshot() -> None:
    from auditor.registry import REGISTRY

    snapshot = REGISTRY.load().snapshots["s7_interfaces"].function
    assert snapshot(S7Evidence("weak").fact("s7_interfaces")) == ["127.0.10.220/24", "127.200.4.17/16 via 127.200.0.1"]
    assert snapshot(S7Evidence("hardened").answer(ETHERNET, None).fact("s7_interfaces")) is None


@pytest.mark.parametrize("extra, words", [
    ("clock: {skew: 3}", "unknown clock fields"),
    ("interfaces: [{address: 127.0.10.300/24}]", "interfaces[0]"),
    ("interfaces: [{address: 127.0.10.3/24, source: BOOTP}]", "interfaces[0].source"),
    ("diagnostic_buffer: [{event: 70000}]", "diagnostic_buffer[0].event"),
])
def test_bad_simulator_fixtures_are_refused(tmp_path, extra, words) -> None:
    from simulators.s7.server import FIXTURES, load_fixture

    fixture = tmp_path / "cpu.yaml"
    fixture.write_text((FIXTURES / "hardened.yaml").read_text().split("\nclock:")[0] + "\n" + extra + "\n")
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_fixture(fixture)
