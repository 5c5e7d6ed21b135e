"""What every listener needs from the core, built once per app: the live knowledge, the event
deduplicator, the store, and how to reach Slack for the request at hand.

Listeners are module-level functions: the AppContext reaches them in Bolt's per-request
`context`, put there by the `ProvideAppContext` middleware, and `app_context_of(context)` reads
it back."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk.http_retry import RetryHandler
from slack_sdk.oauth.installation_store import InstallationStore

from bot.advisor import Recommendation, advise, lean
from bot.knowledge import KnowledgeBase
from bot.live_knowledge import LiveKnowledge, Snapshot
from bot.matching import MatchResult
from bot.render.answers import intent_message, match_message
from bot.render.block_kit import Message
from bot.render.feedback import FeedbackButtons
from bot.render.recommendation import project_message
from bot.slack.platform.messenger import Slack
from bot.slack.platform.redelivery import DELIVERY_KEY, Delivery, EventDeduplicator
from bot.slack.platform.reply_check import Sender
from bot.slack.platform.transport import KeepAliveWebClient
from bot.slack.wire.ids import COMMAND
from bot.slack.wire.metadata import (
    INTENT_EVENT,
    LEAN_EVENT,
    Fact,
    MessageFacts,
    message_metadata,
    not_sure_metadata,
)
from bot.slack.wire.state import FeedbackValue, Place
from bot.store import Store, new_uid
from bot.store.decisions import DecisionStore

MAX_QUESTION_CHARS = 1000
"""Only this much of a question is matched: no real question is longer, and a 40,000-character
paste must not tie up a worker."""

log = logging.getLogger(__name__)

ANSWER_SLOTS = 2
"""Questions typed at the bot (mentions, DMs, `/framework ask`) answered at once per process.
Answering is CPU work (matching, Block Kit) and then one Slack call; on a 2-core worker more of
it at once only contends for the GIL with the threads acknowledging requests (a burst of
questions slowed every ack). It runs on AnswerSlots' own threads, never on Bolt's listener
threads, from which slash commands must ack."""

APP_CONTEXT_KEY = "app_context"
"""Where `ProvideAppContext` puts the AppContext in Bolt's per-request context."""

UNKNOWN_TEAM = "unknown"
"""The workspace of a request that names none (never the case for real Slack requests)."""


