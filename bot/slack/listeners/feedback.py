"""The 👍 / 👎 under every answer and recommendation, and the "What was wrong?" modal.

A click stores the vote (one per person per message: voting again replaces it); a 👎 then opens
the modal asking why (the vote is already stored, so closing it loses nothing). The message is
rebuilt from the button's value (the answer from the knowledge, the recommendation from the
answers) with a line thanking the voter, so it keeps its content and the vote can be changed.
A normal message is updated with chat.update, an ephemeral one through the click's response
URL. Messages from before the native buttons carry "Helpful" / "Not helpful" buttons, whose
action_id says the vote; they are answered the same way.

The reason is stored with the vote it was given for (the modal's private_metadata says which),
so a vote changed meanwhile is never given a stale reason.

What was rated is read from the message's metadata where it has ours (bot/slack/wire/metadata.py:
the entry or the answers, and the id of the stored question or recommendation), else from the
button's value (ephemeral replies, messages posted before the metadata). The vote is stored with
that question's or recommendation's id when there is one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.advisor import AnswerError
from bot.render.answers import answer_message
from bot.render.block_kit import Message
from bot.render.feedback import FeedbackButtons, reason_view
from bot.render.recommendation import recommendation_message
from bot.slack.context import Turn, app_context_of
from bot.slack.flows.questionnaire import result_buttons
from bot.slack.platform.messenger import NOWHERE, problem_text
from bot.slack.wire.ids import NOTE_BLOCK_ID, REASON_BLOCK_ID, ActionId, CallbackId
from bot.slack.wire.metadata import MessageFacts
from bot.slack.wire.payloads import BlockActions, ValidationError, ViewSubmission, problems
from bot.slack.wire.state import FeedbackValue, ReasonState, StateError
from bot.store.reasons import REASONS, Reason

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
    buttons = (
        result_buttons(value.to, recommendation.answers, value.recommendation_id)
        if value.to is not None
        else None
    )
    return recommendation_message(
        turn.kb, recommendation, shared_by=value.shared_by, buttons=buttons, feedback=feedback
    )


def vote(turn: Turn, body: dict[str, Any], *, helpful: bool | None = None) -> None:
    """A click on 👍 / 👎 (`helpful` None: the button's value says which) or on one of the
    older Helpful / Not helpful buttons (`helpful` given by which it was)."""
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
    facts = MessageFacts.read(click.message.metadata if click.message else None)
    if facts is not None:
        # What the message says it is (the entry or answers, the stored question's id), over
        # the button's copy; a message without our metadata is read from its button alone.
        value = facts.rated(value)
    vote = value.helpful if helpful is None else helpful
    if vote is None:
        log.warning("Feedback value from user=%s says no vote", user)
        turn.slack.tell(user, UNREADABLE, **tell)
        return
    if channel is None or ts is None:
        log.warning("Feedback click from user=%s names no message", user)
        turn.slack.tell(user, NO_MESSAGE, **tell)
        return
    message_key = f"{channel}:{ts}"
    question = value.question if value.kind == "entry" else answers_summary(value.answers)
    voted_at = datetime.now(UTC)
    turn.store.record_vote(
        team_id=turn.asker.team_id,
        user_id=user,
        message_key=message_key,
        target_kind=value.kind,
        target_id=value.target,
        question=question,
        helpful=vote,
        voted_at=voted_at,
        question_uid=value.question_id,
        recommendation_uid=value.recommendation_id,
    )
    if not vote and click.trigger_id:
        # First, while the trigger is fresh (3 seconds): the message can be rebuilt after.
        reason = ReasonState(
            message_key=message_key,
            kind=value.kind,
            target=value.target,
            question=question,
            voted_at=voted_at,
            question_id=value.question_id,
            recommendation_id=value.recommendation_id,
        )
        view = reason_view(reason.encode_metadata(), CallbackId.FEEDBACK_REASON)
        turn.slack.open_view(click.trigger_id, view, f"reason modal for user={user}")
    rated = value.voting(None)
    helpful_value, not_helpful_value = rated.vote_values()
    feedback = FeedbackButtons(helpful_value, not_helpful_value, helpful=vote, voter=user)
    message = rebuild(turn, rated, feedback)
    if message is not None:
        verdict = facts.verdict if facts is not None else None
        message = turn.labelled(message, rated, verdict)
    if message is None:
        log.info("Feedback on %s %r, which the knowledge no longer has", value.kind, value.target)
        turn.slack.tell(user, thanks(vote), **tell)
        return
    outcome = turn.slack.replace_clicked(click, message)
    if outcome.error == NOWHERE:
        log.warning("Feedback on an ephemeral message from user=%s has no response URL", user)
        turn.slack.tell(user, thanks(vote), **tell)
        return
    if not outcome.ok:
        turn.slack.tell(
            user,
            f"{thanks(vote)} I couldn't update the message, though: "
            f"{problem_text(outcome.error, channel)}",
            **tell,
        )


def chosen_reason(values: dict[str, dict[str, dict[str, Any]]]) -> Reason | None:
    selected = values.get(REASON_BLOCK_ID, {}).get(ActionId.FEEDBACK_REASON, {})
    option = selected.get("selected_option") or {}
    reason = option.get("value") if isinstance(option, dict) else None
    return next((known for known in REASONS if known == reason), None)


def typed_note(values: dict[str, dict[str, dict[str, Any]]]) -> str | None:
    note = values.get(NOTE_BLOCK_ID, {}).get(ActionId.FEEDBACK_NOTE, {}).get("value")
    return note if isinstance(note, str) and note.strip() else None


def record_reason(turn: Turn, body: dict[str, Any]) -> str | None:
    """Store the reason a submitted "What was wrong?" modal gives; the error to show on the
    modal when no reason was chosen, else None (the modal then closes)."""
    try:
        submission = ViewSubmission.model_validate(body)
        state = ReasonState.decode(submission.view.private_metadata)
    except (ValidationError, StateError) as error:
        log.warning("Unreadable reason submission: %s", problems(error))
        return None
    reason = chosen_reason(submission.view.state.values)
    if reason is None:
        return "Choose what was wrong, or close this to keep just your 👎."
    turn.store.record_vote_reason(
        team_id=turn.asker.team_id,
        user_id=submission.user.id,
        message_key=state.message_key,
        target_kind=state.kind,
        target_id=state.target,
        question=state.question,
        voted_at=state.voted_at,
        reason=reason,
        note=typed_note(submission.view.state.values),
        question_uid=state.question_id,
        recommendation_uid=state.recommendation_id,
    )
    return None


def register(app: App) -> None:
    app.action(ActionId.FEEDBACK)(take_vote)
    app.view(CallbackId.FEEDBACK_REASON)(take_reason)
    app.action(ActionId.FEEDBACK_HELPFUL)(take_helpful)
    app.action(ActionId.FEEDBACK_NOT_HELPFUL)(take_not_helpful)


def take_vote(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    vote(app_context_of(context).turn(context), body)


def take_reason(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    problem = record_reason(app_context_of(context).turn(context), body)
    if problem is not None:
        ack(response_action="errors", errors={REASON_BLOCK_ID: problem})
        return
    ack()


def take_helpful(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    vote(app_context_of(context).turn(context), body, helpful=True)


def take_not_helpful(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    vote(app_context_of(context).turn(context), body, helpful=False)
