"""Passphrase-protected keys load with the passphrase from the environment, in every format OpenSSH writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.plant.inventory import Asset
from connectors.base import ConnectorError, ScanOptions
from connectors.ssh.connector import SshConnector

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def _connector(key: Path, passphrase_env: str | None) -> SshConnector:
    endpoint = {"protocol": "ssh", "username": "auditor", "key_file": str(key)}
    if passphrase_env:
        endpoint["key_passphrase_env"] = passphrase_env
    asset = Asset.model_validate({"id": "h", "type": "host", "address": "127.0.0.1", "endpoints": [endpoint]})
    return SshConnector(asset, asset.endpoints[0], ScanOptions())


@pytest.mark.parametrize("kind", [["-t", "ed25519"], ["-t", "rsa", "-b", "2048", "-m", "PEM"],
                                  ["-t", "ecdsa", "-m", "PKCS8"]])
def test_encrypted_keys_load_with_their_passphrase(tmp_path: Path, monkeypatch, kind: list[str]) -> None:
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", *kind, "-N", "pass phrase", "-f", str(key)], check=True)
    monkeypatch.setenv("IACS_TEST_KEY_PASSPHRASE", "pass phrase")
    (method, description, loaded), = _connector(key, "IACS_TEST_KEY_PASSPHRASE")._credentials()
    assert method == "publickey" and str(key) in description and loaded.get_name()
    with pytest.raises(ConnectorError, match="encrypted: give its passphrase"):
        _connector(key, None)._credentials()
    monkeypatch.setenv("IACS_TEST_KEY_PASSPHRASE", "wrong")
    with pytest.raises(ConnectorError, match=str(key)):
        _connector(key, "IACS_TEST_KEY_PASSPHRASE")._credentials()
