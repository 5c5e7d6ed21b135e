"""Answer each event once, however often Slack delivers it, and every acknowledged one.

The Events API redelivers an event it believes failed (X-Slack-Retry-Num, same event_id), a
replay repeats one, and Bolt would dispatch each delivery as a new event.

Mentions, DMs and message shortcuts (what the bot answers) go through the durable inbox:
before the ack, the delivery is claimed in the store with its body (`Store.accept_delivery`,
one row per event_id, the insert being the claim; a shortcut, which has no event_id, is keyed
by its trigger_id), so it is answered at most once whichever worker or instance gets it, before
or after a restart; and it is answered even if this process dies after the ack, since another
instance's `InboxSweeper` (bot/slack/platform/inbox_sweep.py) picks up a row nobody finished.
When the database cannot be asked, this process's memory deduplicates instead (said in the log
and in /healthz), as it does for every other event.

For those (and for inbox events in that fallback), two guards, so that the acknowledgement
never waits for a database: before the ack, this process's memory refuses an event id it has
seen (no I/O); after the ack, the listener claims the event id in the store
(`AppContext.claim_event`). Only a retry (or a first delivery whose listener starts so late
that Slack may have retried it meanwhile) waits for that claim; a prompt first delivery's
claim is written in the background with the records.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_bolt import BoltRequest
from slack_bolt.middleware import Middleware
from slack_bolt.response import BoltResponse

from bot.store import Acceptance, Store, Unfinished, new_uid

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 60 * 60
"""Slack's last retry comes about 5 minutes after the first delivery; an hour is ample."""
DEFAULT_MAX_ENTRIES = 100_000
PROMPT_SECONDS = 1.0
"""A first delivery whose listener starts within this long of its arrival is claimed in the
background: Slack cannot have retried it yet (it waits 3 seconds for the ack)."""
DELIVERY_KEY = "delivery"
"""Where the request's Delivery is kept in Bolt's context."""
REDELIVERED_KEY = "inbox_redelivery"
"""Set (to the leased `Unfinished` row) in the context of a delivery the sweeper dispatches
from the inbox."""
HANDED_OVER_KEY = "inbox_handed_over"
"""Set (to its `Delivery`) in the context of a delivery a web worker claimed and handed to its
answer process (bot/slack/serving/answer_process.py), which dispatches it."""

FORWARDED_EVENTS = frozenset({"app_context_changed"})
"""Events whose listener sets what a later answer says (the channel a person is viewing, kept
in memory for their next DM): with an answer process, they are handed to it too, where the
answers are made."""

HandOver = Callable[[dict[str, Any], "Delivery"], bool]
"""Give a claimed delivery to the answer process; False: answer it in this process."""


@dataclass(frozen=True)
class Delivery:
    """How an event arrived: as Slack's retry or not, and when (time.monotonic())."""

    retry: bool
    arrived_at: float = field(default_factory=time.monotonic)
    inbox_id: str | None = None
    """The event id when the delivery is claimed in the durable inbox: answer it inside
    `Store.finishing(inbox_id)`; nobody else can answer it."""
    attempt: int = 0
    """The lease of the inbox row it is answered under: 0 the claim made before the ack, n
    the sweeper's n-th lease after it (`Store.mark_sending` checks it is still the current)."""
    reply_uid: str | None = None
    """For an inbox delivery: the id its reply carries in its metadata (`question_id`) and its
    question is stored under; made at the claim, or the one of a reply already on its way."""
    maybe_sent: bool = False
    """The reply `reply_uid` was on its way when the last holder stopped (the row was marked
    sending): it may be in Slack already, so look for it before posting."""

    @classmethod
    def claimed(cls, inbox_id: str, *, retry: bool) -> Delivery:
        """A delivery claimed in the inbox before its ack."""
        return cls(retry=retry, inbox_id=inbox_id, reply_uid=new_uid())

    @classmethod
    def swept(cls, row: Unfinished) -> Delivery:
        """A delivery the sweeper leased from the inbox (its first holder never finished it)."""
        return cls(
            retry=True,
            inbox_id=row.event_id,
            attempt=row.attempt,
            reply_uid=row.reply_uid or new_uid(),
            maybe_sent=row.reply_uid is not None,
        )

    def needs_checked_claim(self, now: float | None = None) -> bool:
        """True when another instance may have claimed this event already: it is a retry, or
        its listener starts late enough that Slack may have retried it meanwhile (never for a
        delivery claimed in the inbox: that claim was made before the ack)."""
        if self.inbox_id is not None:
            return False
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


def kept_in_inbox(event: Any) -> bool:
    """A mention or a person's DM: what the bot answers, so what must not be lost."""
    if not isinstance(event, dict):
        return False
    kind = event.get("type")
    if kind == "app_mention":
        return True
    return (
        kind == "message"
        and event.get("channel_type") == "im"
        and event.get("subtype") is None
        and event.get("bot_id") is None
    )


SHORTCUT_KEY_PREFIX = "shortcut:"
"""The inbox key of a message shortcut is this and its trigger_id (unique per use)."""


def shortcut_key(body: dict[str, Any], callback_ids: frozenset[str]) -> str | None:
    """The inbox key of a message shortcut the bot answers, None for any other request."""
    if body.get("type") != "message_action" or body.get("callback_id") not in callback_ids:
        return None
    trigger_id = body.get("trigger_id")
    if not isinstance(trigger_id, str) or not trigger_id:
        return None
    return SHORTCUT_KEY_PREFIX + trigger_id


