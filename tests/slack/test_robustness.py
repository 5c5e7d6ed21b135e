"""Bad input and a misbehaving Slack: forged, stale and malformed requests, unknown payloads,
oversized questions, rate limits, server errors, channels closed to the bot, and exceptions in
listeners. The app answers each deliberately (never 5xx), keeps serving, and loses no answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import KnowledgeBase
from bot.slack.app import LISTENER_THREADS, finish_work
from bot.slack.context import ANSWER_SLOTS, Turn
from bot.slack.platform.redelivery import SkipRedeliveredEvents
from bot.slack.serving.wsgi import SlackWsgiApp
from bot.slack.wire.ids import CallbackId
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import SIGNING_SECRET, Send
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    GENERAL,
    Response,
    app_mention,
    block_actions,
    call_wsgi,
    prepare,
    slash_command,
    url_verification,
    view_submission,
)
from tests.support.slack_test_helpers import assert_valid_block_kit


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def finish_listeners(wsgi_app: SlackWsgiApp) -> None:
    """Wait until every listener the app started has run (this test's app is its own)."""
    finish_work(wsgi_app.app)


def post_bytes(
    wsgi_app: SlackWsgiApp,
    body: bytes,
    *,
    content_type: str = "application/json",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    extra: dict[str, str] | None = None,
) -> Response:
    """POST raw bytes, signed over the bytes themselves (the body need not be UTF-8)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
        **(extra or {}),
    }
    return call_wsgi(wsgi_app, "POST", "/slack/events", body, headers)


def a_command(fake: FakeSlack) -> dict[str, str]:
    return slash_command("help", response_url=fake.response_url("probe"))


# --- who may call ---------------------------------------------------------------------------------

FORGED = [  # a "timestamp" here is seconds from the moment the request is sent
    ("unsigned", {"signed": False}),
    ("wrong secret", {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}}),
    ("stale by six minutes", {"timestamp": -360}),
    ("six minutes in the future", {"timestamp": +360}),
    ("timestamp not a number", {"headers": {"X-Slack-Request-Timestamp": "soon"}}),
    ("timestamp of 5,000 digits", {"headers": {"X-Slack-Request-Timestamp": "1" * 5000}}),
    ("timestamp in superscript digits", {"headers": {"X-Slack-Request-Timestamp": "1²³"}}),
]


@pytest.mark.parametrize("kind", ["slash_command", "app_mention"])
@pytest.mark.parametrize("forgery", [case[1] for case in FORGED], ids=[case[0] for case in FORGED])
def test_forged_or_stale_requests_get_401_and_do_nothing(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    kind: str,
    forgery: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = a_command(fake_slack) if kind == "slash_command" else app_mention("<@U0BOT> hi")
    if "timestamp" in forgery:
        forgery = {**forgery, "timestamp": int(time.time()) + forgery["timestamp"]}

    with caplog.at_level(logging.INFO):
        response = send(kind, payload, **forgery)

    assert response.status == 401
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(record.exc_info for record in caplog.records)
    finish_listeners(wsgi_app)
    assert fake_slack.calls == []
    assert fake_slack.responses == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe\x00garbage", b"payload=%7Bnot-json", b"payload=%FF%FE"],
    ids=["broken json", "not utf-8", "broken interactive payload", "undecodable payload"],
)
def test_unreadable_bodies_get_401_unsigned_and_400_signed(
    wsgi_app: SlackWsgiApp, fake_slack: FakeSlack, body: bytes
) -> None:
    forged = post_bytes(wsgi_app, body, secret="not-the-secret")
    signed = post_bytes(wsgi_app, body, content_type="application/x-www-form-urlencoded")

    assert forged.status == 401
    assert signed.status == 400
    assert fake_slack.calls == []


MALFORMED = [
    ("unknown payload type", "interactive", {"type": "dance_party", "user": {"id": ALICE}}),
    ("event without an event", "event", {"type": "event_callback", "event_id": "Ev0NONE"}),
    ("event of an unknown type", "event", {"type": "event_callback", "event": {"type": "x"}}),
    ("json array", "event", ["not", "an", "object"]),
    ("slash command of another app", "slash_command", {"command": "/weather", "text": "x"}),
    (
        "block_actions without actions",
        "interactive",
        {"type": "block_actions", "user": {"id": ALICE}, "actions": []},
    ),
    (
        "block_actions with a non-string value",
        "interactive",
        {
            "type": "block_actions",
            "user": {"id": ALICE},
            "actions": [{"action_id": "share_in_channel", "value": {"x": 1}}],
        },
    ),
    ("view_submission without a view", "interactive", {"type": "view_submission"}),
    (
        "mention without a channel",
        "event",
        {"type": "event_callback", "event_id": "Ev0NOCH", "event": {"type": "app_mention"}},
    ),
    (
        "shortcut without a trigger",
        "interactive",
        {"type": "shortcut", "callback_id": CallbackId.RECOMMEND_SHORTCUT.value, "user": {}},
    ),
]


@pytest.mark.parametrize(
    ("kind", "payload"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_signed_but_malformed_payloads_get_a_4xx_or_a_polite_200_never_a_5xx(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, kind: str, payload: Any
) -> None:
    if isinstance(payload, list):
        response = send(kind, None, raw_body=json.dumps(payload))
    else:
        response = send(kind, payload)

    assert response.status == 200 or 400 <= response.status < 500
    finish_listeners(wsgi_app)
    assert [c.method for c in fake_slack.calls if c.method.startswith("chat.")] == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/healthz", {}, 200),
        ("GET", "/slack/events", {}, 405),
        ("PUT", "/slack/events", {}, 405),
        ("GET", "/", {}, 404),
        ("POST", "/slack/other", {}, 404),
        ("POST", "/slack/events", {"Content-Length": "lots"}, 400),
        ("POST", "/slack/events", {"Content-Length": "-5"}, 400),
        ("POST", "/slack/events", {"Content-Length": str(50 * 1024 * 1024)}, 413),
    ],
)
def test_other_paths_methods_and_lengths_get_deliberate_answers(
    wsgi_app: SlackWsgiApp, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    environ_headers = dict(headers)
    response = call_wsgi(wsgi_app, method, path, b"", environ_headers)

    assert response.status == status
    assert response.headers["content-length"] == str(len(response.body.encode()))


def test_the_health_check_says_ok_and_reports_the_database(wsgi_app: SlackWsgiApp) -> None:
    response = call_wsgi(wsgi_app, "GET", "/healthz")
    report = response.json()

    assert response.status == 200
    assert report.pop("slack_token")  # tests/slack/test_token_check.py covers its values
    assert report == {
        "status": "ok",
        "database": "ok",
        "inbox": "durable",
        "records_waiting": 0,
        "records_lost": 0,
        "figures": "every instance's (1 reporting)",
        "inbox_unanswered": 0,
        "oldest_unanswered_at": None,
        "last_record_at": None,
        "this_worker": {"records_waiting": 0, "records_lost": 0},
    }


def test_url_verification_echoes_the_challenge(send: Send) -> None:
    response = send(
        "url_verification", url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    )

    assert response.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.body


def test_a_40000_character_mention_gets_a_polite_answer_in_its_thread(
    send: Send, fake_slack: FakeSlack
) -> None:
    response = send("app_mention", app_mention("<@U0BOT> " + "is django good? " * 2500))

    assert response.status == 200
    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert posted["thread_ts"]
    assert len(json.dumps(posted["blocks"])) < 10_000


def test_the_app_keeps_serving_after_every_kind_of_bad_request(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp
) -> None:
    for body in (b"{", b"\xff", b"payload=%7B", b""):
        post_bytes(wsgi_app, body)
        post_bytes(wsgi_app, body, secret="wrong")
    for _, kind, payload in MALFORMED:
        if isinstance(payload, dict):
            send(kind, payload)

    response = send("slash_command", a_command(fake_slack))

    assert response.status == 200
    assert "/framework recommend" in json.dumps(fake_slack.wait_for_response(1)[0].body)


# --- a misbehaving Slack --------------------------------------------------------------------------


@pytest.mark.slow  # waits out a real Retry-After or backoff
def test_a_429_on_chat_post_message_is_retried_after_retry_after_and_the_answer_arrives(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)

    send("app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"))

    first, second = fake_slack.wait_for("chat.postMessage", 2, timeout=10)
    assert (first.status, second.status) == (429, 200)
    assert second.ok
    assert second.at - first.at >= 1.0
    assert second.params["blocks"] == first.params["blocks"]


@pytest.mark.slow  # waits out a real Retry-After or backoff
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_from_slack_is_retried(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, status: int
) -> None:
    fake_slack.fail_next("chat.postMessage", status=status)

    send("app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"))

    calls = fake_slack.wait_for("chat.postMessage", 2, timeout=10)
    assert [call.status for call in calls] == [status, 200]


@pytest.mark.slow  # waits out a real Retry-After or backoff
def test_a_429_on_a_response_url_is_retried_too(send: Send, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("response_url", status=429, retry_after=1)

    send("slash_command", a_command(fake_slack))

    posts = fake_slack.wait_for_response(2, timeout=10)
    assert [post.status for post in posts] == [429, 200]


def test_a_mention_reply_refused_with_not_in_channel_is_explained_to_the_person(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    fake_slack.fail_next("chat.postEphemeral", error="not_in_channel")

    send("app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"))

    told = fake_slack.wait_for("chat.postMessage", 2)[1].params
    assert told["channel"] == ALICE_DM
    text = json.dumps(told["blocks"])
    assert "/invite @Framework Advisor" in text
    assert f"<#{GENERAL}>" in text


def test_a_web_api_error_is_logged_with_its_context(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, wsgi_app: SlackWsgiApp, caplog: Any
) -> None:
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")

    send("app_mention", app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"))
    finish_listeners(wsgi_app)

    logged = [r.getMessage() for r in caplog.records if "channel_not_found" in r.getMessage()]
    assert any("chat_postMessage" in m and f"channel={GENERAL}" in m for m in logged), logged


# --- exceptions in listeners ----------------------------------------------------------------------


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("kind", "build", "where"),
    [
        (
            "slash_command",
            lambda fake: slash_command("ask what is django", response_url=fake.response_url("x")),
            "response_url",
        ),
        ("app_mention", lambda fake: app_mention("<@U0BOT> what is django"), "dm"),
    ],
    ids=["command", "mention"],
)
def test_an_exception_in_a_listener_is_logged_and_the_person_is_told(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
    kind: str,
    build: Callable[[FakeSlack], dict[str, Any]],
    where: str,
) -> None:
    monkeypatch.setattr(Turn, "reply", _explode)

    response = send(kind, build(fake_slack))

    assert response.status == 200
    finish_listeners(wsgi_app)
    if where == "response_url":
        told = json.dumps(fake_slack.wait_for_response(1)[0].body)
    else:
        told = json.dumps(fake_slack.wait_for("chat.postMessage")[0].params["blocks"])
    assert "something went wrong" in told
    assert any("Unhandled error" in r.getMessage() for r in caplog.records)


def test_an_exception_before_the_ack_still_answers_200_not_500(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.slack.listeners.questionnaire.submitted_step", _explode)

    response = send(
        "view_submission",
        view_submission(
            CallbackId.QUESTIONNAIRE, private_metadata=json.dumps({"to": {"user": ALICE}})
        ),
    )

    assert response.status == 200
    finish_listeners(wsgi_app)
    assert "something went wrong" in json.dumps(fake_slack.wait_for("chat.postMessage")[0].params)


def test_an_exception_in_the_apps_middleware_is_logged_and_the_person_is_told(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
) -> None:
    # The error listener finds the AppContext (set before authorization) for an error in a
    # middleware after it, such as the event deduplication.
    monkeypatch.setattr(SkipRedeliveredEvents, "process", _explode)

    response = send("app_mention", app_mention("<@U0BOT> what is django"))

    assert response.status == 200
    finish_listeners(wsgi_app)
    assert "something went wrong" in json.dumps(fake_slack.wait_for("chat.postMessage")[0].params)
    assert any("Unhandled error" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "action_id", ["share_in_channel", "share_in_thread", "start_over", "start_questionnaire"]
)
def test_a_button_whose_value_cannot_be_read_tells_the_person_to_start_again(
    send: Send, fake_slack: FakeSlack, wsgi_app: SlackWsgiApp, action_id: str
) -> None:
    response = send(
        "block_actions",
        block_actions(action_id, '{"to": "<!channel>"}', response_url=fake_slack.response_url("b")),
    )

    assert response.status == 200
    finish_listeners(wsgi_app)
    told = json.dumps(fake_slack.wait_for_response(1)[0].body)
    assert "start it again" in told
    assert "<!channel>" not in told
    assert fake_slack.calls_to("chat.postMessage") == []
    assert fake_slack.calls_to("views.open") == []


@pytest.mark.parametrize("kind", ["app_mention", "ask"])
def test_a_burst_of_questions_never_holds_up_a_slash_command_ack(
    send: Send,
    fake_slack: FakeSlack,
    wsgi_app: SlackWsgiApp,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """At most ANSWER_SLOTS questions are answered at once: however many wait (here, on a
    slow answer), Bolt's listener threads stay free for a slash command, which acks from one."""
    release = threading.Event()
    real_answer = Turn.reply

    def slow_answer(self: Turn, *args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real_answer(self, *args, **kwargs)

    def question(number: int) -> tuple[str, dict[str, Any]]:
        if kind == "app_mention":
            return "app_mention", app_mention("<@U0BOT> what is django")
        url = fake_slack.response_url(f"ask-{number}")
        return "slash_command", slash_command("ask what is django", response_url=url)

    monkeypatch.setattr(Turn, "reply", slow_answer)
    burst = LISTENER_THREADS + ANSWER_SLOTS + 2
    try:
        for number in range(burst):
            assert send(*question(number)).status == 200
        started = time.monotonic()
        command = slash_command("help", response_url=fake_slack.response_url("help"))
        assert send("slash_command", command).status == 200
        acknowledged_in = time.monotonic() - started
        assert fake_slack.wait_for_response(1, timeout=5)
    finally:
        release.set()
    finish_listeners(wsgi_app)

    assert acknowledged_in < 1.0
    answers = fake_slack.calls_to("chat.postMessage") if kind == "app_mention" else None
    answered = len(answers) if answers is not None else len(fake_slack.responses) - 1
    assert answered == burst


def test_a_data_dir_that_cannot_be_created_still_answers_and_reports_the_store_unavailable(
    slack_settings: Any,
    fake_slack: FakeSlack,
    kb: KnowledgeBase,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    from bot.slack.serving.wsgi import create_wsgi_app

    # A file where the folder's parent should be: mkdir fails even for root.
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    settings = slack_settings.model_copy(update={"data_dir": blocker / "data"})

    app = create_wsgi_app(settings)
    request.addfinalizer(app.close)  # its store and its token check
    body, headers = prepare(
        "app_mention",
        app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}"),
        secret=SIGNING_SECRET,
    )
    assert call_wsgi(app, "POST", "/slack/events", body, headers).status == 200
    fake_slack.wait_for("chat.postMessage")

    report = call_wsgi(app, "GET", "/healthz").json()
    assert report["database"].startswith("unavailable")
    assert report["inbox"].startswith("in memory only")
    assert report["figures"].startswith("this worker's only: the database is unavailable")


def _without(path: str) -> Callable[[dict[str, Any]], None]:
    def remove(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            payload = payload[key]
        payload.pop(last)

    return remove


READABLE_METADATA = {
    CallbackId.QUESTIONNAIRE: json.dumps({"to": {"user": ALICE}}),
    CallbackId.DECISION_ANSWERS: json.dumps({"decision": 1}),
}
INCOMPLETE_VIEWS = ["view.type", "view.state", "view.private_metadata", "view.callback_id", "view"]


@pytest.mark.parametrize("missing", INCOMPLETE_VIEWS)
@pytest.mark.parametrize("callback_id", [CallbackId.QUESTIONNAIRE, CallbackId.DECISION_ANSWERS])
def test_a_view_submission_missing_fields_gets_an_immediate_200_saying_what_to_do(
    send: Send, wsgi_app: SlackWsgiApp, callback_id: str, missing: str
) -> None:
    """Slack waits 3 s for a view_submission's answer and then shows the person a vague error;
    Bolt answered 404 (no callback_id), or crashed building its arguments (no view.type) and
    answered 500 after the 3 s, which the app turned into 400."""
    payload = view_submission(callback_id, private_metadata=READABLE_METADATA[callback_id])
    _without(missing)(payload)

    started = time.monotonic()
    response = send("view_submission", payload)

    assert response.status == 200
    assert time.monotonic() - started < 1.5
    answer = response.json()
    if answer["response_action"] == "errors":  # the step's answer did not arrive: choose it
        assert list(answer["errors"].values()) == ["Choose an answer to go on."]
    else:
        assert answer["response_action"] == "update"
        assert "again" in json.dumps(answer["view"])
