"""Demo-plant launcher for network devices audited over their CLI (``LAUNCHERS["cli"]`` in :mod:`simulators.plant`).

A plant host's fixture ``weak``/``hardened`` is the Cisco IOS switch of that kind (``ios-weak``,
``ios-hardened``); any other value names a fixture folder of :mod:`simulators.netcli` or a path. The
device accepts only the plant's auditor key, like the plant's SSH hosts, and its host key goes into the
plant's known_hosts. The inventory leaves a Cisco switch's platform to auto-detection and names any other
platform (``platform: hirschmann_hios``), as an owner who knows the device would: auto-detection of HiOS
costs a refused Cisco probe first (``tests/integration/test_netcli_hios_connector.py`` shows it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from auditor.protocols.cli import AUTO_START
from simulators.plant import USERNAME
from simulators.ssh.server import SshSimulator

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_folder(name: str) -> Path:
    if name in ("weak", "hardened"):
        return FIXTURES / f"ios-{name}"
    return FIXTURES / name if (FIXTURES / name).is_dir() else Path(name)


def launch(host: Any, plant: Any) -> tuple[SshSimulator, dict[str, Any]]:
    """Start one simulated switch with a CLI and return it with the inventory endpoint that reaches it."""
    folder = fixture_folder(host.fixture)
    sim = SshSimulator(folder, host=host.address, port=0, username=USERNAME, authorized_key=plant.client_key)
    sim.start()
    endpoint = {"protocol": "cli", "port": sim.port, "username": USERNAME, "key_file": str(plant.key_path),
                "known_hosts": str(plant.known_hosts), "timeout": plant.timeout}
    platform = (yaml.safe_load((folder / "device.yaml").read_text(encoding="utf-8")).get("cli") or {}).get("platform")
    if platform not in (None, AUTO_START):
        endpoint["platform"] = platform
    return sim, endpoint
