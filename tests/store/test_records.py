"""What the store keeps and what curators get back: votes, stats, exports, retention and
removal of a workspace, the shared knowledge stamp."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.store import EntryCount, HelpfulRate, RecommendationOutcome, Store, create_store
from bot.store.engine import SQLITE_FILE_NAME
from tests.support.store_test_helpers import settled

NOW = datetime.now(UTC).replace(microsecond=0)
WEEK_AGO = NOW - timedelta(days=7)


def ask(store: Store, text: str, entry_id: str | None, **extra: Any) -> None:
    values: dict[str, Any] = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "text": text,
        "entry_id": entry_id,
        "score": 0.9 if entry_id else 0.4,
    }
    store.record_question(**(values | extra))


def vote(store: Store, helpful: bool, **extra: Any) -> None:
    values: dict[str, Any] = {
        "team_id": "T1",
        "user_id": "U1",
        "message_key": "C1:1700000000.000100",
        "target_kind": "entry",
        "target_id": "admin",
        "question": "does it have an admin?",
        "helpful": helpful,
    }
    store.record_vote(**(values | extra))


def recommend(store: Store, framework_id: str, verdict: str, **extra: Any) -> None:
    values: dict[str, Any] = {
        "team_id": "T1",
        "user_id": "U1",
        "framework_id": framework_id,
        "verdict": verdict,
    }
    store.record_recommendation(**(values | extra))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- votes ---------------------------------------------------------------------------------


def test_a_vote_can_be_changed_and_counts_once(store: Store) -> None:
    vote(store, helpful=True)
    vote(store, helpful=False)
    vote(store, helpful=False, user_id="U2")

    helpful = store.stats("T1", WEEK_AGO).helpful
    assert helpful == (HelpfulRate("entry", "admin", helpful=0, not_helpful=2),)
    exported = rows(store.export("feedback", "T1"))
    assert sorted((row["user_id"], row["helpful"]) for row in exported) == [
        ("U1", "false"),
        ("U2", "false"),
    ]


def test_votes_on_different_messages_are_separate(store: Store) -> None:
    vote(store, helpful=True, message_key="C1:1")
    vote(store, helpful=False, message_key="C1:2")
    assert store.stats("T1", WEEK_AGO).helpful == (
        HelpfulRate("entry", "admin", helpful=1, not_helpful=1),
    )


def test_a_delayed_older_vote_does_not_undo_a_newer_one(make_store: Callable[..., Store]) -> None:
    first, second = make_store(), make_store()
    vote(first, helpful=False, voted_at=NOW - timedelta(minutes=1))
    vote(second, helpful=True, voted_at=NOW - timedelta(minutes=5))  # written late
    assert rows(first.export("feedback"))[0]["helpful"] == "false"


def test_helpful_rate_per_entry_and_recommendation(store: Store) -> None:
    for user, helpful in [("U1", True), ("U2", True), ("U3", False)]:
        vote(store, helpful, user_id=user, message_key="C1:1")
    vote(store, True, message_key="C1:2", target_kind="recommendation", target_id="django")

    rates = {
        (rate.target_kind, rate.target_id): rate for rate in store.stats("T1", WEEK_AGO).helpful
    }
    assert rates["entry", "admin"].votes == 3
    assert rates["entry", "admin"].rate == pytest.approx(2 / 3)
    assert rates["recommendation", "django"].rate == 1.0


def test_records_written_from_many_threads_all_land(store: Store) -> None:
    start = threading.Barrier(8)

    def ask_many(worker: int) -> None:
        start.wait()
        for number in range(25):
            ask(store, f"worker {worker} question {number}", None)

    threads = [threading.Thread(target=ask_many, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert settled(store) == (True, 0, 0, None)  # nothing stranded, without a flush
    assert store.stats("T1", WEEK_AGO, limit=500).not_sure == 200


def test_interleaved_records_go_to_the_database_one_statement_per_kind(
    make_store: Callable[..., Store],
) -> None:
    """Each answered mention makes a question and its event's claim: a batch of them is a
    few executemany, not a statement per record (that cost more than the answer itself)."""
    store = make_store(writer_thread=False)  # the test takes the writer's turn itself
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    for number in range(20):
        store.note_event(f"Ev{number}", "T1")
        ask(store, f"question {number}", "admin")
        store.record_recommendation(
            team_id="T1", user_id="U1", framework_id="django", verdict="clear"
        )
    event.listen(store.engine, "before_cursor_execute", count)
    try:
        assert store.writes.drain_once() is True
    finally:
        event.remove(store.engine, "before_cursor_execute", count)

    assert len(statements) == 3
    assert store.stats("T1", WEEK_AGO).questions == 20
    assert store.claim_event("Ev19", "T1") is False


def test_recording_never_waits_for_the_database(
    tmp_path: Path, migrated_copy: Callable[[Path], Path]
) -> None:
    """Records go to the writer thread: a question is answered at once even while another
    process holds the database's write lock, and its record lands when the lock is freed."""
    store = create_store(None, migrated_copy(tmp_path))
    blocker = sqlite3.connect(tmp_path / SQLITE_FILE_NAME, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        ask(store, "asked while the database is locked", None)
        # Returned without having tried (and failed) to write: the writer is still waiting.
        assert store.health() == (True, 1, 0, None)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert settled(store) == (True, 0, 0, None)
    assert store.stats("T1", WEEK_AGO).not_sure == 1
    store.close()


# -- stats ---------------------------------------------------------------------------------


def test_stats_count_questions_answers_and_recommendations(store: Store) -> None:
    ask(store, "does it have an admin?", "admin")
    ask(store, "is there an admin panel", "admin")
    ask(store, "async views?", "async")
    ask(store, "what about celery", None, closest=[("tasks", 0.41)])
    recommend(store, "django", "clear")
    recommend(store, "django", "close")
    recommend(store, "flask", "clear")
    recommend(store, "django", "clear")

    stats = store.stats("T1", WEEK_AGO)

    assert (stats.questions, stats.answered, stats.not_sure) == (4, 3, 1)
    assert stats.top_entries == (EntryCount("admin", 2), EntryCount("async", 1))
    assert stats.recommendations == (
        RecommendationOutcome("django", "clear", 2),
        RecommendationOutcome("django", "close", 1),
        RecommendationOutcome("flask", "clear", 1),
    )
    assert stats.recommendations_by_framework == {"django": 3, "flask": 1}
    assert stats.recommendations_by_verdict == {"clear": 3, "close": 1}
    assert stats.recommendation_count == 4


@pytest.mark.parametrize(
    ("days", "expected_questions", "expected_recommendations"),
    [(1, 1, 1), (7, 2, 1), (30, 3, 2), (365, 4, 3)],
)
def test_stats_cover_only_the_period_asked_for(
    store: Store, days: int, expected_questions: int, expected_recommendations: int
) -> None:
    for age in (timedelta(hours=2), timedelta(days=3), timedelta(days=20), timedelta(days=100)):
        ask(store, "admin?", "admin", asked_at=NOW - age)
    for age in (timedelta(hours=2), timedelta(days=20), timedelta(days=100)):
        recommend(store, "flask", "close", recommended_at=NOW - age)

    stats = store.stats("T1", NOW - timedelta(days=days), until=NOW)
    assert stats.questions == expected_questions
    assert stats.recommendation_count == expected_recommendations


def test_stats_never_mix_workspaces(store: Store) -> None:
    ask(store, "admin?", "admin", team_id="T1")
    ask(store, "orm?", None, team_id="T2")
    ask(store, "orm?", None, team_id="T2")
    vote(store, True, team_id="T2")
    recommend(store, "flask", "clear", team_id="T2")

    first = store.stats("T1", WEEK_AGO)
    assert (first.questions, first.answered, first.not_sure) == (1, 1, 0)
    assert first.unanswered == ()
    assert first.helpful == ()
    assert first.recommendations == ()

    second = store.stats("T2", WEEK_AGO)
    assert (second.questions, second.not_sure, second.recommendation_count) == (2, 2, 1)
    assert store.team_ids() == ["T1", "T2"]
    assert {row["team_id"] for row in rows(store.export("unanswered", "T1"))} == set()
    assert {row["team_id"] for row in rows(store.export("unanswered"))} == {"T2"}


def test_unanswered_questions_are_grouped_by_wording_most_frequent_first(store: Store) -> None:
    for text in [
        "Can it do websockets?",
        "can it do  WebSockets",
        "<@U0BOT> can it do websockets?!",
        "what about graphql",
        "What about GraphQL?",
        "is it web scale",
    ]:
        ask(store, text, None)
    ask(store, "can it do websockets?", "realtime")  # answered: not in the list

    unanswered = store.stats("T1", WEEK_AGO).unanswered

    assert [(question.count, question.text) for question in unanswered] == [
        (3, "can it do websockets"),
        (2, "what about graphql"),
        (1, "is it web scale"),
    ]
    assert all(question.last_asked.tzinfo is not None for question in unanswered)
    assert len(store.stats("T1", WEEK_AGO, limit=2).unanswered) == 2


def test_empty_stats_for_an_unknown_workspace(store: Store) -> None:
    stats = store.stats("T404", WEEK_AGO)
    assert (stats.questions, stats.answered, stats.not_sure) == (0, 0, 0)
    assert (stats.top_entries, stats.helpful, stats.unanswered) == ((), (), ())
    assert stats.recommendations_by_framework == {}


# -- export --------------------------------------------------------------------------------


def test_feedback_export_has_a_header_and_every_vote(store: Store) -> None:
    """Each vote names the stored question or recommendation it rated (their uids), so an
    export joins to the records and to the messages' metadata."""
    vote(store, True, voted_at=NOW - timedelta(minutes=2), question_uid="q" * 32)
    vote(
        store,
        False,
        user_id="U2",
        message_key="C1:2",
        target_kind="recommendation",
        target_id="flask",
        question=None,
        voted_at=NOW - timedelta(minutes=1),
        recommendation_uid="r" * 32,
    )

    text = store.export("feedback", "T1")

    assert text.splitlines()[0] == (
        "voted_at,team_id,user_id,message_key,target_kind,target_id,helpful,question,"
        "reason,reason_note,question_uid,recommendation_uid"
    )
    assert rows(text) == [
        {
            "voted_at": (NOW - timedelta(minutes=2)).isoformat(),
            "team_id": "T1",
            "user_id": "U1",
            "message_key": "C1:1700000000.000100",
            "target_kind": "entry",
            "target_id": "admin",
            "helpful": "true",
            "question": "does it have an admin?",
            "reason": "",
            "reason_note": "",
            "question_uid": "q" * 32,
            "recommendation_uid": "",
        },
        {
            "voted_at": (NOW - timedelta(minutes=1)).isoformat(),
            "team_id": "T1",
            "user_id": "U2",
            "message_key": "C1:2",
            "target_kind": "recommendation",
            "target_id": "flask",
            "helpful": "false",
            "question": "",
            "reason": "",
            "reason_note": "",
            "question_uid": "",
            "recommendation_uid": "r" * 32,
        },
    ]


def test_unanswered_export_lists_not_sure_questions_with_closest_topics(store: Store) -> None:
    ask(
        store,
        "what about celery, queues",
        None,
        closest=[("tasks", 0.41), ("async", 0.3)],
        asked_at=NOW - timedelta(minutes=3),
        uid="u" * 32,
    )
    ask(store, "admin?", "admin", asked_at=NOW - timedelta(minutes=2))
    ask(store, '=HYPERLINK("http://x")', None, channel_id="D9", asked_at=NOW)

    exported = rows(store.export("unanswered", "T1"))

    assert exported == [
        {
            "asked_at": (NOW - timedelta(minutes=3)).isoformat(),
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "question": "what about celery, queues",
            "closest_topics": "tasks:0.41; async:0.30",
            "question_uid": "u" * 32,
        },
        {
            "asked_at": NOW.isoformat(),
            "team_id": "T1",
            "channel_id": "D9",
            "user_id": "U1",
            "question": '\'=HYPERLINK("http://x")',
            "closest_topics": "",
            "question_uid": "",
        },
    ]


def test_export_of_an_empty_store_is_just_the_header(store: Store) -> None:
    assert store.export("unanswered") == (
        "asked_at,team_id,channel_id,user_id,question,closest_topics,question_uid\n"
    )


@pytest.mark.parametrize(("what", "fmt"), [("votes", "csv"), ("feedback", "xlsx")])
def test_export_refuses_unknown_kinds_and_formats(store: Store, what: str, fmt: str) -> None:
    with pytest.raises(ValueError, match="must be one of"):
        store.export(what, fmt=fmt)  # type: ignore[arg-type]


# -- retention and removal -----------------------------------------------------------------


def test_purge_blanks_texts_older_than_the_retention_period(store: Store) -> None:
    ask(store, "old unanswered", None, asked_at=NOW - timedelta(days=100))
    ask(store, "old answered", "admin", asked_at=NOW - timedelta(days=95))
    ask(store, "recent unanswered", None, asked_at=NOW - timedelta(days=10))
    vote(store, True, message_key="C1:old", voted_at=NOW - timedelta(days=91))
    vote(store, True, message_key="C1:new", voted_at=NOW - timedelta(days=1))

    assert store.purge(90, now=NOW) == 3
    assert store.purge(90, now=NOW) == 0

    stats = store.stats("T1", NOW - timedelta(days=365), until=NOW)
    assert (stats.questions, stats.answered) == (3, 1)  # counts stay
    assert [question.text for question in stats.unanswered] == ["recent unanswered"]  # folded
    assert [row["question"] for row in rows(store.export("unanswered"))] == ["recent unanswered"]
    questions = {row["message_key"]: row["question"] for row in rows(store.export("feedback"))}
    assert questions == {"C1:old": "", "C1:new": "does it have an admin?"}


def test_retention_is_applied_when_an_instance_starts(make_store: Callable[..., Store]) -> None:
    earlier = make_store(retention_days=None)
    ask(earlier, "ancient", None, asked_at=NOW - timedelta(days=40))
    earlier.flush()

    later = make_store(retention_days=30)

    assert later.stats("T1", NOW - timedelta(days=365)).unanswered == ()


def test_purge_refuses_a_negative_period(store: Store) -> None:
    with pytest.raises(ValueError, match="negative"):
        store.purge(-1)


def test_delete_team_removes_only_that_workspace(store: Store) -> None:
    for team in ("T1", "T2"):
        store.claim_event(f"Ev-{team}", team)
        ask(store, "orm?", None, team_id=team)
        vote(store, True, team_id=team)
        recommend(store, "django", "clear", team_id=team)

    assert store.delete_team("T1") is True

    gone = store.stats("T1", WEEK_AGO)
    assert (gone.questions, gone.helpful, gone.recommendations) == (0, (), ())
    assert store.team_ids() == ["T2"]
    assert store.claim_event("Ev-T1", "T1") is True  # its event claims went too
    assert store.claim_event("Ev-T2", "T2") is False
    kept = store.stats("T2", WEEK_AGO)
    assert (kept.questions, len(kept.helpful), kept.recommendation_count) == (1, 1, 1)


# -- knowledge stamp -----------------------------------------------------------------------


def test_the_knowledge_stamp_is_shared_between_instances(make_store: Callable[..., Store]) -> None:
    first, second = make_store(), make_store()
    assert second.get_knowledge_stamp() is None
    first.set_knowledge_stamp("sha256:aaa")
    assert second.get_knowledge_stamp() == "sha256:aaa"
    second.set_knowledge_stamp("sha256:bbb")
    assert first.get_knowledge_stamp() == "sha256:bbb"


# -- refused input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (lambda store: recommend(store, "django", "maybe"), "verdict"),
        (lambda store: vote(store, True, target_kind="company"), "target_kind"),
        (lambda store: ask(store, "x", None, asked_at=datetime(2024, 1, 1)), "naive"),
    ],
    ids=["verdict", "target-kind", "naive-time"],
)
def test_bad_records_are_refused_at_once(
    store: Store, record: Callable[[Store], None], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        record(store)
    assert store.health().pending == 0


def test_a_record_the_database_rejects_is_counted_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    recommend(store, None, "clear")  # type: ignore[arg-type]  # NOT NULL framework_id
    recommend(store, "flask", "clear")

    assert settled(store) == (True, 0, 1, None)
    assert "rejected a recommendation record" in caplog.text
    assert store.stats("T1", WEEK_AGO).recommendation_count == 1
