"""manifest.yml and the listeners agree: every command, shortcut callback_id and bot event in the
manifest has a listener (dispatched through the app, it is handled, where Bolt would answer 404),
every listener is in the manifest, and the bot scopes cover exactly the Web API methods used."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App

from bot.knowledge import KnowledgeBase
from bot.slack.app import finish_work
from bot.slack.serving.wsgi import SlackWsgiApp
from bot.slack.wire import ids
from bot.slack.wire.ids import DecisionActionId
from bot.workflow_step import DESCRIPTION_INPUT, OUTPUTS
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import (
    app_context_changed,
    app_home_opened,
    app_mention,
    app_uninstalled,
    direct_message,
    function_executed,
    global_shortcut,
    message_shortcut,
    slash_command,
    tokens_revoked,
)
from tests.support.slack_test_helpers import assert_valid_block_kit

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
PLACEHOLDER_URL = "https://YOUR-HOST.example.com/slack/events"

EVENT_PAYLOADS: dict[str, Callable[[], dict[str, Any]]] = {
    "app_mention": lambda: app_mention("<@U0BOT> what is django?"),
    "message.im": lambda: direct_message("what is flask?"),
    "app_home_opened": lambda: app_home_opened(),
    "app_context_changed": lambda: app_context_changed(),
    "app_uninstalled": lambda: app_uninstalled(),
    "tokens_revoked": lambda: tokens_revoked(),
    "function_executed": lambda: function_executed({"building": "json-api"}),
}
EVENT_KINDS = {"app_mention": "app_mention", "message.im": "direct_message"}
EXPECTED_CALL = {
    "app_mention": "chat.postMessage",
    "message.im": "chat.postMessage",
    "app_home_opened": "views.publish",
    "function_executed": "functions.completeSuccess",
}
"""The Web API call that shows an event was answered; events without one (the workspace's data
is deleted, nothing is said) count as handled when Bolt does not answer 404."""

HISTORY_SCOPES = ("channels:history", "groups:history", "im:history", "mpim:history")
"""Reading a conversation needs the history scope of its type: a mention comes from a public or
private channel or a group DM, a question from a DM. The bot reads them only to find a reply
sent before a crash (bot/slack/platform/reply_check.py)."""
METHOD_SCOPES: dict[str, str | tuple[str, ...] | None] = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "auth.test": None,
    "users.info": "users:read",
    "chat.getPermalink": None,
    "conversations.canvases.create": "canvases:write",
    "canvases.create": "canvases:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setStatus": "assistant:write",
    "conversations.replies": HISTORY_SCOPES,
    "conversations.history": HISTORY_SCOPES,
}
"""Every Web API method the app calls (bot/slack/platform/messenger.py,
bot/slack/flows/curation.py, bot/slack/flows/decisions.py and
bot/slack/platform/reply_check.py), with the bot scopes it needs (None: no scope). A new
method fails the scope test until it is added here and its scope is weighed for the manifest."""
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.im": "im:history"}


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def shortcuts(manifest: dict[str, Any], kind: str) -> set[str]:
    return {s["callback_id"] for s in manifest["features"]["shortcuts"] if s["type"] == kind}


def test_the_manifest_lists_exactly_the_command_shortcuts_and_events_the_app_listens_to(
    manifest: dict[str, Any],
) -> None:
    features = manifest["features"]

    assert [c["command"] for c in features["slash_commands"]] == [ids.COMMAND]
    assert shortcuts(manifest, "message") == set(ids.MESSAGE_SHORTCUTS)
    assert shortcuts(manifest, "global") == set(ids.GLOBAL_SHORTCUTS)
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == set(ids.EVENTS)


def registered(app: App) -> dict[str, set[str]]:
    """What each Bolt listener of `app` matches, by kind (command, shortcut, event, action, ...),
    read from the constraint Bolt's built-in matchers close over."""
    found: dict[str, set[str]] = {}
    for listener in app._listeners:
        for matcher in listener.matchers:
            function = getattr(matcher, "func", None)
            if function is None or not function.__closure__:
                continue
            kind = function.__qualname__.split(".")[0]
            for cell in function.__closure__:
                value = cell.cell_contents
                if isinstance(value, dict):
                    value = value.get("type") or value.get("callback_id")
                elif isinstance(value, re.Pattern):
                    value = value.pattern
                found.setdefault(kind, set()).add(str(value))
    return found


