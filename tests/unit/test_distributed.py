"""Distributed scans without a broker: routing, the messages' contents, the worker's checks, schedule, pki."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.distributed.app import TASK_NAME, Pki
from auditor.distributed.dispatch import check_routing, messages, queue_of
from auditor.distributed.pki import init, trust
from auditor.distributed.work import Refused, WorkerContext, check_message, options_from_message, options_to_message
from auditor.errors import ConfigError
from auditor.plant.inventory import Inventory
from auditor.plant.planning import plan_assets
from auditor.app.scan import ScanRequest
from connectors import ScanOptions

SSH = {"protocol": "ssh", "username": "auditor", "password_env": "SITE_A_PW"}
INVENTORY = {"site": "two plants", "scanner": "central",
             "zones": [{"id": "a-control", "scanner": "site-a"}, {"id": "a-dmz", "scanner": "site-a"},
                       {"id": "b-control", "scanner": "site-b"}, {"id": "hq"}],
             "assets": [{"id": "a1", "type": "host", "zone": "a-control", "address": "127.0.50.1", "endpoints": [SSH]},
                        {"id": "a2", "type": "host", "zone": "a-control", "address": "127.0.50.2", "endpoints": [SSH]},
                        {"id": "a3", "type": "host", "zone": "a-dmz", "address": "127.0.50.3", "endpoints": [SSH]},
                        {"id": "b1", "type": "host", "zone": "b-control", "address": "127.0.50.4", "endpoints": [SSH]},
                        {"id": "h1", "type": "host", "zone": "hq", "address": "127.0.50.5", "endpoints": [SSH]}]}


def test_each_zone_goes_to_its_scanner_queue_or_the_inventorys_default() -> None:
    inventory = Inventory.model_validate(INVENTORY)
    plans = plan_assets(inventory, sl=2)
    assert {p.asset.id: queue_of(inventory, p) for p in plans} == {
        "a1": "site-a", "a2": "site-a", "a3": "site-a", "b1": "site-b", "h1": "central"}
    check_routing("plant.yaml", inventory, plans)  # every asset reaches a queue

    request = ScanRequest(inventory=inventory, source="plant.yaml", out=Path("out"), sl=2, concurrency=3)
    bodies = messages(request, ScanOptions(), plans, 7, "uuid-7")
    # one message per zone (the politeness limits are per zone), the zone's assets only
    assert sorted((b["queue"], b["zone"], tuple(b["assets"])) for b in bodies) == [
        ("central", "hq", ("h1",)), ("site-a", "a-control", ("a1", "a2")), ("site-a", "a-dmz", ("a3",)),
        ("site-b", "b-control", ("b1",))]
    assert all(b["task"] == TASK_NAME and b["scan_id"] == 7 and b["scan_uuid"] == "uuid-7" and b["concurrency"] == 3
               for b in bodies)


def test_an_asset_no_queue_reaches_is_a_configuration_error() -> None:
    data = {**INVENTORY, "scanner": None}
    inventory = Inventory.model_validate(data)
    with pytest.raises(ConfigError) as caught:
        check_routing("plant.yaml", inventory, plan_assets(inventory, sl=2))
    assert "assets (h1)" in str(caught.value) and "'hq' a 'scanner:'" in str(caught.value)
    with pytest.raises(Exception, match="scanner"):
        Inventory.model_validate({**INVENTORY, "scanner": "no spaces allowed"})


def test_messages_carry_secret_references_never_values(monkeypatch) -> None:
    monkeypatch.setenv("SITE_A_PW", "s3cret-value-of-site-a")
    monkeypatch.setenv("SUDO_PW", "sudo-secret-value")
    inventory = Inventory.model_validate(INVENTORY)
    options = ScanOptions(sudo_password_env="SUDO_PW", known_hosts=Path("/etc/iacs/known_hosts"))
    request = ScanRequest(inventory=inventory, source="plant.yaml", out=Path("out"), sl=2)
    text = json.dumps(messages(request, options, plan_assets(inventory, sl=2), 1, "u"))
    assert "SITE_A_PW" in text and "SUDO_PW" in text
    assert "s3cret-value-of-site-a" not in text and "sudo-secret-value" not in text
    again = options_from_message(json.loads(json.dumps(options_to_message(options))))
    assert again == options and again.known_hosts == Path("/etc/iacs/known_hosts")


def body(**changes) -> dict:
    expires = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    return {"task": TASK_NAME, "queue": "site-a", "expires": expires, **changes}


@pytest.mark.parametrize("changes, delivered, reason", [
    ({"task": "iacs.other"}, "site-a", "names task 'iacs.other'"),
    ({"queue": "site-b"}, "site-b", "for queue 'site-b'; this worker serves site-a, site-a-dmz"),
    ({}, "site-a-dmz", "for queue 'site-a' was delivered on 'site-a-dmz'"),
    ({"expires": "2020-01-01T00:00:00+00:00"}, "site-a", "expired at 2020-01-01T00:00:00+00:00"),
])
def test_the_worker_refuses_a_body_not_meant_for_it(changes: dict, delivered: str, reason: str) -> None:
    context = WorkerContext(queues=["site-a", "site-a-dmz"], store="sqlite://", broker="memory://")
    check_message(body(), "site-a", context)  # the right one passes
    with pytest.raises(Refused) as refused:
        check_message(body(**changes), delivered, context)
    assert reason in str(refused.value)


def test_pki_init_trust_and_what_is_missing(tmp_path: Path) -> None:
    dispatcher = init(tmp_path / "dispatcher", "dispatcher", bits=2048)
    assert dispatcher.key.stat().st_mode & 0o777 == 0o600 and b"BEGIN CERTIFICATE" in dispatcher.cert.read_bytes()
    with pytest.raises(ConfigError, match="trusted/ holds no certificate"):
        dispatcher.check()
    trust(dispatcher.folder, dispatcher.cert, "self")
    dispatcher.check()
    with pytest.raises(FileExistsError):
        init(tmp_path / "dispatcher", "again", bits=2048)
    with pytest.raises(ConfigError, match="key.pem is missing"):
        Pki(tmp_path / "nowhere").check()
    runner = CliRunner()
    made = runner.invoke(cli, ["pki", "init", str(tmp_path / "scanner"), "--name", "scanner-a"])
    assert made.exit_code == 0 and "keep it on this host only" in made.output
    trusted = runner.invoke(cli, ["pki", "trust", str(tmp_path / "scanner"), str(dispatcher.cert), "--name", "dispatcher"])
    assert trusted.exit_code == 0 and (tmp_path / "scanner" / "trusted" / "dispatcher.pem").is_file()


def test_schedule_install_targets_a_distributed_scan(tmp_path: Path) -> None:
    inventory = tmp_path / "plant.yaml"
    inventory.write_text(json.dumps(INVENTORY))
    pki = init(tmp_path / "pki", "dispatcher", bits=2048)
    trust(pki.folder, pki.cert, "self")
    units = tmp_path / "units"
    base = ["schedule", "install", "sites", "-i", str(inventory), "--cron", "0 2 * * 6", "--backend", "systemd",
            "--unit-dir", str(units), "--no-enable"]
    runner = CliRunner()
    installed = runner.invoke(cli, [*base, "--db", "postgresql://auditor@db.invalid/iacs", "--distributed",
                                    "--broker", "rediss://dispatcher@broker.invalid:6379/0", "--pki", str(pki.folder),
                                    "--broker-ca", str(pki.cert)])
    assert installed.exit_code == 0, installed.output
    service = (units / "iacs-audit-sites.service").read_text()
    assert f"--broker-ca {pki.cert}" in service
    assert "--distributed" in service and "--broker rediss://dispatcher@broker.invalid:6379/0" in service
    assert f"--pki {pki.folder}" in service
    with_password = runner.invoke(cli, [*base, "--db", "postgresql://auditor@db.invalid/iacs", "--distributed",
                                        "--broker", "redis://:hunter2@broker.invalid/0", "--pki", str(pki.folder)])
    assert with_password.exit_code == 2 and "EnvironmentFile" in with_password.output
    no_store = runner.invoke(cli, [*base, "--distributed", "--pki", str(pki.folder)])
    assert no_store.exit_code == 2 and "central store" in no_store.output


def test_an_unreachable_broker_is_a_configuration_error_and_the_scan_can_be_resumed(tmp_path: Path) -> None:
    """In a process of its own: signing changes kombu's serializer registry for the whole process."""
    import subprocess
    import sys

    from auditor.store import open_store

    pki = init(tmp_path / "pki", "dispatcher", bits=2048)
    trust(pki.folder, pki.cert, "self")
    inventory = tmp_path / "plant.yaml"
    inventory.write_text(json.dumps(INVENTORY))
    repo = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "auditor", "scan", "-i", str(inventory), "--distributed",
                          "--broker", "redis://:pw@127.0.50.1:1/0", "--pki", str(pki.folder),
                          "--db", str(tmp_path / "h.sqlite"), "-o", str(tmp_path / "out")],
                         cwd=repo, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "HOME": str(tmp_path)})
    assert run.returncode == 2 and "--broker: cannot reach the broker" in run.stderr, run.stderr
    assert ":***@127.0.50.1:1" in run.stderr and "pw@" not in run.stderr
    # the dispatcher holds no site secret (SITE_A_PW is unset here): the workers resolve them
    with open_store(tmp_path / "h.sqlite") as store:
        assert [s["status"] for s in store.scans()] == ["interrupted"]


