"""The bot in Socket Mode end to end: the real app connects to the fake Slack's WebSocket
endpoint (tests/support/fake_socket_mode.py) with its app-level token, and envelopes delivered over
the socket are acknowledged and answered through the fake Web API and response URLs.

Most tests run the app in this process (Bolt's SocketModeHandler, as `serve_socket_mode` builds
it); one runs the Procfile's `worker:` command. The socket payloads are the HTTP bodies from
slack_requests.py: the same JSON for events and interactivity, the form fields as a JSON object
for slash commands.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin.connection import Connection

from bot.knowledge import KnowledgeBase
from bot.matching import matcher_for
from bot.render.block_kit import escape
from bot.settings import Settings
from bot.slack.app import create_app, finish_work
from bot.slack.platform.socket_recovery import (
    PING_INTERVAL_SECONDS,
    RecoveringSocketModeHandler,
    missing_internals,
    socket_mode_handler,
)
from bot.slack.wire.ids import ActionId, CallbackId
from tests.support.fake_slack import APPS_CONNECTIONS_OPEN, FakeSlack
from tests.support.fake_socket_mode import (
    Ack,
    CloseCode,
    FakeSocketMode,
    Opcode,
    SocketConnection,
    accept_key,
    close_payload,
    encode_frame,
    read_frame,
)
from tests.support.slack_fixtures import BOT_TOKEN
from tests.support.slack_requests import (
    ALICE_DM,
    GENERAL,
    app_home_opened,
    app_mention,
    block_actions,
    direct_message,
    global_shortcut,
    message_shortcut,
    slash_command,
    unique_ts,
    view_submission,
    wire_format,
)
from tests.support.slack_test_helpers import (
    answerable,
    assert_valid_block_kit,
    best_answer_steps,
    buttons,
)
from tests.support.waiting import eventually
from tests.support.web_process import PROJECT_ROOT, procfile_command

pytestmark = pytest.mark.slow  # subprocesses or servers of their own


APP_TOKEN = "xapp-test-token"
ENVELOPE_TYPES = {"command": "slash_commands", "interactive": "interactive", "event": "events_api"}
"""The Socket Mode envelope type for each of slack_requests' wire formats."""
ASK_QUESTION = "does django have an admin"
WORKER_STARTUP_SECONDS = 30.0

Connect = Callable[..., SocketModeHandler]


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> FakeSocketMode:
    """The fake's Socket Mode endpoint; `apps.connections.open` hands out its URLs."""
    return fake_slack.socket_mode


@pytest.fixture
def socket_settings(fake_slack: FakeSlack, tmp_path: Path) -> Settings:
    """Socket Mode settings (an app token, no signing secret) with a fresh DATA_DIR."""
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=fake_slack.base_url,
        data_dir=tmp_path / "data",
        database_url=None,
    )


@pytest.fixture
def connect(socket_settings: Settings, socket_mode: FakeSocketMode) -> Iterator[Connect]:
    """connect(**client_options) -> the handler `serve_socket_mode` runs, over the app from
    `create_app`, connected to the fake (without blocking); closed afterwards."""
    handlers: list[SocketModeHandler] = []

    def connect_app(**options: Any) -> SocketModeHandler:
        handler = socket_mode_handler(create_app(socket_settings), APP_TOKEN, **options)
        handlers.append(handler)
        connected_before = len(socket_mode.connections)
        handler.connect()
        socket_mode.wait_for_connection(connected_before + 1)
        return handler

    yield connect_app
    # Slack's side goes first: the client's close() waits for a pending read (up to its 3 s
    # receive timeout), which ends at once when the server has hung up.
    socket_mode.stop()
    for handler in handlers:
        handler.close()


@pytest.fixture
def handler(connect: Connect) -> SocketModeHandler:
    """The app, connected over Socket Mode with the handler's default options."""
    return connect()


def deliver(
    socket_mode: FakeSocketMode, kind: str, payload: Mapping[str, Any], **options: Any
) -> Ack:
    """Send a slack_requests payload in the envelope Slack would use; wait for the app's ack."""
    return socket_mode.deliver(ENVELOPE_TYPES[wire_format(kind)], dict(payload), **options)


