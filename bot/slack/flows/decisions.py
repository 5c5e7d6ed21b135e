"""Team decisions: starting one (`/framework decide`, the message shortcut), "Add my answers"
(the questionnaire modal, step by step), the decision message updated in place after every
answer, and Close and record (an ADR canvas in the channel, or the Markdown in the thread
where canvases are not available). The listeners are in bot/slack/listeners/decisions.py.

The decision and everyone's answers are in the store, written at once, so any instance serves
any click. After each answer the message is re-rendered from the store; if the decision
changed again meanwhile (someone else answered on another instance), it is rendered again, so
the last update Slack receives shows every answer.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from slack_sdk.models.views import View

from bot.knowledge import KnowledgeBase
from bot.render.adr import RecordDetails, adr_markdown, canvas_mention
from bot.render.block_kit import Message
from bot.render.decision import (
    DecisionView,
    answers_view,
    closed_decision_message,
    decision_message,
    record_messages,
)
from bot.slack.context import Turn
from bot.slack.flows.answering import before_reply, named
from bot.slack.flows.curation import is_curator
from bot.slack.platform.messenger import Outcome, problem_text
from bot.slack.platform.reply_check import ReplyPlace
from bot.slack.wire.decisions import DecisionAnswering, DecisionRef
from bot.slack.wire.ids import COMMAND, CallbackId
from bot.slack.wire.metadata import DECISION_EVENT
from bot.store import StoreUnavailable
from bot.store.decisions import (
    Decision,
    DecisionClosed,
    DecisionNotFound,
    DecisionStore,
    RecordPlace,
)
from bot.team import TeamRecommendation, decide_fitting

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200
REFRESH_ROUNDS = 5
"""At most this many renders of one update: each round means someone answered meanwhile."""
CANVAS_EXISTS = "channel_canvas_already_exists"

NOT_IN_A_CHANNEL = (
    "A team decision needs a channel the team is in: run "
    f"`{COMMAND} decide TITLE` there (or in a thread), not in a DM."
)
NO_TEAM_RULE = (
    "Team decisions are not set up: the knowledge has no `questionnaire.team` rule saying how "
    "answers combine. Ask a curator to add it (see docs/), then `/framework reload`."
)
UNAVAILABLE = (
    "I can't reach my database right now, so I can't keep a team decision. Nothing was "
    "started; please try again in a minute."
)
NOT_FOUND = "I can't find that decision any more (the app may have been reinstalled)."
SAVE_FAILED = (
    "I couldn't save your answers just now (my database is unavailable). Your answers are "
    "still here: press the button again in a minute."
)
EXPIRED = (
    "This form can't go on (it was opened by an older version of me). Press *Add my "
    "answers* on the decision again."
)


def store_of(turn: Turn) -> DecisionStore:
    return turn.app_context.decisions


def default_title(kb: KnowledgeBase) -> str:
    return f"Choosing between {' and '.join(f.name for f in kb.frameworks)}"


def clean_title(kb: KnowledgeBase, text: str) -> str:
    """The title on one line and at most MAX_TITLE_CHARS; the default when empty."""
    title = " ".join(text.split())[:MAX_TITLE_CHARS]
    return title or default_title(kb)


def team_result(kb: KnowledgeBase, decision: Decision) -> TeamRecommendation | None:
    """The team result of everyone's answers, None while nobody answered. Answers that no
    longer fit the questionnaire (the knowledge changed since) are left out and logged."""
    team, left_out = decide_fitting(kb, decision.ballots())
    for person in left_out:
        log.warning("Answers of user=%s to decision %s no longer fit", person, decision.id)
    return team


def _view(decision: Decision, kb: KnowledgeBase) -> DecisionView:
    return DecisionView(
        title=decision.title or f"Decision {decision.id}",
        started_by=decision.started_by,
        button_value=DecisionRef(decision=decision.id).encode_value(),
    )


def render(turn: Turn, decision: Decision) -> Message:
    """The decision's message, with metadata naming the decision (its id in the store)."""
    team = team_result(turn.kb, decision)
    view = _view(decision, turn.kb)
    if not decision.is_open and team is not None:
        message = closed_decision_message(
            turn.kb,
            view,
            team,
            decision_id=decision.id,
            closed_by=decision.closed_by or decision.started_by,
            record_where=decision.record_where,
            record_url=decision.record_url,
        )
    else:
        message = decision_message(turn.kb, view, team)
    return decision_stamped(turn, message, decision)


