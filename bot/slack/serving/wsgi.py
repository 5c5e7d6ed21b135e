"""The WSGI application gunicorn serves (see the Procfile): `POST /slack/events` for everything
Slack sends, `GET /healthz` for the platform's health check, and with the OAuth install on
(SLACK_CLIENT_ID) Bolt's `GET /slack/install` and `GET /slack/oauth_redirect` pages; 404 for
anything else.

It never answers 500: a body that is not UTF-8, JSON or a form, a wrong Content-Length, or an
exception anywhere below becomes a logged 4xx. The signature is checked on the raw bytes before
anything else (Bolt checks it again), so a forged or stale request gets 401 whatever its body
and reaches no listener, and the process stays up whatever arrives. The two OAuth pages are
opened by a person's browser, so they carry no signature: Bolt checks the OAuth state instead
(a state cookie set by the install page, matched against one issued in the database).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.settings import Settings, SettingsError, check_credentials
from bot.slack.app import create_app, open_store
from bot.slack.platform.token_check import TokenCheck, TokenStatus
from bot.slack.serving.answer_process import AnswerProcess
from bot.store import Health, SharedHealth, Store, StoreUnavailable

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1024 * 1024
"""Slack's largest payloads (a full modal state) are far below this."""
ANSWER_PROCESS_BOOT_SECONDS = 20.0
"""How long a worker waits, once its own app is built, for its answer process to be ready
before it serves anyway (answering in its own threads until then)."""
MAX_CLOCK_SKEW_SECONDS = 300
"""Slack's rule, as Bolt applies it: a request timestamp further from now is refused."""

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    503: "Service Unavailable",
}
INSTALL_FAILED_PAGE = (
    b"The app could not be installed this time. Please try again in a moment from the page "
    b"that sent you here."
)


Headers = list[tuple[str, str]]


