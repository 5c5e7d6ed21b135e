"""`@Framework Advisor <question>` in a channel: the answer goes in the thread of the message
(the existing thread when the mention is inside one)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.slack.conversation import ignore_reason, reply_for
from bot.slack.delivery import problem_text
from bot.slack.engine import Engine
from bot.slack.ids import Event
from bot.slack.payloads import MessageEvent, ValidationError, problems
from bot.slack.state import Place

log = logging.getLogger(__name__)


def register(app: App, engine: Engine) -> None:
    @app.event(Event.APP_MENTION)
    def answer_mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        try:
            mention = MessageEvent.model_validate(event)
        except ValidationError as error:
            log.warning("Ignoring a malformed app_mention event: %s", problems(error))
            return
        reason = ignore_reason(mention, context.bot_user_id)
        if reason is not None:
            log.debug("Ignoring app_mention in %s: %s", mention.channel, reason)
            return
        if not engine.claim_event(body):
            log.info("Event %s was answered already (another instance)", body.get("event_id"))
            return
        turn = engine.turn(context, mention.channel)
        dm = mention.channel.startswith("D")
        place = Place(dm=dm, channel=mention.channel, thread_ts=mention.reply_thread_ts)
        reply = reply_for(turn, mention.text, place)
        outcome = turn.slack.post_message(mention.channel, reply, thread_ts=mention.reply_thread_ts)
        if not outcome.ok and mention.user is not None:
            turn.slack.tell(
                mention.user,
                problem_text(outcome.error, mention.channel),
                channel=mention.channel,
                thread_ts=mention.reply_thread_ts,
            )
