"""The durable inbox: a claim per event_id before the ack, a lease while it is answered, and
the done mark written with the answer's records (on SQLite and PostgreSQL)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.store import Acceptance, Sending, Store, Unfinished, create_store, engine
from bot.store.engine import SQLITE_FILE_NAME
from bot.store.schema import events, questions, recommendations
from tests.support.store_test_helpers import LeaseClock, ask

LEASE = timedelta(seconds=30)
"""The instances' lease here: it never runs out by itself while a test runs; `after_the_lease`
says when it has."""
WEEK_AGO = datetime.now(UTC) - timedelta(days=7)


def row(store: Store, event_id: str) -> dict[str, Any]:
    with store.engine.connect() as connection:
        found = connection.execute(select(events).where(events.c.event_id == event_id)).one()
    return dict(found._mapping)


def after_the_lease(clock: LeaseClock) -> None:
    """The leases taken so far run out: the inbox's clock moves on past them."""
    clock.advance(LEASE + timedelta(seconds=1))


def test_the_first_claim_of_an_event_wins_on_every_instance(
    make_store: Callable[..., Store],
) -> None:
    first, second = make_store(), make_store()

    assert first.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}') is Acceptance.NEW
    assert first.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}') is Acceptance.DUPLICATE
    assert second.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}') is Acceptance.DUPLICATE
    assert second.claim_event("Ev1", "T1") is False  # the claim that is not a delivery, too


def test_concurrent_claims_of_one_event_are_grouped_and_one_wins(
    make_store: Callable[..., Store],
) -> None:
    stores = [make_store(), make_store()]
    outcomes: list[Acceptance] = []
    start = threading.Barrier(16)

    def deliver(number: int) -> None:
        start.wait()
        event_id = f"Ev{number % 4}"
        outcomes.append(stores[number % 2].accept_delivery(event_id, "T1", "{}"))

    threads = [threading.Thread(target=deliver, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(Acceptance.NEW) == 4
    assert outcomes.count(Acceptance.DUPLICATE) == 12


def test_the_records_of_an_answer_are_written_with_its_done_mark(
    make_store: Callable[..., Store],
    lease_clock: LeaseClock,
) -> None:
    store = make_store(inbox_lease=LEASE)
    store.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}')

    with store.finishing("Ev1"):
        ask(store, "what is django")
        assert store.health().pending == 0  # held for the done mark's transaction
        assert row(store, "Ev1")["done_at"] is None

    done = row(store, "Ev1")
    assert done["done_at"] is not None
    assert done["body"] is None  # the delivery is not kept once answered
    assert store.stats("T1", WEEK_AGO).questions == 1
    after_the_lease(lease_clock)
    assert store.lease_unfinished() == []


def test_an_unanswered_delivery_is_leased_to_one_instance_once_its_lease_runs_out(
    make_store: Callable[..., Store],
    lease_clock: LeaseClock,
) -> None:
    first, second = make_store(inbox_lease=LEASE), make_store(inbox_lease=LEASE)
    first.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}')
    assert second.lease_unfinished() == []  # the instance that acknowledged it is answering

    after_the_lease(lease_clock)
    leased = second.lease_unfinished()
    again = first.lease_unfinished()

    assert [(found.event_id, found.body, found.attempt) for found in leased] == [
        ("Ev1", '{"event_id": "Ev1"}', 1)
    ]
    assert again == []  # leased to `second` for now
    with second.finishing("Ev1"):
        ask(second, "answered by the second instance")
    after_the_lease(lease_clock)
    assert first.lease_unfinished() == []


def test_a_delivery_that_keeps_failing_is_given_up_after_its_attempts(
    make_store: Callable[..., Store], caplog: Any
) -> None:
    store = make_store(inbox_lease=timedelta(0))
    store.accept_delivery("Ev1", "T1", "{}")

    attempts = [[found.attempt for found in store.lease_unfinished()] for _ in range(4)]

    assert attempts == [[1], [2], [3], []]
    assert row(store, "Ev1")["done_at"] is not None
    assert "Gave up answering 1 events" in caplog.text


