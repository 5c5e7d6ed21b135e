"""bot/slack/serving/buffered_http.py on a real socket, in process: requests reach the WSGI app
only whole, and clients that send half a request are closed at their deadline without holding
the app's threads. Short deadlines here; the gunicorn worker and the defaults are tested
end to end in tests/slack/test_slow_clients.py."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from bot.slack.serving.buffered_http import (
    Answer,
    HttpConnection,
    Limits,
    Peer,
    WsgiPool,
    call_wsgi,
)
from tests.support.slow_clients import STALLS, StalledClients
from tests.support.waiting import eventually

LIMITS = Limits(header_seconds=0.5, body_seconds=0.5, keepalive_seconds=0.5, max_body_bytes=1000)
SHORT_DEADLINES = Limits(
    header_seconds=0.2, body_seconds=0.2, keepalive_seconds=0.2, max_body_bytes=1000
)
"""For the tests that wait for a deadline to pass: shorter, still four times the 50 ms gaps
between the bytes of the dripping client."""
WAITS_FOR_A_DEADLINE = pytest.mark.parametrize("limits", [SHORT_DEADLINES], ids=["short"])
MARGIN = 5.0
"""How much later than its deadline a stalled client may be closed on a loaded machine."""


@dataclass
class App:
    """A WSGI app that records what it was called with and answers the body it got."""

    seen: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    release: threading.Event | None = None
    """When set, each call waits for it (after setting `entered`)."""
    entered: threading.Event = field(default_factory=threading.Event)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.entered.set()
        if self.release is not None:
            self.release.wait(10)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        self.seen.append(environ)
        self.bodies.append(body)
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("the app failed")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "999")])
        return [b"got:", body]


@dataclass
class Server:
    address: tuple[str, int]
    app: App
    connections: list[HttpConnection]
    stopping: threading.Event
    on_loop: Callable[[Callable[[], object]], object]
    """Run a function on the server's event loop thread."""


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def limits() -> Limits:
    """The server fixture's limits; a test may parametrize `limits` to change them."""
    return LIMITS


@pytest.fixture
def server(app: App, limits: Limits) -> Iterator[Server]:
    """An event loop on a thread of its own serving `app` on 127.0.0.1 through HttpConnection,
    with one thread for the app and the short LIMITS."""
    loop = asyncio.new_event_loop()
    listening = threading.Event()
    stopping = threading.Event()
    connections: list[HttpConnection] = []
    pool = WsgiPool(app, threads=1)
    address: list[tuple[str, int]] = []
    done = loop.create_future()
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        peer = Peer(writer.get_extra_info("peername"), writer.get_extra_info("sockname"))
        connection = HttpConnection(reader, writer, pool, limits, peer, stopping=stopping.is_set)
        connections.append(connection)
        await connection.serve()

    async def main() -> None:
        async with await asyncio.start_server(handle, "127.0.0.1", 0) as listener:
            address.append(listener.sockets[0].getsockname()[:2])
            listening.set()
            await done
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert listening.wait(10)
    yield Server(address[0], app, connections, stopping, loop.call_soon_threadsafe)
    if app.release is not None:
        app.release.set()
    loop.call_soon_threadsafe(done.set_result, None)
    thread.join(10)
    loop.close()
    pool.shutdown()


