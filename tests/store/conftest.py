"""Fixtures for the store tests: every `store` test runs on SQLite and on PostgreSQL (the server
and per-test schema fixtures are in tests/conftest.py, see tests/support/postgres.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store, create_store
from bot.store.engine import SQLITE_FILE_NAME
from tests.support.postgres import schema_url

BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.slow))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend, as a DATABASE_URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("postgres_url")
    return schema_url(server, request.getfixturevalue("postgres_schema"))


@pytest.fixture
def make_store(
    database_url: str, tmp_path: Path, migrated_store_dir: Path
) -> Iterator[Callable[..., Store]]:
    """make_store(**options): another Store on the same database, like another instance. A
    SQLite database starts as a copy of one already migrated (the migrations' own tests use
    `database_url`, which stays empty)."""
    stores: list[Store] = []
    sqlite_file = Path(database_url.removeprefix("sqlite:///"))
    if database_url.startswith("sqlite:///") and not sqlite_file.exists():
        shutil.copyfile(migrated_store_dir / SQLITE_FILE_NAME, sqlite_file)

    def make(**options: Any) -> Store:
        store = create_store(database_url, tmp_path / "data", **options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


class FakeClock:
    """A monotonic clock the test moves by hand (retry and log intervals)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