def finish_listeners(handler: SocketModeHandler) -> None:
    """Wait until every listener the app started has run (this test's app is its own)."""
    finish_work(handler.app)


def ack_only(ack: Ack) -> bool:
    """True for a bare acknowledgement: the envelope_id and nothing else."""
    return ack.message == {"envelope_id": ack.envelope_id}


# --- connecting ----------------------------------------------------------------------------------


def test_the_app_opens_the_connection_with_its_app_token_and_answers_pings(
    handler: SocketModeHandler, fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    opened = fake_slack.calls_to("apps.connections.open")

    assert [(call.token, call.ok) for call in opened] == [(APP_TOKEN, True)]
    assert handler.client.is_connected()
    socket_mode.ping(b"are you there")
    assert socket_mode.wait_for_pong(b"are you there") == b"are you there"


def test_the_fake_refuses_to_open_a_connection_for_a_bot_token(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    client = WebClient(base_url=fake_slack.base_url)

    with pytest.raises(SlackApiError) as refused:
        client.apps_connections_open(app_token=BOT_TOKEN)

    assert refused.value.response["error"] == "not_allowed_token_type"


@pytest.mark.parametrize("how", ["disconnect message", "close frame"])
def test_when_slack_drops_the_connection_the_app_reconnects_with_a_new_url_and_keeps_answering(
    connect: Connect,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
    how: str,
) -> None:
    handler = connect()
    first = socket_mode.connections[0]

    if how == "disconnect message":
        socket_mode.disconnect("refresh_requested", connection=first)
    else:
        socket_mode.close(CloseCode.GOING_AWAY, "server restart", connection=first)
    second = socket_mode.wait_for_connection(2)
    socket_mode.wait_for_close(first)
    ack = deliver(socket_mode, "app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"))

    assert ack.connection == second.number
    assert handler.client.is_connected()
    assert len(fake_slack.wait_for("apps.connections.open", 2, ok=True)) == 2
    assert second.ticket != first.ticket
    assert socket_mode.rejections == []
    fake_slack.wait_for("chat.postMessage")


RECOVERY_SECONDS = 15.0
"""The promise: after a connection dies, an event is answered again within this long."""

Fault = Callable[[FakeSlack, FakeSocketMode, SocketConnection], None]


def drop_without_a_close_frame(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, connection: SocketConnection
) -> None:
    socket_mode.drop(connection)


def go_half_open(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, connection: SocketConnection
) -> None:
    socket_mode.go_silent(connection)


def drop_while_connections_open_fails(status: int, error: str) -> Fault:
    """A dropped connection, and the next three `apps.connections.open` calls failing."""

    def fault(
        fake_slack: FakeSlack, socket_mode: FakeSocketMode, connection: SocketConnection
    ) -> None:
        fake_slack.fail_next(APPS_CONNECTIONS_OPEN, status=status, error=error, times=3)
        socket_mode.drop(connection)

    return fault


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(drop_without_a_close_frame, id="TCP FIN without a close frame"),
        pytest.param(go_half_open, id="half-open"),
        pytest.param(
            drop_while_connections_open_fails(200, "internal_error"),
            id="connections.open fails 3 times (ok false)",
        ),
        pytest.param(
            drop_while_connections_open_fails(503, "service_unavailable"),
            id="connections.open fails 3 times (HTTP 503)",
        ),
    ],
)
def test_after_a_dead_connection_the_app_answers_events_again_within_15_seconds(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
    fault: Fault,
) -> None:
    entry, phrasing = answerable(kb, 1)
    first = socket_mode.connections[0]
    faulted_at = time.monotonic()

    def left() -> float:
        return max(0.0, faulted_at + RECOVERY_SECONDS - time.monotonic())

    fault(fake_slack, socket_mode, first)
    second = eventually(
        lambda: next((c for c in socket_mode.connections[1:] if c.open), None),
        "a new Socket Mode connection",
        timeout=left(),
    )
    ack = deliver(
        socket_mode,
        "app_mention",
        app_mention(f"<@U0BOT> {phrasing}"),
        connection=second,
        timeout=left(),
    )
    posted = eventually(
        lambda: fake_slack.calls_to("chat.postMessage"), "the answer", timeout=left()
    )[0]

    recovered_in = posted.at - faulted_at
    assert recovered_in <= RECOVERY_SECONDS
    assert ack_only(ack)
    assert ack.connection == second.number
    assert escape(entry.title) in posted.params["blocks"][0]["text"]["text"]
    assert socket_mode.rejections == []