def test_a_worker_resolves_secrets_on_its_own_host_and_records_what_it_lacks(tmp_path: Path, monkeypatch) -> None:
    """The zone's work without a broker: a secret this host does not have makes its asset an error naming the
    reference, recorded in the store; a scan that is no longer running, or another scan's message, is refused."""
    from datetime import datetime, timezone

    from auditor.distributed.work import collect_zone
    from auditor.plant.planning import selection_label
    from auditor.store import open_store

    monkeypatch.delenv("SITE_A_PW", raising=False)
    inventory = Inventory.model_validate(INVENTORY)
    store_path = tmp_path / "h.sqlite"
    with open_store(store_path) as store:
        scan_id = store.begin_scan(inventory, selection_label(None, 2), datetime.now(timezone.utc))
        scan_uuid = store.scan_row(scan_id)["uuid"]
    request = ScanRequest(inventory=inventory, source="plant.yaml", out=tmp_path, sl=2)
    zone = next(b for b in messages(request, ScanOptions(), plan_assets(inventory, sl=2), scan_id, scan_uuid)
                if b["zone"] == "a-control")
    context = WorkerContext(queues=["site-a"], store=str(store_path), broker="memory://", name="scanner-a")
    assert collect_zone(zone, "site-a", context) == {"zone": "a-control", "assets": 2, "collected": 0}
    with open_store(store_path) as store:
        results = {a.id: a for a in store.load_result(scan_id).assets}
        assert set(results) == {"a1", "a2"} and all(a.status == "error" for a in results.values())
        assert "worker scanner-a" in results["a1"].error and "SITE_A_PW is not set" in results["a1"].error
        assert collect_zone(zone, "site-a", context)["assets"] == 0  # redelivered: nothing left to do
        with pytest.raises(Refused, match="not the scan this message was sent for"):
            collect_zone({**zone, "scan_uuid": "another"}, "site-a", context)
        store.mark(scan_id, "interrupted")
    with pytest.raises(Refused, match="is interrupted: nothing to do"):
        collect_zone(zone, "site-a", context)


