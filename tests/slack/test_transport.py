"""The kept-alive Web API transport: calls reuse one connection per thread, a connection the
server closed is replaced, and Slack's errors reach slack_sdk's retry handlers and callers
exactly as they would through urllib."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    builtin_handlers,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.slack.platform import transport
from bot.slack.platform.transport import KeepAliveWebClient, KeepAliveWebhookClient
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import BOT_TOKEN


class CountingServer(ThreadingHTTPServer):
    """Answers every POST with `{"ok": true}` over HTTP/1.1 and counts connections; with
    `close_after_each` it closes every connection after its answer, as an idle timeout would."""

    daemon_threads = True

    def __init__(self, close_after_each: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _CountingHandler)
        self.close_after_each = close_after_each
        self.connections = 0
        self.paths: list[str] = []
        # shutdown() waits for the loop to look at its flag, once every poll interval (half a
        # second by default, most of each test's time).
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"

    def __enter__(self) -> CountingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()


class _CountingHandler(BaseHTTPRequestHandler):
    server: CountingServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.paths.append(self.path)
        payload = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if self.server.close_after_each:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(autouse=True)
def fresh_connections() -> Iterator[None]:
    """Each test starts with no open connection on this thread (they outlive a test server)."""
    transport._pool().clear()
    transport._uses_proxy.cache_clear()
    yield
    for connection in transport._pool().values():
        connection.close()
    transport._pool().clear()


def test_calls_on_one_thread_share_one_connection() -> None:
    with CountingServer() as server:
        client = KeepAliveWebClient(token=BOT_TOKEN, base_url=server.url)
        for number in range(5):
            assert client.chat_postMessage(channel="C1", text=f"#{number}")["ok"] is True
    assert server.connections == 1
    assert server.paths == ["/api/chat.postMessage"] * 5


def test_a_plain_web_client_opens_a_connection_per_call() -> None:
    """The baseline the transport improves on (slack_sdk's urllib path)."""
    with CountingServer() as server:
        client = WebClient(token=BOT_TOKEN, base_url=server.url)
        for number in range(3):
            client.chat_postMessage(channel="C1", text=f"#{number}")
    assert server.connections == 3


def test_a_connection_the_server_closed_is_replaced_without_an_error() -> None:
    with CountingServer(close_after_each=True) as server:
        client = KeepAliveWebClient(token=BOT_TOKEN, base_url=server.url)
        for number in range(3):
            assert client.chat_postMessage(channel="C1", text=f"#{number}")["ok"] is True
    assert server.connections == 3


def test_each_thread_keeps_its_own_connection() -> None:
    with CountingServer() as server:
        client = KeepAliveWebClient(token=BOT_TOKEN, base_url=server.url)

        def post_twice() -> None:
            client.chat_postMessage(channel="C1", text="one")
            client.chat_postMessage(channel="C1", text="two")

        threads = [threading.Thread(target=post_twice) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert server.connections == 3
    assert len(server.paths) == 6


@pytest.mark.slow  # waits out a real Retry-After or backoff
def test_a_request_that_cannot_be_sent_is_retried_on_a_new_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A kept connection the server closes just as it is reused breaks on send (a broken
    pipe): that must reach the connection-error retry handler as urllib's URLError."""
    real_request = http.client.HTTPConnection.request
    broken = []

    def break_once(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> None:
        if not broken:
            broken.append(True)
            raise BrokenPipeError(32, "Broken pipe")
        real_request(self, *args, **kwargs)

    with CountingServer() as server:
        client = KeepAliveWebClient(
            token=BOT_TOKEN,
            base_url=server.url,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )
        client.chat_postMessage(channel="C1", text="first")
        monkeypatch.setattr(http.client.HTTPConnection, "request", break_once)
        assert client.chat_postMessage(channel="C1", text="second")["ok"] is True
    assert broken == [True]
    assert server.paths == ["/api/chat.postMessage"] * 2
    assert server.connections == 2


@pytest.fixture
def no_retry_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk sleeps Retry-After plus a random fraction of a second before it retries a 429;
    with that fraction 0, a Retry-After of 0 is retried at once (the retry is what is tested
    here, not how long it waits)."""
    monkeypatch.setattr(builtin_handlers.random, "random", lambda: 0.0)


@pytest.mark.usefixtures("no_retry_jitter")
def test_a_rate_limit_is_retried_after_retry_after_on_the_kept_connection(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)
    client = KeepAliveWebClient(
        token=BOT_TOKEN,
        base_url=fake_slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel="C1", text="hello")["ok"] is True
    calls = fake_slack.calls_to("chat.postMessage")
    assert [call.ok for call in calls] == [False, True]


@pytest.mark.slow  # waits out a real Retry-After or backoff
def test_a_server_error_is_retried_then_reported_with_its_status(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, times=3)
    client = KeepAliveWebClient(
        token=BOT_TOKEN,
        base_url=fake_slack.base_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=2)],
    )
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")
    assert raised.value.response.status_code == 503
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


def test_slack_errors_in_a_200_answer_raise_as_usual(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    client = KeepAliveWebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")
    assert raised.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="again")["ok"] is True


def test_a_proxy_in_the_environment_is_used_through_urllib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with CountingServer() as proxy:
        monkeypatch.setenv("http_proxy", proxy.url.removesuffix("/api/"))
        monkeypatch.setenv("no_proxy", "")
        client = KeepAliveWebClient(token=BOT_TOKEN, base_url="http://slack.invalid/api/")
        assert client.chat_postMessage(channel="C1", text="via proxy")["ok"] is True
    assert proxy.paths == ["http://slack.invalid/api/chat.postMessage"]


def test_response_url_posts_share_one_connection() -> None:
    with CountingServer() as server:
        for number in range(3):
            client = KeepAliveWebhookClient(f"{server.url}response/T{number}")
            assert client.send(text=f"#{number}").status_code == 200
    assert server.connections == 1
    assert server.paths == [f"/api/response/T{number}" for number in range(3)]


@pytest.mark.usefixtures("no_retry_jitter")
def test_a_rate_limited_response_url_post_is_retried(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("response_url", status=429, retry_after=0)
    client = KeepAliveWebhookClient(
        fake_slack.response_url("limited"),
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.send(text="hello").status_code == 200
    assert [post.ok for post in fake_slack.responses] == [False, True]


def test_a_refused_response_url_post_returns_its_status(fake_slack: FakeSlack) -> None:
    client = KeepAliveWebhookClient(fake_slack.root_url + "/nowhere")
    response = client.send(text="hello")
    assert response.status_code == 404
    assert "not_found" in response.body


def test_like_copies_what_bolt_set_on_its_per_request_client() -> None:
    handlers = [RateLimitErrorRetryHandler()]
    original = WebClient(
        token="xoxb-other", base_url="http://127.0.0.1:9/api/", timeout=7, retry_handlers=handlers
    )
    twin = KeepAliveWebClient.like(original)
    assert (twin.token, twin.base_url, twin.timeout) == ("xoxb-other", original.base_url, 7)
    assert twin.retry_handlers == handlers
    assert KeepAliveWebClient.like(twin) is twin


def test_the_installed_slack_sdk_has_the_methods_the_kept_connections_override() -> None:
    assert transport.KEEPS_WEB_API_ALIVE
    assert transport.KEEPS_RESPONSE_URLS_ALIVE


def test_without_the_private_method_a_client_keeps_slack_sdks_transport_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class SdkClient:
        """A slack_sdk client whose private transport method has another name."""

        def _send(self, url: str, req: object) -> str:
            return "slack_sdk's own"

    class KeptAlive(SdkClient):
        def _perform_http_request_internal(self, url: str, req: object) -> str:
            return "kept alive"

    caplog.set_level(logging.WARNING, logger="bot.slack.platform.transport")

    kept = transport._fence(KeptAlive, SdkClient, "_perform_http_request_internal")

    assert kept is False
    assert not hasattr(KeptAlive, "_perform_http_request_internal")
    assert "open a new connection each" in caplog.text
