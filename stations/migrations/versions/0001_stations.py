"""The stations table as yizhan created it before migrations (eight services, no version column).

A registry made by that code already has the table (and no ``alembic_version``): it is left as it is, data
and all, and the later revisions upgrade it in place.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SERVICES_0001 = ("water", "charging", "microwave", "toilet", "seating", "first_aid", "aircon", "wifi")
INDEXED = ("prefecture_adcode", "county_adcode", "status")


def upgrade() -> None:
    if not op.get_context().as_sql and sa.inspect(op.get_bind()).has_table("stations"):
        return  # made by yizhan before migrations: keep it (offline SQL scripts assume an empty database)
    op.create_table(
        "stations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(400), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("prefecture_adcode", sa.String(6), nullable=False),
        sa.Column("county_adcode", sa.String(6), nullable=False),
        sa.Column("host", sa.String(20), nullable=False),
        *[sa.Column(key, sa.Boolean, nullable=False) for key in SERVICES_0001],
        sa.Column("opening_hours", sa.String(200), nullable=False),
        sa.Column("hours_json", sa.Text, nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    for col in INDEXED:
        op.create_index(f"ix_stations_{col}", "stations", [col])


def downgrade() -> None:
    op.drop_table("stations")
