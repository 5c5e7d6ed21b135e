"""The questionnaire flow: its steps, opening it (from a command, a shortcut, a button, a
"Start over"), and delivering the recommendation where the questionnaire started. The
listeners of the modal, and how its state travels, are in bot/slack/listeners/questionnaire.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_sdk.models.views import View

from bot.advisor import AnswerError
from bot.knowledge import Question
from bot.render.feedback import FeedbackButtons
from bot.render.questionnaire import question_block_id, questionnaire_view
from bot.render.recommendation import ResultButtons, recommendation_message
from bot.slack.context import Turn
from bot.slack.platform.messenger import problem_text
from bot.slack.wire.ids import COMMAND, ActionId, CallbackId
from bot.slack.wire.payloads import BlockActions, ValidationError, problems
from bot.slack.wire.state import (
    Answering,
    Destination,
    FeedbackValue,
    QuestionnaireState,
    ResultValue,
    StateError,
)

log = logging.getLogger(__name__)

InProgress = TypeVar("InProgress", bound=Answering)

NEEDED = {
    "single": "Choose an answer to go on.",
    "multiple": "Choose at least one answer to go on.",
}

EXPIRED = (
    "This questionnaire can't go on (it was started by an older version of me). "
    f"Please start it again with `{COMMAND} recommend`."
)


def step_view(turn: Turn, state: QuestionnaireState) -> View:
    return questionnaire_view(
        turn.kb.questionnaire,
        state.step,
        state.answers,
        state.encode_metadata(),
        CallbackId.QUESTIONNAIRE,
    )


def open_questionnaire(
    turn: Turn,
    trigger_id: str,
    to: Destination,
    answers: Mapping[str, tuple[str, ...]] | None = None,
) -> bool:
    """Open step 1 for `to.user` (with `answers` already chosen, as read from a project
    description); if Slack refuses, tell them why by another route."""
    known = {question.id for question in turn.kb.questionnaire.questions}
    chosen = {q: options for q, options in (answers or {}).items() if q in known}
    view = step_view(turn, QuestionnaireState(to=to, answers=chosen))
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


@dataclass(frozen=True)
class BackClick(Generic[InProgress]):
    """A readable Back click in the questionnaire modal: the view to update, and the state one
    step back with what was chosen on the step left kept."""

    view_id: str
    view_hash: str | None
    state: InProgress


def back_click(
    body: dict[str, Any], kind: type[InProgress], questions: Sequence[Question], what: str
) -> BackClick[InProgress] | None:
    """`body` read as a Back click in a modal carrying `kind`; None (logged, naming `what`)
    when it is not one the app can read."""
    try:
        click = BlockActions.model_validate(body)
        if click.view is None:
            raise StateError("a Back click outside a modal")
        state = kind.decode(click.view.private_metadata)
    except (ValidationError, StateError) as error:
        log.warning("Unreadable %s Back click: %s", what, problems(error))
        return None
    if state.step < len(questions):
        question = questions[state.step]
        state = state.with_answer(question.id, selected_options(click.view.state.values, question))
    back = state.at_step(max(min(state.step, len(questions)) - 1, 0))
    return BackClick(click.view.id, click.view.hash, back)


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
        feedback=FeedbackButtons(*rated.vote_values()),
    )
    turn.slack.deliver(state.to, turn.labelled(message, rated, recommendation.verdict))
