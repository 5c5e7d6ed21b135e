"""The agent Messages tab: the manifest declares it with the knowledge's description and
prompts, opening the tab sets those prompts (without a thread_ts), a DM in an assistant thread
shows a status line while it is answered, and every prompt gets a real answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge import KnowledgeBase
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import ALICE, ALICE_DM, app_home_opened, direct_message
from tests.support.slack_test_helpers import assert_valid_block_kit

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