class SlackWsgiApp:
    """Bolt's WSGI adapter behind a callable that turns every failure into a deliberate answer."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        health: Callable[[], Health] | None = None,
        token: Callable[[], TokenCheck] | None = None,
        shared_health: Callable[[], SharedHealth] | None = None,
        stop: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self._health = health
        self._shared_health = shared_health
        self._token = token
        self._stop = stop
        self.handler = SlackRequestHandler(app, path=EVENTS_PATH)
        self._secret = signing_secret.encode("utf-8")
        flow = app.oauth_flow
        self.oauth_paths = (
            frozenset({flow.install_path, flow.redirect_uri_path}) if flow else frozenset()
        )
        """The OAuth install's pages, empty unless the install is on."""

    def close(self) -> None:
        """Stop what the app does in the background (the token check's retries for /healthz)
        and close the store it opened itself: for an app thrown away while its process goes
        on, as in tests."""
        self._stop()

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
            return self._health_report()
        if path in self.oauth_paths:
            return self._oauth_page(environ, method)
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
        try:
            status, headers, body = self._bolt(environ, raw)
        except Exception as error:
            # A body that is not UTF-8, JSON or a form: Bolt raises while parsing it.
            log.warning("Refusing a signed request whose body cannot be read: %r", error)
            return 400, [], b"Bad Request"
        if status >= 500:
            log.error("Bolt answered %s to %s; answering 400", status, _describe(environ))
            return 400, [], b"Bad Request"
        return status, headers, body

    def _oauth_page(self, environ: WSGIEnvironment, method: str) -> tuple[int, Headers, bytes]:
        """Bolt's install page (a state cookie and the link to Slack's authorize page) or its
        redirect page (the code exchanged through oauth.v2.access and the installation stored;
        Bolt's failure page, 4xx, for a missing or unknown state). A 5xx from Bolt (the database
        failed to store the installation) keeps its page with 400; an exception becomes a
        short page with 400."""
        if method != "GET":
            return 405, [("allow", "GET")], b"Method Not Allowed"
        try:
            status, headers, body = self._bolt(environ, b"")
        except Exception:
            log.exception("The OAuth install failed at %s", _describe(environ))
            return 400, [], INSTALL_FAILED_PAGE
        if status >= 500:
            log.error("Bolt answered %s to %s; answering 400", status, _describe(environ))
            status = 400
        return status, headers, body

    def _bolt(self, environ: WSGIEnvironment, raw: bytes) -> tuple[int, Headers, bytes]:
        """Bolt's answer to the request `environ` with the body `raw` (already read)."""
        buffered = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        answer: dict[str, Any] = {}

        def capture(status: str, headers: Headers, exc_info: object = None) -> Callable[..., None]:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers
            return lambda data: None

        body = b"".join(self.handler(buffered, capture))
        return answer.get("status", 500), list(answer.get("headers", [])), body

    def _health_report(self) -> tuple[int, Headers, bytes]:
        """200 (the bot answers questions without its database), with the store's state for
        whoever looks, and whether Slack accepted the bot token. A token Slack rejected means
        nothing can be answered: 503, status "error".

        The store's figures are every instance's, read from the database, so whichever
        gunicorn worker answers gives the same report: records waiting and lost (each
        instance writes its own there), the inbox's unanswered deliveries, the newest record.
        With the database unavailable it says so, and gives this worker's own figures."""
        report: dict[str, Any] = {"status": "ok"}
        status = 200
        if self._token is not None:
            check = self._token()
            report["slack_token"] = check.describe()
            if check.rejected:
                report["status"], status = "error", 503
        if self._health is not None:
            report.update(self._store_report(self._health))
        return status, [("content-type", "application/json")], json.dumps(report).encode()

    def _store_report(self, health_now: Callable[[], Health]) -> dict[str, Any]:
        shared: SharedHealth | None = None
        if self._shared_health is not None:
            try:
                shared = self._shared_health()
            except StoreUnavailable:
                pass
            except Exception:
                log.exception("Could not read the store's figures for /healthz")
        health = health_now()  # after that attempt: it knows how it went
        own = {"records_waiting": health.pending, "records_lost": health.dropped}
        if shared is not None:
            return {
                "database": "ok",
                "inbox": "durable",
                "records_waiting": shared.records_waiting,
                "records_lost": shared.records_lost,
                "figures": f"every instance's ({shared.instances} reporting)",
                "inbox_unanswered": shared.inbox_unanswered,
                "oldest_unanswered_at": _iso(shared.oldest_unanswered_at),
                "last_record_at": _iso(shared.last_record_at),
                "this_worker": own,
            }
        if not health.ok:
            return {
                "database": f"unavailable: {health.last_error or 'unknown error'}",
                "inbox": "in memory only: mentions, DMs and shortcuts are deduplicated in "
                "this process, and one acknowledged before a crash can be lost until the "
                "database is back",
                **own,
                "figures": "this worker's only: the database is unavailable, so the other "
                "instances' cannot be read",
            }
        return {"database": "ok", "inbox": "durable", **own, "figures": "this worker's only"}

    def _signed_by_slack(self, raw: bytes, environ: WSGIEnvironment) -> bool:
        """Slack's v0 signature over the raw bytes (which need not be valid UTF-8 here).

        Not slack_sdk's SignatureVerifier: it decodes the body as UTF-8 and raises on other
        bytes, and a signed body that is not UTF-8 must get 400 while a forged one gets 401."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        # ASCII digits only, and few of them: str.isdigit() accepts "²" and int() refuses it,
        # and int() refuses 5,000 digits; either must be a 401, not a traceback.
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
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


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _describe(environ: WSGIEnvironment) -> str:
    return f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '?')}"


def create_wsgi_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    answer_process: bool = False,
) -> SlackWsgiApp:
    """The WSGI app for `settings` (default: read from the environment), as the Procfile runs
    it: `gunicorn 'bot.slack.serving.wsgi:create_wsgi_app(answer_process=True)'`. Raises
    SettingsError (one line naming the variable) when the HTTP credentials are missing: the
    signing secret, and the bot token unless the OAuth install (SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET) provides tokens.

    With `answer_process` (and ANSWER_PROCESS not turned off), mentions and DMs are answered by
    a process beside this one (bot/slack/serving/answer_process.py), so that answering them
    never delays an acknowledgement here."""
    settings = settings if settings is not None else Settings()
    settings.configure_logging()
    problem = check_credentials(settings.model_copy(update={"slack_app_token": None}))
    if problem is not None:
        raise SettingsError(problem)
    opened = store is None
    if store is None:
        store = open_store(settings)
        atexit.register(store.close)
    answers = AnswerProcess(settings) if answer_process and settings.answer_process else None
    if answers is not None:
        answers.start()
        atexit.register(answers.stop)
    app = create_app(settings, store=store, hand_over=answers.hand_over if answers else None)
    if answers is not None and not answers.ready(ANSWER_PROCESS_BOOT_SECONDS):
        log.warning(
            "The answer process is not ready after %ss: this worker answers until it is",
            ANSWER_PROCESS_BOOT_SECONDS,
        )
    token = TokenStatus(None if settings.oauth else app.client)

    def stop() -> None:
        token.stop()
        if answers is not None:
            atexit.unregister(answers.stop)
            answers.stop()
        if opened:
            atexit.unregister(store.close)
            store.close()

    return SlackWsgiApp(
        app,
        settings.secret("signing_secret") or "",
        health=store.health,
        token=lambda: token.current,
        shared_health=store.shared_health,
        stop=stop,
    )
