"""Every message the bot posts says what it is in its metadata: answers, "not sure", small talk
and the help, project leans, recommendations and their shared copies, votes' rebuilt messages,
team decisions and their records, `/framework` replies, notices and the weekly digest.

The sweep drives each posting path against the fake Slack and then reads every
chat.postMessage, chat.update and response-URL body it captured: each must carry metadata
with one of the documented event types, a flat payload and the knowledge version. A path that
posts without metadata fails it. (Ephemeral messages, chat.postEphemeral, cannot carry any.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.knowledge import KnowledgeBase
from bot.live_knowledge import LiveKnowledge
from bot.settings import Settings
from bot.slack.platform.digest import DigestSender
from bot.slack.platform.messenger import Slack
from bot.slack.wire.ids import ActionId, CallbackId, DecisionActionId
from bot.store import Store
from bot.store.schema import decisions, questions, recommendations
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import BOT_TOKEN, Send
from tests.support.slack_requests import (
    GENERAL,
    app_mention,
    block_actions,
    direct_message,
    message_shortcut,
    slash_command,
    view_submission,
)
from tests.support.slack_test_helpers import (
    answerable,
    assert_valid_block_kit,
    best_answers,
    buttons,
    choice,
    click_topic,
    recommend_by_command,
    topic_buttons,
    vague_question,
    vote_on,
)

EVENT_TYPES = {
    "framework_answer",
    "framework_recommendation",
    "framework_lean",
    "framework_intent",
    "framework_reply",
    "framework_decision",
    "framework_digest",
    "framework_notice",
}
"""The event types the README documents; nothing else may be posted."""
PORTAL = (
    "two of us are building a staff portal with sign-in, data entry screens and a few "
    "reports. which one would you pick?"
)


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def posted_bodies(fake: FakeSlack) -> list[tuple[str, dict[str, Any]]]:
    """Every message body the bot sent that Slack keeps metadata for, with where it went."""
    bodies = [
        (call.method, call.params)
        for call in fake.calls
        if call.method in {"chat.postMessage", "chat.update"}
    ]
    return bodies + [("response_url", post.body) for post in fake.responses]


def flat(value: Any) -> bool:
    """A payload value as the bot sends them: no nulls, lists of strings, one level of object."""
    if isinstance(value, str | int | bool):
        return True
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and flat(item) for key, item in value.items()) and all(
            not isinstance(item, dict) for item in value.values()
        )
    return False


def metadata_problems(fake: FakeSlack) -> list[str]:
    problems = []
    for where, body in posted_bodies(fake):
        what = f"{where} {str(body.get('text'))[:60]!r}"
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            problems.append(f"{what}: no metadata")
            continue
        event_type, payload = metadata.get("event_type"), metadata.get("event_payload")
        if event_type not in EVENT_TYPES or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", event_type):
            problems.append(f"{what}: event_type {event_type!r}")
        if not isinstance(payload, dict) or not payload.get("knowledge_version"):
            problems.append(f"{what}: no knowledge_version in {payload!r}")
        elif not all(flat(value) for value in payload.values()):
            problems.append(f"{what}: payload not flat: {payload!r}")
    return problems


def payloads(fake: FakeSlack, event_type: str) -> list[dict[str, Any]]:
    return [
        body["metadata"]["event_payload"]
        for _, body in posted_bodies(fake)
        if body.get("metadata", {}).get("event_type") == event_type
    ]


def rows(store: Store, table: Any) -> list[dict[str, Any]]:
    assert store.flush()
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table))]


def decide(send: Send, fake: FakeSlack, kb: KnowledgeBase) -> None:
    """Start a decision, answer it, close it where canvases are not available."""
    posts = len(fake.calls_to("chat.postMessage"))
    send("slash_command", slash_command("decide Our stack", response_url=fake.response_url("d")))
    [posted] = fake.wait_for("chat.postMessage", posts + 1)[posts:]
    assert posted.params["metadata"]["event_type"] == "framework_decision"
    value = buttons(posted.params["blocks"])[DecisionActionId.ADD_ANSWERS.value]

    def click(action: DecisionActionId) -> None:
        send(
            "block_actions",
            block_actions(
                action.value,
                value,
                block_id="decision_actions",
                channel=GENERAL,
                message_ts=posted.response["ts"],
            ),
        )

    opened, updates = len(fake.calls_to("views.open")), len(fake.calls_to("chat.update"))
    click(DecisionActionId.ADD_ANSWERS)
    view = fake.wait_for("views.open", opened + 1)[opened].params["view"]
    assert view["callback_id"] == CallbackId.DECISION_ANSWERS
    answers = best_answers(kb, "django")
    questionnaire = kb.questionnaire.questions
    for step, question in enumerate(questionnaire):
        response = send(
            "view_submission",
            view_submission(view=view, values=choice(question, answers[question.id])),
        )
        if step < len(questionnaire) - 1:
            view = response.json()["view"]
    fake.wait_for("chat.update", updates + 1)
    fake.fail_next(
        "conversations.canvases.create", error="team_tier_cannot_create_channel_canvases"
    )
    updates = len(fake.calls_to("chat.update"))
    click(DecisionActionId.CLOSE)  # no canvas: the record goes in the decision's thread
    fake.wait_for("chat.update", updates + 1)


def test_every_message_the_bot_posts_says_what_it_is(
    send: Send,
    fake_slack: FakeSlack,
    slack_store: Store,
    slack_settings: Settings,
    kb: KnowledgeBase,
) -> None:
    _, phrasing = answerable(kb)
    vague = vague_question(kb)
    for text in (phrasing, vague, "hi!", "help", PORTAL):
        send("app_mention", app_mention(f"<@U0BOT> {text}"))
    send("direct_message", direct_message(phrasing))
    mentioned = fake_slack.wait_for("chat.postMessage", 6)

    # A vote rebuilds the answer; a topic picked from the "not sure" replaces it.
    answer = next(c for c in mentioned if c.params["metadata"]["event_payload"].get("target"))
    vote_on(send, answer, False)
    not_sure = next(c for c in mentioned if topic_buttons(c.params["blocks"]))
    click_topic(send, not_sure, topic_buttons(not_sure.params["blocks"])[0])
    fake_slack.wait_for("chat.update", 2)  # nothing else updates a message before this

    # A recommendation through the command's response URL, then shared in the channel.
    result = recommend_by_command(send, fake_slack, kb, "django")
    share = buttons(result.body["blocks"])[ActionId.SHARE_IN_CHANNEL.value]
    posts = len(fake_slack.calls_to("chat.postMessage"))
    send(
        "block_actions",
        block_actions(
            ActionId.SHARE_IN_CHANNEL.value,
            share,
            ephemeral=True,
            response_url=fake_slack.response_url("share"),
        ),
    )
    fake_slack.wait_for("chat.postMessage", posts + 1)

    # `/framework` replies, a shortcut on an empty message (a notice), a team decision.
    replies = len(fake_slack.responses)
    for n, text in enumerate(("help", "companies", "ask", f"ask {phrasing}", "stats", "nonsense")):
        send("slash_command", slash_command(text, response_url=fake_slack.response_url(f"c{n}")))
    send(
        "message_shortcut",
        message_shortcut(CallbackId.ASK_SHORTCUT, " ", response_url=fake_slack.response_url("s")),
    )
    fake_slack.wait_for_response(replies + 7)
    decide(send, fake_slack, kb)

    # A notice that can only reach the person's DM: the channel and the ephemeral route fail.
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    fake_slack.fail_next("chat.postEphemeral", error="not_in_channel")
    posts = len(fake_slack.calls_to("chat.postMessage"))
    send("app_mention", app_mention(f"<@U0BOT> {phrasing}"))
    fake_slack.wait_for("chat.postMessage", posts + 2)

    # The weekly digest.
    settings = slack_settings.model_copy(update={"digest_channel": GENERAL})
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    monday = datetime(2026, 11, 30, 9, tzinfo=UTC)
    digest = DigestSender(
        Slack(client, []), slack_store, LiveKnowledge(None), settings, clock=lambda: monday
    )
    assert digest.check_once()

    assert metadata_problems(fake_slack) == []
    seen = {body["metadata"]["event_type"] for _, body in posted_bodies(fake_slack)}
    assert seen == EVENT_TYPES, "the sweep posts every kind of message"

    answers = payloads(fake_slack, "framework_answer")
    outcomes = {(p["outcome"], p.get("target") is not None) for p in answers}
    assert outcomes == {("answered", True), ("not_sure", False)}
    [unsure] = [p for p in answers if p["outcome"] == "not_sure"]
    assert unsure["closest"] and unsure["question"] == vague
    stored = {row["uid"]: row for row in rows(slack_store, questions)}
    assert stored[unsure["question_id"]]["entry_id"] is None
    assert {p["question_id"] for p in answers} <= set(stored)

    assert {p["intent"] for p in payloads(fake_slack, "framework_intent")} >= {"help"}
    assert len(payloads(fake_slack, "framework_intent")) >= 2  # small talk and the help
    [lean] = payloads(fake_slack, "framework_lean")
    assert lean["from_text"] is True and lean["answers"]

    [recommendation] = rows(slack_store, recommendations)
    named = {p.get("recommendation_id") for p in payloads(fake_slack, "framework_recommendation")}
    assert named == {recommendation["uid"]}, "the result and its shared copy name the record"

    [decision] = rows(slack_store, decisions)
    decided = payloads(fake_slack, "framework_decision")
    assert {p["decision_id"] for p in decided} == {decision["id"]}
    assert {p["status"] for p in decided} == {"open", "closed"}
    assert {p.get("part") for p in decided} == {None, "record"}
    assert {p["framework_id"] for p in decided if p["status"] == "closed"} == {"django"}

    assert {p["reply"] for p in payloads(fake_slack, "framework_reply")} >= {
        "help",
        "companies",
        "ask",
        "stats",
        "nonsense",
    }
    [weekly] = payloads(fake_slack, "framework_digest")
    assert weekly["week"] == "2026-W49"
