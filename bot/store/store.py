"""The Store: every piece of state the bot keeps, behind one object that survives an outage.

A facade over its units: the write-behind queue (bot/store/write_queue.py: records are written
in order by a writer thread, never on the caller's; reads and `flush()` write what waits
first), availability (bot/store/availability.py: a failed attempt closes the door for
`retry_interval` seconds; outages are logged once a minute), maintenance
(bot/store/maintenance.py) and the typed statements per record kind (bot/store/statements.py).
Writes never raise for a database that is down; reads raise `StoreUnavailable`. Event claims
are the exception: the caller needs the answer, so `claim_event` asks the database at once;
`note_event` is the claim of an event nobody else can have claimed yet (Slack's first
delivery), written with the records.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, select, union

from bot.exports import EXPORT_FORMATS, EXPORT_KINDS, ExportKind
from bot.store import claims, migrate
from bot.store.availability import StoreUnavailable
from bot.store.engine import READ_ONLY, write_gate, writing
from bot.store.folding import normalize_question
from bot.store.health import (
    DEFAULT_REPORT_SECONDS,
    FRESH_REPORTS,
    HealthReporter,
    SharedHealth,
    instance_name,
    read_shared,
    write_report,
)
from bot.store.inbox import DEFAULT_LEASE, Acceptance, Inbox, Sending, Unfinished, collecting
from bot.store.maintenance import (
    DEFAULT_EVENT_TTL,
    DEFAULT_MAINTENANCE_INTERVAL,
    Maintenance,
)
from bot.store.reasons import MAX_REASON_NOTE, REASONS, Reason
from bot.store.schema import feedback, meta, questions, recommendations
from bot.store.statements import CLAIM_EVENT, INSERT_FOR, RecordKind, purge_texts
from bot.store.stats import (
    Stats,
    compute_stats,
    export_csv,
)
from bot.store.write_queue import Write, WriteQueue

Verdict = Literal["clear", "close"]
VERDICTS: tuple[Verdict, ...] = ("clear", "close")
TargetKind = Literal["entry", "recommendation"]
TARGET_KINDS: tuple[TargetKind, ...] = ("entry", "recommendation")

KNOWLEDGE_STAMP_KEY = "knowledge_stamp"

DEFAULT_MAX_PENDING = 10_000
DEFAULT_RETRY_INTERVAL = 5.0
DEFAULT_LOG_INTERVAL = 60.0

_T = TypeVar("_T")

__all__ = [
    "DEFAULT_EVENT_TTL",
    "Acceptance",
    "Health",
    "Sending",
    "SharedHealth",
    "Store",
    "StoreUnavailable",
    "TargetKind",
    "Unfinished",
    "Verdict",
]


class Health(NamedTuple):
    ok: bool
    """The last attempt to reach the database succeeded (no I/O is done to find out)."""
    pending: int
    """Records and workspace deletions waiting to be written."""
    dropped: int
    """Records lost since start because the buffer was full, or rejected by the database."""
    last_error: str | None
    """Why the database is unreachable; None while it is reachable."""


class Store:
    """All the bot's state on one SQLAlchemy engine; safe to share between threads.

    Build it with `bot.store.create_store`. Times given to it must be aware datetimes; it
    returns aware UTC datetimes.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        retention_days: int | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        log_interval: float = DEFAULT_LOG_INTERVAL,
        event_ttl: timedelta = DEFAULT_EVENT_TTL,
        maintenance_interval: float = DEFAULT_MAINTENANCE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        writer_thread: bool = True,
        inbox_lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        if engine.dialect.name not in INSERT_FOR:
            raise ValueError(
                f"unsupported database {engine.dialect.name!r}: use PostgreSQL or SQLite"
            )
        self.engine = engine
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self.maintenance = Maintenance(
            retention_days=retention_days,
            event_ttl=event_ttl,
            interval=maintenance_interval,
            clock=clock,
        )
        self.writes = WriteQueue(
            engine,
            max_pending=max_pending,
            retry_interval=retry_interval,
            log_interval=log_interval,
            clock=clock,
            prepare=self._ensure_schema,
            after_write=self._maintain_if_due,
            writer_thread=writer_thread,
        )
        self.availability = self.writes.availability
        self.inbox = Inbox(
            engine, self.availability, self.writes, lease=inbox_lease, prepare=self._ensure_schema
        )
        self.instance = instance_name()
        """This instance's key among those writing their health figures (bot/store/health.py)."""
        self._report_seconds = DEFAULT_REPORT_SECONDS
        self.closed = False
        self._when_closed: list[Callable[[], None]] = []

    @property
    def retention_days(self) -> int | None:
        return self.maintenance.retention_days

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Migrate the schema and run maintenance. Returns False when the database is down:
        the store then works from its buffer and migrates on the first successful attempt.
        Errors other than an unreachable database (a broken migration) are raised."""
        try:
            with self.availability.attempt():
                self._ensure_schema()
                with writing(self.engine) as connection:
                    self.maintenance.run(connection)
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        """Stop the background work done on the store (see `when_closed`), stop the writer,
        write what is waiting (if the database is reachable) and release connections."""
        self.closed = True
        stops, self._when_closed = self._when_closed, []
        for stop in stops:  # and forget them: they hold what they stop (its app) in memory
            stop()
        self.writes.close()
        self.flush()
        self.engine.dispose()

    def when_closed(self, stop: Callable[[], None]) -> None:
        """Call `stop` (which must not wait for the store) when the store is closed: a thread
        working on it (the health reports, the inbox sweep, the knowledge follower, the digest)
        then ends at once instead of at its next look, up to a minute later, keeping its app in
        memory until then."""
        self._when_closed.append(stop)

    def available(self) -> bool:
        """Worth trying the database now: it answered last time, or the wait after a failure
        is over. No I/O."""
        return self.availability.may_try()

    def health(self) -> Health:
        """This process's view: what its memory says (no I/O)."""
        return Health(
            ok=self.availability.ok,
            pending=self.writes.waiting(),
            dropped=self.writes.dropped(),
            last_error=self.availability.last_error,
        )

    # -- every instance's health (bot/store/health.py) -------------------------------------

    def report_health_every(self, seconds: float = DEFAULT_REPORT_SECONDS) -> HealthReporter:
        """Write this instance's figures every `seconds` from now on, so that
        `shared_health` on any instance counts them."""
        self._report_seconds = seconds
        reporter = HealthReporter(self, seconds)
        self.when_closed(reporter.stop)
        reporter.start()
        return reporter

    def report_health(self) -> None:
        """Write this instance's figures now. Raises StoreUnavailable."""
        self._with_report(lambda connection, now: None)

    def shared_health(self) -> SharedHealth:
        """The store's state over every instance whose figures are recent (this one's written
        first), and what the tables say: the inbox's unanswered deliveries, the newest record.
        Raises StoreUnavailable (at once, without I/O, while the retry wait after a failure
        lasts)."""
        fresh = timedelta(seconds=self._report_seconds * FRESH_REPORTS)
        return self._with_report(lambda connection, now: read_shared(connection, now, fresh))

    def _with_report(self, then: Callable[[Connection, datetime], _T]) -> _T:
        if not self.available():
            raise self.availability.unavailable()
        health = self.health()
        with self.availability.attempt():
            self._ensure_schema()
            with writing(self.engine) as connection:
                now = _now()
                write_report(connection, self.instance, health.pending, health.dropped, now)
                return then(connection, now)

    # -- events ----------------------------------------------------------------------------

    def claim_event(self, event_id: str, team_id: str | None = None) -> bool:
        """True for the first claim of `event_id` by any instance on this database, False
        after that. Atomic under concurrency (one row per event_id).

        With the database down it returns True: answering twice is better than not answering,
        so the caller's in-process dedupe is the only guard until the database is back."""
        if not self.available():
            return True
        now = _now()
        try:
            with self.availability.attempt():
                self._ensure_schema()
                with writing(self.engine) as connection:
                    claimed = connection.execute(
                        CLAIM_EVENT[connection.dialect.name],
                        {
                            "event_id": event_id,
                            "team_id": team_id,
                            "claimed_at": now,
                            "done_at": now,
                        },
                    ).first()
        except StoreUnavailable:
            return True
        return claimed is not None

    def note_event(self, event_id: str, team_id: str | None = None) -> None:
        """Claim `event_id` in the background, with the records: for a first delivery, which
        no other instance can have claimed, so the answer need not wait for the database.
        A retry of it that reaches another instance later finds the claim (`claim_event`)."""
        now = _now()
        self._submit(
            RecordKind.EVENT,
            team_id,
            {"event_id": event_id, "team_id": team_id, "claimed_at": now, "done_at": now},
        )

    # -- the durable inbox (bot/store/inbox.py) ----------------------------------------------

    def accept_delivery(self, event_id: str, team_id: str | None, body: str) -> Acceptance:
        """Claim a mention or DM before acknowledging it, keeping its body until it is done:
        NEW (answer it inside `finishing`), DUPLICATE (claimed before, anywhere: do not answer)
        or UNAVAILABLE (the database cannot say: deduplicate in memory)."""
        return self.inbox.accept(event_id, team_id, body)

    def finishing(self, event_id: str) -> AbstractContextManager[None]:
        """Answer a delivery claimed with `accept_delivery` in this block: the records made on
        this thread meanwhile are written in the transaction that marks it done."""
        return self.inbox.finishing(event_id)

    def mark_sending(self, event_id: str, reply_uid: str, attempt: int) -> Sending:
        """Just before posting the reply to a delivery held at `attempt` (see Delivery), commit
        that the reply `reply_uid` is on its way: MARKED (post it), TAKEN (another instance
        holds it now: do not post; this thread's answer for it is dropped) or UNAVAILABLE
        (the database cannot say: post anyway)."""
        return self.inbox.mark_sending(event_id, reply_uid, attempt)

    def lease_unfinished(self, limit: int = 20) -> list[Unfinished]:
        """Deliveries acknowledged and never answered (their lease ran out), leased to this
        instance to answer. Raises StoreUnavailable."""
        return self.inbox.lease_unfinished(limit)

    def wait_for_one(self, event_ids: Iterable[str], timeout: float) -> bool:
        """Wait (up to `timeout` seconds) until one of the deliveries `event_ids` leased here
        was answered or dropped; True when one was."""
        return self.inbox.wait_for_one(event_ids, timeout)

    # -- records ---------------------------------------------------------------------------

    def record_question(
        self,
        *,
        team_id: str,
        channel_id: str | None,
        user_id: str | None,
        text: str,
        entry_id: str | None,
        score: float | None,
        closest: Sequence[tuple[str, float]] = (),
        asked_at: datetime | None = None,
        uid: str | None = None,
    ) -> None:
        """A question the bot answered with `entry_id`, or was not sure about (entry_id None,
        `closest` the topics it offered instead, with their scores). `uid` is the id the
        answer's message metadata names it by (see `new_uid`)."""
        self._submit(
            RecordKind.QUESTION,
            team_id,
            {
                "team_id": team_id,
                "channel_id": channel_id,
                "user_id": user_id,
                "text": text,
                "normalized": normalize_question(text),
                "entry_id": entry_id,
                "score": score,
                "closest": [
                    {"entry_id": closest_id, "score": float(closest_score)}
                    for closest_id, closest_score in closest
                ],
                "asked_at": _aware(asked_at),
                "uid": uid,
            },
        )

    def record_recommendation(
        self,
        *,
        team_id: str,
        user_id: str | None,
        framework_id: str,
        verdict: Verdict,
        recommended_at: datetime | None = None,
        uid: str | None = None,
    ) -> None:
        """A recommendation given: the winning framework and whether it was clear or close.
        `uid` is the id the result's message metadata names it by (see `new_uid`)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        self._submit(
            RecordKind.RECOMMENDATION,
            team_id,
            {
                "team_id": team_id,
                "user_id": user_id,
                "framework_id": framework_id,
                "verdict": verdict,
                "recommended_at": _aware(recommended_at),
                "uid": uid,
            },
        )

    def record_vote(
        self,
        *,
        team_id: str,
        user_id: str,
        message_key: str,
        target_kind: TargetKind,
        target_id: str,
        question: str | None,
        helpful: bool,
        voted_at: datetime | None = None,
        question_uid: str | None = None,
        recommendation_uid: str | None = None,
    ) -> None:
        """A Helpful / Not helpful vote. One vote per person per message (`message_key`,
        e.g. "C123:1700000000.000100"): voting again replaces the earlier vote, unless the
        stored vote is newer (votes delayed by an outage never undo a later one).
        `question_uid` is the stored question the rated answer was given to, and
        `recommendation_uid` the stored recommendation rated, when known."""
        self._submit(
            RecordKind.VOTE,
            team_id,
            {
                **_vote_row(
                    team_id,
                    user_id,
                    message_key,
                    target_kind,
                    target_id,
                    question,
                    helpful,
                    voted_at,
                ),
                "question_uid": question_uid,
                "recommendation_uid": recommendation_uid,
            },
        )

    # -- why a 👎 (bot/store/reasons.py) ----------------------------------------------------

    def record_vote_reason(
        self,
        *,
        team_id: str,
        user_id: str,
        message_key: str,
        target_kind: TargetKind,
        target_id: str,
        question: str | None,
        voted_at: datetime,
        reason: Reason,
        note: str | None = None,
        question_uid: str | None = None,
        recommendation_uid: str | None = None,
    ) -> None:
        """The reason for the Not helpful vote made at `voted_at` (the vote as record_vote
        stored it). It counts while that vote stands; a later vote retires it."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
        vote = _vote_row(
            team_id, user_id, message_key, target_kind, target_id, question, False, voted_at
        )
        self._submit(
            RecordKind.VOTE_REASON,
            team_id,
            {
                **vote,
                "question_uid": question_uid,
                "recommendation_uid": recommendation_uid,
                "reason": reason,
                "reason_note": (note or "").strip()[:MAX_REASON_NOTE] or None,
                "reason_for": vote["voted_at"],
            },
        )

    # -- knowledge stamp -------------------------------------------------------------------

    def set_knowledge_stamp(self, stamp: str) -> None:
        """Publish the knowledge version this instance loaded (e.g. a hash of the folder), at
        once when the database is reachable (the other instances look for it), otherwise as
        soon as it is back."""
        self._submit(
            RecordKind.STAMP,
            None,
            {"key": KNOWLEDGE_STAMP_KEY, "value": stamp, "updated_at": _now()},
        )
        self.flush()

    def get_knowledge_stamp(self) -> str | None:
        """The latest published knowledge version, or None if none was ever published.
        Raises StoreUnavailable when the database is down."""
        return self._read(
            lambda connection: connection.execute(
                select(meta.c.value).where(meta.c.key == KNOWLEDGE_STAMP_KEY)
            ).scalar_one_or_none()
        )

    # -- work done once across instances (bot/store/claims.py) -----------------------------

    def claim_once(self, key: str, lease: timedelta) -> bool:
        """True when this instance now owns the work `key` (the first to claim it, or one
        taking over a claim unfinished for longer than `lease`); False when another instance
        owns it or did it, and when the database is down (the caller tries again later)."""
        try:
            return self._run(
                lambda connection: claims.claim(connection, key, _now(), lease), read_only=False
            )
        except StoreUnavailable:
            return False

    def settle_claim(self, key: str, *, done: bool) -> bool:
        """Mark the work `key` done, or release it (done=False) so a later claim gets it.
        False when the database is down: the claim then stands until its lease runs out."""
        try:
            self._run(
                lambda connection: claims.settle(connection, key, _now(), done=done),
                read_only=False,
            )
        except StoreUnavailable:
            return False
        return True

    # -- curator views ---------------------------------------------------------------------

    def stats(
        self, team_id: str, since: datetime, until: datetime | None = None, limit: int = 10
    ) -> Stats:
        """One workspace's figures for [since, until) (until defaults to now); `limit` caps
        the top entries and the unanswered list. Raises StoreUnavailable when down."""
        since = _aware(since)
        until = _aware(until)
        return self._read(
            lambda connection: compute_stats(connection, team_id, since, until, limit)
        )

    def export(
        self,
        what: ExportKind,
        team_id: str | None = None,
        fmt: str = "csv",
        since: datetime | None = None,
    ) -> str:
        """Every vote (what="feedback") or every not-sure question still holding its text
        (what="unanswered") as CSV with a header row, oldest first; one workspace, or all of
        them with team_id None. Raises StoreUnavailable when down."""
        if what not in EXPORT_KINDS:
            raise ValueError(f"what must be one of {', '.join(EXPORT_KINDS)}, not {what!r}")
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
        start = None if since is None else _aware(since)
        return self._read(lambda connection: export_csv(connection, what, team_id, start))

    def team_ids(self) -> list[str]:
        """Workspaces with stored questions, recommendations or votes, sorted."""
        query = union(
            select(questions.c.team_id),
            select(recommendations.c.team_id),
            select(feedback.c.team_id),
        )
        return self._read(lambda connection: sorted(connection.execute(query).scalars()))

    # -- retention and removal -------------------------------------------------------------

    def purge(self, retention_days: int, now: datetime | None = None) -> int:
        """Blank question texts (asked questions and the question on votes) older than
        `retention_days`; the counts behind the stats stay. Returns how many texts were
        removed. Raises StoreUnavailable when down."""
        if retention_days < 0:
            raise ValueError("retention_days must not be negative")
        cutoff = _aware(now) - timedelta(days=retention_days)
        return self._write_now(lambda connection: purge_texts(connection, cutoff))

    def delete_team(self, team_id: str) -> bool:
        """Remove everything stored for a workspace (app_uninstalled, tokens_revoked),
        including its records still waiting in the buffer. Returns True when done; False when
        the database is down, in which case the deletion waits (it is never dropped) and runs
        before anything else once the database is back."""
        self.writes.delete_team(team_id)
        return self.flush()

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> bool:
        """Try to write everything waiting now, whatever the retry interval says. True when
        nothing is left waiting. Answers being finished on other threads (their records are
        written with their done mark) are waited for first, for a moment."""
        self.inbox.settle()
        self.writes.drain()
        return self.writes.waiting() == 0

    def _submit(self, kind: RecordKind, team_id: str | None, values: dict[str, object]) -> None:
        write = Write(kind, team_id, dict(values))
        answer = collecting()
        if answer is not None:
            answer.append(write)  # written with the delivery's done mark
        else:
            self.writes.submit(write)

    def _write_now(self, work: Callable[[Connection], _T]) -> _T:
        """Write what is waiting first (so maintenance covers it), then run a maintenance
        write in one transaction, or raise StoreUnavailable."""
        self.flush()
        return self._run(work, read_only=False)

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        """Write what is waiting first (so reads see it), then read, or raise
        StoreUnavailable."""
        if not self.available():
            raise self.availability.unavailable()
        if not self.flush() and not self.availability.ok:
            raise self.availability.unavailable()
        return self._run(work, read_only=True)

    def _run(self, work: Callable[[Connection], _T], *, read_only: bool) -> _T:
        with self.availability.attempt():
            self._ensure_schema()
            gate = nullcontext() if read_only else write_gate(self.engine)
            with gate, self.engine.connect() as connection:
                if read_only:
                    connection.execution_options(**READ_ONLY)
                with connection.begin():
                    return work(connection)

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                migrate.upgrade(self.engine)
                self._schema_ready = True

    def _maintain_if_due(self) -> None:
        if not self.maintenance.due():
            return
        try:
            with self.availability.attempt(), writing(self.engine) as connection:
                self.maintenance.run(connection)
        except StoreUnavailable:
            pass  # the outage is logged; maintenance runs after the next write


def _vote_row(
    team_id: str,
    user_id: str,
    message_key: str,
    target_kind: TargetKind,
    target_id: str,
    question: str | None,
    helpful: bool,
    voted_at: datetime | None,
) -> dict[str, object]:
    """One vote as the feedback table holds it; raises ValueError for an unknown target kind."""
    if target_kind not in TARGET_KINDS:
        raise ValueError(
            f"target_kind must be one of {', '.join(TARGET_KINDS)}, not {target_kind!r}"
        )
    return {
        "team_id": team_id,
        "user_id": user_id,
        "message_key": message_key,
        "target_kind": target_kind,
        "target_id": target_id,
        "question": question,
        "helpful": bool(helpful),
        "voted_at": _aware(voted_at),
    }


def new_uid() -> str:
    """The id of a question about to be answered or a recommendation about to be given: made
    before the record is written (it is written behind the write queue), so the message's
    metadata can carry it."""
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return _now()
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. in UTC)")
    return value.astimezone(UTC)
