"""Slow and stalled clients against the Procfile's real `web:` process (gunicorn with the worker
of bot/slack/serving/worker.py, its default deadlines): Slack's signed requests are still
acknowledged while 100 connections sit on half a request, and the server closes those at their
deadlines. Also SIGTERM with connections open: the request being read is answered, the rest
closed, and the process exits cleanly."""

from __future__ import annotations

import shlex
import signal
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from bot.settings import Settings
from bot.slack.serving.server import gunicorn_options
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import SIGNING_SECRET, Post, web_env
from tests.support.slack_requests import app_mention, prepare, slash_command
from tests.support.slow_clients import StalledClients
from tests.support.web_process import WebProcess, procfile_command

pytestmark = pytest.mark.slow  # the Procfile's web process

STALLED = 100
SIGNED = 20
SLACK_ACK_SECONDS = 3.0
"""Slack's own limit: a request not acknowledged within 3 s is shown as failed or retried."""
MARGIN = 5.0
"""How much later than its deadline a stalled connection may be closed on a loaded machine."""
DEFAULTS = Settings.model_construct()


@pytest.fixture
def start_web(
    fake_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WebProcess]]:
    """start_web(**env) -> the Procfile's web process, started, against `fake_slack`."""
    started: list[WebProcess] = []

    def start(**env: str) -> WebProcess:
        process = WebProcess(
            web_env(fake_slack, tmp_path_factory.mktemp("slow-clients-data"), **env)
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


def address_of(process: WebProcess) -> tuple[str, int]:
    return ("127.0.0.1", process.port)


def test_the_procfile_and_serve_run_the_worker_that_reads_whole_requests() -> None:
    web = shlex.split(procfile_command("web"))
    worker_class = web[web.index("--worker-class") + 1]

    assert worker_class == "bot.slack.serving.worker.BufferingWorker"
    assert gunicorn_options(Settings.model_construct())["worker_class"] == worker_class


def test_signed_requests_are_acknowledged_while_100_connections_stall_and_those_are_closed(
    start_web: Callable[..., WebProcess], fake_slack: FakeSlack, post: Post
) -> None:
    web = start_web()
    header_deadline = DEFAULTS.http_header_timeout_seconds
    body_deadline = DEFAULTS.http_body_timeout_seconds

    with StalledClients(address_of(web), STALLED) as stalled:
        acks = []
        for number in range(SIGNED):
            payload = (
                slash_command("help", response_url=fake_slack.response_url(f"slow{number}"))
                if number % 2
                else app_mention(f"<@U0BOT> does django have an admin panel #{number}")
            )
            kind = "slash_command" if number % 2 else "app_mention"
            began = time.monotonic()
            response = post(web.url, kind, payload)
            acks.append((response.status, time.monotonic() - began))
        open_meanwhile = stalled.still_open()
        left_open = stalled.wait_closed(header_deadline + body_deadline + MARGIN)

    assert [status for status, _ in acks] == [200] * SIGNED
    slowest = max(seconds for _, seconds in acks)
    assert slowest < SLACK_ACK_SECONDS, f"the slowest ack took {slowest:.1f} s"
    assert open_meanwhile > 0  # acknowledged while stalled connections were held
    assert left_open == []
    for connection in stalled.connections:
        deadline = header_deadline if connection.kind == "half headers" else body_deadline
        assert connection.status == 408
        assert connection.open_for is not None
        assert connection.open_for < deadline + MARGIN, (connection.kind, connection.open_for)
    fake_slack.wait_for("chat.postMessage", SIGNED // 2)
    assert post(web.url, "slash_command", slash_command("help")).status == 200


def test_sigterm_answers_the_request_being_read_closes_idle_connections_and_exits_0(
    start_web: Callable[..., WebProcess],
) -> None:
    # One worker, so both connections reach it; a long keep-alive, so only the stop can close
    # the idle one.
    web = start_web(WEB_CONCURRENCY="1", GUNICORN_CMD_ARGS="--keep-alive 60")
    request = signed_request("slash_command", slash_command("help"))
    split = request.index(b"\r\n\r\n") + 10
    with (
        socket.create_connection(address_of(web), timeout=10) as in_flight,
        socket.create_connection(address_of(web), timeout=10) as idle,
    ):
        in_flight.sendall(request[:split])  # the headers and 6 bytes of the body
        idle.sendall(signed_request("slash_command", slash_command("help")))
        assert read_response(idle).startswith(b"HTTP/1.1 200 ")  # and kept alive

        web.send_signal(signal.SIGTERM)

        assert idle.recv(100) == b""  # closed by the stopping worker
        in_flight.sendall(request[split:])
        answer = read_response(in_flight)
        assert web.wait(timeout=30) == 0
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in answer.lower()


def signed_request(kind: str, payload: dict) -> bytes:
    """The bytes of one signed POST /slack/events."""
    body, headers = prepare(kind, payload, secret=SIGNING_SECRET)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body


def read_response(sock: socket.socket) -> bytes:
    """One whole response (it has a Content-Length) from `sock`."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed before answering: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
    length = int({name.strip().lower(): value for name, value in fields.items()}[b"content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of the answer"
        body += chunk
    return head + b"\r\n\r\n" + body