def decision_stamped(
    turn: Turn, message: Message, decision: Decision, part: str | None = None
) -> Message:
    """`message` (the decision's, or a `part` of its record) with metadata naming the
    decision, its status, how many answered and, once closed, the framework recorded."""
    return turn.stamped(
        message,
        DECISION_EVENT,
        decision_id=decision.id,
        status=decision.status,
        answered=len(decision.ballots()),
        framework_id=decision.framework_id,
        verdict=decision.verdict,
        part=part,
    )


# -- starting ------------------------------------------------------------------------------------


def start_decision(
    turn: Turn,
    *,
    user: str,
    channel: str | None,
    thread_ts: str | None,
    title: str,
    response_url: str | None,
    after_ts: str | None = None,
) -> None:
    """Post a new decision message where it was asked for, or tell `user` why not. From the
    message shortcut (an inbox delivery; `after_ts` the message's ts), once: a decision
    message posted before a crash is found in the thread and not started again."""

    def tell(text: str) -> None:
        turn.slack.tell(user, text, response_url=response_url, channel=channel, thread_ts=thread_ts)

    if not channel or channel.startswith("D"):
        tell(NOT_IN_A_CHANNEL)
        return
    if turn.kb.questionnaire.team is None:
        tell(NO_TEAM_RULE)
        return
    store = store_of(turn)
    skipped = before_reply(turn, ReplyPlace(channel, thread_ts, after_ts or thread_ts or "0"))
    if skipped is not None:
        remember_found(store, skipped)
        return
    try:
        decision = store.start(
            team_id=turn.asker.team_id,
            channel_id=channel,
            thread_ts=thread_ts,
            title=clean_title(turn.kb, title),
            started_by=user,
            knowledge_version=turn.snapshot.stamp,
        )
    except StoreUnavailable as error:
        log.warning("Could not start a decision: %s", error)
        tell(UNAVAILABLE)
        return
    outcome = turn.slack.post_message(
        channel, named(turn, render(turn, decision)), thread_ts=thread_ts
    )
    ts = outcome.data.get("ts") if outcome.ok else None
    if not isinstance(ts, str):
        tell(problem_text(outcome.error, channel))
        return
    try:
        store.set_message(decision.id, ts)
    except StoreUnavailable as error:
        log.error(
            "Decision %s was posted but its message could not be stored: %s", decision.id, error
        )
        tell(
            "I posted the decision but couldn't save where, so its buttons may not work. "
            "Please start it again in a minute."
        )


def remember_found(store: DecisionStore, found: Outcome) -> None:
    """A decision message posted before its process stopped, found in Slack: store where it
    is (the process may have died before it did)."""
    message = found.data.get("message")
    ts = found.data.get("ts")
    metadata = message.get("metadata") if isinstance(message, dict) else None
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    decision_id = payload.get("decision_id") if isinstance(payload, dict) else None
    if not isinstance(decision_id, int) or not isinstance(ts, str):
        return
    try:
        store.set_message(decision_id, ts)
    except StoreUnavailable as error:
        log.error("Decision %s was posted but where could not be stored: %s", decision_id, error)


# -- the decision message ------------------------------------------------------------------------


