"""Whether the database is worth trying, and the outage log.

Every database attempt runs inside `Availability.attempt()`: an error that means the database
cannot be reached (see `is_connection_error`) closes the door for `retry_interval` seconds and
comes out as `StoreUnavailable`; other errors (a bad statement, rejected data) pass through.
Outages are logged once per `log_interval`, with how many attempts failed and how much waits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.store.engine import is_connection_error

logger = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The database cannot be reached right now. Callers turn this into a polite message
    ("stats are unavailable at the moment"); the bot keeps answering questions."""


class Availability:
    """A circuit breaker around one database; thread-safe, no I/O of its own."""

    def __init__(
        self,
        *,
        retry_interval: float,
        log_interval: float,
        clock: Callable[[], float],
        waiting: Callable[[], int],
        dropped: Callable[[], int],
    ) -> None:
        self._retry_interval = retry_interval
        self._log_interval = log_interval
        self._clock = clock
        self._waiting = waiting
        self._dropped = dropped
        self._lock = threading.Lock()
        self._ok = True
        self._last_error: str | None = None
        self._retry_at = 0.0
        self._failures_since_log = 0
        self._outage_failures = 0
        self._outage_logged_at: float | None = None

    @property
    def ok(self) -> bool:
        """The last attempt succeeded."""
        with self._lock:
            return self._ok

    @property
    def last_error(self) -> str | None:
        with self._lock:
            return self._last_error

    def may_try(self) -> bool:
        """It answered last time, or the wait after a failure is over."""
        with self._lock:
            return self._clock() >= self._retry_at

    def unavailable(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"the database is unavailable ({self.last_error or 'unknown error'})"
        )

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """One try at the database: a connection error is recorded and raised as
        StoreUnavailable; success is recorded when the block ends without error."""
        try:
            yield
        except Exception as error:
            if not is_connection_error(error):
                raise
            self._failed(error)
            raise self.unavailable() from error
        self._succeeded()

    def _failed(self, error: BaseException) -> None:
        reason = describe(error)
        with self._lock:
            now = self._clock()
            self._ok = False
            self._last_error = reason
            self._retry_at = now + self._retry_interval
            self._failures_since_log += 1
            self._outage_failures += 1
            due = self._outage_logged_at is None or (
                now - self._outage_logged_at >= self._log_interval
            )
            if not due:
                return
            self._outage_logged_at = now
            failures, self._failures_since_log = self._failures_since_log, 0
        logger.warning(
            "Database unavailable (%s): questions are still answered; %d records wait to be "
            "written (%d failed attempts since the last message, next report in %ds at most)",
            reason,
            self._waiting(),
            failures,
            self._log_interval,
        )

    def _succeeded(self) -> None:
        with self._lock:
            if self._ok:
                return
            self._ok = True
            self._last_error = None
            self._retry_at = 0.0
            self._outage_logged_at = None
            self._failures_since_log = 0
            failures, self._outage_failures = self._outage_failures, 0
        logger.warning(
            "Database reachable again after %d failed attempts: %d records still waiting to be "
            "written, %d records lost since start",
            failures,
            self._waiting(),
            self._dropped(),
        )


def describe(error: BaseException) -> str:
    """The first line of the driver's message, without SQLAlchemy's statement dump."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return (text[0] if text else type(original).__name__)[:300]
