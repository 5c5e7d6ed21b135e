"""The SQL the store runs, one typed statement per kind of record.

Each `RecordKind` names what a buffered write holds and how it reaches the database: a plain
insert (questions, recommendations: a run of them is one executemany), an upsert that keeps the
newest (votes, the knowledge stamp) or an event claim that a concurrent claim may have beaten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import ReturningInsert

from bot.store.decision_texts import purge_decision_texts
from bot.store.engine import while_sqlite_locked, write_gate
from bot.store.reasons import upsert_reason
from bot.store.schema import TEAM_TABLES, events, feedback, meta, questions, recommendations

Row = dict[str, Any]

INSERT_FOR: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
"""INSERT with ON CONFLICT support, per backend the store runs on."""


class RecordKind(Enum):
    """What a buffered write holds; its value names it in logs ("a vote record")."""

    QUESTION = "question"
    RECOMMENDATION = "recommendation"
    VOTE = "vote"
    STAMP = "stamp"
    EVENT = "event"
    DONE = "answered delivery"
    """The done mark of a delivery in the durable inbox (bot/store/inbox.py)."""
    VOTE_REASON = "vote reason"
    """Why a 👎 (bot/store/reasons.py), kept with the vote it was given for."""

    def write(self, connection: Connection, rows: Sequence[Row]) -> None:
        """Write `rows` of this kind, in order, in the connection's transaction."""
        _WRITERS[self](connection, rows)


def _upsert_on(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    return INSERT_FOR[connection.dialect.name](table)


def _append_to(table: Table) -> Callable[[Connection, Sequence[Row]], None]:
    def write(connection: Connection, rows: Sequence[Row]) -> None:
        connection.execute(insert(table), list(rows))

    return write


def _upsert_votes(connection: Connection, rows: Sequence[Row]) -> None:
    changed = (
        "target_kind",
        "target_id",
        "question",
        "helpful",
        "voted_at",
        "question_uid",
        "recommendation_uid",
    )
    for values in rows:
        statement = _upsert_on(connection, feedback).values(**values)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[feedback.c.team_id, feedback.c.message_key, feedback.c.user_id],
                set_={name: statement.excluded[name] for name in changed},
                where=feedback.c.voted_at <= statement.excluded.voted_at,
            )
        )


def _upsert_stamps(connection: Connection, rows: Sequence[Row]) -> None:
    for values in rows:
        statement = _upsert_on(connection, meta).values(**values)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[meta.c.key],
                set_={
                    "value": statement.excluded.value,
                    "updated_at": statement.excluded.updated_at,
                },
                where=meta.c.updated_at <= statement.excluded.updated_at,
            )
        )


def _claims(*columns: str) -> dict[str, ReturningInsert[Any]]:
    """An event claim setting `columns`, built once per backend (claims run before events are
    answered): RETURNING gives a row only when this insert won; rowcount is not reliable for
    INSERT on every driver."""
    return {
        name: insert_for(events)
        .values({column: bindparam(column) for column in columns})
        .on_conflict_do_nothing(index_elements=[events.c.event_id])
        .returning(events.c.event_id)
        for name, insert_for in INSERT_FOR.items()
    }


CLAIM_EVENT = _claims("event_id", "team_id", "claimed_at", "done_at")
"""A claim made after the ack: done as it is made (its answer follows at once)."""
ACCEPT_DELIVERY = _claims("event_id", "team_id", "claimed_at", "body", "lease_until")
"""A mention or DM claimed before its ack, kept with its body until it is answered."""

_SQLITE = sqlite.dialect(paramstyle="named")


