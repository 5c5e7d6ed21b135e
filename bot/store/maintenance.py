"""Housekeeping the store runs at start and then every `interval`: forget old event claims and
OAuth states of installs never finished (slack_sdk deletes a state only when it is used) and,
with a retention period, blank old question texts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete

from bot.store.schema import events, slack_oauth_states
from bot.store.statements import purge_texts

logger = logging.getLogger(__name__)

DEFAULT_EVENT_TTL = timedelta(days=1)
"""Slack redelivers an event for about five minutes; a day of claims is ample."""
DEFAULT_MAINTENANCE_INTERVAL = 60 * 60.0


class Maintenance:
    def __init__(
        self,
        *,
        retention_days: int | None,
        event_ttl: timedelta = DEFAULT_EVENT_TTL,
        interval: float = DEFAULT_MAINTENANCE_INTERVAL,
        clock: Callable[[], float],
    ) -> None:
        self.retention_days = retention_days
        self._event_ttl = event_ttl
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._ran_at: float | None = None

    def due(self) -> bool:
        with self._lock:
            return self._ran_at is None or self._clock() - self._ran_at >= self._interval

    def run(self, connection: Connection) -> None:
        now = datetime.now(UTC)
        connection.execute(delete(events).where(events.c.claimed_at < now - self._event_ttl))
        # slack_sdk stores expiry times as naive UTC.
        naive_now = now.replace(tzinfo=None)
        connection.execute(
            delete(slack_oauth_states).where(slack_oauth_states.c.expire_at < naive_now)
        )
        if self.retention_days is not None:
            purged = purge_texts(connection, now - timedelta(days=self.retention_days))
            if purged:
                logger.info(
                    "Removed %d question texts older than %d days", purged, self.retention_days
                )
        with self._lock:
            self._ran_at = self._clock()
