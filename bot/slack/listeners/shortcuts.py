"""The message shortcut "Ask Framework Advisor" (answers a message in its thread) and the global
shortcut "Framework recommendation" (opens the questionnaire; the result goes to the DM).

The message shortcut is claimed in the durable inbox before its ack (see
bot/slack/platform/redelivery.py) and answered like a mention: when an answer slot is free, and
by another instance if this one dies first."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.matching import clean_text
from bot.render.block_kit import with_note
from bot.slack.context import AppContext, app_context_of
from bot.slack.flows.answering import send_reply
from bot.slack.flows.failures import report_unhandled
from bot.slack.flows.questionnaire import open_questionnaire
from bot.slack.platform.messenger import TIMED_OUT, problem_text
from bot.slack.platform.reply_check import ReplyPlace
from bot.slack.wire.ids import CallbackId
from bot.slack.wire.payloads import GlobalShortcut, MessageShortcut, ValidationError, problems
from bot.slack.wire.state import Destination, Place

log = logging.getLogger(__name__)

NO_TEXT = "That message has no text I can answer. Try it on a message with a question."


def register(app: App) -> None:
    app.shortcut(CallbackId.ASK_SHORTCUT)(take_message_shortcut)
    app.shortcut(CallbackId.RECOMMEND_SHORTCUT)(recommend_shortcut)


def take_message_shortcut(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    app_context = app_context_of(context)
    app_context.answer_later(
        partial(answer_message_shortcut, app_context, body, context),
        partial(report_unhandled, app_context, body=body, context=context),
        context,
    )


def answer_message_shortcut(
    app_context: AppContext, body: dict[str, Any], context: BoltContext
) -> None:
    try:
        shortcut = MessageShortcut.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed message shortcut: %s", problems(error))
        return
    user, channel = shortcut.user.id, shortcut.channel.id
    turn = app_context.turn(context, channel)
    if not clean_text(shortcut.message.text):
        turn.slack.tell(user, NO_TEXT, response_url=shortcut.response_url, channel=channel)
        return
    thread_ts = shortcut.message.thread_ts or shortcut.message.ts
    answer = turn.reply(shortcut.message.text, Place(channel=channel, thread_ts=thread_ts))
    outcome = send_reply(turn, answer, ReplyPlace(channel, thread_ts, after_ts=shortcut.message.ts))
    if outcome.ok:
        return
    if outcome.error == TIMED_OUT:  # it may be in the thread: a private copy would repeat it
        turn.slack.tell(
            user,
            problem_text(outcome.error),
            response_url=shortcut.response_url,
            channel=channel,
        )
        return
    # Not in the channel (or similar): the person still gets the answer, privately.
    note = problem_text(outcome.error, channel) + " Here is the answer, just for you:"
    private = with_note(answer, note)
    if shortcut.response_url and turn.slack.respond(shortcut.response_url, private).ok:
        return
    turn.slack.send_to_dm(user, private)


def recommend_shortcut(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    try:
        shortcut = GlobalShortcut.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed global shortcut: %s", problems(error))
        return
    open_questionnaire(
        app_context_of(context).turn(context),
        shortcut.trigger_id,
        Destination.direct_message(shortcut.user.id),
    )
