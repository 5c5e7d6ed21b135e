"""Replies to free text typed at the bot (mentions and DMs): help, or what the matcher reads the
message as (an answer, small talk, a project description; "recommend" gets a button that opens
the questionnaire, since events carry no trigger_id to open it), and how such a reply is sent
once (`send_reply`)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import BoltContext

from bot.matching import clean_text
from bot.render.answers import help_message
from bot.render.block_kit import Message
from bot.slack.context import AppContext, Turn
from bot.slack.platform.messenger import Outcome
from bot.slack.platform.reply_check import ReplyPlace, Seen, find_reply
from bot.slack.wire.ids import COMMAND
from bot.slack.wire.metadata import INTENT_EVENT, naming_question
from bot.slack.wire.payloads import MessageEvent, ValidationError, problems
from bot.slack.wire.state import Place
from bot.store import Sending

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


def send_reply(turn: Turn, reply: Message, place: ReplyPlace) -> Outcome:
    """Post `reply`, the answer to a question typed at the bot (a mention, a DM, the message
    shortcut), at `place`: once, however its delivery came (see `before_reply`)."""
    skipped = before_reply(turn, place)
    if skipped is not None:
        return skipped
    return turn.slack.post_message(place.channel, named(turn, reply), thread_ts=place.thread_ts)


def before_reply(turn: Turn, place: ReplyPlace) -> Outcome | None:
    """What to do before posting the reply to the request at hand at `place`: None, post it
    (`named`); or an Outcome (`skipped`; with the reply found, as chat.postMessage would have
    answered: `channel`, `ts`, `message`) when it must not be posted.

    A delivery of the durable inbox is marked sending (committed) first, by the holder of its
    lease only: an instance whose lease another took meanwhile posts nothing and drops its
    answer. One whose reply was on its way when its last holder stopped is then looked for in
    Slack: found, it is not posted again, and the question's records are written with the done
    mark as after a post. When Slack cannot be asked it is posted: answered at least once,
    perhaps twice. Any other request: post it."""
    delivery = turn.delivery
    if delivery is None or delivery.inbox_id is None or delivery.reply_uid is None:
        return None
    uid = delivery.reply_uid
    if turn.store.mark_sending(delivery.inbox_id, uid, delivery.attempt) is Sending.TAKEN:
        log.info("Event %s is being answered by another instance", delivery.inbox_id)
        return Outcome(True, skipped=True)
    if delivery.maybe_sent:
        search = find_reply(turn.slack, place, uid, turn.sender)
        if search.seen is Seen.THERE and search.message is not None:
            log.info(
                "Event %s was answered before its process stopped (message %s): not again",
                delivery.inbox_id,
                search.message.get("ts"),
            )
            found = {"channel": place.channel, "ts": search.message.get("ts")}
            return Outcome(True, data={**found, "message": search.message}, skipped=True)
    return None


def named(turn: Turn, message: Message) -> Message:
    """`message`, the reply to an inbox delivery, naming the delivery's reply id in its
    metadata (`question_id`), by which `before_reply` finds it; other replies as they are."""
    delivery = turn.delivery
    if delivery is None or delivery.reply_uid is None or message.metadata is None:
        return message
    return message.with_metadata(naming_question(message.metadata, delivery.reply_uid))


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
