"""The questionnaire modal: one question per step, Back and Next, and the result delivered where
the questionnaire started.

All of its state (step, answers so far, where the result goes) is in the view's
private_metadata, so any instance can serve any step. Next is the modal's submit button: an
unanswered step is refused inline (`response_action: errors`), and a valid one is answered
with the next step (`response_action: update`) in the same HTTP response, so no step is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.models.views import View

from bot.advisor import AnswerError, missing_questions
from bot.knowledge import Question
from bot.render.blocks import (
    FeedbackButtons,
    ResultButtons,
    notice_view,
    question_block_id,
    questionnaire_view,
    recommendation_message,
)
from bot.slack.delivery import problem_text
from bot.slack.engine import Engine, Turn
from bot.slack.ids import ActionId, CallbackId
from bot.slack.payloads import BlockActions, ValidationError, ViewSubmission, problems
from bot.slack.state import (
    Destination,
    FeedbackValue,
    Place,
    QuestionnaireState,
    ResultValue,
    StateError,
)

log = logging.getLogger(__name__)

NEEDED = {
    "single": "Choose an answer to go on.",
    "multiple": "Choose at least one answer to go on.",
}

EXPIRED = (
    "This questionnaire can't go on (it was started by an older version of me). "
    "Please start it again with `/framework recommend`."
)


def step_view(turn: Turn, state: QuestionnaireState) -> View:
    return questionnaire_view(
        turn.kb.questionnaire,
        state.step,
        state.answers,
        state.encode_metadata(),
        CallbackId.QUESTIONNAIRE,
    )


def open_questionnaire(turn: Turn, trigger_id: str, to: Destination) -> bool:
    """Open step 1 for `to.user`; if Slack refuses, tell them why by another route."""
    view = step_view(turn, QuestionnaireState(to=to))
    outcome = turn.slack.open_view(trigger_id, view, f"questionnaire for user={to.user}")
    if not outcome.ok:
        turn.slack.tell(
            to.user,
            problem_text(outcome.error, to.channel),
            response_url=to.response_url,
            channel=to.channel,
            thread_ts=to.thread_ts,
        )
    return outcome.ok


def selected_options(
    values: Mapping[str, Mapping[str, Any]], question: Question
) -> tuple[str, ...]:
    """The option ids chosen for `question` in a view's state, in questionnaire order; ids that
    are not the question's options are dropped, and a single-choice question keeps one."""
    element = values.get(question_block_id(question), {}).get(ActionId.QUESTIONNAIRE_CHOICE, {})
    chosen: list[object] = []
    if isinstance(element.get("selected_option"), dict):
        chosen.append(element["selected_option"].get("value"))
    for option in element.get("selected_options") or ():
        if isinstance(option, dict):
            chosen.append(option.get("value"))
    ids = tuple(option.id for option in question.options if option.id in chosen)
    return ids[:1] if question.kind == "single" else ids


def result_buttons(to: Destination, answers: Mapping[str, tuple[str, ...]]) -> ResultButtons:
    """Share (in channel, and in thread when there is one) and Start over; only Start over in
    a DM. The values carry the answers, so any instance can recompute the recommendation."""
    try:
        value = ResultValue(answers=dict(answers), to=to).encode_value()
    except StateError:
        # Too long with the response URL: the buttons then work without it.
        without_url = to.model_copy(update={"response_url": None})
        value = ResultValue(answers=dict(answers), to=without_url).encode_value()
    if to.dm or not to.channel:
        return ResultButtons(start_over=value)
    return ResultButtons(
        share_in_channel=value,
        share_in_thread=value if to.thread_ts else None,
        start_over=value,
    )


def deliver_recommendation(turn: Turn, state: QuestionnaireState) -> None:
    try:
        recommendation = turn.recommend(state.answers)
    except AnswerError as error:
        log.warning(
            "Questionnaire answers of user=%s no longer fit: %s", state.to.user, problems(error)
        )
        turn.slack.tell(state.to.user, EXPIRED, response_url=state.to.response_url)
        return
    turn.record_recommendation(recommendation)
    rated = FeedbackValue.for_recommendation(
        recommendation.winner.id, recommendation.answers, to=state.to
    )
    message = recommendation_message(
        turn.kb,
        recommendation,
        buttons=result_buttons(state.to, recommendation.answers),
        feedback=FeedbackButtons(rated.encode_value()),
    )
    turn.slack.deliver(state.to, message)


def register(app: App, engine: Engine) -> None:
    @app.view(CallbackId.QUESTIONNAIRE)
    def next_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        turn = engine.turn(context)
        questions = turn.kb.questionnaire.questions
        try:
            submission = ViewSubmission.model_validate(body)
            state = QuestionnaireState.decode(submission.view.private_metadata)
        except (ValidationError, StateError) as error:
            log.warning("Unreadable questionnaire submission: %s", problems(error))
            ack(response_action="update", view=notice_view("Start again", EXPIRED).to_dict())
            return
        if state.step >= len(questions):
            log.warning("Questionnaire step %s is past the last question", state.step)
            ack(response_action="update", view=notice_view("Start again", EXPIRED).to_dict())
            return
        question = questions[state.step]
        chosen = selected_options(submission.view.state.values, question)
        if not chosen:
            ack(
                response_action="errors",
                errors={question_block_id(question): NEEDED[question.kind]},
            )
            return
        state = state.with_answer(question.id, chosen).model_copy(
            update={"to": state.to.for_user(submission.user.id)}
        )
        last = state.step == len(questions) - 1
        missing = missing_questions(turn.kb.questionnaire, state.answers)
        if not last or missing:
            # Next goes one step on; past the last step, back to any question left unanswered.
            next_step = state.step + 1 if not last else questions.index(missing[0])
            ack(response_action="update", view=step_view(turn, state.at_step(next_step)).to_dict())
            return
        ack()
        deliver_recommendation(turn, state)

    @app.action(ActionId.QUESTIONNAIRE_BACK)
    def previous_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        turn = engine.turn(context)
        questions = turn.kb.questionnaire.questions
        try:
            click = BlockActions.model_validate(body)
            if click.view is None:
                raise StateError("a Back click outside a modal")
            state = QuestionnaireState.decode(click.view.private_metadata)
        except (ValidationError, StateError) as error:
            log.warning("Unreadable questionnaire Back click: %s", problems(error))
            return
        if state.step < len(questions):
            question = questions[state.step]
            state = state.with_answer(
                question.id, selected_options(click.view.state.values, question)
            )
        state = state.at_step(max(min(state.step, len(questions)) - 1, 0))
        turn.slack.update_view(click.view.id, click.view.hash, step_view(turn, state))

    @app.action(ActionId.START_QUESTIONNAIRE)
    def start_questionnaire(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        turn = engine.turn(context)
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
        open_questionnaire(turn, click.trigger_id, to)
