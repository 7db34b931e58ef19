"""Benchmark: a full SL-2 scan of one REAL OpenSSH host through a WAN-like delay, against the floor of one login.

A real ``sshd`` (the test harness's hardened configuration, on loopback) is reached through a TCP proxy that
delays every chunk by ``--delay-ms`` in each direction (25 ms one way: a 50 ms round trip, as to a remote
site through a VPN). In the same run, alternating, it times:

* the floor: one TCP connection, key exchange, public-key login and ONE ``exec`` of ``true`` (paramiko);
* the scan: the SSH connector collecting every SSH read of the built-in ``host-sl2`` profile (wire probe,
  session, all exec reads), as ``iacs-audit scan`` does;
* with ``--before``, the same scan as the tool did it before reads had lanes: one script, every read in
  turn, pending updates by ``apt-get -s dist-upgrade`` instead of reading the security package lists.

With ``--sudo`` (root only) the audit account gets the exact sudoers rule of ``iacs-audit sudoers`` for the
run, so the root-only reads run as root like on a prepared host; it is removed afterwards.

    python bench/bench_ssh_host.py [--delay-ms 25] [--repeat 5] [--sudo] [--before]

Needs root (sshd must start as root) and openssh-server. Prints one line per figure (medians over the repeats)
and the ratio of each scan to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.assessment.profiles import load_profile  # noqa: E402
from auditor.evidence import EvidenceRequest  # noqa: E402
from auditor.assessment.slvector import SLVector  # noqa: E402
from auditor.engine import needed_reads  # noqa: E402
from auditor.plant.inventory import Asset  # noqa: E402
from auditor.plant.planning import AssetPlan  # noqa: E402
from auditor.registry import REGISTRY  # noqa: E402
from checks.linux.facts.packages import APT_SECURITY_LISTS  # noqa: E402
from connectors.base import ScanOptions  # noqa: E402
from connectors.ssh.connector import SshConnector, per_command_timeout  # noqa: E402
from connectors.ssh.sudoers import sudoers_rule  # noqa: E402
from tests.support.real_sshd import TEST_USER, RealSshd  # noqa: E402

PROXY_HOST = "127.0.36.50"
SUDOERS = Path("/etc/sudoers.d/zz-iacs-bench-ssh-host")


class DelayProxy:
    """Forwards PROXY_HOST:port to a target, delaying every chunk by ``delay`` seconds in each direction."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.server = socket.create_server((PROXY_HOST, 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pipe(client, upstream)
            self._pipe(upstream, client)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                chunks.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = chunks.get()
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.server.close()


def floor(port: int, key: Path) -> float:
    """One connection, key exchange, login and one exec of ``true``: what no scan can go below."""
    started = time.perf_counter()
    sock = socket.create_connection((PROXY_HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=10)
        transport.auth_publickey(TEST_USER, paramiko.Ed25519Key.from_private_key_file(str(key)))
        channel = transport.open_session()
        channel.exec_command("true")
        channel.shutdown_write()
        channel.recv_exit_status()
    finally:
        transport.close()
    return time.perf_counter() - started


def scan_requests(before: bool) -> list[EvidenceRequest]:
    """The reads a scan sends a Linux host over SSH at host-sl2 (the engine's own routing of reads)."""
    asset = Asset.model_validate({"id": "bench-host", "type": "host", "platform": "linux", "address": PROXY_HOST,
                                  "endpoints": [{"protocol": "ssh", "username": TEST_USER}]})
    plan = AssetPlan(asset=asset, profile=load_profile("host-sl2"), sl_target=SLVector.uniform(2))
    requests = next(reads for protocol, _endpoint, reads in needed_reads(plan, REGISTRY.load()) if protocol == "ssh")
    if not before:
        return requests
    old: list[EvidenceRequest] = []
    for req in requests:
        target = "apt-get -s dist-upgrade" if req.key == APT_SECURITY_LISTS.key else req.target
        old.append(EvidenceRequest(protocol=req.protocol, op=req.op, target=target,
                                   options=tuple(o for o in req.options if o[0] != "lane")))
    return old


def scan(port: int, server: RealSshd, known_hosts: Path, requests: list[EvidenceRequest]) -> tuple[float, dict]:
    asset = Asset.model_validate({"id": "bench-host", "type": "host", "address": PROXY_HOST, "endpoints": [
        {"protocol": "ssh", "port": port, "username": server.username, "timeout": 10.0,
         "key_file": str(server.client_key), "known_hosts": str(known_hosts)}]})
    started = time.perf_counter()
    items = asyncio.run(SshConnector(asset, asset.endpoints[0], ScanOptions()).collect(requests))
    elapsed = time.perf_counter() - started
    errors = [i for i in items if i.status == "error"]
    if errors:
        raise SystemExit(f"scan had errors: {[(e.request.target[:40], e.error) for e in errors]}")
    info = next(i.data() for i in items if i.request.op == "session")
    return elapsed, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay (default 25)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sudo", action="store_true", help="install the exact sudoers rule for the run")
    parser.add_argument("--before", action="store_true", help="also time the scan without lanes, with apt-get -s")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: sshd is started as root for the test account")
    workdir = Path(tempfile.mkdtemp(prefix="iacs-bench-ssh-"))
    os.chmod(workdir, 0o755)
    try:
        with RealSshd("hardened", workdir) as server:
            proxy = DelayProxy((server.host, server.port), args.delay_ms / 1000)
            known_hosts = workdir / "bench_known_hosts"
            known_hosts.write_text(server.known_hosts.read_text().replace(f"[{server.host}]:{server.port}",
                                                                           f"[{PROXY_HOST}]:{proxy.port}"))
            if args.sudo:
                commands = sorted({r.target for r in scan_requests(False) if r.option("sudo", False)})
                SUDOERS.write_text(sudoers_rule(commands, user=TEST_USER, password=False,
                                                timeout=per_command_timeout(ScanOptions().command_timeout)))
                SUDOERS.chmod(0o440)
            modes = {"scan": scan_requests(False), **({"scan before lanes": scan_requests(True)} if args.before else {})}
            times: dict[str, list[float]] = {"floor": [], **{name: [] for name in modes}}
            info: dict = {}
            floor(proxy.port, server.client_key)  # warm-up: page cache, sshd's first fork
            for _ in range(args.repeat):
                times["floor"].append(floor(proxy.port, server.client_key))
                for name, requests in modes.items():
                    elapsed, session = scan(proxy.port, server, known_hosts, requests)
                    times[name].append(elapsed)
                    info.setdefault(name, session)
            proxy.close()
    finally:
        SUDOERS.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    base = statistics.median(times["floor"])
    cores = os.cpu_count()
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.node()}, {cores} cores, {args.delay_ms:g} ms one-way, "
          f"{args.repeat} runs, sudo {'on' if args.sudo else 'off'}; medians")
    print(f"apt: {subprocess.run(['sh', '-c', 'apt-config dump Dir::Cache::pkgcache'], capture_output=True, text=True).stdout.strip() or 'n/a'}")
    for name, values in times.items():
        median = statistics.median(values)
        extra = "" if name == "floor" else (f"  = {median / base:.2f} x floor; exec channels "
                                            f"{info[name].get('exec_channels')}, sequential round trips "
                                            f"{info[name].get('round_trips')}, sudo {info[name].get('sudo')}"
                                            + (f"; seconds per lane (first run) {info[name]['lane_seconds']}"
                                               if info[name].get("lane_seconds") else ""))
        print(f"{name:<18} {median:7.3f} s  (min {min(values):.3f}, max {max(values):.3f}){extra}")


if __name__ == "__main__":
    main()
