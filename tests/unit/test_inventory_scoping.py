"""Scoping a plant without typing it: imports (Ansible, CSV, nmap), ``inventory check``, defaults, the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from auditor.cli import cli
from auditor.errors import ConfigError
from auditor.plant.inventory import load_inventory
from auditor.plant.locate import YamlLocator
from reports.json_report import INVENTORY_SCHEMA_FILE, REGENERATE_COMMAND, inventory_schema

HERE = Path(__file__).parent / "scoping"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def imported(tmp_path: Path, source: str, name: str):
    out = tmp_path / f"{name}.yaml"
    result = run("inventory", "import", source, str(HERE / name), "--out", str(out))
    assert result.exit_code == 0, result.output
    return load_inventory(out), out.read_text()


def endpoint(inventory, asset_id: str, index: int = 0):
    return next(a for a in inventory.assets if a.id == asset_id).endpoints[index]


# ------------------------------------------------------------------------------------------ Ansible
def test_ansible_ini_groups_become_zones_and_group_vars_defaults(tmp_path) -> None:
    inventory, text = imported(tmp_path, "ansible", "hosts.ini")
    assert [a.id for a in inventory.assets] == ["bastion.plant.invalid", "ews-01.plant.invalid",
                                                "ews-02.plant.invalid", "hmi-01", "hist-01"]
    assert {z.id for z in inventory.zones} == {"engineering", "historians"}
    zones = {a.id: a.zone for a in inventory.assets}
    assert zones["ews-02.plant.invalid"] == "engineering" and zones["hist-01"] == "historians"
    assert zones["bastion.plant.invalid"] is None
    # variables merge like Ansible's: all < control (parent) < historians (child) < the host
    assert endpoint(inventory, "ews-01.plant.invalid").username == "auditor"
    assert endpoint(inventory, "ews-01.plant.invalid").key_file == "~/.ssh/audit_ed25519"
    assert endpoint(inventory, "hist-01").username == "histaudit"
    assert endpoint(inventory, "hist-01").key_file == "~/.ssh/hist_ed25519"
    assert endpoint(inventory, "hmi-01").port == 2222 and endpoint(inventory, "ews-01.plant.invalid").port == 22
    assert endpoint(inventory, "bastion.plant.invalid").username == "jump"
    assert next(a for a in inventory.assets if a.id == "hmi-01").address == "127.0.38.60"
    # group vars are written once, as defaults, not per endpoint
    data = yaml.safe_load(text)
    assert data["defaults"] == {"ssh": {"port": 22}}
    assert data["zones"][0]["defaults"]["ssh"] == {"username": "auditor", "key_file": "~/.ssh/audit_ed25519"}
    hist = next(a for a in data["assets"] if a["id"] == "hist-01")
    assert hist["endpoints"] == [{"protocol": "ssh", "key_file": "~/.ssh/hist_ed25519"}]
    # no password is copied, and a network device Ansible reaches with network_cli is left out, both noted
    assert "hunter2" not in text and "ansible_password not copied" in text
    assert "sw-01" not in [a.id for a in inventory.assets] and "sw-01: skipped" in text


def test_ansible_yaml_inventory(tmp_path) -> None:
    inventory, text = imported(tmp_path, "ansible", "hosts.yml")
    assert [a.id for a in inventory.assets] == ["bastion.plant.invalid", "ews-01.plant.invalid", "hmi-01", "hist-01"]
    assert endpoint(inventory, "hmi-01").username == "auditor" and endpoint(inventory, "hmi-01").port == 2222
    assert endpoint(inventory, "hist-01").username == "histaudit"
    assert endpoint(inventory, "hist-01").key_file == "~/.ssh/audit_ed25519"
    assert next(a for a in inventory.assets if a.id == "hist-01").address == "hist-01"
    assert "ansible_host is templated" in text


# ------------------------------------------------------------------------------------------ CSV
def test_csv_register(tmp_path) -> None:
    inventory, _ = imported(tmp_path, "csv", "register.csv")
    assert [(a.id, a.type, a.zone) for a in inventory.assets] == [
        ("ews-01", "host", "control"), ("sw-01", "network", "control"), ("plc-01", "embedded", "field")]
    assert inventory.zone("field").sl_target.FR1 == 3
    switch = endpoint(inventory, "sw-01")
    assert switch.version == "2c" and switch.community_env == "SW_COMMUNITY"
    plc = next(a for a in inventory.assets if a.id == "plc-01")
    assert [e.protocol for e in plc.endpoints] == ["modbus", "ssh"] and plc.endpoints[1].username == "maint"
    assert plc.product.firmware == "2.0" and plc.product.name == "PLC 5"


def test_csv_register_problems_name_row_and_column(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,address,protocol,colour\nx,127.0.38.1,ssh,red\n")
    result = run("inventory", "import", "csv", str(bad), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2 and "unknown column 'colour'" in result.output
    bad.write_text("id,address,protocol,unit_id,type\nx,127.0.38.1,ssh,1,host\ny,127.0.38.2,profinet,,\n"
                   "z,127.0.38.3,ssh,,robot\n")
    result = run("inventory", "import", "csv", str(bad), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2
    assert "row 2 (id=x).unit_id: not a field of a ssh endpoint" in result.output
    assert "row 3 (id=y).protocol: unknown protocol 'profinet'" in result.output
    assert not (tmp_path / "out.yaml").exists()


# ------------------------------------------------------------------------------------------ nmap
def test_nmap_xml(tmp_path) -> None:
    inventory, text = imported(tmp_path, "nmap", "scan.xml")
    kinds = {a.address: (a.id, a.type, [(e.protocol, e.port) for e in a.endpoints]) for a in inventory.assets}
    assert kinds == {
        "127.0.38.1": ("ews-01", "host", [("ssh", 22)]),
        "127.0.38.21": ("127.0.38.21", "network", [("snmp", 161)]),
        "127.0.38.31": ("127.0.38.31", "embedded", [("modbus", 502)]),
        "127.0.38.41": ("scada-01", "application", [("opcua", 4840), ("ssh", 2222)]),
    }
    plc = next(a for a in inventory.assets if a.address == "127.0.38.31")
    assert "102/tcp ISO-TSAP" in plc.description and "44818/tcp EtherNet/IP" in plc.description
    snmp = endpoint(inventory, "127.0.38.21")
    assert snmp.version == "3" and snmp.auth_key_env == "SNMP_AUTH_KEY"
    assert "127.0.38.50: no open port the auditor speaks (3389/tcp RDP)" in text
    assert "127.0.38.99" not in text  # down


def test_nmap_xml_entities_are_refused(tmp_path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE n [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    "<nmaprun>&b;</nmaprun>")
    result = run("inventory", "import", "nmap", str(bomb), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2 and "not nmap XML" in result.output
    (tmp_path / "other.xml").write_text("<report/>")
    result = run("inventory", "import", "nmap", str(tmp_path / "other.xml"), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2 and "expected 'nmaprun'" in result.output


@pytest.mark.parametrize("name, text, words", [
    # each found by the fuzzer, each a traceback before
    ("hosts.ini", "[plcs:vars]\nansible_user= # to be filled in\n[plcs]\nplc-01\n", "username: String should"),
    ("hosts.yml", "all:\n  children:\n    plcs:\n      hosts: plc-01\n", "all.children.plcs.hosts: hosts is a mapping"),
    ("hosts.yml", "all:\n  vars: [1, 2]\n", "all.vars: vars is a mapping"),
    # host ranges multiply: the fuzzer's a few bytes took 43 s to expand
    ("hosts.ini", "[plcs]\nplc-[01:72]-[21:72]-[21:72].plant.invalid\n", "expands to more than 10,000 hosts"),
    ("hosts.ini", "[plcs]\nplc-[01:09:0].plant.invalid\n", "has a step of 0"),
    ("hosts.yml", "all:\n  hosts:\n    plc-[10:c]:\n", "mixes numbers and letters"),
])
def test_odd_ansible_inventories_say_why(tmp_path, name, text, words) -> None:
    source = tmp_path / name
    source.write_text(text)
    result = run("inventory", "import", "ansible", str(source), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2 and words in result.output, result.output


def test_nmap_xml_with_a_port_id_that_is_not_a_number_is_refused(tmp_path) -> None:
    odd = tmp_path / "odd.xml"
    odd.write_text((HERE / "scan.xml").read_text().replace('portid="22"', 'portid="2}2"', 1))
    assert 'portid="2}2"' in odd.read_text()
    result = run("inventory", "import", "nmap", str(odd), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2 and "port id '2}2' is not a number" in result.output


@pytest.mark.parametrize("encoding, words", [("UTF-6", "unknown encoding: UTF-6"),
                                             ("UTF-7", "multi-byte encodings are not supported")])
def test_nmap_xml_in_an_encoding_the_parser_cannot_read_is_refused(tmp_path, encoding, words) -> None:
    # found by the fuzzer: LookupError and ValueError from the XML declaration were tracebacks
    odd = tmp_path / "odd.xml"
    odd.write_text((HERE / "scan.xml").read_text().replace('encoding="UTF-8"', f'encoding="{encoding}"', 1))
    assert f'encoding="{encoding}"' in odd.read_text()
    result = run("inventory", "import", "nmap", str(odd), "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2 and f"not nmap XML: {words}" in result.output, result.output


# ------------------------------------------------------------------------------------------ check
def test_check_lists_every_problem_with_line_and_column() -> None:
    result = run("inventory", "check", str(HERE / "broken.yaml"))
    assert result.exit_code == 2
    found = re.findall(r"broken\.yaml:(\d+):(\d+): (.+?): (.*)", result.output)
    where = {field: (int(line), int(column)) for line, column, field, _ in found}
    # in one pass and in file order: the schema, the references and the secrets together
    assert where == {
        "defaults.ssh": (3, 3), "zones[0] (id=control).jump": (7, 5), "assets[0] (id=ews-01).type": (10, 5),
        "assets[0] (id=ews-01).endpoints[0].jump": (14, 9), "assets[0] (id=ews-01).endpoints[0].password_env": (14, 25),
        "assets[1].id": (15, 5), "assets[1] (id=ews-01).zone": (17, 5),
        "assets[1] (id=ews-01).endpoints[0].community_file": (22, 9),
        "assets[2] (id=plc-01).endpoints[0].unit_id": (27, 28)}, result.output
    assert [int(line) for line, *_ in found] == sorted(int(line) for line, *_ in found)
    assert "9 problems" in result.output
    for text in ("type: Input should be 'host'", "duplicate asset id 'ews-01'", "names zone 'field'",
                 "names jump host 'bastion-9'", "IACS_SCOPING_TEST_UNSET is not set",
                 "/nonexistent/iacs-scoping-community cannot be read", "unit_id: Input should be less than"):
        assert text in result.output, text
    assert "colour: unknown field" not in result.output  # a wrong default is reported once, where it is


def test_check_of_a_good_inventory(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SW_COMMUNITY", "not-public")
    out = tmp_path / "plant.yaml"
    assert run("inventory", "import", "csv", str(HERE / "register.csv"), "--out", str(out)).exit_code == 0
    result = run("inventory", "check", str(out))
    assert result.exit_code == 0 and "no problem (3 assets, 2 zones" in result.output
    monkeypatch.delenv("SW_COMMUNITY")
    result = run("inventory", "check", str(out))
    assert result.exit_code == 2 and "community_env: environment variable SW_COMMUNITY is not set" in result.output


def test_load_inventory_errors_carry_line_and_column(tmp_path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text("site: x\nassets:\n  - id: a\n    type: host\n    address: 127.0.38.1\n    endpoints:\n"
                    "      - {protocol: ssh, port: 99999}\n")
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert f"{path}:7:25: assets[0] (id=a).endpoints[0].port: Input should be less than or equal to 65535" \
        in str(caught.value)


def test_locator_reaches_keys_indexes_and_stops_at_missing_ones() -> None:
    locator = YamlLocator("a:\n  b:\n    - x\n    - {c: 1}\n")
    assert locator.locate(("a", "b", 1, "c")) == (4, 8)
    assert locator.locate(("a", "b", 0)) == (3, 7)
    assert locator.locate(("a", "missing")) == (1, 1)  # the key 'a' holds the mapping it belongs in
    assert YamlLocator("a: [").locate(("a",)) is None


# ------------------------------------------------------------------------------------------ defaults
def test_defaults_merge_endpoint_over_zone_over_inventory(tmp_path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump({
        "site": "defaults",
        "defaults": {"ssh": {"username": "auditor", "key_file": "/keys/site", "port": 2200},
                     "snmp": {"version": "2c", "community_env": "SITE_COMMUNITY"}},
        "zones": [{"id": "control", "defaults": {"ssh": {"key_file": "/keys/control"}}}, {"id": "dmz"}],
        "assets": [
            {"id": "a", "type": "host", "zone": "control", "address": "127.0.38.1",
             "endpoints": [{"protocol": "ssh"}]},
            {"id": "b", "type": "host", "zone": "control", "address": "127.0.38.2",
             "endpoints": [{"protocol": "ssh", "username": "other", "port": 22}]},
            {"id": "c", "type": "network", "zone": "dmz", "address": "127.0.38.3",
             "endpoints": [{"protocol": "snmp"}, {"protocol": "ssh"}]}]}))
    inventory = load_inventory(path)
    a, b = endpoint(inventory, "a"), endpoint(inventory, "b")
    assert (a.username, a.key_file, a.port) == ("auditor", "/keys/control", 2200)
    assert (b.username, b.key_file, b.port) == ("other", "/keys/control", 22)
    snmp, ssh = endpoint(inventory, "c", 0), endpoint(inventory, "c", 1)
    assert (snmp.version, snmp.community_env, snmp.port) == ("2c", "SITE_COMMUNITY", 161)
    assert (ssh.key_file, ssh.port) == ("/keys/site", 2200)
    again = type(inventory).model_validate(inventory.model_dump())  # a bundle's inventory rescored: the same
    assert again == inventory


def test_defaults_refuse_unknown_protocols_fields_and_inline_secrets(tmp_path) -> None:
    for defaults, message in (({"profinet": {}}, "defaults.profinet: unknown field"),
                              ({"ssh": {"password": "x"}}, "inline secret 'password' is not allowed"),
                              ({"snmp": {"protocol": "ssh"}}, "'protocol' is not a field of a snmp endpoint")):
        path = tmp_path / "plant.yaml"
        path.write_text(yaml.safe_dump({"defaults": defaults, "assets": [
            {"id": "a", "type": "host", "address": "127.0.38.1", "endpoints": [{"protocol": "ssh"}]}]}))
        with pytest.raises(ConfigError) as caught:
            load_inventory(path)
        assert message in str(caught.value) and "x'" not in str(caught.value).replace("'x'", "")


# ------------------------------------------------------------------------------------------ schema
def test_published_inventory_schema_equals_generated() -> None:
    assert json.loads(INVENTORY_SCHEMA_FILE.read_text()) == inventory_schema(), (
        f"{INVENTORY_SCHEMA_FILE} is out of date; regenerate it with `{REGENERATE_COMMAND}`")
    assert run("inventory", "schema").output.strip() == INVENTORY_SCHEMA_FILE.read_text().strip()


@pytest.mark.parametrize("source, name", [("ansible", "hosts.ini"), ("ansible", "hosts.yml"), ("csv", "register.csv"),
                                          ("nmap", "scan.xml")])
def test_imported_inventories_validate_against_the_schema(tmp_path, source: str, name: str) -> None:
    _, text = imported(tmp_path, source, name)
    Draft202012Validator(inventory_schema()).validate(yaml.safe_load(text))


def test_schema_refuses_what_the_models_refuse() -> None:
    validator = Draft202012Validator(inventory_schema())
    bad = {"assets": [{"id": "a", "type": "robot", "address": "127.0.38.1", "endpoints": [{"protocol": "ssh"}]}]}
    assert not validator.is_valid(bad)
    bad["assets"][0]["type"] = "host"
    assert validator.is_valid(bad)
