"""One OPC UA demo plant (a weak and a hardened asyncua server) shared by the OPC UA integration modules.

asyncua needs ~1.5 s to initialise a server's address space, so both integration modules use the same
two servers: started on first use, stopped when the test process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from simulators.plant import Plant, PlantHost

WEAK, HARDENED = "scada-01", "scada-02"
HOSTS = [PlantHost(WEAK, "weak", "127.0.12.41", "control", type="application", protocol="opcua",
                   description="Legacy OPC UA gateway"),
         PlantHost(HARDENED, "hardened", "127.0.12.42", "control", type="application", protocol="opcua",
                   description="Hardened SCADA OPC UA server")]
_PLANT: Plant | None = None


def shared_plant() -> Plant:
    global _PLANT
    if _PLANT is None:
        workdir = Path(tempfile.mkdtemp(prefix="iacs-opcua-plant-"))
        plant = Plant(workdir, HOSTS, timeout=3.0)
        plant.start()
        _PLANT = plant

        def stop() -> None:
            plant.stop()
            shutil.rmtree(workdir, ignore_errors=True)

        atexit.register(stop)
    return _PLANT


def forbidden_services(plant: Plant) -> list[dict]:
    """Every request a simulator saw that is not a read-only discovery/session/read/browse service."""
    allowed = {"GetEndpoints", "FindServers", "CreateSession", "ActivateSession", "CloseSession", "Read", "Browse"}
    return [r for host in (WEAK, HARDENED) for r in plant.simulators[host].requests
            if r["kind"] == "service" and r["service"] not in allowed]