def test_an_app_token_slack_rejects_is_reported_at_once_not_retried(
    fake_slack: FakeSlack, socket_settings: Settings
) -> None:
    fake_slack.fail_next(APPS_CONNECTIONS_OPEN, error="invalid_auth")
    handler = socket_mode_handler(create_app(socket_settings), APP_TOKEN)
    try:
        with pytest.raises(SlackApiError) as refused:
            handler.connect()
    finally:
        handler.close()

    assert refused.value.response["error"] == "invalid_auth"
    assert len(fake_slack.calls_to(APPS_CONNECTIONS_OPEN)) == 1


def test_serve_runs_the_recovering_handler_on_this_slack_sdk(socket_settings: Settings) -> None:
    handler = socket_mode_handler(create_app(socket_settings), APP_TOKEN)
    handler.close()

    assert missing_internals() == []
    assert isinstance(handler, RecoveringSocketModeHandler)
    assert handler.client.ping_interval == PING_INTERVAL_SECONDS


def test_without_the_slack_sdk_internals_it_relies_on_serve_falls_back_to_bolts_handler(
    socket_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delattr(Connection, "check_state")

    handler = socket_mode_handler(create_app(socket_settings), APP_TOKEN)
    handler.close()

    assert type(handler) is SocketModeHandler
    assert handler.client.ping_interval == PING_INTERVAL_SECONDS
    assert "Connection.check_state()" in caplog.text
    assert "reconnects as slack_sdk does it" in caplog.text


# --- the fake's WebSocket, spoken by hand ---------------------------------------------------------


@contextmanager
def raw_client(url: str) -> Iterator[tuple[socket.socket, BinaryIO, str]]:
    """A bare TCP connection that sent a WebSocket handshake for `url`: (socket, reader, the
    Sec-WebSocket-Key it sent)."""
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(
            (
                f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode("ascii")
        )
        with sock.makefile("rb") as reader:
            yield sock, reader, key


def read_http_head(reader: BinaryIO) -> tuple[int, dict[str, str]]:
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline().decode("latin-1").strip()) != "":
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    return status, headers


def masked(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    return encode_frame(opcode, payload, fin=fin, mask=os.urandom(4))


def test_the_fake_upgrades_with_the_accept_key_and_says_hello(socket_mode: FakeSocketMode) -> None:
    with raw_client(socket_mode.issue_url()) as (_, reader, key):
        status, headers = read_http_head(reader)
        hello = read_frame(reader)

    assert status == 101
    assert headers["sec-websocket-accept"] == accept_key(key)
    assert (hello.opcode, hello.masked) == (Opcode.TEXT, False)
    assert json.loads(hello.payload)["type"] == "hello"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        pytest.param(lambda s: s.issue_url().replace("ticket=", "ticket=x"), 401, id="bad ticket"),
        pytest.param(lambda s: s.issue_url().replace("/link", "/other"), 404, id="wrong path"),
    ],
)
def test_the_fake_refuses_a_handshake_to_another_path_or_with_a_ticket_it_never_issued(
    socket_mode: FakeSocketMode, url: Callable[[FakeSocketMode], str], status: int
) -> None:
    with raw_client(url(socket_mode)) as (_, reader, _key):
        assert read_http_head(reader)[0] == status

    assert [rejection.status for rejection in socket_mode.rejections] == [status]


