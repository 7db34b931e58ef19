"""A simulated network device (the SSH simulator in CLI mode) and the auditor's endpoint for it, for tests.

``simulated_device(fixture, address, tmp)`` starts the simulator on ``address`` with a fresh client key and
known_hosts, and yields ``(simulator, asset)``; ``collect(asset)`` runs the CLI connector on every read of
the network configuration pack, as a scan would.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, Iterator

from auditor.evidence import EvidenceItem
from auditor.plant.inventory import Asset
from auditor.registry import REGISTRY
from connectors.base import ScanOptions
from connectors.netcli.connector import NetcliConnector
from simulators.ssh.server import SshSimulator
from tests.support.keys import write_client_key

FIXTURES = Path(__file__).resolve().parents[2] / "simulators" / "netcli" / "fixtures"


@contextlib.contextmanager
def simulated_device(fixture: str, address: str, tmp: Path, **endpoint: Any) -> Iterator[tuple[SshSimulator, Asset]]:
    name = Path(fixture).name
    key, key_path = write_client_key(tmp, f"key-{name}")
    sim = SshSimulator(FIXTURES / fixture, host=address, authorized_key=key).start()
    try:
        known = tmp / f"known_hosts-{name}"
        known.write_text(sim.known_hosts_line)
        fields = {"protocol": "cli", "port": sim.port, "username": "auditor", "key_file": str(key_path),
                  "known_hosts": str(known), "use_agent": False, "requests_per_second": 20, **endpoint}
        asset = Asset.model_validate({"id": f"sw-{name}", "type": "network", "address": address,
                                      "endpoints": [fields]})
        yield sim, asset
    finally:
        sim.stop()


def pack_requests() -> list[Any]:
    """Every CLI read the registered facts need (what a scan of a network device with a cli endpoint sends)."""
    return list(REGISTRY.load().requests_for(REGISTRY.checks.values()).get("cli", []))


def collect(asset: Asset, requests: list[Any] | None = None, **options: Any) -> list[EvidenceItem]:
    connector = NetcliConnector(asset, asset.endpoints[0], ScanOptions(command_timeout=20, **options))
    return asyncio.run(connector.collect(requests if requests is not None else pack_requests()))
