"""The Bolt app, built by a factory from typed settings, with every surface registered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest
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
LISTENER_THREADS = 16
"""Listeners run after the ack on this pool; they spend their time waiting on Slack's API."""

SURFACES = (commands, questionnaire, results, topics, shortcuts, mentions, messages, home, errors)


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
    app.middleware(deduplicate_events(engine.dedupe))
    for surface in SURFACES:
        surface.register(app, engine)


def deduplicate_events(
    dedupe: EventDeduplicator,
) -> Callable[..., BoltResponse | None]:
    """Middleware: an event_id seen before (Slack's retry of a slow or failed delivery) is
    acknowledged and not answered again. It runs after signature verification, so forged
    requests cannot use up event ids."""

    def skip_redelivered_events(
        body: dict[str, Any], request: BoltRequest, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id and not dedupe.first_delivery(event_id):
            retry = request.headers.get("x-slack-retry-num", ["?"])[0]
            reason = request.headers.get("x-slack-retry-reason", ["?"])[0]
            log.info("Event %s already answered; ignoring retry %s (%s)", event_id, retry, reason)
            return BoltResponse(status=200, body="")
        return next()

    return skip_redelivered_events
