"""Socket Mode that recovers within 15 s of a dead connection.

slack_sdk's built-in Socket Mode client, as Bolt's `SocketModeHandler` sets it up, notices a
dead connection late: a TCP FIN without a close frame only after five failed pings (about a
minute, its receive loop spinning on the closed socket meanwhile), a half-open connection only
after four ping intervals without a pong (about 50 s), a close frame only at the next health
check, and a failing `apps.connections.open` is tried again once per health check (10 s). Here:

- A ping every `PING_INTERVAL_SECONDS` (5); a ping still unanswered when the next is due
  (after `PONG_TIMEOUT_SECONDS`, 4, at least), or one that cannot be sent, ends the connection
  at once: a half-open connection is left within two intervals (10 s).
- The end of the stream (a FIN) and a close frame end the connection as soon as they are read,
  and the client reconnects from there, without waiting for the health check.
- `apps.connections.open` failing for a reason that passes (a 5xx, `internal_error`, a network
  error) is tried again after `CONNECT_RETRY_DELAYS` (1, 2, 4 s); then the health check takes
  over, every ping interval. An error that will not pass (`invalid_auth`, …) is raised at once.
  Calls are at least `MIN_SECONDS_BETWEEN_OPENS` apart, so a server that drops every new
  connection at once does not get a call a millisecond.
- Reads time out after `RECEIVE_TIMEOUT_SECONDS` (1), which bounds how long ending a connection
  waits for a read in progress.

This is the one module that relies on slack_sdk's Socket Mode internals, as slack_sdk 3.48 (the
minor version pyproject.toml pins) has them: `RecoveringSocketModeClient.connect` does what
`SocketModeClient.connect` does, with a `RecoveringConnection` (which wraps the connection's
socket and replaces `check_state`) in place of `Connection`, and so relies on the client's
attributes and listener methods and on `Connection`'s constructor arguments and attributes.
`socket_mode_handler` checks them; where one is missing it builds Bolt's own handler (with the
same ping interval) and logs a warning.
"""

from __future__ import annotations

import inspect
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import version as slack_sdk_version
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection, ConnectionState

log = logging.getLogger(__name__)

PING_INTERVAL_SECONDS = 5.0
"""How often the client pings Slack; a ping unanswered by the next one ends the connection."""
PONG_TIMEOUT_SECONDS = 4.0
"""A ping unanswered this long, when the next is due, means the connection is dead."""
RECEIVE_TIMEOUT_SECONDS = 1.0
CONNECT_RETRY_DELAYS = (1.0, 2.0, 4.0)
"""Seconds before each retry of a failed `apps.connections.open`, within one reconnection."""
MIN_SECONDS_BETWEEN_OPENS = 1.0

TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
"""`apps.connections.open` errors worth trying again; any other is about the token or app."""


class EndOfStream(ConnectionError):
    """Slack's side closed the TCP connection without a WebSocket close frame."""


