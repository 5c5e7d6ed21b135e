"""Why a 👎: the reason kept with the vote it was given for, what stats and exports show of
it, and what retention and a changed vote do to it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store import Store
from bot.store.reasons import MAX_REASON_NOTE, REASON_LABELS, REASONS

NOW = datetime.now(UTC).replace(microsecond=0)
WEEK_AGO = NOW - timedelta(days=7)
VOTE: dict[str, Any] = {
    "team_id": "T1",
    "user_id": "U1",
    "message_key": "C1:1700000000.000100",
    "target_kind": "entry",
    "target_id": "admin",
    "question": "does it have an admin?",
}


def thumbs_down(store: Store, voted_at: datetime, **extra: Any) -> None:
    store.record_vote(**(VOTE | {"helpful": False, "voted_at": voted_at} | extra))


def reason(
    store: Store, voted_at: datetime, why: Any, note: str | None = None, **extra: Any
) -> None:
    store.record_vote_reason(**(VOTE | {"voted_at": voted_at, "reason": why, "note": note} | extra))


def exported(store: Store) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(store.export("feedback", "T1"))))


def test_a_reason_is_stored_with_its_vote_and_shown_in_stats_and_export(store: Store) -> None:
    voted = NOW - timedelta(minutes=5)
    thumbs_down(store, voted)
    thumbs_down(store, voted, user_id="U2")
    reason(store, voted, "out_of_date", "  Django 5 changed it  ")

    [complaint] = store.stats("T1", WEEK_AGO).complaints
    assert (complaint.target_id, complaint.not_helpful) == ("admin", 2)
    assert complaint.reasons == (("out_of_date", 1),)
    assert complaint.notes == ("Django 5 changed it",)
    by_user = {row["user_id"]: (row["reason"], row["reason_note"]) for row in exported(store)}
    assert by_user == {"U1": ("out_of_date", "Django 5 changed it"), "U2": ("", "")}


def test_a_later_vote_retires_the_reason_and_a_late_reason_never_attaches(store: Store) -> None:
    first = NOW - timedelta(minutes=5)
    thumbs_down(store, first)
    store.record_vote(**(VOTE | {"helpful": True, "voted_at": first + timedelta(minutes=1)}))
    reason(store, first, "unclear", "late")

    [row] = exported(store)
    assert (row["helpful"], row["reason"], row["reason_note"]) == ("true", "", "")
    assert store.stats("T1", WEEK_AGO).complaints == ()

    again = first + timedelta(minutes=2)
    thumbs_down(store, again)
    [row] = exported(store)
    assert (row["helpful"], row["reason"]) == ("false", "")  # the old reason stays retired


def test_a_reason_that_arrives_before_its_vote_writes_the_vote(store: Store) -> None:
    voted = NOW - timedelta(minutes=1)
    reason(store, voted, "wrong_topic")
    thumbs_down(store, voted)

    [row] = exported(store)
    assert (row["helpful"], row["reason"], row["question"]) == (
        "false",
        "wrong_topic",
        "does it have an admin?",
    )


def test_the_most_complained_about_come_first_with_their_reasons_most_given_first(
    store: Store,
) -> None:
    voted = NOW - timedelta(minutes=3)
    for user, why in [("U1", "unclear"), ("U2", "out_of_date"), ("U3", "out_of_date")]:
        thumbs_down(store, voted, user_id=user)
        reason(store, voted, why, user_id=user)
    thumbs_down(store, voted, target_id="orm", message_key="C1:2")

    complaints = store.stats("T1", WEEK_AGO).complaints
    assert [(c.target_id, c.not_helpful) for c in complaints] == [("admin", 3), ("orm", 1)]
    assert complaints[0].reasons == (("out_of_date", 2), ("unclear", 1))


def test_a_long_note_is_cut_and_retention_blanks_notes(store: Store) -> None:
    old = NOW - timedelta(days=100)
    thumbs_down(store, old)
    reason(store, old, "other", "x" * 5000)
    assert len(exported(store)[0]["reason_note"]) == MAX_REASON_NOTE

    store.purge(90, now=NOW)

    [row] = exported(store)
    assert (row["reason"], row["reason_note"]) == ("other", "")


@pytest.mark.parametrize("why", ["rude", "", "OUT_OF_DATE"])
def test_an_unknown_reason_is_refused(store: Store, why: str) -> None:
    with pytest.raises(ValueError, match="reason must be one of"):
        reason(store, NOW, why)


def test_every_reason_has_words_people_read() -> None:
    assert tuple(REASON_LABELS) == REASONS
    assert all(REASON_LABELS.values())
