"""Helpers for the store tests."""

from __future__ import annotations

from bot.store import Health, Store
from tests.support.waiting import eventually


def settled(store: Store, timeout: float = 10.0) -> Health:
    """The store's health once its writer has nothing left to write (records are written in
    the background, never on the caller's thread)."""
    eventually(lambda: not store.health().pending, "the writer emptying", timeout=timeout)
    return store.health()
