"""What the bot makes of the messages people actually send, end to end through signed requests:
small talk gets a friendly pointer, a project description gets a lean and a questionnaire that
opens with those answers chosen, and messages that merely share words with the knowledge
(or say "recommend" about something else) are declined."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack.wire.ids import ActionId
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import (
    ALICE_DM,
    GENERAL,
    app_mention,
    block_actions,
    direct_message,
    slash_command,
)
from tests.support.slack_test_helpers import assert_valid_block_kit

PORTAL = (
    "<@U0BOT> two of us are building a staff portal with sign-in, data entry screens and a few "
    "reports. which one would you pick?"
)


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def text_of(params: dict[str, Any]) -> str:
    return json.dumps(params.get("blocks", []), ensure_ascii=False)


def buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in params.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0BOT> hi!", "I help teams choose"),
        ("<@U0BOT> thanks, that helped :pray:", "Glad it helped"),
        ("<@U0BOT> what can you do?", "describe your project"),
    ],
)
def test_small_talk_gets_a_friendly_pointer_not_not_sure(
    send: Send, fake_slack: FakeSlack, text: str, expected: str
) -> None:
    send("app_mention", app_mention(text))

    posted = text_of(fake_slack.wait_for("chat.postMessage")[0].params)
    assert expected in posted
    assert "not sure" not in posted
    assert "`/framework recommend`" in posted or "Glad" in posted


def test_a_project_description_gets_a_lean_and_a_prefilled_questionnaire(
    send: Send, fake_slack: FakeSlack
) -> None:
    send("app_mention", app_mention(PORTAL, channel=GENERAL))

    reply = fake_slack.wait_for("chat.postMessage")[0].params
    text = text_of(reply)
    assert "Leaning Django" in text
    assert "You mentioned" in text and "sign-in" in text
    assert "What I couldn't tell" in text
    assert "not a verdict" in text
    (finish,) = buttons(reply)
    assert finish["text"]["text"] == "Finish the questionnaire"

    send(
        "block_actions",
        block_actions(ActionId.START_QUESTIONNAIRE.value, finish["value"], channel=GENERAL),
    )

    view = fake_slack.wait_for("views.open")[0].params["view"]
    chosen = [
        block["element"].get("initial_option", {}).get("value")
        for block in view["blocks"]
        if block["type"] == "input"
    ]
    assert chosen == ["full-web-app"], "the first step opens with the answer read from the text"
    assert "building" in json.loads(view["private_metadata"])["answers"]


def test_a_project_description_in_a_dm_and_in_ask_gets_the_same_lean(
    send: Send, fake_slack: FakeSlack
) -> None:
    description = PORTAL.removeprefix("<@U0BOT> ")
    send("direct_message", direct_message(description, channel=ALICE_DM))
    in_dm = text_of(fake_slack.wait_for("chat.postMessage")[0].params)

    url = fake_slack.response_url("command")
    send("slash_command", slash_command("ask " + description, response_url=url))
    in_ask = json.dumps(fake_slack.wait_for_response(1)[0].body)

    assert "Leaning Django" in in_dm
    assert "Leaning Django" in in_ask


@pytest.mark.parametrize(
    "text",
    [
        "<@U0BOT> recommend me a good gaming laptop",
        "<@U0BOT> can you reset my password for jira",
        "<@U0BOT> when did slack launch?",
    ],
)
def test_messages_that_only_share_words_with_the_knowledge_are_declined(
    send: Send, fake_slack: FakeSlack, text: str
) -> None:
    send("app_mention", app_mention(text))

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert "not sure" in text_of(posted)
    assert ActionId.START_QUESTIONNAIRE.value not in text_of(posted)


def test_the_readme_example_is_answered(send: Send, fake_slack: FakeSlack) -> None:
    send("app_mention", app_mention("<@U0BOT> is flask good for a small api?"))

    posted = text_of(fake_slack.wait_for("chat.postMessage")[0].params)
    assert "not sure" not in posted
    assert "Flask" in posted
