"""A PostgreSQL that goes away mid-run: the bot keeps working, nothing is lost silently.

The store reaches the server through a local proxy the test cuts and restores; what landed is
checked over a direct connection.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store, StoreUnavailable, create_store, migrate
from tests.support.waiting import eventually

WEEK_AGO = datetime.now(UTC) - timedelta(days=7)
OUTAGE = "Database unavailable"
BACK = "Database reachable again"
LOST = "Records lost because the write buffer is full"


def writer_turn(store: Store) -> None:
    """What the writer thread does when a record arrives: write if the database is worth
    trying. The outage tests take the thread's turns themselves, so each is counted."""
    if store.available():
        store.writes.drain_once()


def ask(store: Store, text: str, team_id: str = "T1") -> None:
    store.record_question(
        team_id=team_id, channel_id="C1", user_id="U1", text=text, entry_id=None, score=0.2
    )
    writer_turn(store)


def landed(url: str, tmp_path: Path, team_id: str = "T1") -> list[str]:
    """The unanswered questions stored for a workspace, read by another instance."""
    checker = create_store(url, tmp_path / "checker")
    try:
        exported = checker.export("unanswered", team_id)
    finally:
        checker.engine.dispose()
    return [row["question"] for row in csv.DictReader(io.StringIO(exported))]


def messages(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("bot.store") and record.getMessage().startswith(start)
    ]


@pytest.fixture
def outage_store(flaky_postgres: Any, clock: Any, tmp_path: Path):  # type: ignore[no-untyped-def]
    """make(**options): a store behind the proxy, without a writer thread (the test takes
    its turns); by default it retries on every write."""
    stores: list[Store] = []

    def make(**options: Any) -> Store:
        store = create_store(
            flaky_postgres.url,
            tmp_path,
            clock=clock,
            **({"retry_interval": 0.0, "writer_thread": False} | options),
        )
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.engine.dispose()


