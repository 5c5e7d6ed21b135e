"""Team decisions' listeners: the message shortcut "Decide this as a team", the decision
message's buttons (Add my answers, Close and record), and the "Add my answers" modal (Next,
Back, and the last step's Submit). The flow is in bot/slack/flows/decisions.py; `/framework
decide` comes through the command listener.

The modal's step and answers so far travel in its private_metadata; the answers are stored
when the last step is submitted, before the ack, so a database that is down is said in the
modal (which keeps the answers) instead of losing them.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.advisor import AnswerError, validate_answers
from bot.matching import clean_text
from bot.render.block_kit import notice_view
from bot.render.questionnaire import question_block_id
from bot.slack.context import app_context_of
from bot.slack.flows.decisions import (
    EXPIRED,
    NOT_FOUND,
    SAVE_FAILED,
    close_decision,
    decision_title,
    open_answers,
    refresh_message,
    start_decision,
    step_view,
    store_of,
)
from bot.slack.flows.questionnaire import back_click, submitted_step
from bot.slack.wire.decisions import DecisionAnswering, DecisionRef, Submitter
from bot.slack.wire.ids import CallbackId, DecisionActionId
from bot.slack.wire.payloads import (
    BlockActions,
    MessageShortcut,
    ValidationError,
    ViewSubmission,
    problems,
)
from bot.slack.wire.state import StateError
from bot.store import StoreUnavailable
from bot.store.decisions import DecisionClosed, DecisionNotFound

log = logging.getLogger(__name__)

CLOSED_MEANWHILE = (
    "This decision was closed before your answers arrived, so they were not added. The "
    "decision message links to its record."
)


def register(app: App) -> None:
    app.shortcut(CallbackId.DECIDE_SHORTCUT)(decide_shortcut)
    app.action(DecisionActionId.ADD_ANSWERS)(add_answers)
    app.action(DecisionActionId.CLOSE)(close)
    app.view(CallbackId.DECISION_ANSWERS)(next_step)
    app.action(DecisionActionId.BACK)(previous_step)


def decide_shortcut(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    try:
        shortcut = MessageShortcut.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed decide shortcut: %s", problems(error))
        return
    channel = shortcut.channel.id
    app_context = app_context_of(context)
    with app_context.finishing(context):  # claimed in the durable inbox before the ack
        start_decision(
            app_context.turn(context, channel),
            user=shortcut.user.id,
            channel=channel,
            thread_ts=shortcut.message.thread_ts or shortcut.message.ts,
            title=clean_text(shortcut.message.text),
            response_url=shortcut.response_url,
            after_ts=shortcut.message.ts,
        )


def add_answers(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    clicked = decision_click(body, "Add my answers")
    if clicked is not None:
        click, decision_id = clicked
        open_answers(
            app_context_of(context).turn(context),
            trigger_id=click.trigger_id,
            decision_id=decision_id,
            user=click.user.id,
            channel=click.channel_id,
            response_url=click.response_url,
        )


def close(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    clicked = decision_click(body, "Close and record")
    if clicked is not None:
        click, decision_id = clicked
        close_decision(
            app_context_of(context).turn(context),
            decision_id=decision_id,
            user=click.user.id,
            channel=click.channel_id,
            response_url=click.response_url,
        )


def next_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    turn = app_context_of(context).turn(context)
    try:
        submission = ViewSubmission.model_validate(body)
        submitter = Submitter.model_validate(body.get("user"))
        state = DecisionAnswering.decode(submission.view.private_metadata)
    except (ValidationError, StateError) as error:
        log.warning("Unreadable decision answers: %s", problems(error))
        ack(response_action="update", view=notice_view("Start again", EXPIRED).to_dict())
        return
    step = submitted_step(state, submission.view.state.values, turn.kb.questionnaire)
    if step is None:
        ack(response_action="update", view=notice_view("Start again", EXPIRED).to_dict())
        return
    if step.errors:
        ack(response_action="errors", errors=step.errors)
        return
    state = step.state
    if not step.complete:
        title = decision_title(turn, state.decision)
        ack(response_action="update", view=step_view(turn, state, title).to_dict())
        return
    try:
        answers = validate_answers(turn.kb.questionnaire, state.answers)
        store_of(turn).record_answers(
            team_id=turn.asker.team_id,
            decision_id=state.decision,
            user_id=submitter.id,
            user_name=submitter.display_name,
            answers=answers,
        )
    except AnswerError as error:
        log.warning("Decision answers of user=%s no longer fit: %s", submitter.id, error)
        ack(response_action="update", view=notice_view("Start again", EXPIRED).to_dict())
        return
    except StoreUnavailable as error:
        log.warning("Could not store answers to decision %s: %s", state.decision, error)
        ack(response_action="errors", errors={question_block_id(step.question): SAVE_FAILED})
        return
    except DecisionClosed:
        ack(
            response_action="update",
            view=notice_view("Decision closed", CLOSED_MEANWHILE).to_dict(),
        )
        return
    except DecisionNotFound:
        ack(response_action="update", view=notice_view("Decision gone", NOT_FOUND).to_dict())
        return
    ack()
    refresh_message(turn, state.decision, for_user=submitter.id)


def previous_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    turn = app_context_of(context).turn(context)
    questions = turn.kb.questionnaire.questions
    back = back_click(body, DecisionAnswering, questions, "decision")
    if back is None:
        return
    if back.state is None:
        view = notice_view("Start again", EXPIRED)
    else:
        view = step_view(turn, back.state, decision_title(turn, back.state.decision))
    turn.slack.update_view(back.view_id, back.view_hash, view)


def decision_click(body: dict[str, Any], button: str) -> tuple[BlockActions, int] | None:
    """A click on one of a decision message's buttons and the decision it names; None (logged)
    when the payload or the button's value cannot be read."""
    try:
        click = BlockActions.model_validate(body)
        return click, DecisionRef.decode(click.action.value).decision
    except (ValidationError, StateError) as error:
        log.warning("Unreadable %s click: %s", button, problems(error))
        return None
