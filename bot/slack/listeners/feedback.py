"""The "Helpful" / "Not helpful" buttons under every answer and recommendation.

A click stores the vote (one per person per message: voting again replaces it), then rebuilds
the message from the button's value (the answer from the knowledge, the recommendation from
the answers) with the chosen button highlighted and a line thanking the voter, so the message
keeps its content and the vote can be changed. A normal message is updated with chat.update,
an ephemeral one through the click's response URL.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.advisor import AnswerError
from bot.render.answers import answer_message
from bot.render.block_kit import Message
from bot.render.feedback import FeedbackButtons
from bot.render.recommendation import recommendation_message
from bot.slack.context import AppContext, Turn
from bot.slack.flows.questionnaire import result_buttons
from bot.slack.platform.messenger import NOWHERE, problem_text
from bot.slack.wire.ids import ActionId
from bot.slack.wire.payloads import BlockActions, ValidationError, problems
from bot.slack.wire.state import FeedbackValue, StateError

log = logging.getLogger(__name__)

UNREADABLE = (
    "Sorry, I couldn't read that vote (the button may come from an older version of me). "
    "Please ask again and vote on the new answer."
)
NO_MESSAGE = "Sorry, I couldn't tell which message that vote was for. Please try again."


def thanks(helpful: bool) -> str:
    return f"Thanks, I've noted that this was {'helpful' if helpful else 'not helpful'}."


def answers_summary(answers: dict[str, tuple[str, ...]]) -> str:
    """A recommendation's answers as the "question" stored with its vote: `q=a,b; q2=c`."""
    return "; ".join(f"{question}={','.join(options)}" for question, options in answers.items())


def rebuild(turn: Turn, value: FeedbackValue, feedback: FeedbackButtons) -> Message | None:
    """The rated message as it was, with `feedback` buttons; None when the knowledge no longer
    has what it showed (an entry removed, or answers that now lead elsewhere)."""
    if value.kind == "entry":
        try:
            entry = turn.kb.entry(value.target)
        except KeyError:
            return None
        return answer_message(turn.kb, entry, feedback=feedback, bodies=turn.snapshot.answer_bodies)
    try:
        recommendation = turn.recommend(value.answers)
    except AnswerError:
        return None
    if recommendation.winner.id != value.target:
        return None
    buttons = result_buttons(value.to, recommendation.answers) if value.to is not None else None
    return recommendation_message(
        turn.kb, recommendation, shared_by=value.shared_by, buttons=buttons, feedback=feedback
    )


def vote(turn: Turn, body: dict[str, Any], *, helpful: bool) -> None:
    try:
        click = BlockActions.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed click on a feedback button: %s", problems(error))
        return
    user, channel, ts = click.user.id, click.channel_id, click.message_ts
    tell = {"response_url": click.response_url, "channel": channel, "thread_ts": click.thread_ts}
    try:
        value = FeedbackValue.decode(click.action.value)
    except StateError as error:
        log.warning("Unreadable feedback value from user=%s: %s", user, problems(error))
        turn.slack.tell(user, UNREADABLE, **tell)
        return
    if channel is None or ts is None:
        log.warning("Feedback click from user=%s names no message", user)
        turn.slack.tell(user, NO_MESSAGE, **tell)
        return
    turn.store.record_vote(
        team_id=turn.asker.team_id,
        user_id=user,
        message_key=f"{channel}:{ts}",
        target_kind=value.kind,
        target_id=value.target,
        question=value.question if value.kind == "entry" else answers_summary(value.answers),
        helpful=helpful,
    )
    feedback = FeedbackButtons(click.action.value, helpful=helpful, voter=user)
    message = rebuild(turn, value, feedback)
    if message is None:
        log.info("Feedback on %s %r, which the knowledge no longer has", value.kind, value.target)
        turn.slack.tell(user, thanks(helpful), **tell)
        return
    outcome = turn.slack.replace_clicked(click, message)
    if outcome.error == NOWHERE:
        log.warning("Feedback on an ephemeral message from user=%s has no response URL", user)
        turn.slack.tell(user, thanks(helpful), **tell)
        return
    if not outcome.ok:
        turn.slack.tell(
            user,
            f"{thanks(helpful)} I couldn't update the message, though: "
            f"{problem_text(outcome.error, channel)}",
            **tell,
        )


def register(app: App, app_context: AppContext) -> None:
    @app.action(ActionId.FEEDBACK_HELPFUL)
    def helpful(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        vote(app_context.turn(context), body, helpful=True)

    @app.action(ActionId.FEEDBACK_NOT_HELPFUL)
    def not_helpful(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        vote(app_context.turn(context), body, helpful=False)
