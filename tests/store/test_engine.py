"""Choosing the database from DATABASE_URL and DATA_DIR; how one process writes to SQLite."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.store import Sending, create_store, engine, statements
from bot.store.engine import SQLITE_FILE_NAME, database_url_for, make_engine, write_gate
from tests.support.store_test_helpers import ask


@pytest.mark.parametrize("setting", [None, "", "  "])
def test_without_a_url_the_store_is_an_sqlite_file_in_the_data_dir(
    tmp_path: Path, setting: str | None
) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    url = database_url_for(setting, data_dir)
    assert url.get_backend_name() == "sqlite"
    assert url.database == str((data_dir / SQLITE_FILE_NAME).resolve())
    assert data_dir.is_dir()


def test_the_default_sqlite_file_is_created_on_first_start(tmp_path: Path) -> None:
    store = create_store(None, tmp_path / "data")
    store.claim_event("Ev1")
    assert (tmp_path / "data" / SQLITE_FILE_NAME).is_file()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            "postgres://u:secret@db.example.com:5432/d1",
            "postgresql+psycopg://u:secret@db.example.com:5432/d1",
        ),
        ("postgresql://u@localhost/d1", "postgresql+psycopg://u@localhost/d1"),
        ("postgresql+psycopg://u@localhost/d1", "postgresql+psycopg://u@localhost/d1"),
        ("postgresql://u@h/d1?sslmode=require", "postgresql+psycopg://u@h/d1?sslmode=require"),
    ],
)
def test_postgres_urls_use_psycopg_3(tmp_path: Path, setting: str, expected: str) -> None:
    url = database_url_for(setting, tmp_path)
    assert url.render_as_string(hide_password=False) == expected


def test_an_sqlite_url_is_used_as_given_and_its_folder_created(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "bot.db"
    url = database_url_for(f"sqlite:///{path}", tmp_path / "data")
    assert url.database == str(path)
    assert path.parent.is_dir()


@pytest.mark.parametrize("setting", ["mysql://u@h/d", "not a url", "redis://h:6379/0"])
def test_unsupported_urls_are_refused_without_echoing_them(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL must be") as raised:
        database_url_for(setting, tmp_path)
    assert setting not in str(raised.value)


def test_engines_on_one_sqlite_file_share_one_write_gate(tmp_path: Path) -> None:
    first = make_engine(database_url_for(None, tmp_path / "a"))
    second = make_engine(database_url_for(None, tmp_path / "a"))
    other = make_engine(database_url_for(None, tmp_path / "b"))

    assert write_gate(first) is write_gate(second)
    assert write_gate(first) is not write_gate(other)
    assert isinstance(write_gate(make_engine(make_url("sqlite://"))), nullcontext)


def test_writers_in_one_process_queue_on_the_gate_and_never_poll_sqlites_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims, sending marks and done marks from many threads of one process: not one of them
    finds SQLite's write lock taken (which would cost a millisecond or more of polling)."""
    locked_tries: list[str] = []
    polling = engine.while_sqlite_locked

    def counting(attempt: Callable[[], object]) -> object:
        try:
            return attempt()
        except (OperationalError, sqlite3.OperationalError) as error:
            locked_tries.append(str(error))
            return polling(attempt)

    monkeypatch.setattr(engine, "while_sqlite_locked", counting)
    monkeypatch.setattr(statements, "while_sqlite_locked", counting)
    stores = [create_store(None, tmp_path / "data") for _ in range(2)]
    start = threading.Barrier(8)

    def answer(number: int) -> None:
        store = stores[number % 2]
        start.wait()
        for each in range(15):
            event_id = f"Ev{number}-{each}"
            store.accept_delivery(event_id, "T1", "{}")
            with store.finishing(event_id):
                assert store.mark_sending(event_id, f"reply-{event_id}", 0) is Sending.MARKED
                ask(store, "what is django")

    threads = [threading.Thread(target=answer, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    assert locked_tries == []
