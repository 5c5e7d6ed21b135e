"""The durable inbox: a mention or DM is written down before it is acknowledged, and marked
done in the same transaction as the records its answer made.

The claim is the insert: one `events` row per event_id, `INSERT … ON CONFLICT DO NOTHING`, so
however often and to whichever instance Slack delivers an event, one claim wins. The winner
holds a lease while it answers; a row whose lease ran out without being done (the process died
after the ack) is leased again by whichever instance looks next (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite's write lock serialises the lease), answered and marked done. Claims and
done marks of concurrent requests share transactions (group commit); on SQLite, where a commit
does not wait for the disk, each claim is one autocommit INSERT instead, so that the write lock
is held inside one call (see `statements.accept_on_sqlite`), and the group commit only queues
this process's claims behind each other rather than polling SQLite's lock.

Just before its reply is posted, a delivery is marked `sending` (`mark_sending`: the reply's id,
committed, not queued), and only by the holder of its current lease (the attempt it was
given). A crash between the post and the done mark leaves a sending row: whoever leases it next
looks for that reply in Slack before answering (bot/slack/platform/reply_check.py), instead of
answering it twice. A row never marked sending had no reply on its way: it is answered as is.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import partial
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, select, update

from bot.store.availability import Availability, StoreUnavailable
from bot.store.engine import while_sqlite_locked, write_gate, writing
from bot.store.group_commit import GroupCommit
from bot.store.schema import events
from bot.store.statements import (
    ACCEPT_DELIVERY,
    FinishOnSqlite,
    RecordKind,
    Row,
    accept_on_sqlite,
    mark_sending,
    mark_sending_on_sqlite,
    sqlite_cursor,
    write_grouped,
)
from bot.store.write_queue import Write, WriteQueue

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=60)
"""How long the instance that acknowledged a delivery has to answer it before another may."""
SETTLE_SECONDS = 2.0
"""How long `settle()` waits for answers in progress (their records are not written yet)."""
MAX_ATTEMPTS = 3
"""Leases of one delivery after the first: one that failed this often is given up (logged)."""


class Acceptance(Enum):
    NEW = "new"
    """Claimed here: answer it, then finish it."""
    DUPLICATE = "duplicate"
    """Claimed before (a retry, a replay, another instance): do not answer it."""
    UNAVAILABLE = "unavailable"
    """The database could not be asked: fall back to deduplicating in memory."""


class Sending(Enum):
    MARKED = "marked"
    """Marked sending (committed) and its lease renewed: post the reply now."""
    TAKEN = "taken"
    """Another instance holds the delivery's lease now (the caller's ran out), or it is done:
    do not post; the answer being finished for it on this thread is dropped."""
    UNAVAILABLE = "unavailable"
    """The database could not be asked: post anyway (answered at least once)."""


@dataclass(frozen=True)
class Unfinished:
    """A delivery acknowledged and not answered, leased to the caller."""

    event_id: str
    body: str
    attempt: int
    reply_uid: str | None = None
    """The id of a reply that was on its way when the last holder stopped (the delivery was
    marked sending): it may be in Slack already. None: no reply was ever on its way."""


@dataclass(frozen=True)
class _Claim:
    event_id: str
    team_id: str | None
    body: str


@dataclass(frozen=True)
class _Finish:
    event_id: str
    writes: tuple[Write, ...]


@dataclass(frozen=True)
class _Mark:
    event_id: str
    reply_uid: str
    attempt: int


@dataclass
class _Answer:
    """The answer being finished on a thread: its records, and whether it was dropped."""

    event_id: str
    records: list[Write] = field(default_factory=list)
    dropped: bool = False


_Item = TypeVar("_Item", _Claim, _Mark)

_collected: ContextVar[_Answer | None] = ContextVar("collected_records", default=None)


def collecting() -> list[Write] | None:
    """The records of the answer being finished on this thread, if one is."""
    answer = _collected.get()
    return None if answer is None else answer.records


class Inbox:
    def __init__(
        self,
        engine: Engine,
        availability: Availability,
        writes: WriteQueue,
        *,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        prepare: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._availability = availability
        self._writes = writes
        self.lease = lease
        self._max_attempts = max_attempts
        self._prepare = prepare
        self._claims: GroupCommit[_Claim, bool] = GroupCommit(self._claim_batch)
        self._finishes: GroupCommit[_Finish, None] = GroupCommit(self._finish_batch)
        self._marks: GroupCommit[_Mark, bool] = GroupCommit(self._mark_batch)
        self._answering = 0
        self._settled = threading.Condition()
        self._leased: set[str] = set()
        """Deliveries this instance leased and has not finished yet (see `wait_for_one`)."""

    # -- claiming --------------------------------------------------------------------------

    def accept(self, event_id: str, team_id: str | None, body: str) -> Acceptance:
        """Claim a delivery before its acknowledgement, with its body and a lease."""
        claim = _Claim(event_id, team_id, body)
        won = self._ask(self._claims, claim, "Could not write event %s to the inbox")
        if won is None:
            return Acceptance.UNAVAILABLE
        return Acceptance.NEW if won else Acceptance.DUPLICATE

    def _ask(self, commit: GroupCommit[_Item, bool], item: _Item, failure: str) -> bool | None:
        """`commit.submit(item)`: what the database said, or None when it could not be asked
        (a failure other than an unreachable database is logged: `failure`, a message with a
        %s for the item's event id)."""
        if not self._availability.may_try():
            return None
        try:
            return commit.submit(item)
        except StoreUnavailable:
            return None
        except Exception:
            logger.exception(failure, item.event_id)
            return None

    def _claim_batch(self, claims: Sequence[_Claim]) -> list[bool | BaseException]:
        now = _now()
        rows = [
            {
                "event_id": claim.event_id,
                "team_id": claim.team_id,
                "claimed_at": now,
                "body": claim.body,
                "lease_until": now + self.lease,
            }
            for claim in claims
        ]
        with self._availability.attempt():
            self._prepare()
            if self._engine.dialect.name == "sqlite":
                return list(accept_on_sqlite(self._engine, rows))
            with writing(self._engine) as connection:
                statement = ACCEPT_DELIVERY[connection.dialect.name]
                return [connection.execute(statement, row).first() is not None for row in rows]

    # -- finishing -------------------------------------------------------------------------

    @contextmanager
    def finishing(self, event_id: str) -> Iterator[None]:
        """Answer the delivery inside this block: the records submitted on this thread meanwhile
        are written with its done mark, in one transaction, when the block ends (also when it
        raises: the person was told something, and a retry would only repeat it). An answer
        whose `mark_sending` found the delivery taken is dropped instead: neither its records
        nor a done mark are written (the lease holder writes its own)."""
        answer = _Answer(event_id)
        token = _collected.set(answer)
        with self._settled:
            self._answering += 1
        try:
            yield
        finally:
            _collected.reset(token)
            try:
                if answer.dropped:
                    logger.info("Event %s is answered by another instance; not here", event_id)
                else:
                    self.finish(event_id, answer.records)
            finally:
                with self._settled:
                    self._answering -= 1
                    self._leased.discard(event_id)
                    self._settled.notify_all()

    def wait_for_one(self, event_ids: Iterable[str], timeout: float) -> bool:
        """Wait until one of the deliveries `event_ids`, leased here, has been answered (or
        dropped), or `timeout` seconds; True when one was (or there were none)."""
        waiting = set(event_ids)
        with self._settled:
            return self._settled.wait_for(
                lambda: not waiting or len(waiting & self._leased) < len(waiting), timeout
            )

    def settle(self, timeout: float = SETTLE_SECONDS) -> None:
        """Wait (a little) for answers in progress on other threads to write their records,
        so that a read made after a reply was posted sees that reply's records."""
        if collecting() is not None:
            return  # called from inside an answer: it cannot wait for itself
        with self._settled:
            self._settled.wait_for(lambda: self._answering == 0, timeout)

    def finish(self, event_id: str, records: Sequence[Write]) -> None:
        finished = _Finish(event_id, tuple(records))
        if self._availability.may_try():
            try:
                self._finishes.submit(finished)
                return
            except StoreUnavailable:
                pass
        self._queue(finished)

    def _queue(self, finished: _Finish) -> None:
        """The database went away between the claim and the answer: the records and the done
        mark wait in the write queue, together."""
        for write in finished.writes:
            self._writes.submit(write)
        self._writes.submit(Write(RecordKind.DONE, None, {"done_id": finished.event_id}))

    def _finish_batch(self, finishes: Sequence[_Finish]) -> list[BaseException | None]:
        try:
            with self._availability.attempt():
                self._prepare()
                kinds = (write.kind for finished in finishes for write in finished.writes)
                if self._engine.dialect.name == "sqlite" and FINISH_ON_SQLITE.takes(kinds):
                    with write_gate(self._engine):
                        self._finish_on_sqlite(finishes)
                else:
                    with writing(self._engine) as connection:
                        self._write_finishes(connection, finishes)
            return [None] * len(finishes)
        except StoreUnavailable:
            raise
        except Exception:
            if len(finishes) == 1:
                # A record the database refuses: the queue writes it alone and drops it (counted,
                # logged); the done mark goes with it.
                self._queue(finishes[0])
                return [None]
        results: list[BaseException | None] = []
        for finished in finishes:
            try:
                results.extend(self._finish_batch([finished]))
            except StoreUnavailable as error:
                results.append(error)
        return results

    @staticmethod
    def _write_finishes(connection: Connection, finishes: Sequence[_Finish]) -> None:
        """The done marks first, each only where the row is not done yet (the row lock or
        SQLite's write lock makes that exact), then the records of the answers whose mark
        was made here (see `_records_to_write`)."""
        event_ids = _event_ids(finishes)
        marked = set(
            connection.execute(
                update(events)
                .where(events.c.event_id.in_(event_ids), events.c.done_at.is_(None))
                .values(done_at=_now(), body=None)
                .returning(events.c.event_id)
            ).scalars()
        )
        not_marked = [event_id for event_id in event_ids if event_id not in marked]
        finished_elsewhere = (
            set(
                connection.execute(
                    select(events.c.event_id).where(events.c.event_id.in_(not_marked))
                ).scalars()
            )
            if not_marked
            else set()
        )
        write_grouped(connection, _records_to_write(finishes, finished_elsewhere))

    def _finish_on_sqlite(self, finishes: Sequence[_Finish]) -> None:
        """`_write_finishes` on SQLite, through statements compiled once (FinishOnSqlite)."""
        with sqlite_cursor(self._engine, "the done marks of answered deliveries") as cursor:
            while_sqlite_locked(partial(cursor.execute, "BEGIN IMMEDIATE"))
            try:
                now = _now()
                event_ids = _event_ids(finishes)
                marked = {i for i in event_ids if FINISH_ON_SQLITE.mark_done(cursor, i, now)}
                finished_elsewhere = {
                    i for i in event_ids if i not in marked and FINISH_ON_SQLITE.exists(cursor, i)
                }
                FINISH_ON_SQLITE.insert(cursor, _records_to_write(finishes, finished_elsewhere))
                cursor.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):  # SQLite may have rolled it back itself
                    cursor.execute("ROLLBACK")
                raise

    # -- sending ---------------------------------------------------------------------------

    def mark_sending(self, event_id: str, reply_uid: str, attempt: int) -> Sending:
        """Before posting the reply to a delivery held at `attempt` (0: the claim; n: the n-th
        lease after it), commit that `reply_uid` is on its way and renew the lease. Only the
        current holder can: after another instance leased the delivery (or it was done) this
        is TAKEN, and the answer being finished for it on this thread is dropped."""
        mark = _Mark(event_id, reply_uid, attempt)
        marked = self._ask(self._marks, mark, "Could not mark event %s sending in the inbox")
        if marked is None:
            return Sending.UNAVAILABLE
        if marked:
            return Sending.MARKED
        answer = _collected.get()
        if answer is not None and answer.event_id == event_id:
            answer.dropped = True
        return Sending.TAKEN

    def _mark_batch(self, marks: Sequence[_Mark]) -> list[bool | BaseException]:
        lease_until = _now() + self.lease
        rows = [
            {
                "mark_id": mark.event_id,
                "mark_attempt": mark.attempt,
                "reply_uid": mark.reply_uid,
                "lease_until": lease_until,
            }
            for mark in marks
        ]
        with self._availability.attempt():
            self._prepare()
            if self._engine.dialect.name == "sqlite":  # as claims are, see accept_on_sqlite
                return list(mark_sending_on_sqlite(self._engine, rows))
            with writing(self._engine) as connection:
                return list(mark_sending(connection, rows))

    # -- picking up ------------------------------------------------------------------------

    def lease_unfinished(self, limit: int = 20) -> list[Unfinished]:
        """Deliveries acknowledged and not answered whose lease ran out, leased to the caller
        (oldest first); one leased too often is given up and logged. Raises StoreUnavailable."""
        now = _now()
        with self._availability.attempt():
            self._prepare()
            with writing(self._engine) as connection:
                rows = connection.execute(
                    select(events.c.event_id, events.c.body, events.c.attempts, events.c.reply_uid)
                    .where(
                        events.c.done_at.is_(None),
                        events.c.body.is_not(None),
                        events.c.lease_until < now,
                    )
                    .order_by(events.c.claimed_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).all()
                given_up = [row.event_id for row in rows if row.attempts >= self._max_attempts]
                leased = [row for row in rows if row.attempts < self._max_attempts]
                if given_up:
                    RecordKind.DONE.write(connection, [{"done_id": i} for i in given_up])
                    logger.error(
                        "Gave up answering %d events after %d attempts each: %s",
                        len(given_up),
                        self._max_attempts + 1,
                        ", ".join(given_up),
                    )
                if leased:
                    connection.execute(
                        update(events)
                        .where(events.c.event_id.in_([row.event_id for row in leased]))
                        .values(lease_until=now + self.lease, attempts=events.c.attempts + 1)
                    )
        with self._settled:
            self._leased.update(row.event_id for row in leased)
        return [
            Unfinished(row.event_id, row.body, row.attempts + 1, row.reply_uid) for row in leased
        ]

    def unfinished_count(self) -> int:
        """Deliveries acknowledged and not yet answered, on every instance."""
        with self._availability.attempt(), self._engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).where(
                        events.c.done_at.is_(None), events.c.body.is_not(None)
                    )
                ).scalar_one()
            )


FINISH_ON_SQLITE = FinishOnSqlite()


def _event_ids(finishes: Sequence[_Finish]) -> list[str]:
    return list(dict.fromkeys(finished.event_id for finished in finishes))


def _records_to_write(
    finishes: Sequence[_Finish], finished_elsewhere: set[str]
) -> list[tuple[RecordKind, Row]]:
    """The records of the finishes whose delivery was not finished elsewhere, once per
    delivery. An answer to a delivery that another lease holder finished meanwhile (it found
    that holder's reply in Slack, say) writes nothing: its records are stored already. A
    finish with no inbox row (claimed while the database was away) writes its records."""
    written: set[str] = set()
    writes: list[tuple[RecordKind, Row]] = []
    for finished in finishes:
        if finished.event_id in finished_elsewhere or finished.event_id in written:
            logger.info(
                "Event %s was finished by another lease holder; its records are stored already",
                finished.event_id,
            )
            continue
        written.add(finished.event_id)
        writes.extend((write.kind, write.values) for write in finished.writes)
    return writes


def _now() -> datetime:
    return datetime.now(UTC)
