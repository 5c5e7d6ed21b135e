"""The curators' weekly digest: what needs their attention, composed from the store and the
knowledge. The week's unanswered questions, the answers (and recommendations) marked 👎 with
the reasons given, and the entries whose review is older than REVIEW_AFTER_DAYS.

The same figures as `/framework stats` (Store.stats) and the same staleness as `kb check`
(KnowledgeBase.stale_entries); this module only says which week is due and puts them together.
bot/render/digest.py renders it; bot/slack/platform/digest.py sends it once a week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.knowledge import Entry, KnowledgeBase
from bot.store import Store, UnansweredQuestion
from bot.store.reasons import Complaint

WEEK = timedelta(days=7)
MAX_LISTED = 50
"""At most this many unanswered questions and 👎 targets are read; the digest shows fewer and
says how many more there were."""


@dataclass(frozen=True)
class DigestWeek:
    """One ISO week's digest: due from `due_at`, covering the seven days before it."""

    year: int
    week: int
    due_at: datetime

    @property
    def label(self) -> str:
        """`2026-W49`."""
        return f"{self.year}-W{self.week:02d}"

    @property
    def since(self) -> datetime:
        return self.due_at - WEEK

    def claim_key(self, team_id: str) -> str:
        """The store's claim on this week's digest for a workspace (bot/store/claims.py)."""
        return f"digest:{team_id}:{self.label}"


def digest_week(now: datetime, weekday: int, hour: int) -> DigestWeek:
    """The digest of `now`'s ISO week, due on `weekday` (1 Monday … 7 Sunday) at `hour` UTC."""
    now = now.astimezone(UTC)
    year, week, today = now.isocalendar()
    day = now.date() + timedelta(days=weekday - today)
    return DigestWeek(year, week, datetime.combine(day, time(hour), UTC))


@dataclass(frozen=True)
class Digest:
    """What the curators of one workspace should look at, over [since, until)."""

    team_id: str
    since: datetime
    until: datetime
    unanswered: tuple[UnansweredQuestion, ...]
    """Most frequent first (the question folded, as the stats show it)."""
    complaints: tuple[Complaint, ...]
    """Most 👎 first, with their reasons and latest notes."""
    stale: tuple[Entry, ...]
    """Longest unreviewed first."""
    review_after_days: int

    @property
    def empty(self) -> bool:
        return not (self.unanswered or self.complaints or self.stale)


def compose_digest(
    store: Store,
    kb: KnowledgeBase,
    team_id: str,
    since: datetime,
    until: datetime,
    *,
    review_after_days: int,
    today: date | None = None,
) -> Digest:
    """The digest of one workspace over [since, until). Raises StoreUnavailable."""
    stats = store.stats(team_id, since, until, limit=MAX_LISTED)
    return Digest(
        team_id=team_id,
        since=stats.since,
        until=stats.until,
        unanswered=stats.unanswered,
        complaints=stats.complaints,
        stale=kb.stale_entries(review_after_days, today or until.date()),
        review_after_days=review_after_days,
    )
