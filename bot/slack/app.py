"""The Bolt app, built by a factory from typed settings, with every surface registered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.middleware import Middleware
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler, all_builtin_retry_handlers
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Matcher
from bot.settings import Settings, SettingsError
from bot.slack import (
    commands,
    errors,
    home,
    mentions,
    messages,
    questionnaire,
    results,
    shortcuts,
    topics,
)
from bot.slack.dedupe import EventDeduplicator, InMemoryDeduplicator
from bot.slack.delivery import Slack
from bot.slack.engine import Engine

log = logging.getLogger(__name__)

API_TIMEOUT_SECONDS = 10
LISTENER_THREADS = 6
"""Listeners run after the ack on this pool; they spend their time waiting on Slack's API.
Bolt's default size on a 2-core machine: more threads only contend for the GIL with the
threads acknowledging requests."""

SURFACES = (commands, mentions, messages, home, questionnaire, results, topics, shortcuts, errors)
"""Bolt tries listeners in registration order: the surfaces whose acks are timed first (slash
commands, then events). Each surface listens to its own request types, so no two listeners
can match the same request and the order changes nothing else."""


class _SameTokenWarningFilter(logging.Filter):
    """Bolt warns "`token` will be unused" whenever SLACK_BOT_TOKEN is in the environment and a
    client is given; our client carries that very token, so the warning only misleads."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_APP_LOGGER = logging.getLogger("slack_bolt.App")
if not any(isinstance(f, _SameTokenWarningFilter) for f in _BOLT_APP_LOGGER.filters):
    _BOLT_APP_LOGGER.addFilter(_SameTokenWarningFilter())


def retry_handlers() -> list[RetryHandler]:
    """Connection errors, 429 (sleeping for Retry-After) and 500/503, for every client."""
    return [*all_builtin_retry_handlers(), ServerErrorRetryHandler(max_retry_count=2)]


def create_app(
    settings: Settings,
    knowledge: KnowledgeBase | None = None,
    *,
    dedupe: EventDeduplicator | None = None,
) -> App:
    """The Bolt app for `settings`; the knowledge is loaded from KNOWLEDGE_DIR when not given
    (raises KnowledgeError). Raises SettingsError without SLACK_BOT_TOKEN."""
    token = settings.secret("bot_token")
    if token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set; the Slack app needs a bot token")
    kb = knowledge if knowledge is not None else load_knowledge(settings.knowledge_dir)
    handlers = retry_handlers()
    client = WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=handlers,
    )
    app = App(
        name="framework-advisor",
        client=client,
        signing_secret=settings.secret("signing_secret") or "",
        process_before_response=False,
        # auth.test runs on the first request instead of at import, so a worker can boot
        # while Slack is unreachable.
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="listener"),
    )
    engine = Engine(
        kb=kb,
        matcher=Matcher(kb),
        dedupe=dedupe if dedupe is not None else InMemoryDeduplicator(),
        slack=Slack(client, handlers),
    )
    register_listeners(app, engine)
    return app


def register_listeners(app: App, engine: Engine) -> None:
    """Every surface, and the event deduplication in front of them."""
    app.use(SkipRedeliveredEvents(engine.dedupe))
    for surface in SURFACES:
        surface.register(app, engine)
    call_matchers_with_body(app)


class BodyListenerMatcher(ListenerMatcher):
    """One of Bolt's own matchers (a function of the request body), called directly.

    Bolt builds the full keyword-argument set (client, context, say, respond, ...) for every
    matcher of every listener it tries, which made routing an event past the other listeners
    the largest cost of its acknowledgement. The function and the body are the same, so the
    answer is too."""

    def __init__(self, func: Callable[[dict[str, Any]], bool]) -> None:
        self.func = func

    def matches(self, req: BoltRequest, resp: BoltResponse) -> bool:
        return self.func(req.body)


def call_matchers_with_body(app: App) -> None:
    """Swap every registered listener's built-in body-only matcher for a BodyListenerMatcher.
    Bolt keeps its listeners in a private list; without it (another Bolt version) nothing
    changes."""
    for listener in getattr(app, "_listeners", ()):
        listener.matchers = [
            BodyListenerMatcher(matcher.func)
            if type(matcher) is BuiltinListenerMatcher and matcher.arg_names == ["body"]
            else matcher
            for matcher in listener.matchers
        ]


class SkipRedeliveredEvents(Middleware):
    """An event_id seen before (Slack's retry of a slow or failed delivery) is acknowledged and
    not answered again. It runs after signature verification, so forged requests cannot use up
    event ids. A Middleware subclass rather than a function: Bolt then calls it directly
    instead of building its full keyword-argument set for every request."""

    def __init__(self, dedupe: EventDeduplicator) -> None:
        self.dedupe = dedupe

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not self.dedupe.first_delivery(event_id):
            retry = req.headers.get("x-slack-retry-num", ["?"])[0]
            reason = req.headers.get("x-slack-retry-reason", ["?"])[0]
            log.info("Event %s already answered; ignoring retry %s (%s)", event_id, retry, reason)
            return BoltResponse(status=200, body="")
        return next()