def _swept(req: BoltRequest, key: str) -> Unfinished | None:
    """The inbox row the sweeper dispatches this request for, when it does."""
    row = req.context.get(REDELIVERED_KEY)
    return row if isinstance(row, Unfinished) and row.event_id == key else None


def _team_of(body: dict[str, Any]) -> str | None:
    team = body.get("team")
    team_id = team.get("id") if isinstance(team, dict) else body.get("team_id")
    return team_id if isinstance(team_id, str) else None


class SkipRedeliveredEvents(Middleware):
    """An event_id seen before (Slack's retry of a slow or failed delivery, a replay) is
    acknowledged and not answered again. It runs after signature verification, so forged
    requests cannot use up event ids. A Middleware subclass rather than a function: Bolt then
    calls it directly instead of building its full keyword-argument set for every request.

    The message shortcuts named by `shortcuts` are claimed in the inbox too (their listeners
    answer them inside `Store.finishing`)."""

    def __init__(
        self,
        dedupe: EventDeduplicator,
        store: Store | None = None,
        *,
        shortcuts: Iterable[str] = (),
        hand_over: HandOver | None = None,
    ) -> None:
        self.dedupe = dedupe
        self.store = store
        self.shortcuts = frozenset(shortcuts)
        self.hand_over = hand_over
        self._durable = True
        self._mode_lock = threading.Lock()

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        body = req.body
        shortcut = shortcut_key(body, self.shortcuts) if self.shortcuts else None
        if shortcut is not None:
            return self._claim_shortcut(req, next, shortcut)
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not event_id:
            return next()
        retry = req.headers.get("x-slack-retry-num", [None])[0]
        swept = _swept(req, event_id)
        if swept is not None:
            req.context[DELIVERY_KEY] = Delivery.swept(swept)
            return next()
        handed = req.context.get(HANDED_OVER_KEY)
        if isinstance(handed, Delivery) and handed.inbox_id == event_id:
            req.context[DELIVERY_KEY] = handed
            return next()
        if self.store is not None and kept_in_inbox(body.get("event")):
            team = body.get("team_id")
            acceptance = self.store.accept_delivery(
                event_id, team if isinstance(team, str) else None, json.dumps(body)
            )
            self._note_mode(durable=acceptance is not Acceptance.UNAVAILABLE)
            if acceptance is Acceptance.NEW:
                self.dedupe.first_delivery(event_id)  # for when the database goes away
                delivery = Delivery.claimed(event_id, retry=retry is not None)
                if self.hand_over is not None and self.hand_over(body, delivery):
                    return BoltResponse(status=200, body="")  # answered by the answer process
                req.context[DELIVERY_KEY] = delivery
                return next()
            if acceptance is Acceptance.DUPLICATE:
                self.dedupe.first_delivery(event_id)
                log.info("Event %s already claimed; ignoring delivery %s", event_id, retry)
                return BoltResponse(status=200, body="")
        if not self.dedupe.first_delivery(event_id):
            reason = req.headers.get("x-slack-retry-reason", ["?"])[0]
            log.info("Event %s already answered; ignoring retry %s (%s)", event_id, retry, reason)
            return BoltResponse(status=200, body="")
        delivery = Delivery(retry=retry is not None)
        if self._forwarded(body) and self.hand_over is not None and self.hand_over(body, delivery):
            return BoltResponse(status=200, body="")  # handled where the answers are made
        req.context[DELIVERY_KEY] = delivery
        return next()

    @staticmethod
    def _forwarded(body: dict[str, Any]) -> bool:
        event = body.get("event")
        return isinstance(event, dict) and event.get("type") in FORWARDED_EVENTS

    def _claim_shortcut(
        self, req: BoltRequest, next: Callable[[], BoltResponse], key: str
    ) -> BoltResponse | None:
        """A message shortcut, claimed before its ack; answered without the inbox while the
        database cannot be asked (Slack does not resend shortcuts, so nothing to deduplicate)."""
        swept = _swept(req, key)
        if swept is not None:
            req.context[DELIVERY_KEY] = Delivery.swept(swept)
            return next()
        if self.store is None:
            return next()
        acceptance = self.store.accept_delivery(key, _team_of(req.body), json.dumps(req.body))
        self._note_mode(durable=acceptance is not Acceptance.UNAVAILABLE)
        if acceptance is Acceptance.DUPLICATE:
            log.info("Shortcut %s already claimed; ignoring it", key)
            return BoltResponse(status=200, body="")
        if acceptance is Acceptance.NEW:
            req.context[DELIVERY_KEY] = Delivery.claimed(key, retry=False)
        return next()

    def _note_mode(self, *, durable: bool) -> None:
        with self._mode_lock:
            changed, self._durable = self._durable != durable, durable
        if not changed:
            return
        if durable:
            log.warning("The durable inbox is back: mentions and DMs are claimed in the database")
        else:
            log.warning(
                "The durable inbox is unavailable (database unreachable): mentions and DMs are "
                "deduplicated in this process's memory only, and one acknowledged by a process "
                "that dies before answering it is lost"
            )
