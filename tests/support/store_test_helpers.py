"""Helpers for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Health, Store
from tests.support.waiting import eventually


def ask(store: Store, text: str) -> None:
    """A not-sure question from T1's U1, recorded."""
    store.record_question(
        team_id="T1", channel_id="C1", user_id="U1", text=text, entry_id=None, score=0.2
    )


def settled(store: Store, timeout: float = 10.0) -> Health:
    """The store's health once its writer has nothing left to write (records are written in
    the background, never on the caller's thread)."""
    eventually(lambda: not store.health().pending, "the writer emptying", timeout=timeout)
    return store.health()


class LeaseClock:
    """The wall clock the inbox writes and reads its leases in (bot/store/inbox.py `_now`),
    put ahead of the real one by `advance`: a lease runs out when the test says so, for every
    store in the process, instead of after a real wait (the `lease_clock` fixture puts it in
    place)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def advance(self, by: timedelta) -> None:
        self.ahead += by