def test_a_ticket_is_good_for_one_connection(socket_mode: FakeSocketMode) -> None:
    url = socket_mode.issue_url()
    with raw_client(url) as (_, first, _key):
        assert read_http_head(first)[0] == 101
        with raw_client(url) as (_, second, _key):
            assert read_http_head(second)[0] == 401


def test_the_fake_reassembles_masked_fragments_and_answers_pings_and_close(
    socket_mode: FakeSocketMode,
) -> None:
    ack = json.dumps({"envelope_id": "e-1", "payload": {"text": "ok"}}).encode()
    with raw_client(socket_mode.issue_url()) as (sock, reader, _key):
        read_http_head(reader)
        read_frame(reader)
        sock.sendall(
            masked(Opcode.TEXT, ack[:10], fin=False)
            + masked(Opcode.PING, b"ping in between")
            + masked(Opcode.CONTINUATION, ack[10:])
            + masked(Opcode.CLOSE, close_payload(CloseCode.NORMAL, "bye"))
        )
        pong, close = read_frame(reader), read_frame(reader)

    assert socket_mode.wait_for_ack("e-1").payload == {"text": "ok"}
    assert (pong.opcode, pong.payload) == (Opcode.PONG, b"ping in between")
    assert (close.opcode, close.payload[:2]) == (Opcode.CLOSE, close_payload(CloseCode.NORMAL))
    socket_mode.wait_for_close(socket_mode.connections[0])
    assert socket_mode.connections[0].close_code == CloseCode.NORMAL


def test_the_fake_closes_with_a_protocol_error_on_an_unmasked_frame(
    socket_mode: FakeSocketMode,
) -> None:
    with raw_client(socket_mode.issue_url()) as (sock, reader, _key):
        read_http_head(reader)
        read_frame(reader)
        sock.sendall(encode_frame(Opcode.TEXT, b"{}"))
        close = read_frame(reader)

    assert close.opcode == Opcode.CLOSE
    assert close.payload[:2] == close_payload(CloseCode.PROTOCOL_ERROR)
    assert socket_mode.messages == []


# --- events --------------------------------------------------------------------------------------


ASKED_UNDER_A_MESSAGE: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "app_mention": lambda text, ts: app_mention(f"<@U0BOT> {text}", ts=ts),
    "message_shortcut": lambda text, ts: message_shortcut(
        CallbackId.ASK_SHORTCUT, text, message_ts=ts
    ),
}
"""Payloads that ask about a channel message at `ts`: (question, ts) -> payload."""


@pytest.mark.parametrize(("kind", "index"), [("app_mention", 1), ("message_shortcut", 4)])
def test_a_mention_or_message_shortcut_over_the_socket_is_answered_in_the_message_thread(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
    kind: str,
    index: int,
) -> None:
    entry, phrasing = answerable(kb, index)
    ts = unique_ts()

    ack = deliver(socket_mode, kind, ASKED_UNDER_A_MESSAGE[kind](phrasing, ts))

    assert ack_only(ack)
    posted = fake_slack.wait_for("chat.postMessage")[0]
    assert posted.token == BOT_TOKEN
    assert (posted.params["channel"], posted.params["thread_ts"]) == (GENERAL, ts)
    assert escape(entry.title) in posted.params["blocks"][0]["text"]["text"]


def test_a_direct_message_over_the_socket_is_answered_in_the_dm(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
) -> None:
    entry, phrasing = answerable(kb, 2)

    assert ack_only(deliver(socket_mode, "direct_message", direct_message(phrasing)))

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert posted["channel"] == ALICE_DM
    assert escape(entry.title) in posted["blocks"][0]["text"]["text"]


