"""Team decisions are written at once and shared: any instance sees every answer and the close,
a restart loses nothing, uninstall removes them and retention removes their free text."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.knowledge import KnowledgeBase
from bot.render.curator import stats_message
from bot.render.text import render_stats
from bot.store import Store
from bot.store.decisions import Decision, DecisionClosed, DecisionNotFound, DecisionStore

SCALE_LARGE = {"scale": ["large"], "features": ["forms", "i18n"]}
SCALE_SMALL = {"scale": ["small"], "features": ["none-of-these"]}


def decisions_of(store: Store) -> DecisionStore:
    return DecisionStore(store.engine)


def started(decisions: DecisionStore, team_id: str = "T1", title: str = "Billing") -> Decision:
    return decisions.start(
        team_id=team_id,
        channel_id="C1",
        thread_ts="1700000000.000100",
        title=title,
        started_by="U0ALICE",
        knowledge_version="v1",
    )


def answer(
    decisions: DecisionStore, decision: Decision, user: str, answers: dict[str, list[str]]
) -> Decision:
    return decisions.record_answers(
        team_id=decision.team_id,
        decision_id=decision.id,
        user_id=user,
        user_name=user.title(),
        answers=answers,
    )


def test_answers_are_kept_in_the_order_people_first_answered(store: Store) -> None:
    decisions = decisions_of(store)
    decision = started(decisions)
    answer(decisions, decision, "U0ALICE", SCALE_LARGE)
    answer(decisions, decision, "U0BOB", SCALE_SMALL)
    again = answer(decisions, decision, "U0ALICE", SCALE_SMALL)

    assert [entry.user_id for entry in again.answers] == ["U0ALICE", "U0BOB"]
    assert again.ballots()["U0ALICE"] == {"scale": ("small",), "features": ("none-of-these",)}
    assert again.version == 3
    assert again.is_open and again.title == "Billing" and again.started_by == "U0ALICE"


def test_two_people_answering_at_once_on_two_instances_are_both_counted(
    make_store: Callable[..., Store],
) -> None:
    first, second = decisions_of(make_store()), decisions_of(make_store())
    decision = started(first)
    ready = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(decisions: DecisionStore, user: str) -> None:
        ready.wait()
        try:
            answer(decisions, decision, user, SCALE_LARGE)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=submit, args=(first, "U0ALICE")),
        threading.Thread(target=submit, args=(second, "U0BOB")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seen = second.get(decision.id)
    assert sorted(entry.user_id for entry in seen.answers) == ["U0ALICE", "U0BOB"]
    assert seen.version == 2


def test_a_decision_closed_on_one_instance_is_closed_on_all(
    make_store: Callable[..., Store],
) -> None:
    first, second = decisions_of(make_store()), decisions_of(make_store())
    decision = started(first)
    answer(first, decision, "U0ALICE", SCALE_LARGE)

    closed = first.close(
        team_id="T1", decision_id=decision.id, closed_by="U0ALICE", framework_id="django",
        verdict="clear",
    )  # fmt: skip

    assert closed.status == "closed" and closed.closed_at is not None
    assert second.get(decision.id).status == "closed"
    with pytest.raises(DecisionClosed):
        answer(second, decision, "U0BOB", SCALE_SMALL)
    with pytest.raises(DecisionClosed):
        second.close(
            team_id="T1", decision_id=decision.id, closed_by="U0BOB", framework_id="flask",
            verdict="close",
        )  # fmt: skip
    assert second.get(decision.id).framework_id == "django"


def test_of_two_closes_at_once_exactly_one_wins(make_store: Callable[..., Store]) -> None:
    instances = [decisions_of(make_store()) for _ in range(2)]
    decision = started(instances[0])
    ready = threading.Barrier(2)
    outcomes: list[str] = []

    def close(decisions: DecisionStore) -> None:
        ready.wait()
        try:
            decisions.close(
                team_id="T1", decision_id=decision.id, closed_by="U0ALICE",
                framework_id="django", verdict="clear",
            )  # fmt: skip
            outcomes.append("closed")
        except DecisionClosed:
            outcomes.append("already closed")

    threads = [threading.Thread(target=close, args=(d,)) for d in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already closed", "closed"]


def test_a_restart_loses_nothing(make_store: Callable[..., Store]) -> None:
    before = make_store()
    decision = started(decisions_of(before))
    answer(decisions_of(before), decision, "U0ALICE", SCALE_LARGE)
    decisions_of(before).set_message(decision.id, "1700000000.000200")
    before.close()

    after = decisions_of(make_store()).get(decision.id)

    assert after.message_ts == "1700000000.000200"
    assert after.ballots() == {"U0ALICE": {"scale": ("large",), "features": ("forms", "i18n")}}


def test_a_decision_belongs_to_its_workspace(store: Store) -> None:
    decisions = decisions_of(store)
    decision = started(decisions, team_id="T1")
    with pytest.raises(DecisionNotFound):
        decisions.get(decision.id, team_id="T2")
    with pytest.raises(DecisionNotFound):
        decisions.record_answers(
            team_id="T2", decision_id=decision.id, user_id="U0EVE", user_name=None,
            answers=SCALE_SMALL,
        )  # fmt: skip
    assert [d.id for d in decisions.list("T2")] == []
    assert [d.id for d in decisions.list("T1")] == [decision.id]


def test_uninstalling_deletes_the_workspaces_decisions_only(store: Store) -> None:
    decisions = decisions_of(store)
    gone = started(decisions, team_id="T1")
    answer(decisions, gone, "U0ALICE", SCALE_LARGE)
    kept = started(decisions, team_id="T2")
    answer(decisions, kept, "U0BOB", SCALE_SMALL)

    assert store.delete_team("T1")

    with pytest.raises(DecisionNotFound):
        decisions.get(gone.id)
    assert [entry.user_id for entry in decisions.get(kept.id).answers] == ["U0BOB"]


def test_retention_removes_titles_and_names_but_keeps_the_outcome(store: Store) -> None:
    decisions = decisions_of(store)
    decision = started(decisions, title="Framework for the billing service")
    answer(decisions, decision, "U0ALICE", SCALE_LARGE)
    decisions.close(
        team_id="T1", decision_id=decision.id, closed_by="U0ALICE", framework_id="django",
        verdict="clear",
    )  # fmt: skip

    assert store.purge(30) == 0
    removed = store.purge(30, now=datetime.now(UTC) + timedelta(days=31))

    assert removed == 2
    after = decisions.get(decision.id)
    assert after.title is None and after.answers[0].user_name is None
    assert after.names() == {"U0ALICE": "U0ALICE"}
    assert (after.framework_id, after.ballots()["U0ALICE"]["scale"]) == ("django", ("large",))
    assert decisions.counts("T1") == {("closed", "django"): 1}


def test_stats_count_the_periods_decisions_and_what_the_closed_ones_chose(
    store: Store, kb: KnowledgeBase
) -> None:
    decisions = decisions_of(store)
    for title, outcome in (("Billing", "django"), ("Search", "flask"), ("Admin", "django")):
        decision = started(decisions, title=title)
        decisions.close(
            team_id="T1",
            decision_id=decision.id,
            closed_by="U0ALICE",
            framework_id=outcome,
            verdict="clear",
        )
    started(decisions, title="Still open")
    started(decisions, team_id="T2", title="Another workspace")

    stats = store.stats("T1", datetime.now(UTC) - timedelta(days=1))

    assert stats.decision_count == 4 and stats.open_decisions == 1
    assert stats.decisions_by_framework == {"django": 2, "flask": 1}
    assert "Team decisions: 4 (1 open; closed: Django 2, Flask 1)" in render_stats(kb, stats)
    slack_stats = json.dumps(stats_message(kb, stats, 1).blocks_json(), ensure_ascii=False)
    assert "*Team decisions:* 4 (1 open; closed: Django 2, Flask 1)" in slack_stats
    assert store.stats("T1", datetime.now(UTC) + timedelta(days=1)).decision_count == 0
