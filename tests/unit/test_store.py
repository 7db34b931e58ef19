"""The history store against SQLite and a real PostgreSQL: migrations, round trips, transactions, integrity."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from result_fixture import build_evidence, build_result
from sqlalchemy import inspect, select, update

from auditor.store import StoreError, alembic_config, open_store, resolve_url
from auditor.store.__main__ import main as store_main
from auditor.store.models import Base, EvidenceManifestItem, Scan, ScanAsset
from auditor.store.repository import Store
from tests.support.real_postgres import shared_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return shared_postgres().fresh_database()


def _record(store: Store, *, finish: bool = True, started=None) -> int:
    """Store the report fixture's scan the way a live scan would: asset by asset, then the outcome."""
    bundle, result = build_evidence(), build_result()
    scan_id = store.begin_scan(bundle.inventory, "sl2", started or bundle.started_at)
    assets = {a.id: a for a in bundle.inventory.assets}
    for position, (evidence, asset_result) in enumerate(zip(bundle.assets, result.assets)):
        store.record_asset(scan_id, position, assets[evidence.asset], evidence, asset_result,
                           {"os": {"label": "os", "kind": "version", "value": f"os-{position}"}})
    if finish:
        store.finish_scan(scan_id, result, "complete")
    return scan_id


def test_migrations_reach_head_with_no_pending_changes(url: str) -> None:
    store = open_store(url)
    try:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == head
            assert compare_metadata(context, Base.metadata) == []  # models and migrations agree (`alembic check`)
        assert {"scans", "scan_assets", "evidence_items", "alembic_version"} <= set(inspect(store.engine).get_table_names())
        assert store_main(["--db", url, "check"]) == 0  # the shipped `alembic check` equivalent agrees
        _record(store)
        # a downgrade/upgrade cycle works and opening again is a no-op on an up-to-date store
        with store.engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
        assert "scans" not in inspect(store.engine).get_table_names()
    finally:
        store.close()
    again = open_store(url)
    assert again.count() == 0 and "scans" in inspect(again.engine).get_table_names()
    again.close()


def test_round_trip_result_bundle_and_snapshots(url: str) -> None:
    with open_store(url) as store:
        scan_id = _record(store)
        original, bundle = build_result(), build_evidence()
        loaded = store.load_result(scan_id)
        assert loaded.scan_id == str(scan_id) and loaded.site == original.site
        assert [a.model_dump() for a in loaded.assets] == [a.model_dump() for a in original.assets]
        assert loaded.summary == original.summary and loaded.started_at == original.started_at
        stored_bundle = store.load_bundle(scan_id)
        assert stored_bundle.manifest_sha256 == bundle.manifest_sha256 == loaded.evidence_manifest_sha256
        assert store.snapshots(scan_id)["hmi-01"]["os"]["value"] == "os-0"
        with store.session() as session:
            items = session.scalars(select(EvidenceManifestItem)).all()
            assert len(items) == sum(len(a.items) for a in bundle.assets)
            assert {i.sha256 for i in items} == {i.sha256 for a in bundle.assets for i in a.items}
        rows = store.scans()
        assert rows[0]["id"] == scan_id and rows[0]["status"] == "complete" and rows[0]["assets"] == 3
        history = store.asset_history("eng-ws-02")
        assert history[0]["scan"] == scan_id and history[0]["sl_achieved"] == dict(original.assets[1].sl_achieved.items())


