"""The history store's tables (SQLAlchemy 2). Migrations live in ``migrations/`` (Alembic).

* ``scans``: one row per scan (running, interrupted or complete), with the inventory it used, the
  scan-level summary and the waiver outcomes;
* ``scan_assets``: one row per asset of a scan, written in its own transaction the moment the asset
  finishes (so an interrupted scan keeps it): the scored :class:`~auditor.results.AssetResult`, the
  raw evidence (gzip-compressed JSON), the drift snapshot and SL vectors for queries;
* ``evidence_items``: the evidence manifest, one row per raw item (id, request, sha256), so the stored
  evidence can be verified against it and a reviewer can query what was read.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s"}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site: Mapped[str] = mapped_column(String(200))
    selection: Mapped[str] = mapped_column(String(300))
    basis: Mapped[str] = mapped_column(String(16), default="component")
    status: Mapped[str] = mapped_column(String(16))  # running | interrupted | complete
    scanner: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tool_version: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    inventory: Mapped[Any] = mapped_column(JSON)
    inventory_sha256: Mapped[str] = mapped_column(String(64))
    evidence_manifest_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    waivers: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)

    assets: Mapped[list["ScanAsset"]] = relationship(back_populates="scan", cascade="all, delete-orphan",
                                                     passive_deletes=True, order_by="ScanAsset.position")

    __table_args__ = (Index("ix_scans_site_started", "site", "started_at"),)


class ScanAsset(Base):
    __tablename__ = "scan_assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    asset_id: Mapped[str] = mapped_column(String(64), index=True)
    zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    type: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # assessed | error | skipped (the result's)
    collection_status: Mapped[str] = mapped_column(String(16))  # collected | partial | error | skipped
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    sl_target: Mapped[Any] = mapped_column(JSON)
    sl_achieved: Mapped[Any] = mapped_column(JSON)
    sl_achieved_strict: Mapped[Any] = mapped_column(JSON)
    sl_achieved_with_countermeasures: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    meets_target: Mapped[bool] = mapped_column(Boolean)
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[Any] = mapped_column(JSON)
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    snapshot: Mapped[Any | None] = mapped_column(JSON, nullable=True)

    scan: Mapped[Scan] = relationship(back_populates="assets")
    items: Mapped[list["EvidenceManifestItem"]] = relationship(back_populates="asset", cascade="all, delete-orphan",
                                                               passive_deletes=True)

    __table_args__ = (UniqueConstraint("scan_id", "asset_id", name="uq_scan_assets_scan_asset"),)


class EvidenceManifestItem(Base):
    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_asset_id: Mapped[int] = mapped_column(ForeignKey("scan_assets.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    request_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    asset: Mapped[ScanAsset] = relationship(back_populates="items")
