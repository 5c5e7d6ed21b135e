"""Every name that wires Slack to a listener: the slash command, shortcut and view callback_ids,
the subscribed events, the action_ids and the block_ids a listener reads. manifest.yml must list
exactly the manifest-facing ones (tests/slack/test_manifest.py checks both ways).

The renderer builds the elements these name, so it imports this module and nothing else of
bot.slack; this module imports nothing of the app (import-linter checks both).
"""

from __future__ import annotations

import re
from enum import StrEnum

COMMAND = "/framework"
"""The slash command (manifest.yml), named in replies; the listeners register this one."""


class DecisionActionId(StrEnum):
    """The action_ids of a decision's buttons."""

    ADD_ANSWERS = "decision_add_answers"
    CLOSE = "decision_close"
    BACK = "decision_back"
    """Back in the "Add my answers" modal (not the questionnaire's own Back)."""


class FunctionId(StrEnum):
    """The callback_ids of the Workflow Builder steps (manifest.yml `functions`)."""

    RECOMMEND_FRAMEWORK = "recommend_framework"


class ActionId(StrEnum):
    """The action_id of every interactive element the app sends."""

    START_QUESTIONNAIRE = "start_questionnaire"
    QUESTIONNAIRE_BACK = "questionnaire_back"
    QUESTIONNAIRE_CHOICE = "questionnaire_choice"
    SHARE_IN_CHANNEL = "share_in_channel"
    SHARE_IN_THREAD = "share_in_thread"
    START_OVER = "start_over"
    ANSWER_TOPIC = "answer_topic"
    """Prefix: the suggestion buttons of one message are answer_topic_0, _1, … (action_ids
    must be unique within a block)."""
    FEEDBACK = "feedback_vote"
    """Slack's native 👍 / 👎 (`feedback_buttons`); each button's value says which it is."""
    FEEDBACK_HELPFUL = "feedback_helpful"
    FEEDBACK_NOT_HELPFUL = "feedback_not_helpful"
    """The two buttons messages carried before the native ones; still answered."""
    FEEDBACK_REASON = "feedback_reason"
    FEEDBACK_NOTE = "feedback_note"


ANSWER_TOPIC_PATTERN = re.compile(rf"^{ActionId.ANSWER_TOPIC.value}_\d+$")
FEEDBACK_BLOCK_ID = "feedback"
REASON_BLOCK_ID = "reason"
NOTE_BLOCK_ID = "note"
QUESTION_BLOCK_PREFIX = "question_"
"""Each questionnaire step's input block is question_<question id>: a distinct block_id per
question, so Slack does not carry one step's selection over into the next."""


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
    FEEDBACK_REASON = "feedback_reason"
    """The "What was wrong?" modal a 👎 opens (a view, so not in the manifest)."""


class Event(StrEnum):
    APP_MENTION = "app_mention"
    MESSAGE = "message"
    APP_HOME_OPENED = "app_home_opened"
    APP_UNINSTALLED = "app_uninstalled"
    TOKENS_REVOKED = "tokens_revoked"
    FUNCTION_EXECUTED = "function_executed"
    """A Workflow Builder step of the app's runs (Bolt's `app.function` listens to it)."""
    APP_CONTEXT_CHANGED = "app_context_changed"
    """The agent Messages tab is open and the person now looks at another channel (or none)."""


MESSAGE_SHORTCUTS = (CallbackId.ASK_SHORTCUT, CallbackId.DECIDE_SHORTCUT)
GLOBAL_SHORTCUTS = (CallbackId.RECOMMEND_SHORTCUT,)

EVENTS = {
    "app_mention": Event.APP_MENTION,
    "message.im": Event.MESSAGE,
    "app_home_opened": Event.APP_HOME_OPENED,
    "app_context_changed": Event.APP_CONTEXT_CHANGED,
    "app_uninstalled": Event.APP_UNINSTALLED,
    "tokens_revoked": Event.TOKENS_REVOKED,
    "function_executed": Event.FUNCTION_EXECUTED,
}
"""Manifest bot_events -> the event type their listener receives."""
