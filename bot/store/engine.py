"""Which database, and an SQLAlchemy engine tuned for it.

`DATABASE_URL` unset means an SQLite file in the data directory, so the bot runs with nothing
to set up. `postgresql://` and Heroku's `postgres://` select PostgreSQL through psycopg 3.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

_T = TypeVar("_T")

SQLITE_FILE_NAME = "framework-advisor.db"
POSTGRES_DRIVER = "postgresql+psycopg"

CONNECT_TIMEOUT_SECONDS = 2
"""A database that does not answer must not stall a request for long."""
SQLITE_BUSY_TIMEOUT_SECONDS = 10
"""How long an SQLite writer waits for another process's write lock."""
SQLITE_LOCK_POLL_SECONDS = 0.001
"""How often a waiting writer tries the lock again. SQLite's own busy handler backs off to
100 ms sleeps, so a writer kept waiting once (by another gunicorn worker's) waits for tens of
milliseconds after the lock is free; polling here keeps that wait to about a millisecond."""
POOL_SIZE = 5
POOL_MAX_OVERFLOW = 5
POOL_WAIT_SECONDS = 5
POOL_RECYCLE_SECONDS = 30 * 60

_SQLITE_BEGIN_OPTION = "sqlite_begin"


class DatabaseUrlError(ValueError):
    """DATABASE_URL names no database the bot supports; the message says what would."""


def database_url_for(database_url: str | None, data_dir: Path) -> URL:
    """The URL to connect to: `database_url`, or the default SQLite file in `data_dir`
    (created if missing). PostgreSQL URLs get the psycopg 3 driver."""
    if database_url is None or not database_url.strip():
        _make_folder(data_dir)
        return URL.create("sqlite", database=str((data_dir / SQLITE_FILE_NAME).resolve()))
    try:
        url = make_url(database_url.strip())
    except ArgumentError:
        raise DatabaseUrlError(_SUPPORTED) from None
    if url.drivername in {"postgres", "postgresql"}:
        url = url.set(drivername=POSTGRES_DRIVER)
    backend = url.get_backend_name()
    if backend not in {"postgresql", "sqlite"}:
        raise DatabaseUrlError(_SUPPORTED)
    if backend == "sqlite" and url.database not in {None, "", ":memory:"}:
        _make_folder(Path(url.database).parent)
    return url


def _make_folder(folder: Path) -> None:
    """Create the database's folder. One that cannot be created (a read-only disk, a file in
    the way) is not fatal: the bot still answers, and the store reports the database
    unavailable until the folder can be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        log.error(
            "The data folder %s cannot be created (%s): questions are answered, nothing is "
            "stored until it can be (set DATA_DIR to a writable folder)",
            folder,
            error.strerror or error,
        )


_SUPPORTED = (
    "DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/name, or "
    "Heroku's postgres://...) or an SQLite one (sqlite:////absolute/path.db)"
)


def make_engine(url: URL) -> Engine:
    """An engine for several threads and several processes sharing one database."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    options: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_MAX_OVERFLOW,
        "pool_timeout": POOL_WAIT_SECONDS,
        "pool_recycle": POOL_RECYCLE_SECONDS,
    }
    if backend == "postgresql":
        options["connect_args"] = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "framework-advisor",
        }
    return create_engine(url, **options)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in {None, "", ":memory:"}
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_LOCK_POLL_SECONDS, "check_same_thread": False},
        # One shared connection keeps an in-memory database alive between uses.
        poolclass=StaticPool if in_memory else None,
        # A local file does not drop connections; a ping per transaction would only cost time.
        pool_pre_ping=False,
    )

    # pysqlite's own transaction handling neither wraps DDL nor takes the write lock up front.
    # Emitting BEGIN ourselves makes migrations atomic and lets writers queue on the busy
    # timeout instead of failing with "database is locked" when they upgrade a read lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "IMMEDIATE")
        while_sqlite_locked(lambda: connection.exec_driver_sql(f"BEGIN {mode}"))

    return engine


def while_sqlite_locked(attempt: Callable[[], _T]) -> _T:
    """Run `attempt` (a write to SQLite) again while another writer holds the database's write
    lock, for up to SQLITE_BUSY_TIMEOUT_SECONDS; the error of the last try is raised."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        try:
            return attempt()
        except (OperationalError, sqlite3.OperationalError) as error:
            if "locked" not in str(getattr(error, "orig", error)) or time.monotonic() >= deadline:
                raise
        time.sleep(SQLITE_LOCK_POLL_SECONDS)


_write_gates: dict[str, threading.RLock] = {}
_write_gates_lock = threading.Lock()


def write_gate(engine: Engine) -> AbstractContextManager[object]:
    """Held around each write to an SQLite file by this process's threads, so that they queue
    on a lock that wakes the next one the moment it is free instead of polling SQLite's (a
    claim made while an answer's done mark was being written waited a millisecond or more per
    try, most of a mention's acknowledgement). One lock per database file, shared by every
    engine on it; re-entrant, so a write made inside another on the same thread only meets
    SQLite's lock. Other processes still meet SQLite's lock (while_sqlite_locked). PostgreSQL
    locks rows, not the database: nothing to hold there."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in {None, "", ":memory:"}:
        return nullcontext()
    with _write_gates_lock:
        return _write_gates.setdefault(str(database), threading.RLock())


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a transaction that writes, inside the engine's write gate."""
    with write_gate(engine), engine.begin() as connection:
        yield connection


READ_ONLY = {_SQLITE_BEGIN_OPTION: "DEFERRED"}
"""Execution options for a connection that only reads (SQLite then takes no write lock)."""


def is_connection_error(error: BaseException) -> bool:
    """True when `error` means the database cannot be reached (down, restarting, network, or
    SQLite's file locked), as opposed to a bad statement or bad data."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
