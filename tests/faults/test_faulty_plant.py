"""A plant of healthy simulators beside faulty devices of every protocol, scanned by the real CLI.

One plant (healthy simulators on 127.0.33.x) and one fault server per fault (127.0.34.x) serve three scans:

* the healthy assets alone (the reference verdicts);
* the healthy assets beside 20 % faulty ones: every healthy asset is assessed with exactly the reference
  verdicts, the scan ends within its budget with exit code 3, no traceback reaches stderr at the default
  verbosity, and the scanner's peak memory stays near the reference scan's;
* every fault at once: each faulty asset ends as it should (an ``error`` with its reason, or assessed where
  the device did answer), within the asset timeout, with bounded memory.

The scanner runs in a child process (:mod:`scanner`), so the peak RSS measured is its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from fault_servers import FaultServer, HostileOpcua
from scanner import Run, run_cli

from simulators.modbus.server import PlcSimulator
from simulators.plant import Plant, PlantHost
from simulators.snmp.server import SnmpSimulator

HEALTHY = [
    PlantHost("ssh-a", "hardened", "127.0.33.1", "control"), PlantHost("ssh-b", "weak", "127.0.33.2", "control"),
    PlantHost("ssh-c", "hardened", "127.0.33.3", "control"), PlantHost("ssh-d", "weak", "127.0.33.4", "control"),
    PlantHost("ssh-e", "hardened", "127.0.33.5", "control"), PlantHost("ssh-f", "weak", "127.0.33.6", "control"),
    PlantHost("sw-a", "weak", "127.0.33.7", "control", type="network", protocol="snmp"),
    PlantHost("sw-b", "hardened", "127.0.33.8", "control", type="network", protocol="snmp"),
    PlantHost("plc-a", "weak", "127.0.33.9", "control", type="embedded", protocol="modbus"),
    PlantHost("plc-b", "hardened", "127.0.33.10", "control", type="embedded", protocol="modbus"),
    PlantHost("ua-a", "weak", "127.0.33.11", "control", type="application", protocol="opcua"),
    PlantHost("ua-b", "hardened", "127.0.33.12", "control", type="application", protocol="opcua"),
]
#: A real SSH server (the simulator) whose pre-authentication banner is 750 KB.
BANNER_HOST = PlantHost("ssh-banner", "weak", "127.0.34.1", "control")
BANNER = ("AUTHORISED USE ONLY. " * 40 + "\n") * 890  # ~750 KB
#: The faulty assets that stand beside the healthy ones in the 20 % scan.
BESIDE = ("ua-50k-endpoints", "ssh-drip", "plc-garbage")
ASSET_TIMEOUT = 6
FAULT_TIMEOUT = 1.0  # every faulty endpoint's own timeout


class FaultyPlant:
    """The healthy plant, the fault servers, and an inventory writer for any selection of their assets."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.plant = Plant(workdir / "plant", [*HEALTHY, BANNER_HOST])
        self.servers: list[Any] = []
        self.faulty: dict[str, dict[str, Any]] = {}  # asset id -> inventory asset
        self.expected_status: dict[str, str] = {}

    def __enter__(self) -> "FaultyPlant":
        self.plant.start()
        self.plant.simulators[BANNER_HOST.id].banner = BANNER
        try:
            self._start_faults()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for server in reversed(self.servers):
            server.__exit__(None, None, None)
        self.plant.stop()

    def _start(self, server: Any) -> Any:
        started = server.__enter__()
        self.servers.append(server)
        return started

    def _add(self, asset_id: str, kind: str, address: str, endpoint: dict[str, Any], status: str = "error") -> None:
        self.faulty[asset_id] = {"id": asset_id, "type": kind, "zone": "control", "address": address,
                                 "endpoints": [endpoint]}
        self.expected_status[asset_id] = status

    def _start_faults(self) -> None:
        ssh = {**self.plant.endpoints["ssh-a"], "timeout": FAULT_TIMEOUT}
        self.faulty[BANNER_HOST.id] = next(a for a in self.plant.inventory()["assets"] if a["id"] == BANNER_HOST.id)
        self.expected_status[BANNER_HOST.id] = "assessed"  # it answers: the banner is kept, truncated
        octet = 10
        for mode in ("silence", "reset", "garbage", "endless", "endless_lines", "drip"):
            address = f"127.0.34.{octet}"
            server = self._start(FaultServer(mode, address))
            self._add(f"ssh-{mode.replace('_', '-')}", "host", address, {**ssh, "port": server.port})
            octet += 1
        plc = {"protocol": "modbus", "timeout": FAULT_TIMEOUT, "requests_per_second": 50}
        for fault in ("reset", "garbage", "truncate", "silent"):
            address = f"127.0.34.{octet}"
            sim = self._start(PlcSimulator("weak", address, fault=fault))
            self._add(f"plc-{fault}", "embedded", address, {**plc, "port": sim.port})
            octet += 1
        for mode, tls in (("drip", False), ("garbage", True)):
            address = f"127.0.34.{octet}"
            server = self._start(FaultServer(mode, address))
            self._add(f"plc-{mode}{'-tls' if tls else ''}", "embedded", address,
                      {**plc, "port": server.port, "tls": tls})
            octet += 1
        for name, server_of in (("ua-50k-endpoints", lambda a: HostileOpcua(a, endpoints=50_000)),
                                ("ua-chunk-flood", lambda a: HostileOpcua(a, mode="chunk_flood")),
                                ("ua-channel-error", lambda a: HostileOpcua(a, mode="channel_error")),
                                ("ua-garbage", lambda a: FaultServer("garbage", a)),
                                ("ua-silence", lambda a: FaultServer("silence", a)),
                                ("ua-drip", lambda a: FaultServer("drip", a)),
                                ("ua-reset", lambda a: FaultServer("reset", a))):
            address = f"127.0.34.{octet}"
            server = self._start(server_of(address))
            self._add(name, "application", address, {"protocol": "opcua", "port": server.port, "timeout": FAULT_TIMEOUT})
            octet += 1
        snmp = {k: v for k, v in self.plant.endpoints["sw-a"].items()}
        snmp.update(timeout=FAULT_TIMEOUT, probe_default_communities=False)
        for behaviour, status in (("garbage", "error"), ("silent", "error"), ("slow", "error"), ("endless", "error"),
                                  ("loop", "assessed")):
            address = f"127.0.34.{octet}"
            sim = self._start(SnmpSimulator("weak", host=address, behaviour=behaviour))
            # an endless walk is cut by the asset timeout: what was read is kept (partial), the asset is an error
            self._add(f"sw-{behaviour}", "network", address, {**snmp, "port": sim.port}, status)
            octet += 1

    def inventory(self, name: str, faulty: tuple[str, ...] | list[str] = (), healthy: bool = True) -> Path:
        base = self.plant.inventory()
        assets = [a for a in base["assets"] if a["id"] != BANNER_HOST.id] if healthy else []
        for asset in assets:  # the same politeness settings in every scan, so verdicts compare
            for endpoint in asset["endpoints"]:
                if endpoint["protocol"] == "modbus":
                    endpoint["requests_per_second"] = 50
                if endpoint["protocol"] == "snmp":
                    endpoint["probe_default_communities"] = False
        assets += [self.faulty[a] for a in faulty]
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"site": "Faulty plant", "zones": base["zones"], "assets": assets}))
        return path

    def scan(self, name: str, inventory: Path) -> tuple[Run, dict[str, Any]]:
        out = self.workdir / name
        run = run_cli("scan", "--inventory", str(inventory), "--sl", "2", "--out", str(out), "--concurrency", "32",
                      "--asset-timeout", str(ASSET_TIMEOUT), workdir=self.workdir)
        result = json.loads((out / "result.json").read_text())
        return run, result


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyPlant]:
    with FaultyPlant(tmp_path_factory.mktemp("faulty-plant")) as plant:
        yield plant