def refresh_message(turn: Turn, decision_id: int, *, for_user: str | None = None) -> None:
    """Show the decision as it is in the store, in place; again if it changed meanwhile."""
    store = store_of(turn)
    for _ in range(REFRESH_ROUNDS):
        try:
            decision = store.get(decision_id, turn.asker.team_id)
        except (StoreUnavailable, DecisionNotFound) as error:
            log.warning("Could not read decision %s to update it: %r", decision_id, error)
            return
        if decision.message_ts is None:
            log.warning("Decision %s has no message to update", decision_id)
            return
        outcome = turn.slack.update_message(
            decision.channel_id, decision.message_ts, render(turn, decision)
        )
        if not outcome.ok:
            if for_user is not None:
                turn.slack.tell(
                    for_user,
                    "Your answers are saved, but I couldn't update the decision message: "
                    + problem_text(outcome.error, decision.channel_id),
                    channel=decision.channel_id,
                    thread_ts=decision.thread_ts,
                )
            return
        try:
            if store.version(decision_id) == decision.version:
                return
        except StoreUnavailable:
            return
    log.warning("Decision %s kept changing while it was being updated", decision_id)


# -- Add my answers ------------------------------------------------------------------------------


def step_view(turn: Turn, state: DecisionAnswering, title: str) -> View:
    return answers_view(
        turn.kb,
        state.step,
        state.answers,
        state.encode_metadata(),
        CallbackId.DECISION_ANSWERS,
        title,
    )


def open_answers(
    turn: Turn,
    *,
    trigger_id: str,
    decision_id: int,
    user: str,
    channel: str | None,
    response_url: str | None,
) -> None:
    """Open the questionnaire for `user`'s answers to the decision, with their earlier
    answers chosen (answering again changes them)."""

    def tell(text: str) -> None:
        turn.slack.tell(user, text, response_url=response_url, channel=channel)

    try:
        decision = store_of(turn).get(decision_id, turn.asker.team_id)
    except DecisionNotFound:
        tell(NOT_FOUND)
        return
    except StoreUnavailable:
        tell(UNAVAILABLE.replace("Nothing was started; please", "Please"))
        return
    if not decision.is_open:
        tell("This decision is closed: answers can no longer be added or changed.")
        return
    known = {question.id for question in turn.kb.questionnaire.questions}
    earlier = {q: o for q, o in decision.ballots().get(user, {}).items() if q in known}
    state = DecisionAnswering(decision=decision.id, answers=earlier)
    view = step_view(turn, state, decision.title or f"Decision {decision.id}")
    outcome = turn.slack.open_view(trigger_id, view, f"decision answers for user={user}")
    if not outcome.ok:
        tell(problem_text(outcome.error, channel))


def decision_title(turn: Turn, decision_id: int) -> str:
    """The title for the modal's steps (a plain fallback when it cannot be read)."""
    try:
        decision = store_of(turn).get(decision_id, turn.asker.team_id)
    except (DecisionNotFound, StoreUnavailable):
        return f"Decision {decision_id}"
    return decision.title or f"Decision {decision.id}"


# -- Close and record ----------------------------------------------------------------------------


def _permalink(turn: Turn, decision: Decision) -> str | None:
    ts = decision.thread_ts or decision.message_ts
    if ts is None:
        return None
    client = turn.slack.client
    outcome = turn.slack.call(
        client.chat_getPermalink,
        f"decision {decision.id}",
        channel=decision.channel_id,
        message_ts=ts,
    )
    link = outcome.data.get("permalink") if outcome.ok else None
    return link if isinstance(link, str) else None


def _canvas_url(turn: Turn, canvas_id: str) -> str | None:
    outcome = turn.slack.call(turn.slack.client.auth_test, "canvas link")
    base = outcome.data.get("url") if outcome.ok else None
    team = outcome.data.get("team_id") if outcome.ok else None
    if not isinstance(base, str) or not isinstance(team, str):
        return None
    return f"{base.rstrip('/')}/docs/{team}/{canvas_id}"