class OnSqlite:
    """One statement run for each row on a pooled DB-API connection in autocommit mode (the
    engine's connections are, see bot/store/engine.py): SQLite takes its write lock, writes
    and commits inside that one call, which releases the GIL, so the lock is never held across
    Python code that a busy thread can keep waiting for the GIL (with BEGIN … COMMIT it was,
    and every claim behind it waited milliseconds). On SQLite the commit does not wait for the
    disk (WAL, synchronous=NORMAL), so a transaction per row costs what a shared one would.
    Called with an engine and rows, it gives for each row whether it changed exactly one row;
    it raises SQLAlchemy's errors."""

    def __init__(self, statement: Any, columns: dict[str, Any]) -> None:
        self._sql = str(statement.compile(dialect=_SQLITE))
        self._binds = {
            name: column_type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
            for name, column_type in columns.items()
        }

    def bound(self, row: Row) -> Row:
        """`row`'s values as the driver takes them (datetimes as SQLite's text, ...)."""
        return {
            name: row[name] if bind is None else bind(row[name])
            for name, bind in self._binds.items()
        }

    def run(self, cursor: DBAPICursor, row: Row) -> int:
        """Execute for `row` on `cursor` (in whatever transaction it is in); rows changed."""
        cursor.execute(self._sql, self.bound(row))
        return cursor.rowcount

    def __call__(self, engine: Engine, rows: Sequence[Row]) -> list[bool]:
        with sqlite_cursor(engine, self._sql) as cursor:
            changed = []
            for row in rows:
                values = self.bound(row)
                with write_gate(engine):
                    while_sqlite_locked(partial(cursor.execute, self._sql, values))
                changed.append(cursor.rowcount == 1)
            return changed


@contextmanager
def sqlite_cursor(engine: Engine, what: str) -> Iterator[DBAPICursor]:
    """A cursor on a pooled DB-API connection, for statements run past SQLAlchemy's execution
    (OnSqlite, FinishOnSqlite). Its sqlite3 errors come out as SQLAlchemy's, naming `what`
    (a connection that broke invalidated first), as the store's availability expects."""
    connection = engine.raw_connection()
    cursor = connection.cursor()
    try:
        yield cursor
    except sqlite3.Error as error:
        if engine.dialect.is_disconnect(error, connection, cursor):  # type: ignore[arg-type]
            connection.invalidate(error)
        raise DBAPIError.instance(what, None, error, sqlite3.Error) from error
    finally:
        cursor.close()
        connection.close()


_ACCEPT_COLUMNS = ("event_id", "team_id", "claimed_at", "body", "lease_until")
accept_on_sqlite = OnSqlite(
    sqlite.insert(events)
    .values({column: bindparam(column) for column in _ACCEPT_COLUMNS})
    .on_conflict_do_nothing(index_elements=[events.c.event_id]),
    {column: events.c[column].type for column in _ACCEPT_COLUMNS},
)
"""ACCEPT_DELIVERY on SQLite, a claim a statement: one changed row, this claim won."""

_MARK_SENDING = (
    update(events)
    .where(
        events.c.event_id == bindparam("mark_id"),
        events.c.done_at.is_(None),
        events.c.attempts == bindparam("mark_attempt"),
    )
    .values(reply_uid=bindparam("reply_uid"), lease_until=bindparam("lease_until"))
)
"""A sending mark (bot/store/inbox.py): the reply's id and a renewed lease, made only while
the delivery is not done and its lease is still the one the marker holds."""
MARK_SENDING_TYPES = {
    "mark_id": events.c.event_id.type,
    "mark_attempt": events.c.attempts.type,
    "reply_uid": events.c.reply_uid.type,
    "lease_until": events.c.lease_until.type,
}
mark_sending_on_sqlite = OnSqlite(_MARK_SENDING, MARK_SENDING_TYPES)
"""_MARK_SENDING on SQLite, a mark a statement (see OnSqlite): one changed row, marked."""