def exchange(address: tuple[str, int], data: bytes, *, responses: int = 1) -> list[bytes]:
    """Send `data` on a new connection; the next `responses` whole responses (each
    with a Content-Length), or fewer if the server closes first."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        received = b""
        answers: list[bytes] = []
        while len(answers) < responses:
            head_end = received.find(b"\r\n\r\n")
            if head_end >= 0:
                length = _content_length(received[:head_end])
                end = head_end + 4 + length
                if len(received) >= end:
                    answers.append(received[:end])
                    received = received[end:]
                    continue
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return answers


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def post(path: str, body: bytes, *headers: bytes) -> bytes:
    lines = [
        b"POST " + path.encode() + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Content-Length: %d" % len(body),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def body_of(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1]


def test_a_whole_request_reaches_the_app_with_its_environ(server: Server) -> None:
    request = post(
        "/slack/events?a=1&b=%20",
        b"token=x&text=hi",
        b"Content-Type: application/x-www-form-urlencoded",
        b"X-Slack-Signature: v0=abc",
        b"X-Slack-Request-Timestamp: 12345",
    )

    (answer,) = exchange(server.address, request)

    assert (status(answer), body_of(answer)) == (200, b"got:token=x&text=hi")
    assert b"content-length: 19\r\n" in answer.lower()  # the body's own, not the app's 999
    environ = server.app.seen[0]
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/slack/events"
    assert environ["QUERY_STRING"] == "a=1&b=%20"
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "15"
    assert environ["HTTP_X_SLACK_SIGNATURE"] == "v0=abc"
    assert environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"] == "12345"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.url_scheme"] == "http"


def test_the_path_is_percent_decoded_as_wsgi_wants(server: Server) -> None:
    exchange(server.address, post("/slack/ev%65nts", b""))

    assert server.app.seen[0]["PATH_INFO"] == "/slack/events"


def test_a_header_spelled_with_an_underscore_is_dropped_so_it_cannot_pose_as_another(
    server: Server,
) -> None:
    exchange(server.address, post("/", b"", b"X-Slack_Signature: forged"))

    assert "HTTP_X_SLACK_SIGNATURE" not in server.app.seen[0]


def test_a_chunked_body_reaches_the_app_decoded_with_its_length(server: Server) -> None:
    request = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )

    (answer,) = exchange(server.address, request)

    assert body_of(answer) == b"got:hello world"
    assert server.app.seen[0]["CONTENT_LENGTH"] == "11"


def test_one_kept_alive_connection_carries_pipelined_requests_in_order(server: Server) -> None:
    answers = exchange(
        server.address, post("/", b"one") + post("/", b"two") + post("/", b"three"), responses=3
    )

    assert [body_of(answer) for answer in answers] == [b"got:one", b"got:two", b"got:three"]


def test_a_head_request_gets_the_length_but_no_body(server: Server) -> None:
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk

    assert status(answer) == 200
    assert b"content-length: 4\r\n" in answer.lower()
    assert body_of(answer) == b""


def test_an_exception_in_the_app_is_answered_500_and_the_connection_stays_usable(
    server: Server,
) -> None:
    answers = exchange(server.address, post("/fail", b"") + post("/", b"after"), responses=2)

    assert [status(answer) for answer in answers] == [500, 200]


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (post("/", b"x" * 1001), 413),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"3e9\r\n"
            + b"x" * 1001
            + b"\r\n0\r\n\r\n",
            413,
        ),
        (b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 20000 + b"\r\n\r\n", 431),
        (b"NOT A REQUEST\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nine\r\n\r\n", 400),
    ],
    ids=[
        "body over the limit",
        "chunked body over the limit",
        "huge headers",
        "garbage",
        "bad content-length",
    ],
)
def test_a_request_that_cannot_be_taken_is_refused_and_never_reaches_the_app(
    server: Server, request_bytes: bytes, expected: int
) -> None:
    answers = exchange(server.address, request_bytes)

    assert [status(answer) for answer in answers] == [expected]
    assert server.app.seen == []


def test_a_body_over_the_limit_is_refused_by_its_length_before_it_is_sent(
    server: Server,
) -> None:
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")

        assert status(sock.recv(65536)) == 413


@WAITS_FOR_A_DEADLINE
@pytest.mark.parametrize("kind", list(STALLS))
def test_a_stalled_request_is_answered_408_and_closed_at_its_deadline(
    server: Server, limits: Limits, kind: str
) -> None:
    with StalledClients(server.address, 1, kinds=[kind]) as stalled:
        assert stalled.wait_closed(limits.header_seconds + limits.body_seconds + MARGIN) == []

    (connection,) = stalled.connections
    assert connection.status == 408
    assert connection.open_for is not None and connection.open_for >= limits.header_seconds * 0.9
    assert server.app.seen == []


@WAITS_FOR_A_DEADLINE
def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline(
    server: Server,
) -> None:
    with socket.create_connection(server.address, timeout=10) as sock:
        assert sock.recv(100) == b""  # closed, without an answer: nothing was asked


@WAITS_FOR_A_DEADLINE
def test_headers_dripped_a_byte_at_a_time_are_cut_off_at_the_deadline(
    server: Server, limits: Limits
) -> None:
    """The deadline is for the whole headers, not for silence between bytes."""
    request = post("/", b"x")
    answer = b""
    with socket.create_connection(server.address, timeout=10) as sock:
        give_up = time.monotonic() + limits.header_seconds + MARGIN
        for byte in request[: len(request) - 4]:  # never the blank line that ends the headers
            if select.select([sock], [], [], 0.05)[0] or time.monotonic() > give_up:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
        with contextlib.suppress(OSError):
            answer = sock.recv(65536)

    assert status(answer) == 408
    assert server.app.seen == []


@pytest.mark.parametrize("limits", [Limits(header_seconds=60, body_seconds=60)])
def test_stalled_clients_do_not_hold_the_apps_only_thread(server: Server) -> None:
    with StalledClients(server.address, 10) as stalled:
        (answer,) = exchange(server.address, post("/", b"signed"))

        assert body_of(answer) == b"got:signed"
        assert stalled.still_open() == 10  # answered while all of them were still waiting


@pytest.mark.parametrize("limits", [replace(LIMITS, keepalive_seconds=0.2)], ids=["short"])
def test_a_kept_alive_connection_left_idle_is_closed_after_the_keepalive(
    server: Server,
) -> None:
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(post("/", b"one"))
        answer = b""
        while b"got:one" not in answer:
            answer += sock.recv(65536)

        assert sock.recv(100) == b""


def test_a_stopping_server_closes_idle_connections_and_says_close_on_the_last_answer(
    server: Server, app: App
) -> None:
    app.release = threading.Event()
    with (
        socket.create_connection(server.address, timeout=10) as busy,
        socket.create_connection(server.address, timeout=10) as idle,
    ):
        busy.sendall(post("/", b"in flight"))
        assert app.entered.wait(10)
        eventually(lambda: len(server.connections) == 2, "both connections accepted")
        server.stopping.set()
        server.on_loop(lambda: [connection.close_if_idle() for connection in server.connections])

        assert idle.recv(100) == b""
        app.release.set()
        answer = b""
        while chunk := busy.recv(65536):
            answer += chunk

    assert body_of(answer) == b"got:in flight"
    assert b"connection: close" in answer.lower()


def test_call_wsgi_joins_the_answer_and_closes_the_iterable() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterable[bytes]:
            return iter([b"a", b"b"])

        def close(self) -> None:
            closed.append(True)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        start_response("201 Created", [("X-Thing", "1")])(b"written-")
        return Body()

    answer = call_wsgi(wsgi, {"REQUEST_METHOD": "GET", "PATH_INFO": "/"})

    assert answer == Answer(201, b"Created", [(b"X-Thing", b"1")], b"written-ab")
    assert closed == [True]
