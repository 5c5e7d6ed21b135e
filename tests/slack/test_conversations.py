"""Mentions, DMs, the "not sure" topic buttons, the message shortcut and App Home, end to end;
and what the bot must not answer: bots, edits and other subtypes, and retried deliveries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bot.knowledge import KnowledgeBase
from bot.render.block_kit import escape
from bot.slack.app import finish_work
from bot.slack.platform import redelivery
from bot.slack.serving.wsgi import SlackWsgiApp
from bot.slack.wire.ids import ActionId, CallbackId
from bot.slack.wire.state import FeedbackValue
from bot.store import Acceptance, Store
from tests.support.fake_slack import BOT_ID, FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    BOB,
    GENERAL,
    app_home_opened,
    app_mention,
    block_actions,
    direct_message,
    message_shortcut,
    unique_ts,
)
from tests.support.slack_test_helpers import (
    answerable,
    assert_valid_block_kit,
    click_topic,
    topic_buttons,
    vague_question,
)

OFF_TOPIC = "what should I cook for dinner tonight"


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def text_of(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks", []), ensure_ascii=False)


def finish_listeners(wsgi_app: SlackWsgiApp) -> None:
    """Wait until every listener the app started has run (Bolt acks first and runs them on its
    executor; this test's app is its own, so shutting the executor down is safe)."""
    finish_work(wsgi_app.app)


def nothing_sent(wsgi_app: SlackWsgiApp, fake: FakeSlack) -> bool:
    """True when, once its listeners have run, the bot sent no message or view."""
    finish_listeners(wsgi_app)
    sending = {"chat.postMessage", "chat.postEphemeral", "views.publish", "chat.update"}
    return [call.method for call in fake.calls if call.method in sending] == []


# --- mentions -------------------------------------------------------------------------------------


def test_a_mention_is_answered_in_a_new_thread_under_it(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb, 1)
    ts = unique_ts()

    response = send("app_mention", app_mention(f"<@U0BOT> {phrasing}", ts=ts))

    assert response.status == 200
    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert (posted["channel"], posted["thread_ts"]) == (GENERAL, ts)
    assert escape(entry.title) in posted["blocks"][0]["text"]["text"]
    *content, feedback = posted["blocks"]
    assert feedback["block_id"] == "feedback"
    assert content[-1]["type"] == "context"
    assert "Sources" in content[-1]["elements"][0]["text"]


def test_a_mention_inside_a_thread_is_answered_in_that_thread(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    parent = "1700000000.000111"

    send("app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}", thread_ts=parent))

    assert fake_slack.wait_for("chat.postMessage")[0].params["thread_ts"] == parent


@pytest.mark.parametrize("text", ["<@U0BOT>", "<@U0BOT> help"])
def test_an_empty_mention_or_help_gets_help(send: Send, fake_slack: FakeSlack, text: str) -> None:
    send("app_mention", app_mention(text))

    assert "/framework recommend" in text_of(fake_slack.wait_for("chat.postMessage")[0].params)


def test_recommend_in_a_mention_offers_a_start_button(send: Send, fake_slack: FakeSlack) -> None:
    send("app_mention", app_mention("<@U0BOT> recommend"))

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert ActionId.START_QUESTIONNAIRE.value in text_of(posted)
    assert fake_slack.calls_to("views.open") == []


def test_a_mention_that_pings_everyone_is_not_echoed_with_the_ping(
    send: Send, fake_slack: FakeSlack
) -> None:
    send("app_mention", app_mention(f"<@U0BOT> <!channel> <@{BOB}> &lt;!here&gt; {OFF_TOPIC}"))

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    for markup in ("<!channel>", f"<@{BOB}>", "<!here>"):
        assert markup not in text_of(posted)
        assert markup not in posted["text"]


# --- not sure, and its topic buttons ----------------------------------------------------------


def test_not_sure_says_so_and_a_topic_click_replaces_it_with_that_answer(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("app_mention", app_mention(f"<@U0BOT> {vague_question(kb)}"))
    suggestion = fake_slack.wait_for("chat.postMessage")[0]
    assert "not sure" in text_of(suggestion.params)
    choices = topic_buttons(suggestion.params["blocks"])
    assert 1 <= len(choices) <= 3
    picked = choices[-1]

    click_topic(send, suggestion, picked)

    update = fake_slack.wait_for("chat.update")[0].params
    assert (update["channel"], update["ts"]) == (GENERAL, suggestion.response["ts"])
    entry = kb.entry(FeedbackValue.decode(picked["value"]).target)
    assert escape(entry.title) in update["blocks"][0]["text"]["text"]
    assert topic_buttons(update["blocks"]) == []
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_an_off_topic_question_is_declined_not_answered(send: Send, fake_slack: FakeSlack) -> None:
    send("app_mention", app_mention(f"<@U0BOT> {OFF_TOPIC}"))

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert "I'm not sure" in posted["blocks"][0]["text"]["text"]
    assert "Sources" not in text_of(posted)


def test_a_topic_click_on_an_ephemeral_suggestion_replaces_it_through_the_response_url(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry = kb.entries[2]

    send(
        "block_actions",
        block_actions(
            f"{ActionId.ANSWER_TOPIC}_0",
            entry.id,
            ephemeral=True,
            response_url=fake_slack.response_url("suggestion"),
        ),
    )

    posted = fake_slack.wait_for_response(1)[0]
    assert posted.token == "suggestion"
    assert posted.body["replace_original"] is True
    assert escape(entry.title) in text_of(posted.body)


def test_a_topic_button_for_an_entry_that_no_longer_exists_says_so(
    send: Send, fake_slack: FakeSlack
) -> None:
    send(
        "block_actions",
        block_actions(
            f"{ActionId.ANSWER_TOPIC}_1",
            "retired-topic",
            response_url=fake_slack.response_url("gone"),
        ),
    )

    assert "no longer have notes" in text_of(fake_slack.wait_for_response(1)[0].body)
    assert fake_slack.calls_to("chat.update") == []


# --- DMs and what is ignored --------------------------------------------------------------------


def test_a_direct_message_is_answered_in_the_dm(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb, 3)

    send("direct_message", direct_message(phrasing))

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert posted["channel"] == ALICE_DM
    assert "thread_ts" not in posted
    assert escape(entry.title) in posted["blocks"][0]["text"]["text"]


def test_a_direct_message_in_a_thread_is_answered_in_that_thread(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("direct_message", direct_message(kb.entries[0].phrasings[0], thread_ts="1700000000.1"))

    assert fake_slack.wait_for("chat.postMessage")[0].params["thread_ts"] == "1700000000.1"


IGNORED = [
    ("another bot", {"bot_id": "B0OTHER"}),
    ("this bot", {"bot_id": BOT_ID, "user": "U0BOT"}),
    ("an edit", {"subtype": "message_changed"}),
    ("a deletion", {"subtype": "message_deleted"}),
    ("a join", {"subtype": "channel_join"}),
    ("a file comment", {"subtype": "file_share"}),
]


@pytest.mark.parametrize("overrides", [case[1] for case in IGNORED], ids=[c[0] for c in IGNORED])
def test_messages_from_bots_and_message_subtypes_are_acknowledged_and_ignored(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    kb: KnowledgeBase,
    overrides: dict[str, str],
) -> None:
    response = send("direct_message", direct_message(kb.entries[0].phrasings[0], **overrides))

    assert response.status == 200
    assert nothing_sent(wsgi_app, fake_slack)


def test_a_mention_by_a_bot_is_ignored(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp
) -> None:
    mention = app_mention("<@U0BOT> what is django")
    mention["event"]["bot_id"] = "B0OTHER"

    assert send("app_mention", mention).status == 200
    assert nothing_sent(wsgi_app, fake_slack)


def test_a_message_in_a_channel_is_not_treated_as_a_dm(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp
) -> None:
    message = direct_message("what is django", channel=GENERAL)
    message["event"]["channel_type"] = "channel"

    assert send("direct_message", message).status == 200
    assert nothing_sent(wsgi_app, fake_slack)


# --- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["app_mention", "direct_message"])
def test_a_retried_event_is_answered_once(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, kb: KnowledgeBase, kind: str
) -> None:
    builder = app_mention if kind == "app_mention" else direct_message
    event = builder(f"<@U0BOT> {kb.entries[0].phrasings[0]}")

    first = send(kind, event)
    retries = [
        send(
            kind,
            event,
            headers={"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"},
        )
        for n in (1, 2, 3)
    ]

    assert [r.status for r in (first, *retries)] == [200] * 4
    finish_listeners(wsgi_app)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@pytest.mark.parametrize("kind", ["app_mention", "direct_message"])
def test_a_retry_is_acknowledged_before_its_claim_in_the_database_and_answered_after(
    send: Send,
    fake_slack: FakeSlack,
    slack_store: Store,
    kb: KnowledgeBase,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """Without the durable inbox (its write failed: the database is unreachable), a retry
    (here, of a delivery another instance got first) must ask the database whether that
    instance answered it; Slack's 3-second deadline must never wait for that."""
    monkeypatch.setattr(slack_store, "accept_delivery", lambda *delivery: Acceptance.UNAVAILABLE)
    released = threading.Event()
    claims: list[bool] = []
    real_claim = slack_store.claim_event

    def slow_claim(event_id: str, team_id: str | None = None) -> bool:
        claims.append(released.wait(10))  # False if the ack had to wait for this claim
        return real_claim(event_id, team_id)

    monkeypatch.setattr(slack_store, "claim_event", slow_claim)
    builder = app_mention if kind == "app_mention" else direct_message

    response = send(kind, builder(f"<@U0BOT> {kb.entries[0].phrasings[0]}"), headers=RETRY)
    assert response.status == 200
    assert fake_slack.calls_to("chat.postMessage") == []
    released.set()

    fake_slack.wait_for("chat.postMessage")
    assert claims == [True]


@pytest.mark.parametrize("kind", ["app_mention", "direct_message"])
def test_a_first_delivery_is_answered_without_waiting_for_the_database_and_claimed_after(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    slack_store: Store,
    kb: KnowledgeBase,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """Nobody can have claimed a first delivery yet: its claim goes to the database with the
    records, and a retry of it that reaches another instance finds it claimed."""

    def no_waiting(event_id: str, team_id: str | None = None) -> bool:
        raise AssertionError("a prompt first delivery must not wait for a claim")

    monkeypatch.setattr(slack_store, "claim_event", no_waiting)
    builder = app_mention if kind == "app_mention" else direct_message
    event = builder(f"<@U0BOT> {kb.entries[0].phrasings[0]}")

    assert send(kind, event).status == 200
    finish_listeners(wsgi_app)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    monkeypatch.undo()
    assert slack_store.flush()
    assert slack_store.claim_event(event["event_id"], event["team_id"]) is False


def test_a_first_delivery_answered_late_checks_its_claim_like_a_retry(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    slack_store: Store,
    kb: KnowledgeBase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A listener that starts long after its delivery arrived (an overloaded instance) may be
    racing Slack's retry on another instance, which may have answered already."""
    event = app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}")
    assert slack_store.claim_event(event["event_id"], event["team_id"]) is True  # the retry's
    monkeypatch.setattr(redelivery, "PROMPT_SECONDS", 0.0)

    assert send("app_mention", event).status == 200

    finish_listeners(wsgi_app)
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("retry", "waited", "checked"),
    [(False, 0.0, False), (False, 0.5, False), (False, 1.0, True), (True, 0.0, True)],
)
def test_which_deliveries_wait_for_the_database_to_claim_them(
    retry: bool, waited: float, checked: bool
) -> None:
    delivery = redelivery.Delivery(retry=retry, arrived_at=100.0)
    assert delivery.needs_checked_claim(now=100.0 + waited) is checked


def test_a_retry_of_an_event_another_instance_claimed_is_not_answered(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, slack_store: Store, kb: KnowledgeBase
) -> None:
    event = app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}")
    assert slack_store.claim_event(event["event_id"], event["team_id"]) is True

    assert send("app_mention", event, headers=RETRY).status == 200

    finish_listeners(wsgi_app)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_two_different_events_with_the_same_text_are_both_answered(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    text = f"<@U0BOT> {kb.entries[0].phrasings[0]}"

    send("app_mention", app_mention(text))
    send("app_mention", app_mention(text))

    assert len(fake_slack.wait_for("chat.postMessage", 2)) == 2


# --- message shortcut and App Home ---------------------------------------------------------------


def test_the_message_shortcut_answers_the_message_in_its_thread(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb, 4)
    ts = unique_ts()

    response = send(
        "message_shortcut",
        message_shortcut(CallbackId.ASK_SHORTCUT, phrasing, message_ts=ts),
    )

    assert (response.status, response.body) == (200, "")
    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert (posted["channel"], posted["thread_ts"]) == (GENERAL, ts)
    assert escape(entry.title) in posted["blocks"][0]["text"]["text"]


def test_the_message_shortcut_on_a_reply_answers_in_the_same_thread(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send(
        "message_shortcut",
        message_shortcut(
            CallbackId.ASK_SHORTCUT, kb.entries[0].phrasings[0], thread_ts="1700000000.000222"
        ),
    )

    assert fake_slack.wait_for("chat.postMessage")[0].params["thread_ts"] == "1700000000.000222"


def test_the_message_shortcut_in_a_channel_without_the_bot_answers_privately_with_the_fix(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb)
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")

    send(
        "message_shortcut",
        message_shortcut(
            CallbackId.ASK_SHORTCUT,
            phrasing,
            response_url=fake_slack.response_url("shortcut"),
        ),
    )

    told = fake_slack.wait_for_response(1)[0]
    assert told.token == "shortcut"
    text = text_of(told.body)
    assert "/invite @Framework Advisor" in text
    assert escape(entry.title) in text


def test_the_message_shortcut_on_a_message_without_text_says_so(
    send: Send, fake_slack: FakeSlack
) -> None:
    send(
        "message_shortcut",
        message_shortcut(
            CallbackId.ASK_SHORTCUT, ":tada: <@U0BOB>", response_url=fake_slack.response_url("s")
        ),
    )

    assert "no text I can answer" in text_of(fake_slack.wait_for_response(1)[0].body)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_opening_the_home_tab_publishes_it_for_that_person(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("app_home_opened", app_home_opened(user=BOB))

    published = fake_slack.wait_for("views.publish")[0].params
    assert published["user_id"] == BOB
    view = published["view"]
    assert view["type"] == "home"
    text = json.dumps(view, ensure_ascii=False)
    assert ActionId.START_QUESTIONNAIRE.value in text
    assert escape(kb.entries[0].phrasings[0]) in text
    for company in kb.companies:
        assert kb.source(company.sources[0]).url in text


def test_opening_the_messages_tab_publishes_nothing(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp
) -> None:
    send("app_home_opened", app_home_opened(user=ALICE, tab="messages"))

    assert nothing_sent(wsgi_app, fake_slack)
