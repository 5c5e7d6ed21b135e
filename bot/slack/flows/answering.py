"""Replies to free text typed at the bot (mentions and DMs): help, or what the matcher reads the
message as (an answer, small talk, a project description; "recommend" gets a button that opens
the questionnaire, since events carry no trigger_id to open it)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import BoltContext

from bot.matching import clean_text
from bot.render.answers import help_message
from bot.render.block_kit import Message
from bot.slack.context import AppContext, Turn
from bot.slack.wire.ids import COMMAND
from bot.slack.wire.metadata import INTENT_EVENT
from bot.slack.wire.payloads import MessageEvent, ValidationError, problems
from bot.slack.wire.state import Place

log = logging.getLogger(__name__)

LEADING_MENTIONS = re.compile(r"^(?:\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,:]*)+")
"""`<@U0BOT> what is django` -> `what is django`: the mention that addressed the bot is not part
of the question (and is not stored with it)."""


def reply_for(turn: Turn, text: str, place: Place) -> Message:
    text = LEADING_MENTIONS.sub("", text)
    words = clean_text(text).lower().split()
    if not words or words in (["help"], ["?"]):
        return turn.stamped(help_message(turn.kb, COMMAND), INTENT_EVENT, intent="help")
    return turn.reply(text, place)


def message_to_answer(
    app_context: AppContext,
    event: dict[str, Any],
    body: dict[str, Any],
    context: BoltContext,
    *,
    only_direct: bool = False,
) -> MessageEvent | None:
    """The message a person sent the bot, parsed; None (logged) when it is not to be answered:
    malformed, not for the bot (an edit, a bot's message, a channel message where only DMs
    count), or claimed already by another instance (see AppContext.claim_event)."""
    kind = event.get("type", "message")
    try:
        message = MessageEvent.model_validate(event)
    except ValidationError as error:
        log.warning("Ignoring a malformed %s event: %s", kind, problems(error))
        return None
    reason = ignore_reason(message, context.bot_user_id)
    if reason is None and only_direct and message.channel_type != "im":
        reason = f"not a direct message ({message.channel_type})"
    if reason is not None:
        log.debug("Ignoring %s in %s: %s", kind, message.channel, reason)
        return None
    if not app_context.claim_event(body, context):
        log.info("Event %s was answered already (another instance)", body.get("event_id"))
        return None
    return message


def ignore_reason(event: MessageEvent, bot_user_id: str | None) -> str | None:
    """Why an event must not be answered (a bot's message, an edit, a join, ...), or None."""
    if event.subtype is not None:
        return f"subtype {event.subtype}"
    if event.bot_id is not None:
        return f"sent by bot {event.bot_id}"
    if event.user is None:
        return "no user"
    if bot_user_id is not None and event.user == bot_user_id:
        return "sent by this bot"
    return None
