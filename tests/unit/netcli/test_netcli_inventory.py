"""The inventory's ``cli`` endpoint, and how profiles give CLI checks only to assets that have one."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.assessment.profiles import load_profile
from auditor.errors import ConfigError
from auditor.plant.inventory import Asset, load_inventory
from auditor.registry import REGISTRY

INVENTORY = """
site: Example
jump_hosts:
  - {id: bastion, address: bastion.plant.invalid, username: jump}
zones:
  - {id: cell, sl_target: 2, jump: bastion}
assets:
  - id: sw-01
    type: network
    zone: cell
    address: sw-01.plant.invalid
    endpoints:
      - {protocol: cli, username: auditor, key_file: ~/.ssh/audit_ed25519, platform: cisco_ios,
         enable_password_env: SW_ENABLE}
      - {protocol: snmp, version: 3, username: auditor, auth_protocol: SHA, auth_key_env: A, priv_protocol: AES,
         priv_key_env: P}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    return load_inventory(path)


def test_cli_endpoint_defaults_and_the_zones_jump_host(tmp_path: Path) -> None:
    endpoint = _load(tmp_path, INVENTORY).assets[0].endpoints_for("cli")[0]
    assert (endpoint.port, endpoint.platform, endpoint.requests_per_second) == (22, "cisco_ios", 2.0)
    assert endpoint.enable_password_env == "SW_ENABLE" and not hasattr(endpoint, "sudo")
    assert [hop.address for hop in endpoint.jump] == ["bastion.plant.invalid"]  # same jump handling as ssh


@pytest.mark.parametrize("change, message", [
    ("enable_password_env: SW_ENABLE", "inline secret 'enable_password' is not allowed"),
    ("platform: cisco_ios", "platform"),
])
def test_bad_cli_endpoints_are_refused_with_the_field(tmp_path: Path, change: str, message: str) -> None:
    bad = {"enable_password_env: SW_ENABLE": "enable_password: s3cret",
           "platform: cisco_ios": "platform: junos"}[change]
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, INVENTORY.replace(change, bad))
    assert message in str(info.value) and "s3cret" not in str(info.value)


def test_network_profiles_give_cli_checks_only_to_assets_with_a_cli_endpoint() -> None:
    registry = REGISTRY.load()
    for level in (1, 2, 3, 4):
        profile = load_profile(f"network-sl{level}")
        assert {c.id for c in profile.selected_checks() if c.id.startswith("netcli.")} == {
            c.id for c in registry.checks.values() if c.pack.startswith("checks.netcli")}

    def protocols(endpoints: list[dict]) -> set[str]:
        asset = Asset.model_validate({"id": "sw", "type": "network", "address": "127.0.0.1", "endpoints": endpoints})
        return {registry.facts[f].protocol for c in load_profile("network-sl2").checks_for(asset) for f in c.facts}

    assert protocols([{"protocol": "snmp", "version": "2c", "community_env": "C"}]) == {"snmp"}
    assert protocols([{"protocol": "cli"}]) == {"cli"}
    assert protocols([{"protocol": "cli"}, {"protocol": "snmp", "version": "2c", "community_env": "C"}]) == {"cli", "snmp"}


def test_the_pack_covers_every_foundational_requirement_with_at_least_30_checks() -> None:
    from auditor.assessment.catalog import load_catalog

    catalog = load_catalog()
    specs = [c for c in REGISTRY.load().checks.values() if c.pack.startswith("checks.netcli")]
    assert len(specs) >= 30
    frs = {catalog.get(r).fr for c in specs for r in c.requirements}
    assert frs == {1, 2, 3, 4, 5, 6, 7} or frs == {f"FR{n}" for n in range(1, 8)}
    for spec in specs:
        assert spec.applies_to == ("network",) and spec.id.startswith("netcli.")
        assert {REGISTRY.facts[f].protocol for f in spec.facts} == {"cli"}


def test_ad_hoc_cli_target() -> None:
    from auditor.cli.scan import _ad_hoc_inventory

    inventory = _ad_hoc_inventory("cli://auditor@sw-01.plant.invalid:2222", "network", "~/.ssh/k", None, None,
                                  ("platform=cisco_ios",), jump="jump@bastion.plant.invalid")
    endpoint = inventory.assets[0].endpoints[0]
    assert (endpoint.protocol, endpoint.port, endpoint.username, endpoint.key_file, endpoint.platform) == (
        "cli", 2222, "auditor", "~/.ssh/k", "cisco_ios")
    assert endpoint.jump[0].spec == "jump@bastion.plant.invalid"
