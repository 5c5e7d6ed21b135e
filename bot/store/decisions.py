"""Team decisions in the database, shared by every instance.

Unlike the records (questions, votes), which go through the write-behind buffer, every
decision write happens at once in its own transaction: the next click may reach another
instance, which must see it. Each change bumps the decision's `version` with an UPDATE that
also checks the decision is still open, so two people answering at once are both counted (each
has their own row), an answer racing a close either lands before it or is refused, and only
one of two Close clicks closes it. A database that cannot be reached raises StoreUnavailable;
the caller tells the person to try again, and nothing half-written is left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.store import migrate
from bot.store.engine import is_connection_error, writing
from bot.store.schema import decision_answers, decisions
from bot.store.store import StoreUnavailable

Status = Literal["open", "closed"]
RecordPlace = Literal["canvas", "thread", "nowhere"]
"""Where the decision record went: a canvas in the channel, the decision's thread (no
canvases on the plan), or nowhere in Slack (it can still be exported)."""
_T = TypeVar("_T")


class DecisionNotFound(LookupError):
    """No decision with that id (in that workspace)."""


class DecisionClosed(RuntimeError):
    """The decision was closed (perhaps on another instance) before this change."""


@dataclass(frozen=True)
class StoredAnswers:
    user_id: str
    user_name: str | None
    answers: dict[str, tuple[str, ...]]
    answered_at: datetime


@dataclass(frozen=True)
class Decision:
    id: int
    team_id: str
    channel_id: str
    thread_ts: str | None
    message_ts: str | None
    title: str | None
    """None once the retention period removed it."""
    started_by: str
    status: Status
    version: int
    knowledge_version: str | None
    framework_id: str | None
    verdict: str | None
    closed_by: str | None
    record_where: RecordPlace | None
    record_url: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    answers: tuple[StoredAnswers, ...]
    """In the order people first answered."""

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def ballots(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Person -> answers, in the order they first answered (what bot.team.decide takes)."""
        return {entry.user_id: entry.answers for entry in self.answers}

    def names(self) -> dict[str, str]:
        """Person -> the name they had in Slack when they answered (their id once removed)."""
        return {entry.user_id: entry.user_name or entry.user_id for entry in self.answers}


_RECORD_PLACES = frozenset({"canvas", "thread", "nowhere"})

_INSERT: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


