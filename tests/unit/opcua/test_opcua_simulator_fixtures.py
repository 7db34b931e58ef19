"""simulators/opcua fixtures: the weak and hardened fixtures say what the OPC UA pack expects of them."""

from __future__ import annotations

import pytest

from simulators.opcua.server import load_fixture


def test_weak_and_hardened_fixtures() -> None:
    weak, hardened = load_fixture("weak"), load_fixture("hardened")
    assert "NoSecurity" in weak.security_policies and "Basic256_Sign" in weak.security_policies
    assert weak.certificate == {"key_bits": 1024, "hash": "sha1", "self_signed": True, "valid_days": 20}
    assert "anonymous" in weak.identity_tokens and any(v["writable"] for v in weak.variables)
    assert set(hardened.security_policies) == {"Basic256Sha256_SignAndEncrypt", "Aes256Sha256RsaPss_SignAndEncrypt"}
    assert "anonymous" not in hardened.identity_tokens and hardened.auditing is True
    assert hardened.certificate["key_bits"] >= 2048 and hardened.certificate["self_signed"] is False
    assert not any(v["writable"] for v in hardened.variables)


def test_fixture_typos_are_refused(tmp_path) -> None:
    text = (load_fixture.__globals__["FIXTURES"] / "hardened.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("Basic256Sha256_SignAndEncrypt", "Basic256Sha257_SignAndEncrypt"))
    with pytest.raises(ValueError, match="unknown security policy"):
        load_fixture(bad)


def test_role_identities_and_the_announced_host() -> None:
    weak, hardened = load_fixture("weak"), load_fixture("hardened")
    assert weak.role_identities["Operator"] == ["Anonymous"] and weak.advertised_host == "0.0.0.0"
    assert all(":" in rule for role in ("Operator", "Engineer") for rule in hardened.role_identities[role])
    assert hardened.advertised_host is None


def test_role_identity_typos_are_refused(tmp_path) -> None:
    text = (load_fixture.__globals__["FIXTURES"] / "hardened.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace('"UserName:engineer1"', '"Username:engineer1"'))
    with pytest.raises(ValueError, match="role_identities"):
        load_fixture(bad)
