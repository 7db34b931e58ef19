"""checks/snmp/facts.py: parsers on recorded SNMP evidence (simulators and real net-snmp), and on garbage."""

from __future__ import annotations

import datetime as dt

import pytest
from snmp_evidence import NAMES, Recording, integer, octets, snmp_checks

from auditor.facts import FactParseError, FactUnavailable
from checks.snmp import facts as f


@pytest.mark.parametrize("name", NAMES)
def test_every_fact_parses_every_recording(name: str) -> None:
    recording = Recording(name)
    for fact_name in sorted({n for spec in snmp_checks() for n in spec.facts}):
        recording.fact(fact_name)


def test_system_and_inventory_facts_from_the_weak_simulator() -> None:
    rec = Recording("sim-weak")
    system = rec.fact("snmp_system")
    assert system.descr.startswith("ACME IS-2008") and system.object_id == "1.3.6.1.4.1.32473.1.2008"
    assert system.contact == "" and system.name == "sw-01" and round(system.uptime_s / 86400) == 463
    assert f.version_from_text(system.descr) == "1.2.3"
    entities = rec.fact("snmp_entities")
    assert entities[0].get("model") == "IS-2008" and entities[0].get("serial") == ""
    listeners = rec.fact("snmp_listeners")
    assert {(i.protocol, i.port) for i in listeners.items} == {("tcp", 23), ("tcp", 80), ("udp", 69), ("udp", 161)}
    interfaces = rec.fact("snmp_interfaces")
    assert [i.label for i in interfaces if i.admin == 1 and i.oper == 2] == ["Gi1/4", "Gi1/5", "Gi1/6", "Gi1/7"]
    bridge = rec.fact("snmp_bridge")
    assert set(bridge.pvid.values()) == {1} and bridge.port_ifindex[3] == 3 and bridge.vlan_names == {1: "default"}


def test_access_control_facts() -> None:
    weak, hardened = Recording("real-weak").fact("snmp_vacm"), Recording("real-hardened").fact("snmp_vacm")
    assert sorted(set(weak.group_models)) == [1, 2] and hardened.group_models == [3]
    assert {(a.model, a.level) for a in hardened.access} == {(3, 3)}
    assert hardened.view_empty("none") is True and weak.view_empty("_all_") is False
    users = Recording("sim-weak").fact("snmp_usm_users")
    assert [(u.name, u.auth, u.priv) for u in users] == [("legacy", "MD5", "DES")]
    assert [(u.name, u.auth, u.priv) for u in Recording("real-hardened").fact("snmp_usm_users")] == [
        ("iacsaudit", "SHA", "AES")]


def test_vacm_group_and_security_names_are_masked_in_evidence() -> None:
    rows = Recording("real-weak").data(f.WALK_VACM_GROUPS)["rows"]
    comm1 = ".".join(str(b) for b in b"comm1")  # net-snmp's security name for `rocommunity public`
    assert rows and all(comm1 not in r["oid"] for r in rows)
    assert all(len(f.oid_tuple(r["oid"])) == 11 + 1 + 1 + 4 for r in rows)  # column.model.len(4).token


def test_clock_from_date_and_time() -> None:
    moment, assumed = f.parse_date_and_time(bytes([7, 234, 11, 26, 10, 0, 5, 3, ord("+"), 1, 0]))
    assert moment == dt.datetime(2026, 11, 26, 9, 0, 5, 300000, tzinfo=dt.timezone.utc) and not assumed
    moment, assumed = f.parse_date_and_time(bytes([7, 234, 11, 26, 10, 0, 5, 0]))
    assert moment.hour == 10 and assumed
    for bad in (b"\x07\xea\x0d\x01\x00\x00\x00\x00", b"\x07\xea", bytes([7, 234, 1, 1, 0, 0, 0, 0, ord("x"), 0, 0])):
        with pytest.raises(FactParseError):
            f.parse_date_and_time(bad)
    clock = Recording("sim-weak").fact("snmp_clock")
    assert -3726 < clock.skew_s < -3724 and clock.uncertainty_s < 1


