"""Distributed scans with real parts: redis-server, `iacs-audit worker` processes, PostgreSQL, simulated sites.

Three "sites" of SSH/SNMP simulators on 127.0.50.x, one zone each, each zone naming its scanner queue; two worker
processes (one serving site-a and site-b, one site-c, 14 hours east), both also serving site-k, the zone of the
lost-worker test. The dispatcher runs as its own process too (signing changes kombu's serializer registry, which
must not leak into the test process).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from auditor.cli import cli
from auditor.distributed.pki import init as pki_init, trust
from auditor.plant.secrets import forms
from auditor.store import open_store
from simulators.plant import Plant, PlantHost
from tests.support.real_postgres import shared_postgres
from tests.support.real_redis import RealRedis, require_redis

REPO = Path(__file__).resolve().parents[2]
HOSTS = [PlantHost("ews-a1", "hardened", "127.0.50.11", "site-a"),
         PlantHost("hmi-a2", "weak", "127.0.50.12", "site-a"),
         PlantHost("ews-b1", "weak", "127.0.50.21", "site-b"),
         PlantHost("sw-b2", "hardened", "127.0.50.22", "site-b", type="network", protocol="snmp"),
         PlantHost("hist-c1", "hardened", "127.0.50.31", "site-c")]
SECRET_ENV = "IACS_TEST_SNMP_AUTH"
WORKER_C_TZ = "Etc/GMT-14"  # POSIX sign: UTC+14
# a lost worker's zone comes back within seconds (the defaults are hours: longer than any zone); a zone that
# runs longer than this is handed out again meanwhile, and its lease makes that copy wait and then do nothing
FAST = ["--visibility-timeout", "3", "--restore-interval", "0.5", "--lease", "2"]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """A worker outlives no test process, however that ends (Linux PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class Worker:
    """One `iacs-audit worker` process (its own session, so SIGKILL reaches its pool child too)."""

    def __init__(self, tmp: Path, name: str, queues: str, broker: str, db: str, pki: Path, env: dict[str, str],
                 timing: list[str] = FAST):
        self.log = tmp / f"{name}.log"
        argv = [sys.executable, "-m", "auditor", "-v", "--log-file", str(tmp / f"{name}.full.log"), "worker", "--queue", queues, "--broker", broker, "--db", db,
                "--pki", str(pki), "--name", name, *timing]
        self.proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
                                     env={**os.environ, "PYTHONPATH": str(REPO), **env})

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)



class Monitor:
    """Every command the broker receives (Redis MONITOR), to look inside the messages."""

    def __init__(self, redis: RealRedis):
        self.commands: list[str] = []
        self.errors: list[str] = []
        self._conn = redis.client(socket_timeout=None).monitor()  # redis-py 8 gives up after 5 s by default
        self._monitor = self._conn.__enter__()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                self.commands.append(self._monitor.next_command()["command"])
            except (ValueError, IndexError, UnicodeDecodeError) as exc:  # a line redis-py cannot split
                self.errors.append(repr(exc))
            except Exception as exc:  # the server went away at the end of the test
                self.errors.append(repr(exc))
                return

    def pushed(self, queue: str) -> list[dict[str, Any]]:
        """The messages pushed onto ``queue`` (LPUSH queue payload), parsed."""
        out = []
        for command in self.commands:
            if command.startswith(f"LPUSH {queue} "):
                out.append(json.loads(command[len(f"LPUSH {queue} "):].encode().decode("unicode_escape")))
        return out


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    require_redis()
    tmp = tmp_path_factory.mktemp("sites")
    with Plant(tmp / "plant", list(HOSTS), zones=[{"id": z, "sl_target": 2} for z in ("site-a", "site-b", "site-c")],
               site="Three sites") as plant:
        data = yaml.safe_load(plant.inventory_path.read_text())
        for zone in data["zones"]:
            zone["scanner"] = zone["id"]
        switch = next(a for a in data["assets"] if a["id"] == "sw-b2")["endpoints"][0]
        secret = Path(switch.pop("auth_key_file")).read_text().strip()
        switch["auth_key_env"] = SECRET_ENV  # only the site-b worker has it
        switch["probe_default_communities"] = False  # slow, and not what these tests are about
        (tmp / "plant.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        dispatcher, scanner = pki_init(tmp / "dispatcher", "dispatcher", bits=2048), pki_init(tmp / "scanner", "scanner", bits=2048)
        trust(dispatcher.folder, scanner.cert, "scanner")
        trust(scanner.folder, dispatcher.cert, "dispatcher")
        with RealRedis("127.0.50.1") as redis:
            db = shared_postgres().fresh_database()
            monitor = Monitor(redis)
            env = {SECRET_ENV: secret, "TZ": "UTC"}
            # both also serve site-k, the lost-worker test's zone; site-c lies 14 hours east (its scanner's clock)
            workers = {"site-a": Worker(tmp, "w-ab", "site-a,site-b,site-k", redis.url, db, scanner.folder, env),
                       "site-c": Worker(tmp, "w-c", "site-c,site-k", redis.url, db, scanner.folder,
                                        {**env, "TZ": WORKER_C_TZ})}
            workers["site-b"] = workers["site-a"]
            try:
                yield {"plant": plant, "tmp": tmp, "inventory": tmp / "plant.yaml", "redis": redis, "db": db,
                       "pki": dispatcher.folder, "scanner_pki": scanner.folder, "workers": workers,
                       "monitor": monitor, "secret": secret}
            finally:
                for worker in {id(w): w for w in workers.values()}.values():
                    worker.kill()


def dispatch(sites: dict, out: Path, *extra: str, inventory: Path | None = None, timeout: float = 60,
             wait: bool = True, broker: str | None = None) -> subprocess.Popen | subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "auditor", "scan", "--inventory", str(inventory or sites["inventory"]),
            "--distributed", "--broker", broker or sites["redis"].url, "--db", sites["db"], "--pki", str(sites["pki"]),
            "--out", str(out), "-q", *extra]
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}  # the dispatcher does not hold site secrets
    env.update(PYTHONPATH=str(REPO), TZ="UTC")
    if not wait:
        return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


