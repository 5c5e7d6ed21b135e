"""Choosing the database from DATABASE_URL and DATA_DIR."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import create_store
from bot.store.engine import SQLITE_FILE_NAME, database_url_for


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