def test_a_zone_lost_twice_is_not_taken_a_third_time(tmp_path: Path, monkeypatch) -> None:
    """The third delivery of a zone message (its worker lost twice) records what is left as errors saying so."""
    from datetime import datetime, timezone

    from auditor.distributed import work
    from auditor.plant.planning import selection_label
    from auditor.store import open_store

    monkeypatch.setenv("SITE_A_PW", "not-used")
    inventory = Inventory.model_validate(INVENTORY)
    with open_store(tmp_path / "h.sqlite") as store:
        scan_id = store.begin_scan(inventory, selection_label(None, 2), datetime.now(timezone.utc))
        request = ScanRequest(inventory=inventory, source="plant.yaml", out=tmp_path, sl=2)
        zone = next(b for b in messages(request, ScanOptions(), plan_assets(inventory, sl=2), scan_id,
                                        store.scan_row(scan_id)["uuid"]) if b["zone"] == "b-control")
        context = WorkerContext(queues=["site-b"], store=str(tmp_path / "h.sqlite"), broker="memory://")
        assert work._run(store, zone, context, lost_twice=True)["collected"] == 0
        (b1,) = store.load_result(scan_id).assets
        assert b1.status == "error" and "its scanner was lost twice" in b1.error


def test_a_broker_ca_needs_a_tls_broker_url(tmp_path: Path) -> None:
    from auditor.distributed.app import make_app

    pki = init(tmp_path / "pki", "dispatcher", bits=2048)
    trust(pki.folder, pki.cert, "self")
    with pytest.raises(ConfigError, match="use a rediss:// or amqps:// URL"):
        make_app("redis://127.0.50.1:6379/0", pki, broker_ca=pki.cert)