def test_listener_indexes_current_legacy_and_ipv6() -> None:
    v6 = ".".join(["2", "16", *["0"] * 15, "1"])
    rows = [
        {"oid": f"{f.TCP_LISTENER_PROCESS}.1.4.0.0.0.0.23", "type": "Gauge32", "value": 0},
        {"oid": f"{f.TCP_LISTENER_PROCESS}.{v6}.80", "type": "Gauge32", "value": 0},
        {"oid": f"{f.TCP_LISTENER_PROCESS}.0.0.443", "type": "Gauge32", "value": 0},
        {"oid": f"{f.TCP_CONN_STATE}.0.0.0.0.21.0.0.0.0.0", "type": "Integer", "value": 2},
        {"oid": f"{f.TCP_CONN_STATE}.10.0.0.1.22.10.0.0.9.51000", "type": "Integer", "value": 5},
        {"oid": f"{f.UDP_ENDPOINT_PROCESS}.1.4.127.0.0.1.69.0.0.0.1", "type": "Gauge32", "value": 0},
        {"oid": f"{f.UDP_LOCAL_PORT}.0.0.0.0.514", "type": "Integer", "value": 514},
    ]
    listeners = Recording("sim-weak").set_listeners(rows).fact("snmp_listeners")
    found = {(i.protocol, i.address, i.port, i.table) for i in listeners.items}
    assert found == {("tcp", "0.0.0.0", 23, "tcpListenerTable"), ("tcp", "::1", 80, "tcpListenerTable"),
                     ("tcp", "*", 443, "tcpListenerTable"), ("tcp", "0.0.0.0", 21, "tcpConnTable"),
                     ("udp", "127.0.0.1", 69, "udpEndpointTable"), ("udp", "0.0.0.0", 514, "udpTable")}
    assert [i.loopback_only for i in listeners.on("udp", [69])] == [True]


@pytest.mark.parametrize("fact_name, req, rows_or_varbind", [
    ("snmp_listeners", f.WALK_TCP, [{"oid": f"{f.TCP_LISTENER_PROCESS}.1.4.300.0.0.0.23", "type": "Gauge32",
                                           "value": 0}]),
    ("snmp_listeners", f.WALK_TCP_LEGACY, [{"oid": f"{f.TCP_CONN_STATE}.1.2.3", "type": "Integer", "value": 2}]),
    ("snmp_interfaces", f.WALK_INTERFACES, [{"oid": f"{f.IF_ADMIN_STATUS}.1", "type": "OctetString",
                                             "value": "up", "hex": "7570"}]),
    ("snmp_vacm", f.WALK_VACM_ACCESS, [{"oid": f"{f.VACM_ACCESS_WRITE_VIEW}.4.1.2.3.4.0.9.9", "type": "OctetString",
                                        "value": "x", "hex": "78"}]),
    ("snmp_interfaces", f.WALK_INTERFACES, "not a list"),
])
def test_garbage_walks_raise_fact_parse_error(fact_name: str, req: object, rows_or_varbind: object) -> None:
    with pytest.raises(FactParseError):
        Recording("sim-weak").set_rows(req, rows_or_varbind).fact(fact_name)  # type: ignore[arg-type]


def test_garbage_and_missing_scalars() -> None:
    rec = Recording("sim-weak")
    with pytest.raises(FactParseError):
        rec.copy().set_varbind(f.SCALARS, f.SYS_UPTIME, octets("yesterday")).fact("snmp_system")
    with pytest.raises(FactParseError):
        rec.copy().set_varbind(f.SCALARS, f.IP_FORWARDING, integer(7)).fact("snmp_ip_forwarding")
    with pytest.raises(FactParseError):
        rec.copy().garble(f.SCALARS).fact("snmp_system")
    with pytest.raises(FactUnavailable, match="timeout"):
        rec.copy().fail(f.SCALARS).fact("snmp_system")
    with pytest.raises(FactParseError):
        rec.copy().set_data(f.SESSION, {"version": "4"}).fact("snmp_session")


def test_notification_targets_ipv4_ipv6_and_other_domains() -> None:
    rec = Recording("sim-hardened")
    assert [(t.name, t.transport, t.address) for t in rec.fact("snmp_trap_targets")] == [
        ("nms", "udp", "127.0.10.250:162")]
    assert Recording("sim-weak").fact("snmp_trap_targets") == []
    rows = [{"oid": f"{f.SNMP_TARGET_ADDR_TDOMAIN}.118.54", "type": "ObjectIdentifier", "value": "1.3.6.1.2.1.100.1.2"},
            {"oid": f"{f.SNMP_TARGET_ADDR_TADDRESS}.118.54", "type": "OctetString", "value": "",
             "hex": "00000000000000000000000000000001" + "00a2"},
            {"oid": f"{f.SNMP_TARGET_ADDR_TDOMAIN}.120", "type": "ObjectIdentifier", "value": "1.3.6.1.6.1.5"},
            {"oid": f"{f.SNMP_TARGET_ADDR_TADDRESS}.120", "type": "OctetString", "value": "", "hex": "2f746d70"}]
    rec.edit(f.WALK_TARGETS, lambda data: {**data, "rows": rows})
    assert [(t.name, t.transport, t.address) for t in rec.fact("snmp_trap_targets")] == [
        ("v6", "udp", "[::1]:162"), ("x", "1.3.6.1.6.1.5", "2f746d70")]
    assert rec.check("snmp.traps.receivers").status == "pass"
    rec.edit(f.WALK_TARGETS, lambda data: {**data, "rows": [{**rows[0], "oid": f"{f.SNMP_TARGET_ADDR_TADDRESS}.300",
                                                           "type": "OctetString", "hex": "00"}]})
    with pytest.raises(FactParseError):
        rec.fact("snmp_trap_targets")