class _EndOfStreamSocket:
    """A connection's socket whose `recv` raises EndOfStream where the socket returns b""
    (which for a blocking socket means the peer has closed). slack_sdk's receive loop takes
    b"" as "nothing yet" and spins; an OSError ends the connection."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def recv(self, size: int, *flags: int) -> bytes:
        data = self._sock.recv(size, *flags)
        if not data and size > 0:
            raise EndOfStream("Slack closed the connection without a close frame")
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class RecoveringConnection(Connection):
    """One WebSocket to Slack that ends itself as soon as it is known to be dead.

    `on_lost` is called (from the receiving thread, outside its locks) when the stream ended or
    Slack sent a close frame."""

    def __init__(
        self, *args: Any, on_lost: Callable[[RecoveringConnection], None], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_lost = on_lost
        self.last_ping_time: float | None = None
        on_error, on_close = self.on_error_listener, self.on_close_listener

        def error_listener(error: Exception) -> None:
            if isinstance(error, EndOfStream):  # not slack_sdk's "on_error invoked" error log
                self._lost(
                    logging.WARNING, "Slack's side closed the connection without a close frame"
                )
            elif on_error is not None:
                on_error(error)

        def close_listener(code: int, reason: str | None) -> None:
            if on_close is not None:
                on_close(code, reason)
            self._lost(
                logging.INFO, f"Slack closed the connection ({code} {reason or ''})".rstrip()
            )

        self.on_error_listener = error_listener
        self.on_close_listener = close_listener

    def connect(self) -> None:
        started = time.time()
        super().connect()  # pings once the handshake is done
        sock = self.sock
        if sock is not None:
            sock.settimeout(RECEIVE_TIMEOUT_SECONDS)
            self.last_ping_time = started
            self.sock = cast(Any, _EndOfStreamSocket(sock))

    def check_state(self) -> None:
        """Called every ping interval: end the connection if the last ping has gone
        unanswered for PONG_TIMEOUT_SECONDS or a ping cannot be sent; otherwise ping."""
        if self.sock is None:
            return
        now = time.time()
        sent, answered = self.last_ping_time, self.last_ping_pong_time
        if sent is not None and (answered is None or answered < sent):
            if now - sent < PONG_TIMEOUT_SECONDS:
                return  # just sent (the one after the handshake): its pong may be on the way
            log.warning(
                "Socket Mode: no pong within %.0f s; the connection is dead, reconnecting "
                "(session id: %s)",
                now - sent,
                self.session_id,
            )
            self.disconnect()
            return
        try:
            self.ping(f"{self.session_id}:{now}")
        except OSError as error:
            log.warning(
                "Socket Mode: a ping could not be sent (%s); reconnecting (session id: %s)",
                error,
                self.session_id,
            )
            self.disconnect()
            return
        self.last_ping_time = now

    def _lost(self, level: int, why: str) -> None:
        log.log(level, "Socket Mode: %s; reconnecting (session id: %s)", why, self.session_id)
        self.disconnect()
        self.on_lost(self)


class RecoveringSocketModeClient(SocketModeClient):
    """slack_sdk's built-in client with RecoveringConnection and retried connections.open."""

    def __init__(self, app_token: str, **kwargs: Any) -> None:
        self._closing = threading.Event()
        self._last_open: float | None = None
        kwargs.setdefault("ping_interval", PING_INTERVAL_SECONDS)
        super().__init__(app_token, **kwargs)

    def connect(self) -> None:
        """SocketModeClient.connect with a RecoveringConnection."""
        old_session = self.current_session
        old_session_state = self.current_session_state
        if self.wss_uri is None:
            self.wss_uri = self.issue_new_wss_url()
        session = RecoveringConnection(
            url=self.wss_uri,
            logger=self.logger,
            on_message_listener=self._on_message,
            on_error_listener=self._on_error,
            on_close_listener=self._on_close,
            ssl_context=self.web_client.ssl,
            on_lost=self._session_lost,
            **{name: getattr(self, name) for name in PASSED_ON},
        )
        session.connect()
        if old_session_state is not None:
            old_session_state.terminated = True
        if old_session is not None:
            old_session.close()
        self.current_session = session
        self.current_session_state = ConnectionState()
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        if not self.current_app_monitor_started:
            self.current_app_monitor_started = True
            self.current_app_monitor.start()
        self.logger.info(f"A new session has been established (session id: {self.session_id()})")

    def issue_new_wss_url(self) -> str:
        """`apps.connections.open`, tried again after 1, 2 and 4 s when it fails for a reason
        that passes."""
        for delay in (*CONNECT_RETRY_DELAYS, None):
            self._space_out_opens()
            try:
                return super().issue_new_wss_url()
            except Exception as error:
                if delay is None or not transient(error) or self._closing.is_set():
                    raise
                log.warning(
                    "Socket Mode: apps.connections.open failed (%s); trying again in %.0f s",
                    describe(error),
                    delay,
                )
                if self._closing.wait(delay):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _space_out_opens(self) -> None:
        now = time.monotonic()
        if self._last_open is not None:
            self._closing.wait(max(0.0, self._last_open + MIN_SECONDS_BETWEEN_OPENS - now))
        self._last_open = time.monotonic()

    def _session_lost(self, session: RecoveringConnection) -> None:
        """Reconnect at once when the current connection ended (not one already replaced)."""
        if session is not self.current_session or self.closed or not self.auto_reconnect_enabled:
            return
        try:
            self.connect_to_new_endpoint()
        except Exception as error:
            log.warning(
                "Socket Mode: could not reconnect yet (%s); trying again every %.0f s",
                describe(error),
                self.ping_interval,
            )

    def close(self) -> None:
        self._closing.set()
        super().close()


