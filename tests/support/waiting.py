"""Waiting for something another thread does, without fixed sleeps as barriers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

FIRST_PAUSE = 0.001
"""The first pause between two looks; each next one is twice as long, up to `interval`."""


def eventually(
    condition: Callable[[], T],
    what: str = "the condition",
    *,
    timeout: float = 10.0,
    interval: float = 0.01,
) -> T:
    """Poll `condition` until it returns something true, and return that; fail the test naming
    `what` when `timeout` seconds pass first. For work a listener or a background thread does
    after the call under test returned; a barrier between threads of the test itself is a
    threading.Event. Most such work is done within milliseconds: the pauses start at 1 ms and
    double up to `interval`, so a quick condition is seen soon and a slow one is not polled
    more often than every `interval`."""
    deadline = time.monotonic() + timeout
    pause = min(FIRST_PAUSE, interval)
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(pause)
        pause = min(pause * 2, interval)
