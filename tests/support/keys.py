"""Client keys for the SSH tests: one helper instead of a copy per test module."""

from __future__ import annotations

import os
from pathlib import Path

import paramiko


def write_client_key(directory: Path, name: str = "auditor_key") -> tuple[paramiko.PKey, Path]:
    """A fresh ECDSA P-256 key written to ``directory/name`` in OpenSSH format, mode 0600."""
    key = paramiko.ECDSAKey.generate(bits=256)
    path = directory / name
    with open(path, "w") as handle:
        key.write_private_key(handle, file_format=paramiko.pkey.OPENSSH)
    os.chmod(path, 0o600)
    return key, path
