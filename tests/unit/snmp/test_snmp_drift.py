"""checks/snmp/drift.py: evidence drift of a network device between two recorded scans (firmware, listeners)."""

from __future__ import annotations

from typing import Any

import pytest
from snmp_evidence import NAMES, Recording, octets

from auditor.evidence import AssetEvidence
from auditor.store.drift import diff, take_snapshot
from checks.snmp.facts import SCALARS, SYS_DESCR, SYS_OBJECT_ID, WALK_ENTITIES, WALK_TCP
from tests.unit.test_drift import _asset, _scan


def snapshot(recording: Recording) -> dict[str, Any]:
    return take_snapshot(AssetEvidence(asset="sw-01", items=recording.items))


def evidence_drift(before: Recording, after: Recording) -> list[Any]:
    scan = [_asset("sw-01", {"snmp.x": "pass"})]
    return diff(_scan("1", scan), _scan("2", scan, 1), {"sw-01": snapshot(before)},
                {"sw-01": snapshot(after)}).assets[0].evidence


def upgraded(recording: Recording, old: str = "1.2.3", new: str = "1.3.0") -> Recording:
    """The switch after a firmware update: sysDescr and the chassis' ENTITY-MIB revisions name the new version."""
    descr = recording.data(SCALARS)["varbinds"]
    text = next(v["value"] for v in descr if v["oid"] == SYS_DESCR)
    recording.set_varbind(SCALARS, SYS_DESCR, octets(text.replace(old, new)))

    def revisions(data: dict[str, Any]) -> None:
        for row in data["rows"]:
            if isinstance(row.get("value"), str) and old in row["value"]:
                row["value"] = row["value"].replace(old, new)
                row["hex"] = row["value"].encode().hex()
    return recording.edit(WALK_ENTITIES, revisions)


def with_listener(recording: Recording, port: int) -> Recording:
    return recording.edit(WALK_TCP, lambda data: data["rows"].append(
        {"oid": f"1.3.6.1.2.1.6.20.1.4.1.4.0.0.0.0.{port}", "type": "Gauge32", "value": 0}))


def test_snapshot_of_the_simulated_switch() -> None:
    snap = snapshot(Recording("sim-weak"))
    assert snap["snmp_sysdescr"]["value"] == ("ACME IS-2008 Industrial Ethernet Switch, firmware V1.2.3 "
                                              "(build 2014-03-11)")
    assert snap["snmp_sysobjectid"]["value"] == "1.3.6.1.4.1.32473.1.2008"
    assert snap["snmp_entity_revisions"]["value"] == {"chassis firmware": "1.2.3", "chassis software": "V1.2.3"}
    assert snap["snmp_listeners"]["value"] == ["0.0.0.0:161/udp", "0.0.0.0:23/tcp", "0.0.0.0:69/udp", "0.0.0.0:80/tcp"]


@pytest.mark.parametrize("name", NAMES)
def test_same_evidence_twice_is_no_drift(name: str) -> None:
    recording = Recording(name)
    assert snapshot(recording)["snmp_sysdescr"]["value"]  # every recording, simulator or net-snmp, gives one
    assert evidence_drift(recording, recording.copy()) == []


def test_firmware_update_is_reported() -> None:
    before = Recording("sim-weak")
    changes = evidence_drift(before, upgraded(before.copy()))
    details = {c.detail for c in changes}
    assert ("system description (sysDescr): ACME IS-2008 Industrial Ethernet Switch, firmware V1.2.3 (build 2014-03-11)"
            " -> ACME IS-2008 Industrial Ethernet Switch, firmware V1.3.0 (build 2014-03-11)") in details
    assert "chassis firmware 1.2.3 -> 1.3.0" in details and "chassis software V1.2.3 -> V1.3.0" in details
    assert {c.change for c in changes} == {"changed"} and len(changes) == 3  # nothing else moved


def test_another_device_model_answers() -> None:
    before = Recording("sim-weak")
    after = before.copy().set_varbind(SCALARS, SYS_OBJECT_ID,
                                      {"type": "ObjectIdentifier", "value": "1.3.6.1.4.1.32473.1.4012"})
    [change] = evidence_drift(before, after)
    assert change.name == "snmp_sysobjectid" and change.before == "1.3.6.1.4.1.32473.1.2008"


def test_new_and_gone_listening_services() -> None:
    before = Recording("sim-weak")
    after = with_listener(before.copy(), 22)
    after.edit(WALK_TCP, lambda data: data.update(rows=[r for r in data["rows"] if not r["oid"].endswith(".23")]))
    details = [c.detail for c in evidence_drift(before, after)]
    assert details == ["new listening service: 0.0.0.0:22/tcp", "listening service gone: 0.0.0.0:23/tcp"]


def test_missing_or_garbage_evidence_is_unknown_not_drift() -> None:
    before = Recording("sim-weak")
    after = upgraded(before.copy()).fail(WALK_ENTITIES).garble(WALK_TCP)
    snap = snapshot(after)
    assert "snmp_entity_revisions" not in snap and "snmp_listeners" not in snap  # left out, no crash
    assert [c.name for c in evidence_drift(before, after)] == ["snmp_sysdescr"]
    # an agent that implements no listener table says nothing about listeners
    assert "snmp_listeners" not in snapshot(before.copy().set_listeners([]))
    assert snapshot(before.copy().garble(SCALARS)).keys() <= {"snmp_entity_revisions", "snmp_listeners"}
