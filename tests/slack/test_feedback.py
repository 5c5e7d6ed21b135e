"""👍 / 👎 under every answer and recommendation, end to end, and what curators
get from the store: every vote (one per person per message, changeable), every question from
every surface, every "not sure" with the closest topics and their scores, and every
recommendation with its framework and verdict."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.advisor import advise
from bot.knowledge import Entry, KnowledgeBase, load_knowledge
from bot.live_knowledge import folder_stamp
from bot.matching import matcher_for
from bot.render.answers import answer_message
from bot.render.block_kit import MAX_BUTTON_VALUE, escape
from bot.render.feedback import FeedbackButtons
from bot.slack.wire.ids import (
    FEEDBACK_BLOCK_ID,
    NOTE_BLOCK_ID,
    REASON_BLOCK_ID,
    ActionId,
    CallbackId,
)
from bot.slack.wire.metadata import MessageFacts
from bot.slack.wire.state import (
    MAX_FEEDBACK_QUESTION,
    Destination,
    FeedbackValue,
    ResultValue,
)
from bot.store import Store
from bot.store.reasons import REASON_LABELS
from bot.store.schema import feedback, questions, recommendations
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    BOB,
    GENERAL,
    TEAM_ID,
    app_mention,
    block_actions,
    direct_message,
    message_shortcut,
    slash_command,
    state_value,
    view_submission,
)
from tests.support.slack_test_helpers import (
    answerable,
    assert_valid_block_kit,
    best_answers,
    click_topic,
    click_vote,
    feedback_buttons,
    recommend_by_command,
    topic_buttons,
    vague_question,
    vote_on,
)

FRAMEWORK_IDS = [framework.id for framework in load_knowledge().frameworks]
OLD_BUTTONS = {True: ActionId.FEEDBACK_HELPFUL, False: ActionId.FEEDBACK_NOT_HELPFUL}
"""The Helpful / Not helpful buttons of messages posted before the native 👍 / 👎."""
STARTED = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


# --- helpers --------------------------------------------------------------------------------------


def text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def content(message_blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's blocks before its feedback block: what it says, without the vote."""
    index = next(i for i, b in enumerate(message_blocks) if b.get("block_id") == FEEDBACK_BLOCK_ID)
    return message_blocks[:index]


def exported(store: Store, what: str) -> list[dict[str, str]]:
    """The store's CSV export for the test workspace, as rows (after writing what waits)."""
    assert store.flush()
    return list(csv.DictReader(io.StringIO(store.export(what, TEAM_ID))))  # type: ignore[arg-type]


def stored_questions(store: Store) -> list[dict[str, Any]]:
    assert store.flush()
    with store.engine.connect() as connection:
        rows = connection.execute(select(questions).order_by(questions.c.id))
        return [dict(row._mapping) for row in rows]


@dataclass(frozen=True)
class Asked:
    """A question put to the bot from one surface, and the reply it got."""

    blocks: list[dict[str, Any]]
    channel: str
    posted: Call | None
    """The chat.postMessage call of the reply; None when it came through a response URL."""


def ask_by_mention(send: Send, fake: FakeSlack, question: str) -> Asked:
    send("app_mention", app_mention(f"<@U0BOT> {question}"))
    posted = fake.wait_for("chat.postMessage")[0]
    return Asked(posted.params["blocks"], GENERAL, posted)


def ask_in_dm(send: Send, fake: FakeSlack, question: str) -> Asked:
    send("direct_message", direct_message(question))
    posted = fake.wait_for("chat.postMessage")[0]
    return Asked(posted.params["blocks"], ALICE_DM, posted)


def ask_by_command(send: Send, fake: FakeSlack, question: str) -> Asked:
    send("slash_command", slash_command(f"ask {question}", response_url=fake.response_url("ask")))
    return Asked(fake.wait_for_response(1)[0].body["blocks"], GENERAL, None)


def ask_by_shortcut(send: Send, fake: FakeSlack, question: str) -> Asked:
    send("message_shortcut", message_shortcut(CallbackId.ASK_SHORTCUT, question))
    posted = fake.wait_for("chat.postMessage")[0]
    return Asked(posted.params["blocks"], GENERAL, posted)


SURFACES: dict[str, Callable[[Send, FakeSlack, str], Asked]] = {
    "mention": ask_by_mention,
    "dm": ask_in_dm,
    "command": ask_by_command,
    "shortcut": ask_by_shortcut,
}


