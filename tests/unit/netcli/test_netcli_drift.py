"""checks/netcli/drift.py: what changed on a switch between two scans of its CLI."""

from __future__ import annotations

from cli_evidence import Recording

from auditor.evidence import AssetEvidence
from auditor.store.drift import diff, take_snapshot
from tests.unit.test_drift import _asset, _scan


def _drift(before: Recording, after: Recording) -> list:
    snap = {name: take_snapshot(AssetEvidence(asset="sw", items=r.items)) for name, r in (("a", before), ("b", after))}
    scan = [_asset("sw", {"netcli.x": "pass"})]
    return diff(_scan("1", scan), _scan("2", scan, 1), {"sw": snap["a"]}, {"sw": snap["b"]}).assets[0].evidence


def test_release_and_exposure_snapshots() -> None:
    weak = take_snapshot(AssetEvidence(asset="sw", items=Recording("ios-weak").items))
    hardened = take_snapshot(AssetEvidence(asset="sw", items=Recording("ios-hardened").items))
    assert weak["netcli_release"]["value"] == "IE-4000-8GT4G4E 15.2(4)EA9"
    assert set(hardened["netcli_exposure"]["value"].values()) == {"off"}
    assert weak["netcli_exposure"]["value"]["telnet on vty"] == "vty 0 4, vty 5 15"
    assert weak["netcli_exposure"]["value"]["snmp communities"] == "public RO, private RW"


def test_a_service_switched_on_shows_as_drift() -> None:
    after = Recording("ios-hardened").config(replace=(r"^no ip http server", "ip http server"))
    drift = _drift(Recording("ios-hardened"), after)
    assert any("http server" in str(d) for d in drift), drift
    assert _drift(Recording("ios-hardened"), Recording("ios-hardened")) == []
