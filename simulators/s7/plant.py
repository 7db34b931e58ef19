"""Demo-plant launcher for simulated S7 CPUs (``LAUNCHERS["s7"]`` in :mod:`simulators.plant`).

The CPU takes port 102 (ISO-TSAP) on its own loopback address when it may (root), else an ephemeral port
that the inventory endpoint names. Rack 0, slot 2, as an S7-300 CPU sits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.s7.server import S7Simulator

if TYPE_CHECKING:  # pragma: no cover
    from simulators.plant import Plant, PlantHost

__all__ = ["launch"]


def launch(host: "PlantHost", plant: "Plant") -> tuple[S7Simulator, dict[str, Any]]:
    """Start one simulated S7 CPU on ``host.address`` and return it with its inventory endpoint."""
    try:
        sim = S7Simulator(host.fixture, host.address, 102).start()
    except OSError:  # 102 taken or not permitted
        sim = S7Simulator(host.fixture, host.address).start()
    return sim, {"protocol": "s7", "port": sim.port, "rack": 0, "slot": 2, "timeout": plant.timeout,
                 "requests_per_second": 10.0}
