"""Helpers for the store tests."""

from __future__ import annotations

import time

from bot.store import Health, Store


def settled(store: Store, timeout: float = 10.0) -> Health:
    """The store's health once its writer has nothing left to write (records are written in
    the background, never on the caller's thread)."""
    deadline = time.monotonic() + timeout
    while store.health().pending and time.monotonic() < deadline:
        time.sleep(0.01)
    return store.health()