def test_concurrent_sweeps_lease_each_delivery_once(make_store: Callable[..., Store]) -> None:
    dead = make_store(inbox_lease=timedelta(0))  # acknowledged them, then died
    for number in range(30):
        dead.accept_delivery(f"Ev{number}", "T1", "{}")
    stores = [make_store() for _ in range(3)]
    leased: list[str] = []
    start = threading.Barrier(3)

    def sweep(store: Store) -> None:
        start.wait()
        leased.extend(found.event_id for found in store.lease_unfinished(limit=30))

    threads = [threading.Thread(target=sweep, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(leased) == sorted(f"Ev{number}" for number in range(30))


# -- sending marks: the reply's id, committed before it is posted ----------------------------


def test_a_sending_mark_is_committed_at_once_and_comes_back_with_the_lease_after_a_crash(
    make_store: Callable[..., Store],
    lease_clock: LeaseClock,
) -> None:
    dying, other = make_store(inbox_lease=LEASE), make_store(inbox_lease=LEASE)
    dying.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}')

    assert dying.mark_sending("Ev1", "reply-1", attempt=0) is Sending.MARKED
    assert row(other, "Ev1")["reply_uid"] == "reply-1"  # not waiting in a queue
    assert dying.health().pending == 0

    after_the_lease(lease_clock)
    [leased] = other.lease_unfinished()
    assert (leased.event_id, leased.attempt, leased.reply_uid) == ("Ev1", 1, "reply-1")


def test_a_delivery_never_marked_sending_comes_back_without_a_reply_id(
    make_store: Callable[..., Store],
    lease_clock: LeaseClock,
) -> None:
    store = make_store(inbox_lease=LEASE)
    store.accept_delivery("Ev1", "T1", "{}")

    after_the_lease(lease_clock)
    [leased] = store.lease_unfinished()

    assert leased.reply_uid is None


def test_a_sending_mark_renews_the_lease(
    make_store: Callable[..., Store], lease_clock: LeaseClock
) -> None:
    answering, sweeping = make_store(inbox_lease=LEASE), make_store(inbox_lease=LEASE)
    answering.accept_delivery("Ev1", "T1", "{}")
    after_the_lease(lease_clock)  # a slow answer: nobody has leased it yet

    assert answering.mark_sending("Ev1", "reply-1", attempt=0) is Sending.MARKED
    assert sweeping.lease_unfinished() == []  # its reply is on its way


def taken_over(
    make_store: Callable[..., Store], lease_clock: LeaseClock
) -> tuple[Store, Store, Unfinished]:
    """An instance that claimed Ev1 and is slow to answer it, and another that leased it once
    the first one's lease ran out (and that lease)."""
    slow, sweeping = make_store(inbox_lease=LEASE), make_store(inbox_lease=LEASE)
    slow.accept_delivery("Ev1", "T1", "{}")
    after_the_lease(lease_clock)
    [leased] = sweeping.lease_unfinished()
    return slow, sweeping, leased


def test_only_the_current_lease_holder_can_mark_a_delivery_sending(
    make_store: Callable[..., Store], lease_clock: LeaseClock
) -> None:
    slow, sweeping, leased = taken_over(make_store, lease_clock)

    assert slow.mark_sending("Ev1", "reply-slow", attempt=0) is Sending.TAKEN
    assert sweeping.mark_sending("Ev1", "reply-swept", leased.attempt) is Sending.MARKED
    with sweeping.finishing("Ev1"):
        pass
    assert sweeping.mark_sending("Ev1", "reply-swept", leased.attempt) is Sending.TAKEN
    assert row(sweeping, "Ev1")["reply_uid"] == "reply-swept"


def test_an_answer_whose_delivery_another_instance_took_is_dropped_with_its_records(
    make_store: Callable[..., Store], lease_clock: LeaseClock
) -> None:
    slow, sweeping, leased = taken_over(make_store, lease_clock)

    with slow.finishing("Ev1"):
        ask(slow, "answered by the slow instance")
        assert slow.mark_sending("Ev1", "reply-slow", attempt=0) is Sending.TAKEN
    assert row(slow, "Ev1")["done_at"] is None
    with sweeping.finishing("Ev1"):
        ask(sweeping, "answered by the sweeping instance")
        assert sweeping.mark_sending("Ev1", "reply-swept", leased.attempt) is Sending.MARKED

    assert row(slow, "Ev1")["done_at"] is not None
    assert slow.stats("T1", WEEK_AGO).questions == 1


def test_a_delivery_finished_by_two_lease_holders_keeps_the_first_ones_records_only(
    make_store: Callable[..., Store],
) -> None:
    """Two holders, one after the other, each found the reply in Slack (so neither marked it
    sending) and each finishes it with that answer's records: the second writes nothing."""
    first, second = make_store(inbox_lease=LEASE), make_store(inbox_lease=LEASE)
    first.accept_delivery("Ev1", "T1", "{}")

    with first.finishing("Ev1"):
        ask(first, "stored by the first holder")
    done_at = row(first, "Ev1")["done_at"]
    with second.finishing("Ev1"):
        ask(second, "stored again by the second holder")

    assert first.stats("T1", WEEK_AGO).questions == 1
    assert row(second, "Ev1")["done_at"] == done_at


def test_concurrent_finishes_of_one_delivery_store_its_records_once(
    make_store: Callable[..., Store],
) -> None:
    stores = [make_store(), make_store()]
    stores[0].accept_delivery("Ev1", "T1", "{}")
    start = threading.Barrier(8)

    def finish(number: int) -> None:
        store = stores[number % 2]
        start.wait()
        with store.finishing("Ev1"):
            ask(store, f"answer {number}")

    threads = [threading.Thread(target=finish, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert stores[0].stats("T1", WEEK_AGO).questions == 1


def test_an_answer_with_no_inbox_row_still_stores_its_records(
    make_store: Callable[..., Store],
) -> None:
    """Claimed in memory while the database was away: there is no row to mark done."""
    store = make_store()

    with store.finishing("Ev-never-claimed"):
        ask(store, "answered while the claim was in memory")

    assert store.stats("T1", WEEK_AGO).questions == 1


def test_a_sending_mark_without_the_database_says_so_and_the_reply_is_posted_anyway(
    tmp_path: Path,
) -> None:
    store = create_store("postgresql://nobody@127.0.0.1:9/none", tmp_path, retry_interval=60)

    assert store.mark_sending("Ev1", "reply-1", attempt=0) is Sending.UNAVAILABLE
    store.close()


# -- the claim on SQLite: one statement, in autocommit --------------------------------------


def sqlite_store(tmp_path: Path, migrated: Path, **options: Any) -> Store:
    """A store on the SQLite file tmp_path/store.db, a copy of the `migrated_store_dir` one."""
    shutil.copyfile(migrated / SQLITE_FILE_NAME, tmp_path / "store.db")
    return create_store(f"sqlite:///{tmp_path / 'store.db'}", tmp_path, **options)


def test_an_sqlite_claim_is_one_statement_with_no_transaction_around_it(
    tmp_path: Path, migrated_store_dir: Path
) -> None:
    # SQLite holds its write lock from BEGIN to COMMIT: a claim that is one INSERT in
    # autocommit holds it inside that one call, never while Python code runs.
    store = sqlite_store(tmp_path, migrated_store_dir)
    ran: list[str] = []
    store.engine.dispose()  # every connection from here on reports what it runs
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(ran.append))

    assert store.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}') is Acceptance.NEW
    assert store.accept_delivery("Ev1", "T1", '{"event_id": "Ev1"}') is Acceptance.DUPLICATE

    writes = [statement for statement in ran if not statement.startswith("SELECT")]
    assert [statement.split()[0] for statement in writes] == ["INSERT", "INSERT"]
    assert row(store, "Ev1")["body"] == '{"event_id": "Ev1"}'
    assert row(store, "Ev1")["lease_until"] > row(store, "Ev1")["claimed_at"]


def test_an_sqlite_sending_mark_is_one_statement_with_no_transaction_around_it_too(
    tmp_path: Path, migrated_store_dir: Path
) -> None:
    store = sqlite_store(tmp_path, migrated_store_dir)
    store.accept_delivery("Ev1", "T1", "{}")
    ran: list[str] = []
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(ran.append))

    assert store.mark_sending("Ev1", "reply-1", attempt=0) is Sending.MARKED

    writes = [statement for statement in ran if not statement.startswith("SELECT")]
    assert [statement.split()[0] for statement in writes] == ["UPDATE"]
    assert row(store, "Ev1")["reply_uid"] == "reply-1"


