"""`@Framework Advisor <question>` in a channel: the answer goes in the thread of the message
(the existing thread when the mention is inside one)."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import App, BoltContext

from bot.slack.context import AppContext, app_context_of
from bot.slack.flows.answering import message_to_answer, reply_for, send_reply
from bot.slack.flows.failures import report_unhandled
from bot.slack.platform.messenger import problem_text
from bot.slack.platform.reply_check import ReplyPlace
from bot.slack.wire.ids import Event
from bot.slack.wire.state import Place


def register(app: App) -> None:
    app.event(Event.APP_MENTION)(take_mention)


def take_mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    app_context = app_context_of(context)
    app_context.answer_later(
        partial(answer_mention, app_context, event, body, context),
        partial(report_unhandled, app_context, body=body, context=context),
        context,
    )


def answer_mention(
    app_context: AppContext, event: dict[str, Any], body: dict[str, Any], context: BoltContext
) -> None:
    mention = message_to_answer(app_context, event, body, context)
    if mention is None:
        return
    turn = app_context.turn(context, mention.channel)
    dm = mention.channel.startswith("D")
    place = Place(dm=dm, channel=mention.channel, thread_ts=mention.reply_thread_ts)
    reply = reply_for(turn, mention.text, place)
    outcome = send_reply(
        turn, reply, ReplyPlace(mention.channel, mention.reply_thread_ts, after_ts=mention.ts)
    )
    if not outcome.ok and mention.user is not None:
        turn.slack.tell(
            mention.user,
            problem_text(outcome.error, mention.channel),
            channel=mention.channel,
            thread_ts=mention.reply_thread_ts,
        )