@pytest.fixture(scope="module")
def reference(faulty: FaultyPlant) -> tuple[Run, dict[str, Any]]:
    return faulty.scan("healthy", faulty.inventory("healthy"))


def verdicts(result: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {a["id"]: {r["check_id"]: r["status"] for r in a["results"]} for a in result["assets"]}


def test_healthy_assets_keep_their_verdicts_beside_faulty_ones(faulty: FaultyPlant, reference) -> None:
    clean_run, clean = reference
    assert clean_run.code in (0, 1), clean_run.stderr  # the healthy plant alone: no asset unassessed
    assert all(a["status"] == "assessed" for a in clean["assets"])
    inventory = faulty.inventory("beside", BESIDE)
    share = len(BESIDE) / (len(HEALTHY) + len(BESIDE))
    assert share == pytest.approx(0.2)
    run, mixed = faulty.scan("beside", inventory)
    assert run.code == 3, run.stderr
    assert run.seconds < ASSET_TIMEOUT + 15, run.seconds  # the budget: the asset timeout, and start-up
    assert "Traceback" not in run.stderr, run.stderr
    statuses = {a["id"]: a["status"] for a in mixed["assets"]}
    assert {i: statuses[i] for i in BESIDE} == {i: "error" for i in BESIDE}, mixed
    healthy_ids = [h.id for h in HEALTHY]
    assert all(statuses[i] == "assessed" for i in healthy_ids)
    mixed_verdicts = verdicts(mixed)
    assert {i: mixed_verdicts[i] for i in healthy_ids} == verdicts(clean)
    # 50,000 endpoints (an 83 MB answer) cost the scanner no more than a bounded message does
    assert run.peak_rss_mib < clean_run.peak_rss_mib + 60, (run.peak_rss_mib, clean_run.peak_rss_mib)
    print(f"\nhealthy scan: {clean_run.seconds:.1f} s, peak RSS {clean_run.peak_rss_mib:.0f} MiB; "
          f"with 20% faulty: {run.seconds:.1f} s, peak RSS {run.peak_rss_mib:.0f} MiB")


def test_every_fault_ends_as_it_should_within_the_budget(faulty: FaultyPlant, reference) -> None:
    clean_run, _clean = reference
    ids = list(faulty.faulty)
    run, result = faulty.scan("faults", faulty.inventory("faults", ids, healthy=False))
    assert run.code == 3, run.stderr
    assert run.seconds < ASSET_TIMEOUT + 15, run.seconds
    assert "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr) < 50_000 and "AUTHORISED USE ONLY. " * 40 not in run.stderr + run.stdout
    assets = {a["id"]: a for a in result["assets"]}
    assert {i: assets[i]["status"] for i in ids} == faulty.expected_status, \
        {i: (assets[i]["status"], assets[i]["error"]) for i in ids}
    for asset_id in ids:
        if assets[asset_id]["status"] == "error":  # a reason, and no verdict claimed on what could not be read
            assert assets[asset_id]["error"], asset_id
            assert not any(r["status"] == "pass" for r in assets[asset_id]["results"]), asset_id
    banner = {r["check_id"]: r for r in assets[BANNER_HOST.id]["results"]}["linux.sshd.banner"]
    assert banner["status"] == "manual" and "kept the first" in banner["reason"], banner
    assert run.peak_rss_mib < clean_run.peak_rss_mib + 60, (run.peak_rss_mib, clean_run.peak_rss_mib)
    print(f"\n{len(ids)} faulty assets: {run.seconds:.1f} s, peak RSS {run.peak_rss_mib:.0f} MiB; reasons: "
          + "; ".join(f"{i}: {assets[i]['error']}" for i in ids if assets[i]["error"]))
