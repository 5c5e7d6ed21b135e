"""The agent Messages tab: the manifest declares it with the knowledge's description and
prompts, opening the tab sets those prompts (without a thread_ts), a DM in an assistant thread
shows a status line while it is answered, every prompt gets a real answer, and the channel the
person is looking at (`app_context_changed`) is named once in the next answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge import KnowledgeBase
from bot.render.home import viewing_note
from bot.slack.wire.payloads import AppContextChanged
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    BOB,
    GENERAL,
    app_context_changed,
    app_home_opened,
    direct_message,
    documented,
)
from tests.support.slack_test_helpers import assert_valid_block_kit
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = [ROOT / "manifest.yml", ROOT / "manifest.socket.yml"]
THREAD = "1700000000.000100"


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def prompts_of(kb: KnowledgeBase) -> list[dict[str, str]]:
    assert kb.assistant is not None
    return [{"title": p.title, "message": p.message} for p in kb.assistant.prompts]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_the_manifest_declares_the_agent_view_with_the_knowledges_prompts(
    path: Path, kb: KnowledgeBase
) -> None:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    agent = manifest["features"]["agent_view"]

    assert kb.assistant is not None
    assert agent["agent_description"] == kb.assistant.description
    assert agent["suggested_prompts"] == prompts_of(kb)
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_opening_the_messages_tab_sets_the_prompts_without_a_thread(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    assert send("app_home_opened", app_home_opened(tab="messages", channel=ALICE_DM)).status == 200

    [call] = fake_slack.wait_for("assistant.threads.setSuggestedPrompts")
    assert call.params["channel_id"] == ALICE_DM
    assert "thread_ts" not in call.params
    assert call.params["prompts"] == prompts_of(kb)
    assert fake_slack.calls_to("views.publish") == []


def test_the_home_tab_is_still_published(send: Send, fake_slack: FakeSlack) -> None:
    send("app_home_opened", app_home_opened(tab="home"))

    assert fake_slack.wait_for("views.publish")[0].params["user_id"] == ALICE
    assert fake_slack.calls_to("assistant.threads.setSuggestedPrompts") == []


def test_a_dm_in_an_assistant_thread_shows_a_status_until_the_reply(
    send: Send, fake_slack: FakeSlack
) -> None:
    send("direct_message", direct_message("what is flask?", thread_ts=THREAD))

    reply = fake_slack.wait_for("chat.postMessage")[0]
    methods = [call.method for call in fake_slack.calls]
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.postMessage")
    [status] = fake_slack.calls_to("assistant.threads.setStatus")
    assert (status.params["channel_id"], status.params["thread_ts"]) == (ALICE_DM, THREAD)
    assert status.params["status"]
    assert reply.params["thread_ts"] == THREAD  # Slack clears the status with this reply


def test_a_failed_reply_clears_the_status(send: Send, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")

    send("direct_message", direct_message("what is flask?", thread_ts=THREAD))

    statuses = fake_slack.wait_for("assistant.threads.setStatus", 2)
    assert [call.params["status"] for call in statuses][-1] == ""


def test_a_dm_outside_a_thread_shows_no_status(send: Send, fake_slack: FakeSlack) -> None:
    send("direct_message", direct_message("what is flask?"))

    fake_slack.wait_for("chat.postMessage")
    assert fake_slack.calls_to("assistant.threads.setStatus") == []


@pytest.mark.parametrize("index", range(4))
def test_every_suggested_prompt_gets_a_real_answer(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, index: int
) -> None:
    prompts = prompts_of(kb)
    if index >= len(prompts):
        pytest.skip("the knowledge has fewer prompts")

    send("direct_message", direct_message(prompts[index]["message"], thread_ts=THREAD))

    reply = fake_slack.wait_for("chat.postMessage")[0].params
    text: Any = json.dumps(reply["blocks"])
    assert "not sure" not in text


# --- app_context_changed: the channel the person is looking at --------------------------------


@pytest.fixture
def context_noted(caplog: pytest.LogCaptureFixture) -> Callable[[int], None]:
    """context_noted(n): wait until the app took in its n-th app_context_changed (it is handled
    after the ack, on a listener thread, like any event)."""
    caplog.set_level(logging.DEBUG, logger="bot.slack.listeners.agent")

    def wait(count: int = 1) -> None:
        eventually(
            lambda: caplog.text.count("now looks at") >= count, "app_context_changed handled"
        )

    return wait


def first_section(posted: Call) -> str:
    return str(posted.params["blocks"][0].get("text", {}).get("text", ""))


def test_slacks_documented_app_context_changed_is_acknowledged_and_sends_nothing(
    send: Send, fake_slack: FakeSlack, context_noted: Callable[[int], None]
) -> None:
    assert send("event", documented("app_context_changed")).status == 200

    context_noted(1)
    assert [call.method for call in fake_slack.calls if call.method != "auth.test"] == []


def test_the_next_answer_in_the_messages_tab_says_how_to_get_it_in_the_viewed_channel(
    send: Send, fake_slack: FakeSlack, context_noted: Callable[[int], None]
) -> None:
    send("app_context_changed", app_context_changed(viewing=GENERAL))
    context_noted(1)

    send("direct_message", direct_message("what is flask?", thread_ts=THREAD))
    first = fake_slack.wait_for("chat.postMessage")[0]
    send("direct_message", direct_message("what is django?", thread_ts=THREAD))
    second = fake_slack.wait_for("chat.postMessage", 2)[1]

    assert f"<#{GENERAL}>" in first_section(first)
    assert f"<#{GENERAL}>" in first.params["text"]
    assert first.params["metadata"]["event_type"] == "framework_answer"  # still the answer
    assert f"<#{GENERAL}>" not in json.dumps(second.params["blocks"])  # once per move


def test_an_empty_context_forgets_the_channel(
    send: Send, fake_slack: FakeSlack, context_noted: Callable[[int], None]
) -> None:
    send("app_context_changed", app_context_changed(viewing=GENERAL))
    context_noted(1)
    send("app_context_changed", app_context_changed(viewing=None))
    context_noted(2)

    send("direct_message", direct_message("what is flask?", thread_ts=THREAD))

    reply = fake_slack.wait_for("chat.postMessage")[0]
    assert "<#" not in json.dumps(reply.params["blocks"])


def test_another_persons_viewed_channel_is_not_mentioned(
    send: Send, fake_slack: FakeSlack, context_noted: Callable[[int], None]
) -> None:
    send("app_context_changed", app_context_changed(BOB, viewing=GENERAL))
    context_noted(1)

    send("direct_message", direct_message("what is flask?", thread_ts=THREAD))

    reply = fake_slack.wait_for("chat.postMessage")[0]
    assert "<#" not in json.dumps(reply.params["blocks"])


@pytest.mark.parametrize(
    ("entities", "channel"),
    [
        ([{"type": "slack#/types/channel_id", "value": "C0PROJ", "team_id": "T0TEST"}], "C0PROJ"),
        (
            [
                {"type": "slack#/types/canvas_id", "value": "F0CANVAS"},
                {
                    "type": "slack#/types/message_context",
                    "value": {"channel_id": "C0PROJ", "message_ts": "1700000000.000100"},
                },
            ],
            "C0PROJ",
        ),
        ([{"type": "slack#/types/list_id", "value": "F0LIST"}], None),
        ([], None),
    ],
)
def test_the_viewed_channel_is_the_first_entity_naming_one(
    entities: list[dict[str, Any]], channel: str | None
) -> None:
    event = app_context_changed(viewing=entities)["event"]
    assert AppContextChanged.model_validate(event).viewed_channel == channel


@pytest.mark.parametrize("channel", [None, "D0ALICE", "<!channel>", "C0GENERAL|x"])
def test_only_a_channel_id_is_ever_named(channel: str | None) -> None:
    assert viewing_note(channel) is None
