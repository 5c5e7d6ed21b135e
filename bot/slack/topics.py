"""The topic buttons of a "not sure" reply: a click replaces the suggestion with the answer on
that topic, in place (chat.update for a message, the response URL for an ephemeral one)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.render.blocks import FeedbackButtons, answer_message
from bot.slack.delivery import NOWHERE, problem_text
from bot.slack.engine import Engine
from bot.slack.ids import ANSWER_TOPIC_PATTERN
from bot.slack.payloads import BlockActions, ValidationError, problems
from bot.slack.state import FeedbackValue

log = logging.getLogger(__name__)

GONE = "I no longer have notes on that topic. Please ask again in other words."


def register(app: App, engine: Engine) -> None:
    @app.action(ANSWER_TOPIC_PATTERN)
    def answer_topic(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        turn = engine.turn(context)
        try:
            click = BlockActions.model_validate(body)
        except ValidationError as error:
            log.warning("Malformed click on a topic button: %s", problems(error))
            return
        channel, ts = click.channel_id, click.message_ts
        try:
            entry = turn.kb.entry(click.action.value)
        except KeyError:
            log.warning("Topic button names unknown entry %r", click.action.value)
            turn.slack.tell(click.user.id, GONE, response_url=click.response_url, channel=channel)
            return
        # The person picked the topic; their own question is not in the button.
        feedback = FeedbackButtons(FeedbackValue.for_entry(entry.id, None).encode_value())
        message = answer_message(turn.kb, entry, feedback=feedback)
        outcome = turn.slack.replace_clicked(
            message,
            channel=channel,
            ts=ts,
            ephemeral=click.container.is_ephemeral,
            response_url=click.response_url,
        )
        if outcome.error == NOWHERE:
            log.warning("Topic click from user=%s has nowhere to answer", click.user.id)
            return
        if not outcome.ok:
            turn.slack.tell(
                click.user.id,
                problem_text(outcome.error, channel),
                response_url=click.response_url,
                channel=channel,
                thread_ts=click.thread_ts,
            )
