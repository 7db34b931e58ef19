"""Demo-plant launcher for simulated PLCs (``LAUNCHERS["modbus"]`` in :mod:`simulators.plant`).

The PLC takes the well-known ports on its own loopback address when it can (502 plain, 802 Modbus/TCP
Security, 23/21/80 for the weak PLC's telnet/FTP/HTTP), which makes the exposure probes realistic;
each port that is taken or not permitted (not root) falls back (an ephemeral Modbus port; a missing
service) and the simulator's ``warnings`` say so.

A hardened PLC requires a client certificate: the launcher writes the demo PKI's auditor certificate,
key (mode 0600) and CA into ``<plant workdir>/modbus-tls/`` and names them in the PLC's inventory
endpoint (``client_cert_file``, ``client_key_file``, ``ca_file``, and ``tls: true`` so an ephemeral
fallback port is still spoken to over TLS), like any other connector's credentials by reference.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from simulators.modbus.pki import demo_pki
from simulators.modbus.server import PlcSimulator

if TYPE_CHECKING:  # pragma: no cover
    from simulators.plant import Plant, PlantHost

log = logging.getLogger(__name__)

__all__ = ["launch"]

TLS_FOLDER = "modbus-tls"


def launch(host: "PlantHost", plant: "Plant") -> tuple[PlcSimulator, dict[str, Any]]:
    """Start one simulated PLC on ``host.address`` and return it with its inventory endpoint."""
    sim = PlcSimulator(host.fixture, host.address, well_known_ports=True)
    sim.start()
    for warning in sim.warnings:
        log.warning("%s: %s", host.id, warning)
    endpoint: dict[str, Any] = {"protocol": "modbus", "port": sim.port, "unit_id": 1, "timeout": plant.timeout}
    if sim.fixture.tls:
        try:
            folder = plant.workdir / TLS_FOLDER
            (folder / "client.key").unlink(missing_ok=True)  # so the key file is created anew, mode 0600
            files = demo_pki().write(folder)  # ca.crt, client.crt, client.key
        except BaseException:
            sim.stop()
            raise
        endpoint.update({"tls": True, "client_cert_file": str(files["cert"]), "client_key_file": str(files["key"]),
                         "ca_file": str(files["ca"])})
    return sim, endpoint
