"""initial schema: scans, scan assets, evidence manifest

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('scans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('site', sa.String(length=200), nullable=False),
    sa.Column('selection', sa.String(length=300), nullable=False),
    sa.Column('basis', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scanner', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('tool_version', sa.String(length=50), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inventory', sa.JSON(), nullable=False),
    sa.Column('inventory_sha256', sa.String(length=64), nullable=False),
    sa.Column('evidence_manifest_sha256', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('waivers', sa.JSON(), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('interrupted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('uuid', name=op.f('uq_scans_uuid'))
    )
    op.create_index('ix_scans_site_started', 'scans', ['site', 'started_at'], unique=False)

    op.create_table('scan_assets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=True),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('collection_status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('sl_target', sa.JSON(), nullable=False),
    sa.Column('sl_achieved', sa.JSON(), nullable=False),
    sa.Column('sl_achieved_strict', sa.JSON(), nullable=False),
    sa.Column('sl_achieved_with_countermeasures', sa.JSON(), nullable=True),
    sa.Column('meets_target', sa.Boolean(), nullable=False),
    sa.Column('failed_checks', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.LargeBinary(), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_scan_assets_scan_id_scans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_assets')),
    sa.UniqueConstraint('scan_id', 'asset_id', name='uq_scan_assets_scan_asset')
    )
    op.create_index(op.f('ix_scan_assets_asset_id'), 'scan_assets', ['asset_id'], unique=False)
    op.create_index(op.f('ix_scan_assets_scan_id'), 'scan_assets', ['scan_id'], unique=False)

    op.create_table('evidence_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scan_asset_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=100), nullable=False),
    sa.Column('request_key', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['scan_asset_id'], ['scan_assets.id'], name=op.f('fk_evidence_items_scan_asset_id_scan_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_items'))
    )
    op.create_index(op.f('ix_evidence_items_scan_asset_id'), 'evidence_items', ['scan_asset_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_evidence_items_scan_asset_id'), table_name='evidence_items')

    op.drop_table('evidence_items')
    op.drop_index(op.f('ix_scan_assets_scan_id'), table_name='scan_assets')
    op.drop_index(op.f('ix_scan_assets_asset_id'), table_name='scan_assets')

    op.drop_table('scan_assets')
    op.drop_index('ix_scans_site_started', table_name='scans')

    op.drop_table('scans')
