"""Inventory validation: bad input fails with file, field and reason (and the CLI exits 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import ConfigError
from auditor.plant.inventory import load_inventory

GOOD = """
site: Example water plant
zones:
  - id: control
    sl_target: 2
  - id: dmz
    sl_target: {FR1: 3, FR2: 2, FR3: 1, FR4: 1, FR5: 2, FR6: 1, FR7: 2}
assets:
  - id: ews-01
    type: host
    zone: control
    address: 10.10.1.5
    endpoints:
      - {protocol: ssh, port: 22, username: auditor, key_file: ~/.ssh/audit_ed25519}
  - id: plc-01
    type: embedded
    zone: control
    address: 10.10.2.10
    endpoints:
      - {protocol: modbus, port: 502, unit_id: 1}
      - {protocol: snmp, port: 161, version: 3, username: auditor, auth_protocol: SHA, auth_key_env: SNMP_AUTH,
         priv_protocol: AES, priv_key_env: SNMP_PRIV}
  - id: sw-01
    type: network
    zone: dmz
    address: 10.10.0.2
    endpoints:
      - {protocol: snmp, port: 161, version: 2c, community_env: SW01_COMMUNITY}
  - id: scada-01
    type: application
    address: 10.10.1.20
    endpoints:
      - {protocol: opcua, port: 4840, username: auditor, password_env: OPCUA_PW}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_inventory(write(tmp_path, text))
    return str(info.value)


def test_architecture_example_loads(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    assert [a.id for a in inv.assets] == ["ews-01", "plc-01", "sw-01", "scada-01"]
    assert inv.zone("dmz").sl_target.FR1 == 3 and inv.zone("control").sl_target.FR7 == 2
    assert inv.assets[1].endpoints[1].version == "3"
    assert inv.assets[2].endpoints[0].version == "2c"


def test_unknown_type_names_the_asset_and_field(tmp_path: Path) -> None:
    text = GOOD.replace("type: embedded", "type: plc")
    message = problems(tmp_path, text)
    assert "plant.yaml" in message and "assets[1] (id=plc-01).type" in message and "'host'" in message


def test_bad_sl(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("sl_target: 2", "sl_target: 5"))
    assert "zones[0] (id=control).sl_target" in message and "out of range" in message


def test_missing_address(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("    address: 10.10.0.2\n", ""))
    assert "assets[2] (id=sw-01).address" in message and "Field required" in message


def test_duplicate_asset_ids(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("id: sw-01", "id: ews-01"))
    assert "duplicate asset id 'ews-01'" in message


def test_inline_password_is_refused_with_advice(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("password_env: OPCUA_PW", "password: hunter2"))
    assert "assets[3] (id=scada-01).endpoints[0]" in message
    assert "inline secret 'password' is not allowed" in message and "password_env" in message
    assert "hunter2" not in message


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("  - id: dmz", "  - id: [dmz"))
    assert "YAML syntax error" in message and "line " in message


def test_unknown_protocol_and_unknown_field(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("protocol: modbus", "protocol: profinet"))
    assert "unknown value 'profinet'" in message
    message = problems(tmp_path, GOOD.replace("unit_id: 1", "unit_id: 1, colour: red"))
    assert "colour: unknown field" in message


def test_undefined_zone_and_empty_file(tmp_path: Path) -> None:
    assert "zone 'field'" in problems(tmp_path, GOOD.replace("zone: dmz", "zone: field"))
    assert "must be a mapping" in problems(tmp_path, "")
    with pytest.raises(ConfigError, match="file not found"):
        load_inventory(tmp_path / "nope.yaml")
