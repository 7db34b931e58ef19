"""Benchmark: scan the demo plant and a scaled plant of simulated hosts; print wall time, SSH round
trips per host and peak memory of the scanning process.

The simulated plant runs in a child process so the scanner's own memory is measured alone (both still
share the machine's cores, as they would share a technician's laptop).

    python bench/bench_scan.py [--hosts 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.engine import EngineSettings, scan  # noqa: E402
from auditor.plant.inventory import Inventory, load_inventory  # noqa: E402
from auditor.plant.planning import plan_assets  # noqa: E402
from connectors import ScanOptions  # noqa: E402


def _serve(hosts: int | None, workdir: str, ready: "mp.Queue", stop: "mp.Event") -> None:
    from simulators.plant import Plant

    plant = Plant(Path(workdir)) if hosts is None else Plant.scaled(Path(workdir), hosts)
    with plant:
        ready.put((str(plant.inventory_path), str(plant.known_hosts)))
        stop.wait(3600)
        from simulators.ssh.server import SshSimulator

        ssh_sims = [sim for sim in plant.simulators.values() if isinstance(sim, SshSimulator)]
        execs = [sum(1 for r in sim.requests if r["kind"] == "exec") for sim in ssh_sims]
        connects = [sum(1 for r in sim.requests if r["kind"] == "connect") for sim in ssh_sims]
        ready.put({"exec_requests": execs, "connections": connects})


def _scan(inventory: Inventory, known_hosts: str, concurrency: int):
    plans = plan_assets(inventory, sl=2)
    options = ScanOptions(known_hosts=Path(known_hosts))
    started = time.perf_counter()
    bundle, result = asyncio.run(scan(inventory, plans, "sl2", options, EngineSettings(concurrency=concurrency)))
    return time.perf_counter() - started, bundle, result


def scenario(name: str, hosts: int | None, concurrency: int, repeat: int) -> dict:
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    with tempfile.TemporaryDirectory(prefix="iacs-bench-") as workdir:
        child = ctx.Process(target=_serve, args=(hosts, workdir, ready, stop), daemon=True)
        child.start()
        inventory_path, known_hosts = ready.get(timeout=120)
        inventory = load_inventory(inventory_path)
        walls = []
        for _ in range(repeat):
            wall, bundle, result = _scan(inventory, known_hosts, concurrency)
            walls.append(wall)
        stop.set()
        server_stats = ready.get(timeout=60)
        child.join(30)
    assessed = [a for a in result.assets if a.status == "assessed"]
    protocols = {a.id: a.endpoints[0].protocol for a in inventory.assets}
    per_asset = [{"asset": a.asset, "protocol": protocols[a.asset], "status": a.status,
                  "seconds": round((a.finished_at - a.started_at).total_seconds(), 3) if a.started_at and a.finished_at else None,
                  "evidence_items": len(a.items)} for a in bundle.assets]
    items = [len(a.items) for a in bundle.assets]
    per_host_durations = [(a.finished_at - a.started_at).total_seconds() for a in bundle.assets
                          if a.started_at and a.finished_at]
    return {
        "scenario": name,
        "hosts": len(inventory.assets),
        "assessed": len(assessed),
        "scans": repeat,
        "wall_s_median": round(statistics.median(walls), 3),
        "wall_s_min": round(min(walls), 3),
        "per_host_s_median": round(statistics.median(per_host_durations), 3) if per_host_durations else None,
        "ssh_exec_round_trips_per_host": max(server_stats["exec_requests"]) / repeat,
        "ssh_connections_per_host": max(server_stats["connections"]) / repeat,
        "evidence_items_per_host": round(statistics.mean(items), 1) if items else 0,
        "checks_per_host": round(statistics.mean(len(a.results) for a in result.assets), 1),
        "per_asset": per_asset,
    }


def real_sshd_scenario(repeat: int) -> dict | None:
    """One real OpenSSH sshd (hardened config) on loopback, when this machine can start one (root + sshd)."""
    try:
        from tests.support.real_sshd import RealSshd, sshd_unavailable_reason
    except ImportError:
        return None
    if sshd_unavailable_reason():
        return None
    with tempfile.TemporaryDirectory(prefix="iacs-bench-sshd-") as workdir, RealSshd("hardened", Path(workdir)) as sshd:
        inventory = Inventory.model_validate({"site": "bench", "assets": [{
            "id": "real-sshd", "type": "host", "address": sshd.host, "endpoints": [{
                "protocol": "ssh", "port": sshd.port, "username": sshd.username, "key_file": str(sshd.client_key),
                "known_hosts": str(sshd.known_hosts)}]}]})
        walls = [_scan(inventory, str(sshd.known_hosts), 1) for _ in range(repeat)]
    bundle, result = walls[-1][1], walls[-1][2]
    session = next((i.data() for i in bundle.assets[0].items if i.request.op == "session"), {})
    return {"scenario": "real OpenSSH sshd, hardened (no sudo)", "hosts": 1, "assessed": int(result.assets[0].status == "assessed"),
            "scans": repeat, "wall_s_median": round(statistics.median(w for w, _, _ in walls), 3),
            "wall_s_min": round(min(w for w, _, _ in walls), 3),
            "per_host_s_median": round(statistics.median(w for w, _, _ in walls), 3),
            "ssh_exec_round_trips_per_host": session.get("round_trips", 0), "ssh_connections_per_host": 2,
            "evidence_items_per_host": len(bundle.assets[0].items), "checks_per_host": len(result.assets[0].results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    rows = [scenario("demo plant", None, 8, args.repeat),
            scenario(f"scaled plant ({args.hosts} hosts)", args.hosts, args.concurrency, 1)]
    real = real_sshd_scenario(args.repeat)
    if real:
        rows.append(real)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}; scanner peak RSS {peak_mib:.0f} MiB (whole benchmark process)\n")
    print("| scenario | hosts | wall (median) | per host (median) | TCP connections/host (SSH) | SSH exec round trips/host | items/host | checks/host |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['scenario']} | {r['hosts']} ({r['assessed']} assessed) | {r['wall_s_median']} s | "
              f"{r['per_host_s_median']} s | {r['ssh_connections_per_host']:g} | {r['ssh_exec_round_trips_per_host']:g} | "
              f"{r['evidence_items_per_host']} | {r['checks_per_host']} |")
    print("\nper asset, last demo-plant scan (items = requests answered, one evidence item each):\n")
    print("| asset | protocol | status | time | evidence items |")
    print("| --- | --- | --- | --- | --- |")
    for a in rows[0]["per_asset"]:
        print(f"| {a['asset']} | {a['protocol']} | {a['status']} | {a['seconds']} s | {a['evidence_items']} |")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"machine": machine, "peak_rss_mib": round(peak_mib), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