def test_writes_during_an_outage_wait_and_land_when_it_ends(
    outage_store: Any, flaky_postgres: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store")
    store = outage_store()
    ask(store, "before one")
    ask(store, "before two")

    flaky_postgres.cut()
    for number in range(5):
        ask(store, f"during {number}")
    store.record_vote(
        team_id="T1",
        user_id="U1",
        message_key="C1:1",
        target_kind="entry",
        target_id="orm",
        question="orm?",
        helpful=True,
    )
    writer_turn(store)

    health = store.health()
    assert (health.ok, health.pending, health.dropped) == (False, 6, 0)
    assert health.last_error
    assert len(messages(caplog, OUTAGE)) == 1  # six failed writes, one message
    assert store.claim_event("Ev1") is True  # answering beats silence while it is down
    assert store.claim_event("Ev1") is True
    with pytest.raises(StoreUnavailable, match="unavailable"):
        store.stats("T1", WEEK_AGO)
    assert len(messages(caplog, OUTAGE)) == 1

    flaky_postgres.restore()
    assert store.flush() is True

    assert store.health() == (True, 0, 0, None)
    assert len(messages(caplog, BACK)) == 1
    assert landed(flaky_postgres.direct_url, tmp_path) == [
        "before one",
        "before two",
        *(f"during {number}" for number in range(5)),
    ]
    assert store.stats("T1", WEEK_AGO).helpful[0].votes == 1


def test_the_next_write_after_an_outage_also_writes_the_backlog(
    outage_store: Any, flaky_postgres: Any, tmp_path: Path
) -> None:
    store = outage_store()
    flaky_postgres.cut()
    ask(store, "first")
    flaky_postgres.restore()
    ask(store, "second")
    assert store.health().pending == 0
    assert landed(flaky_postgres.direct_url, tmp_path) == ["first", "second"]


def test_an_outage_is_logged_again_only_after_a_minute(
    outage_store: Any, flaky_postgres: Any, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = outage_store()
    flaky_postgres.cut()
    for number in range(10):
        ask(store, f"q{number}")
        clock.advance(5)
    assert len(messages(caplog, OUTAGE)) == 1

    clock.advance(15)
    ask(store, "q10")

    logged = messages(caplog, OUTAGE)
    assert len(logged) == 2
    assert "11 records wait" in logged[1]
    assert "10 failed attempts since the last message" in logged[1]


def test_after_a_failure_the_store_waits_before_trying_again(
    outage_store: Any, flaky_postgres: Any, clock: Any, tmp_path: Path
) -> None:
    store = outage_store(retry_interval=30.0)
    flaky_postgres.cut()
    ask(store, "fails")
    flaky_postgres.restore()

    ask(store, "not tried yet")
    assert store.claim_event("Ev1") is True
    assert store.health().pending == 2
    with pytest.raises(StoreUnavailable):
        store.get_knowledge_stamp()

    clock.advance(31)
    ask(store, "tried")
    assert store.health() == (True, 0, 0, None)
    assert landed(flaky_postgres.direct_url, tmp_path) == ["fails", "not tried yet", "tried"]


def test_a_full_buffer_drops_the_oldest_records_and_says_so(
    outage_store: Any, flaky_postgres: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = outage_store(max_pending=3)
    flaky_postgres.cut()
    for number in range(5):
        ask(store, f"q{number}")

    health = store.health()
    assert (health.ok, health.pending, health.dropped) == (False, 3, 2)
    lost = messages(caplog, LOST)
    assert len(lost) == 1
    assert "(3 waiting at most)" in lost[0]

    flaky_postgres.restore()
    assert store.flush() is True
    assert store.health() == (True, 0, 2, None)
    assert landed(flaky_postgres.direct_url, tmp_path) == ["q2", "q3", "q4"]
    # Other stores in this test process may log their own outages: this store's is the one
    # that counts the two lost records.
    assert any("2 records lost since start" in message for message in messages(caplog, BACK))


def test_a_store_started_while_the_database_is_down_catches_up(
    flaky_postgres: Any, clock: Any, tmp_path: Path
) -> None:
    flaky_postgres.cut()
    store = create_store(
        flaky_postgres.url, tmp_path, clock=clock, retry_interval=0.0, writer_thread=False
    )
    assert store.health().ok is False
    ask(store, "asked while down")

    flaky_postgres.restore()
    assert store.flush() is True
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    assert landed(flaky_postgres.direct_url, tmp_path) == ["asked while down"]
    store.engine.dispose()


def test_a_workspace_removed_during_an_outage_is_removed_when_it_ends(
    outage_store: Any, flaky_postgres: Any, tmp_path: Path
) -> None:
    store = outage_store()
    ask(store, "stored before", team_id="T1")
    flaky_postgres.cut()
    ask(store, "waiting", team_id="T1")
    ask(store, "other workspace", team_id="T2")

    assert store.delete_team("T1") is False
    assert store.health().pending == 2  # T2's record and the deletion; T1's record is gone

    flaky_postgres.restore()
    assert store.flush() is True
    assert landed(flaky_postgres.direct_url, tmp_path, "T1") == []
    assert landed(flaky_postgres.direct_url, tmp_path, "T2") == ["other workspace"]


def test_a_rejected_record_in_the_backlog_does_not_block_the_rest(
    outage_store: Any, flaky_postgres: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = outage_store()
    flaky_postgres.cut()
    ask(store, "good one")
    store.record_recommendation(team_id="T1", user_id="U1", framework_id=None, verdict="clear")  # type: ignore[arg-type]
    writer_turn(store)
    ask(store, "good two")

    flaky_postgres.restore()
    assert store.flush() is True

    assert store.health() == (True, 0, 1, None)
    assert "rejected a recommendation record" in caplog.text
    assert landed(flaky_postgres.direct_url, tmp_path) == ["good one", "good two"]


def test_records_from_an_outage_land_by_themselves_once_the_database_is_back(
    flaky_postgres: Any, tmp_path: Path
) -> None:
    store = create_store(flaky_postgres.url, tmp_path, retry_interval=0.2)
    flaky_postgres.cut()
    ask(store, "asked while down")
    ask(store, "asked while down, too")
    assert store.health().pending == 2

    flaky_postgres.restore()
    eventually(lambda: not store.health().pending, "the writer emptying", interval=0.05)

    assert landed(flaky_postgres.direct_url, tmp_path) == [
        "asked while down",
        "asked while down, too",
    ]
    assert store.health() == (True, 0, 0, None)
    store.close()
