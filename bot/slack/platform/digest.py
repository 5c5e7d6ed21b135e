"""The curators' weekly digest, sent once a week by whichever instance claims it first.

Every `interval` (the first check one interval after start) each instance asks: is this ISO
week's digest due (DIGEST_WEEKDAY, DIGEST_HOUR UTC) and not yet sent by this instance? If so it
claims `digest:<team>:<year>-W<week>` in the store (an insert that only one instance can win,
bot/store/claims.py), composes the digest from the store and the knowledge, and sends it: to
DIGEST_CHANNEL when set, else to each of CURATOR_IDS in their DM. Sent to at least one
recipient, the claim is marked done; sent to none, the failure is logged as an error and the
claim released, so the next check (on any instance) tries again. An instance that dies between
claim and send leaves a claim that another may take over once CLAIM_LEASE has passed.

The digest is for a single-workspace install (SLACK_BOT_TOKEN): its workspace is the token's,
from auth.test. With the OAuth install it is not started (app.py logs it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.digest import DigestWeek, compose_digest, digest_week
from bot.live_knowledge import LiveKnowledge
from bot.render.digest import digest_message
from bot.settings import Settings
from bot.slack.platform.messenger import CHANNEL_ERRORS, Outcome, Slack
from bot.slack.wire.metadata import DIGEST_EVENT, message_metadata
from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)
"""How long a claimed digest may stay unsent before another instance takes it over."""


class DigestSender:
    def __init__(
        self,
        slack: Slack,
        store: Store,
        knowledge: LiveKnowledge,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._slack = slack
        self._store = store
        self._knowledge = knowledge
        self._channel = settings.digest_channel
        self._curators = sorted(settings.curators)
        self._weekday = settings.digest_weekday
        self._hour = settings.digest_hour
        self._review_after_days = settings.review_after_days
        self._interval = settings.digest_check_seconds
        self._clock = clock
        self._team_id: str | None = None
        self._sent: str | None = None
        """The claim key of the last digest this instance sent (no need to ask again)."""
        self._stopped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, name="digest-sender", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval) and not self._store.closed:
            try:
                self.check_once()
            except Exception:
                log.exception(
                    "The weekly digest check failed; it runs again in %ss", self._interval
                )

    def check_once(self) -> bool:
        """Send this week's digest if it is due and no instance has; True when this one did."""
        now = self._clock()
        week = digest_week(now, self._weekday, self._hour)
        if now < week.due_at:
            return False
        team_id = self._workspace()
        if team_id is None:
            return False
        key = week.claim_key(team_id)
        if self._sent == key:
            return False
        if not self._store.claim_once(key, CLAIM_LEASE):
            log.debug("The weekly digest %s is sent or being sent by another instance", key)
            return False
        sent = False
        try:
            sent = self._send(team_id, week)
        finally:
            if sent:
                self._sent = key
            if not self._store.settle_claim(key, done=sent):
                log.error(
                    "Could not mark the weekly digest %s %s (the database is down)",
                    key,
                    "sent" if sent else "unsent",
                )
        return sent

    def _send(self, team_id: str, week: DigestWeek) -> bool:
        snapshot = self._knowledge.snapshot
        try:
            digest = compose_digest(
                self._store,
                snapshot.kb,
                team_id,
                week.since,
                week.due_at,
                review_after_days=self._review_after_days,
                today=week.due_at.date(),
            )
        except StoreUnavailable as error:
            log.error(
                "The weekly digest %s could not be composed, tried again later: %s",
                week.label,
                error,
            )
            return False
        message = digest_message(snapshot.kb, digest).with_metadata(
            message_metadata(DIGEST_EVENT, snapshot.stamp, week=week.label, team_id=team_id)
        )
        outcomes: dict[str, Outcome] = {}
        if self._channel is not None:
            outcomes[self._channel] = self._slack.post_message(self._channel, message)
        else:
            for curator in self._curators:
                outcomes[curator] = self._slack.send_to_dm(curator, message)
        failed = {to: _why(outcome) for to, outcome in outcomes.items() if not outcome.ok}
        delivered = len(outcomes) - len(failed)
        if failed:
            log.error(
                "The weekly digest %s of team=%s did not reach %s%s",
                week.label,
                team_id,
                ", ".join(f"{to} ({error})" for to, error in failed.items()),
                "; it is tried again at the next check" if not delivered else "",
            )
        if delivered:
            log.info(
                "Sent the weekly digest %s of team=%s to %d recipient(s)",
                week.label,
                team_id,
                delivered,
            )
        return delivered > 0

    def _workspace(self) -> str | None:
        """The bot token's workspace (auth.test, asked once)."""
        if self._team_id is None:
            outcome = self._slack.call(
                self._slack.client.auth_test, "the weekly digest's workspace"
            )
            team_id = outcome.data.get("team_id") if outcome.ok else None
            if not isinstance(team_id, str) or not team_id:
                log.warning("The weekly digest waits: auth.test did not say the workspace")
                return None
            self._team_id = team_id
        return self._team_id


def _why(outcome: Outcome) -> str:
    if outcome.error in CHANNEL_ERRORS:
        return f"{outcome.error}: invite the app to DIGEST_CHANNEL, or change it"
    return str(outcome.error)