class DecisionStore:
    """Decisions on one engine; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._schema_lock = threading.Lock()
        self._schema_ready = False

    # -- writing -------------------------------------------------------------------------------

    def start(
        self,
        *,
        team_id: str,
        channel_id: str,
        thread_ts: str | None,
        title: str,
        started_by: str,
        knowledge_version: str | None,
    ) -> Decision:
        now = _now()
        values = {
            "team_id": team_id,
            "channel_id": channel_id,
            "thread_ts": thread_ts,
            "title": title,
            "started_by": started_by,
            "status": "open",
            "version": 0,
            "knowledge_version": knowledge_version,
            "created_at": now,
            "updated_at": now,
        }

        def write(connection: Connection) -> Decision:
            decision_id = connection.execute(
                insert(decisions).values(**values).returning(decisions.c.id)
            ).scalar_one()
            return _load(connection, int(decision_id), team_id)

        return self._transaction(write)

    def set_message(self, decision_id: int, message_ts: str) -> None:
        """Where the decision message was posted (it is updated in place from then on)."""
        self._transaction(
            lambda connection: connection.execute(
                update(decisions)
                .where(decisions.c.id == decision_id)
                .values(message_ts=message_ts, updated_at=_now())
            )
        )

    def record_answers(
        self,
        *,
        team_id: str,
        decision_id: int,
        user_id: str,
        user_name: str | None,
        answers: Mapping[str, Sequence[str]],
    ) -> Decision:
        """Store (or replace) one person's answers; returns the decision as it now is. Raises
        DecisionNotFound, or DecisionClosed when it was closed first."""
        now = _now()
        stored = {question: list(options) for question, options in answers.items()}

        def write(connection: Connection) -> Decision:
            # The UPDATE first: it locks the decision row, so a close cannot slip in between.
            bumped = connection.execute(
                update(decisions)
                .where(
                    decisions.c.id == decision_id,
                    decisions.c.team_id == team_id,
                    decisions.c.status == "open",
                )
                .values(version=decisions.c.version + 1, updated_at=now)
                .returning(decisions.c.id)
            ).first()
            if bumped is None:
                _raise_missing_or_closed(connection, decision_id, team_id)
            statement = _INSERT[connection.dialect.name](decision_answers).values(
                decision_id=decision_id,
                team_id=team_id,
                user_id=user_id,
                user_name=user_name,
                answers=stored,
                answered_at=now,
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[decision_answers.c.decision_id, decision_answers.c.user_id],
                    set_={
                        "answers": statement.excluded.answers,
                        "user_name": statement.excluded.user_name,
                        "answered_at": statement.excluded.answered_at,
                    },
                )
            )
            return _load(connection, decision_id, team_id)

        return self._transaction(write)

    def close(
        self,
        *,
        team_id: str,
        decision_id: int,
        closed_by: str,
        framework_id: str,
        verdict: str,
    ) -> Decision:
        """Close an open decision with its outcome; returns it closed. Raises DecisionClosed
        when it was already closed (by this or another instance): only one close wins."""
        now = _now()

        def write(connection: Connection) -> Decision:
            closed = connection.execute(
                update(decisions)
                .where(
                    decisions.c.id == decision_id,
                    decisions.c.team_id == team_id,
                    decisions.c.status == "open",
                )
                .values(
                    status="closed",
                    version=decisions.c.version + 1,
                    framework_id=framework_id,
                    verdict=verdict,
                    closed_by=closed_by,
                    closed_at=now,
                    updated_at=now,
                )
                .returning(decisions.c.id)
            ).first()
            if closed is None:
                _raise_missing_or_closed(connection, decision_id, team_id)
            return _load(connection, decision_id, team_id)

        return self._transaction(write)

    def set_record(self, decision_id: int, where: RecordPlace, url: str | None) -> None:
        """Where the decision record ended up, with a link to it when there is one."""
        self._transaction(
            lambda connection: connection.execute(
                update(decisions)
                .where(decisions.c.id == decision_id)
                .values(
                    record_where=where,
                    record_url=url,
                    version=decisions.c.version + 1,
                    updated_at=_now(),
                )
            )
        )

    # -- reading -------------------------------------------------------------------------------

    def get(self, decision_id: int, team_id: str | None = None) -> Decision:
        """One decision with its answers; `team_id` None for any workspace (the CLI). Raises
        DecisionNotFound."""
        return self._transaction(lambda connection: _load(connection, decision_id, team_id))

    def version(self, decision_id: int) -> int | None:
        """The decision's current version (None when it does not exist)."""
        return self._transaction(
            lambda connection: connection.execute(
                select(decisions.c.version).where(decisions.c.id == decision_id)
            ).scalar_one_or_none()
        )

    def list(self, team_id: str | None = None) -> list[Decision]:
        """Every decision (of one workspace, or all), newest first, with their answers."""

        def read(connection: Connection) -> list[Decision]:
            query = select(decisions.c.id, decisions.c.team_id).order_by(decisions.c.id.desc())
            if team_id is not None:
                query = query.where(decisions.c.team_id == team_id)
            rows = connection.execute(query).all()
            return [_load(connection, int(row.id), row.team_id) for row in rows]

        return self._transaction(read)

    def counts(self, team_id: str) -> dict[tuple[str, str | None], int]:
        """(status, framework id of the outcome) -> how many decisions, for the stats."""

        def read(connection: Connection) -> dict[tuple[str, str | None], int]:
            rows = connection.execute(
                select(decisions.c.status, decisions.c.framework_id, func.count())
                .where(decisions.c.team_id == team_id)
                .group_by(decisions.c.status, decisions.c.framework_id)
            ).all()
            return {(row[0], row[1]): int(row[2]) for row in rows}

        return self._transaction(read)

    # -- plumbing ------------------------------------------------------------------------------

    def _transaction(self, work: Callable[[Connection], _T]) -> _T:
        try:
            self._ensure_schema()
            with writing(self.engine) as connection:
                return work(connection)
        except Exception as error:
            if not is_connection_error(error):
                raise
            raise StoreUnavailable(f"the database is unavailable ({_first_line(error)})") from error

    def _ensure_schema(self) -> None:
        """The store migrates at start; a database that was down then is migrated here."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                if migrate.current_revision(self.engine) != migrate.head_revision():
                    migrate.upgrade(self.engine)
                self._schema_ready = True


def _raise_missing_or_closed(connection: Connection, decision_id: int, team_id: str) -> None:
    status = connection.execute(
        select(decisions.c.status).where(
            decisions.c.id == decision_id, decisions.c.team_id == team_id
        )
    ).scalar_one_or_none()
    if status is None:
        raise DecisionNotFound(decision_id)
    raise DecisionClosed(decision_id)


def _load(connection: Connection, decision_id: int, team_id: str | None) -> Decision:
    query = select(decisions).where(decisions.c.id == decision_id)
    if team_id is not None:
        query = query.where(decisions.c.team_id == team_id)
    row = connection.execute(query).first()
    if row is None:
        raise DecisionNotFound(decision_id)
    answers = connection.execute(
        select(decision_answers)
        .where(decision_answers.c.decision_id == decision_id)
        .order_by(decision_answers.c.id)
    ).all()
    return Decision(
        id=int(row.id),
        team_id=row.team_id,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        message_ts=row.message_ts,
        title=row.title,
        started_by=row.started_by,
        status="closed" if row.status == "closed" else "open",
        version=int(row.version),
        knowledge_version=row.knowledge_version,
        framework_id=row.framework_id,
        verdict=row.verdict,
        closed_by=row.closed_by,
        record_where=row.record_where if row.record_where in _RECORD_PLACES else None,
        record_url=row.record_url,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        closed_at=_utc(row.closed_at) if row.closed_at is not None else None,
        answers=tuple(
            StoredAnswers(
                user_id=answer.user_id,
                user_name=answer.user_name,
                answers={q: tuple(o) for q, o in dict(answer.answers).items()},
                answered_at=_utc(answer.answered_at),
            )
            for answer in answers
        ),
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:300]