def test_an_sqlite_claim_kept_from_the_write_lock_too_long_falls_back_to_memory(
    tmp_path: Path, migrated_store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_SECONDS", 0.05)
    store = sqlite_store(tmp_path, migrated_store_dir, retry_interval=0)
    other_process = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # a writer that does not let go

    assert store.accept_delivery("Ev1", "T1", "{}") is Acceptance.UNAVAILABLE
    assert "locked" in (store.health().last_error or "")

    other_process.execute("ROLLBACK")
    other_process.close()
    assert store.accept_delivery("Ev1", "T1", "{}") is Acceptance.NEW
    assert store.health().ok


def test_records_written_with_a_done_mark_read_back_as_those_written_alone(
    make_store: Callable[..., Store],
) -> None:
    """On SQLite the done mark's transaction runs statements of its own (FinishOnSqlite): what
    it stores is what the write queue stores for the same records."""
    store = make_store()
    store.accept_delivery("Ev1", "T1", "{}")
    asked = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)

    def record(uid: str) -> None:
        store.record_question(
            team_id="T1",
            channel_id="C1",
            user_id="U1",
            text="Is Django's ORM fast? ✓",
            entry_id="django-orm",
            score=71.5,
            closest=[("flask-sqlalchemy", 40.25)],
            asked_at=asked,
            uid=f"question-{uid}",
        )
        store.record_recommendation(
            team_id="T1",
            user_id="U1",
            framework_id="django",
            verdict="clear",
            recommended_at=asked,
            uid=f"recommendation-{uid}",
        )

    with store.finishing("Ev1"):
        record("finished")
    record("queued")
    store.flush()

    for table in (questions, recommendations):
        with store.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(select(table)).all()]
        finished, queued = (
            {key: value for key, value in row.items() if key not in {"id", "uid"}} for row in rows
        )
        assert finished == queued
        assert [row["uid"].split("-")[-1] for row in rows] == ["finished", "queued"]
