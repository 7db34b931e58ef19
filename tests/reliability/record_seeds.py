"""Record the fuzzing seed corpus: what a scan of the simulated plant collects, every protocol, weak and hardened.

``python tests/reliability/record_seeds.py`` starts the simulators on 127.0.32.x, scans them and keeps each
evidence item's request, encoding, response, exit code and meta in ``seeds/evidence.json`` (timestamps and
ids dropped). The fuzz tests mutate these real answers, so the parsers meet inputs near the ones they
were written for as well as far from them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import cli
from simulators.plant import Plant, PlantHost

SEEDS = Path(__file__).resolve().parent / "seeds" / "evidence.json"
HOSTS = [PlantHost("ssh-weak", "weak", "127.0.32.101", "control"),
         PlantHost("ssh-hardened", "hardened", "127.0.32.102", "control"),
         PlantHost("snmp-weak", "weak", "127.0.32.121", "control", type="network", protocol="snmp"),
         PlantHost("snmp-hardened", "hardened", "127.0.32.122", "control", type="network", protocol="snmp"),
         PlantHost("opcua-weak", "weak", "127.0.32.141", "control", type="application", protocol="opcua"),
         PlantHost("opcua-hardened", "hardened", "127.0.32.142", "control", type="application", protocol="opcua"),
         PlantHost("modbus-weak", "weak", "127.0.32.131", "control", type="embedded", protocol="modbus"),
         PlantHost("modbus-hardened", "hardened", "127.0.32.132", "control", type="embedded", protocol="modbus"),
         PlantHost("windows-weak", "windows-weak", "127.0.32.103", "control"),
         PlantHost("windows-hardened", "windows-hardened", "127.0.32.104", "control"),
         PlantHost("cli-weak", "weak", "127.0.32.123", "control", type="network", protocol="cli"),
         PlantHost("cli-hardened", "hardened", "127.0.32.124", "control", type="network", protocol="cli"),
         PlantHost("s7-weak", "weak", "127.0.32.133", "control", type="embedded", protocol="s7"),
         PlantHost("s7-hardened", "hardened", "127.0.32.134", "control", type="embedded", protocol="s7"),
         PlantHost("web-weak", "weak", "127.0.32.143", "control", type="embedded", protocol="https"),
         PlantHost("web-hardened", "hardened", "127.0.32.144", "control", type="embedded", protocol="https")]


def record() -> Path:
    with tempfile.TemporaryDirectory(prefix="iacs-seeds-") as folder, Plant(Path(folder) / "plant", HOSTS) as plant:
        out = Path(folder) / "out"
        run = CliRunner().invoke(cli, ["scan", "--inventory", str(plant.inventory_path), "--sl", "3", "--out",
                                       str(out), "-f", "json", "-q"])
        if run.exit_code not in (1, 3):
            raise SystemExit(run.output)
        bundle = json.loads((out / "evidence.json").read_text())
    assets = {}
    for asset in bundle["assets"]:
        assets[asset["asset"]] = [
            {key: item[key] for key in ("request", "status", "exit_code", "encoding", "response", "error", "meta")}
            for item in asset["items"]]
    SEEDS.write_text(json.dumps(assets, indent=1, sort_keys=True) + "\n")
    return SEEDS


if __name__ == "__main__":
    sys.exit(print(record()))
