"""Demo-plant launcher for simulated SNMP devices (``LAUNCHERS["snmp"]`` in :mod:`simulators.plant`).

Secrets by reference: the launcher writes the device's community (v1/v2c fixtures) or the SNMPv3
audit user's keys (v3-only fixtures) to files in the plant's workdir (mode 0600) and names those
files in the inventory endpoint (``community_file`` / ``auth_key_file`` / ``priv_key_file``), so
neither the inventory nor the scanning process's environment holds a secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from simulators.snmp.server import SnmpSimulator

#: Per-request timeout for simulated SNMP devices (loopback answers in milliseconds).
SNMP_TIMEOUT = 2.0


def _secret_file(path: Path, value: str) -> str:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    os.chmod(path, 0o600)
    return str(path)


def launch(host: Any, plant: Any) -> tuple[SnmpSimulator, dict[str, Any]]:
    """Start one simulated switch/router and return it with the inventory endpoint that reaches it."""
    sim = SnmpSimulator(host.fixture, host=host.address, port=0)
    agent = sim.agent
    workdir = Path(plant.workdir)
    endpoint: dict[str, Any] = {"protocol": "snmp", "port": 0, "timeout": min(float(plant.timeout), SNMP_TIMEOUT),
                                "probe_default_communities": True}
    users = [u for u in agent.get("users") or [] if u.get("level", "authPriv") == "authPriv"
             and u.get("auth_key") and u.get("priv_key")]
    if agent.get("v3_only") or not agent.get("communities"):
        if not users:
            raise ValueError(f"SNMP fixture {host.fixture!r} has no authPriv user for the audit")
        user = users[0]
        endpoint.update(version="3", username=user["name"], auth_protocol=str(user["auth"]),
                        priv_protocol=str(user["priv"]),
                        auth_key_file=_secret_file(workdir / f"{host.id}.snmp-auth-key", user["auth_key"]),
                        priv_key_file=_secret_file(workdir / f"{host.id}.snmp-priv-key", user["priv_key"]))
    else:
        community = agent["communities"][0]["name"]
        endpoint.update(version="2c",
                        community_file=_secret_file(workdir / f"{host.id}.snmp-community", community))
    sim.start()
    endpoint["port"] = sim.port
    return sim, endpoint
