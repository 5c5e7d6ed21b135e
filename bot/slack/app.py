"""The Bolt app, built by a factory from typed settings, with every surface registered."""

from __future__ import annotations

import atexit
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_bolt import App
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry import (
    HttpRequest,
    HttpResponse,
    RetryHandler,
    RetryState,
    all_builtin_retry_handlers,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.knowledge import KnowledgeBase
from bot.live_knowledge import LiveKnowledge
from bot.settings import Settings, SettingsError
from bot.slack import listeners
from bot.slack.context import AppContext, ProvideAppContext
from bot.slack.platform.bolt_tuning import call_matchers_with_body, quiet_same_token_warning
from bot.slack.platform.digest import DigestSender
from bot.slack.platform.inbox_sweep import InboxSweeper
from bot.slack.platform.installations import RememberingInstallationStore
from bot.slack.platform.messenger import Slack
from bot.slack.platform.redelivery import (
    EventDeduplicator,
    HandOver,
    InMemoryDeduplicator,
    SkipRedeliveredEvents,
)
from bot.slack.wire.ids import MESSAGE_SHORTCUTS
from bot.store import Store, create_store

log = logging.getLogger(__name__)
quiet_same_token_warning()

OAUTH_STATE_SECONDS = 600
TOKEN_ROTATION_MINUTES = 120
"""A rotating token is refreshed when it has less than this left (Bolt's default)."""
DEFAULT_BOT_SCOPES = (
    "app_mentions:read",
    "canvases:write",
    "assistant:write",
    "chat:write",
    "channels:history",
    "commands",
    "groups:history",
    "im:history",
    "im:write",
    "mpim:history",
    "users:read",
)
"""The bot scopes of manifest.yml, requested by the OAuth install when SLACK_SCOPES is unset."""
LISTENER_THREADS = 6
"""Bolt runs listeners on this pool (slash commands acknowledge from it, so it must not fill
up: at most ANSWER_SLOTS of its threads answer questions at a time, see AnswerSlots)."""


class GatewayErrorRetryHandler(ServerErrorRetryHandler):
    """slack_sdk's server-error handler retries 500 and 503; a 502 or 504 (a gateway between
    here and Slack that failed or gave up) is as temporary."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in RETRIED_STATUSES


RETRIED_STATUSES = frozenset({500, 502, 503, 504})


def retry_handlers() -> list[RetryHandler]:
    """Connection errors, 429 (sleeping for Retry-After) and 500/502/503/504, for every
    client."""
    return [*all_builtin_retry_handlers(), GatewayErrorRetryHandler(max_retry_count=2)]


def create_app(
    settings: Settings,
    knowledge: KnowledgeBase | None = None,
    *,
    dedupe: EventDeduplicator | None = None,
    store: Store | None = None,
    hand_over: HandOver | None = None,
    answering_only: bool = False,
) -> App:
    """The Bolt app for `settings`, with every surface registered.

    With `hand_over`, the mentions and DMs it claims in the inbox are handed to an answer
    process (bot/slack/serving/answer_process.py) instead of answered here; `answering_only`
    is the answer process's own app: it answers what it is handed, and leaves the inbox sweep
    and the weekly digest to the web workers.

    The knowledge is loaded from KNOWLEDGE_DIR unless given (raises KnowledgeError); the store
    is opened on DATABASE_URL (SQLite in DATA_DIR by default) unless given, and the app closes
    it at exit. With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET the app serves any workspace that
    installs it through /slack/install, with tokens from the stored installations; otherwise
    it needs SLACK_BOT_TOKEN (raises SettingsError)."""
    token = settings.secret("bot_token")
    if token is None and not settings.oauth:
        raise SettingsError("SLACK_BOT_TOKEN is not set; the Slack app needs a bot token")
    live = LiveKnowledge(settings.knowledge_dir, knowledge)
    if store is None:
        store = open_store(settings)
        atexit.register(store.close)
    handlers = retry_handlers()
    client = WebClient(
        token=None if settings.oauth else token,
        base_url=settings.slack_api_url,
        timeout=settings.slack_api_timeout_seconds,  # type: ignore[arg-type]  # any float
        retry_handlers=handlers,
    )
    options: dict[str, Any] = {}
    installations = None
    if settings.oauth:
        oauth = oauth_settings(settings, store, client)
        options["oauth_settings"] = oauth
        options["installation_store_bot_only"] = True
        installations = oauth.installation_store
    app_context = AppContext(
        knowledge=live,
        dedupe=dedupe if dedupe is not None else InMemoryDeduplicator(),
        store=store,
        retry_handlers=handlers,
        curator_ids=settings.curators,
        review_after_days=settings.review_after_days,
        response_url_timeout=settings.response_url_timeout_seconds,
        installations=installations,
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
        # Every request verified gets the AppContext before anything else runs (authorization
        # included), so the listeners and the error listener always find it.
        before_authorize=ProvideAppContext(app_context),
        **options,
    )
    live.follow(store, settings.knowledge_sync_seconds)  # reloads made on other instances
    register_listeners(app, app_context, hand_over)
    _APP_CONTEXTS[app] = app_context
    if answering_only:
        return app
    # Mentions, DMs and shortcuts acknowledged by a process that died before answering them.
    sweeper = InboxSweeper(app, store, app_context.answers, settings.inbox_sweep_seconds)
    store.when_closed(sweeper.stop)
    sweeper.start()
    digest = start_digest(settings, app, app_context)
    if digest is not None:
        store.when_closed(digest.stop)
    store.report_health_every(settings.health_report_seconds)  # for /healthz on any instance
    return app


_APP_CONTEXTS: weakref.WeakKeyDictionary[App, AppContext] = weakref.WeakKeyDictionary()


def finish_work(app: App) -> None:
    """Wait until every request `app` acknowledged has been handled, its question answered
    included, then stop those threads: what a process does before it ends."""
    app.listener_runner.listener_executor.shutdown(wait=True)
    app_context = _APP_CONTEXTS.get(app)
    if app_context is not None:
        app_context.answers.shutdown(wait=True)


def start_digest(settings: Settings, app: App, app_context: AppContext) -> DigestSender | None:
    """The curators' weekly digest (DIGEST_CHANNEL or CURATOR_IDS), for a single-workspace
    install; None when it is off."""
    if not settings.digest_enabled:
        return None
    if settings.oauth:
        log.info(
            "The weekly digest is off: it needs SLACK_BOT_TOKEN (one workspace), not the "
            "OAuth install"
        )
        return None
    sender = DigestSender(
        Slack(app.client, app_context.retry_handlers),
        app_context.store,
        app_context.knowledge,
        settings,
    )
    sender.start()
    return sender


def open_store(settings: Settings) -> Store:
    """The store for DATABASE_URL, or an SQLite file in DATA_DIR."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return create_store(
        url,
        settings.data_dir,
        retention_days=settings.retention_days,
        inbox_lease=timedelta(seconds=settings.inbox_lease_seconds),
    )


