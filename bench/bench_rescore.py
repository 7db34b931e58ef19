"""Benchmark: offline rescore of a plant-sized evidence bundle (time and peak memory of the CLI).

The bundle is the demo plant's evidence (``iacs-audit demo``: hosts, switches, PLCs, OPC UA servers)
replicated to ``--assets`` assets (ids, addresses and item ids made unique, so nothing is shared), written
once to a temporary folder. Each run is ``iacs-audit rescore BUNDLE --sl 2 -f FORMATS`` in a child process;
its wall time, CPU time and peak RSS (the child's own accounting, its forked workers included) are printed as
the median over ``--repeat`` runs.

    python bench/bench_rescore.py [--assets 1000] [--repeat 3] [--formats json] [--formats json,html]
    python bench/bench_rescore.py --keep DIR      # also keep the bundle (and the last outputs) in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.evidence import EvidenceBundle  # noqa: E402

# this tree's code, whatever an installed ``iacs-audit`` would import
CLI = [sys.executable, "-m", "auditor"]
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def demo_bundle(workdir: Path) -> dict:
    out = workdir / "demo"
    subprocess.run([*CLI, "demo", "--out", str(out), "--no-attestations"], check=False, capture_output=True,
                   env=CHILD_ENV, timeout=600)
    return json.loads((out / "evidence.json").read_text(encoding="utf-8"))


def replicate(bundle: dict, assets: int) -> dict:
    """``assets`` copies of the bundle's assets, round-robin over the demo's kinds, with unique ids."""
    inventory_assets = {a["id"]: a for a in bundle["inventory"]["assets"]}
    evidence_assets = bundle["assets"]
    new_inventory, new_evidence = [], []
    for n in range(assets):
        source = evidence_assets[n % len(evidence_assets)]
        old_id, new_id = source["asset"], f"{source['asset']}-{n:04d}"
        inv = json.loads(json.dumps(inventory_assets[old_id]))
        inv["id"] = new_id
        inv["address"] = f"{new_id}.plant.invalid"
        new_inventory.append(inv)
        copy = json.loads(json.dumps(source))
        copy["asset"] = new_id
        for item in copy.get("items", []):
            item["asset"] = new_id
            item["id"] = item["id"].replace(old_id, new_id, 1)
            item.pop("sha256", None)  # recomputed below: the hash covers the asset id
        new_evidence.append(copy)
    result = dict(bundle)
    result["inventory"] = {**bundle["inventory"], "assets": new_inventory}
    result["assets"] = new_evidence
    result.pop("manifest_sha256", None)
    return EvidenceBundle.model_validate(result).model_dump(mode="json")


#: P3: formats -> (seconds, MB of peak RSS) a rescore of a 1,000-asset bundle may take
TARGETS = {"json": (5.0, 500), "json,html": (10.0, 500)}


def run_once(bundle: Path, out: Path, formats: str) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS (MiB) of the children so far, exit code, CPU seconds (user + system) of the child and
    of the workers it forked."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*CLI, "rescore", str(bundle), "--sl", "2", "-f", formats, "-q", "--out", str(out)],
                          capture_output=True, text=True, timeout=3600, env=CHILD_ENV)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # ru_maxrss: the largest child so far (KiB)
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"rescore failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return elapsed, max(after.ru_maxrss, usage.ru_maxrss) / 1024, done.returncode, cpu


def _size(path: Path) -> str:
    """``report.html 2.1 MiB``; a folder (the per-asset pages of the HTML report) with its file count."""
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file()]
        return f"{path.name}/ {len(files)} files {sum(p.stat().st_size for p in files) / 2**20:.1f} MiB"
    return f"{path.name} {path.stat().st_size / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", action="append", help="formats per scenario (default: json, then json,html)")
    parser.add_argument("--keep", type=Path, help="write the bundle and outputs here instead of a temporary folder")
    args = parser.parse_args()
    scenarios = args.formats or ["json", "json,html"]
    with tempfile.TemporaryDirectory(prefix="iacs-bench-rescore-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        bundle_path = workdir / f"evidence-{args.assets}.json"
        if not bundle_path.exists():
            bundle_path.write_text(json.dumps(replicate(demo_bundle(workdir), args.assets)), encoding="utf-8")
        size = bundle_path.stat().st_size / 2**20
        load = os.getloadavg()
        print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
              f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}: rescore of {args.assets} assets ({size:.0f} MiB "
              f"evidence.json), median of {args.repeat} runs (each a fresh process; peak RSS is the largest child so "
              "far, each process on its own; CPU is the user + system seconds of the rescore and the workers it forks, "
              "more than the wall time where they ran side by side)")
        print("| formats | wall (median) | CPU (median) | peak RSS | P3 target | met | outputs |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for formats in scenarios:
            runs = [run_once(bundle_path, workdir / f"out-{formats.replace(',', '-')}", formats)
                    for _ in range(args.repeat)]
            out = workdir / f"out-{formats.replace(',', '-')}"
            sizes = ", ".join(_size(p) for p in sorted(out.iterdir()))
            wall, cpu, peak = statistics.median(r[0] for r in runs), statistics.median(r[3] for r in runs), \
                max(r[1] for r in runs)
            target = TARGETS.get(formats)
            if target and args.assets == 1000:
                memory_ok = peak * 1.048576 <= target[1]
                verdict = "yes" if wall <= target[0] and memory_ok else "no"
                goal = f"<= {target[0]:g} s, <= {target[1]} MB"
            else:
                goal, verdict = "—", "—"
            print(f"| {formats} | {wall:.2f} s | {cpu:.2f} s | {peak:.0f} MiB | {goal} | {verdict} | {sizes} |")


if __name__ == "__main__":
    main()
