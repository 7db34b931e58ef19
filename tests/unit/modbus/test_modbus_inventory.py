"""Modbus/TCP Security settings come from the inventory (ModbusEndpoint), never from the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from auditor.errors import ConfigError
from auditor.plant.inventory import ModbusEndpoint, load_inventory
from auditor.plant.secrets import check_references
from connectors.modbus.tls import CredentialError, client_credentials, uses_tls
from simulators.modbus.pki import demo_pki

REPO = Path(__file__).resolve().parents[3]
FIELDS = ("tls", "client_cert_file", "client_key_file", "client_key_passphrase_env", "ca_file")


def plant(tmp_path: Path, **endpoint: object) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump({"site": "dosing", "zones": [{"id": "control", "sl_target": 2}], "assets": [
        {"id": "plc-02", "type": "embedded", "zone": "control", "address": "127.0.10.32",
         "endpoints": [{"protocol": "modbus", "port": 802, **endpoint}]}]}))
    return path


def test_inventory_with_tls_credentials_validates(tmp_path: Path) -> None:
    path = plant(tmp_path, tls=True, client_cert_file="~/pki/auditor.crt", client_key_file="/etc/iacs/auditor.key",
                 client_key_passphrase_env="PLC_KEY_PASSPHRASE", ca_file="/etc/iacs/plant-ca.pem")
    endpoint = load_inventory(path).assets[0].endpoints[0]
    assert isinstance(endpoint, ModbusEndpoint)
    assert (endpoint.tls, endpoint.client_cert_file, endpoint.client_key_file, endpoint.client_key_passphrase_env,
            endpoint.ca_file) == (True, "~/pki/auditor.crt", "/etc/iacs/auditor.key", "PLC_KEY_PASSPHRASE",
                                  "/etc/iacs/plant-ca.pem")
    defaults = load_inventory(plant(tmp_path)).assets[0].endpoints[0]
    assert all(getattr(defaults, name) is None for name in FIELDS)  # tls None: decided by the port


@pytest.mark.parametrize("endpoint,needle", [
    ({"client_cert": "/x.crt"}, "client_cert"),                     # misspelt field: refused, not ignored
    ({"passphrase": "s3cret"}, "passphrase_env"),                   # inline secret: pointed at the reference
    ({"tls": "perhaps"}, "tls"),
])
def test_inventory_rejects_bad_tls_settings(tmp_path: Path, endpoint: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_inventory(plant(tmp_path, **endpoint))
    assert needle in str(raised.value)


def test_passphrase_reference_is_checked_before_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IACS_TEST_UNSET_PASSPHRASE", raising=False)
    inventory = load_inventory(plant(tmp_path, client_cert_file="/a.crt", client_key_file="/a.key",
                                     client_key_passphrase_env="IACS_TEST_UNSET_PASSPHRASE"))
    with pytest.raises(ConfigError) as raised:
        check_references("plant.yaml", inventory.assets)
    assert "client_key_passphrase" in str(raised.value) and "IACS_TEST_UNSET_PASSPHRASE" in str(raised.value)


def test_published_evidence_schema_has_the_fields() -> None:
    schema = json.loads((REPO / "reports" / "schema" / "evidence.schema.json").read_text())
    modbus = [d for d in schema.get("$defs", {}).values()
              if d.get("properties", {}).get("protocol", {}).get("const") == "modbus"]
    assert len(modbus) == 1 and set(FIELDS) <= set(modbus[0]["properties"])
    assert all(modbus[0]["properties"][name].get("description") for name in FIELDS)


@pytest.mark.parametrize("port,tls,expected", [(802, None, True), (502, None, False), (1502, True, True),
                                               (802, False, False)])
def test_tls_decision(port: int, tls: bool | None, expected: bool) -> None:
    assert uses_tls(port, tls) is expected


def endpoint(**fields: object) -> ModbusEndpoint:
    return ModbusEndpoint(protocol="modbus", port=802, **fields)


def test_credentials_from_the_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    files = demo_pki().write(tmp_path / "pki")
    assert (files["key"].stat().st_mode & 0o777) == 0o600
    monkeypatch.setenv("IACS_TEST_KEY_PASSPHRASE", "not-logged")
    creds = client_credentials(endpoint(client_cert_file="~/pki/client.crt", client_key_file="~/pki/client.key",
                                        client_key_passphrase_env="IACS_TEST_KEY_PASSPHRASE", ca_file="~/pki/ca.crt"))
    assert (creds.cert_file, creds.key_file, creds.ca_file) == (str(files["cert"]), str(files["key"]), str(files["ca"]))
    assert creds.passphrase == "not-logged" and "not-logged" not in repr(creds)
    described = creds.describe()
    assert described["configured"] and described["role"] == "Auditor" and "not-logged" not in json.dumps(described)
    anonymous = client_credentials(endpoint())
    assert (anonymous.cert_file, anonymous.key_file, anonymous.ca_file, anonymous.passphrase) == (None,) * 4


@pytest.mark.parametrize("fields,needle", [
    ({"client_cert_file": "/a.crt"}, "set both client_cert_file and client_key_file"),
    ({"client_key_file": "/a.key"}, "set both client_cert_file and client_key_file"),
    ({"ca_file": "/nonexistent/ca.pem"}, "ca_file of the inventory endpoint names /nonexistent/ca.pem"),
    ({"client_key_passphrase_env": "X"}, "client_key_passphrase_env but no client_key_file"),
])
def test_unusable_credentials_name_the_inventory_field(fields: dict, needle: str) -> None:
    with pytest.raises(CredentialError, match=needle):
        client_credentials(endpoint(**fields))


def test_no_environment_variable_path_is_left() -> None:
    for folder in ("connectors/modbus", "checks/modbus", "simulators/modbus"):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text()
            assert "IACS_MODBUS" not in text and "os.environ" not in text, path
