"""Benchmark: scan the demo plant and a scaled plant of simulated hosts; print wall time, SSH round
trips per host and peak memory of the scanning process.

The simulated plant runs in a child process so the scanner's own memory is measured alone (both still
share the machine's cores, as they would share a technician's laptop).

    python bench/bench_scan.py [--hosts 100] [--repeat 5]
    python bench/bench_scan.py --mixed [--assets 1000]   # a mixed plant with politeness limits, against P2
    python bench/bench_scan.py --startup                 # the command line's start: --help, first connection

``--mixed``: hosts (SSH), switches (SNMP), PLCs (Modbus/TCP) and OPC UA servers in plant-like proportions
(:data:`MIX`), one simulator process per kind, on 127.0.47.0/24 to 127.0.49.0/24 (PLCs and OPC UA servers
each on their own address; hosts and switches share addresses past the 762nd asset, on their own ports),
scanned with the inventory's politeness limits (:data:`MIXED_LIMITS`). The scan runs in this process, so
its wall time and peak RSS are the scanner's; the simulators still compete for the same cores, so the CPU each
used during the scan is printed too, with the wall-time floor the scanner's and theirs set together.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.engine import EngineSettings, run_sync, scan  # noqa: E402
from auditor.plant.inventory import Inventory, load_inventory  # noqa: E402
from auditor.plant.planning import plan_assets  # noqa: E402
from connectors import ScanOptions  # noqa: E402


#: (kind of device, protocol, component type, share of the plant, fixtures alternated)
MIX: tuple[tuple[str, str, str, float, tuple[str, ...]], ...] = (
    ("PLCs", "modbus", "embedded", 0.25, ("weak", "hardened")),
    ("OPC UA servers", "opcua", "application", 0.10, ("weak", "hardened")),
    ("switches", "snmp", "network", 0.30, ("weak", "hardened")),
    ("hosts", "ssh", "host", 0.35, ("weak", "hardened")),
)
#: politeness for the mixed plant (inventory ``limits``): assets at once, and per protocol endpoints at once and
#: new connections per second
#: (each device also keeps its connector's own pace: an SNMP agent about 6 s, a PLC about 4 s, as in the demo)
MIXED_LIMITS = {"concurrency": 128, "protocols": {
    "ssh": {"concurrency": 32, "connection_rate": 40}, "snmp": {"concurrency": 64, "connection_rate": 50},
    "modbus": {"concurrency": 32, "connection_rate": 25}, "opcua": {"concurrency": 16, "connection_rate": 10}}}
MIXED_SUBNETS = (47, 48, 49)  # 127.0.N.1-254
P2_SECONDS, P2_MIB = 60, 500


def mixed_hosts(assets: int) -> dict[str, list]:
    """Protocol -> the PlantHosts of a mixed plant of ``assets`` assets (see the module docstring)."""
    from simulators.plant import PlantHost

    counts = [round(assets * share) for _, _, _, share, _ in MIX]
    counts[-1] = assets - sum(counts[:-1])
    slots = [f"127.0.{net}.{last}" for net in MIXED_SUBNETS for last in range(1, 255)]
    out: dict[str, list] = {}
    index = 0
    for (label, protocol, kind, _, fixtures), count in zip(MIX, counts):
        out[protocol] = [PlantHost(f"{protocol}-{n + 1:04d}", fixtures[n % len(fixtures)],
                                   slots[(index + n) % len(slots)], "control", type=kind,
                                   description=f"benchmark {label[:-1]}", protocol=protocol)
                         for n in range(count)]
        index += count
    return out


def _serve_kind(hosts: list, workdir: str, ready: "mp.Queue", stop: "mp.Event") -> None:
    """One simulator process: every device of one kind."""
    from simulators.plant import Plant

    zones = [{"id": "control", "sl_target": 2, "description": "Benchmark control zone"}]
    with Plant(Path(workdir), hosts, zones=zones, site="Benchmark mixed plant", timeout=10.0) as plant:
        ready.put(str(plant.inventory_path))
        stop.wait(3600)


def _process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds a running process has used so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def mixed_scenario(assets: int, concurrency: int) -> dict:
    """Start the mixed plant (one process per kind), scan it once here with politeness on, return the figures."""
    import yaml

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    children = []
    with tempfile.TemporaryDirectory(prefix="iacs-bench-mixed-") as workdir:
        started = time.perf_counter()
        for protocol, hosts in mixed_hosts(assets).items():
            ready = ctx.Queue()
            child = ctx.Process(target=_serve_kind, args=(hosts, str(Path(workdir, protocol)), ready, stop),
                                daemon=True)
            child.start()
            children.append((protocol, child, ready))
        inventory_assets: list = []
        try:
            for protocol, child, ready in children:
                path = ready.get(timeout=1200)
                inventory_assets += yaml.safe_load(Path(path).read_text(encoding="utf-8"))["assets"]
            startup = time.perf_counter() - started
            inventory = Inventory.model_validate({
                "site": f"Benchmark mixed plant ({assets} assets)", "limits": MIXED_LIMITS,
                "zones": [{"id": "control", "sl_target": 2}], "assets": inventory_assets})
            # the scanner's own CPU and memory: this process, and the workers it forks to score (ended with the
            # scan, so counted among the finished children; the simulators still run and are not among them)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            forked_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            simulators_before = {protocol: _process_cpu(child.pid) for protocol, child, _ in children}
            wall, bundle, result = _scan(inventory, str(Path(workdir, "ssh", "known_hosts")), concurrency)
            after = resource.getrusage(resource.RUSAGE_SELF)
            forked = resource.getrusage(resource.RUSAGE_CHILDREN)
            simulator_cpu = {protocol: round(_process_cpu(child.pid) - simulators_before[protocol], 1)
                             for protocol, child, _ in children
                             if simulators_before[protocol] is not None and _process_cpu(child.pid) is not None}
            before, peak = usage.ru_maxrss / 1024, max(after.ru_maxrss, forked.ru_maxrss) / 1024
            cpu = (after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
                   + forked.ru_utime + forked.ru_stime - forked_before.ru_utime - forked_before.ru_stime)
        finally:
            stop.set()
            for _, child, _ in children:
                child.join(60)
                if child.is_alive():
                    child.kill()
    by_kind: dict[str, dict] = {}
    kinds = {a.id: a.type for a in inventory.assets}
    seconds = {e.asset: (e.finished_at - e.started_at).total_seconds() for e in bundle.assets
               if e.started_at and e.finished_at}
    for asset in result.assets:
        row = by_kind.setdefault(kinds[asset.id], {"assets": 0, "assessed": 0, "seconds": []})
        row["assets"] += 1
        row["assessed"] += asset.status == "assessed"
        row["seconds"].append(seconds.get(asset.id, 0.0))
    for row in by_kind.values():
        row["median_s"] = round(statistics.median(row.pop("seconds")), 2)
    # why an asset was not assessed, addresses and numbers folded so that alike reasons count together
    why = Counter(f"{kinds[a.id]}: " + re.sub(r"\d+(\.\d+)*", "N", a.error or a.status)[:120]
                  for a in result.assets if a.status != "assessed")
    return {"assets": len(inventory.assets), "assessed": sum(a.status == "assessed" for a in result.assets),
            "wall_s": round(wall, 2), "scanner_cpu_s": round(cpu, 1), "peak_rss_mib": round(peak),
            "rss_before_scan_mib": round(before),
            "simulator_startup_s": round(startup, 1), "simulator_cpu_s": simulator_cpu, "by_kind": by_kind,
            "evidence_items": sum(len(a.items) for a in bundle.assets), "limits": MIXED_LIMITS,
            "not_assessed": dict(why.most_common())}


def print_mixed(row: dict) -> None:
    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {platform.python_version()}, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min; the simulators' four processes share the "
          f"cores with the scanner)")
    kinds = ", ".join(f"{v['assets']} {k} ({v['assessed']} assessed, {v['median_s']} s each, median)"
                      for k, v in row["by_kind"].items())
    print(f"mixed plant: {kinds}; simulators started in {row['simulator_startup_s']} s; politeness limits "
          f"{json.dumps(row['limits'])}")
    print("| target | measured | target value | met |")
    print("| --- | --- | --- | --- |")
    print(f"| P2 scan of {row['assets']} mixed assets, wall | {row['wall_s']} s (scanner CPU {row['scanner_cpu_s']} s) "
          f"| <= {P2_SECONDS} s | {'yes' if row['wall_s'] <= P2_SECONDS else 'no'} |")
    print(f"| P2 scanner peak RSS | {row['peak_rss_mib']} MiB (before the scan {row['rss_before_scan_mib']} MiB) | "
          f"<= {P2_MIB} MB | {'yes' if row['peak_rss_mib'] * 1.048576 <= P2_MIB else 'no'} |")
    print(f"assessed {row['assessed']} of {row['assets']}; {row['evidence_items']} evidence items")
    if row["simulator_cpu_s"]:
        spent = ", ".join(f"{protocol} {seconds} s" for protocol, seconds in row["simulator_cpu_s"].items())
        total = row["scanner_cpu_s"] + sum(row["simulator_cpu_s"].values())
        print(f"simulators' CPU during the scan: {spent}; with the scanner's {total:.1f} s of CPU on "
              f"{os.cpu_count()} cores, the wall time cannot be under {total / (os.cpu_count() or 1):.1f} s")
    for reason, count in row["not_assessed"].items():
        print(f"  not assessed: {count} x {reason}")


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
        connected_at = sorted(r["time"] for sim in ssh_sims for r in sim.requests if r["kind"] == "connect")
        ready.put({"exec_requests": execs, "connections": connects, "connected_at": connected_at})


def _scan(inventory: Inventory, known_hosts: str, concurrency: int):
    plans = plan_assets(inventory, sl=2)
    options = ScanOptions(known_hosts=Path(known_hosts))
    started = time.perf_counter()
    bundle, result = run_sync(scan(inventory, plans, "sl2", options, EngineSettings(concurrency=concurrency)))
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


#: the command line as a technician runs it, from this tree
CLI = [sys.executable, "-m", "auditor"]
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                      os.environ.get("PYTHONPATH")]))}


def startup_scenario(repeat: int) -> dict:
    """How long the command line takes before it does anything: ``iacs-audit --help``, and from starting
    ``iacs-audit scan`` (one simulated host) to the first TCP connection the host sees (imports, inventory,
    check packs, plan, secrets), each a fresh process, medians of ``repeat``."""
    helps = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([*CLI, "--help"], check=True, capture_output=True, env=CHILD_ENV, timeout=60)
        helps.append(time.perf_counter() - started)
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    starts = []
    with tempfile.TemporaryDirectory(prefix="iacs-bench-start-") as workdir:
        child = ctx.Process(target=_serve, args=(1, workdir, ready, stop), daemon=True)
        child.start()
        inventory_path, known_hosts = ready.get(timeout=120)
        for n in range(repeat):
            starts.append(time.time())
            done = subprocess.run([*CLI, "scan", "--inventory", inventory_path, "--sl", "2", "--known-hosts",
                                   known_hosts, "-f", "json", "-q", "--out", str(Path(workdir, f"out-{n}"))],
                                  capture_output=True, text=True, env=CHILD_ENV, timeout=300)
            if done.returncode not in (0, 1):  # 1: below target, as a weak simulated host is
                raise SystemExit(f"the scan failed (exit {done.returncode}): {done.stderr[-2000:]}")
        stop.set()
        connected_at = ready.get(timeout=60)["connected_at"]
        child.join(30)
    to_first = [min(t for t in connected_at if t >= start) - start for start in starts
                if any(t >= start for t in connected_at)]
    return {"help_s": round(statistics.median(helps), 3),
            "first_connection_s": round(statistics.median(to_first), 3) if to_first else None, "runs": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--mixed", action="store_true", help="only the mixed-plant scenario (P2)")
    parser.add_argument("--assets", type=int, default=1000, help="assets of the mixed plant")
    parser.add_argument("--startup", action="store_true",
                        help="only the command line's start: --help, and scan until the first connection")
    args = parser.parse_args()
    if args.startup:
        row = startup_scenario(max(args.repeat, 5))
        print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"medians of {row['runs']} fresh processes")
        print(f"iacs-audit --help: {row['help_s']} s; iacs-audit scan (one simulated host) until its first "
              f"connection: {row['first_connection_s']} s")
        return
    if args.mixed:
        row = mixed_scenario(args.assets, MIXED_LIMITS["concurrency"])
        print_mixed(row)
        out = Path(__file__).parent / "out"
        out.mkdir(exist_ok=True)
        (out / "mixed.json").write_text(json.dumps(row, indent=2))
        return
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