def posted_answer(
    send: Send,
    fake: FakeSlack,
    kb: KnowledgeBase,
    index: int = 0,
    ask: Callable[[Send, FakeSlack, str], Asked] = ask_by_mention,
) -> tuple[Entry, str, Call]:
    """An `answerable(kb, index)` question asked through `ask`: its entry, its phrasing and the
    bot's posted answer."""
    entry, phrasing = answerable(kb, index)
    posted = ask(send, fake, phrasing).posted
    assert posted is not None
    return entry, phrasing, posted


def vote_on_ephemeral(
    send: Send, fake: FakeSlack, message_blocks: list[dict[str, Any]], helpful: bool, token: str
) -> None:
    """Click Helpful / Not helpful on an ephemeral reply (its result goes to the response URL)."""
    click_vote(
        send,
        message_blocks,
        helpful,
        ephemeral=True,
        message_ts="1700000000.000500",
        response_url=fake.response_url(token),
    )


def share_in_channel(send: Send, fake: FakeSlack, result_blocks: list[dict[str, Any]]) -> None:
    """Click "Share in channel" under an ephemeral recommendation."""
    share = next(
        element
        for block in result_blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == ActionId.SHARE_IN_CHANNEL
    )
    send(
        "block_actions",
        block_actions(
            ActionId.SHARE_IN_CHANNEL,
            share["value"],
            ephemeral=True,
            response_url=fake.response_url("share"),
        ),
    )


# --- the buttons ----------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", SURFACES)
def test_every_answer_carries_native_feedback_buttons_and_its_question_is_stored(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase, surface: str
) -> None:
    entry, phrasing = answerable(kb, 3)

    asked = SURFACES[surface](send, fake_slack, phrasing)

    assert escape(entry.title) in text_of(asked.blocks)
    buttons = feedback_buttons(asked.blocks)
    assert [buttons[vote]["text"]["text"] for vote in (True, False)] == ["👍", "👎"]
    assert "Sources" in text_of(content(asked.blocks)[-1])
    for vote in (True, False):
        value = FeedbackValue.decode(buttons[vote]["value"])
        assert (value.kind, value.target, value.helpful) == ("entry", entry.id, vote)
        assert value.question is not None and phrasing in value.question
    [row] = stored_questions(slack_store)
    assert (row["team_id"], row["channel_id"], row["user_id"]) == (TEAM_ID, asked.channel, ALICE)
    assert (row["entry_id"], row["closest"]) == (entry.id, [])
    assert phrasing in row["text"]


@pytest.mark.parametrize("surface", SURFACES)
def test_a_not_sure_reply_has_nothing_to_rate_and_is_stored_with_the_closest_topics(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase, surface: str
) -> None:
    question = vague_question(kb)
    offered = matcher_for(kb).match(question).alternatives

    asked = SURFACES[surface](send, fake_slack, question)

    assert "not sure" in text_of(asked.blocks)
    assert feedback_buttons(asked.blocks) == {}
    [row] = exported(slack_store, "unanswered")
    assert (row["team_id"], row["channel_id"], row["user_id"]) == (TEAM_ID, asked.channel, ALICE)
    assert row["question"].endswith(question)
    assert row["closest_topics"] == "; ".join(f"{c.entry.id}:{c.score:.2f}" for c in offered)
    assert datetime.fromisoformat(row["asked_at"]) >= STARTED
    stats = slack_store.stats(TEAM_ID, STARTED)
    assert (stats.questions, stats.answered, stats.not_sure) == (1, 0, 1)


