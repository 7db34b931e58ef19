"""Demo-plant launcher for OPC UA servers (``LAUNCHERS["opcua"]`` in :mod:`simulators.plant`).

Writes into the plant's workdir, once per plant:

* ``opcua-client.der`` / ``opcua-client.pem`` (0600): the auditor's OPC UA application certificate,
  named by every OPC UA endpoint of the inventory (so a demo scan never writes into the user's home)
  and trusted by the hardened servers (their trust list is enforced);

and per server that accepts passwords ``opcua-<host id>.password`` (0600), the random password of its
``auditor`` account, which the endpoint references with ``password_file``. A server that offers
Anonymous gets ``anonymous_session: true`` (the site lets the auditor probe it), and every server
``probe_client_trust: true``. A server whose fixture does not accept any client certificate (hardened)
enforces a client trust list holding only the plant's auditor certificate, which also maps to a user
where the fixture accepts X.509 user tokens.
On the weak server the auditor will NOT use its password (no endpoint protects it) and reads
anonymously instead: that refusal is part of what the demo shows.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.opcua.identity import CERT_NAME, KEY_NAME, default_identity
from simulators.opcua.server import OpcuaSimulator, load_fixture

if TYPE_CHECKING:  # pragma: no cover
    from simulators.plant import Plant, PlantHost

USERNAME = "auditor"


def launch(host: "PlantHost", plant: "Plant") -> tuple[OpcuaSimulator, dict[str, Any]]:
    """Start one OPC UA server; the endpoint gives the auditor what the fixture lets a real auditor have."""
    fixture = load_fixture(host.fixture)
    identity = default_identity(plant.workdir)  # created once, reused by every OPC UA host of the plant
    endpoint: dict[str, Any] = {"protocol": "opcua", "timeout": plant.timeout,
                                "client_cert_file": str(plant.workdir / CERT_NAME),
                                "client_key_file": str(plant.workdir / KEY_NAME)}
    username = password = None
    if "username" in fixture.identity_tokens:
        username, password = USERNAME, secrets.token_urlsafe(18)
        password_file = plant.workdir / f"opcua-{host.id}.password"
        _write_secret(password_file, password)
        endpoint.update(username=username, password_file=str(password_file))
    if "anonymous" in fixture.identity_tokens:
        endpoint["anonymous_session"] = True  # the site allows the auditor to probe anonymous access
    endpoint["probe_client_trust"] = True  # the site allows the untrusted-certificate probe
    sim = OpcuaSimulator(fixture, host=host.address, username=username, password=password,
                         trusted_client_certs=None if fixture.accept_any_client_certificate else [identity.der],
                         user_certs=[identity.der] if "certificate" in fixture.identity_tokens else None)
    sim.start()
    endpoint.update(port=sim.port, path="/iacs-sim/")
    return sim, endpoint


def _write_secret(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)