class AnswerSlots:
    """At most `slots` questions are answered at once in a process: a bounded pool of answering
    threads. The listener thread hands the question over and returns at once, free for acks;
    questions beyond the slots wait in the pool's queue, in order (and in the durable inbox,
    should the process die)."""

    def __init__(self, slots: int = ANSWER_SLOTS) -> None:
        self._slots = slots
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="answer")
        self._pending = 0
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        """Queue `work`; an exception it lets out is logged, never lost silently."""
        with self._lock:
            self._pending += 1
        try:
            self._pool.submit(work).add_done_callback(self._done)
        except BaseException:
            self._done(None)
            raise

    def _done(self, done: Future[None] | None) -> None:
        with self._lock:
            self._pending -= 1
        if done is not None:
            _log_failure(done)

    def room(self) -> int:
        """How many more questions would start within about one answer's time: the slots,
        and as many again waiting behind them, less those queued or being answered now."""
        with self._lock:
            return max(0, 2 * self._slots - self._pending)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking questions; with `wait`, return once every queued one is answered."""
        self._pool.shutdown(wait=wait)


def _log_failure(done: Future[None]) -> None:
    error = done.exception()
    if error is not None:
        log.error("Answering a question failed", exc_info=error)


MAX_VIEWERS = 10_000
"""People whose viewed channel (app_context_changed) is remembered at once; the oldest go."""


class Viewing:
    """The channel each person last said they are looking at while the agent Messages tab is
    open (`app_context_changed`), in this process's memory, keyed by workspace and user.

    `take` gives it once per change: the reply in the Messages tab that follows a move to a
    channel mentions that channel, the next ones do not (until they move again). With several
    instances the event and the question may reach different ones; the note is then left out,
    which loses nothing but the note."""

    def __init__(self, limit: int = MAX_VIEWERS) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._channels: OrderedDict[tuple[str, str], str | None] = OrderedDict()

    def note(self, team_id: str, user_id: str, channel_id: str | None) -> None:
        """`user_id` now looks at `channel_id` (None: at nothing the app can name)."""
        key = (team_id, user_id)
        with self._lock:
            self._channels.pop(key, None)
            self._channels[key] = channel_id
            while len(self._channels) > self._limit:
                self._channels.popitem(last=False)

    def take(self, team_id: str, user_id: str) -> str | None:
        """The channel `user_id` moved to since the last take, or None."""
        with self._lock:
            key = (team_id, user_id)
            channel = self._channels.get(key)
            if channel is not None:
                self._channels[key] = None
            return channel


@dataclass(frozen=True)
class Asker:
    """Who asked, and where: what a stored question or recommendation is filed under."""

    team_id: str
    user_id: str | None = None
    channel_id: str | None = None

    @classmethod
    def from_context(cls, context: BoltContext, channel_id: str | None = None) -> Asker:
        """The asker of the request Bolt is handling: its workspace (the enterprise for an
        org-wide install without one), user and channel."""
        team = context.team_id or context.enterprise_id or UNKNOWN_TEAM
        return cls(team, context.user_id, channel_id or context.channel_id)


@dataclass(frozen=True)
class AppContext:
    """Built once per app and shared by every request."""

    knowledge: LiveKnowledge
    dedupe: EventDeduplicator
    store: Store
    retry_handlers: list[RetryHandler] = field(default_factory=list)
    curator_ids: frozenset[str] = frozenset()
    review_after_days: int = 180
    """REVIEW_AFTER_DAYS: the curators' digest lists entries reviewed longer ago than this."""
    answers: AnswerSlots = field(default_factory=AnswerSlots)
    viewing: Viewing = field(default_factory=Viewing)
    response_url_timeout: float = 30.0
    installations: InstallationStore | None = None
    """The app's installation store (OAuth mode), from which an uninstall deletes."""

    def __deepcopy__(self, memo: dict[int, Any]) -> AppContext:
        """The one AppContext of the app, never a copy: Bolt deep-copies a request's context
        for lazy listeners, and their copy must share the app's store, knowledge and slots."""
        return self

    @cached_property
    def decisions(self) -> DecisionStore:
        """Team decisions, on the store's database (written at once, not buffered)."""
        return DecisionStore(self.store.engine)

    def answer_later(
        self,
        work: Callable[[], None],
        on_error: Callable[[Exception], None],
        context: BoltContext | None = None,
    ) -> None:
        """Run `work` (answering a question whose event Bolt has acknowledged) now if an
        answer slot is free, else after the questions before it; an exception it raises goes
        to `on_error`, as Bolt's error handler would. A delivery claimed in the durable inbox
        (the request's `context` says so) is marked done with the records its answer made."""
        finishing = self.finishing(context)

        def run() -> None:
            with finishing:
                try:
                    work()
                except Exception as error:
                    on_error(error)

        self.answers.submit(run)

    def finishing(self, context: BoltContext | None) -> AbstractContextManager[None]:
        """The block in which a request claimed in the durable inbox is answered (marked done
        at its end, with the records made in it); nothing for other requests."""
        delivery = context.get(DELIVERY_KEY) if context is not None else None
        if isinstance(delivery, Delivery) and delivery.inbox_id is not None:
            return self.store.finishing(delivery.inbox_id)
        return nullcontext()

    def claim_event(self, body: dict[str, Any], context: BoltContext) -> bool:
        """True when this event is this instance's to answer: the first claim of its event_id
        on the shared database (False for a retry another instance, or this one before a
        restart, already answered). Called after the ack, so no ack waits for the database;
        while the database is down every event is answered (memory still stops retries).

        Only a retry (or a delivery whose listener starts late) waits for the database: a
        prompt first delivery's claim is written in the background (see
        bot.slack.platform.redelivery)."""
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            return True
        team = body.get("team_id")
        team_id = team if isinstance(team, str) else None
        delivery = context.get(DELIVERY_KEY)
        if isinstance(delivery, Delivery) and delivery.inbox_id == event_id:
            return True  # its inbox row, written before the ack, is the claim
        if isinstance(delivery, Delivery) and not delivery.needs_checked_claim():
            self.store.note_event(event_id, team_id)
            return True
        return self.store.claim_event(event_id, team_id)

    def turn(self, context: BoltContext, channel_id: str | None = None) -> Turn:
        """What one request works with: the knowledge as it is now (a reload during the
        request does not change it), Slack with the token of the request's workspace (Bolt's
        per-request client: the one bot token, or the stored installation; its calls reuse
        this thread's open connection to Slack), who asked, and how the request arrived."""
        client = context.client
        if client is None:
            raise RuntimeError("Bolt gave this request no Web API client")
        snapshot = self.knowledge.snapshot
        delivery = context.get(DELIVERY_KEY)
        return Turn(
            app_context=self,
            snapshot=snapshot,
            slack=Slack(
                KeepAliveWebClient.like(client),
                self.retry_handlers,
                self.response_url_timeout,
                knowledge_version=snapshot.stamp,
            ),
            asker=Asker.from_context(context, channel_id),
            delivery=delivery if isinstance(delivery, Delivery) else None,
            sender=Sender(context.bot_user_id, context.bot_id),
        )


class ProvideAppContext(Middleware):
    """Puts the app's AppContext in every request's context, for the listeners (module-level
    functions) to read with `app_context_of`. It only sets a key: no I/O, so no ack waits on it.
    A Middleware subclass rather than a function: Bolt then calls it directly instead of
    building its full keyword-argument set for every request."""

    def __init__(self, app_context: AppContext) -> None:
        self.app_context = app_context

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        req.context[APP_CONTEXT_KEY] = self.app_context
        return next()


def app_context_of(context: BoltContext) -> AppContext:
    """The AppContext `ProvideAppContext` put in this request's context."""
    found = find_app_context(context)
    if found is None:
        raise RuntimeError("No AppContext in this request's context: is ProvideAppContext used?")
    return found


