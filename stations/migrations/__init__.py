"""Schema migrations of the registry (Alembic), shipped inside the package.

Revision ``0001`` is the ``stations`` table exactly as yizhan created it before migrations existed; a registry
made by that code has the table but no ``alembic_version``, and ``0001`` finds the table there and leaves it
alone, so :func:`upgrade` carries such a registry forward in place, with its data. Later revisions add what
the registry has learnt since (``0002``: e-bike charging, last-verified dates, edit versions, the audit log,
reports, users, uploads and the data versions).

:func:`upgrade` runs every pending revision in one transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
under an advisory lock), so two server processes starting together do not both migrate and a failure leaves
the schema as it was. :func:`ensure_current` is what :class:`stations.registry.Registry` calls on opening: one
read of ``alembic_version`` when the schema is current, the upgrade otherwise. ``yizhan init-db`` runs it too
and says which revision the registry is at. The ``alembic`` command works from the checkout as well
(``alembic.ini`` at the root: ``alembic upgrade head``, ``alembic history``, ``alembic upgrade head --sql``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
#: an arbitrary constant naming yizhan's migration lock on PostgreSQL (pg_advisory_xact_lock)
PG_LOCK_KEY = 72_153_010


def alembic_config(connection=None):
    """An Alembic ``Config`` for these scripts; ``connection`` (an open SQLAlchemy connection in a
    transaction) is what ``env.py`` migrates."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    """The newest revision of the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection) -> str | None:
    """The revision the database is at (None: never migrated, including a registry made before migrations)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> str | None:
    """Run the pending migrations up to ``revision`` in one transaction; returns the revision reached."""
    from alembic import command

    with engine.connect() as conn:
        conn.execution_options(yz_write=True)  # SQLite: BEGIN IMMEDIATE (stations.registry's begin hook)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
            command.upgrade(alembic_config(conn), revision)
            reached = current(conn)
    return reached


def ensure_current(engine: sa.Engine) -> str | None:
    """Upgrade the database when it is behind the scripts (one read when it is not); returns its revision."""
    with engine.connect() as conn:
        rev = current(conn)
    if rev == head():
        return rev
    return upgrade(engine)
