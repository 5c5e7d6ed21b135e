"""Answer each event once, however often Slack delivers it.

The Events API redelivers an event it believes failed (X-Slack-Retry-Num, same event_id), and
Bolt would dispatch each delivery as a new event. Two guards, so that the acknowledgement never
waits for a database: before the ack, this process's memory refuses an event id it has seen
(no I/O); after the ack, before answering, the listener claims the event id in the store
(`AppContext.claim_event`, a unique row), which catches a delivery to another instance or one
from before a restart.

Only a retry can find its event claimed, so only a retry (or a first delivery whose listener
starts so late that Slack may have retried it meanwhile) waits for the database's answer; a
prompt first delivery's claim is written in the background with the records, well before any
retry of it can arrive (Slack retries after 3 seconds without an ack).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from slack_bolt import BoltRequest
from slack_bolt.middleware import Middleware
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 60 * 60
"""Slack's last retry comes about 5 minutes after the first delivery; an hour is ample."""
DEFAULT_MAX_ENTRIES = 100_000
PROMPT_SECONDS = 1.0
"""A first delivery whose listener starts within this long of its arrival is claimed in the
background: Slack cannot have retried it yet (it waits 3 seconds for the ack)."""
DELIVERY_KEY = "delivery"
"""Where the request's Delivery is kept in Bolt's context."""


@dataclass(frozen=True)
class Delivery:
    """How an event arrived: as Slack's retry or not, and when (time.monotonic())."""

    retry: bool
    arrived_at: float = field(default_factory=time.monotonic)

    def needs_checked_claim(self, now: float | None = None) -> bool:
        """True when another instance may have claimed this event already: it is a retry, or
        its listener starts late enough that Slack may have retried it meanwhile."""
        waited = (time.monotonic() if now is None else now) - self.arrived_at
        return self.retry or waited >= PROMPT_SECONDS


class EventDeduplicator(Protocol):
    def first_delivery(self, event_id: str) -> bool:
        """True exactly once per event_id (within the store's memory): answer it then."""
        ...


class InMemoryDeduplicator:
    """Thread-safe TTL set of seen event ids, bounded in size (oldest forgotten first)."""

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_delivery(self, event_id: str) -> bool:
        now = self._clock()
        with self._lock:
            self._forget_expired(now)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now + self._ttl
            while len(self._seen) > self._max_entries:
                self._seen.popitem(last=False)
            return True

    def _forget_expired(self, now: float) -> None:
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now:
                return
            del self._seen[oldest]

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class SkipRedeliveredEvents(Middleware):
    """An event_id seen before (Slack's retry of a slow or failed delivery) is acknowledged and
    not answered again. It runs after signature verification, so forged requests cannot use up
    event ids. A Middleware subclass rather than a function: Bolt then calls it directly
    instead of building its full keyword-argument set for every request."""

    def __init__(self, dedupe: EventDeduplicator) -> None:
        self.dedupe = dedupe

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not event_id:
            return next()
        retry = req.headers.get("x-slack-retry-num", [None])[0]
        if not self.dedupe.first_delivery(event_id):
            reason = req.headers.get("x-slack-retry-reason", ["?"])[0]
            log.info("Event %s already answered; ignoring retry %s (%s)", event_id, retry, reason)
            return BoltResponse(status=200, body="")
        req.context[DELIVERY_KEY] = Delivery(retry=retry is not None)
        return next()
