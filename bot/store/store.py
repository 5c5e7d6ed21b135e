"""The Store: every piece of state the bot keeps, behind one object that survives an outage.

Writes never raise for a database that is down, and never run on the caller's thread: records
go into a bounded in-memory buffer that a writer thread writes, in order (reads and `flush()`
write what waits first). A failed attempt closes the door for `retry_interval` seconds, after
which the writer tries again, so the backlog lands when the database returns. Outages are logged
once per `log_interval` (a minute), with how many attempts failed and how much is waiting;
records pushed out of a full buffer are counted in `health().dropped` and logged. Reads raise
`StoreUnavailable` instead. Event claims are the exception: the caller needs the answer, so
`claim_event` asks the database at once; `note_event` is the claim of an event nobody else can
have claimed yet (Slack's first delivery), written with the records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, union, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.store import migrate
from bot.store.decision_texts import purge_decision_texts
from bot.store.engine import READ_ONLY, is_connection_error
from bot.store.folding import normalize_question
from bot.store.reasons import MAX_REASON_NOTE, REASONS, Reason, upsert_reason
from bot.store.schema import (
    TEAM_TABLES,
    events,
    feedback,
    meta,
    questions,
    recommendations,
    slack_oauth_states,
)
from bot.store.stats import (
    EXPORT_FORMATS,
    EXPORT_KINDS,
    ExportKind,
    Stats,
    compute_stats,
    export_csv,
)

logger = logging.getLogger(__name__)

Verdict = Literal["clear", "close"]
VERDICTS: tuple[Verdict, ...] = ("clear", "close")
TargetKind = Literal["entry", "recommendation"]
TARGET_KINDS: tuple[TargetKind, ...] = ("entry", "recommendation")

KNOWLEDGE_STAMP_KEY = "knowledge_stamp"

DEFAULT_MAX_PENDING = 10_000
DEFAULT_RETRY_INTERVAL = 5.0
DEFAULT_LOG_INTERVAL = 60.0
DEFAULT_EVENT_TTL = timedelta(days=1)
"""Slack redelivers an event for about five minutes; a day of claims is ample."""
DEFAULT_MAINTENANCE_INTERVAL = 60 * 60.0
WRITE_BATCH = 200
WRITE_LINGER_SECONDS = 0.1
"""How long the writer lets records gather before writing them in one transaction: under load
one transaction carries many records instead of each taking the database's write lock. A
transaction costs the writer about 2 ms of CPU however few records it carries; records are
read by curators, and event claims by retries 3 seconds later, so 0.1 s later is as good."""

_T = TypeVar("_T")


class StoreUnavailable(RuntimeError):
    """The database cannot be reached right now. Callers turn this into a polite message
    ("stats are unavailable at the moment"); the bot keeps answering questions."""


class Health(NamedTuple):
    ok: bool
    """The last attempt to reach the database succeeded (no I/O is done to find out)."""
    pending: int
    """Records and workspace deletions waiting to be written."""
    dropped: int
    """Records lost since start because the buffer was full, or rejected by the database."""
    last_error: str | None
    """Why the database is unreachable; None while it is reachable."""


@dataclass(frozen=True)
class _Write:
    kind: str
    team_id: str | None
    values: dict[str, Any]


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
        background_writer: bool = True,
    ) -> None:
        if engine.dialect.name not in _INSERT:
            raise ValueError(
                f"unsupported database {engine.dialect.name!r}: use PostgreSQL or SQLite"
            )
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.engine = engine
        self.retention_days = retention_days
        self._max_pending = max_pending
        self._retry_interval = retry_interval
        self._log_interval = log_interval
        self._event_ttl = event_ttl
        self._maintenance_interval = maintenance_interval
        self._clock = clock
        self._background_writer = background_writer
        self._writer: threading.Thread | None = None
        self._wake_writer = threading.Event()
        self._closed = False

        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._pending: deque[_Write] = deque()
        self._pending_deletions: list[str] = []
        self._in_flight = 0

        self._ok = True
        self._last_error: str | None = None
        self._retry_at = 0.0
        self._failures_since_log = 0
        self._outage_failures = 0
        self._outage_logged_at: float | None = None
        self._dropped = 0
        self._dropped_by_kind: Counter[str] = Counter()
        self._drop_logged_at: float | None = None
        self._maintained_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Migrate the schema and run maintenance. Returns False when the database is down:
        the store then works from its buffer and migrates on the first successful attempt.
        Errors other than an unreachable database (a broken migration) are raised."""
        try:
            self._ensure_schema()
            with self.engine.begin() as connection:
                self._maintain(connection)
        except Exception as error:
            if not is_connection_error(error):
                raise
            self._failed(error)
            return False
        self._succeeded()
        return True

    def close(self) -> None:
        """Stop the writer, write what is waiting (if the database is reachable) and release
        connections."""
        with self._lock:
            self._closed = True
            writer = self._writer
        self._wake_writer.set()
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=10)
        self.flush()
        self.engine.dispose()

    def available(self) -> bool:
        """Worth trying the database now: it answered last time, or the wait after a failure
        is over. No I/O."""
        return self._may_try()

    def health(self) -> Health:
        with self._lock:
            return Health(
                ok=self._ok,
                pending=len(self._pending) + len(self._pending_deletions) + self._in_flight,
                dropped=self._dropped,
                last_error=self._last_error,
            )

    # -- events ----------------------------------------------------------------------------

    def claim_event(self, event_id: str, team_id: str | None = None) -> bool:
        """True for the first claim of `event_id` by any instance on this database, False
        after that. Atomic under concurrency (one row per event_id).

        With the database down it returns True: answering twice is better than not answering,
        so the caller's in-process dedupe is the only guard until the database is back."""
        if not self._may_try():
            return True
        try:
            self._ensure_schema()
            with self.engine.begin() as connection:
                # RETURNING gives a row only when this insert won; rowcount is not reliable
                # for INSERT on every driver.
                claimed = connection.execute(
                    _CLAIM[connection.dialect.name],
                    {"event_id": event_id, "team_id": team_id, "claimed_at": _now()},
                ).first()
        except Exception as error:
            if not is_connection_error(error):
                raise
            self._failed(error)
            return True
        self._succeeded()
        return claimed is not None

    def note_event(self, event_id: str, team_id: str | None = None) -> None:
        """Claim `event_id` in the background, with the records: for a first delivery, which
        no other instance can have claimed, so the answer need not wait for the database.
        A retry of it that reaches another instance later finds the claim (`claim_event`)."""
        self._submit(
            "event", team_id, {"event_id": event_id, "team_id": team_id, "claimed_at": _now()}
        )

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
    ) -> None:
        """A question the bot answered with `entry_id`, or was not sure about (entry_id None,
        `closest` the topics it offered instead, with their scores)."""
        self._submit(
            "question",
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
    ) -> None:
        """A recommendation given: the winning framework and whether it was clear or close."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        self._submit(
            "recommendation",
            team_id,
            {
                "team_id": team_id,
                "user_id": user_id,
                "framework_id": framework_id,
                "verdict": verdict,
                "recommended_at": _aware(recommended_at),
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
    ) -> None:
        """A Helpful / Not helpful vote. One vote per person per message (`message_key`,
        e.g. "C123:1700000000.000100"): voting again replaces the earlier vote, unless the
        stored vote is newer (votes delayed by an outage never undo a later one)."""
        if target_kind not in TARGET_KINDS:
            raise ValueError(
                f"target_kind must be one of {', '.join(TARGET_KINDS)}, not {target_kind!r}"
            )
        self._submit(
            "vote",
            team_id,
            {
                "team_id": team_id,
                "user_id": user_id,
                "message_key": message_key,
                "target_kind": target_kind,
                "target_id": target_id,
                "question": question,
                "helpful": bool(helpful),
                "voted_at": _aware(voted_at),
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
    ) -> None:
        """The reason for the Not helpful vote made at `voted_at` (the vote as record_vote
        stored it). It counts while that vote stands; a later vote retires it."""
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
        if target_kind not in TARGET_KINDS:
            raise ValueError(
                f"target_kind must be one of {', '.join(TARGET_KINDS)}, not {target_kind!r}"
            )
        voted_at = _aware(voted_at)
        self._submit(
            "vote_reason",
            team_id,
            {
                "team_id": team_id,
                "user_id": user_id,
                "message_key": message_key,
                "target_kind": target_kind,
                "target_id": target_id,
                "question": question,
                "helpful": False,
                "voted_at": voted_at,
                "reason": reason,
                "reason_note": (note or "").strip()[:MAX_REASON_NOTE] or None,
                "reason_for": voted_at,
            },
        )

    # -- knowledge stamp -------------------------------------------------------------------

    def set_knowledge_stamp(self, stamp: str) -> None:
        """Publish the knowledge version this instance loaded (e.g. a hash of the folder), at
        once when the database is reachable (the other instances look for it), otherwise as
        soon as it is back."""
        self._submit(
            "stamp", None, {"key": KNOWLEDGE_STAMP_KEY, "value": stamp, "updated_at": _now()}
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
        return self._write_now(lambda connection: _purge_texts(connection, cutoff))

    def delete_team(self, team_id: str) -> bool:
        """Remove everything stored for a workspace (app_uninstalled, tokens_revoked),
        including its records still waiting in the buffer. Returns True when done; False when
        the database is down, in which case the deletion waits (it is never dropped) and runs
        before anything else once the database is back."""
        with self._lock:
            kept = [write for write in self._pending if write.team_id != team_id]
            self._pending = deque(kept)
            if team_id not in self._pending_deletions:
                self._pending_deletions.append(team_id)
        return self.flush()

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> bool:
        """Try to write everything waiting now, whatever the retry interval says. True when
        nothing is left waiting."""
        with self._drain_lock:
            self._drain()
        return self.health().pending == 0

    def _submit(self, kind: str, team_id: str | None, values: dict[str, Any]) -> None:
        self._enqueue([_Write(kind, team_id, values)], at_front=False)
        if self._background_writer:
            self._start_writer()
            self._wake_writer.set()
        elif self._may_try():
            self._drain_unless_busy()

    def _enqueue(self, writes: list[_Write], *, at_front: bool) -> None:
        dropped: Counter[str] = Counter()
        with self._lock:
            if at_front:
                self._pending.extendleft(reversed(writes))
            else:
                self._pending.extend(writes)
            while len(self._pending) > self._max_pending:
                dropped[self._pending.popleft().kind] += 1
        if dropped:
            self._count_dropped(dropped, reason="the write buffer is full")

    def _drain_unless_busy(self) -> None:
        """Drain in this thread unless another thread is draining already. That thread looks
        again after it lets go, so a write queued meanwhile is not stranded."""
        while self._drain_lock.acquire(blocking=False):
            try:
                reached = self._drain()
            finally:
                self._drain_lock.release()
            with self._lock:
                waiting = bool(self._pending or self._pending_deletions)
            if not (reached and waiting and self._may_try()):
                return

    def _drain(self) -> bool:
        """Write waiting deletions and records, oldest first, until none are left (True) or
        the database fails (False). The caller holds _drain_lock."""
        while True:
            with self._lock:
                deletions = self._pending_deletions
                self._pending_deletions = []
                batch = [
                    self._pending.popleft() for _ in range(min(WRITE_BATCH, len(self._pending)))
                ]
                self._in_flight = len(deletions) + len(batch)
            if not deletions and not batch:
                return True
            try:
                self._ensure_schema()
                with self.engine.begin() as connection:
                    for team_id in deletions:
                        _delete_team_rows(connection, team_id)
                    _write_all(connection, batch)
            except Exception as error:
                if is_connection_error(error):
                    self._give_back(deletions, batch)
                    self._failed(error)
                    return False
                if not self._write_one_by_one(deletions, batch):
                    return False
            else:
                with self._lock:
                    self._in_flight = 0
                self._succeeded()
            self._maybe_maintain()

    def _write_one_by_one(self, deletions: list[str], batch: list[_Write]) -> bool:
        """After a batch failed for a reason other than the connection: write each item in
        its own transaction so one bad record cannot block the rest. A rejected record is
        dropped, counted and logged. False if the database became unreachable."""
        for index, team_id in enumerate(deletions):
            try:
                with self.engine.begin() as connection:
                    _delete_team_rows(connection, team_id)
            except Exception as error:
                if is_connection_error(error):
                    self._give_back(deletions[index:], batch)
                    self._failed(error)
                    return False
                logger.exception("Could not delete the data of workspace %s", team_id)
                self._count_dropped(Counter(["workspace deletion"]), reason=None)
        for index, write in enumerate(batch):
            try:
                with self.engine.begin() as connection:
                    _WRITERS[write.kind](connection, write.values)
            except Exception as error:
                if is_connection_error(error):
                    self._give_back([], batch[index:])
                    self._failed(error)
                    return False
                logger.exception("The database rejected a %s record; it is dropped", write.kind)
                self._count_dropped(Counter([write.kind]), reason=None)
            else:
                self._succeeded()
        with self._lock:
            self._in_flight = 0
        return True

    def _give_back(self, deletions: list[str], batch: list[_Write]) -> None:
        with self._lock:
            self._pending_deletions = deletions + [
                team for team in self._pending_deletions if team not in deletions
            ]
            self._in_flight = 0
        self._enqueue(batch, at_front=True)

    def _write_now(self, work: Callable[[Connection], _T]) -> _T:
        """Write what is waiting first (so maintenance covers it), then run a maintenance
        write in one transaction, or raise StoreUnavailable."""
        self.flush()
        return self._run(work, read_only=False)

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        """Write what is waiting first (so reads see it), then read, or raise
        StoreUnavailable."""
        if not self._may_try():
            raise self._unavailable()
        if not self.flush() and not self.health().ok:
            raise self._unavailable()
        return self._run(work, read_only=True)

    def _run(self, work: Callable[[Connection], _T], *, read_only: bool) -> _T:
        try:
            self._ensure_schema()
            with self.engine.connect() as connection:
                if read_only:
                    connection.execution_options(**READ_ONLY)
                with connection.begin():
                    result = work(connection)
        except Exception as error:
            if not is_connection_error(error):
                raise
            self._failed(error)
            raise self._unavailable() from error
        self._succeeded()
        return result

    def _unavailable(self) -> StoreUnavailable:
        with self._lock:
            reason = self._last_error or "unknown error"
        return StoreUnavailable(f"the database is unavailable ({reason})")

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                migrate.upgrade(self.engine)
                self._schema_ready = True

    # -- maintenance -----------------------------------------------------------------------

    def _maybe_maintain(self) -> None:
        with self._lock:
            now = self._clock()
            due = self._maintained_at is None or (
                now - self._maintained_at >= self._maintenance_interval
            )
        if not due:
            return
        try:
            with self.engine.begin() as connection:
                self._maintain(connection)
        except Exception as error:
            if not is_connection_error(error):
                raise
            self._failed(error)

    def _maintain(self, connection: Connection) -> None:
        """Forget old event claims and OAuth states of installs never finished (slack_sdk
        deletes a state only when it is used) and, with a retention period, old question
        texts."""
        now = _now()
        connection.execute(delete(events).where(events.c.claimed_at < now - self._event_ttl))
        # slack_sdk stores expiry times as naive UTC.
        naive_now = now.replace(tzinfo=None)
        connection.execute(
            delete(slack_oauth_states).where(slack_oauth_states.c.expire_at < naive_now)
        )
        if self.retention_days is not None:
            purged = _purge_texts(connection, now - timedelta(days=self.retention_days))
            if purged:
                logger.info(
                    "Removed %d question texts older than %d days", purged, self.retention_days
                )
        with self._lock:
            self._maintained_at = self._clock()

    # -- availability ----------------------------------------------------------------------

    def _may_try(self) -> bool:
        with self._lock:
            return self._clock() >= self._retry_at

    def _start_writer(self) -> None:
        with self._lock:
            if self._writer is not None or self._closed:
                return
            self._writer = threading.Thread(target=self._write_in_background, daemon=True)
            self._writer.name = "store-writer"
        self._writer.start()

    def _write_in_background(self) -> None:
        """The writer thread: records are written here, never on the thread of the request
        that made them (a database that is slow, locked or down must not hold up an answer or
        the next acknowledgement). While records wait after a failure, it tries again every
        retry interval, so the backlog lands when the database returns."""
        while True:
            with self._lock:
                waiting = bool(self._pending or self._pending_deletions)
                closed = self._closed
            if closed:
                return
            if waiting and self._may_try():
                time.sleep(WRITE_LINGER_SECONDS)
                with self._drain_lock:
                    self._drain()
                continue
            self._wake_writer.wait(max(self._retry_interval, 0.05) if waiting else None)
            self._wake_writer.clear()

    def _failed(self, error: BaseException) -> None:
        reason = _describe(error)
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
            pending = len(self._pending) + len(self._pending_deletions) + self._in_flight
        logger.warning(
            "Database unavailable (%s): questions are still answered; %d records wait to be "
            "written (%d failed attempts since the last message, next report in %ds at most)",
            reason,
            pending,
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
            pending = len(self._pending) + len(self._pending_deletions) + self._in_flight
            dropped = self._dropped
        logger.warning(
            "Database reachable again after %d failed attempts: %d records still waiting to be "
            "written, %d records lost since start",
            failures,
            pending,
            dropped,
        )

    def _count_dropped(self, kinds: Counter[str], reason: str | None) -> None:
        with self._lock:
            self._dropped += sum(kinds.values())
            self._dropped_by_kind.update(kinds)
            total, by_kind = self._dropped, dict(self._dropped_by_kind)
            if reason is None:
                return  # the caller logged this one
            now = self._clock()
            due = self._drop_logged_at is None or now - self._drop_logged_at >= self._log_interval
            if not due:
                return
            self._drop_logged_at = now
        described = ", ".join(f"{count} {kind}" for kind, count in sorted(by_kind.items()))
        logger.error(
            "Records lost because %s (%d waiting at most): %d dropped since start (%s)",
            reason,
            self._max_pending,
            total,
            described,
        )


# -- statements ------------------------------------------------------------------------------

_INSERT: dict[str, Callable[[Any], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def _insert(connection: Connection, table: Any) -> Any:
    """INSERT with ON CONFLICT support for this connection's backend."""
    return _INSERT[connection.dialect.name](table)


