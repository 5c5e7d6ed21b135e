"""Event claims: each Slack event is answered by exactly one instance, once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import insert, select

from bot.store import Store
from bot.store.schema import events, slack_oauth_states


def test_an_event_is_claimed_the_first_time_only(store: Store) -> None:
    assert store.claim_event("Ev001", "T1") is True
    assert store.claim_event("Ev001", "T1") is False
    assert store.claim_event("Ev002", "T1") is True


def test_an_event_noted_in_the_background_is_claimed_for_every_instance(
    make_store: Callable[..., Store],
) -> None:
    first, second = make_store(), make_store()
    first.note_event("Ev010", "T1")
    first.note_event("Ev011", "T1")
    assert first.flush()
    assert second.claim_event("Ev010", "T1") is False
    assert first.claim_event("Ev011", "T1") is False
    assert second.claim_event("Ev012", "T1") is True


def test_noting_an_event_claimed_meanwhile_changes_nothing(store: Store) -> None:
    """A retry elsewhere may claim an event before its first delivery's note is written."""
    assert store.claim_event("Ev020", "T1") is True
    store.note_event("Ev020", "T1")
    store.record_question(
        team_id="T1", channel_id="C1", user_id="U1", text="q", entry_id=None, score=None
    )
    assert store.flush()
    assert store.health().ok
    assert store.health().dropped == 0
    with store.engine.connect() as connection:
        assert list(connection.execute(select(events.c.event_id))) == [("Ev020",)]


def _claim_concurrently(stores: list[Store], event_ids: list[str], threads: int) -> Counter[str]:
    """Every thread (spread over `stores`) claims every id at the same moment; returns how
    many claims of each id won."""
    wins: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def claim_all(store: Store) -> None:
        start.wait()
        for event_id in event_ids:
            if store.claim_event(event_id, "T1"):
                with lock:
                    wins[event_id] += 1

    workers = [
        threading.Thread(target=claim_all, args=(stores[index % len(stores)],))
        for index in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return wins


@pytest.mark.parametrize("instances", [1, 2], ids=["one-store", "two-stores"])
def test_concurrent_claims_win_once_per_event(
    make_store: Callable[..., Store], instances: int
) -> None:
    stores = [make_store() for _ in range(instances)]
    event_ids = [f"Ev{number:04d}" for number in range(40)]
    wins = _claim_concurrently(stores, event_ids, threads=8)
    assert wins == Counter(dict.fromkeys(event_ids, 1))
    for store in stores:
        assert store.health().ok


def test_a_claim_made_by_one_instance_holds_for_another(make_store: Callable[..., Store]) -> None:
    first, second = make_store(), make_store()
    assert first.claim_event("Ev100") is True
    assert second.claim_event("Ev100") is False


def test_claims_older_than_a_day_are_pruned_at_start(make_store: Callable[..., Store]) -> None:
    store = make_store()
    old = datetime.now(UTC) - timedelta(days=2)
    with store.engine.begin() as connection:
        connection.execute(insert(events).values(event_id="EvOld", team_id="T1", claimed_at=old))
    store.claim_event("EvNew", "T1")

    make_store()  # an instance starting later prunes

    with store.engine.connect() as connection:
        remaining = set(connection.execute(select(events.c.event_id)).scalars())
    assert remaining == {"EvNew"}


def test_oauth_states_of_installs_never_finished_are_pruned_at_start(
    make_store: Callable[..., Store],
) -> None:
    store = make_store()
    states = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=store.engine)
    live = states.issue()
    with store.engine.begin() as connection:
        connection.execute(
            insert(slack_oauth_states).values(
                state="abandoned", expire_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(1)
            )
        )

    make_store()  # an instance starting later prunes

    with store.engine.connect() as connection:
        remaining = set(connection.execute(select(slack_oauth_states.c.state)).scalars())
    assert remaining == {live}
    assert states.consume(live) is True