def test_resolve_trend_and_estimates(url: str) -> None:
    with open_store(url) as store:
        first = _record(store)
        second = _record(store, started=build_result().started_at.replace(day=27))
        assert store.resolve("latest") == second and store.resolve("previous") == first
        assert store.resolve(str(first)) == first
        uuid = store.scan_row(first)["uuid"]
        assert store.resolve(uuid[:8]) == first
        with store.session() as session, session.begin():
            session.get(Scan, first).uuid = "49001570-0000-4000-8000-000000000000"
        assert store.resolve("49001570") == first  # a uuid prefix made of digits is not mistaken for an id
        for bad in ("999", "nonsense", "previous-ish"):
            with pytest.raises(StoreError):
                store.resolve(bad)
        trend = store.trend(build_result().site)
        assert [p.scan_id for p in trend.assets["eng-ws-02"]] == [str(first), str(second)]
        assert set(trend.zones) == {"dmz", "control", "field"} or set(trend.zones) >= {"dmz", "control"}
        assert [p.scan_id for p in store.trend(build_result().site, until=first).assets["hmi-01"]] == [str(first)]
        estimates = store.estimates(["hmi-01", "eng-ws-02", "unknown"])
        assert set(estimates) <= {"hmi-01", "eng-ws-02", "plc-03"} and "unknown" not in estimates


def test_a_failed_write_leaves_nothing_half_written(url: str, monkeypatch) -> None:
    with open_store(url) as store:
        bundle, result = build_evidence(), build_result()
        scan_id = store.begin_scan(bundle.inventory, "sl2", bundle.started_at)
        asset = bundle.inventory.assets[0]
        store.record_asset(scan_id, 0, asset, bundle.assets[0], result.assets[0])

        # the second write of the same asset dies after its rows were added but before COMMIT
        original_flush = store.session.class_.flush

        def dying_flush(self, *args, **kwargs):
            original_flush(self, *args, **kwargs)
            raise RuntimeError("power loss")

        monkeypatch.setattr(store.session.class_, "flush", dying_flush)
        with pytest.raises(RuntimeError, match="power loss"):
            store.record_asset(scan_id, 0, asset, bundle.assets[0], result.assets[0].model_copy(update={"status": "error"}))
        monkeypatch.undo()
        with store.session() as session:
            rows = session.scalars(select(ScanAsset).where(ScanAsset.scan_id == scan_id)).all()
            assert [(r.asset_id, r.status) for r in rows] == [(asset.id, result.assets[0].status)]  # the old row survived
            assert len(session.scalars(select(EvidenceManifestItem)).all()) == len(bundle.assets[0].items)
        assert list(store.finished_evidence(scan_id)) == [asset.id]


def test_tampered_stored_evidence_is_refused(url: str) -> None:
    with open_store(url) as store:
        scan_id = _record(store)
        with store.session.begin() as session:
            row = session.scalars(select(ScanAsset).where(ScanAsset.asset_id == "hmi-01")).one()
            data = json.loads(gzip.decompress(row.evidence))
            data["items"][0]["response"] += " (edited)"
            session.execute(update(ScanAsset).where(ScanAsset.id == row.id)
                            .values(evidence=gzip.compress(json.dumps(data).encode())))
        with pytest.raises(StoreError, match="does not match its manifest"):
            store.load_bundle(scan_id)


def test_resumable_scans(url: str) -> None:
    with open_store(url) as store:
        scan_id = _record(store, finish=False)
        site = build_result().site
        assert store.resumable(site, "sl2").id == scan_id  # 'running', but its process (this one) is us
        assert store.resumable(site, "sl3") is None
        with store.session.begin() as session:
            session.execute(update(Scan).values(pid=os.getppid()))  # a live process on this machine
        with pytest.raises(StoreError, match="still running"):
            store.resumable(site, "sl2")
        store.finish_scan(scan_id, build_result(), "complete")
        assert store.resumable(site, "sl2") is None


def test_store_urls(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("IACS_AUDIT_DB", raising=False)
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'xdg' / 'iacs-auditor' / 'history.sqlite'}"
    assert resolve_url("postgresql://a@h/db") == "postgresql+psycopg://a@h/db"
    assert resolve_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("IACS_AUDIT_DB", str(tmp_path / "env.db"))
    assert resolve_url(None).endswith("env.db")
    with pytest.raises(StoreError, match="cannot open history store"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    try:
        open_store("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    except StoreError as exc:
        assert "secret" not in str(exc)