def transient(error: Exception) -> bool:
    """Would `apps.connections.open` likely work if tried again in a moment?"""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        return status >= 500 or error.response.get("error") in TRANSIENT_ERRORS
    return isinstance(error, OSError)


def describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = error.response.get("error", "unknown error")
        return f"HTTP {status}, {code}" if status != 200 else str(code)
    return f"{type(error).__name__}: {error}"


class RecoveringSocketModeHandler(SocketModeHandler):
    """Bolt's built-in Socket Mode handler over a RecoveringSocketModeClient."""

    def __init__(self, app: App, app_token: str, **client_options: Any) -> None:
        # Bolt's __init__ would build (and start the threads of) a client only to drop it.
        self.app = app
        self.app_token = app_token
        self.client = RecoveringSocketModeClient(
            app_token,
            logger=app.logger,
            web_client=app.client,
            proxy=app.client.proxy,
            **client_options,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]


def socket_mode_handler(app: App, app_token: str, **client_options: Any) -> SocketModeHandler:
    """The Socket Mode handler `serve` runs: a RecoveringSocketModeHandler, or Bolt's own (same
    ping interval, a warning logged) where slack_sdk is not as this module expects."""
    missing = missing_internals()
    if not missing:
        handler = RecoveringSocketModeHandler(app, app_token, **client_options)
        missing = [
            f"SocketModeClient.{name}"
            for name in CLIENT_ATTRIBUTES
            if not hasattr(handler.client, name)
        ]
        if not missing:
            return handler
        handler.close()
    log.warning(
        "slack_sdk %s: %s; Socket Mode reconnects as slack_sdk does it (a dropped or half-open "
        "connection can take a minute to notice; the recovery needs the slack_sdk minor version "
        "pinned in pyproject.toml)",
        slack_sdk_version.__version__,
        ", ".join(missing),
    )
    client_options.setdefault("ping_interval", PING_INTERVAL_SECONDS)
    return SocketModeHandler(app, app_token, **client_options)


PASSED_ON = (
    "ping_interval",
    "trace_enabled",
    "all_message_trace_enabled",
    "ping_pong_trace_enabled",
    "receive_buffer_size",
    "proxy",
    "proxy_headers",
)
"""The client's options that RecoveringSocketModeClient.connect gives each connection."""
CLIENT_ATTRIBUTES = (
    "current_session",
    "current_session_state",
    "current_app_monitor",
    "current_app_monitor_started",
    "auto_reconnect_enabled",
    "default_auto_reconnect_enabled",
    "connect_operation_lock",
    "wss_uri",
    "web_client",
    "logger",
    "closed",
    *PASSED_ON,
)
"""What RecoveringSocketModeClient.connect reads or sets on the client (checked on one)."""
CLIENT_METHODS = (
    "_on_message",
    "_on_error",
    "_on_close",
    "_monitor_current_session",
    "connect_to_new_endpoint",
    "issue_new_wss_url",
    "session_id",
)
CONNECTION_ATTRIBUTES = (
    "sock",
    "session_id",
    "last_ping_pong_time",
    "on_error_listener",
    "on_close_listener",
)
CONNECTION_METHODS = ("connect", "check_state", "ping", "disconnect", "run_until_completion")
CONNECTION_ARGUMENTS = (
    "url",
    "logger",
    "on_message_listener",
    "on_error_listener",
    "on_close_listener",
    "ssl_context",
    *PASSED_ON,
)


def missing_internals(
    client_class: type = SocketModeClient, connection_class: type = Connection
) -> list[str]:
    """What RecoveringSocketModeClient relies on and these classes lack (empty: all there)."""
    connection_attributes = {
        name
        for klass in connection_class.__mro__
        for name in vars(klass).get("__annotations__", {})
    }
    parameters = inspect.signature(connection_class).parameters
    return [
        *(
            f"SocketModeClient.{name}()"
            for name in CLIENT_METHODS
            if not callable(getattr(client_class, name, None))
        ),
        *(
            f"Connection.{name}"
            for name in CONNECTION_ATTRIBUTES
            if name not in connection_attributes
        ),
        *(
            f"Connection.{name}()"
            for name in CONNECTION_METHODS
            if not callable(getattr(connection_class, name, None))
        ),
        *(f"Connection({name}=)" for name in CONNECTION_ARGUMENTS if name not in parameters),
    ]