def test_every_listener_of_the_app_is_in_the_manifest_and_every_manifest_item_has_one(
    slack_app: App, manifest: dict[str, Any]
) -> None:
    listeners = registered(slack_app)
    events = manifest["settings"]["event_subscriptions"]["bot_events"]

    assert listeners["command"] == {c["command"] for c in manifest["features"]["slash_commands"]}
    assert listeners["shortcut"] == {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    steps = {ids.EVENTS["function_executed"]}
    assert listeners["event"] == {ids.EVENTS[event] for event in events} - steps
    assert listeners["function_executed"] == set(manifest["functions"])


def test_every_button_the_app_renders_has_a_listener(slack_app: App) -> None:
    actions = registered(slack_app)["action"]
    inputs = {
        ids.ActionId.QUESTIONNAIRE_CHOICE,
        ids.ActionId.FEEDBACK_REASON,
        ids.ActionId.FEEDBACK_NOTE,
    }
    """Inputs of modals: read from the submitted view, never dispatched on their own."""

    for action_id in set(ids.ActionId) - inputs - {ids.ActionId.ANSWER_TOPIC}:
        assert action_id in actions
    assert ids.ANSWER_TOPIC_PATTERN.pattern in actions
    assert set(DecisionActionId) <= actions
    assert registered(slack_app)["view_submission"] == {
        ids.CallbackId.QUESTIONNAIRE,
        ids.CallbackId.DECISION_ANSWERS,
        ids.CallbackId.FEEDBACK_REASON,
    }


def test_the_command_has_a_description_and_a_usage_hint_naming_the_known_frameworks(
    manifest: dict[str, Any], kb: KnowledgeBase
) -> None:
    command = manifest["features"]["slash_commands"][0]

    assert command["description"]
    for subcommand in ("help", "recommend", "ask", "companies"):
        assert subcommand in command["usage_hint"]
    assert "|".join(framework.id for framework in kb.frameworks) in command["usage_hint"]


def test_every_request_url_is_the_placeholder_events_endpoint_and_socket_mode_is_off(
    manifest: dict[str, Any],
) -> None:
    settings = manifest["settings"]

    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    }

    assert urls == {PLACEHOLDER_URL}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]


def test_every_manifest_command_is_handled(
    send: Send, fake_slack: FakeSlack, manifest: dict[str, Any]
) -> None:
    for command in manifest["features"]["slash_commands"]:
        payload = slash_command(
            "help", command=command["command"], response_url=fake_slack.response_url("m")
        )

        assert send("slash_command", payload).status == 200
    assert fake_slack.wait_for_response(len(manifest["features"]["slash_commands"]))


def test_every_manifest_shortcut_is_handled(
    send: Send, fake_slack: FakeSlack, manifest: dict[str, Any]
) -> None:
    for callback_id in shortcuts(manifest, "message"):
        payload = message_shortcut(callback_id, "what is django?")
        assert send("message_shortcut", payload).status == 200
    for callback_id in shortcuts(manifest, "global"):
        assert send("global_shortcut", global_shortcut(callback_id)).status == 200

    assert fake_slack.wait_for("chat.postMessage", len(shortcuts(manifest, "message")))
    assert fake_slack.wait_for("views.open", len(shortcuts(manifest, "global")))


@pytest.mark.parametrize("event", sorted(EVENT_PAYLOADS))
def test_every_manifest_event_is_handled(
    send: Send, fake_slack: FakeSlack, manifest: dict[str, Any], event: str
) -> None:
    assert event in manifest["settings"]["event_subscriptions"]["bot_events"]

    response = send(EVENT_KINDS.get(event, "event"), EVENT_PAYLOADS[event]())

    assert response.status == 200
    if event in EXPECTED_CALL:
        assert fake_slack.wait_for(EXPECTED_CALL[event])


def test_the_workflow_steps_inputs_are_the_questionnaires_questions_and_options(
    manifest: dict[str, Any], kb: KnowledgeBase
) -> None:
    [step] = manifest["functions"].values()
    inputs = step["input_parameters"]["properties"]

    assert list(inputs) == [q.id for q in kb.questionnaire.questions] + [DESCRIPTION_INPUT]
    for question in kb.questionnaire.questions:
        described = inputs[question.id]
        assert all(option.id in described["description"] for option in question.options)
        if question.kind == "single":
            assert described["enum"] == [option.id for option in question.options]
    assert step["input_parameters"]["required"] == []
    assert step["output_parameters"]["required"] == list(OUTPUTS)
    assert list(step["output_parameters"]["properties"]) == list(OUTPUTS)


def test_every_manifest_event_has_a_payload_in_this_test(manifest: dict[str, Any]) -> None:
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == set(EVENT_PAYLOADS)


UNHANDLED = [
    ("slash_command", lambda: slash_command("help", command="/weather")),
    ("message_shortcut", lambda: message_shortcut("not_a_shortcut", "hi")),
    ("global_shortcut", lambda: global_shortcut("not_a_shortcut")),
    ("event", lambda: {**app_mention("x"), "event": {"type": "reaction_added", "user": "U0BOB"}}),
]


@pytest.mark.parametrize(
    ("kind", "build"), UNHANDLED, ids=["command", "message shortcut", "global shortcut", "event"]
)
def test_what_the_manifest_does_not_declare_is_not_handled(
    send: Send, kind: str, build: Callable[[], dict[str, Any]]
) -> None:
    assert send(kind, build()).status == 404


def test_the_bot_scopes_are_exactly_those_the_app_uses(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, manifest: dict[str, Any]
) -> None:
    send("app_mention", EVENT_PAYLOADS["app_mention"]())
    send("direct_message", EVENT_PAYLOADS["message.im"]())
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("s")))
    send("global_shortcut", global_shortcut(ids.CallbackId.RECOMMEND_SHORTCUT))
    send("app_home_opened", EVENT_PAYLOADS["app_home_opened"]())
    send("app_home_opened", app_home_opened(tab="messages"))
    send("direct_message", direct_message("what is flask?", thread_ts="1700000000.000100"))
    send("slash_command", slash_command("stats", response_url=fake_slack.response_url("c")))
    finish_work(wsgi_app.app)

    assert {call.method for call in fake_slack.calls} <= set(METHOD_SCOPES)
    needed = {
        scope
        for scopes in METHOD_SCOPES.values()
        for scope in ((scopes,) if isinstance(scopes, str) else scopes or ())
    } | set(EVENT_SCOPES.values())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed | {"commands"}
