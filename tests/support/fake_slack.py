"""A local stand-in for Slack's Web API and response URLs, for end-to-end tests and benchmarks.

`FakeSlack` is an HTTP server on 127.0.0.1 (a free port) that answers `POST /api/<method>` the way
Slack does (form-encoded or JSON bodies, token in the Authorization header or the body), records
every call, and records the messages posted to response URLs at `POST /response/<token>`. Errors
can be scripted per method: an `{"ok": false, "error": ...}` answer, an HTTP 429 with Retry-After,
or a 5xx. Bolt runs listeners on a thread pool after acknowledging, so tests wait for calls with
`wait_for` instead of asserting on `calls` right after a request.

With a Socket Mode endpoint attached (`FakeSlack(socket_mode=True)`, or the first use of
`fake.socket_mode`), `apps.connections.open` with an app-level token answers the URL of a
`FakeSocketMode` WebSocket server; without one it answers `unknown_method` as before.

`oauth.v2.access` exchanges an install code for the installation `grant(code, ...)` set (any
other code gets the default T0TEST one), checks the app's credentials once
`expect_oauth_client` is called, and refreshes a rotating token (grant_type=refresh_token);
`auth.test` answers the workspace of a token it handed out.

The messages posted (chat.postMessage, changed by chat.update and chat.delete) and those
`add_message` puts in for people are kept per conversation, and read back as Slack does:
`conversations.replies` (a thread: its parent first when known, then the replies oldest
first; `thread_not_found` for a ts that is neither) and `conversations.history` (the
conversation's top-level messages, newest first), both filtered by `oldest`/`latest`
(`inclusive`), paged with `limit` and `cursor` (`has_more`, `response_metadata.next_cursor`),
and carrying each message's `metadata` only with `include_all_metadata`. Message timestamps
are the wall clock's (tests/support/message_ts.py), later than the thread they are posted in.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_socket_mode import FakeSocketMode
from tests.support.message_ts import MessageClock, micros

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "fake-workspace"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0FRAMEWORK"
BOT_NAME = "framework-advisor"
ADMIN_USER_ID = "U0ADMIN"
OWNER_USER_ID = "U0OWNER"
"""users.info says these are a workspace admin and its primary owner; everyone else is neither."""

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
JSON_ENCODED_ARGUMENTS = frozenset(
    {"blocks", "attachments", "view", "metadata", "document_content", "prompts", "outputs"}
)
RESPONSE_URL_METHOD = "response_url"
APPS_CONNECTIONS_OPEN = "apps.connections.open"
APP_TOKEN_PREFIX = "xapp-"
OAUTH_V2_ACCESS = "oauth.v2.access"
INSTALLED_BOT_TOKEN = "xoxb-fake-installed-bot-token"
INSTALLED_SCOPES = ",".join(
    (
        "app_mentions:read",
        "chat:write",
        "channels:history",
        "commands",
        "groups:history",
        "im:history",
        "mpim:history",
    )
)
ROTATED_EXPIRES_IN = 43200
"""Seconds a refreshed token lasts (Slack's 12 hours)."""
DEFAULT_READ_LIMIT = 100
MAX_READ_LIMIT = 1000
TRUE_VALUES = frozenset({True, "1", "true", "True"})


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received and answered it."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the fake answered HTTP 200 with `"ok": true`."""
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def token(self) -> str | None:
        """The token the caller sent, from the Authorization header or the `token` argument."""
        authorization = self.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return authorization[len("bearer ") :]
        token = self.params.get("token")
        return token if isinstance(token, str) else None

    @property
    def client_credentials(self) -> tuple[str | None, str | None]:
        """(client_id, client_secret) sent with Basic auth, as slack_sdk does, or as arguments."""
        authorization = self.headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            decoded = base64.b64decode(authorization[len("basic ") :]).decode("utf-8")
            client_id, _, client_secret = decoded.partition(":")
            return client_id, client_secret
        return self.params.get("client_id"), self.params.get("client_secret")


@dataclass(frozen=True)
class ResponsePost:
    """One message posted to a response URL (`respond()` in Bolt)."""

    token: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class Canvas:
    """A canvas the app created: its Markdown, and the channel it is in (as the channel's own
    canvas from conversations.canvases.create, or tabbed in it from canvases.create)."""

    canvas_id: str
    channel_id: str | None
    markdown: str
    title: str | None = None
    channel_canvas: bool = False


@dataclass(frozen=True)
class Grant:
    """The installation `oauth.v2.access` hands out for an install code: a workspace and its bot
    token, and with token rotation a refresh token and the seconds the token lasts."""

    team_id: str = TEAM_ID
    bot_token: str = INSTALLED_BOT_TOKEN
    refresh_token: str | None = None
    expires_in: int | None = None
    team_name: str = "Fake Workspace"


@dataclass
class _ScriptedFailure:
    status: int
    error: str | None
    retry_after: int | None
    remaining: int


class SlackApiError(Exception):
    """Raised inside a method handler to answer `{"ok": false, "error": ...}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackApiError("invalid_arguments")


def _dm_channel_for(user_id: str) -> str:
    """A stable fake DM channel id for a user: U0ALICE -> D0ALICE."""
    return "D" + user_id[1:]


class FakeSlack:
    """Slack's Web API and response URLs on 127.0.0.1, recording what the app sends."""

    def __init__(self, *, socket_mode: bool = False) -> None:
        self._lock = threading.Condition()
        self._wants_socket_mode = socket_mode
        self._socket_mode: FakeSocketMode | None = None
        self._oauth_client: tuple[str, str] | None = None
        self._grants: dict[str, Grant] = {}
        self._issued: dict[str, Grant] = {}
        """Every bot token and refresh token handed out, with its installation."""
        self._calls: list[Call] = []
        self._responses: list[ResponsePost] = []
        self._failures: dict[str, list[_ScriptedFailure]] = {}
        self._held_methods: set[str] = set()
        self._slow: dict[str, list[list[float]]] = {}
        """method -> [[seconds, calls left], ...]: answers sent late (see slow_next)."""
        self._held_calls = 0
        self._let_through = threading.Event()
        self._sequence = itertools.count(1)
        self._ts_base = int(time.time())
        self._clock = MessageClock()
        self._messages: dict[str, list[dict[str, Any]]] = {}
        """channel -> the messages in it (posted, or put in by add_message), oldest first."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "assistant.threads.setSuggestedPrompts": self._set_suggested_prompts,
            "assistant.threads.setStatus": self._set_status,
            "oauth.v2.access": self._oauth_v2_access,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.canvases.create": self._conversations_canvases_create,
            "canvases.create": self._canvases_create,
            "functions.completeSuccess": self._functions_complete_success,
            "functions.completeError": self._functions_complete_error,
        }
        self._canvases: dict[str, Canvas] = {}
        self._channel_canvases: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free loopback port and serve from a daemon thread."""
        if self._server is not None:
            return self
        handler = type("FakeSlackHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # How often the serving loop looks whether `stop` was called: a test waits this
            # long, on average half of it, for every fake it stops.
            kwargs={"poll_interval": 0.005},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        if self._wants_socket_mode:
            self.enable_socket_mode()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._socket_mode is not None:
            self._socket_mode.stop()
            self._socket_mode = None
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        """The Web API base URL, for SLACK_API_URL or WebClient(base_url=...)."""
        return f"{self.root_url}api/"

    def response_url(self, token: str) -> str:
        """A response URL whose posts the fake records under `token`."""
        return f"{self.root_url}response/{token}"

    def enable_socket_mode(self) -> FakeSocketMode:
        """Attach a started Socket Mode endpoint (once) for `apps.connections.open` to hand out."""
        with self._lock:
            if self._socket_mode is None:
                self._socket_mode = FakeSocketMode(app_id=APP_ID).start()
            return self._socket_mode

    @property
    def socket_mode(self) -> FakeSocketMode:
        """The Socket Mode endpoint, attached on first use."""
        return self.enable_socket_mode()

    # -- OAuth install ---------------------------------------------------------------------

    def expect_oauth_client(self, client_id: str, client_secret: str) -> None:
        """Make `oauth.v2.access` require the app's credentials, answering `invalid_client_id`
        or `bad_client_secret` otherwise, as Slack does."""
        with self._lock:
            self._oauth_client = (client_id, client_secret)

    def grant(
        self,
        code: str,
        *,
        team_id: str = TEAM_ID,
        bot_token: str = INSTALLED_BOT_TOKEN,
        refresh_token: str | None = None,
        expires_in: int | None = None,
    ) -> Grant:
        """Make `oauth.v2.access` exchange `code` for this installation; with `refresh_token`
        and `expires_in`, a rotating token that lasts `expires_in` seconds."""
        installation = Grant(team_id, bot_token, refresh_token, expires_in, f"Workspace {team_id}")
        with self._lock:
            self._grants[code] = installation
        return installation

    # -- recorded traffic ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        """Calls to one method in arrival order; `ok=True` keeps only successful answers."""
        return [
            call for call in self.calls if call.method == method and (ok is None or call.ok is ok)
        ]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, *, ok: bool | None = None
    ) -> list[Call]:
        """Block until `count` calls to `method` arrived (failed ones too unless `ok` is set)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                matching = [
                    call
                    for call in self._calls
                    if call.method == method and (ok is None or call.ok is ok)
                ]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [call.method for call in self._calls]
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, got "
                        f"{len(matching)}; all calls so far: {seen}"
                    )
                self._lock.wait(remaining)

    @property
    def responses(self) -> list[ResponsePost]:
        with self._lock:
            return list(self._responses)

    def wait_for_response(self, count: int = 1, timeout: float = 5.0) -> list[ResponsePost]:
        """Block until `count` posts to response URLs arrived."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._responses) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} response URL post(s) within {timeout}s, "
                        f"got {len(self._responses)}; Web API calls so far: "
                        f"{[call.method for call in self._calls]}"
                    )
                self._lock.wait(remaining)
            return list(self._responses)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls to `method` fail.

        status=200 answers `{"ok": false, "error": error}`; status=429 answers `ratelimited` with
        a Retry-After header (`retry_after` seconds, default 1); other statuses answer that HTTP
        error. Use method "response_url" to fail posts to response URLs.
        """
        if status == 200 and error is None:
            raise ValueError("a scripted failure with status 200 needs an error code")
        with self._lock:
            self._failures.setdefault(method, []).append(
                _ScriptedFailure(status, error, retry_after, times)
            )

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls to `method` are carried out and recorded at once, but
        answered only after `seconds`: what a client whose timeout is shorter sees as a
        timeout, although Slack did what it asked. Method "response_url" slows response URL
        posts."""
        with self._lock:
            self._slow.setdefault(method, []).append([seconds, times])

    def answer_at_once(self, method: str) -> None:
        """End `slow_next` for `method`: calls from now on are answered at once (those waiting
        for their late answer still wait)."""
        with self._lock:
            self._slow.pop(method, None)

    def _answer_late(self, method: str) -> None:
        with self._lock:
            queue = self._slow.get(method)
            if not queue:
                return
            seconds = queue[0][0]
            queue[0][1] -= 1
            if queue[0][1] <= 0:
                queue.pop(0)
        time.sleep(seconds)

    def hold(self, method: str) -> None:
        """Calls to `method` from now on never arrive: each waits, unrecorded, until
        `let_through()` and then fails with 503 (what a process killed meanwhile never sees)."""
        with self._lock:
            self._held_methods.add(method)
            self._let_through.clear()

    def let_through(self) -> None:
        """End `hold`: the waiting calls fail, the next ones are answered."""
        with self._lock:
            self._held_methods.clear()
            self._let_through.set()

    @property
    def held_calls(self) -> int:
        """Calls waiting in `hold` now."""
        with self._lock:
            return self._held_calls

    def _held(self, method: str) -> bool:
        with self._lock:
            if method not in self._held_methods:
                return False
            self._held_calls += 1
        self._let_through.wait(timeout=120)
        with self._lock:
            self._held_calls -= 1
        return True

    def reset(self) -> None:
        """Forget recorded calls, response posts, scripted failures and messages."""
        with self._lock:
            self._messages.clear()
            self._calls.clear()
            self._responses.clear()
            self._failures.clear()
            self._slow.clear()
            self._canvases.clear()
            self._channel_canvases.clear()

    # -- conversations ---------------------------------------------------------------------

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """A person's message in `channel` (in the thread `thread_ts`), as the conversations
        methods will show it; its ts is now unless given."""
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "team": TEAM_ID,
            "text": text,
            "ts": ts or self._clock.next(after=thread_ts),
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        self._keep(channel, message)
        return message

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages kept in `channel`, oldest first (metadata included)."""
        with self._lock:
            return [dict(message) for message in self._messages.get(channel, [])]

    def _keep(self, channel: str, message: dict[str, Any]) -> None:
        with self._lock:
            kept = self._messages.setdefault(channel, [])
            bisect.insort(kept, message, key=lambda m: micros(m["ts"]))

    def _kept(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The kept message `ts` in `channel` (call with the lock held)."""
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    @property
    def canvases(self) -> list[Canvas]:
        """The canvases created so far, in creation order."""
        with self._lock:
            return list(self._canvases.values())

    def give_channel_a_canvas(self, channel_id: str) -> None:
        """The channel already has its channel canvas (made by someone else)."""
        with self._lock:
            self._channel_canvases[channel_id] = "F0EXISTING"

    def wait_for_canvas(self, count: int = 1, timeout: float = 5.0) -> list[Canvas]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._canvases) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} canvas(es) within {timeout}s, got "
                        f"{len(self._canvases)}; calls so far: {[c.method for c in self._calls]}"
                    )
                self._lock.wait(remaining)
            return list(self._canvases.values())

    # -- request handling (called from the server threads) ---------------------------------

    def _take_failure(self, method: str) -> _ScriptedFailure | None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    def _record(self, entry: Call | ResponsePost) -> None:
        with self._lock:
            if isinstance(entry, Call):
                self._calls.append(entry)
            else:
                self._responses.append(entry)
            self._lock.notify_all()

    def handle_api(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one Web API call: (HTTP status, extra headers, JSON body)."""
        if self._held(method):
            return 503, {}, {"ok": False, "error": "held"}
        status, extra_headers, body = self._answer(method, params, headers)
        self._record(
            Call(method, params, headers, status=status, response=body, at=time.monotonic())
        )
        self._answer_late(method)
        return status, extra_headers, body

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        failure = self._take_failure(method)
        if failure is not None:
            return _failure_answer(failure)
        if method == APPS_CONNECTIONS_OPEN:
            return 200, {}, self._apps_connections_open(Call(method, params, headers).token)
        if method == OAUTH_V2_ACCESS:
            return 200, {}, self._oauth_exchange(Call(method, params, headers))
        handler = self._methods.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        has_token = headers.get("authorization", "").lower().startswith("bearer ") or bool(
            params.get("token")
        )
        if not has_token and method not in {"api.test", "oauth.v2.access"}:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if method == "auth.test":
            token = Call(method, params, headers).token
            return 200, {}, {"ok": True, **self._auth_test(params), **self._installed_team(token)}
        try:
            return 200, {}, {"ok": True, **handler(params)}
        except SlackApiError as error:
            return 200, {}, {"ok": False, "error": error.error}

    def handle_response_url(
        self, token: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one post to a response URL."""
        failure = self._take_failure(RESPONSE_URL_METHOD)
        if failure is not None:
            status, extra_headers, answer = _failure_answer(failure)
        else:
            status, extra_headers, answer = 200, {}, {"ok": True}
        self._record(ResponsePost(token, body, headers, status=status, at=time.monotonic()))
        self._answer_late(RESPONSE_URL_METHOD)
        return status, extra_headers, answer

    # -- Web API methods -------------------------------------------------------------------

    def _next_ts(self, after: str | None = None) -> str:
        return self._clock.next(after=after)

    def _api_test(self, params: dict[str, Any]) -> dict[str, Any]:
        args = {key: value for key, value in params.items() if key != "token"}
        return {"args": args} if args else {}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Fake Workspace",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]  # as Slack hands it back in a click
        return message

    @staticmethod
    def _check_message_content(params: dict[str, Any]) -> None:
        blocks = params.get("blocks")
        if blocks is not None and (
            not isinstance(blocks, list) or len(blocks) > MAX_MESSAGE_BLOCKS
        ):
            raise SlackApiError("invalid_blocks")
        if not params.get("text") and not blocks and not params.get("attachments"):
            raise SlackApiError("no_text")

    @staticmethod
    def _resolve_channel(channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise SlackApiError("channel_not_found")
        if channel[0] in "UW":
            return _dm_channel_for(channel)
        return channel

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        self._check_message_content(params)
        thread_ts = params.get("thread_ts")
        ts = self._next_ts(after=thread_ts if isinstance(thread_ts, str) and thread_ts else None)
        message = self._message(params, ts)
        self._keep(channel, dict(message))
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "user")
        self._resolve_channel(params.get("channel"))
        self._check_message_content(params)
        return {"message_ts": self._next_ts()}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        if not params.get("ts"):
            raise SlackApiError("message_not_found")
        self._check_message_content(params)
        ts = params["ts"]
        message = self._message(params, ts)
        with self._lock:
            kept = self._kept(channel, ts)
            if kept is not None:
                kept["text"] = message["text"]
                for name in ("blocks", "metadata"):
                    if name in message:
                        kept[name] = message[name]
        return {
            "channel": channel,
            "ts": ts,
            "text": params.get("text", ""),
            "message": message,
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        if not params.get("ts"):
            raise SlackApiError("message_not_found")
        with self._lock:
            kept = self._kept(channel, params["ts"])
            if kept is not None:
                self._messages[channel].remove(kept)
        return {"channel": channel, "ts": params["ts"]}

    def _view(self, params: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict) or view.get("type") not in {"modal", "home"}:
            raise SlackApiError("invalid_arguments")
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
            raise SlackApiError("invalid_arguments")
        sequence = next(self._sequence)
        view_id = view_id or f"V0VIEW{sequence:05d}"
        return {
            "view": {
                "id": view_id,
                "team_id": TEAM_ID,
                "type": view["type"],
                "title": view.get("title"),
                "submit": view.get("submit"),
                "close": view.get("close"),
                "blocks": blocks,
                "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""),
                "external_id": view.get("external_id", ""),
                "state": {"values": {}},
                "hash": f"{self._ts_base}.fake{sequence:04d}",
                "clear_on_close": bool(view.get("clear_on_close", False)),
                "notify_on_close": bool(view.get("notify_on_close", False)),
                "previous_view_id": None,
                "root_view_id": view_id,
                "app_id": APP_ID,
                "app_installed_team_id": TEAM_ID,
                "bot_id": BOT_ID,
            }
        }

    def _set_suggested_prompts(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "channel_id")
        prompts = params.get("prompts")
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            raise SlackApiError("invalid_arguments")
        if any(not (p.get("title") and p.get("message")) for p in prompts):
            raise SlackApiError("invalid_arguments")
        return {}

    def _functions_complete_success(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "function_execution_id")
        if not isinstance(params.get("outputs"), dict):
            raise SlackApiError("invalid_arguments")
        return {}

    def _functions_complete_error(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "function_execution_id", "error")
        return {}

    def _set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "channel_id", "thread_ts")
        if "status" not in params:
            raise SlackApiError("invalid_arguments")
        return {}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "trigger_id")
        return self._view(params)

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "trigger_id")
        return self._view(params)

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("view_id") and not params.get("external_id"):
            raise SlackApiError("invalid_arguments")
        return self._view(params, view_id=params.get("view_id"))

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "user_id")
        return self._view(params)

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = params.get("users")
        if params.get("channel"):
            return {"channel": {"id": params["channel"]}}
        if not isinstance(users, str) or not users:
            raise SlackApiError("users_list_not_supplied")
        first_user = users.split(",")[0].strip()
        return {"channel": {"id": _dm_channel_for(first_user)}}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise SlackApiError("channel_not_found")
        is_im = channel.startswith("D")
        info: dict[str, Any] = {
            "id": channel,
            "created": self._ts_base,
            "is_channel": channel.startswith("C"),
            "is_group": channel.startswith("G"),
            "is_im": is_im,
            "is_private": not channel.startswith("C"),
            "is_archived": False,
            "is_member": True,
        }
        if not is_im:
            info["name"] = channel.lower()
        return {"channel": info}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise SlackApiError("channel_not_found")
        ts = params.get("ts")
        if not isinstance(ts, str) or not ts:
            raise SlackApiError("thread_not_found")
        with self._lock:
            parent = self._kept(channel, ts)
            replies = [
                dict(m)
                for m in self._messages.get(channel, [])
                if m.get("thread_ts") == ts and m["ts"] != ts
            ]
            parent = dict(parent) if parent is not None else None
        if parent is None and not replies:
            raise SlackApiError("thread_not_found")
        page, more = _page(_in_range(replies, params), params)
        first = not params.get("cursor")
        thread = [parent, *page] if parent is not None and first else page
        return _read_answer(thread, more, params)

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise SlackApiError("channel_not_found")
        with self._lock:
            top_level = [
                dict(m)
                for m in self._messages.get(channel, [])
                if m.get("thread_ts") in (None, m["ts"])
            ]
        newest_first = list(reversed(_in_range(top_level, params)))
        page, more = _page(newest_first, params)
        return _read_answer(page, more, params)

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise SlackApiError("user_not_found")
        name = user[2:].lower() if user.startswith(("U0", "W0")) else user.lower()
        return {
            "user": {
                "id": user,
                "team_id": TEAM_ID,
                "name": name,
                "deleted": False,
                "real_name": name.title(),
                "tz": "Europe/London",
                "tz_offset": 0,
                "is_bot": user == BOT_USER_ID,
                "is_admin": user in {ADMIN_USER_ID, OWNER_USER_ID},
                "is_owner": user == OWNER_USER_ID,
                "is_primary_owner": user == OWNER_USER_ID,
                "profile": {
                    "real_name": name.title(),
                    "display_name": name,
                    "team": TEAM_ID,
                },
            }
        }

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        _require(params, "message_ts")
        ts = str(params["message_ts"]).replace(".", "")
        return {
            "channel": channel,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts}",
        }

    @staticmethod
    def _markdown(params: dict[str, Any]) -> str:
        content = params.get("document_content")
        if isinstance(content, str):
            content = json.loads(content)
        if not isinstance(content, dict) or content.get("type") != "markdown":
            raise SlackApiError("invalid_arguments")
        markdown = content.get("markdown")
        if not isinstance(markdown, str) or not markdown:
            raise SlackApiError("canvas_creation_failed")
        return markdown

    def _new_canvas(self, canvas: Canvas) -> dict[str, Any]:
        with self._lock:
            self._canvases[canvas.canvas_id] = canvas
            self._lock.notify_all()
        return {"canvas_id": canvas.canvas_id}

    def _conversations_canvases_create(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel_id")
        if not isinstance(channel, str) or not channel:
            raise SlackApiError("channel_not_found")
        markdown = self._markdown(params)
        canvas_id = f"F0CANVAS{next(self._sequence):04d}"
        with self._lock:
            if channel in self._channel_canvases:
                raise SlackApiError("channel_canvas_already_exists")
            self._channel_canvases[channel] = canvas_id
        return self._new_canvas(Canvas(canvas_id, channel, markdown, channel_canvas=True))

    def _canvases_create(self, params: dict[str, Any]) -> dict[str, Any]:
        markdown = self._markdown(params)
        channel = params.get("channel_id")
        title = params.get("title")
        canvas_id = f"F0CANVAS{next(self._sequence):04d}"
        return self._new_canvas(
            Canvas(
                canvas_id,
                channel if isinstance(channel, str) else None,
                markdown,
                title=title if isinstance(title, str) else None,
            )
        )

    def _apps_connections_open(self, token: str | None) -> dict[str, Any]:
        """Slack's answer, once a Socket Mode endpoint is attached: a new WebSocket URL for an
        app-level token (a bot token is refused as Slack does)."""
        with self._lock:
            socket_mode = self._socket_mode
        if socket_mode is None:
            return {"ok": False, "error": "unknown_method"}
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith(APP_TOKEN_PREFIX):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": socket_mode.issue_url()}

    def _oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "code")
        with self._lock:
            installation = self._grants.get(params["code"], Grant())
        return {**self._token_answer(installation), "authed_user": {"id": "U0ALICE"}}

    def _oauth_exchange(self, call: Call) -> dict[str, Any]:
        """`oauth.v2.access`: an install code, or a refresh token (grant_type=refresh_token)
        exchanged for a new token, once the app's credentials check out."""
        with self._lock:
            expected = self._oauth_client
        client_id, client_secret = call.client_credentials
        if expected is not None and client_id != expected[0]:
            return {"ok": False, "error": "invalid_client_id"}
        if expected is not None and client_secret != expected[1]:
            return {"ok": False, "error": "bad_client_secret"}
        try:
            if call.params.get("grant_type") == "refresh_token":
                return {"ok": True, **self._refresh(call.params.get("refresh_token"))}
            return {"ok": True, **self._oauth_v2_access(call.params)}
        except SlackApiError as error:
            return {"ok": False, "error": error.error}

    def _refresh(self, refresh_token: Any) -> dict[str, Any]:
        with self._lock:
            current = self._issued.get(refresh_token) if isinstance(refresh_token, str) else None
        if current is None or current.refresh_token != refresh_token:
            raise SlackApiError("invalid_refresh_token")
        number = next(self._sequence)
        rotated = replace(
            current,
            bot_token=f"{current.bot_token.split('-rotated')[0]}-rotated{number}",
            refresh_token=f"xoxe-1-fake-refresh-{number}",
            expires_in=ROTATED_EXPIRES_IN,
        )
        return self._token_answer(rotated)

    def _token_answer(self, installation: Grant) -> dict[str, Any]:
        """Slack's answer handing out `installation`'s token, which the fake then knows."""
        with self._lock:
            self._issued[installation.bot_token] = installation
            if installation.refresh_token is not None:
                self._issued[installation.refresh_token] = installation
        answer: dict[str, Any] = {
            "access_token": installation.bot_token,
            "token_type": "bot",
            "scope": INSTALLED_SCOPES,
            "bot_user_id": BOT_USER_ID,
            "app_id": APP_ID,
            "team": {"name": installation.team_name, "id": installation.team_id},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if installation.refresh_token is not None and installation.expires_in is not None:
            answer.update(
                refresh_token=installation.refresh_token, expires_in=installation.expires_in
            )
        return answer

    def _installed_team(self, token: str | None) -> dict[str, Any]:
        """auth.test's workspace fields for a token `oauth.v2.access` handed out."""
        with self._lock:
            installation = self._issued.get(token or "")
        if installation is None or installation.bot_token != token:
            return {}
        return {"team_id": installation.team_id, "team": installation.team_name}


def _in_range(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages between `oldest` and `latest` (both left out unless `inclusive`)."""
    inclusive = params.get("inclusive") in TRUE_VALUES
    oldest = micros(str(params["oldest"])) if params.get("oldest") else None
    latest = micros(str(params["latest"])) if params.get("latest") else None

    def within(message: dict[str, Any]) -> bool:
        at = micros(message["ts"])
        if oldest is not None and (at < oldest or (at == oldest and not inclusive)):
            return False
        return latest is None or at < latest or (at == latest and inclusive)

    return [message for message in messages if within(message)]


def _page(
    messages: list[dict[str, Any]], params: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `messages` from `cursor` (an offset the fake made), and the next cursor."""
    try:
        limit = int(params.get("limit") or DEFAULT_READ_LIMIT)
    except ValueError as error:
        raise SlackApiError("invalid_arguments") from error
    cursor = params.get("cursor")
    try:
        start = int(base64.b64decode(str(cursor)).decode()[len("next:") :]) if cursor else 0
    except ValueError as error:
        raise SlackApiError("invalid_cursor") from error
    limit = min(max(limit, 1), MAX_READ_LIMIT)
    end = start + limit
    more = base64.b64encode(f"next:{end}".encode()).decode() if end < len(messages) else None
    return messages[start:end], more


def _read_answer(
    messages: list[dict[str, Any]], next_cursor: str | None, params: dict[str, Any]
) -> dict[str, Any]:
    """conversations.replies/history's answer: metadata only when it was asked for."""
    if params.get("include_all_metadata") not in TRUE_VALUES:
        for message in messages:
            message.pop("metadata", None)
    return {
        "messages": messages,
        "has_more": next_cursor is not None,
        "response_metadata": {"next_cursor": next_cursor or ""},
    }


def _failure_answer(failure: _ScriptedFailure) -> tuple[int, dict[str, str], dict[str, Any]]:
    if failure.status == 429:
        retry_after = 1 if failure.retry_after is None else failure.retry_after
        return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}
    if failure.status == 200:
        return 200, {}, {"ok": False, "error": failure.error}
    extra = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
    return failure.status, extra, {"ok": False, "error": failure.error or "internal_error"}


def _decode_params(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {key: values[-1] for key, values in parse_qs(query).items()}
    text = raw.decode("utf-8", errors="replace")
    if content_type.startswith("application/json"):
        decoded = json.loads(text) if text.strip() else {}
        if not isinstance(decoded, dict):
            raise ValueError("JSON body is not an object")
        params.update(decoded)
    elif text:
        params.update(
            {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}
        )
    for key in JSON_ENCODED_ARGUMENTS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.lstrip()[:1] in {"[", "{"}:
            params[key] = json.loads(value)
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    """Bursts from a multi-threaded app must not overflow the listen backlog (a dropped SYN
    costs the client a one-second retransmit)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a process killed on purpose) is not worth a
        traceback; anything else is printed as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    server_version = "FakeSlack/1.0"
    protocol_version = "HTTP/1.1"
    """Keeps connections open between calls, as Slack's API does (every answer has a length)."""
    disable_nagle_algorithm = True
    """Headers and body are separate writes: with Nagle's algorithm on a kept-alive connection
    the body would wait for the client's delayed ACK (up to 40 ms)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the tests read recorded calls, not access logs."""

    def _send_json(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (see slow_next)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        content_type = headers.get("content-type", "")
        try:
            params = _decode_params(content_type, raw, url.query)
        except ValueError:
            self._send_json(200, {}, {"ok": False, "error": "invalid_json"})
            return
        if url.path.startswith("/api/"):
            status, extra, body = self.fake.handle_api(url.path[len("/api/") :], params, headers)
        elif url.path.startswith("/response/") and self.command == "POST":
            token = url.path[len("/response/") :]
            status, extra, body = self.fake.handle_response_url(token, params, headers)
        else:
            status, extra, body = 404, {}, {"ok": False, "error": "not_found"}
        self._send_json(status, extra, body)

    do_GET = _handle
    do_POST = _handle
