"""The buttons under a recommendation: "Share in channel", "Share in thread", "Start over".

Their values carry the answers and where the result was shown, so the recommendation is
recomputed from the knowledge on click, on whichever instance gets it. A result posted as a
message (in the DM) carries its answers in its metadata too, and a share reads them from there.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.advisor import AnswerError
from bot.render.feedback import FeedbackButtons
from bot.render.recommendation import recommendation_message
from bot.slack.context import Turn, app_context_of
from bot.slack.flows.questionnaire import EXPIRED, open_questionnaire
from bot.slack.platform.messenger import problem_text
from bot.slack.wire.ids import ActionId
from bot.slack.wire.metadata import MessageFacts
from bot.slack.wire.payloads import BlockActions, ValidationError, problems
from bot.slack.wire.state import FeedbackValue, ResultValue, StateError

log = logging.getLogger(__name__)


def _read(turn: Turn, body: dict[str, Any]) -> tuple[BlockActions, ResultValue] | None:
    try:
        click = BlockActions.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed click on a result button: %s", problems(error))
        return None
    try:
        return click, ResultValue.decode(click.action.value)
    except StateError as error:
        log.warning(
            "Unreadable result button value from user=%s: %s", click.user.id, problems(error)
        )
        turn.slack.tell(
            click.user.id, EXPIRED, response_url=click.response_url, channel=click.channel_id
        )
        return None


def share(turn: Turn, body: dict[str, Any], *, in_thread: bool) -> None:
    read = _read(turn, body)
    if read is None:
        return
    click, value = read
    facts = MessageFacts.read(click.message.metadata if click.message else None)
    # The copy names the stored recommendation the original was, when that is known.
    answers, recommendation_id = value.answers, value.recommendation_id
    if facts is not None and facts.kind == "recommendation" and facts.answers:
        # What the message says it recommended, over a button's copy.
        answers, recommendation_id = facts.answers, facts.recommendation_id
    channel = value.to.channel or click.channel_id
    tell = {"response_url": click.response_url, "channel": channel}
    if channel is None:
        log.warning("Share click from user=%s names no channel", click.user.id)
        return
    try:
        recommendation = turn.recommend(answers)
    except AnswerError as error:
        log.warning("Shared answers of user=%s no longer fit: %s", click.user.id, problems(error))
        turn.slack.tell(click.user.id, EXPIRED, **tell)
        return
    rated = FeedbackValue.for_recommendation(
        recommendation.winner.id,
        recommendation.answers,
        shared_by=click.user.id,
        recommendation_id=recommendation_id,
    )
    message = recommendation_message(
        turn.kb,
        recommendation,
        shared_by=click.user.id,
        feedback=FeedbackButtons(*rated.vote_values()),
    )
    thread_ts = (value.to.thread_ts or click.thread_ts) if in_thread else None
    labelled = turn.labelled(message, rated, recommendation.verdict)
    outcome = turn.slack.post_message(channel, labelled, thread_ts=thread_ts)
    if not outcome.ok:
        turn.slack.tell(click.user.id, problem_text(outcome.error, channel), **tell)


def register(app: App) -> None:
    app.action(ActionId.SHARE_IN_CHANNEL)(share_in_channel)
    app.action(ActionId.SHARE_IN_THREAD)(share_in_thread)
    app.action(ActionId.START_OVER)(start_over)


def share_in_channel(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    share(app_context_of(context).turn(context), body, in_thread=False)


def share_in_thread(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    share(app_context_of(context).turn(context), body, in_thread=True)


def start_over(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    turn = app_context_of(context).turn(context)
    read = _read(turn, body)
    if read is None:
        return
    click, value = read
    to = value.to.for_user(click.user.id)
    if click.response_url:
        to = to.model_copy(update={"response_url": click.response_url})
    open_questionnaire(turn, click.trigger_id, to)
