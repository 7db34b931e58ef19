"""Benchmark: a distributed scan of several simulated sites over Celery workers against one site alone.

Starts, all on loopback 127.0.50.x: the simulated sites (SSH hosts, alternating weak and hardened fixtures, in a
child process), a real redis-server (the broker), a real PostgreSQL (the central store) and WORKERS
``iacs-audit worker`` processes serving every site's queue. It then times, as the command line runs them:

* the full plant (SITES zones of ASSETS hosts, one zone per site and queue) with ``scan --distributed``;
* site 1 alone with ``scan --distributed`` and with a local ``scan`` (same engine concurrency): their
  difference per asset is the dispatch overhead (messages, each asset's commit by the worker, the
  dispatcher reading the evidence back from the store).

    python bench/bench_sites.py [--sites 10] [--assets 100] [--workers 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HOST = "127.0.50"


def _serve(sites: int, assets: int, workdir: str, ready: "mp.Queue", stop: "mp.Event") -> None:
    from simulators.plant import Plant, PlantHost

    hosts = [PlantHost(f"s{site:02d}-{n:03d}", "weak" if n % 2 else "hardened", f"{HOST}.{site}", f"site-{site:02d}")
             for site in range(1, sites + 1) for n in range(1, assets + 1)]
    zones = [{"id": f"site-{site:02d}", "sl_target": 2, "scanner": f"site-{site:02d}"} for site in range(1, sites + 1)]
    with Plant(Path(workdir), hosts, zones=zones, site=f"{sites} sites", timeout=30) as plant:
        ready.put(str(plant.inventory_path))
        stop.wait(7200)


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, dict]:
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=env, timeout=7200)
    wall = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv[3:6])}... exited {done.returncode}: {done.stderr[-2000:]}")
    out = Path(argv[argv.index("--out") + 1])
    return wall, json.loads((out / "result.json").read_text())


def _scan_seconds(result: dict) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(result["finished_at"]) - datetime.fromisoformat(result["started_at"])).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--assets", type=int, default=100, help="hosts per site")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="assets at once within a zone")
    args = parser.parse_args()
    if not 1 <= args.sites <= 200:
        parser.error("--sites: 1 to 200 (one loopback address per site)")

    from auditor.distributed.pki import init, trust
    from tests.support.real_postgres import RealPostgres
    from tests.support.real_redis import RealRedis

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    with tempfile.TemporaryDirectory(prefix="iacs-bench-sites-") as workdir:
        tmp = Path(workdir)
        child = ctx.Process(target=_serve, args=(args.sites, args.assets, str(tmp / "plant"), ready, stop), daemon=True)
        child.start()
        inventory_path = Path(ready.get(timeout=600))
        dispatcher, scanner = init(tmp / "dispatcher", "dispatcher"), init(tmp / "scanner", "scanner")
        trust(dispatcher.folder, scanner.cert)
        trust(scanner.folder, dispatcher.cert)
        data = yaml.safe_load(inventory_path.read_text())
        one = {**data, "zones": data["zones"][:1], "assets": [a for a in data["assets"] if a["zone"] == "site-01"]}
        (tmp / "site-01.yaml").write_text(yaml.safe_dump(one, sort_keys=False))
        queues = ",".join(z["id"] for z in data["zones"])
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with RealRedis(f"{HOST}.250") as redis, RealPostgres() as postgres:
            db = postgres.fresh_database("bench")
            workers = [subprocess.Popen([sys.executable, "-m", "auditor", "-v", "worker", "--queue", queues, "--broker",
                                         redis.url, "--db", db, "--pki", str(scanner.folder), "--name", f"w{n}"],
                                        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=(tmp / f"w{n}.log").open("w"), env=env, start_new_session=True)
                       for n in range(1, args.workers + 1)]
            try:
                deadline = time.monotonic() + 300
                while not all("ready" in (tmp / f"w{n}.log").read_text() for n in range(1, args.workers + 1)):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the workers did not start")
                    time.sleep(0.5)
                common = ["--sl", "2", "--concurrency", str(args.concurrency), "--asset-timeout", "600", "-q",
                          "--format", "json"]
                distributed = [sys.executable, "-m", "auditor", "scan", "--distributed", "--broker", redis.url,
                               "--pki", str(dispatcher.folder), "--db", db, *common]
                alone_wall, alone = _run([*distributed, "-i", str(tmp / "site-01.yaml"), "--out", str(tmp / "alone")], env)
                local_wall, local = _run([sys.executable, "-m", "auditor", "scan", "-i", str(tmp / "site-01.yaml"),
                                          "--db", postgres.fresh_database("local"), *common, "--out",
                                          str(tmp / "local")], env)
                full_wall, full = _run([*distributed, "-i", str(inventory_path), "--out", str(tmp / "full")], env)
            finally:
                for worker in workers:
                    os.killpg(worker.pid, signal.SIGTERM)
                for worker in workers:
                    try:
                        worker.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(worker.pid, signal.SIGKILL)
        stop.set()
        child.join(30)

    assessed = sum(a["status"] == "assessed" for a in full["assets"])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    load = os.getloadavg()[0]
    print(f"machine: {machine}; load average at the end {load:.1f}; {args.workers} workers, engine concurrency "
          f"{args.concurrency} per zone\n")
    print("| run | assets | wall (command) | scan (started to finished) |")
    print("| --- | --- | --- | --- |")
    print(f"| {args.sites} sites, distributed | {len(full['assets'])} ({assessed} assessed) | {full_wall:.1f} s | "
          f"{_scan_seconds(full):.1f} s |")
    print(f"| site 1 alone, distributed | {len(alone['assets'])} | {alone_wall:.1f} s | {_scan_seconds(alone):.1f} s |")
    print(f"| site 1 alone, local scan | {len(local['assets'])} | {local_wall:.1f} s | {_scan_seconds(local):.1f} s |")
    overhead = (_scan_seconds(alone) - _scan_seconds(local)) / max(1, len(alone["assets"]))
    print(f"\ntotal / slowest site alone (distributed): {full_wall / alone_wall:.2f}x wall, "
          f"{_scan_seconds(full) / _scan_seconds(alone):.2f}x scan; dispatch overhead per asset "
          f"(site 1 distributed minus local, scan time): {overhead * 1000:.0f} ms")


if __name__ == "__main__":
    main()
