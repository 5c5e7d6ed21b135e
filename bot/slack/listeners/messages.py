"""Direct messages to the bot (`message.im`): the answer in the DM, in the message's thread if
it was sent in one. A message in a thread of the DM is an assistant thread of the agent
Messages tab: a status line shows while the answer is prepared, and the reply clears it (or,
when the reply fails, the app does). When the person moved to a channel since the last answer
(`app_context_changed`, bot/slack/listeners/agent.py), the answer opens with a line saying how
to get it there. Every other message event (edits, deletions, joins, bots,
other channel types) is acknowledged and ignored, so Slack does not retry it."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext

from bot.render.block_kit import with_note
from bot.render.home import viewing_note
from bot.slack.context import AppContext, app_context_of
from bot.slack.flows.answering import message_to_answer, reply_for, send_reply
from bot.slack.flows.failures import report_unhandled
from bot.slack.platform.reply_check import ReplyPlace
from bot.slack.wire.ids import Event
from bot.slack.wire.state import Place

log = logging.getLogger(__name__)

WORKING_STATUS = "is looking that up…"
"""Shown as "Framework Advisor is looking that up…" under the thread while the answer is made."""


def register(app: App) -> None:
    app.event({"type": Event.MESSAGE.value, "subtype": None})(take_direct_message)
    app.event(Event.MESSAGE.value)(ignore_other_messages)


def take_direct_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    app_context = app_context_of(context)
    app_context.answer_later(
        partial(answer_direct_message, app_context, event, body, context),
        partial(report_unhandled, app_context, body=body, context=context),
        context,
    )


def answer_direct_message(
    app_context: AppContext, event: dict[str, Any], body: dict[str, Any], context: BoltContext
) -> None:
    message = message_to_answer(app_context, event, body, context, only_direct=True)
    if message is None:
        return
    turn = app_context.turn(context, message.channel)
    working = (
        message.thread_ts is not None
        and turn.slack.set_status(message.channel, message.thread_ts, WORKING_STATUS).ok
    )
    reply = reply_for(turn, message.text, Place(dm=True))
    if message.user is not None:
        note = viewing_note(app_context.viewing.take(turn.asker.team_id, message.user))
        if note is not None:
            reply = with_note(reply, note)
    outcome = send_reply(
        turn, reply, ReplyPlace(message.channel, message.thread_ts, after_ts=message.ts)
    )
    # A reply clears the status; none was posted now when it failed or was there already.
    if working and message.thread_ts is not None and (not outcome.ok or outcome.skipped):
        turn.slack.set_status(message.channel, message.thread_ts, "")
    if not outcome.ok:
        log.error(
            "Could not answer the DM of user=%s in %s: %s",
            message.user,
            message.channel,
            outcome.error,
        )


def ignore_other_messages(event: dict[str, Any]) -> None:
    log.debug(
        "Ignoring a message event (subtype %s) in %s",
        event.get("subtype"),
        event.get("channel"),
    )
