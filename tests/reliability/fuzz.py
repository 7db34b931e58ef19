"""``make fuzz``: coverage-guided fuzzing of every parser of device output and every file loader.

Each target of :mod:`fuzz_targets` runs in its own child process (``--one``), in-process for all of its
inputs: atheris instruments the project's modules as they load and drives libFuzzer's engine, which
starts from the target's seeds and keeps each mutated input that reaches new code. ``--jobs`` children
run side by side. The parent reads libFuzzer's final statistics from each child and writes a JSON report
(inputs run, coverage edges and features, corpus size, seconds, and the failure if any); a failing input
is kept as ``<artifacts>/<target>-crash-*`` (or ``-timeout-*``, ``-oom-*``) with the child's log.

    python tests/reliability/fuzz.py --runs 100000 --jobs 2 [-k fact:sshd] [--report fuzz-report.json]
    python tests/reliability/fuzz.py --replay ARTIFACT --target NAME   # one input, the traceback in full
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
INSTRUMENTED = ["auditor", "checks", "connectors", "reports"]


def _targets(only: str | None = None):
    sys.path.insert(0, str(HERE))
    import fuzz_targets
    return fuzz_targets.build(only)


def child(name: str, runs: int, artifacts: Path, seconds: int) -> None:
    """Fuzz one target ``runs`` times (never returns: libFuzzer exits the process)."""
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        target = _targets(name)[name]
    corpus = Path(tempfile.mkdtemp(prefix="iacs-fuzz-corpus-"))
    for index, seed in enumerate(target.seeds):
        (corpus / f"seed-{index}").write_bytes(seed)
    longest = max((len(seed) for seed in target.seeds), default=0)
    prefix = artifacts / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + "-")
    atheris.Setup([sys.argv[0], str(corpus), f"-runs={runs}", f"-max_len={max(4096, 2 * longest)}",
                   f"-artifact_prefix={prefix}", "-timeout=30", "-rss_limit_mb=3072", "-print_final_stats=1",
                   "-close_fd_mask=1", f"-max_total_time={seconds}"], target.one)
    atheris.Fuzz()


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_PROGRESS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)")


def run_one(name: str, runs: int, artifacts: Path, seconds: int) -> dict:
    """One child; its libFuzzer statistics, its CPU time and, if it failed, why."""
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]))
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--one", name, "--runs", str(runs),
                                 "--artifacts", str(artifacts), "--max-seconds", str(seconds)], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time, whatever else runs beside it
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        log = stderr.read()
    stats = {key: int(value) for key, value in _STAT.findall(log)}
    progress = _PROGRESS.findall(log)
    cov, ft, corp = (int(progress[-1][1]), int(progress[-1][2]), int(progress[-1][3])) if progress else (0, 0, 0)
    inputs = stats.get("number_of_executed_units", 0)
    result = {"target": name, "inputs": inputs, "cov": cov, "ft": ft, "corpus": corp,
              "seconds": round(time.monotonic() - started, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
              "exit": proc.returncode, "ok": proc.returncode == 0 and inputs > 0, "complete": inputs >= runs}
    if not result["ok"]:
        log_path = artifacts / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log")
        log_path.write_text(log)
        crash = re.findall(r"Test unit written to (\S+)", log)
        result.update(log=str(log_path), artifact=crash[-1] if crash else None,
                      error=_first_error(log))
    return result


def _first_error(log: str) -> str:
    match = re.search(r"=== Uncaught Python exception: ===\n(.*?)(?:\n==\d+==|\nMS:|\Z)", log, re.S)
    if match:
        return match.group(1).strip().splitlines()[-1][:300] + "\n" + match.group(1).strip()[-1500:]
    for line in log.splitlines():
        if "ERROR:" in line:
            return line[:300]
    return log[-500:]


def _cheapest_first(names: list[str]) -> list[str]:
    """The targets by the time their seeds take (uninstrumented), so that a run stopped early has finished
    as many targets as it could."""
    targets = _targets()
    cost = {}
    for name in names:
        started = time.perf_counter()
        for seed in targets[name].seeds:
            targets[name].one(seed)
        cost[name] = (time.perf_counter() - started) / max(1, len(targets[name].seeds))
    return sorted(names, key=cost.__getitem__)


def _write(args: argparse.Namespace, results: list[dict], started: float, *, done: bool) -> float:
    elapsed = round(time.monotonic() - started, 1)
    report = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "runs_per_target": args.runs, "jobs": args.jobs,
              "max_seconds": args.max_seconds, "seconds": elapsed, "done": done,
              "cpu_seconds": round(sum(result.get("cpu_seconds", 0) for result in results), 1), "targets": results}
    args.report.write_text(json.dumps(report, indent=1) + "\n")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000, help="inputs per target (default 100,000)")
    parser.add_argument("--jobs", type=int, default=2, help="targets fuzzed side by side (default 2)")
    parser.add_argument("--max-seconds", type=int, default=0,
                        help="stop each target after this many seconds of fuzzing even short of --runs (0: never)")
    parser.add_argument("--resume", type=Path, help="a report of an earlier run: its targets that reached --runs "
                                                    "are kept, not run again")
    parser.add_argument("-k", dest="select", action="append", default=[],
                        help="only targets whose name contains this (repeatable)")
    parser.add_argument("--report", type=Path, default=REPO / "fuzz-report.json")
    parser.add_argument("--artifacts", type=Path, default=REPO / "fuzz-artifacts")
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=Path, help="run one saved input through --target and show the error")
    parser.add_argument("--target")
    args = parser.parse_args(argv)
    args.artifacts = args.artifacts.resolve()
    if args.one:
        child(args.one, args.runs, args.artifacts, args.max_seconds)
        return 0
    if args.replay:
        _targets(args.target)[args.target].one(args.replay.read_bytes())
        print("no error")
        return 0
    names = list(_targets())
    if args.list:
        print("\n".join(names))
        return 0
    if args.select:
        names = [name for name in names if any(part in name for part in args.select)]
    results = []
    if args.resume:
        results = [result for result in json.loads(args.resume.read_text())["targets"]
                   if result["ok"] and result["inputs"] >= args.runs and result["target"] in names]
        names = [name for name in names if name not in {result["target"] for result in results}]
    names = _cheapest_first(names)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for result in pool.map(lambda name: run_one(name, args.runs, args.artifacts, args.max_seconds), names):
            results.append(result)
            mark = ("ok" if result["complete"] else "ok, stopped at --max-seconds") if result["ok"] else f"FAILED ({result.get('error', '').splitlines()[0] if result.get('error') else result['exit']})"
            print(f"{result['target']:40} {result['inputs']:>9,} inputs  cov {result['cov']:>5}  ft {result['ft']:>6}  "
                  f"{result['seconds']:>7.1f} s ({result['cpu_seconds']:.1f} s CPU)  {mark}", flush=True)
            _write(args, results, started, done=False)  # a run stopped half-way still tells what it did
    elapsed = _write(args, results, started, done=True)
    failed = [result["target"] for result in results if not result["ok"]]
    short = [result["target"] for result in results if result["ok"] and not result["complete"]]
    print(f"{len(results)} targets, {sum(r['inputs'] for r in results):,} inputs in {elapsed:.0f} s "
          f"({sum(r.get('cpu_seconds', 0) for r in results):.0f} s CPU); {len(short)} stopped short of --runs; "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
