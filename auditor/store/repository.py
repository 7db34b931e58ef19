"""Reading and writing the history store. Every write is one transaction: never half a scan asset.

Write path of a scan (see :mod:`auditor.cli.scan`):

1. :meth:`Store.begin_scan` (or :meth:`Store.resume` of an unfinished one) commits a ``running`` row;
2. :meth:`Store.record_asset` commits each asset the moment it finishes: result, evidence (gzip JSON),
   manifest rows and drift snapshot together; an interruption (Ctrl-C, a killed process, a power
   loss) leaves every committed asset intact and the scan ``running``/``interrupted``;
3. :meth:`Store.finish_scan` commits the scan-level outcome (summary, waivers, final per-asset
   results, skipped assets) and the status ``complete`` or ``interrupted``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, delete, event, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.pool import StaticPool

from auditor import __version__
from auditor.assessment.slvector import FRS, SLVector
from auditor.evidence import AssetEvidence, EvidenceBundle
from auditor.plant.inventory import Asset, Inventory
from auditor.results import AssetResult, History, ScanResult, Summary, TrendPoint, WaiverOutcome
from auditor.store.models import EvidenceManifestItem, Scan, ScanAsset

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UNFINISHED = ("running", "interrupted")
_LOCK_KEY = 62443007  # pg_advisory_xact_lock key serialising concurrent migrations of a central store


class StoreError(Exception):
    """The store cannot be used or does not hold what was asked for."""


def alembic_config(url: str | None = None, connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` in one transaction (PostgreSQL: under an advisory lock)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
        command.upgrade(alembic_config(connection=connection), revision)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sha256_json(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _pack(evidence: AssetEvidence) -> bytes:
    return gzip.compress(evidence.model_dump_json().encode("utf-8"), compresslevel=6, mtime=0)


def _unpack(blob: bytes) -> AssetEvidence:
    data = json.loads(gzip.decompress(blob))
    for item in data.get("items", []):
        item.pop("sha256", None)  # computed on load and compared with the manifest rows
    return AssetEvidence.model_validate(data)


def _asset_manifest(evidence: AssetEvidence) -> str:
    digest = hashlib.sha256()
    for item in evidence.items:
        digest.update(f"{item.id} {item.sha256}\n".encode())
    return digest.hexdigest()


def _sl(vector: SLVector | None) -> dict[str, int] | None:
    return None if vector is None else {fr: vector[fr] for fr in FRS}


def _pid_alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def summary_of(assets: list[AssetResult]) -> Summary:
    counts: dict[str, int] = {}
    for asset in assets:
        for result in asset.results:
            counts[result.status] = counts.get(result.status, 0) + 1
    return Summary(assets=len(assets), assessed=sum(a.status == "assessed" for a in assets),
                   errors=sum(a.status == "error" for a in assets), meeting_target=sum(a.meets_target for a in assets),
                   checks_by_status=counts, skipped=sum(a.status == "skipped" for a in assets))


class Store:
    """One history store (SQLite file or PostgreSQL database)."""

    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"future": True}
        if self.url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = create_engine(self.url, **kwargs)
        except ImportError as exc:
            hint = " (install the PostgreSQL driver: pip install 'iacs-auditor[postgres]')" \
                if self.url.get_backend_name() == "postgresql" else ""
            raise StoreError(f"cannot use history store {self.display_url}: {exc}{hint}") from None
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"cannot use history store {self.display_url}: {exc}") from None
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            try:
                migrate(self.engine)
            except SQLAlchemyError as exc:
                self.engine.dispose()
                raise StoreError(f"cannot open history store {self.display_url}: {exc.__class__.__name__}: "
                                 f"{str(exc).splitlines()[0]}") from None

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def begin_scan(self, inventory: Inventory, selection: str, started_at: datetime, basis: str = "component") -> int:
        data = inventory.model_dump(mode="json")
        with self.session.begin() as session:
            scan = Scan(uuid=str(uuid.uuid4()), site=inventory.site, selection=selection, basis=basis, status="running",
                        scanner=socket.gethostname(), pid=os.getpid(), tool_version=__version__,
                        started_at=started_at, inventory=data, inventory_sha256=_sha256_json(data), interrupted=False)
            session.add(scan)
            session.flush()
            return scan.id

    def resumable(self, site: str, selection: str) -> Scan | None:
        """The newest unfinished scan of ``site`` with this profile selection, if any.

        A scan still ``running`` in a live process of this machine is refused (:class:`StoreError`):
        two scanners must not fill the same scan.
        """
        with self.session() as session:
            scan = session.scalars(select(Scan).where(Scan.site == site, Scan.selection == selection,
                                                      Scan.status.in_(UNFINISHED))
                                   .order_by(Scan.started_at.desc(), Scan.id.desc()).limit(1)).first()
        if scan is not None and scan.status == "running" and scan.scanner == socket.gethostname() and _pid_alive(scan.pid):
            raise StoreError(f"scan {scan.id} of {site!r} is still running (process {scan.pid}); not resuming it")
        return scan

    def resume(self, scan_id: int, inventory: Inventory) -> None:
        data = inventory.model_dump(mode="json")
        with self.session.begin() as session:
            scan = session.get(Scan, scan_id)
            if scan is None:
                raise StoreError(f"no scan {scan_id}")
            scan.status, scan.scanner, scan.pid = "running", socket.gethostname(), os.getpid()
            scan.inventory, scan.inventory_sha256 = data, _sha256_json(data)

    def record_asset(self, scan_id: int, position: int, asset: Asset, evidence: AssetEvidence, result: AssetResult,
                     snapshot: dict[str, Any] | None = None) -> None:
        """Commit one finished asset (replacing an earlier row of the same asset in this scan)."""
        duration = None
        if evidence.started_at and evidence.finished_at:
            duration = max(0.0, (evidence.finished_at - evidence.started_at).total_seconds())
        stored_evidence = evidence.status != "skipped"
        row = ScanAsset(
            scan_id=scan_id, position=position, asset_id=asset.id, zone=asset.zone, type=asset.type,
            address=asset.address, status=result.status, collection_status=evidence.status,
            started_at=evidence.started_at, finished_at=evidence.finished_at, duration_s=duration,
            sl_target=_sl(result.sl_target), sl_achieved=_sl(result.sl_achieved),
            sl_achieved_strict=_sl(result.sl_achieved_strict),
            sl_achieved_with_countermeasures=_sl(result.sl_achieved_with_countermeasures),
            meets_target=result.meets_target, failed_checks=sum(r.status == "fail" for r in result.results),
            result=result.model_dump(mode="json"), evidence=_pack(evidence) if stored_evidence else None,
            evidence_sha256=_asset_manifest(evidence) if stored_evidence else None, snapshot=snapshot or None)
        row.items = [EvidenceManifestItem(item_id=item.id, request_key=item.request.key, status=item.status,
                                          sha256=item.sha256, collected_at=item.collected_at)
                     for item in evidence.items]
        with self.session.begin() as session:
            session.execute(delete(ScanAsset).where(ScanAsset.scan_id == scan_id, ScanAsset.asset_id == asset.id))
            session.add(row)

    def finish_scan(self, scan_id: int, result: ScanResult, status: str, positions: dict[str, int] | None = None,
                    assets: dict[str, Asset] | None = None) -> None:
        """Commit the scan's outcome: final asset results (with waivers), skipped assets, summary, status."""
        positions = positions or {a.id: n for n, a in enumerate(result.assets)}
        with self.session.begin() as session:
            scan = session.get(Scan, scan_id, options=[selectinload(Scan.assets)])
            if scan is None:
                raise StoreError(f"no scan {scan_id}")
            rows = {row.asset_id: row for row in scan.assets}
            for asset_result in result.assets:
                row = rows.get(asset_result.id)
                if row is None:
                    inventory_asset = (assets or {}).get(asset_result.id)
                    row = ScanAsset(scan_id=scan_id, position=positions.get(asset_result.id, 0), asset_id=asset_result.id,
                                    zone=asset_result.zone, type=asset_result.type, address=asset_result.address,
                                    collection_status="skipped" if asset_result.status == "skipped" else "error",
                                    evidence=None, evidence_sha256=None,
                                    snapshot=None)
                    if inventory_asset is not None:
                        row.zone = inventory_asset.zone
                    session.add(row)
                row.status = asset_result.status
                row.sl_target = _sl(asset_result.sl_target)
                row.sl_achieved = _sl(asset_result.sl_achieved)
                row.sl_achieved_strict = _sl(asset_result.sl_achieved_strict)
                row.sl_achieved_with_countermeasures = _sl(asset_result.sl_achieved_with_countermeasures)
                row.meets_target = asset_result.meets_target
                row.failed_checks = sum(r.status == "fail" for r in asset_result.results)
                row.result = asset_result.model_dump(mode="json")
            scan.status = status
            scan.finished_at = result.finished_at
            scan.interrupted = result.interrupted
            scan.basis = result.basis
            scan.evidence_manifest_sha256 = result.evidence_manifest_sha256
            scan.summary = result.summary.model_dump(mode="json")
            scan.waivers = [w.model_dump(mode="json") for w in result.waivers]
            scan.exit_code = result.exit_code()

    def mark(self, scan_id: int, status: str) -> None:
        with self.session.begin() as session:
            scan = session.get(Scan, scan_id)
            if scan is not None:
                scan.status = status

    # ------------------------------------------------------------------ reading

    def resolve(self, ref: str | int, site: str | None = None) -> int:
        """A scan id from ``12``, a uuid (prefix), ``latest`` or ``previous`` (of ``site`` if given)."""
        text_ref = str(ref).strip()
        with self.session() as session:
            if text_ref in ("latest", "previous"):
                query = select(Scan.id).where(Scan.status != "running")
                if site:
                    query = query.where(Scan.site == site)
                ids = session.scalars(query.order_by(Scan.started_at.desc(), Scan.id.desc()).limit(2)).all()
                index = 0 if text_ref == "latest" else 1
                if len(ids) <= index:
                    raise StoreError(f"no {text_ref} scan in the history store")
                return ids[index]
            if text_ref.isdigit() and session.get(Scan, int(text_ref)) is not None:
                return int(text_ref)
            # a uuid prefix may be all digits too ("49001570..."), so a number that is no scan id is tried as one
            matches = session.scalars(select(Scan.id).where(Scan.uuid.like(f"{text_ref}%")).limit(2)).all()
        if len(matches) != 1:
            raise StoreError(f"no scan {text_ref!r} in the history store" if not matches
                             else f"scan reference {text_ref!r} is ambiguous")
        return matches[0]

    def scans(self, *, site: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first: each scan with its summary and its weakest SL-A per FR over assessed assets."""
        with self.session() as session:
            query = select(Scan).options(selectinload(Scan.assets))
            if site:
                query = query.where(Scan.site == site)
            scans = session.scalars(query.order_by(Scan.started_at.desc(), Scan.id.desc()).limit(limit)).all()
            out = []
            for scan in scans:
                assessed = [row for row in scan.assets if row.status == "assessed"]
                weakest = {fr: min(row.sl_achieved[fr] for row in assessed) for fr in FRS} if assessed else None
                out.append({"id": scan.id, "uuid": scan.uuid, "site": scan.site, "selection": scan.selection,
                            "status": scan.status, "started_at": scan.started_at, "finished_at": scan.finished_at,
                            "scanner": scan.scanner, "assets": len(scan.assets), "assessed": len(assessed),
                            "meeting_target": sum(row.meets_target for row in assessed),
                            "exit_code": scan.exit_code, "sl_achieved_min": weakest})
            return out

    def asset_history(self, asset_id: str, *, site: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        with self.session() as session:
            query = (select(ScanAsset, Scan).join(Scan, ScanAsset.scan_id == Scan.id)
                     .where(ScanAsset.asset_id == asset_id))
            if site:
                query = query.where(Scan.site == site)
            rows = session.execute(query.order_by(Scan.started_at.desc(), Scan.id.desc()).limit(limit)).all()
            return [{"scan": scan.id, "site": scan.site, "started_at": scan.started_at, "scan_status": scan.status,
                     "status": row.status, "zone": row.zone, "sl_target": row.sl_target, "sl_achieved": row.sl_achieved,
                     "sl_achieved_strict": row.sl_achieved_strict,
                     "sl_achieved_with_countermeasures": row.sl_achieved_with_countermeasures,
                     "meets_target": row.meets_target, "failed_checks": row.failed_checks,
                     "duration_s": row.duration_s} for row, scan in rows]

    def scan_row(self, scan_id: int) -> dict[str, Any]:
        with self.session() as session:
            scan = session.get(Scan, scan_id)
            if scan is None:
                raise StoreError(f"no scan {scan_id} in the history store")
            return {c.name: getattr(scan, c.name) for c in Scan.__table__.columns}

    def _asset_rows(self, session: Session, scan_id: int) -> tuple[Scan, list[ScanAsset]]:
        scan = session.get(Scan, scan_id, options=[selectinload(Scan.assets).selectinload(ScanAsset.items)])
        if scan is None:
            raise StoreError(f"no scan {scan_id} in the history store")
        return scan, list(scan.assets)

    def load_result(self, scan_id: int) -> ScanResult:
        """The scan's result as it was reported (a partial one for an unfinished scan)."""
        with self.session() as session:
            scan, rows = self._asset_rows(session, scan_id)
            assets = [AssetResult.model_validate(row.result) for row in rows]
            summary = Summary.model_validate(scan.summary) if scan.summary else summary_of(assets)
            return ScanResult(
                tool={"name": "iacs-auditor", "version": scan.tool_version}, site=scan.site, started_at=scan.started_at,
                finished_at=scan.finished_at or max((r.finished_at for r in rows if r.finished_at), default=scan.started_at),
                profile=scan.selection, basis=scan.basis,  # type: ignore[arg-type]
                evidence_manifest_sha256=scan.evidence_manifest_sha256,
                interrupted=scan.interrupted or scan.status != "complete", scan_id=str(scan.id), summary=summary,
                assets=assets, waivers=[WaiverOutcome.model_validate(w) for w in scan.waivers or []])

    @staticmethod
    def _evidence(row: ScanAsset) -> AssetEvidence:
        if row.evidence is None:
            return AssetEvidence(asset=row.asset_id, status="skipped",
                                 error=(row.result or {}).get("error") or "no evidence stored for this asset")
        evidence = _unpack(row.evidence)
        manifest = {item.item_id: item.sha256 for item in row.items}
        if len(manifest) != len(evidence.items):
            raise StoreError(f"stored evidence of {row.asset_id} has {len(evidence.items)} items, its manifest {len(manifest)}")
        for item in evidence.items:
            if manifest.get(item.id) != item.sha256:
                raise StoreError(f"stored evidence item {item.id} does not match its manifest sha256")
        return evidence

    def recorded_assets(self, scan_id: int) -> dict[str, tuple[int, str]]:
        """Each asset row of the scan: ``asset id -> (row id, collection status)``. A row written again gets a new
        id, which is how a distributed scan's dispatcher tells new rows from those of an earlier run."""
        with self.session() as session:
            rows = session.execute(select(ScanAsset.asset_id, ScanAsset.id, ScanAsset.collection_status)
                                   .where(ScanAsset.scan_id == scan_id)).all()
            return {asset_id: (row_id, status) for asset_id, row_id, status in rows}

    def finished_evidence(self, scan_id: int) -> dict[str, AssetEvidence]:
        """Evidence of every asset of the scan that finished (collected, partial or error), verified."""
        with self.session() as session:
            _, rows = self._asset_rows(session, scan_id)
            return {row.asset_id: self._evidence(row) for row in rows if row.collection_status != "skipped"}

    def load_bundle(self, scan_id: int) -> EvidenceBundle:
        """The evidence bundle of a stored scan, every item verified against the stored manifest."""
        with self.session() as session:
            scan, rows = self._asset_rows(session, scan_id)
            return EvidenceBundle(
                tool={"name": "iacs-auditor", "version": scan.tool_version}, started_at=scan.started_at,
                finished_at=scan.finished_at or datetime.now(timezone.utc),
                inventory=Inventory.model_validate(scan.inventory), assets=[self._evidence(row) for row in rows])

    def snapshots(self, scan_id: int) -> dict[str, dict[str, Any]]:
        with self.session() as session:
            rows = session.scalars(select(ScanAsset).where(ScanAsset.scan_id == scan_id)).all()
            return {row.asset_id: row.snapshot or {} for row in rows}

    def estimates(self, asset_ids: Iterable[str], site: str | None = None) -> dict[str, float]:
        """The last measured collection time (seconds) of each asset, for maintenance-window planning."""
        wanted = list(asset_ids)
        if not wanted:
            return {}
        with self.session() as session:
            query = (select(ScanAsset.asset_id, ScanAsset.duration_s, Scan.started_at)
                     .join(Scan, ScanAsset.scan_id == Scan.id)
                     .where(ScanAsset.asset_id.in_(wanted), ScanAsset.duration_s.is_not(None)))
            if site:
                query = query.where(Scan.site == site)
            out: dict[str, float] = {}
            for asset_id, duration, _ in session.execute(query.order_by(Scan.started_at.desc())):
                out.setdefault(asset_id, float(duration))
            return out

    def count(self, model: Any = Scan) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def trend(self, site: str, *, until: int | None = None, limit: int = 12) -> History:
        """SL-A over the last ``limit`` finished scans of ``site`` (up to scan ``until``), per asset and zone."""
        with self.session() as session:
            query = select(Scan).options(selectinload(Scan.assets)).where(Scan.site == site, Scan.status != "running")
            if until is not None:
                anchor = session.get(Scan, until)
                if anchor is not None:
                    query = query.where(Scan.started_at <= anchor.started_at)
            scans = list(reversed(session.scalars(query.order_by(Scan.started_at.desc(), Scan.id.desc())
                                                  .limit(limit)).all()))
            history = History()
            for scan in scans:
                zones: dict[str, list[ScanAsset]] = {}
                for row in scan.assets:
                    history.assets.setdefault(row.asset_id, []).append(TrendPoint(
                        scan_id=str(scan.id), started_at=scan.started_at, sl_target=SLVector.model_validate(row.sl_target),
                        sl_achieved=SLVector.model_validate(row.sl_achieved),
                        sl_achieved_with_countermeasures=(SLVector.model_validate(row.sl_achieved_with_countermeasures)
                                                          if row.sl_achieved_with_countermeasures else None),
                        assessed=row.status == "assessed", failed_checks=row.failed_checks))
                    if row.zone is not None:
                        zones.setdefault(row.zone, []).append(row)
                for zone, rows in zones.items():
                    assessed = [r for r in rows if r.status == "assessed"]
                    target = {fr: max(r.sl_target[fr] for r in rows) for fr in FRS}
                    weakest = {fr: min(r.sl_achieved[fr] for r in assessed) for fr in FRS} if assessed else dict.fromkeys(FRS, 0)
                    history.zones.setdefault(zone, []).append(TrendPoint(
                        scan_id=str(scan.id), started_at=scan.started_at, sl_target=SLVector.model_validate(target),
                        sl_achieved=SLVector.model_validate(weakest), assessed=bool(assessed),
                        failed_checks=sum(r.failed_checks for r in rows)))
            return history
