"""The WSGI application gunicorn serves (see the Procfile): `POST /slack/events` for everything
Slack sends, `GET /healthz` for the platform's health check, 404 for anything else.

It never answers 500: a body that is not UTF-8, JSON or a form, a wrong Content-Length, or an
exception anywhere below becomes a logged 4xx. The signature is checked on the raw bytes before
anything else (Bolt checks it again), so a forged or stale request gets 401 whatever its body
and reaches no listener, and the process stays up whatever arrives.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.settings import Settings, SettingsError, check_credentials
from bot.slack.app import create_app
from bot.store import Store

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1024 * 1024
"""Slack's largest payloads (a full modal state) are far below this."""
MAX_CLOCK_SKEW_SECONDS = 300
"""Slack's rule, as Bolt applies it: a request timestamp further from now is refused."""

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
}


Headers = list[tuple[str, str]]


class SlackWsgiApp:
    """Bolt's WSGI adapter behind a callable that turns every failure into a deliberate answer."""

    def __init__(self, app: App, signing_secret: str) -> None:
        self.app = app
        self.handler = SlackRequestHandler(app, path=EVENTS_PATH)
        self._secret = signing_secret.encode("utf-8")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        try:
            status, headers, body = self._answer(environ)
        except Exception:
            log.exception("Unexpected error answering %s", _describe(environ))
            status, headers, body = 400, [], b"Bad Request"
        return _send(start_response, status, headers, body)

    def _answer(self, environ: WSGIEnvironment) -> tuple[int, Headers, bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            return 200, [], b"ok"
        if path != EVENTS_PATH:
            return 404, [], b"Not Found"
        if method != "POST":
            return 405, [("allow", "POST")], b"Method Not Allowed"
        raw = _read_body(environ)
        if isinstance(raw, int):
            return raw, [], _REASONS[raw].encode()
        if not self._signed_by_slack(raw, environ):
            # Checked here as well as by Bolt: Bolt parses the body first and raises on a
            # malformed timestamp, and nothing unsigned may reach a listener or error handler.
            log.info("Refusing a request without a valid Slack signature")
            return 401, [], b"Unauthorized"
        buffered = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        answer: dict[str, Any] = {}

        def capture(status: str, headers: Headers, exc_info: object = None) -> Callable[..., None]:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers
            return lambda data: None

        try:
            chunks = self.handler(buffered, capture)
        except Exception as error:
            # A body that is not UTF-8, JSON or a form: Bolt raises while parsing it.
            log.warning("Refusing a signed request whose body cannot be read: %r", error)
            return 400, [], b"Bad Request"
        body = b"".join(chunks)
        if answer.get("status", 500) >= 500:
            log.error(
                "Bolt answered %s to %s; answering 400", answer.get("status"), _describe(environ)
            )
            return 400, [], b"Bad Request"
        return answer["status"], list(answer["headers"]), body

    def _signed_by_slack(self, raw: bytes, environ: WSGIEnvironment) -> bool:
        """Slack's v0 signature over the raw bytes (which need not be valid UTF-8 here)."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            return False
        digest = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
        return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)


def _read_body(environ: WSGIEnvironment) -> bytes | int:
    """The request body, or the status to answer when it cannot be read."""
    stream = environ.get("wsgi.input")
    length_header = environ.get("CONTENT_LENGTH") or ""
    if not length_header:
        # No Content-Length: gunicorn hands over a chunked body already decoded.
        data = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        return 413 if len(data) > MAX_BODY_BYTES else data
    try:
        length = int(length_header)
    except ValueError:
        return 400
    if length < 0:
        return 400
    if length > MAX_BODY_BYTES:
        return 413
    return stream.read(length) if stream is not None and length else b""


def _send(start_response: StartResponse, status: int, headers: Headers, body: bytes) -> list[bytes]:
    kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
    if not any(name.lower() == "content-type" for name, _ in kept):
        kept.append(("content-type", "text/plain; charset=utf-8"))
    kept.append(("content-length", str(len(body))))
    start_response(f"{status} {_REASONS.get(status, HTTPStatus(status).phrase)}", kept)
    return [body]


def _describe(environ: WSGIEnvironment) -> str:
    return f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '?')}"


def create_wsgi_app(
    settings: Settings | None = None, *, store: Store | None = None
) -> Callable[..., Iterable[bytes]]:
    """The WSGI app for `settings` (default: read from the environment), as the Procfile runs
    it: `gunicorn 'bot.slack.wsgi:create_wsgi_app()'`. Raises SettingsError (one line naming
    the variable) when the HTTP credentials are missing."""
    settings = settings if settings is not None else Settings()
    settings.configure_logging()
    problem = check_credentials(settings.model_copy(update={"slack_app_token": None}))
    if problem is not None:
        raise SettingsError(problem)
    app = create_app(settings, store=store)
    return SlackWsgiApp(app, settings.secret("signing_secret") or "")
