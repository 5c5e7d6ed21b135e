"""Fixtures shared by the whole suite."""

from __future__ import annotations

import gc
import shutil
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from tests.support.postgres import FlakyPostgres, flaky, fresh_schema, reachable_postgres_url

if TYPE_CHECKING:
    from tests.support.store_test_helpers import LeaseClock

SERVICE_FIXTURES = frozenset(
    {"postgres_url", "postgres_schema", "flaky_postgres", "gunicorn_server"}
)
"""A test that uses one of these reaches PostgreSQL or a server process: it is `slow`."""


def pytest_collection_finish(session: pytest.Session) -> None:
    """A test process holds some 300,000 long-lived objects (the modules of the app, Bolt,
    SQLAlchemy and the tests, then the knowledge and its matcher), and Python's default garbage
    collector went over all of them again and again: about a tenth of the fast tier's CPU time.
    What exists once the tests are collected is frozen (never collected, as it lives till the
    end anyway), and young objects are collected ten times less often (after 7,000 allocations,
    not 700). Garbage is still collected; no test relies on when."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(7000, older, oldest)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test's settings point DATA_DIR at a fresh folder and leave DATABASE_URL unset, so
    no test writes ./data or reaches a database it did not ask for. The folder is made only by
    what stores something there (as DATA_DIR is in a fresh clone): mktemp would list the whole
    base folder, which holds a folder per test, for each of them."""
    folder = tmp_path_factory.getbasetemp() / "data" / uuid.uuid4().hex
    monkeypatch.setenv("DATA_DIR", str(folder))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return folder


@pytest.fixture(scope="session", autouse=True)
def knowledge_loaded_once() -> Iterator[None]:
    """Every app a test builds loads its knowledge folder and builds a matcher for it (about
    0.15 s, most of a Slack test's setup). In a test process each folder's content is loaded,
    and matched, once: keyed by the folder and its stamp (the hash of the files it loads), so
    an edited folder is loaded afresh and one that does not load raises every time."""
    from bot import live_knowledge
    from bot.matching import Matcher

    loaded: dict[tuple[Path, str], KnowledgeBase] = {}
    matchers: dict[int, tuple[KnowledgeBase, Matcher]] = {}

    def load_once(directory: Path | str | None = None) -> KnowledgeBase:
        folder = Path(directory) if directory is not None else live_knowledge.DEFAULT_KNOWLEDGE_DIR
        key = (folder.resolve(), live_knowledge.folder_stamp(folder))
        if key not in loaded:
            loaded[key] = load_knowledge(folder)
        return loaded[key]

    def matcher_once(knowledge: KnowledgeBase) -> Matcher:
        if id(knowledge) not in matchers:  # the knowledge is kept, so its id stays its own
            matchers[id(knowledge)] = (knowledge, Matcher(knowledge))
        return matchers[id(knowledge)][1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live_knowledge, "load_knowledge", load_once)
        patch.setattr(live_knowledge, "matcher_for", matcher_once)
        yield


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped knowledge base, loaded once."""
    return load_knowledge()


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML files into a fresh knowledge folder: knowledge_dir(name=text, ...)."""

    def write(**files: str) -> Path:
        folder = tmp_path / "knowledge"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        return folder

    return write


@pytest.fixture(scope="session")
def migrated_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose SQLite store is migrated to the newest revision, made once: copying
    it is much cheaper than running the migrations for every test."""
    from bot.store import create_store

    folder = tmp_path_factory.mktemp("migrated") / "store"
    create_store(None, folder).close()
    return folder


@pytest.fixture
def migrated_copy(migrated_store_dir: Path) -> Callable[[Path], Path]:
    """migrated_copy(folder) -> folder, holding a copy of the migrated SQLite store: for a test
    about what is stored rather than about starting on a new database."""

    def copy(folder: Path) -> Path:
        shutil.copytree(migrated_store_dir, folder, dirs_exist_ok=True)
        return folder

    return copy


@pytest.fixture
def lease_clock(monkeypatch: pytest.MonkeyPatch) -> LeaseClock:
    """The inbox's clock, moved on by the test (tests/support/store_test_helpers.py)."""
    from bot.store import inbox
    from tests.support.store_test_helpers import LeaseClock

    clock = LeaseClock()
    monkeypatch.setattr(inbox, "_now", clock.now)
    return clock


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL server (tests/support/postgres.py): skips outside CI, fails in CI."""
    return reachable_postgres_url()


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, empty schema for this test only, dropped afterwards."""
    with fresh_schema(postgres_url) as name:
        yield name


@pytest.fixture
def flaky_postgres(postgres_url: str, postgres_schema: str) -> Iterator[FlakyPostgres]:
    """A fresh schema reachable through a proxy the test can cut (an outage) and restore."""
    with flaky(postgres_url, postgres_schema) as database:
        yield database
