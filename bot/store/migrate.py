"""Schema migrations, run in code at start: `upgrade(engine)` brings any older database to the
newest revision and keeps its data.

Several processes may start at once (gunicorn workers, instances on one PostgreSQL): the
upgrade runs in one transaction that first takes a lock (a PostgreSQL advisory lock, SQLite's
write lock), so the others wait and then find the schema already current.

A new revision goes in migrations/versions/ as the next numbered module; to draft one from the
difference between bot/store/schema.py and a database:
`alembic.command.revision(alembic_config(), "what changes", autogenerate=True)` with
`config.attributes["connection"]` set to a connection to that database.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from bot.store.engine import READ_ONLY

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_POSTGRES_LOCK_KEY = 0x46_41_4D_47  # any constant shared by every instance of this app


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision this code knows (read from migrations/versions once a process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "bot/store/migrations/versions holds no revision"
    return head


VERSION_TABLE = "alembic_version"
"""Where Alembic keeps the revision (its default; migrations/env.py does not change it)."""
_REVISIONS = text(f"SELECT version_num FROM {VERSION_TABLE}")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database. Read straight from
    Alembic's table: an Alembic MigrationContext, built for the look, costs twice as much at
    every start."""
    with engine.connect() as connection:
        connection.execution_options(**READ_ONLY)
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        revisions = connection.execute(_REVISIONS).scalars().all()
    if len(revisions) > 1:  # as Alembic says it: this history has one head
        raise RuntimeError(f"the database is at several revisions at once: {revisions}")
    return revisions[0] if revisions else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the newest), atomically. A database
    already at the newest revision (every start but the first) is only read."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRES_LOCK_KEY}
            )
        command.upgrade(alembic_config(connection), revision)
