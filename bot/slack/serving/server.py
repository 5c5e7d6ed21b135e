"""`framework-bot serve`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP through
gunicorn with the same settings as the Procfile's `web:` process."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.knowledge import KnowledgeError, load_knowledge
from bot.settings import Settings, SettingsError, check_credentials
from bot.slack.app import create_app, finish_work
from bot.slack.platform.socket_recovery import socket_mode_handler
from bot.slack.platform.token_check import startup_check, startup_line
from bot.slack.serving.wsgi import create_wsgi_app
from bot.store.engine import DatabaseUrlError, database_url_for

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

DEFAULT_WEB_CONCURRENCY = 2
THREADS = 8
TIMEOUT_SECONDS = 30
WORKER_CLASS = "bot.slack.serving.worker.BufferingWorker"
"""Reads whole requests on an event loop before a thread runs the app (see worker.py)."""


def serve(settings: Settings) -> int:
    """Serve Slack until stopped; returns the process exit code (2: bad credentials)."""
    problem = check_credentials(settings)
    if problem is not None:
        return _fail(problem, EXIT_USAGE)
    settings.configure_logging()
    try:
        if settings.socket_mode:
            return serve_socket_mode(settings)
        return serve_http(settings)
    except SettingsError as error:
        return _fail(str(error), EXIT_USAGE)
    except KnowledgeError as error:
        return _fail(f"{error}\nRun `framework-bot kb check` for details.", EXIT_ERROR)
    except DatabaseUrlError as error:
        return _fail(str(error), EXIT_USAGE)


def serve_socket_mode(settings: Settings) -> int:
    """Connect to Slack over a WebSocket (no public URL needed) and serve until interrupted;
    a dead connection is replaced within 15 s (bot/slack/platform/socket_recovery.py)."""
    app = create_app(settings)
    check = startup_check(settings, "Socket Mode")
    if check.rejected:
        return _fail(startup_line("Socket Mode", check), EXIT_USAGE)
    handler = socket_mode_handler(app, settings.secret("app_token") or "")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        handler.start()
    except KeyboardInterrupt:
        return EXIT_OK
    except SlackApiError as error:
        code = error.response.get("error", "unknown error")
        return _fail(f"Slack refused the Socket Mode connection ({code}); check SLACK_APP_TOKEN")
    except (SlackClientError, OSError) as error:
        return _fail(f"could not connect to Slack at {settings.slack_api_url}: {error}")
    finally:
        handler.close()
        # Answers already acknowledged are sent before the process ends.
        finish_work(app)
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (how hosts stop a worker) ends Socket Mode the way Ctrl+C does."""
    raise KeyboardInterrupt


class _Gunicorn(BaseApplication):
    """gunicorn run in-process. Every worker builds its own app after the fork, as the
    Procfile's `create_wsgi_app()` does: database connections, the store's writer thread and
    the knowledge follower belong to one process and do not survive a fork."""

    def __init__(
        self, build: Callable[[], Callable[..., Iterable[bytes]]], options: dict[str, Any]
    ) -> None:
        self._build = build
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Iterable[bytes]]:
        return self._build()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The Procfile's flags: workers from WEB_CONCURRENCY, as on Heroku-style hosts."""
    workers = os.environ.get("WEB_CONCURRENCY", "")
    return {
        "bind": f"0.0.0.0:{settings.port}",
        "workers": int(workers)
        if workers.isdigit() and int(workers) > 0
        else DEFAULT_WEB_CONCURRENCY,
        "threads": THREADS,
        "worker_class": WORKER_CLASS,
        "timeout": TIMEOUT_SECONDS,
        "loglevel": settings.log_level.lower(),
    }


def serve_http(settings: Settings) -> int:
    """Serve POST /slack/events and GET /healthz on $PORT until stopped (with the OAuth install,
    also GET /slack/install and GET /slack/oauth_redirect)."""
    # What would stop every worker from booting is reported here, once, before forking.
    load_knowledge(settings.knowledge_dir)
    database_url_for(_database_url(settings), settings.data_dir)
    check = startup_check(settings, "HTTP mode")  # the workers inherit it for /healthz
    if check.rejected:
        return _fail(startup_line("HTTP mode", check), EXIT_USAGE)
    try:
        _Gunicorn(
            partial(create_wsgi_app, settings, answer_process=True), gunicorn_options(settings)
        ).run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else EXIT_ERROR
    return EXIT_OK


def _database_url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"framework-bot serve: {message}", file=sys.stderr)
    return code