class FinishOnSqlite:
    """The done marks of answered deliveries and the records of their answers, in one
    transaction on a raw DB-API connection (bot/store/inbox.py decides what to write). Every
    mention ends with this transaction, and the write gate is held for all of it: through
    SQLAlchemy's per-statement machinery it was most of a mention's database time; here each
    statement is compiled once (per record kind and set of columns) and only executed.
    Records of a kind that is not a plain insert are not for this path (`takes`)."""

    def __init__(self) -> None:
        self._tables = {
            RecordKind.QUESTION: questions,
            RecordKind.RECOMMENDATION: recommendations,
        }
        self._mark_done = OnSqlite(
            update(events)
            .where(events.c.event_id == bindparam("done_id"), events.c.done_at.is_(None))
            .values(done_at=bindparam("done_at"), body=null()),
            {"done_id": events.c.event_id.type, "done_at": events.c.done_at.type},
        )
        self._exists = OnSqlite(
            select(events.c.event_id).where(events.c.event_id == bindparam("event_id")),
            {"event_id": events.c.event_id.type},
        )
        self._inserts: dict[tuple[RecordKind, tuple[str, ...]], OnSqlite] = {}

    def takes(self, kinds: Iterable[RecordKind]) -> bool:
        return all(kind in self._tables for kind in kinds)

    def mark_done(self, cursor: DBAPICursor, event_id: str, now: datetime) -> bool:
        """Mark `event_id` done unless it is done already; whether this marked it."""
        return self._mark_done.run(cursor, {"done_id": event_id, "done_at": now}) == 1

    def exists(self, cursor: DBAPICursor, event_id: str) -> bool:
        self._exists.run(cursor, {"event_id": event_id})
        return cursor.fetchone() is not None

    def insert(self, cursor: DBAPICursor, writes: Sequence[tuple[RecordKind, Row]]) -> None:
        for kind, values in writes:
            columns = tuple(sorted(values))
            statement = self._inserts.get((kind, columns))
            if statement is None:
                table = self._tables[kind]
                statement = OnSqlite(
                    insert(table).values({name: bindparam(name) for name in columns}),
                    {name: table.c[name].type for name in columns},
                )
                self._inserts[(kind, columns)] = statement
            statement.run(cursor, values)


def mark_sending(connection: Connection, rows: Sequence[Row]) -> list[bool]:
    """_MARK_SENDING for each row in the connection's transaction: whether it was marked."""
    return [connection.execute(_MARK_SENDING, row).rowcount == 1 for row in rows]


_NOTE_EVENTS = {
    name: insert_for(events).on_conflict_do_nothing(index_elements=[events.c.event_id])
    for name, insert_for in INSERT_FOR.items()
}
"""A claim written in the background: the event may have been claimed by a retry meanwhile."""


def _note_events(connection: Connection, rows: Sequence[Row]) -> None:
    connection.execute(_NOTE_EVENTS[connection.dialect.name], list(rows))


_MARK_DONE = (
    update(events)
    .where(events.c.event_id == bindparam("done_id"))
    .values(done_at=bindparam("done_at"), body=None)
)


def _mark_done(connection: Connection, rows: Sequence[Row]) -> None:
    now = datetime.now(UTC)
    connection.execute(_MARK_DONE, [{"done_id": row["done_id"], "done_at": now} for row in rows])


def _upsert_reasons(connection: Connection, rows: Sequence[Row]) -> None:
    for row in rows:
        upsert_reason(connection, row)


_WRITERS: dict[RecordKind, Callable[[Connection, Sequence[Row]], None]] = {
    RecordKind.QUESTION: _append_to(questions),
    RecordKind.RECOMMENDATION: _append_to(recommendations),
    RecordKind.VOTE: _upsert_votes,
    RecordKind.STAMP: _upsert_stamps,
    RecordKind.EVENT: _note_events,
    RecordKind.DONE: _mark_done,
    RecordKind.VOTE_REASON: _upsert_reasons,
}


def write_grouped(connection: Connection, writes: Sequence[tuple[RecordKind, Row]]) -> None:
    """Each kind's records in one go, in the order they came: records of different kinds do
    not depend on each other (a question, its event's claim, a vote), so an interleaved batch
    is still two or three executemany, not one statement per record."""
    runs: dict[RecordKind, list[Row]] = {}
    for kind, values in writes:
        runs.setdefault(kind, []).append(values)
    for kind, rows in runs.items():
        kind.write(connection, rows)


def delete_team_rows(connection: Connection, team_id: str) -> None:
    for table in TEAM_TABLES:
        connection.execute(delete(table).where(table.c.team_id == team_id))


def purge_texts(connection: Connection, cutoff: datetime) -> int:
    """Blank question texts older than `cutoff` (questions, votes and their 👎 notes, team
    decisions' titles and names); returns how many."""
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
