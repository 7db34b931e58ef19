"""Demo-plant launcher for Windows hosts reached over WinRM (``LAUNCHERS["winrm"]`` in :mod:`simulators.plant`).

Each host gets its own test CA and HTTPS certificate; the plant's folder holds the CA (``winrm/<id>-ca.pem``,
the inventory's ``ca_file``) and a random password (``winrm/<id>.password``, mode 0600, the inventory's
``password_file``), so the inventory names both by path and validates the certificate like a real plant's.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

from simulators.winrm.server import WinrmSimulator

if TYPE_CHECKING:  # pragma: no cover
    from simulators.plant import Plant, PlantHost

__all__ = ["launch"]

USERNAME = "auditor"


def launch(host: "PlantHost", plant: "Plant") -> tuple[WinrmSimulator, dict[str, Any]]:
    """Start one WinRM (HTTPS, Basic) test server on ``host.address`` and return it with its inventory endpoint."""
    password = secrets.token_urlsafe(18)
    sim = WinrmSimulator(host.fixture, host.address, username=USERNAME, password=password).start()
    folder = plant.workdir / "winrm"
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, password_file = folder / f"{host.id}-ca.pem", folder / f"{host.id}.password"
    assert sim.pki is not None
    ca_file.write_bytes(sim.pki.ca_pem)
    password_file.unlink(missing_ok=True)
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return sim, {"protocol": "winrm", "port": sim.port, "username": USERNAME, "password_file": str(password_file),
                 "auth": "basic", "ca_file": str(ca_file), "timeout": plant.timeout, "requests_per_second": 20.0}
