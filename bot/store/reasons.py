"""Why a 👎: the reason (and the person's own words) kept with the vote, and what curators read
of them. Kept apart from the write-behind machinery in store.py: this module is the reason's
statement and its queries, which the Store and the stats call.

A reason is stored on the vote's row with `reason_for`, the time of the vote it was given for.
It counts only while that vote stands (`reason_for = voted_at`): a later vote by the same person
on the same message retires it, and a reason that reaches the database before its vote (both
wait in the same buffer, in order, but a vote may have been dropped) writes the vote itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.schema import feedback

Reason = Literal["wrong_topic", "out_of_date", "unclear", "other"]
REASONS: tuple[Reason, ...] = ("wrong_topic", "out_of_date", "unclear", "other")
REASON_LABELS: dict[Reason, str] = {
    "wrong_topic": "It answered a different question",
    "out_of_date": "It's out of date",
    "unclear": "It's unclear",
    "other": "Something else",
}
"""Each reason in the words the modal offers and the stats show, in `REASONS` order."""
MAX_REASON_NOTE = 1000
"""How much of a person's own words about a 👎 are kept."""
MAX_NOTES_SHOWN = 3
"""Per answer, the stats quote this many of the latest notes."""

_INSERT: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def reason_stands() -> ColumnElement[bool]:
    """True on a vote whose reason was given for it (and not for an earlier vote)."""
    return and_(feedback.c.reason.is_not(None), feedback.c.reason_for == feedback.c.voted_at)


def current_reason() -> ColumnElement[Any]:
    return case((reason_stands(), feedback.c.reason), else_=None)


def current_note() -> ColumnElement[Any]:
    return case((reason_stands(), feedback.c.reason_note), else_=None)


def upsert_reason(connection: Connection, values: dict[str, Any]) -> None:
    """Write a 👎 vote's reason: onto the vote's row when that vote still stands (or an older
    one, which the vote will replace), or as the vote itself when its row is not there yet."""
    statement = _INSERT[connection.dialect.name](feedback).values(**values)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[feedback.c.team_id, feedback.c.message_key, feedback.c.user_id],
            set_={
                name: statement.excluded[name] for name in ("reason", "reason_note", "reason_for")
            },
            where=feedback.c.voted_at <= statement.excluded.voted_at,
        )
    )


@dataclass(frozen=True)
class Complaint:
    """The 👎 on one answer (target_kind "entry") or on recommendations of one framework, with
    how often each reason was given and the latest notes (as typed: escape before showing)."""

    target_kind: str
    target_id: str
    not_helpful: int
    reasons: tuple[tuple[Reason, int], ...]
    """Most given first; votes without a reason are not counted here."""
    notes: tuple[str, ...]
    """Newest first, at most MAX_NOTES_SHOWN."""


def most_complained(
    connection: Connection, team_id: str, since: datetime, until: datetime, limit: int
) -> tuple[Complaint, ...]:
    """The targets with the most standing 👎 in [since, until), most first, with reasons."""
    voted = (
        feedback.c.team_id == team_id,
        feedback.c.voted_at >= since,
        feedback.c.voted_at < until,
        feedback.c.helpful.is_(False),
    )
    count = func.count().label("n")
    targets = connection.execute(
        select(feedback.c.target_kind, feedback.c.target_id, count)
        .where(*voted)
        .group_by(feedback.c.target_kind, feedback.c.target_id)
        .order_by(count.desc(), feedback.c.target_kind, feedback.c.target_id)
        .limit(limit)
    ).all()
    complaints = []
    for kind, target, total in targets:
        of_target = (*voted, feedback.c.target_kind == kind, feedback.c.target_id == target)
        given = func.count().label("n")
        reasons = connection.execute(
            select(feedback.c.reason, given)
            .where(*of_target, reason_stands())
            .group_by(feedback.c.reason)
            .order_by(given.desc(), feedback.c.reason)
        ).all()
        notes = connection.execute(
            select(feedback.c.reason_note)
            .where(*of_target, reason_stands(), feedback.c.reason_note.is_not(None))
            .order_by(feedback.c.voted_at.desc(), feedback.c.id.desc())
            .limit(MAX_NOTES_SHOWN)
        ).scalars()
        complaints.append(
            Complaint(
                kind,
                target,
                total,
                tuple((reason, n) for reason, n in reasons if reason in REASONS),
                tuple(note for note in notes if note),
            )
        )
    return tuple(complaints)
