"""The curators' weekly digest as composed from the store and the knowledge: which week is due
when, what it lists (the week's unanswered questions, the 👎 with their reasons, the answers
due for review) and how it is cut to Slack's limits; and the claim that lets one instance send
it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.digest import compose_digest, digest_week
from bot.knowledge import KnowledgeBase
from bot.render.block_kit import MAX_SECTION_TEXT
from bot.render.digest import MAX_SHOWN, digest_message
from bot.store import Store, create_store

TEAM = "T0TEST"
DUE = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday, 09:00 UTC: the week 2026-W49
IN_WEEK = DUE - timedelta(days=2)
BEFORE_WEEK = DUE - timedelta(days=8)


@pytest.fixture
def store(tmp_path: Path, migrated_copy: Callable[[Path], Path]) -> Iterator[Store]:
    store = create_store(None, migrated_copy(tmp_path), retention_days=None)
    yield store
    store.close()


def not_sure(store: Store, text: str, at: datetime, team: str = TEAM) -> None:
    store.record_question(
        team_id=team,
        channel_id="C0GENERAL",
        user_id="U0ALICE",
        text=text,
        entry_id=None,
        score=None,
        asked_at=at,
    )


def thumbs_down(
    store: Store, entry_id: str, user: str, at: datetime, note: str | None = None
) -> None:
    """A 👎 on an answer with `entry_id`, at `at`, with the reason "out of date"."""
    vote: dict[str, Any] = {
        "team_id": TEAM,
        "user_id": user,
        "message_key": f"C0GENERAL:{at.timestamp()}",
        "target_kind": "entry",
        "target_id": entry_id,
        "question": "q",
        "voted_at": at,
    }
    store.record_vote(**vote, helpful=False)
    store.record_vote_reason(**vote, reason="out_of_date", note=note)


def reviewed_on(
    kb: KnowledgeBase, day: date, count: int = 1, owner: str | None = None
) -> KnowledgeBase:
    """`kb` with its first `count` entries last reviewed on `day`, the rest never."""
    entries = tuple(
        entry.model_copy(
            update={"reviewed": day, "owner": owner} if i < count else {"reviewed": None}
        )
        for i, entry in enumerate(kb.entries)
    )
    return kb.model_copy(update={"entries": entries})


@pytest.mark.parametrize(
    ("now", "label", "due"),
    [
        (datetime(2026, 11, 30, 9, tzinfo=UTC), "2026-W49", DUE),
        (datetime(2026, 12, 6, 23, 59, tzinfo=UTC), "2026-W49", DUE),
        (datetime(2026, 11, 30, 8, 59, tzinfo=UTC), "2026-W49", DUE),
        (datetime(2027, 1, 1, 12, tzinfo=UTC), "2026-W53", datetime(2026, 12, 28, 9, tzinfo=UTC)),
    ],
)
def test_the_digest_is_due_from_its_weekday_and_hour_in_each_iso_week(
    now: datetime, label: str, due: datetime
) -> None:
    week = digest_week(now, weekday=1, hour=9)

    assert (week.label, week.due_at, week.since) == (label, due, due - timedelta(days=7))
    assert week.claim_key(TEAM) == f"digest:{TEAM}:{label}"


def test_a_later_weekday_moves_the_due_time_within_the_week() -> None:
    week = digest_week(datetime(2026, 12, 1, tzinfo=UTC), weekday=5, hour=16)
    assert week.due_at == datetime(2026, 12, 4, 16, tzinfo=UTC)


def test_the_digest_lists_the_weeks_unanswered_questions_and_thumbs_down_with_reasons(
    store: Store, kb: KnowledgeBase
) -> None:
    entry = kb.entries[0]
    not_sure(store, "Can it run on a toaster?", IN_WEEK)
    not_sure(store, "can it run on a toaster", IN_WEEK)
    not_sure(store, "last month's question", BEFORE_WEEK)
    not_sure(store, "another workspace's question", IN_WEEK, team="T0OTHER")
    thumbs_down(store, entry.id, "U0ALICE", IN_WEEK, note="says 4.2, we run 5.1")
    thumbs_down(store, entry.id, "U0BOB", BEFORE_WEEK)

    digest = compose_digest(store, kb, TEAM, DUE - timedelta(days=7), DUE, review_after_days=180)

    assert [(q.text, q.count) for q in digest.unanswered] == [("can it run on a toaster", 2)]
    [complaint] = digest.complaints
    assert (complaint.target_id, complaint.not_helpful) == (entry.id, 1)
    assert complaint.reasons == (("out_of_date", 1),)
    assert complaint.notes == ("says 4.2, we run 5.1",)
    message = json.dumps(digest_message(kb, digest).blocks_json(), ensure_ascii=False)
    assert "can it run on a toaster" in message and "2 times" in message
    assert "out of date" in message and "says 4.2, we run 5.1" in message


def test_the_digest_lists_answers_whose_review_is_older_than_review_after_days(
    store: Store, kb: KnowledgeBase
) -> None:
    old = reviewed_on(kb, DUE.date() - timedelta(days=181), count=2, owner="U0OWNER")
    recent = reviewed_on(kb, DUE.date() - timedelta(days=10), count=2)

    stale = compose_digest(store, old, TEAM, DUE - timedelta(days=7), DUE, review_after_days=180)
    fresh = compose_digest(store, recent, TEAM, DUE - timedelta(days=7), DUE, review_after_days=180)

    assert [entry.id for entry in stale.stale] == sorted(entry.id for entry in kb.entries[:2])
    assert fresh.stale == ()
    text = json.dumps(digest_message(old, stale).blocks_json())
    assert kb.entries[0].id in text and "<@U0OWNER>" in text and "180 days" in text


def test_a_quiet_week_says_so(store: Store, kb: KnowledgeBase) -> None:
    quiet = reviewed_on(kb, DUE.date(), count=0)
    digest = compose_digest(store, quiet, TEAM, DUE - timedelta(days=7), DUE, review_after_days=180)

    assert digest.empty
    assert "A quiet week" in json.dumps(digest_message(quiet, digest).blocks_json())


def test_long_lists_show_their_first_items_and_count_the_rest(
    store: Store, kb: KnowledgeBase
) -> None:
    for number in range(MAX_SHOWN + 7):
        not_sure(store, f"question number {number} " + "x" * 400, IN_WEEK)
    stale_kb = reviewed_on(kb, date(2020, 1, 1), count=len(kb.entries))

    digest = compose_digest(
        store, stale_kb, TEAM, DUE - timedelta(days=7), DUE, review_after_days=180
    )
    blocks = digest_message(stale_kb, digest).blocks_json()  # to_dict() checks slack_sdk's limits

    text = json.dumps(blocks, ensure_ascii=False)
    assert "…and 7 more." in text
    assert f"…and {len(kb.entries) - MAX_SHOWN} more." in text
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT for b in blocks)


def test_one_claim_of_a_digest_wins_and_a_released_one_is_claimed_again(store: Store) -> None:
    lease = timedelta(minutes=10)
    key = "digest:T0TEST:2026-W49"

    assert store.claim_once(key, lease) is True
    assert store.claim_once(key, lease) is False  # another instance, while it is sent
    assert store.settle_claim(key, done=False)  # sending failed: released
    assert store.claim_once(key, lease) is True
    assert store.settle_claim(key, done=True)
    assert store.claim_once(key, lease) is False
    assert store.claim_once(key, timedelta(0)) is False  # done is done, however old


def test_a_claim_left_unsent_by_a_dead_instance_is_taken_over_after_its_lease(
    store: Store,
) -> None:
    key = "digest:T0TEST:2026-W49"
    assert store.claim_once(key, timedelta(minutes=10))

    assert store.claim_once(key, timedelta(minutes=10)) is False
    assert store.claim_once(key, timedelta(0)) is True
