"""A Web API call or response URL post slower than the client's timeout was usually carried out
by Slack: the person is told it may not have arrived (not that Slack was unreachable), and the
message is not sent again by another route. The timeouts are short here (settings), so a slow
answer costs the tests a second, not 10 or 30."""

from __future__ import annotations

import json

import pytest

from bot.knowledge import KnowledgeBase
from bot.settings import Settings
from bot.slack.app import finish_work
from bot.slack.serving.wsgi import SlackWsgiApp
from bot.slack.wire.ids import CallbackId
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import GENERAL, app_mention, message_shortcut, slash_command

TIMEOUT = 0.3
SLOW = 1.0


@pytest.fixture
def slack_settings(slack_settings: Settings) -> Settings:
    return slack_settings.model_copy(
        update={"slack_api_timeout_seconds": TIMEOUT, "response_url_timeout_seconds": TIMEOUT}
    )


def finish_listeners(wsgi_app: SlackWsgiApp) -> None:
    finish_work(wsgi_app.app)


def test_an_answer_slack_confirmed_too_late_is_said_to_maybe_not_have_arrived(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, kb: KnowledgeBase
) -> None:
    fake_slack.slow_next("chat.postMessage", SLOW)

    send("app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"))
    finish_listeners(wsgi_app)

    [answer] = fake_slack.calls_to("chat.postMessage")  # it reached Slack, and only once
    assert answer.params["channel"] == GENERAL
    [told] = fake_slack.calls_to("chat.postEphemeral")
    said = json.dumps(told.params["blocks"])
    assert "may not have arrived" in said
    assert "couldn't reach Slack" not in said


def test_a_response_url_post_confirmed_too_late_is_not_sent_again_another_way(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp
) -> None:
    fake_slack.slow_next("response_url", SLOW)

    send("slash_command", slash_command("help", response_url=fake_slack.response_url("help")))
    finish_listeners(wsgi_app)

    assert len(fake_slack.responses) == 1
    assert fake_slack.calls_to("chat.postEphemeral") == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_shortcut_answer_confirmed_too_late_gets_no_private_copy(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, kb: KnowledgeBase
) -> None:
    fake_slack.slow_next("chat.postMessage", SLOW)
    shortcut = message_shortcut(
        CallbackId.ASK_SHORTCUT,
        kb.entries[0].phrasings[0],
        response_url=fake_slack.response_url("shortcut"),
    )

    send("message_shortcut", shortcut)
    finish_listeners(wsgi_app)

    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    [told] = fake_slack.responses
    assert "may not have arrived" in json.dumps(told.body)
    assert len(json.dumps(told.body)) < 1000  # the notice, not the answer again
