"""Group commit: concurrent callers that each need a small transaction share one.

The first caller to arrive leads: it takes every item waiting, runs them in one transaction and
wakes their callers with their results; a caller that arrives meanwhile waits and, when the
leader is done, the first of them leads the next round. Nobody waits on a timer: a lone caller
commits at once, and under load one commit (an fsync on PostgreSQL, SQLite's write lock)
carries many callers' rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    def __init__(self, item: Item) -> None:
        self.item = item
        self.woken: threading.Event | None = None
        """Made only for a caller that has to wait (an Event is not free)."""
        self.leads = False
        self.result: Result | None = None
        self.error: BaseException | None = None

    def outcome(self) -> Result:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit(Generic[Item, Result]):
    """`run_batch(items)` returns one result per item, in order: a result, or the exception
    that item's caller gets. An exception raised by `run_batch` goes to every caller."""

    def __init__(
        self, run_batch: Callable[[Sequence[Item]], Sequence[Result | BaseException]]
    ) -> None:
        self._run_batch = run_batch
        self._lock = threading.Lock()
        self._waiting: list[_Slot[Item, Result]] = []
        self._busy = False

    def submit(self, item: Item) -> Result:
        slot: _Slot[Item, Result] = _Slot(item)
        with self._lock:
            self._waiting.append(slot)
            follow = self._busy
            self._busy = True
            if follow:
                slot.woken = threading.Event()
        if slot.woken is not None:
            slot.woken.wait()
            if not slot.leads:
                return slot.outcome()
        with self._lock:
            batch, self._waiting = self._waiting, []
        try:
            results = self._run_batch([waiting.item for waiting in batch])
        except Exception as error:  # every caller hears of it
            results = [error] * len(batch)
        for waiting, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                waiting.error = result
            else:
                waiting.result = result
            if waiting is not slot and waiting.woken is not None:
                waiting.woken.set()
        with self._lock:
            if self._waiting:
                successor = self._waiting[0]
                successor.leads = True
                if successor.woken is not None:
                    successor.woken.set()
            else:
                self._busy = False
        return slot.outcome()