def test_the_answer_after_a_topic_click_can_be_rated_with_the_question_that_was_asked(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    question = vague_question(kb)
    suggestion = ask_by_mention(send, fake_slack, question).posted
    assert suggestion is not None
    topic = topic_buttons(suggestion.params["blocks"])[0]
    click_topic(send, suggestion, topic)
    answered = fake_slack.wait_for("chat.update")[0]
    assert set(feedback_buttons(answered.params["blocks"])) == {True, False}

    vote_on(send, suggestion, True, message=answered.response["message"])

    fake_slack.wait_for("chat.update", 2)
    [vote] = exported(slack_store, "feedback")
    assert (vote["target_kind"], vote["target_id"], vote["helpful"]) == (
        "entry",
        FeedbackValue.decode(topic["value"]).target,
        "true",
    )
    assert vote["question"] == question


def test_a_topic_button_from_before_topics_carried_the_question_still_answers(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    suggestion = ask_by_mention(send, fake_slack, vague_question(kb)).posted
    assert suggestion is not None
    topic = topic_buttons(suggestion.params["blocks"])[0]
    entry_id = FeedbackValue.decode(topic["value"]).target

    click_topic(send, suggestion, {**topic, "value": entry_id})

    answered = fake_slack.wait_for("chat.update")[0]
    assert escape(kb.entry(entry_id).title) in json.dumps(answered.params["blocks"])


# --- votes ----------------------------------------------------------------------------------------


def test_a_vote_is_stored_with_workspace_person_message_entry_question_and_time(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing, posted = posted_answer(send, fake_slack, kb, 2)

    vote_on(send, posted, False)

    fake_slack.wait_for("chat.update")
    [vote] = exported(slack_store, "feedback")
    assert vote["team_id"] == TEAM_ID
    assert vote["user_id"] == ALICE
    assert vote["message_key"] == f"{GENERAL}:{posted.response['ts']}"
    assert (vote["target_kind"], vote["target_id"]) == ("entry", entry.id)
    assert vote["helpful"] == "false"
    assert vote["question"] == phrasing  # the mention that addressed the bot is not kept
    assert datetime.fromisoformat(vote["voted_at"]) >= STARTED
    [rate] = slack_store.stats(TEAM_ID, STARTED).helpful
    assert (rate.target_kind, rate.target_id, rate.helpful, rate.votes) == (
        "entry",
        entry.id,
        0,
        1,
    )


@pytest.mark.parametrize("helpful", [True, False])
def test_the_voted_message_keeps_its_answer_and_sources_and_acknowledges_the_vote(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, helpful: bool
) -> None:
    entry, _, posted = posted_answer(send, fake_slack, kb, 1)

    vote_on(send, posted, helpful)

    update = fake_slack.wait_for("chat.update")[0].params
    assert (update["channel"], update["ts"]) == (GENERAL, posted.response["ts"])
    assert content(update["blocks"]) == content(posted.params["blocks"])
    assert update["text"] == posted.params["text"]
    for source in kb.sources_for(entry.sources):
        assert source.url in text_of(update["blocks"])
    assert feedback_buttons(update["blocks"]) == feedback_buttons(posted.params["blocks"])
    marked, other = ("helpful", "👎") if helpful else ("not helpful", "👍")
    thanks = f"Thanks <@{ALICE}>: marked {marked}. Click {other} to change your vote."
    assert thanks in text_of(update["blocks"][-1])
    assert fake_slack.calls_to("chat.postMessage") == [posted]


def test_changing_a_vote_keeps_one_vote_per_person_per_message(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb)
    vote_on(send, posted, True)
    first = fake_slack.wait_for("chat.update")[0]

    vote_on(send, posted, False, message=first.response["message"])

    second = fake_slack.wait_for("chat.update", 2)[1].params
    assert "marked not helpful" in text_of(second["blocks"])
    [vote] = exported(slack_store, "feedback")
    assert (vote["user_id"], vote["helpful"]) == (ALICE, "false")


def test_two_people_voting_on_one_message_are_two_votes(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb)

    vote_on(send, posted, True)
    fake_slack.wait_for("chat.update")
    vote_on(send, posted, False, user=BOB)
    fake_slack.wait_for("chat.update", 2)

    votes = {
        (v["user_id"], v["helpful"], v["message_key"]) for v in exported(slack_store, "feedback")
    }
    key = f"{GENERAL}:{posted.response['ts']}"
    assert votes == {(ALICE, "true", key), (BOB, "false", key)}


def test_a_vote_in_a_dm_updates_the_answer_there(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb, ask=ask_in_dm)

    vote_on(send, posted, True, channel=ALICE_DM)

    update = fake_slack.wait_for("chat.update")[0].params
    assert (update["channel"], update["ts"]) == (ALICE_DM, posted.response["ts"])
    [vote] = exported(slack_store, "feedback")
    assert vote["message_key"] == f"{ALICE_DM}:{posted.response['ts']}"


def test_a_vote_on_an_ephemeral_answer_replaces_it_through_the_response_url(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb, 5)
    asked = ask_by_command(send, fake_slack, phrasing)

    vote_on_ephemeral(send, fake_slack, asked.blocks, True, "vote")

    replaced = fake_slack.wait_for_response(2)[1]
    assert replaced.token == "vote"
    assert replaced.body["replace_original"] is True
    assert content(replaced.body["blocks"]) == content(asked.blocks)
    assert "marked helpful" in text_of(replaced.body["blocks"])
    assert fake_slack.calls_to("chat.update") == []
    [vote] = exported(slack_store, "feedback")
    assert (vote["message_key"], vote["target_id"]) == (f"{GENERAL}:1700000000.000500", entry.id)
    assert vote["question"] == phrasing


@pytest.mark.slow  # waits out a real Retry-After or backoff
def test_a_failed_update_is_reported_to_the_voter_and_the_vote_still_counts(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb)
    fake_slack.fail_next("chat.update", error="cant_update_message")

    vote_on(send, posted, True)

    told = fake_slack.wait_for("chat.postEphemeral")[0].params
    assert told["user"] == ALICE
    assert "couldn't update the message" in text_of(told["blocks"])
    assert "cant_update_message" in text_of(told["blocks"])
    assert len(exported(slack_store, "feedback")) == 1


def test_a_vote_on_an_entry_the_knowledge_no_longer_has_is_stored_and_thanked(
    send: Send, fake_slack: FakeSlack, slack_store: Store
) -> None:
    value = FeedbackValue.for_entry("retired-topic", "is it still there?").encode_value()

    send(
        "block_actions",
        block_actions(
            ActionId.FEEDBACK_HELPFUL,
            value,
            block_id=FEEDBACK_BLOCK_ID,
            message_ts="1700000000.000700",
            response_url=fake_slack.response_url("gone"),
        ),
    )

    assert "Thanks" in text_of(fake_slack.wait_for_response(1)[0].body)
    assert fake_slack.calls_to("chat.update") == []
    [vote] = exported(slack_store, "feedback")
    assert (vote["target_id"], vote["question"]) == ("retired-topic", "is it still there?")


@pytest.mark.parametrize(
    "value",
    ["", "not json", '{"kind": "opinion", "target": "x"}', '{"kind": "entry"}', "[1, 2]"],
)
def test_an_unreadable_feedback_value_gets_a_polite_message_and_stores_nothing(
    send: Send, fake_slack: FakeSlack, slack_store: Store, value: str
) -> None:
    send(
        "block_actions",
        block_actions(
            ActionId.FEEDBACK_NOT_HELPFUL,
            value,
            block_id=FEEDBACK_BLOCK_ID,
            response_url=fake_slack.response_url("old"),
        ),
    )

    told = fake_slack.wait_for_response(1)[0]
    assert "couldn't read that vote" in text_of(told.body)
    assert fake_slack.calls_to("chat.update") == []
    assert exported(slack_store, "feedback") == []


def test_a_click_on_the_old_helpful_button_still_counts_and_brings_the_native_buttons(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing, posted = posted_answer(send, fake_slack, kb)
    old_value = FeedbackValue.for_entry(entry.id, phrasing).encode_value()
    old_message = {
        **posted.response["message"],
        "blocks": [
            *content(posted.params["blocks"]),
            {
                "type": "actions",
                "block_id": FEEDBACK_BLOCK_ID,
                "elements": [
                    {"type": "button", "action_id": action_id, "value": old_value, "text": {}}
                    for action_id in OLD_BUTTONS.values()
                ],
            },
        ],
    }

    send(
        "block_actions",
        block_actions(
            OLD_BUTTONS[True], old_value, block_id=FEEDBACK_BLOCK_ID, message=old_message
        ),
    )

    update = fake_slack.wait_for("chat.update")[0].params
    assert content(update["blocks"]) == content(posted.params["blocks"])
    assert feedback_buttons(update["blocks"]) == feedback_buttons(posted.params["blocks"])
    assert f"Thanks <@{ALICE}>: marked helpful." in text_of(update["blocks"])
    [vote] = exported(slack_store, "feedback")
    assert (vote["target_id"], vote["helpful"], vote["question"]) == (entry.id, "true", phrasing)


# --- message metadata -----------------------------------------------------------------------------


def test_a_posted_answer_says_in_its_metadata_what_it_answers_and_from_which_knowledge(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry, phrasing, posted = posted_answer(send, fake_slack, kb, 4)

    metadata = posted.params["metadata"]
    assert metadata["event_type"] == "framework_answer"
    payload = metadata["event_payload"]
    assert (payload["kind"], payload["target"], payload["question"]) == (
        "entry",
        entry.id,
        phrasing,
    )
    assert payload["knowledge_version"] == folder_stamp(None)


def test_a_vote_reads_what_was_rated_from_the_messages_metadata(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    """An old button that carried only the entry: the metadata still says what was asked."""
    entry, phrasing, posted = posted_answer(send, fake_slack, kb)
    bare = FeedbackValue.for_entry(entry.id, None).encode_value()

    send(
        "block_actions",
        block_actions(
            OLD_BUTTONS[True], bare, block_id=FEEDBACK_BLOCK_ID, message=posted.response["message"]
        ),
    )

    update = fake_slack.wait_for("chat.update")[0].params
    assert update["metadata"] == posted.params["metadata"]
    [vote] = exported(slack_store, "feedback")
    assert (vote["target_id"], vote["question"]) == (entry.id, phrasing)


def test_a_shared_recommendation_carries_its_framework_verdict_and_answers(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    framework_id = FRAMEWORK_IDS[0]
    result = recommend_by_command(send, fake_slack, kb, framework_id).body
    share_in_channel(send, fake_slack, result["blocks"])

    metadata = fake_slack.wait_for("chat.postMessage")[0].params["metadata"]
    expected = advise(kb, best_answers(kb, framework_id))
    assert metadata["event_type"] == "framework_recommendation"
    payload = metadata["event_payload"]
    assert (payload["target"], payload["verdict"]) == (framework_id, expected.verdict)
    assert payload["answers"] == {q: list(options) for q, options in expected.answers.items()}
    assert payload["knowledge_version"]


def stored_votes(store: Store) -> list[dict[str, Any]]:
    assert store.flush()
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(feedback))]


def test_an_answers_metadata_names_the_question_as_stored(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, phrasing, posted = posted_answer(send, fake_slack, kb)

    question_id = posted.params["metadata"]["event_payload"]["question_id"]
    [stored] = stored_questions(slack_store)
    assert (stored["text"], stored["uid"]) == (phrasing, question_id)
    assert question_id


def test_a_vote_is_stored_against_the_question_its_messages_metadata_names(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    """The button carries no question id (an older one): the metadata says which it was."""
    entry, _, posted = posted_answer(send, fake_slack, kb)
    bare = FeedbackValue.for_entry(entry.id, None).voting(False).encode_value()

    send(
        "block_actions",
        block_actions(
            ActionId.FEEDBACK,
            bare,
            block_id=FEEDBACK_BLOCK_ID,
            action_type="feedback_buttons",
            message=posted.response["message"],
        ),
    )

    update = fake_slack.wait_for("chat.update")[0].params
    [stored] = stored_questions(slack_store)
    [vote] = stored_votes(slack_store)
    assert (vote["target_id"], vote["helpful"], vote["question_uid"]) == (
        entry.id,
        False,
        stored["uid"],
    )
    assert update["metadata"]["event_payload"]["question_id"] == stored["uid"]


@pytest.mark.parametrize("buttons", ["current", "older"])
def test_a_vote_on_a_message_without_metadata_is_read_from_its_button(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase, buttons: str
) -> None:
    """A message posted before the metadata (or one Slack kept none for): the current buttons
    carry the question and its id, the older ones only the entry."""
    entry, phrasing, posted = posted_answer(send, fake_slack, kb)
    message = {k: v for k, v in posted.response["message"].items() if k != "metadata"}
    if buttons == "older":
        value = FeedbackValue.for_entry(entry.id, None).encode_value()
        send(
            "block_actions",
            block_actions(OLD_BUTTONS[True], value, block_id=FEEDBACK_BLOCK_ID, message=message),
        )
    else:
        vote_on(send, posted, True, message=message)

    fake_slack.wait_for("chat.update")
    [stored] = stored_questions(slack_store)
    [vote] = stored_votes(slack_store)
    expected = (phrasing, stored["uid"]) if buttons == "current" else (None, None)
    assert (vote["target_id"], vote["helpful"]) == (entry.id, True)
    assert (vote["question"], vote["question_uid"]) == expected


def test_sharing_reads_the_answers_from_the_messages_metadata(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    """A result posted as a message (a channel result that fell back to the DM) says in its
    metadata what it recommended; a button's copy that disagrees does not win."""
    first, second = FRAMEWORK_IDS[:2]
    stale = ResultValue(
        answers=best_answers(kb, second), to=Destination(user=ALICE, channel=GENERAL)
    )
    facts = MessageFacts.of(
        FeedbackValue.for_recommendation(first, best_answers(kb, first)), "v1", "clear"
    )

    send(
        "block_actions",
        block_actions(
            ActionId.SHARE_IN_CHANNEL,
            stale.encode_value(),
            channel=ALICE_DM,
            message={"ts": "1700000000.000900", "metadata": facts.to_metadata().to_dict()},
        ),
    )

    shared = fake_slack.wait_for("chat.postMessage")[0].params
    assert shared["channel"] == GENERAL
    assert shared["metadata"]["event_payload"]["target"] == first


# --- why a 👎 -------------------------------------------------------------------------------------


def reason_modal(fake: FakeSlack) -> dict[str, Any]:
    """The "What was wrong?" modal the last 👎 opened."""
    opened = fake.wait_for("views.open")[-1].params
    view = opened["view"]
    assert isinstance(view, dict)
    assert view["callback_id"] == CallbackId.FEEDBACK_REASON
    return view


def give_reason(send: Send, view: dict[str, Any], reason: str | None, note: str | None) -> Any:
    values: dict[str, Any] = {}
    if reason is not None:
        values[REASON_BLOCK_ID] = {ActionId.FEEDBACK_REASON: state_value("radio_buttons", reason)}
    if note is not None:
        values[NOTE_BLOCK_ID] = {ActionId.FEEDBACK_NOTE: state_value("plain_text_input", note)}
    return send("view_submission", view_submission(view=view, values=values))


def test_a_thumbs_down_opens_the_reason_modal_whose_answer_is_stored_with_the_vote(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing, posted = posted_answer(send, fake_slack, kb, 2)

    vote_on(send, posted, False)

    view = reason_modal(fake_slack)
    assert view["title"]["text"] == "What was wrong?"
    shown = [option["text"]["text"] for option in view["blocks"][1]["element"]["options"]]
    assert shown == list(REASON_LABELS.values())
    fake_slack.wait_for("chat.update")
    response = give_reason(send, view, "out_of_date", "Django 5.2 <!channel> changed this")

    assert response.status == 200
    assert response.body == ""  # the modal closes
    [vote] = exported(slack_store, "feedback")
    assert (vote["target_id"], vote["helpful"], vote["question"]) == (entry.id, "false", phrasing)
    assert (vote["reason"], vote["reason_note"]) == (
        "out_of_date",
        "Django 5.2 <!channel> changed this",
    )
    [complaint] = slack_store.stats(TEAM_ID, STARTED).complaints
    assert (complaint.target_kind, complaint.target_id, complaint.not_helpful) == (
        "entry",
        entry.id,
        1,
    )
    assert complaint.reasons == (("out_of_date", 1),)
    assert complaint.notes == ("Django 5.2 <!channel> changed this",)


def test_closing_the_reason_modal_keeps_the_vote(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb, 1)

    vote_on(send, posted, False)

    reason_modal(fake_slack)
    assert "marked not helpful" in text_of(fake_slack.wait_for("chat.update")[0].params)
    [vote] = exported(slack_store, "feedback")
    assert (vote["helpful"], vote["reason"], vote["reason_note"]) == ("false", "", "")
    [complaint] = slack_store.stats(TEAM_ID, STARTED).complaints
    assert (complaint.not_helpful, complaint.reasons, complaint.notes) == (1, (), ())


def test_a_thumbs_up_opens_no_modal(send: Send, fake_slack: FakeSlack, kb: KnowledgeBase) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb)

    vote_on(send, posted, True)

    fake_slack.wait_for("chat.update")
    assert fake_slack.calls_to("views.open") == []


def test_a_reason_modal_sent_without_a_reason_asks_for_one(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb)
    vote_on(send, posted, False)

    response = give_reason(send, reason_modal(fake_slack), None, "just words")

    assert response.json()["response_action"] == "errors"
    assert REASON_BLOCK_ID in response.json()["errors"]
    [vote] = exported(slack_store, "feedback")
    assert (vote["helpful"], vote["reason"]) == ("false", "")


def test_a_vote_changed_after_its_reason_is_no_longer_counted_with_it(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    _, _, posted = posted_answer(send, fake_slack, kb)
    vote_on(send, posted, False)
    give_reason(send, reason_modal(fake_slack), "unclear", None)
    first = fake_slack.wait_for("chat.update")[0]

    vote_on(send, posted, True, message=first.response["message"])
    fake_slack.wait_for("chat.update", 2)

    [vote] = exported(slack_store, "feedback")
    assert (vote["helpful"], vote["reason"]) == ("true", "")
    assert slack_store.stats(TEAM_ID, STARTED).complaints == ()


def test_a_reason_for_an_earlier_vote_does_not_attach_to_a_later_one(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    """A modal left open while the person voted again: its reason belongs to the old vote."""
    _, _, posted = posted_answer(send, fake_slack, kb)
    vote_on(send, posted, False)
    stale = reason_modal(fake_slack)
    first = fake_slack.wait_for("chat.update")[0]
    vote_on(send, posted, True, message=first.response["message"])
    fake_slack.wait_for("chat.update", 2)

    give_reason(send, stale, "wrong_topic", "late")

    [vote] = exported(slack_store, "feedback")
    assert (vote["helpful"], vote["reason"], vote["reason_note"]) == ("true", "", "")


def test_the_old_not_helpful_button_opens_the_reason_modal_too(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing, posted = posted_answer(send, fake_slack, kb)
    old_value = FeedbackValue.for_entry(entry.id, phrasing).encode_value()

    send(
        "block_actions",
        block_actions(
            OLD_BUTTONS[False],
            old_value,
            block_id=FEEDBACK_BLOCK_ID,
            message=posted.response["message"],
        ),
    )

    give_reason(send, reason_modal(fake_slack), "other", "it was about Flask 1")
    [vote] = exported(slack_store, "feedback")
    assert (vote["helpful"], vote["reason"], vote["reason_note"]) == (
        "false",
        "other",
        "it was about Flask 1",
    )


# --- recommendations ------------------------------------------------------------------------------


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_a_finished_questionnaire_stores_the_framework_and_verdict(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase, framework_id: str
) -> None:
    result = recommend_by_command(send, fake_slack, kb, framework_id).body

    assert set(feedback_buttons(result["blocks"])) == {True, False}
    expected = advise(kb, best_answers(kb, framework_id))
    assert slack_store.flush()
    stats = slack_store.stats(TEAM_ID, STARTED)
    assert stats.recommendations_by_framework == {framework_id: 1}
    assert stats.recommendations_by_verdict == {expected.verdict: 1}


def test_a_vote_on_a_recommendation_is_stored_as_one_and_keeps_its_buttons(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    framework_id = FRAMEWORK_IDS[0]
    result = recommend_by_command(send, fake_slack, kb, framework_id).body

    vote_on_ephemeral(send, fake_slack, result["blocks"], False, "rated")

    replaced = fake_slack.wait_for_response(2)[1]
    assert (replaced.token, replaced.body["replace_original"]) == ("rated", True)
    assert content(replaced.body["blocks"]) == content(result["blocks"])
    assert "marked not helpful" in text_of(replaced.body["blocks"])
    [vote] = exported(slack_store, "feedback")
    assert (vote["target_kind"], vote["target_id"], vote["helpful"]) == (
        "recommendation",
        framework_id,
        "false",
    )
    for question in kb.questionnaire.questions:
        assert f"{question.id}=" in vote["question"]
    # The ephemeral result has no metadata: its button names the stored recommendation.
    [stored] = stored_recommendations(slack_store)
    assert vote["recommendation_uid"] == stored["uid"] and stored["uid"]
    assert replaced.body["metadata"]["event_payload"]["recommendation_id"] == stored["uid"]


def stored_recommendations(store: Store) -> list[dict[str, Any]]:
    assert store.flush()
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(recommendations))]


def test_a_vote_on_a_shared_recommendation_keeps_who_shared_it(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    result = recommend_by_command(send, fake_slack, kb, FRAMEWORK_IDS[-1]).body
    share_in_channel(send, fake_slack, result["blocks"])
    shared = fake_slack.wait_for("chat.postMessage")[0]
    assert set(feedback_buttons(shared.params["blocks"])) == {True, False}

    vote_on(send, shared, True, user=BOB)

    update = fake_slack.wait_for("chat.update")[0].params
    assert content(update["blocks"]) == content(shared.params["blocks"])
    assert f"Shared by <@{ALICE}>" in text_of(update["blocks"])
    assert f"Thanks <@{BOB}>: marked helpful." in text_of(update["blocks"])
    [vote] = exported(slack_store, "feedback")
    assert (vote["user_id"], vote["target_kind"], vote["target_id"]) == (
        BOB,
        "recommendation",
        FRAMEWORK_IDS[-1],
    )
    # The shared copy names the recommendation it copies, and the vote on it is stored so.
    [stored] = stored_recommendations(slack_store)
    assert shared.params["metadata"]["event_payload"]["recommendation_id"] == stored["uid"]
    assert vote["recommendation_uid"] == stored["uid"]


# --- the value and the blocks ---------------------------------------------------------------------


@pytest.mark.parametrize("question", ["x" * 5000, '"' * 3000, "\x01" * 1500, "é<>&" * 600])
def test_a_feedback_value_always_fits_in_a_button_and_reads_back(question: str) -> None:
    encoded = FeedbackValue.for_entry("some-entry", question).encode_value()

    assert len(encoded) <= MAX_BUTTON_VALUE
    decoded = FeedbackValue.decode(encoded)
    assert decoded.target == "some-entry"
    assert decoded.question is not None
    assert question.startswith(decoded.question)
    assert len(decoded.question) <= MAX_FEEDBACK_QUESTION


def test_a_recommendation_value_too_long_for_a_button_drops_the_response_url_first(
    kb: KnowledgeBase,
) -> None:
    answers = best_answers(kb, FRAMEWORK_IDS[0])
    to = Destination(user=ALICE, channel=GENERAL, response_url="https://x/" + "r" * 2500)

    decoded = FeedbackValue.decode(
        FeedbackValue.for_recommendation(FRAMEWORK_IDS[0], answers, to=to).encode_value()
    )

    assert decoded.to == to.model_copy(update={"response_url": None})
    assert decoded.answers == {q: tuple(options) for q, options in answers.items()}


def test_answers_without_a_feedback_value_have_no_buttons(kb: KnowledgeBase) -> None:
    """Callers that rate nothing (the CLI, previews) get the answer alone."""
    plain = answer_message(kb, kb.entries[0]).blocks_json()
    rated = answer_message(kb, kb.entries[0], feedback=FeedbackButtons("+v", "-v")).blocks_json()

    assert feedback_buttons(plain) == {}
    assert rated[: len(plain)] == plain
    assert [b["value"] for b in feedback_buttons(rated).values()] == ["+v", "-v"]


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {},
        {"event_type": "someone_elses_event", "event_payload": {"kind": "entry", "target": "x"}},
        {"event_type": "framework_answer", "event_payload": {"kind": "opinion", "target": "x"}},
        {"event_type": "framework_answer", "event_payload": "not an object"},
    ],
)
def test_metadata_that_is_not_ours_is_not_read(metadata: dict[str, Any] | None) -> None:
    assert MessageFacts.read(metadata) is None


UNSTORABLE = [
    pytest.param(surface, unstorable, id=f"{name}-{surface}")
    for surface in SURFACES
    for name, unstorable in (("NUL", "\x00"), ("lone surrogate", "\ud800"))
    # A form-encoded slash command is UTF-8 bytes: only JSON's "\ud800" escape carries one.
    if not (surface == "command" and unstorable == "\ud800")
]


@pytest.mark.parametrize(("surface", "unstorable"), UNSTORABLE)
def test_a_question_with_code_points_databases_refuse_is_answered_and_stored_without_them(
    send: Send,
    fake_slack: FakeSlack,
    slack_store: Store,
    kb: KnowledgeBase,
    surface: str,
    unstorable: str,
) -> None:
    entry, phrasing = answerable(kb, 3)

    asked = SURFACES[surface](send, fake_slack, f"{phrasing}{unstorable}")

    assert escape(entry.title) in text_of(asked.blocks)
    [row] = stored_questions(slack_store)
    assert phrasing in row["text"]
    assert unstorable not in row["text"]
