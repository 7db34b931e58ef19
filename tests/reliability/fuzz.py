"""``make fuzz``: coverage-guided fuzzing of every parser of device output and every file loader.

``--jobs`` worker processes share the targets of :mod:`fuzz_targets`. A worker loads and instruments the
project's modules once (atheris), then forks one process per target, which runs all of that target's
inputs in-process: libFuzzer's engine starts from the target's seeds and keeps each mutated input that
reaches new code (it ends the process it runs in, hence the fork). The parent writes a JSON report as
targets finish (inputs run, coverage edges and features, corpus size, seconds and CPU seconds, and the
failure if any); a failing input is kept as ``<artifacts>/<target>-crash-*`` (or ``-timeout-*``,
``-oom-*``) beside the target's libFuzzer log (``<target>.fuzzlog``).

    python tests/reliability/fuzz.py --runs 100000 --jobs 2 [-k fact:sshd] [--report fuzz-report.json]
    python tests/reliability/fuzz.py --replay ARTIFACT --target NAME   # one input, the traceback in full
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
INSTRUMENTED = ["auditor", "checks", "connectors", "reports"]


def _targets(only: str | None = None):
    sys.path.insert(0, str(HERE))
    import fuzz_targets
    return fuzz_targets.build(only)


def _fuzz(name: str, target, runs: int, artifacts: Path, seconds: int, corpus: Path) -> None:
    """Fuzz one target ``runs`` times from its seeds (never returns: libFuzzer exits the process)."""
    import atheris

    for index, seed in enumerate(target.seeds):
        (corpus / f"seed-{index}").write_bytes(seed)
    longest = max((len(seed) for seed in target.seeds), default=0)
    atheris.Setup([sys.argv[0], str(corpus), f"-runs={runs}", f"-max_len={max(4096, 2 * longest)}",
                   f"-artifact_prefix={artifacts / (_safe(name) + '-')}", "-timeout=30", "-rss_limit_mb=3072",
                   "-print_final_stats=1", f"-max_total_time={seconds}"], target.one)
    atheris.Fuzz()


def worker(names: list[str], runs: int, artifacts: Path, seconds: int, results: Path) -> None:
    """Instrument and build the targets once, then fuzz each named one in a forked process of its own
    (libFuzzer ends the process it runs in); one JSON line per target to ``results``."""
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        targets = _targets()
    for name in names:
        log_path = artifacts / (_safe(name) + ".fuzzlog")
        corpus = Path(tempfile.mkdtemp(prefix="iacs-fuzz-corpus-"))  # libFuzzer's working corpus, dropped after
        started = time.monotonic()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the fuzzing process: its stderr (libFuzzer's statistics) to the target's log
            code = 70
            try:
                log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(log, 1)
                os.dup2(log, 2)
                _fuzz(name, targets[name], runs, artifacts, seconds, corpus)
            except SystemExit as exc:  # atheris's way out after an uncaught exception (or at the end)
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                # the C library's exit: libFuzzer's exit handler writes the crashing input; the worker's
                # Python code must not go on running in this process
                ctypes.CDLL(None).exit(code)
        _pid, status, usage = os.wait4(pid, 0)  # the fuzzing process's own CPU time, whatever runs beside it
        shutil.rmtree(corpus, ignore_errors=True)
        result = _result(name, log_path.read_text(errors="replace"), os.waitstatus_to_exitcode(status),
                         usage.ru_utime + usage.ru_stime, time.monotonic() - started, runs, artifacts)
        with open(results, "a", encoding="utf-8") as out:
            out.write(json.dumps(result) + "\n")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_PROGRESS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)")


def _result(name: str, log: str, code: int, cpu: float, seconds: float, runs: int, artifacts: Path) -> dict:
    """One target's libFuzzer statistics, its time and, if it failed, why."""
    stats = {key: int(value) for key, value in _STAT.findall(log)}
    progress = _PROGRESS.findall(log)
    cov, ft, corp = (int(progress[-1][1]), int(progress[-1][2]), int(progress[-1][3])) if progress else (0, 0, 0)
    inputs = stats.get("number_of_executed_units", 0)
    result = {"target": name, "inputs": inputs, "cov": cov, "ft": ft, "corpus": corp, "seconds": round(seconds, 1),
              "cpu_seconds": round(cpu, 1), "exit": code, "ok": code == 0 and inputs > 0, "complete": inputs >= runs}
    if not result["ok"]:
        crash = re.findall(r"Test unit written to (\S+)", log)
        result.update(log=str(artifacts / (_safe(name) + ".fuzzlog")), artifact=crash[-1] if crash else None,
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
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=Path, help="run one saved input through --target and show the error")
    parser.add_argument("--target")
    args = parser.parse_args(argv)
    args.artifacts = args.artifacts.resolve()
    if args.worker:
        worker(json.loads(args.worker), args.runs, args.artifacts, args.max_seconds, args.results)
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
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]))
    workers = []
    for index in range(max(1, min(args.jobs, len(names)))):
        share = names[index::args.jobs]  # cheapest first in each worker too
        lines = args.artifacts / f"worker-{index}.jsonl"
        lines.write_text("")
        with open(args.artifacts / f"worker-{index}.log", "w") as log:  # the instrumentation's notes
            workers.append((subprocess.Popen(
                [sys.executable, str(Path(__file__)), "--worker", json.dumps(share), "--runs", str(args.runs),
                 "--artifacts", str(args.artifacts), "--max-seconds", str(args.max_seconds), "--results", str(lines)],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log), lines))
    seen = [0] * len(workers)
    while True:
        running = any(proc.poll() is None for proc, _ in workers)
        arrived = []
        for index, (_, lines) in enumerate(workers):
            done = [json.loads(line) for line in lines.read_text().splitlines() if line]
            arrived += done[seen[index]:]
            seen[index] = len(done)
        for result in arrived:
            results.append(result)
            mark = ("ok" if result["complete"] else "ok, stopped at --max-seconds") if result["ok"] else \
                f"FAILED ({(result.get('error') or str(result['exit'])).splitlines()[0]})"
            print(f"{result['target']:40} {result['inputs']:>9,} inputs  cov {result['cov']:>5}  ft {result['ft']:>6}  "
                  f"{result['seconds']:>7.1f} s ({result['cpu_seconds']:.1f} s CPU)  {mark}", flush=True)
            _write(args, results, started, done=False)  # a run stopped half-way still tells what it did
        if not running:
            break
        time.sleep(2)
    elapsed = _write(args, results, started, done=True)
    failed = [result["target"] for result in results if not result["ok"]]
    short = [result["target"] for result in results if result["ok"] and not result["complete"]]
    print(f"{len(results)} targets, {sum(r['inputs'] for r in results):,} inputs in {elapsed:.0f} s "
          f"({sum(r.get('cpu_seconds', 0) for r in results):.0f} s CPU); {len(short)} stopped short of --runs; "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