TIMES = {"started_at", "finished_at", "collected_at", "duration_s", "duration", "scan_id", "history",
         "evidence_manifest_sha256"}  # the manifest hashes the items' collection times too


def normalized(value: Any) -> Any:
    """``value`` without times and ids, which differ between two scans of the same devices (and without what a
    clock check observed: the device's clock against ours, measured at that moment)."""
    if isinstance(value, dict):
        if str(value.get("check_id", "")).endswith("clock-skew"):
            value = {k: v for k, v in value.items() if k not in ("observed", "reason")}
        return {k: normalized(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def evidence_items(path: Path) -> dict[str, list[tuple[str, str, str]]]:
    data = json.loads(path.read_text())
    return {a["asset"]: [(i["id"], json.dumps(i["request"], sort_keys=True), i["status"]) for i in a["items"]]
            for a in data["assets"]}


def signed_body(message: dict[str, Any]) -> str:
    """The task arguments inside a message of Celery's auth serializer: base64 (transport) of base64 of
    signer, signature, content type, encoding and the JSON body, separated by \\x00\\x01."""
    fields = base64.b64decode(base64.b64decode(message["body"])).split(b"\x00\x01", 4)
    return fields[4].decode("utf-8")


@pytest.fixture(scope="module")
def scanned(sites) -> dict:
    """One distributed scan of the three sites (the tests below look at it from several sides)."""
    began = time.monotonic()
    distributed = dispatch(sites, sites["tmp"] / "dist")
    print(f"distributed scan: {time.monotonic() - began:.1f} s")
    return {"run": distributed, "result": sites["tmp"] / "dist" / "result.json"}


def test_a_distributed_scan_equals_a_local_one_and_no_secret_crosses_the_broker(sites, scanned) -> None:
    tmp = sites["tmp"]
    distributed = scanned["run"]
    assert distributed.returncode == 1, distributed.stderr  # weak devices fall short, every asset assessed
    began = time.monotonic()
    local_db = shared_postgres().fresh_database()
    local = CliRunner(env={SECRET_ENV: sites["secret"]}).invoke(
        cli, ["scan", "--inventory", str(sites["inventory"]), "--db", local_db, "--out", str(tmp / "local"), "-q"],
        catch_exceptions=False)
    assert local.exit_code == 1, local.stderr
    print(f"local scan: {time.monotonic() - began:.1f} s")

    dist_result = json.loads((tmp / "dist" / "result.json").read_text())
    local_result = json.loads((tmp / "local" / "result.json").read_text())
    assert [a["status"] for a in dist_result["assets"]] == ["assessed"] * len(HOSTS)
    assert normalized(dist_result) == normalized(local_result)
    assert evidence_items(tmp / "dist" / "evidence.json") == evidence_items(tmp / "local" / "evidence.json")
    with open_store(sites["db"]) as store:
        row = store.scan_row(int(dist_result["scan_id"]))
        assert row["status"] == "complete" and row["evidence_manifest_sha256"] == dist_result["evidence_manifest_sha256"]
        assert {a.asset for a in store.load_bundle(row["id"]).assets} == {h.id for h in HOSTS}

    # what crossed the broker: one signed message per zone, references only
    monitor = sites["monitor"]
    assert not monitor.errors
    for queue in ("site-a", "site-b", "site-c"):
        pushed = monitor.pushed(queue)
        assert len({m["headers"]["id"] for m in pushed}) == 1  # one message per zone
        assert pushed[0]["content-type"] == "application/data"  # the auth serializer's
    everything = "\n".join(monitor.commands)
    bodies = [signed_body(m) for q in ("site-a", "site-b", "site-c") for m in monitor.pushed(q)]
    assert any(SECRET_ENV in body for body in bodies)  # the reference travels ...
    for form in forms(sites["secret"]):                # ... never the value, in any encoding
        assert form not in everything and all(form not in body for body in bodies)


def requests_of(plant: Plant, zone: str) -> dict[str, int]:
    return {h.id: len(plant.simulators[h.id].requests) for h in plant.hosts if h.zone == zone}


def wait_for(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout:g} s")


def test_unsigned_foreign_and_replayed_messages_are_refused(sites, scanned) -> None:
    """A rogue producer on the broker: the captured site-c message stripped of its signature, signed with a key the
    worker does not trust, forged under the dispatcher's name, the signed message pushed onto site-a's queue,
    and replayed on its own queue after its scan finished."""
    plant, redis, monitor, workers = sites["plant"], sites["redis"].client(), sites["monitor"], sites["workers"]
    assert scanned["run"].returncode == 1, scanned["run"].stderr
    captured = monitor.pushed("site-c")[0]
    seen = {zone: requests_of(plant, zone) for zone in ("site-a", "site-c")}

    unsigned = json.loads(json.dumps(captured))
    unsigned["body"] = base64.b64encode(signed_body(captured).encode()).decode()
    unsigned["content-type"], unsigned["properties"]["delivery_tag"] = "application/json", "rogue-1"
    redis.lpush("site-c", json.dumps(unsigned))
    wait_for(lambda: "untrusted content" in workers["site-c"].output(), what="the unsigned message refused")

    foreign = json.loads(json.dumps(captured))
    foreign["properties"]["delivery_info"]["routing_key"] = "site-a"
    foreign["properties"]["delivery_tag"] = "rogue-2"
    redis.lpush("site-a", json.dumps(foreign))
    wait_for(lambda: "the message is for queue 'site-c'; this worker serves site-a" in workers["site-a"].output(),
             what="the message for another queue refused")

    # signed, but by a key the worker does not trust; and the dispatcher's signer named over a forged signature
    from celery.security.certificate import Certificate
    from celery.security.key import PrivateKey
    from celery.security.serialization import SecureSerializer

    rogue = pki_init(sites["tmp"] / "rogue", "rogue", bits=2048)
    task = json.loads(signed_body(captured))
    task[1]["body"]["assets"] = ["hist-c1"]
    for n, cert in enumerate((rogue.cert, Path(sites["pki"]) / "cert.pem")):
        signer = SecureSerializer(key=PrivateKey(rogue.key.read_text()), cert=Certificate(cert.read_text()))
        forged = json.loads(json.dumps(captured))
        forged["body"] = base64.b64encode(signer.serialize(task).encode()).decode()  # the transport encodes again
        forged["properties"]["delivery_tag"] = f"rogue-signed-{n}"
        redis.lpush("site-c", json.dumps(forged))
    wait_for(lambda: "Unknown certificate" in workers["site-c"].output(), what="a message signed by an unknown key")
    # celery 5.7 reports a bad signature as a TypeError of its own error handling; the message is dropped all the same
    wait_for(lambda: workers["site-c"].output().count("Can't decode message body") == 2, what="a forged signature")

    replayed = json.loads(json.dumps(captured))
    replayed["properties"]["delivery_tag"] = "rogue-3"
    redis.lpush("site-c", json.dumps(replayed))
    scan_id = json.loads(scanned["result"].read_text())["scan_id"]
    wait_for(lambda: f"scan {scan_id} is complete: nothing to do" in workers["site-c"].output(),
             what="the replayed message refused")
    assert {zone: requests_of(plant, zone) for zone in ("site-a", "site-c")} == seen  # nothing was sent to a device


def test_maintenance_windows_are_judged_by_each_sites_scanner_on_its_own_clock(sites, scanned) -> None:
    """Zones site-a and site-c get the same window, HH:MM around now on site-c's clock (UTC+14): open there,
    closed for site-a's scanner (UTC). Each worker judges its zones on its own clock."""
    from datetime import datetime, timedelta, timezone

    assert scanned["run"].returncode == 1, scanned["run"].stderr
    east = datetime.now(timezone.utc) + timedelta(hours=14)
    window = {"start": (east - timedelta(minutes=30)).strftime("%H:%M"),
              "end": (east + timedelta(minutes=30)).strftime("%H:%M")}
    data = yaml.safe_load(sites["inventory"].read_text())
    for zone in data["zones"]:
        if zone["id"] in ("site-a", "site-c"):
            zone["maintenance_windows"] = [window]
    inventory = sites["tmp"] / "windows.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    seen = requests_of(sites["plant"], "site-a")
    run = dispatch(sites, sites["tmp"] / "windows", inventory=inventory)
    assert run.returncode == 1, run.stderr  # a skipped asset outside its window does not make the scan exit 3
    assets = {a["id"]: a for a in json.loads((sites["tmp"] / "windows" / "result.json").read_text())["assets"]}
    assert {i: a["status"] for i, a in assets.items()} == {"ews-a1": "skipped", "hmi-a2": "skipped",
                                                          "ews-b1": "assessed", "sw-b2": "assessed",
                                                          "hist-c1": "assessed"}
    assert assets["ews-a1"]["skipped_because"] == "outside_window"
    assert "outside its maintenance window" in assets["ews-a1"]["error"]
    assert requests_of(sites["plant"], "site-a") == seen  # never contacted



def test_ctrl_c_ends_a_distributed_scan_as_interrupted_and_resume_finishes_it(sites, scanned) -> None:
    """No worker serves the queue yet: Ctrl-C (SIGINT) on the dispatcher ends the scan as a local one ends;
    --resume continues the same scan."""
    data = yaml.safe_load(sites["inventory"].read_text())
    data["zones"] = [z for z in data["zones"] if z["id"] == "site-c"]
    data["zones"][0]["scanner"] = "site-late"
    data["assets"] = [a for a in data["assets"] if a["zone"] == "site-c"]
    inventory = sites["tmp"] / "late.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    redis = sites["redis"].client()
    run = dispatch(sites, sites["tmp"] / "late", inventory=inventory, wait=False)
    try:
        wait_for(lambda: redis.llen("site-late") == 1, 60, "the message waiting in the broker")
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 3 and "scan interrupted" in err and "--resume" in err, err
    result = json.loads((sites["tmp"] / "late" / "result.json").read_text())
    assert result["interrupted"] and result["assets"][0]["skipped_because"] == "interrupted"
    with open_store(sites["db"]) as store:
        assert store.scan_row(int(result["scan_id"]))["status"] == "interrupted"
    # a worker that takes the waiting message later refuses it (tests/unit/test_distributed.py: "is interrupted")
    assert redis.llen("site-late") == 1

    # the zone's scanner is named right now: --resume finishes the same scan through it
    data["zones"][0]["scanner"] = "site-c"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    resumed = dispatch(sites, sites["tmp"] / "resumed", "--resume", inventory=inventory)
    assert resumed.returncode in (0, 1), resumed.stderr
    again = json.loads((sites["tmp"] / "resumed" / "result.json").read_text())
    assert again["scan_id"] == result["scan_id"] and not again["interrupted"]
    assert again["assets"][0]["status"] == "assessed"
    with open_store(sites["db"]) as store:
        assert store.scan_row(int(result["scan_id"]))["status"] == "complete"


def test_over_a_tls_broker(sites, scanned) -> None:
    """rediss:// with the broker's CA pinned on both sides (--broker-ca); the broker serves TLS only."""
    data = yaml.safe_load(sites["inventory"].read_text())
    data["zones"] = [z for z in data["zones"] if z["id"] == "site-a"]
    data["assets"] = [a for a in data["assets"] if a["zone"] == "site-a"]
    inventory = sites["tmp"] / "tls.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    with RealRedis("127.0.50.2", tls_dir=sites["tmp"] / "broker-tls") as tls:
        worker = Worker(sites["tmp"], "w-tls", "site-a", tls.url, sites["db"], sites["scanner_pki"], {},
                        [*FAST, "--broker-ca", str(tls.ca)])
        try:
            run = dispatch(sites, sites["tmp"] / "tls", "--broker-ca", str(tls.ca), inventory=inventory,
                           broker=tls.url)
        finally:
            worker.kill()
    assert run.returncode == 1, run.stderr
    result = json.loads((sites["tmp"] / "tls" / "result.json").read_text())
    assert [a["status"] for a in result["assets"]] == ["assessed", "assessed"]
    assert "taking zone site-a" in worker.output()

def visits(plant: Plant, gap: float = 1.0) -> list[tuple[float, float, str]]:
    """(start, end, host) of each time a host was read: its connections (a collection opens more than one)
    merged when less than ``gap`` seconds apart."""
    out = []
    for host_id, sim in plant.simulators.items():
        spans: dict[str, list[float]] = {}
        for request in sim.requests:
            spans.setdefault(request["peer"], []).append(request["time"])
        for start, end in sorted((min(t), max(t)) for t in spans.values()):
            if out and out[-1][2] == host_id and start - out[-1][1] < gap:
                out[-1] = (out[-1][0], max(end, out[-1][1]), host_id)
            else:
                out.append((start, end, host_id))
    return sorted(out)


def test_a_worker_killed_mid_zone_loses_no_asset_and_none_is_scanned_twice_in_parallel(sites) -> None:
    """Two workers serve site-k; the one that took the zone is SIGKILLed (with its pool) after two assets.
    The other takes the zone over once the broker's visibility timeout and the lost worker's lease ran out,
    reads only what the store does not hold yet, and the scan ends complete."""
    tmp = sites["tmp"] / "killed"
    hosts = [PlantHost(f"k-{n}", "hardened" if n % 2 else "weak", f"127.0.50.{50 + n}", "site-k") for n in range(1, 7)]
    with Plant(tmp / "plant", hosts, zones=[{"id": "site-k", "sl_target": 2, "scanner": "site-k"}],
               site="Killed site") as plant:
        workers = [sites["workers"]["site-a"], sites["workers"]["site-c"]]
        try:
            run = dispatch(sites, tmp / "out", "--concurrency", "1", inventory=plant.inventory_path, wait=False)
            with open_store(sites["db"]) as store:
                def recorded() -> set[str]:
                    scans = [s for s in store.scans() if s["site"] == "Killed site"]
                    return set(store.recorded_assets(scans[0]["id"])) if scans else set()

                wait_for(lambda: len(recorded()) >= 2, 60, "two assets recorded")
                taken = next(w for w in workers if "taking zone site-k" in w.output())
                taken.kill()
                killed_at, kept = time.time(), recorded()
            out, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
        assert run.returncode == 1, err
        result = json.loads((tmp / "out" / "result.json").read_text())
        assert [a["status"] for a in result["assets"]] == ["assessed"] * len(hosts) and not result["interrupted"]
        survivor = next(w for w in workers if w is not taken)
        assert "taking zone site-k" in survivor.output()
        spans = visits(plant)
        # one asset at a time in this zone (--concurrency 1): no two hosts were read at once, so the survivor
        # never read while the lost worker did
        assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), spans
        # the assets committed before the kill were not read again; at most the one in flight was read twice
        per_host = {h.id: sum(1 for s in spans if s[2] == h.id) for h in hosts}
        assert sum(per_host.values()) <= len(hosts) + 1 and min(per_host.values()) == 1, per_host
        assert all(end < killed_at for _, end, host in spans if host in kept)
        assert all(per_host[host] == 1 for host in kept)
    with open_store(sites["db"]) as store:
        assert store.scan_row(int(result["scan_id"]))["status"] == "complete"
