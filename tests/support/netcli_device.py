"""A simulated network device (the SSH simulator in CLI mode) and the auditor's endpoint for it, for tests.

``simulated_device(fixture, address, tmp)`` starts the simulator on ``address`` with a fresh client key and
known_hosts, and yields ``(simulator, asset)``; ``collect(asset)`` runs the CLI connector on every read of
the network configuration pack, as a scan would; ``interactive_shell(fixture, address, tmp)`` gives a test
its own interactive shell on the simulator, as a person at a terminal would have.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

import paramiko

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


@contextlib.contextmanager
def interactive_shell(fixture: str, address: str, tmp: Path
                      ) -> Iterator[tuple[SshSimulator, paramiko.Channel, Callable[[str], str]]]:
    """The simulator of ``fixture`` on ``address`` and a shell on it (the test's own client, not the auditor's),
    with ``read_until(marker)``, which returns what the device printed up to and including ``marker``."""
    key, _ = write_client_key(tmp)
    with SshSimulator(FIXTURES / fixture, host=address, authorized_key=key) as sim:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(address, port=sim.port, username="auditor", pkey=key, allow_agent=False,
                       look_for_keys=False, timeout=5)
        try:
            shell = client.invoke_shell()
            shell.settimeout(5)

            def read_until(marker: str) -> str:
                data = ""
                while marker not in data:
                    data += shell.recv(65536).decode()
                return data

            yield sim, shell, read_until
        finally:
            client.close()
