"""Every name that wires Slack to a listener: the slash command, shortcut and view callback_ids,
the subscribed events and the action_ids. manifest.yml must list exactly the manifest-facing
ones (tests/slack/test_manifest.py checks both ways)."""

from __future__ import annotations

from enum import StrEnum

from bot.render.blocks import ANSWER_TOPIC_PATTERN, COMMAND, ActionId

__all__ = [
    "ANSWER_TOPIC_PATTERN",
    "COMMAND",
    "EVENTS",
    "GLOBAL_SHORTCUTS",
    "MESSAGE_SHORTCUTS",
    "ActionId",
    "CallbackId",
    "Event",
]


class CallbackId(StrEnum):
    ASK_SHORTCUT = "ask_framework_advisor"
    """Message shortcut "Ask Framework Advisor": answers the message in its thread."""
    RECOMMEND_SHORTCUT = "framework_recommendation"
    """Global shortcut "Framework recommendation" (shortcut names are at most 24 characters)."""
    QUESTIONNAIRE = "questionnaire"
    """The questionnaire modal (a view, so not in the manifest)."""
    DECIDE_SHORTCUT = "decide_as_a_team"
    """Message shortcut "Decide this as a team": a team decision titled by the message."""
    DECISION_ANSWERS = "decision_answers"
    """The questionnaire modal as "Add my answers" opens it for a team decision (a view)."""


class Event(StrEnum):
    APP_MENTION = "app_mention"
    MESSAGE = "message"
    APP_HOME_OPENED = "app_home_opened"
    APP_UNINSTALLED = "app_uninstalled"
    TOKENS_REVOKED = "tokens_revoked"


MESSAGE_SHORTCUTS = (CallbackId.ASK_SHORTCUT, CallbackId.DECIDE_SHORTCUT)
GLOBAL_SHORTCUTS = (CallbackId.RECOMMEND_SHORTCUT,)

EVENTS = {
    "app_mention": Event.APP_MENTION,
    "message.im": Event.MESSAGE,
    "app_home_opened": Event.APP_HOME_OPENED,
    "app_uninstalled": Event.APP_UNINSTALLED,
    "tokens_revoked": Event.TOKENS_REVOKED,
}
"""Manifest bot_events -> the event type their listener receives."""
