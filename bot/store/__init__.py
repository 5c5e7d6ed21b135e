"""The store: everything Framework Advisor remembers, in one SQL database.

    store = create_store(settings.database_url, settings.data_dir,
                         retention_days=settings.retention_days)

`DATABASE_URL` unset: an SQLite file `framework-advisor.db` in `DATA_DIR` (created on first
start). `postgresql://…` or Heroku's `postgres://…`: PostgreSQL through psycopg 3, which is how
several instances share state. The schema is created and migrated at start (Alembic, in
bot/store/migrations); a newer version on an older database keeps its data.

Every row belongs to a Slack workspace (`team_id`); no query mixes workspaces. Times are aware
datetimes (UTC out).

Scale-out
    claim_event(event_id, team_id=None) -> bool
        True exactly once per event_id across all instances (a unique row, inserted with ON
        CONFLICT DO NOTHING). Claims are forgotten after a day.
    note_event(event_id, team_id=None) -> None
        The same claim written in the background with the records, for an event nobody else
        can have claimed yet (Slack's first delivery); a later claim_event of it is False.
    accept_delivery(event_id, team_id, body) -> Acceptance (NEW, DUPLICATE, UNAVAILABLE)
        The durable inbox: a mention or DM claimed before its ack, with its body and a lease
        (the insert is the claim, so each event_id is answered at most once anywhere).
    finishing(event_id) -> context manager
        Answer it inside: the records made on this thread are written in the transaction that
        marks the delivery done.
    mark_sending(event_id, reply_uid, attempt) -> Sending (MARKED, TAKEN, UNAVAILABLE)
        Just before a delivery's reply is posted, by the holder of its lease: the reply's id,
        committed, so that one found unfinished later is looked for in Slack first.
    lease_unfinished(limit=20) -> list[Unfinished(event_id, body, attempt, reply_uid)]
        Deliveries acknowledged and not answered whose lease ran out (their process died),
        leased to the caller to answer (FOR UPDATE SKIP LOCKED on PostgreSQL); reply_uid is
        set for one whose reply was on its way.
    wait_for_one(event_ids, timeout) -> bool
        Waits until one of the deliveries leased here was answered (or dropped), for a sweep
        that leases no more than it has room to answer.
    set_knowledge_stamp(stamp: str) -> None / get_knowledge_stamp() -> str | None
        The knowledge version last loaded by `/framework reload` on any instance; the others
        compare it with what they loaded and reload when it differs.

Records (never raise for a database that is down; see Resilience)
    record_question(*, team_id, channel_id, user_id, text, entry_id, score, closest=(),
                    asked_at=None, uid=None) -> None
        entry_id None means "not sure"; closest = [(entry_id, score), ...] offered instead;
        uid (from new_uid()) is the id the answer's message metadata carries.
    record_recommendation(*, team_id, user_id, framework_id, verdict, recommended_at=None,
                          uid=None)
        verdict "clear" or "close"; uid (from new_uid()) is the id the result's metadata carries.
    record_vote(*, team_id, user_id, message_key, target_kind, target_id, question, helpful,
                voted_at=None, question_uid=None, recommendation_uid=None) -> None
        target_kind "entry" or "recommendation"; one vote per (team, message_key, user),
        a new vote replaces the earlier one; question_uid / recommendation_uid the uid of the
        question answered or the recommendation rated, when known.

Curators
    stats(team_id, since, until=None, limit=10) -> Stats
        questions, answered, not_sure, top_entries, helpful (rate per entry/recommendation),
        unanswered (most frequent, grouped by folded text), recommendations (per framework and
        verdict; also .recommendations_by_framework / .recommendations_by_verdict).
    export(what: "feedback" | "unanswered", team_id=None, fmt="csv", since=None) -> str
    team_ids() -> list[str]

Retention and removal
    purge(retention_days, now=None) -> int
        Blanks question texts older than that (questions and votes); counts stay. With
        create_store(retention_days=N) this also runs at start and then hourly.
    delete_team(team_id) -> bool
        Removes all of a workspace's data (app_uninstalled, tokens_revoked); False when the
        database is down and the deletion waits for it.

Resilience
    The knowledge lives in memory, so answering never depends on the database. Records are
    written by a writer thread, never on the thread that made them, so a slow, locked or
    unreachable database holds up no answer and no acknowledgement. Records that cannot be
    written wait in a bounded buffer (10,000) and are written in order once the database is
    back (the writer tries again every few seconds; reads and flush() write what waits first).
    Outages are logged once a minute, records pushed out of a full buffer are counted and
    logged, and
    health() -> Health(ok, pending, dropped, last_error) reports this process's state without
    I/O; shared_health() -> SharedHealth reads every instance's from the database (each writes
    its figures there: report_health_every(seconds)), and raises StoreUnavailable.
    available() -> bool: worth trying the database now (it answered last time, or the wait
    after a failure is over), without I/O.
    claim_event returns True while the database is down (answer rather than stay silent; the
    caller's in-process dedupe still applies). Reads (stats, export, team_ids,
    get_knowledge_stamp) and purge raise StoreUnavailable; its message can be logged, the
    person sees a polite sentence.
    flush() -> bool, close() -> None; when_closed(stop) has `stop` called as the store closes
    (the background threads working on it end then, not at their next look).
"""

from __future__ import annotations

from pathlib import Path

from bot.exports import EXPORT_FORMATS, EXPORT_KINDS, ExportKind
from bot.store.engine import database_url_for, make_engine
from bot.store.stats import (
    EntryCount,
    HelpfulRate,
    RecommendationOutcome,
    Stats,
    UnansweredQuestion,
)
from bot.store.store import (
    Acceptance,
    Health,
    Sending,
    SharedHealth,
    Store,
    StoreUnavailable,
    TargetKind,
    Unfinished,
    Verdict,
    new_uid,
)

DEFAULT_RETENTION_DAYS = 90


def create_store(
    database_url: str | None,
    data_dir: Path,
    *,
    retention_days: int | None = DEFAULT_RETENTION_DAYS,
    **options: object,
) -> Store:
    """The store for `DATABASE_URL` (None: SQLite in `data_dir`), migrated and ready.

    A database that cannot be reached at start is not fatal: the store buffers and migrates
    once it is back. `options` go to `Store` (max_pending, retry_interval, log_interval, ...).
    """
    store = Store(
        make_engine(database_url_for(database_url, data_dir)),
        retention_days=retention_days,
        **options,  # type: ignore[arg-type]
    )
    store.start()
    return store


__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "EXPORT_FORMATS",
    "EXPORT_KINDS",
    "Acceptance",
    "EntryCount",
    "ExportKind",
    "Health",
    "HelpfulRate",
    "RecommendationOutcome",
    "Sending",
    "SharedHealth",
    "Stats",
    "Store",
    "StoreUnavailable",
    "TargetKind",
    "UnansweredQuestion",
    "Unfinished",
    "Verdict",
    "create_store",
    "new_uid",
]