def test_opening_the_home_tab_over_the_socket_publishes_it(
    handler: SocketModeHandler, fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    assert ack_only(deliver(socket_mode, "app_home_opened", app_home_opened("U0ALICE")))

    assert fake_slack.wait_for("views.publish")[0].params["user_id"] == "U0ALICE"


@pytest.mark.parametrize("kind", ["app_mention", "direct_message"])
def test_an_event_delivered_again_as_a_retry_is_acknowledged_and_answered_once(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
    kind: str,
) -> None:
    builder = app_mention if kind == "app_mention" else direct_message
    event = builder(f"<@U0BOT> {kb.entries[0].phrasings[0]}")

    first = deliver(socket_mode, kind, event)
    retry = deliver(socket_mode, kind, event, retry_attempt=1, retry_reason="timeout")

    assert ack_only(first)
    assert ack_only(retry)
    assert first.envelope_id != retry.envelope_id
    fake_slack.wait_for("chat.postMessage")
    finish_listeners(handler)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(lambda: direct_message("hello", bot_id="B0OTHER"), id="bot message"),
        pytest.param(lambda: direct_message("edited", subtype="message_changed"), id="edit"),
        pytest.param(lambda: app_mention("<@U0BOT> hi", user="U0BOT"), id="own mention"),
    ],
)
def test_events_the_bot_ignores_are_still_acknowledged(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    event: Callable[[], dict[str, Any]],
) -> None:
    payload = event()

    assert ack_only(deliver(socket_mode, payload["event"]["type"], payload))

    finish_listeners(handler)
    assert fake_slack.calls_to("chat.postMessage") == []


# --- slash commands ------------------------------------------------------------------------------


def test_framework_ask_over_the_socket_is_acknowledged_and_answered_through_the_response_url(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
) -> None:
    expected = matcher_for(kb).match(ASK_QUESTION).best
    assert expected is not None, f"the knowledge no longer answers {ASK_QUESTION!r}"
    command = slash_command(f"ask {ASK_QUESTION}", response_url=fake_slack.response_url("ask"))

    ack = deliver(socket_mode, "slash_command", command)

    assert ack_only(ack)
    reply = fake_slack.wait_for_response(1)[0]
    assert reply.token == "ask"
    assert reply.body["response_type"] == "ephemeral"
    assert escape(expected.entry.title) in reply.body["blocks"][0]["text"]["text"]
    assert fake_slack.calls_to("chat.postMessage") == []


def test_the_whole_questionnaire_runs_over_the_socket_with_each_step_in_the_ack(
    handler: SocketModeHandler,
    fake_slack: FakeSlack,
    socket_mode: FakeSocketMode,
    kb: KnowledgeBase,
) -> None:
    framework = kb.frameworks[0]
    command = slash_command("recommend", response_url=fake_slack.response_url("recommend"))

    assert ack_only(deliver(socket_mode, "slash_command", command))
    view = fake_slack.wait_for("views.open")[0].params["view"]
    steps = best_answer_steps(kb, framework.id)
    for step, values in enumerate(steps):
        ack = deliver(socket_mode, "view_submission", view_submission(view=view, values=values))
        if step < len(steps) - 1:
            assert ack.payload is not None
            assert ack.payload["response_action"] == "update"
            view = ack.payload["view"]
            assert view["blocks"][0]["elements"][0]["text"] == f"Step {step + 2} of {len(steps)}"
        else:
            assert ack_only(ack)

    result = fake_slack.wait_for_response(1)[0]
    assert result.token == "recommend"
    assert f"Recommendation: {framework.name}" in json.dumps(result.body["blocks"])


# --- interactivity -------------------------------------------------------------------------------


