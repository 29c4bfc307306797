"""Keeping the registry true (issue 10): e-bike charging, last-verified dates, edit versions, the audit log,
workers' reports, officials, pending uploads and the data versions.

Every existing station gets ``ebike = false`` (nobody has said it offers e-bike charging), ``last_verified =
''`` (never checked by an official through yizhan) and ``version = 1``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _indexes(table: str, *cols: str) -> None:
    for col in cols:
        op.create_index(f"ix_{table}_{col}", table, [col])


def upgrade() -> None:
    # plain ADD COLUMN (SQLite has it; no table copy, and offline SQL scripts work)
    op.add_column("stations", sa.Column("ebike", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("stations", sa.Column("last_verified", sa.String(10), nullable=False, server_default=""))
    op.add_column("stations", sa.Column("version", sa.Integer, nullable=False, server_default="1"))

    state = op.create_table(
        "registry_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.String(32), nullable=False),
    )
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    op.bulk_insert(state, [{"name": "stations", "version": 1, "changed_at": now},
                           {"name": "reports", "version": 1, "changed_at": now}])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("prefecture_adcode", sa.String(6), nullable=False),
        sa.Column("county_adcode", sa.String(6), nullable=False),
        sa.Column("old_prefecture_adcode", sa.String(6), nullable=False),
        sa.Column("old_county_adcode", sa.String(6), nullable=False),
        sa.Column("reverts", sa.Integer, nullable=True),
        sa.Column("batch", sa.String(40), nullable=True),
    )
    _indexes("audit_log", "station_id", "at", "prefecture_adcode", "county_adcode", "old_prefecture_adcode",
             "old_county_adcode")

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("station_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolved_at", sa.String(32), nullable=True),
        sa.Column("resolved_by", sa.String(80), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
    )
    _indexes("reports", "station_id", "created_at", "status")

    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("area", sa.String(6), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("password_changed_at", sa.String(32), nullable=False),
    )

    op.create_table(
        "uploads",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("uploads", "users", "reports", "audit_log", "registry_state"):
        op.drop_table(table)
    with op.batch_alter_table("stations") as batch:
        for col in ("version", "last_verified", "ebike"):
            batch.drop_column(col)
