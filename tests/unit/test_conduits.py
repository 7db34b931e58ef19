"""Conduits between zones (IEC 62443-3-2): validated in the inventory; with ``scanner_zone`` a scan reads an asset
of another zone only over a protocol some conduit between the two zones allows, and the report lists them."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from auditor.app.plan import build_plan
from auditor.engine import collect_asset, conduit_results
from auditor.plant.inventory import Inventory
from auditor.plant.planning import plan_assets
from connectors.base import ScanOptions

PLANT = """
site: conduit-test
scanner_zone: dmz
zones: [{id: dmz}, {id: control}, {id: cell}]
conduits:
  - {id: dmz-control, zones: [dmz, control], protocols: [snmp, opcua], description: firewall FW-2}
assets:
  - {id: hist, type: host, zone: dmz, address: 127.0.38.210, endpoints: [{protocol: ssh, username: a, port: 1}]}
  - {id: sw, type: network, zone: control, address: 127.0.38.211,
     endpoints: [{protocol: snmp, version: 2c, community_env: NO_SUCH_COMMUNITY}]}
  - {id: plc, type: embedded, zone: control, address: 127.0.38.212, endpoints: [{protocol: modbus}]}
  - {id: cell-plc, type: embedded, zone: cell, address: 127.0.38.213, endpoints: [{protocol: modbus}]}
"""


def inventory(text: str = PLANT) -> Inventory:
    return Inventory.model_validate(yaml.safe_load(text))


def test_the_scanner_crosses_a_conduit_only_with_what_it_allows() -> None:
    inv = inventory()
    by_id = {a.id: a for a in inv.assets}
    assert inv.conduit_refusal(by_id["hist"], "ssh") is None  # the scanner's own zone
    assert inv.conduit_refusal(by_id["sw"], "snmp") is None and inv.conduit_for(by_id["sw"], "snmp") == "dmz-control"
    assert "allows modbus" in inv.conduit_refusal(by_id["plc"], "modbus")
    assert "no conduit joins" in inv.conduit_refusal(by_id["cell-plc"], "modbus")
    refused = {p.asset.id: p.refused for p in plan_assets(inv, sl=1)}
    assert refused["plc"] and refused["cell-plc"] and not refused["sw"] and not refused["hist"]


def test_the_plan_and_the_scan_send_nothing_across_a_conduit_that_does_not_allow_it(monkeypatch) -> None:
    inv = inventory()

    def no_network(*_args, **_kwargs):
        raise AssertionError("a refused read must not open a connection")

    plans = {p.asset.id: p for p in plan_assets(inv, sl=1)}
    shown = {a.asset: a for a in build_plan(inv, ScanOptions(), sl=1).assets}
    assert shown["plc"].endpoints[0].error.startswith("not read: no conduit") and not shown["plc"].endpoints[0].steps
    assert "crosses conduit dmz-control" in shown["sw"].endpoints[0].pacing
    monkeypatch.setattr("socket.socket.connect", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    evidence = asyncio.run(collect_asset(plans["plc"], ScanOptions()))
    assert evidence.status == "error" and evidence.items == []
    assert "not read: no conduit from the scanner's zone 'dmz' to zone 'control' allows modbus" in evidence.error
    listed = conduit_results(inv)
    assert [(c.id, c.scanned_across) for c in listed] == [("dmz-control", True)]


@pytest.mark.parametrize("bad, message", [
    ("conduits: [{id: c, zones: [dmz, nowhere]}]", "names zone 'nowhere'"),
    ("conduits: [{id: c, zones: [dmz, dmz]}]", "distinct zones"),
    ("conduits: [{id: c, zones: [dmz]}]", "at least 2"),
    ("conduits: [{id: c, zones: [dmz, control], protocols: [telnet]}]", "telnet"),
    ("scanner_zone: nowhere", "scanner_zone 'nowhere'"),
])
def test_conduits_are_validated(bad: str, message: str) -> None:
    text = ("zones: [{id: dmz}, {id: control}]\n" + bad + "\n"
            "assets: [{id: a, type: host, address: 127.0.38.214, endpoints: [{protocol: ssh}]}]\n")
    with pytest.raises(Exception, match=message):
        inventory(text)


def test_result_and_report_list_the_conduits() -> None:
    from datetime import datetime, timezone

    from auditor.engine import TOOL, score
    from auditor.evidence import EvidenceBundle
    from reports.html import render_html

    inv = inventory()
    now = datetime.now(timezone.utc)
    bundle = EvidenceBundle(tool=TOOL, started_at=now, finished_at=now, inventory=inv, assets=[])
    result = score(bundle, plan_assets(inv, sl=1), "sl1")
    assert result.scanner_zone == "dmz" and [c.id for c in result.conduits] == ["dmz-control"]
    html = render_html(result)
    assert "<h3>Conduits</h3>" in html and "read through it from zone dmz" in html and "firewall FW-2" in html
