"""Demo-plant launcher for controller web interfaces (``LAUNCHERS["https"]`` in :mod:`simulators.plant`).

Takes 443 and 80 on its own loopback address when it may (root, free), else ephemeral ports that the
inventory endpoint names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.web.server import WebSimulator, bind_or_ephemeral

if TYPE_CHECKING:  # pragma: no cover
    from simulators.plant import Plant, PlantHost

__all__ = ["launch"]


def launch(host: "PlantHost", plant: "Plant") -> tuple[WebSimulator, dict[str, Any]]:
    """Start one web interface on ``host.address`` and return it with its inventory endpoint."""
    sim = WebSimulator(host.fixture, host.address, https_port=bind_or_ephemeral(host.address, 443),
                       http_port=bind_or_ephemeral(host.address, 80)).start()
    return sim, {"protocol": "https", "port": sim.https_port, "http_port": sim.http_port, "timeout": plant.timeout,
                 "requests_per_second": 20.0}