_CLAIM = {
    name: insert_for(events)
    .values(
        event_id=bindparam("event_id"),
        team_id=bindparam("team_id"),
        claimed_at=bindparam("claimed_at"),
    )
    .on_conflict_do_nothing(index_elements=[events.c.event_id])
    .returning(events.c.event_id)
    for name, insert_for in _INSERT.items()
}
"""The event claim, built once per backend: it runs before every event is answered."""


_NOTE = {
    name: insert_for(events).on_conflict_do_nothing(index_elements=[events.c.event_id])
    for name, insert_for in _INSERT.items()
}
"""A claim written in the background: the event may have been claimed by a retry meanwhile."""


def _note_events(connection: Connection, rows: list[dict[str, Any]]) -> None:
    connection.execute(_NOTE[connection.dialect.name], rows)


def _insert_row(table: Any) -> Callable[[Connection, dict[str, Any]], None]:
    def write(connection: Connection, values: dict[str, Any]) -> None:
        connection.execute(insert(table).values(**values))

    return write


def _upsert_vote(connection: Connection, values: dict[str, Any]) -> None:
    statement = _insert(connection, feedback).values(**values)
    changed = ("target_kind", "target_id", "question", "helpful", "voted_at")
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[feedback.c.team_id, feedback.c.message_key, feedback.c.user_id],
            set_={name: statement.excluded[name] for name in changed},
            where=feedback.c.voted_at <= statement.excluded.voted_at,
        )
    )