def find_app_context(context: BoltContext) -> AppContext | None:
    """The request's AppContext, or None for a request that failed in a middleware before
    `ProvideAppContext` (the error listener's case)."""
    found = context.get(APP_CONTEXT_KEY)
    return found if isinstance(found, AppContext) else None


@dataclass(frozen=True)
class Turn:
    """One request's view of the app context."""

    app_context: AppContext
    snapshot: Snapshot
    slack: Slack
    asker: Asker
    delivery: Delivery | None = None
    """How the request arrived (an inbox delivery has the id its reply and question carry)."""
    sender: Sender = field(default_factory=lambda: Sender(None, None))
    """The bot, as its messages name it."""

    @property
    def kb(self) -> KnowledgeBase:
        return self.snapshot.kb

    @property
    def store(self) -> Store:
        return self.app_context.store

    def reply(self, text: str, place: Place, channel_id: str | None = None) -> Message:
        """The reply to a message typed at the bot: a friendly word for small talk, a lean with
        a pre-filled questionnaire for a project description, else the answer (or an honest
        "not sure" with the closest topics). `place` is where a questionnaire started from the
        reply delivers its result."""
        understanding = self.snapshot.matcher.understand(text[:MAX_QUESTION_CHARS])
        if understanding.kind == "intent" and understanding.intent is not None:
            intent = understanding.intent
            message = intent_message(intent, COMMAND, place.encode_value())
            return self.stamped(message, INTENT_EVENT, intent=intent.id)
        if understanding.kind == "project" and understanding.reading is not None:
            leaning = lean(self.kb, understanding.reading.answers)
            finish = place.with_answers(leaning.answers).encode_value()
            message = project_message(self.kb, understanding.reading, leaning, finish)
            leader = leaning.leader.id if leaning.leader is not None else None
            return self.stamped(
                message, LEAN_EVENT, from_text=True, answers=leaning.answers, leader=leader
            )
        return self._answer(understanding.match, channel_id)

    def _answer(self, result: MatchResult, channel_id: str | None) -> Message:
        """The answer or "not sure"; the question and what it got are stored for curators."""
        question = result.question
        best = result.best
        asker = self.asker
        # Made before the record is written, so the metadata names it; an inbox delivery's was
        # made at its claim (a reply found in Slack after a crash names the same one).
        uid = self.delivery.reply_uid if self.delivery and self.delivery.reply_uid else new_uid()
        self.store.record_question(
            team_id=asker.team_id,
            channel_id=channel_id or asker.channel_id,
            user_id=asker.user_id,
            text=question,
            entry_id=best.entry.id if best is not None else None,
            score=best.score if best is not None else None,
            closest=[(c.entry.id, c.score) for c in result.alternatives] if best is None else (),
            uid=uid,
        )
        feedback = value = None
        if best is not None:
            value = FeedbackValue.for_entry(best.entry.id, question, uid)
            feedback = FeedbackButtons(*value.vote_values())

        def topic_value(entry_id: str) -> str:
            # A topic picked from the suggestions answers this question: its vote keeps it.
            return FeedbackValue.for_entry(entry_id, question, uid).encode_value()

        message = match_message(
            self.kb,
            result,
            question,
            feedback=feedback,
            topic_value=topic_value,
            bodies=self.snapshot.answer_bodies,
        )
        if value is not None:
            return self.labelled(message, value)
        closest = [c.entry.id for c in result.alternatives]
        return message.with_metadata(not_sure_metadata(self.snapshot.stamp, question, uid, closest))

    def labelled(
        self, message: Message, value: FeedbackValue, verdict: str | None = None
    ) -> Message:
        """`message`, an answer or recommendation rated by `value`, with metadata saying what
        it is, which knowledge version it came from and (for an answer) the stored question
        it answers."""
        facts = MessageFacts.of(value, self.snapshot.stamp, verdict)
        return message.with_metadata(facts.to_metadata())

    def stamped(self, message: Message, event_type: str, **facts: Fact) -> Message:
        """`message`, one that is not rated (small talk, a lean, a decision, a command's
        reply), with metadata saying what it is (`event_type`, one of
        bot.slack.wire.metadata.POSTED_EVENT_TYPES, and `facts`) and the knowledge version."""
        return message.with_metadata(message_metadata(event_type, self.snapshot.stamp, **facts))

    def recommend(self, answers: Mapping[str, Sequence[str]]) -> Recommendation:
        """The recommendation for complete answers; raises AnswerError otherwise."""
        return advise(self.kb, answers)

    def record_recommendation(self, recommendation: Recommendation) -> str:
        """Store `recommendation`; returns its id (`recommendations.uid`), made before the
        queued write so the result's metadata can name it."""
        uid = new_uid()
        self.store.record_recommendation(
            team_id=self.asker.team_id,
            user_id=self.asker.user_id,
            framework_id=recommendation.winner.id,
            verdict=recommendation.verdict,
            uid=uid,
        )
        return uid
