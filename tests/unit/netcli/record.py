"""Re-record ``recorded/sim-*.json`` from the CLI simulator: ``python -m tests.unit.netcli.record`` (loopback only)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from auditor.evidence import number_items
from tests.support.netcli_device import collect, simulated_device

RECORDED = Path(__file__).resolve().parent / "recorded"


#: each fixture and the loopback address its simulator is recorded on
FIXTURES = {"ios-weak": "127.0.35.1", "ios-hardened": "127.0.35.2", "hios-weak": "127.0.42.1",
            "hios-hardened": "127.0.42.2"}


def main() -> None:
    for fixture, address in FIXTURES.items():
        with tempfile.TemporaryDirectory() as tmp, simulated_device(fixture, address, Path(tmp)) as (_, asset):
            items = collect(asset)
        number_items(asset.id, items)
        data = [item.model_dump(mode="json", exclude={"sha256"}) for item in items]
        for entry in data:  # the session's ephemeral port and local paths are not evidence the checks read
            entry["endpoint"] = f"cli://{asset.address}:22"
            if entry["request"]["op"] == "session":
                info = json.loads(entry["response"])
                info.update(port=22, known_hosts="known_hosts")
                entry["response"] = json.dumps(info, sort_keys=True)
        (RECORDED / f"sim-{fixture}.json").write_text(json.dumps(data, indent=1) + "\n")
        print(f"recorded/sim-{fixture}.json: {len(data)} items")


if __name__ == "__main__":
    main()