def test_the_start_button_under_a_mention_opens_the_questionnaire_over_the_socket(
    handler: SocketModeHandler, fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    deliver(socket_mode, "app_mention", app_mention("<@U0BOT> recommend"))
    invitation = fake_slack.wait_for("chat.postMessage")[0]
    click = block_actions(
        ActionId.START_QUESTIONNAIRE,
        buttons(invitation.params["blocks"])[ActionId.START_QUESTIONNAIRE],
        message=invitation.response["message"],
        response_url=fake_slack.response_url("button"),
    )

    assert ack_only(deliver(socket_mode, "block_actions", click))

    opened = fake_slack.wait_for("views.open")[0].params
    assert opened["trigger_id"] == click["trigger_id"]
    assert opened["view"]["callback_id"] == CallbackId.QUESTIONNAIRE


def test_the_global_shortcut_over_the_socket_opens_the_questionnaire(
    handler: SocketModeHandler, fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    shortcut = global_shortcut(CallbackId.RECOMMEND_SHORTCUT)

    assert ack_only(deliver(socket_mode, "global_shortcut", shortcut))

    assert fake_slack.wait_for("views.open")[0].params["trigger_id"] == shortcut["trigger_id"]


# --- the Procfile's worker -----------------------------------------------------------------------


def _worker_environment(env: Mapping[str, str]) -> dict[str, str]:
    """This environment without Slack or deployment settings, plus `env`."""
    dropped = {"PORT", "KNOWLEDGE_DIR", "LOG_LEVEL", "DATABASE_URL", "DATA_DIR", "WEB_CONCURRENCY"}
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SLACK_") and key not in dropped
    }
    clean["PATH"] = str(Path(sys.executable).parent) + os.pathsep + clean.get("PATH", "")
    clean["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_ROOT), *filter(None, [clean.get("PYTHONPATH")])]
    )
    return {**clean, **env}


@dataclass
class Worker:
    """The Procfile's worker process, connected to the fake over `connection`."""

    process: subprocess.Popen[bytes]
    connection: SocketConnection
    command: str
    log: IO[bytes]

    def output(self) -> str:
        """What the worker wrote to stdout and stderr so far."""
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> int:
        """Stop it as a Procfile host does; returns the exit code."""
        return terminate(self.process)


def terminate(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.returncode


@contextmanager
def worker_process(env: Mapping[str, str], socket_mode: FakeSocketMode) -> Iterator[Worker]:
    """The Procfile's `worker:` command, run like a Procfile host does, once it has connected
    to `socket_mode`; stopped afterwards."""
    command = procfile_command("worker")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=PROJECT_ROOT,
            env=_worker_environment(env),
            stdout=log,
            stderr=log,
        )
        worker: Worker | None = None
        try:
            deadline = time.monotonic() + WORKER_STARTUP_SECONDS
            while worker is None and process.poll() is None and time.monotonic() < deadline:
                with suppress(AssertionError):
                    connection = socket_mode.wait_for_connection(1, timeout=0.5)
                    worker = Worker(process, connection, command, log)
            if worker is None:
                log.seek(0)
                pytest.fail(
                    f"{command} did not connect within {WORKER_STARTUP_SECONDS}s (exit status "
                    f"{process.poll()}); its output:\n{log.read().decode('utf-8', 'replace')}"
                )
            yield worker
        finally:
            terminate(process)


def worker_env(fake: FakeSlack, data_dir: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake.base_url,
        "DATA_DIR": str(data_dir),
    }


def test_the_procfile_worker_serves_socket_mode_with_the_app_token(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, kb: KnowledgeBase, tmp_path: Path
) -> None:
    entry, phrasing = answerable(kb, 1)
    ts = unique_ts()
    with worker_process(worker_env(fake_slack, tmp_path / "data"), socket_mode) as worker:
        mention = deliver(
            socket_mode, "app_mention", app_mention(f"<@U0BOT> {phrasing}", ts=ts), timeout=10
        )
        command = deliver(
            socket_mode,
            "slash_command",
            slash_command(f"ask {ASK_QUESTION}", response_url=fake_slack.response_url("ask")),
            timeout=10,
        )

        assert ack_only(mention), worker.output()
        assert ack_only(command)
        assert {mention.connection, command.connection} == {worker.connection.number}
        posted = fake_slack.wait_for("chat.postMessage", timeout=10)[0].params
        assert (posted["channel"], posted["thread_ts"]) == (GENERAL, ts)
        assert escape(entry.title) in posted["blocks"][0]["text"]["text"]
        assert fake_slack.wait_for_response(1, timeout=10)[0].token == "ask"

    opened = fake_slack.calls_to("apps.connections.open")
    assert [call.token for call in opened] == [APP_TOKEN]


def test_the_procfile_worker_stops_cleanly_on_sigterm(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, tmp_path: Path
) -> None:
    with worker_process(worker_env(fake_slack, tmp_path / "data"), socket_mode) as worker:
        code = worker.stop()

        assert code == 0, worker.output()