def oauth_settings(settings: Settings, store: Store, client: WebClient) -> OAuthSettings:
    """Bolt's OAuth flow (/slack/install, /slack/oauth_redirect) with slack_sdk's SQLAlchemy
    installation and state stores on the app's database (tables made by its migrations)."""
    client_id = settings.slack_client_id or ""
    client_secret = settings.secret("client_secret") or ""
    oauth = OAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=settings.scopes or list(DEFAULT_BOT_SCOPES),
        installation_store=RememberingInstallationStore(
            SQLAlchemyInstallationStore(client_id=client_id, engine=store.engine),
            reachable=store.available,
        ),
        installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(
            expiration_seconds=OAUTH_STATE_SECONDS, engine=store.engine
        ),
        token_rotation_expiration_minutes=TOKEN_ROTATION_MINUTES,
    )
    # Built through its constructor rather than adjusting the one OAuthSettings made:
    # - `client`: its token rotator refreshes rotating tokens through the app's client (so
    #   through SLACK_API_URL), not through slack.com whatever SLACK_API_URL says;
    # - `cache_enabled`: authorization runs before the ack; without the cache every request
    #   would wait for an auth.test call. It is keyed by token: a rotated or reinstalled token
    #   is checked afresh, and an uninstalled workspace has no token left to find.
    oauth.authorize = InstallationStoreAuthorize(
        logger=logging.getLogger(OAuthSettings.__module__),  # the logger OAuthSettings gave it
        client_id=client_id,
        client_secret=client_secret,
        token_rotation_expiration_minutes=oauth.token_rotation_expiration_minutes,
        installation_store=oauth.installation_store,
        bot_only=oauth.installation_store_bot_only,
        cache_enabled=True,
        client=client,
        user_token_resolution=oauth.user_token_resolution,
    )
    return oauth


def register_listeners(
    app: App, app_context: AppContext, hand_over: HandOver | None = None
) -> None:
    """Every surface, and the event deduplication in front of them."""
    app.use(
        SkipRedeliveredEvents(
            app_context.dedupe,
            app_context.store,
            shortcuts=MESSAGE_SHORTCUTS,
            hand_over=hand_over,
        )
    )
    listeners.register(app)
    call_matchers_with_body(app)
