"""The topic buttons of a "not sure" reply: a click replaces the suggestion with the answer on
that topic, in place (chat.update for a message, the response URL for an ephemeral one)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.render.answers import answer_message
from bot.render.feedback import FeedbackButtons
from bot.slack.context import app_context_of
from bot.slack.platform.messenger import NOWHERE, problem_text
from bot.slack.wire.ids import ANSWER_TOPIC_PATTERN
from bot.slack.wire.payloads import BlockActions, ValidationError, problems
from bot.slack.wire.state import FeedbackValue, StateError

log = logging.getLogger(__name__)

GONE = "I no longer have notes on that topic. Please ask again in other words."


def topic_of(value: str) -> FeedbackValue:
    """The entry a topic button offers, with the question it was offered for. Buttons posted
    before the question travelled with them carry the bare entry id."""
    try:
        picked = FeedbackValue.decode(value)
    except StateError:
        return FeedbackValue.for_entry(value, None)
    return picked if picked.kind == "entry" else FeedbackValue.for_entry(picked.target, None)


def register(app: App) -> None:
    app.action(ANSWER_TOPIC_PATTERN)(answer_topic)


def answer_topic(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    turn = app_context_of(context).turn(context)
    try:
        click = BlockActions.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed click on a topic button: %s", problems(error))
        return
    channel = click.channel_id
    picked = topic_of(click.action.value)
    try:
        entry = turn.kb.entry(picked.target)
    except KeyError:
        log.warning("Topic button names unknown entry %r", picked.target)
        turn.slack.tell(click.user.id, GONE, response_url=click.response_url, channel=channel)
        return
    # The answer's votes keep the question the person asked before picking the topic.
    feedback = FeedbackButtons(*picked.vote_values())
    message = answer_message(turn.kb, entry, feedback=feedback, bodies=turn.snapshot.answer_bodies)
    outcome = turn.slack.replace_clicked(click, turn.labelled(message, picked))
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