def _upsert_meta(connection: Connection, values: dict[str, Any]) -> None:
    statement = _insert(connection, meta).values(**values)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[meta.c.key],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
            where=meta.c.updated_at <= statement.excluded.updated_at,
        )
    )


_WRITERS: dict[str, Callable[[Connection, dict[str, Any]], None]] = {
    "question": _insert_row(questions),
    "recommendation": _insert_row(recommendations),
    "vote": _upsert_vote,
    "vote_reason": upsert_reason,
    "stamp": _upsert_meta,
    "event": lambda connection, values: _note_events(connection, [values]),
}


_APPENDED = {"question": questions, "recommendation": recommendations}
"""Kinds that are plain inserts: a run of them goes to the database as one executemany."""


def _write_all(connection: Connection, batch: list[_Write]) -> None:
    """Each kind's records in one statement, in the order they came: records of different
    kinds do not depend on each other (a question, its event's claim, a vote), so an
    interleaved batch is still two or three executemany, not one statement per record."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for write in batch:
        runs.setdefault(write.kind, []).append(write.values)
    for kind, rows in runs.items():
        table = _APPENDED.get(kind)
        if table is not None:
            connection.execute(insert(table), rows)
        elif kind == "event":
            _note_events(connection, rows)
        else:
            for values in rows:
                _WRITERS[kind](connection, values)


def _delete_team_rows(connection: Connection, team_id: str) -> None:
    for table in TEAM_TABLES:
        connection.execute(delete(table).where(table.c.team_id == team_id))


def _purge_texts(connection: Connection, cutoff: datetime) -> int:
    asked = connection.execute(
        update(questions)
        .where(questions.c.asked_at < cutoff, questions.c.text.is_not(None))
        .values(text=None, normalized=None)
    ).rowcount
    voted = connection.execute(
        update(feedback)
        .where(feedback.c.voted_at < cutoff, feedback.c.question.is_not(None))
        .values(question=None)
    ).rowcount
    notes = connection.execute(
        update(feedback)
        .where(feedback.c.voted_at < cutoff, feedback.c.reason_note.is_not(None))
        .values(reason_note=None)
    ).rowcount
    return asked + voted + notes + purge_decision_texts(connection, cutoff)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return _now()
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (e.g. in UTC)")
    return value.astimezone(UTC)


def _describe(error: BaseException) -> str:
    """The first line of the driver's message, without SQLAlchemy's statement dump."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()
    return (text[0] if text else type(original).__name__)[:300]
