"""Alembic's environment for yizhan: migrate the connection handed over by
:func:`stations.migrations.upgrade`, or, from the ``alembic`` command line, the registry of the settings
(``DATABASE_URL``, default ``var/yizhan.sqlite``)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from stations.schema import metadata

config = context.config


def _url() -> str:
    from stations import config as settings

    return config.get_main_option("sqlalchemy.url") or settings.database_url()


def run_offline() -> None:
    """``alembic upgrade head --sql``: the SQL a database administrator can read and run."""
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():  # inside the caller's transaction: a no-op that joins it
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # stations.migrations.upgrade: its transaction, its lock
        _run(connection)
        return
    from stations.migrations import PG_LOCK_KEY
    from stations.registry import engine_for

    engine = engine_for(_url())  # the alembic command line: the same one-transaction, locked path
    try:
        with engine.connect() as conn:
            conn.execution_options(yz_write=True)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
                _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
