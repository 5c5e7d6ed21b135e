"""Message timestamps as Slack makes them: the time the message was made (seconds and
microseconds, "1700000000.000100"), unique and increasing. The fake Slack and the request
builders both use the wall clock, so that a reply the fake records comes after the question it
answers, as in Slack (the bot looks for a reply posted after its question)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

MICROSECONDS = 1_000_000


def micros(ts: str) -> int:
    """A message ts as whole microseconds, for ordering ("1700000000.0001" is 100 µs in)."""
    return int(Decimal(ts) * MICROSECONDS)


def ts_of(value: int) -> str:
    seconds, fraction = divmod(value, MICROSECONDS)
    return f"{seconds}.{fraction:06d}"


class MessageClock:
    """Hands out message timestamps: now, later than the last one, and later than `after`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self, after: str | None = None) -> str:
        with self._lock:
            floor = max(self._last, micros(after) if after else 0)
            self._last = max(time.time_ns() // 1000, floor + 1)
            return ts_of(self._last)
