"""The questionnaire modal's listeners: Next (the modal's submit), Back, and the buttons that
start it. The flow itself is in bot/slack/flows/questionnaire.py.

All of its state (step, answers so far, where the result goes) is in the view's
private_metadata, so any instance can serve any step. Next is the modal's submit button: an
unanswered step is refused inline (`response_action: errors`), and a valid one is answered
with the next step (`response_action: update`) in the same HTTP response, so no step is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.slack.context import app_context_of
from bot.slack.flows.questionnaire import (
    EXPIRED,
    back_click,
    deliver_recommendation,
    expired_view,
    open_questionnaire,
    step_view,
    submitted_step,
)
from bot.slack.wire.ids import ActionId, CallbackId
from bot.slack.wire.payloads import BlockActions, ValidationError, ViewSubmission, problems
from bot.slack.wire.state import Place, QuestionnaireState, StateError

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.view(CallbackId.QUESTIONNAIRE)(next_step)
    app.action(ActionId.QUESTIONNAIRE_BACK)(previous_step)
    app.action(ActionId.START_QUESTIONNAIRE)(start_questionnaire)


def next_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    turn = app_context_of(context).turn(context)
    try:
        submission = ViewSubmission.model_validate(body)
        state = QuestionnaireState.decode(submission.view.private_metadata)
    except (ValidationError, StateError) as error:
        log.warning("Unreadable questionnaire submission: %s", problems(error))
        ack(response_action="update", view=expired_view().to_dict())
        return
    state = state.model_copy(update={"to": state.to.for_user(submission.user.id)})
    step = submitted_step(state, submission.view.state.values, turn.kb.questionnaire)
    if step is None:
        log.warning("Questionnaire step %s is past the last question", state.step)
        ack(response_action="update", view=expired_view().to_dict())
        return
    if step.errors:
        ack(response_action="errors", errors=step.errors)
        return
    if not step.complete:
        ack(response_action="update", view=step_view(turn, step.state).to_dict())
        return
    ack()
    deliver_recommendation(turn, step.state)


def previous_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    turn = app_context_of(context).turn(context)
    questions = turn.kb.questionnaire.questions
    back = back_click(body, QuestionnaireState, questions, "questionnaire")
    if back is None:
        return
    view = expired_view() if back.state is None else step_view(turn, back.state)
    turn.slack.update_view(back.view_id, back.view_hash, view)


def start_questionnaire(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    turn = app_context_of(context).turn(context)
    try:
        click = BlockActions.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed Start questionnaire click: %s", problems(error))
        return
    try:
        place = Place.decode(click.action.value)
    except StateError as error:
        log.warning(
            "Unreadable Start questionnaire value from %s: %s", click.user.id, problems(error)
        )
        turn.slack.tell(
            click.user.id, EXPIRED, response_url=click.response_url, channel=click.channel_id
        )
        return
    to = place.destination(click.user.id, click.response_url)
    in_modal = click.view is not None and click.view.type == "modal"
    replacing = (click.view.id, click.view.hash) if click.view and in_modal else None
    open_questionnaire(turn, click.trigger_id, to, place.answers, replacing=replacing)
