"""Answer what another process acknowledged and never answered (it died after the ack).

At start and then every `interval`, lease the inbox rows whose lease ran out
(`Store.lease_unfinished`) and dispatch each through the app as it first arrived. Such a
dispatch carries the leased row under `REDELIVERED_KEY` in its context, so the redelivery
middleware lets it through to the listeners, which answer it inside `Store.finishing` as they
do any inbox delivery. It is dispatched as Socket Mode requests are, without a signature to
check: the body was checked when it was first received, before it was written to the inbox.

A row that was marked sending (its process died between posting the reply and marking it
done, or while posting it) is answered the same way, but the listener first looks in Slack
for the reply it names (bot/slack/flows/answering.py `send_reply`): found, it is not posted
again, and the question's records are written with the done mark.

An instance leases only as many rows as it has room to answer at once (`Room`: the answer
slots, and as many again queued behind them), and leases more as they are answered; with no
room (its own questions queue) it leases nothing. A row it leased is so
answered well within its lease: leasing a backlog it could not get to would let that lease run
out too, and the row be leased again and again until it is given up, unanswered.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Protocol

from slack_bolt import App, BoltRequest

from bot.slack.platform.redelivery import REDELIVERED_KEY
from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_SWEEP_SECONDS = 15.0


class Room(Protocol):
    """How much answering this process can take on now (bot/slack/context.py AnswerSlots)."""

    def room(self) -> int:
        """How many more questions would start within about one answer's time."""
        ...


class InboxSweeper:
    def __init__(
        self, app: App, store: Store, room: Room, interval: float = DEFAULT_SWEEP_SECONDS
    ) -> None:
        self._app = app
        self._store = store
        self._room = room
        self._interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="inbox-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set() and not self._store.closed:
            try:
                swept = self.sweep_once()
            except Exception:
                log.exception("The inbox sweep failed; it runs again in %ss", self._interval)
                swept = 0
            if not swept:  # a sweep that found some looks again at once: there may be more
                self._stopped.wait(self._interval)

    def sweep_once(self) -> int:
        """Lease as many unfinished deliveries as there is room to answer now, dispatch them,
        and wait (up to half a lease) until one of them is answered; how many."""
        room = self._room.room()
        if room <= 0:
            return 0
        try:
            unfinished = self._store.lease_unfinished(limit=room)
        except StoreUnavailable:
            return 0
        for delivery in unfinished:
            if delivery.reply_uid is None:
                log.warning(
                    "Answering event %s, acknowledged but never answered (attempt %d)",
                    delivery.event_id,
                    delivery.attempt,
                )
            else:
                log.warning(
                    "Event %s was being answered when its process stopped (attempt %d): its "
                    "reply is looked for in Slack before it is answered",
                    delivery.event_id,
                    delivery.attempt,
                )
            self._app.dispatch(
                BoltRequest(
                    body=json.loads(delivery.body),
                    mode="socket_mode",
                    context={REDELIVERED_KEY: delivery},
                )
            )
        if unfinished:
            half_a_lease = self._store.inbox.lease.total_seconds() / 2
            self._store.wait_for_one((row.event_id for row in unfinished), half_a_lease)
        return len(unfinished)