def publish_record(
    turn: Turn, decision: Decision, markdown: str, title: str
) -> tuple[RecordPlace, str | None]:
    """Put the record in the channel: its channel canvas, or a canvas tabbed in it when the
    channel has one already, or the Markdown in the decision's thread where canvases are not
    available. Returns where it went and a link to it, when there is one."""
    client = turn.slack.client
    document = {"type": "markdown", "markdown": markdown}
    where = f"decision {decision.id} channel={decision.channel_id}"
    created = turn.slack.call(
        client.conversations_canvases_create,
        where,
        channel_id=decision.channel_id,
        document_content=document,
    )
    if not created.ok and created.error == CANVAS_EXISTS:
        created = turn.slack.call(
            client.canvases_create,
            where,
            title=title,
            document_content=document,
            channel_id=decision.channel_id,
        )
    canvas_id = created.data.get("canvas_id") if created.ok else None
    if isinstance(canvas_id, str):
        return "canvas", _canvas_url(turn, canvas_id)
    log.warning(
        "No canvas for decision %s (%s): posting the record in its thread",
        decision.id,
        created.error,
    )
    thread = decision.thread_ts or decision.message_ts
    note = f"The decision record of {title} (canvases aren't available here):"
    posted = [
        turn.slack.post_message(
            decision.channel_id,
            decision_stamped(turn, message, decision, part="record"),
            thread_ts=thread,
        )
        for message in record_messages(markdown, note)
    ]
    if all(outcome.ok for outcome in posted):
        return "thread", None
    return "nowhere", None


def close_decision(
    turn: Turn,
    *,
    decision_id: int,
    user: str,
    channel: str | None,
    response_url: str | None,
) -> None:
    """Close the decision (its starter or a curator only), write the ADR and link it."""

    def tell(text: str) -> None:
        turn.slack.tell(user, text, response_url=response_url, channel=channel)

    store = store_of(turn)
    try:
        decision = store.get(decision_id, turn.asker.team_id)
    except DecisionNotFound:
        tell(NOT_FOUND)
        return
    except StoreUnavailable:
        tell("I can't reach my database right now; please try closing it again in a minute.")
        return
    if not decision.is_open:
        tell("This decision is already closed.")
        return
    if user != decision.started_by and not is_curator(turn, user):
        tell(
            f"Only <@{decision.started_by}>, who started this decision, or a curator can close "
            "it. You can still add or change your answers; ask them to close it when the team "
            "is ready."
        )
        return
    team = team_result(turn.kb, decision)
    if team is None:
        tell("Nobody has answered yet, so there is nothing to record. Add your answers first.")
        return
    try:
        closed = store.close(
            team_id=decision.team_id,
            decision_id=decision.id,
            closed_by=user,
            framework_id=team.winner.id,
            verdict=team.standing.verdict,
        )
    except DecisionClosed:
        tell("This decision was just closed by someone else.")
        return
    except StoreUnavailable:
        tell("I can't reach my database right now; please try closing it again in a minute.")
        return
    title = decision.title or f"Decision {decision.id}"
    details = RecordDetails(
        decision_id=decision.id,
        title=title,
        status="accepted",
        date=(closed.closed_at or datetime.now(UTC)).date(),
        permalink=_permalink(turn, closed),
        knowledge_version=closed.knowledge_version,
    )
    markdown = adr_markdown(turn.kb, details, team, canvas_mention)
    record_where, record_url = publish_record(turn, closed, markdown, title)
    try:
        store.set_record(decision.id, record_where, record_url)
    except StoreUnavailable as error:
        log.warning("Could not store where the record of decision %s is: %s", decision.id, error)
    if closed.message_ts is None:
        return
    recorded = replace(closed, record_where=record_where, record_url=record_url)
    outcome = turn.slack.update_message(
        closed.channel_id, closed.message_ts, render(turn, recorded)
    )
    if not outcome.ok:
        tell(
            "The decision is closed and recorded, but I couldn't update its message: "
            + problem_text(outcome.error, closed.channel_id)
        )
