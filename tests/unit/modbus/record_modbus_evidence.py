"""Re-record ``recorded/*.json`` (run as root from the repo root: ``python tests/unit/modbus/record_modbus_evidence.py``)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from auditor.assessment.profiles import load_profile  # noqa: E402
from auditor.plant.inventory import Asset  # noqa: E402
from auditor.registry import REGISTRY  # noqa: E402
from connectors.base import ScanOptions  # noqa: E402
from connectors.modbus.connector import ModbusConnector  # noqa: E402
from simulators.modbus.pki import demo_pki  # noqa: E402
from simulators.modbus.server import PlcSimulator  # noqa: E402

OUT = Path(__file__).resolve().parent / "recorded"


async def record(sim: PlcSimulator, name: str, requests: list, **endpoint: str) -> None:
    asset = Asset(id="plc", type="embedded", address=sim.host, endpoints=[sim.endpoint(timeout=2, **endpoint)])
    items = await ModbusConnector(asset, asset.endpoints[0], ScanOptions()).collect(requests)
    (OUT / f"{name}.json").write_text(json.dumps([i.model_dump(mode="json", exclude={"sha256"}) for i in items],
                                                 indent=1) + "\n")


def main() -> None:
    REGISTRY.load()
    requests = REGISTRY.requests_for(load_profile("embedded-sl2").selected_checks(REGISTRY))["modbus"]
    with PlcSimulator("weak", "127.0.77.31", well_known_ports=True) as weak:
        asyncio.run(record(weak, "weak", requests))
    files = demo_pki().process_files()  # the auditor's certificate, named in the endpoint like an inventory does
    credentials = {"client_cert_file": str(files["cert"]), "client_key_file": str(files["key"]),
                   "ca_file": str(files["ca"])}
    with PlcSimulator("hardened", "127.0.77.32", well_known_ports=True) as hardened:
        asyncio.run(record(hardened, "hardened_no_client_cert", requests))
        asyncio.run(record(hardened, "hardened", requests, **credentials))


if __name__ == "__main__":
    main()
