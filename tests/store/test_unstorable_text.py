"""Text the databases refuse (NUL: PostgreSQL; lone surrogates: every driver's UTF-8 encoder)
is stripped by the store itself, whoever the caller (the CLI, the terminal, the workflow step,
a listener): the record is kept without those code points instead of being refused and lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.store import Store
from bot.store.decisions import DecisionStore
from bot.store.schema import feedback, questions
from tests.support.store_test_helpers import settled

UNSTORABLE = pytest.mark.parametrize(
    "bad", ["\x00", "\ud800", "\udfff\ud83d"], ids=["NUL", "lone surrogate", "reversed pair"]
)


@UNSTORABLE
def test_a_question_and_its_vote_are_stored_without_code_points_a_database_refuses(
    store: Store, bad: str
) -> None:
    store.record_question(
        team_id="T1",
        channel_id=f"C1{bad}",
        user_id="U1",
        text=f"is flask{bad} good?",
        entry_id=None,
        score=0.2,
    )
    store.record_vote(
        team_id="T1",
        user_id="U1",
        message_key="C1:1700000000.000100",
        target_kind="entry",
        target_id="admin",
        question=f"does it have{bad} an admin?",
        helpful=False,
        voted_at=datetime.now(UTC),
    )

    health = settled(store)

    assert health.dropped == 0
    with store.engine.connect() as connection:
        asked = connection.execute(select(questions.c.text, questions.c.channel_id)).one()
        voted = connection.execute(select(feedback.c.question)).scalar_one()
    assert (asked.text, asked.channel_id) == ("is flask good?", "C1")
    assert voted == "does it have an admin?"


@UNSTORABLE
def test_a_team_decision_keeps_its_title_and_names_without_them(store: Store, bad: str) -> None:
    decisions = DecisionStore(store.engine)
    started = decisions.start(
        team_id="T1",
        channel_id="C1",
        thread_ts=None,
        title=f"Billing{bad} service",
        started_by="U1",
        knowledge_version=None,
    )
    decisions.record_answers(
        team_id="T1",
        decision_id=started.id,
        user_id="U2",
        user_name=f"Bo{bad}b",
        answers={},
    )

    stored = decisions.get(started.id, "T1")

    assert stored.title == "Billing service"
    assert stored.names() == {"U2": "Bob"}
