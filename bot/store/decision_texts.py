"""Retention for team decisions: the free text they hold goes with the other texts (kept apart
from bot/store/decisions.py so the store's purge can use it without importing the decisions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from bot.store.schema import decision_answers, decisions


def purge_decision_texts(connection: Connection, cutoff: datetime) -> int:
    """Blank the free text of decisions untouched since `cutoff`: titles and the names people
    had when they answered. Outcomes and answers (option ids) stay."""
    stale = select(decisions.c.id).where(decisions.c.updated_at < cutoff).scalar_subquery()
    titles = connection.execute(
        update(decisions)
        .where(decisions.c.updated_at < cutoff, decisions.c.title.is_not(None))
        .values(title=None)
    ).rowcount
    names = connection.execute(
        update(decision_answers)
        .where(decision_answers.c.decision_id.in_(stale), decision_answers.c.user_name.is_not(None))
        .values(user_name=None)
    ).rowcount
    return int(titles) + int(names)
