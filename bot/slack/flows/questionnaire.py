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

from bot.advisor import AnswerError, missing_questions
from bot.knowledge import Question, Questionnaire
from bot.render.feedback import FeedbackButtons
from bot.render.questionnaire import question_block_id, questionnaire_view, restart_view
from bot.render.recommendation import ResultButtons, recommendation_message
from bot.slack.context import Turn
from bot.slack.platform.messenger import problem_text
from bot.slack.wire.ids import COMMAND, ActionId, CallbackId
from bot.slack.wire.payloads import BlockActions, ValidationError, problems
from bot.slack.wire.state import (
    Answering,
    Destination,
    FeedbackValue,
    Place,
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

EXPIRED_HERE = (
    "This questionnaire expired (it was started by an older version of me). "
    "Start it again here; the result comes to our DM."
)


def expired_view() -> View:
    """What a questionnaire modal whose state cannot be read becomes: why, and a button that
    starts the questionnaire again in the same modal (the result goes to the person's DM: where
    the old one was to go cannot be read)."""
    return restart_view(EXPIRED_HERE, Place(dm=True).encode_value())


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
    *,
    replacing: tuple[str, str | None] | None = None,
) -> bool:
    """Open step 1 for `to.user` (with `answers` already chosen, as read from a project
    description), or show it in the modal `replacing` (its view id and hash: a "Start again"
    inside a modal); if Slack refuses, tell them why by another route."""
    known = {question.id for question in turn.kb.questionnaire.questions}
    chosen = {q: options for q, options in (answers or {}).items() if q in known}
    view = step_view(turn, QuestionnaireState(to=to, answers=chosen))
    if replacing is not None:
        outcome = turn.slack.update_view(*replacing, view)
    else:
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
class SubmittedStep(Generic[InProgress]):
    """A Next click in a questionnaire modal: the question it submitted, and either the errors
    to show on it (nothing chosen), the state at the step to show next, or (`complete`) the
    state with every question answered."""

    question: Question
    state: InProgress
    errors: dict[str, str]
    complete: bool


def submitted_step(
    state: InProgress, values: Mapping[str, Mapping[str, Any]], questionnaire: Questionnaire
) -> SubmittedStep[InProgress] | None:
    """What submitting `state`'s step with the view's `values` leads to; None when the state's
    step is past the last question (a state this version cannot go on with)."""
    questions = questionnaire.questions
    if state.step >= len(questions):
        return None
    question = questions[state.step]
    chosen = selected_options(values, question)
    if not chosen:
        errors = {question_block_id(question): NEEDED[question.kind]}
        return SubmittedStep(question, state, errors, complete=False)
    state = state.with_answer(question.id, chosen)
    last = state.step == len(questions) - 1
    missing = missing_questions(questionnaire, state.answers)
    if last and not missing:
        return SubmittedStep(question, state, {}, complete=True)
    # Next goes one step on; past the last step, back to any question left unanswered.
    following = state.step + 1 if not last else questions.index(missing[0])
    return SubmittedStep(question, state.at_step(following), {}, complete=False)


@dataclass(frozen=True)
class BackClick(Generic[InProgress]):
    """A Back click in the questionnaire modal: the view to update, and the state one step back
    with what was chosen on the step left kept (None when the modal's state cannot be read:
    the modal then says so, with the way to start again)."""

    view_id: str
    view_hash: str | None
    state: InProgress | None


def back_click(
    body: dict[str, Any], kind: type[InProgress], questions: Sequence[Question], what: str
) -> BackClick[InProgress] | None:
    """`body` read as a Back click in a modal carrying `kind`; its `state` None (logged,
    naming `what`) when the app cannot read it, and None when it names no modal at all."""
    try:
        click = BlockActions.model_validate(body)
        if click.view is None:
            raise StateError("a Back click outside a modal")
        state = kind.decode(click.view.private_metadata)
    except (ValidationError, StateError) as error:
        log.warning("Unreadable %s Back click: %s", what, problems(error))
        return _unreadable_back(body)
    if state.step < len(questions):
        question = questions[state.step]
        state = state.with_answer(question.id, selected_options(click.view.state.values, question))
    back = state.at_step(max(min(state.step, len(questions)) - 1, 0))
    return BackClick(click.view.id, click.view.hash, back)


def _unreadable_back(body: dict[str, Any]) -> BackClick[Any] | None:
    """The modal of a Back click the app cannot read, if the click names one."""
    view = body.get("view")
    if not isinstance(view, dict):
        return None
    view_id, view_hash = view.get("id"), view.get("hash")
    if not isinstance(view_id, str) or not view_id:
        return None
    return BackClick(view_id, view_hash if isinstance(view_hash, str) else None, None)


def result_buttons(
    to: Destination,
    answers: Mapping[str, tuple[str, ...]],
    recommendation_id: str | None = None,
) -> ResultButtons:
    """Share (in channel, and in thread when there is one) and Start over; only Start over in
    a DM. The values carry the answers, so any instance can recompute the recommendation, and
    the stored recommendation's id, which a shared copy names too."""
    result = ResultValue(answers=dict(answers), to=to, recommendation_id=recommendation_id)
    try:
        value = result.encode_value()
    except StateError:
        # Too long with the response URL: the buttons then work without it.
        without_url = to.model_copy(update={"response_url": None})
        value = result.model_copy(update={"to": without_url}).encode_value()
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
    uid = turn.record_recommendation(recommendation)
    rated = FeedbackValue.for_recommendation(
        recommendation.winner.id, recommendation.answers, to=state.to, recommendation_id=uid
    )
    message = recommendation_message(
        turn.kb,
        recommendation,
        buttons=result_buttons(state.to, recommendation.answers, uid),
        feedback=FeedbackButtons(*rated.vote_values()),
    )
    turn.slack.deliver(state.to, turn.labelled(message, rated, recommendation.verdict))
