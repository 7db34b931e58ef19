"""Connector rules that need no agent: read-only by construction, credentials by reference, no secret in
evidence, index masking."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from auditor.plant.inventory import Asset
from connectors.base import ConnectorError, ScanOptions
from connectors.snmp import connector as snmp_connector
from connectors.snmp.connector import SnmpConnector, _redactions, auth_protocol, priv_protocol

PACKAGE = Path(snmp_connector.__file__).resolve().parent
ALLOWED_HLAPI = {"CommunityData", "SnmpEngine", "UdpTransportTarget", "UsmUserData"}
#: what may come from a command-generator module: the three read generators, and the high-level API's own
#: configuration of targets (which sends nothing)
ALLOWED_CMDGEN = {"GetCommandGenerator", "NextCommandGeneratorSingleRun", "BulkCommandGeneratorSingleRun", "LCD"}


def test_no_code_path_can_send_a_set() -> None:
    """Nothing in connectors/snmp imports or names a SET: set_cmd, SetCommandGenerator, SetRequestPDU..."""
    for path in PACKAGE.glob("*.py"):
        source = path.read_text()
        tree = ast.parse(source)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pysnmp"):
                imported = {alias.name for alias in node.names}
                names |= imported
                if node.module.endswith("cmdgen"):
                    assert imported <= ALLOWED_CMDGEN, (path.name, imported - ALLOWED_CMDGEN)
                elif node.module.startswith("pysnmp.hlapi"):
                    protocols = {n for n in imported if n.startswith("usm")}
                    assert imported - protocols <= ALLOWED_HLAPI, (path.name, imported - protocols - ALLOWED_HLAPI)
                assert not node.module.endswith("rfc3413"), (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("pysnmp.entity") for alias in node.names), path.name
        forbidden = {n for n in names if "set" in n.lower() and ("cmd" in n.lower() or "request" in n.lower()
                                                                 or "generator" in n.lower())}
        assert not forbidden, (path.name, forbidden)
        for token in ("set_cmd", "setCmd", "SetRequest", "SetCommandGenerator", "write_variables"):
            assert token not in source, (path.name, token)
        # the protocol API builds the probes' bare GET and reads its response: no other PDU is named
        assert {n for n in names if n.endswith("PDU")} <= {"GetRequestPDU", "GetResponsePDU", "apiPDU"}, path.name


def _connector(**endpoint: object) -> SnmpConnector:
    asset = Asset.model_validate({"id": "sw", "type": "network", "address": "127.0.0.1",
                                  "endpoints": [{"protocol": "snmp", "port": 161, **endpoint}]})
    return SnmpConnector(asset, asset.endpoints[0], ScanOptions())


@pytest.mark.parametrize("endpoint, message", [
    ({"version": "2c"}, "community"),
    ({"version": "3", "username": "a", "auth_key_env": "IACS_T_AUTH"}, "auth_protocol"),
    ({"version": "3", "username": "a", "priv_key_env": "IACS_T_AUTH", "priv_protocol": "AES"}, "authentication"),
    ({"version": "3", "username": "a", "auth_key_env": "IACS_T_AUTH", "auth_protocol": "SHA1024"}, "unknown"),
    ({"version": "2c", "community_env": "IACS_T_UNSET"}, "IACS_T_UNSET"),
    ({"version": "2c", "community_file": "/nonexistent/iacs-community"}, "cannot be read"),
])
async def test_unusable_credentials_raise_connector_error(endpoint: dict[str, object], message: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IACS_T_AUTH", "s3cret-auth-key")
    monkeypatch.delenv("IACS_T_UNSET", raising=False)
    with pytest.raises(ConnectorError, match=message) as caught:
        await _connector(**endpoint).collect([])
    assert "s3cret-auth-key" not in str(caught.value)


def test_v3_without_a_username_is_an_inventory_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="SNMPv3 needs a username"):
        _connector(version="3")


def test_protocol_names() -> None:
    assert auth_protocol("sha-256")[0] == "SHA256" and auth_protocol("SHA")[0] == "SHA"
    assert auth_protocol(None)[0] == "none" and priv_protocol("aes128")[0] == "AES"
    assert priv_protocol("DES")[0] == "DES" and priv_protocol("aes-256")[0] == "AES256"


def test_redactions_hide_text_hex_and_oid_forms() -> None:
    secret = "s3cr3t-c0mm"
    raw = secret.encode()
    text = json.dumps({"value": f"x {secret} y", "hex": raw.hex(), "oid": "1.3.6.1." + ".".join(map(str, raw))})
    for needle, replacement in _redactions([secret]):
        text = text.replace(needle, replacement)
    assert secret not in text and raw.hex() not in text and ".".join(map(str, raw)) not in text
    assert "*" * len(secret) in text and "42." * (len(raw) - 1) + "42" in text
    json.loads(text)


def test_mask_index_replaces_the_string_with_a_per_scan_token() -> None:
    one, two = _connector(version="2c", community_env="X"), _connector(version="2c", community_env="X")
    one._mask_key, two._mask_key = b"k" * 16, b"j" * 16
    root = (1, 3, 6, 1, 6, 3, 16, 1, 2, 1, 5)
    name = tuple(b"s3cret")
    oid = root + (2, len(name), *name)
    masked = one._masker("str@1")(oid, root)
    assert masked[:len(root) + 2] == root + (2, 4) and len(masked) == len(root) + 6
    assert masked == one._masker("str@1")(oid, root) != two._masker("str@1")(oid, root)
    access = root + (len(name), *name, 0, 2, 1)
    assert one._masker("str@0")(access, root)[-3:] == (0, 2, 1)
    assert one._masker(None)(oid, root) == oid
    with pytest.raises(ValueError):
        one._masker("bogus")
