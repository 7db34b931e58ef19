"""A switch audited over both its CLI and SNMP (127.0.42.x): the scan runs the CLI/SNMP comparison only there,
and a fact the two views disagree on is a finding with both values, while each pack still judges its own view."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import yaml
from click.testing import CliRunner

from auditor.cli import cli
from simulators.snmp import plant as snmp_plant
from tests.support.netcli_device import simulated_device

ADDRESS = "127.0.42.21"


def _agent_of_the_rsp20(location: str) -> dict:
    """The hardened SNMP agent fixture, answering as the hardened RSP20 does in its configuration, but with
    ``location`` as its sysLocation."""
    fixture = yaml.safe_load((files("simulators") / "snmp" / "fixtures" / "hardened.yaml").read_text())
    fixture["objects"].update({"1.3.6.1.2.1.1.5.0": ["OctetString", "RSP-cell-04"],
                               "1.3.6.1.2.1.1.4.0": ["OctetString", "ot-security@plant.invalid"],
                               "1.3.6.1.2.1.1.6.0": ["OctetString", location]})
    return fixture


def test_cli_and_snmp_of_one_switch_are_compared_and_a_difference_is_a_finding(tmp_path: Path) -> None:
    host = SimpleNamespace(fixture=_agent_of_the_rsp20("Filter hall, cabinet 9"), id="rsp", address=ADDRESS)
    agent, snmp_endpoint = snmp_plant.launch(host, SimpleNamespace(workdir=tmp_path, timeout=5.0))
    try:
        with simulated_device("hios-hardened", ADDRESS, tmp_path, platform="hirschmann_hios") as (_, asset):
            cli_endpoint = asset.endpoints[0].model_dump(exclude_none=True, exclude_defaults=True)
            inventory = {"site": "views", "zones": [{"id": "cell", "sl_target": 2}],
                         "assets": [{"id": "rsp-cell-04", "type": "network", "zone": "cell", "address": ADDRESS,
                                     "endpoints": [{"protocol": "cli", **cli_endpoint}, snmp_endpoint]},
                                    {"id": "rsp-cli-only", "type": "network", "zone": "cell", "address": ADDRESS,
                                     "endpoints": [{"protocol": "cli", **cli_endpoint}]}]}
            (tmp_path / "plant.yaml").write_text(yaml.safe_dump(inventory))
            result = CliRunner().invoke(cli, ["scan", "-i", str(tmp_path / "plant.yaml"), "--sl", "2",
                                              "--out", str(tmp_path / "out"), "-q"], catch_exceptions=False)
    finally:
        agent.stop()
    assert result.exit_code in (0, 1), result.output
    assets = {a["id"]: a for a in json.loads((tmp_path / "out" / "result.json").read_text())["assets"]}
    both = {r["check_id"]: r for r in assets["rsp-cell-04"]["results"]}
    compared = both["views.cli-snmp.agreement"]
    assert compared["status"] == "fail", compared
    assert compared["observed"]["differ"] == {"location": {"cli": "Dosing hall, cabinet 4",
                                                           "snmp": "Filter hall, cabinet 9"}}
    assert {"name", "contact", "snmp v3", "trap receivers"} <= set(compared["observed"]["agree"])
    assert both["netcli.vty.ssh-only"]["status"] == "pass" and both["snmp.v3.auth-priv"]["status"] == "pass"
    alone = {r["check_id"] for r in assets["rsp-cli-only"]["results"]}
    assert "views.cli-snmp.agreement" not in alone and not any(c.startswith("snmp.") for c in alone)
