"""A local stand-in for Slack's Web API and response URLs, for end-to-end tests and benchmarks.

`FakeSlack` is an HTTP server on 127.0.0.1 (a free port) that answers `POST /api/<method>` the way
Slack does (form-encoded or JSON bodies, token in the Authorization header or the body), records
every call, and records the messages posted to response URLs at `POST /response/<token>`. Errors
can be scripted per method: an `{"ok": false, "error": ...}` answer, an HTTP 429 with Retry-After,
or a 5xx. Bolt runs listeners on a thread pool after acknowledging, so tests wait for calls with
`wait_for` instead of asserting on `calls` right after a request.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "fake-workspace"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0FRAMEWORK"
BOT_NAME = "framework-advisor"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
JSON_ENCODED_ARGUMENTS = frozenset({"blocks", "attachments", "view", "metadata"})
RESPONSE_URL_METHOD = "response_url"


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

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._responses: list[ResponsePost] = []
        self._failures: dict[str, list[_ScriptedFailure]] = {}
        self._sequence = itertools.count(1)
        self._ts_base = int(time.time())
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
            "users.info": self._users_info,
            "oauth.v2.access": self._oauth_v2_access,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free loopback port and serve from a daemon thread."""
        if self._server is not None:
            return self
        handler = type("FakeSlackHandler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
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

    def reset(self) -> None:
        """Forget recorded calls, response posts and scripted failures."""
        with self._lock:
            self._calls.clear()
            self._responses.clear()
            self._failures.clear()

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
        status, extra_headers, body = self._answer(method, params, headers)
        self._record(
            Call(method, params, headers, status=status, response=body, at=time.monotonic())
        )
        return status, extra_headers, body

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        failure = self._take_failure(method)
        if failure is not None:
            return _failure_answer(failure)
        handler = self._methods.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        has_token = headers.get("authorization", "").lower().startswith("bearer ") or bool(
            params.get("token")
        )
        if not has_token and method not in {"api.test", "oauth.v2.access"}:
            return 200, {}, {"ok": False, "error": "not_authed"}
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
        return status, extra_headers, answer

    # -- Web API methods -------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._sequence):06d}"

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
        ts = self._next_ts()
        return {"channel": channel, "ts": ts, "message": self._message(params, ts)}

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
        return {
            "channel": channel,
            "ts": ts,
            "text": params.get("text", ""),
            "message": self._message(params, ts),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        if not params.get("ts"):
            raise SlackApiError("message_not_found")
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
                "profile": {
                    "real_name": name.title(),
                    "display_name": name,
                    "team": TEAM_ID,
                },
            }
        }

    def _oauth_v2_access(self, params: dict[str, Any]) -> dict[str, Any]:
        _require(params, "code")
        return {
            "access_token": "xoxb-fake-installed-bot-token",
            "token_type": "bot",
            "scope": "app_mentions:read,chat:write,commands,im:history",
            "bot_user_id": BOT_USER_ID,
            "app_id": APP_ID,
            "team": {"name": "Fake Workspace", "id": TEAM_ID},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U0ALICE"},
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


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the tests read recorded calls, not access logs."""

    def _send_json(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

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
