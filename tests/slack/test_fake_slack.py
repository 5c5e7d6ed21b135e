"""The test doubles are faithful: the real slack_sdk client and Bolt accept what they produce."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request import payload_utils
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import all_builtin_retry_handlers
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.support import slack_requests as req
from tests.support.fake_slack import FakeSlack
from tests.support.waiting import eventually

TOKEN = "xoxb-fake-token"
RETRY_AT_ONCE = FixedValueRetryIntervalCalculator(fixed_internal=0)
SECRET = "fake-signing-secret"


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake_slack.base_url)


# -- the fake Web API --------------------------------------------------------------------------


WEB_API_CASES: list[tuple[str, Callable[[WebClient], Any], dict[str, Any]]] = [
    (
        "auth.test",
        lambda c: c.auth_test(),
        {"team_id": "T0TEST", "user_id": "U0BOT", "bot_id": "B0BOT"},
    ),
    (
        "chat.postMessage",
        lambda c: c.chat_postMessage(channel="C0GENERAL", text="hello", thread_ts="1.000001"),
        {"channel": "C0GENERAL"},
    ),
    (
        "chat.postMessage",
        lambda c: c.chat_postMessage(channel="U0ALICE", text="hello"),
        {"channel": "D0ALICE"},
    ),
    (
        "chat.update",
        lambda c: c.chat_update(channel="C0GENERAL", ts="1.000002", text="edited"),
        {"channel": "C0GENERAL", "ts": "1.000002", "text": "edited"},
    ),
    (
        "chat.delete",
        lambda c: c.chat_delete(channel="C0GENERAL", ts="1.000003"),
        {"channel": "C0GENERAL", "ts": "1.000003"},
    ),
    (
        "conversations.open",
        lambda c: c.conversations_open(users="U0ALICE"),
        {"channel": {"id": "D0ALICE"}},
    ),
    (
        "users.info",
        lambda c: c.users_info(user="U0ALICE"),
        {},
    ),
    (
        "conversations.info",
        lambda c: c.conversations_info(channel="C0GENERAL"),
        {},
    ),
    (
        "oauth.v2.access",
        lambda c: c.oauth_v2_access(client_id="1.2", client_secret="s", code="c0de"),
        {
            "token_type": "bot",
            "bot_user_id": "U0BOT",
            "team": {"name": "Fake Workspace", "id": "T0TEST"},
        },
    ),
]


@pytest.mark.parametrize(("method", "invoke", "expected"), WEB_API_CASES)
def test_the_real_client_gets_slack_shaped_answers_and_the_fake_records_the_call(
    client: WebClient,
    fake_slack: FakeSlack,
    method: str,
    invoke: Callable[[WebClient], Any],
    expected: dict[str, Any],
) -> None:
    response = invoke(client)

    assert response["ok"] is True
    assert {key: response[key] for key in expected} == expected
    [call] = fake_slack.calls_to(method)
    assert call.ok
    assert call.response == response.data


def test_post_message_returns_increasing_ts_and_echoes_the_message_with_decoded_blocks(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]

    first = client.chat_postMessage(channel="C0GENERAL", text="hi", blocks=blocks)
    second = client.chat_postMessage(channel="C0GENERAL", text="again", thread_ts=first["ts"])

    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == blocks
    assert second["message"]["thread_ts"] == first["ts"]
    recorded = fake_slack.calls_to("chat.postMessage")
    assert recorded[0].params["blocks"] == blocks
    assert recorded[0].token == TOKEN
    assert recorded[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_json_bodies_are_recorded_like_form_bodies(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    blocks = [{"type": "divider"}]

    client.api_call(
        "chat.postMessage", json={"channel": "C0GENERAL", "text": "t", "blocks": blocks}
    )

    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.headers["content-type"].startswith("application/json")
    assert call.params == {"channel": "C0GENERAL", "text": "t", "blocks": blocks}


@pytest.mark.parametrize(
    ("method", "invoke"),
    [
        ("views.open", lambda c, v: c.views_open(trigger_id="1.2.3", view=v)),
        ("views.push", lambda c, v: c.views_push(trigger_id="1.2.3", view=v)),
        ("views.update", lambda c, v: c.views_update(view_id="V0OLD", view=v)),
        ("views.publish", lambda c, v: c.views_publish(user_id="U0ALICE", view=v)),
    ],
)
def test_view_methods_return_the_view_with_an_id_and_hash(
    client: WebClient, fake_slack: FakeSlack, method: str, invoke: Callable[..., Any]
) -> None:
    view = {
        "type": "home" if method == "views.publish" else "modal",
        "callback_id": "questionnaire",
        "title": {"type": "plain_text", "text": "Title"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
        "private_metadata": '{"step": 1}',
    }

    response = invoke(client, view)

    assert response["view"]["id"].startswith("V")
    assert response["view"]["hash"]
    assert response["view"]["private_metadata"] == '{"step": 1}'
    assert fake_slack.calls_to(method)[0].params["view"] == view


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("invoke", "error"),
    [
        (lambda c: c.api_call("chat.scheduleMessage"), "unknown_method"),
        (lambda c: c.chat_postMessage(channel="C0GENERAL"), "no_text"),
        (
            lambda c: c.chat_postMessage(channel="C0GENERAL", blocks=[{"type": "divider"}] * 51),
            "invalid_blocks",
        ),
        (lambda c: c.views_open(trigger_id="", view={"type": "modal"}), "invalid_arguments"),
        (lambda c: WebClient(base_url=c.base_url).auth_test(), "not_authed"),
    ],
)
def test_bad_calls_fail_like_slack(
    client: WebClient, invoke: Callable[[WebClient], Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        invoke(client)

    assert raised.value.response["error"] == error


def test_a_scripted_error_fails_the_next_call_only(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postEphemeral", error="not_in_channel")

    with pytest.raises(SlackApiError) as raised:
        client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="x")
    answer = client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="x")

    assert raised.value.response["error"] == "not_in_channel"
    assert answer["message_ts"]
    assert [call.ok for call in fake_slack.calls_to("chat.postEphemeral")] == [False, True]
    assert len(fake_slack.calls_to("chat.postEphemeral", ok=True)) == 1


def test_a_rate_limit_is_a_429_with_retry_after(client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0GENERAL", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["retry-after"] == "7"


@pytest.mark.slow  # waits out a real Retry-After or backoff
def test_a_client_with_the_builtin_retry_handlers_survives_a_429(fake_slack: FakeSlack) -> None:
    client = WebClient(
        token=TOKEN, base_url=fake_slack.base_url, retry_handlers=all_builtin_retry_handlers()
    )
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)

    answer = client.chat_postMessage(channel="C0GENERAL", text="still delivered")

    assert answer["ok"] is True
    statuses = [call.status for call in fake_slack.wait_for("chat.postMessage", count=2)]
    assert statuses == [429, 200]


def test_a_500_is_retried_only_by_a_server_error_handler(fake_slack: FakeSlack) -> None:
    plain = WebClient(token=TOKEN, base_url=fake_slack.base_url, retry_handlers=[])
    retrying = WebClient(
        token=TOKEN,
        base_url=fake_slack.base_url,
        # at once: which handler retries is the question here, not how long it waits first
        retry_handlers=[ServerErrorRetryHandler(interval_calculator=RETRY_AT_ONCE)],
    )
    fake_slack.fail_next("chat.postMessage", status=500)

    with pytest.raises(SlackApiError) as raised:
        plain.chat_postMessage(channel="C0GENERAL", text="x")
    fake_slack.fail_next("chat.postMessage", status=500)
    answer = retrying.chat_postMessage(channel="C0GENERAL", text="x")

    assert raised.value.response.status_code == 500
    assert answer["ok"] is True
    assert [call.status for call in fake_slack.calls_to("chat.postMessage")] == [500, 500, 200]


def test_posts_to_a_response_url_are_recorded(fake_slack: FakeSlack) -> None:
    webhook = WebhookClient(fake_slack.response_url("abc"))

    answer = webhook.send(text="only you can see this", response_type="ephemeral")

    [post] = fake_slack.wait_for_response()
    assert answer.status_code == 200
    assert post.token == "abc"
    assert post.body == {"text": "only you can see this", "response_type": "ephemeral"}


def test_a_response_url_can_fail(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("response_url", status=404, error="expired_url")

    answer = WebhookClient(fake_slack.response_url("abc")).send(text="late")

    assert answer.status_code == 404
    assert fake_slack.responses[0].ok is False


def test_wait_for_reports_what_arrived_when_the_call_never_comes(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    client.auth_test()

    with pytest.raises(AssertionError, match=r"chat.postMessage.*\['auth.test'\]"):
        fake_slack.wait_for("chat.postMessage", timeout=0.05)


def test_wait_for_blocks_until_a_call_from_another_thread_arrives(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    import threading

    sender = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C0GENERAL", text="x"))
    sender.start()

    calls = fake_slack.wait_for("chat.postMessage", timeout=5)
    sender.join()

    assert calls[0].params["text"] == "x"


def test_reset_forgets_calls_responses_and_failures(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    client.auth_test()
    WebhookClient(fake_slack.response_url("t")).send(text="x")
    fake_slack.fail_next("auth.test", error="invalid_auth")

    fake_slack.reset()

    assert fake_slack.calls == []
    assert fake_slack.responses == []
    assert client.auth_test()["ok"] is True


# -- conversations: what was posted, read back ----------------------------------------------

METADATA = {"event_type": "framework_answer", "event_payload": {"question_id": "q1"}}


def test_a_thread_reads_back_its_parent_then_the_replies_with_metadata_only_when_asked(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    question = fake_slack.add_message("C0GENERAL", "<@U0BOT> orm?", user="U0ALICE")
    reply = client.chat_postMessage(
        channel="C0GENERAL", text="yes", thread_ts=question["ts"], metadata=METADATA
    )
    client.chat_postMessage(channel="C0GENERAL", text="elsewhere")  # not in the thread

    plain = client.conversations_replies(channel="C0GENERAL", ts=question["ts"])
    full = client.conversations_replies(
        channel="C0GENERAL", ts=question["ts"], include_all_metadata=True
    )

    assert [m["ts"] for m in plain["messages"]] == [question["ts"], reply["ts"]]
    assert "metadata" not in plain["messages"][1]
    assert full["messages"][1]["metadata"] == METADATA
    assert full["messages"][1]["bot_id"] and full["messages"][1]["thread_ts"] == question["ts"]
    assert full["has_more"] is False


def test_a_reply_posted_in_an_unknown_thread_is_still_read_and_an_empty_one_is_not_found(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    mention_ts = req.unique_ts()  # a person's message the fake never saw
    reply = client.chat_postMessage(channel="C0GENERAL", text="yes", thread_ts=mention_ts)

    read = client.conversations_replies(channel="C0GENERAL", ts=mention_ts, oldest=mention_ts)

    assert float(reply["ts"]) > float(mention_ts)  # a reply comes after its question
    assert [m["ts"] for m in read["messages"]] == [reply["ts"]]
    with pytest.raises(SlackApiError) as refused:
        client.conversations_replies(channel="C0GENERAL", ts=req.unique_ts())
    assert refused.value.response["error"] == "thread_not_found"


def test_history_is_newest_first_top_level_only_and_paged_after_oldest(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    question = fake_slack.add_message("D0ALICE", "orm?", user="U0ALICE")
    posted = [client.chat_postMessage(channel="D0ALICE", text=f"#{n}")["ts"] for n in range(5)]
    client.chat_postMessage(channel="D0ALICE", text="in a thread", thread_ts=posted[0])

    pages, cursor = [], None
    while True:
        page = client.conversations_history(
            channel="D0ALICE", oldest=question["ts"], limit=2, cursor=cursor
        )
        pages.append([m["text"] for m in page["messages"]])
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            break

    assert pages == [["#4", "#3"], ["#2", "#1"], ["#0"]]
    assert cursor == ""
    inclusive = client.conversations_history(
        channel="D0ALICE", oldest=question["ts"], inclusive=True
    )
    assert inclusive["messages"][-1]["ts"] == question["ts"]


def test_updated_and_deleted_messages_read_back_as_they_are_now(
    client: WebClient, fake_slack: FakeSlack
) -> None:
    first = client.chat_postMessage(channel="C0GENERAL", text="one", metadata=METADATA)
    second = client.chat_postMessage(channel="C0GENERAL", text="two")
    changed = {"event_type": "framework_answer", "event_payload": {"question_id": "q2"}}

    client.chat_update(channel="C0GENERAL", ts=first["ts"], text="one, edited", metadata=changed)
    client.chat_delete(channel="C0GENERAL", ts=second["ts"])

    history = client.conversations_history(channel="C0GENERAL", include_all_metadata=True)
    assert [(m["text"], m.get("metadata")) for m in history["messages"]] == [
        ("one, edited", changed)
    ]
    fake_slack.reset()
    assert fake_slack.messages("C0GENERAL") == []


# -- signing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["token=x&text=hello", '{"type":"event_callback","text":"caf\u00e9 \u2014 \U0001f600"}', ""],
)
def test_sign_matches_the_slack_sdk_verifier(body: str) -> None:
    headers = req.sign(body, SECRET)
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert not SignatureVerifier("another-secret").is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def test_a_signature_with_an_old_timestamp_is_stale() -> None:
    headers = req.sign("a=b", SECRET, timestamp=int(time.time()) - 301)

    assert not SignatureVerifier(SECRET).is_valid("a=b", *headers.values())


# -- payload builders ------------------------------------------------------------------------------


BUILDER_CASES: list[tuple[str, str, Callable[[], dict[str, Any]], Callable[[dict], bool]]] = [
    (
        "slash_command",
        "slash_command",
        lambda: req.slash_command("ask is Flask fast?"),
        payload_utils.is_slash_command,
    ),
    (
        "app_mention",
        "app_mention",
        lambda: req.app_mention("<@U0BOT> orm?"),
        lambda body: payload_utils.is_event(body) and body["event"]["type"] == "app_mention",
    ),
    (
        "direct_message",
        "message_im",
        lambda: req.direct_message("orm?"),
        payload_utils.is_im_message_event,
    ),
    (
        "app_home_opened",
        "app_home_opened",
        lambda: req.app_home_opened(),
        payload_utils.is_app_home_opened_event,
    ),
    (
        "block_actions",
        "block_actions",
        lambda: req.block_actions("start", "go"),
        payload_utils.is_block_actions,
    ),
    (
        "view_submission",
        "view_submission",
        lambda: req.view_submission("questionnaire"),
        payload_utils.is_view_submission,
    ),
    (
        "message_shortcut",
        "message_action",
        lambda: req.message_shortcut("ask_framework_advisor", "orm?"),
        payload_utils.is_message_shortcut,
    ),
    (
        "global_shortcut",
        "shortcut",
        lambda: req.global_shortcut("framework_recommendation"),
        payload_utils.is_global_shortcut,
    ),
]


@pytest.mark.parametrize(("kind", "documented", "build", "is_kind"), BUILDER_CASES)
def test_each_builder_encodes_to_a_request_bolt_parses_as_that_kind(
    kind: str,
    documented: str,
    build: Callable[[], dict[str, Any]],
    is_kind: Callable[[dict], bool],
) -> None:
    payload = build()
    body, content_type = req.encode(kind, payload)

    parsed = BoltRequest(body=body, headers={"content-type": content_type}).body

    assert is_kind(parsed)
    assert parsed == payload


@pytest.mark.parametrize(("kind", "documented", "build", "is_kind"), BUILDER_CASES)
def test_each_builder_keeps_every_field_of_the_documented_example(
    kind: str,
    documented: str,
    build: Callable[[], dict[str, Any]],
    is_kind: Callable[[dict], bool],
) -> None:
    example, payload = req.documented(documented), build()

    assert example.keys() <= payload.keys()
    if "event" in example:
        assert example["event"].keys() <= payload["event"].keys()
    if "view" in example:
        assert example["view"].keys() <= payload["view"].keys()


@pytest.mark.parametrize(
    ("kind", "content_type", "decode"),
    [
        ("slash_command", "application/x-www-form-urlencoded", None),
        ("block_actions", "application/x-www-form-urlencoded", "payload"),
        ("app_mention", "application/json", "json"),
    ],
)
def test_encode_uses_slacks_wire_format(kind: str, content_type: str, decode: str | None) -> None:
    from urllib.parse import parse_qs

    payload = {"slash_command": req.slash_command("help")}.get(kind) or {"type": kind}

    body, actual_type = req.encode(kind, payload)

    assert actual_type == content_type
    if decode == "json":
        assert json.loads(body) == payload
    elif decode == "payload":
        assert json.loads(parse_qs(body)["payload"][0]) == payload
    else:
        assert {key: values[0] for key, values in parse_qs(body).items()} == payload


def test_fresh_builder_calls_get_fresh_ids_and_explicit_ids_are_kept() -> None:
    first, second = req.app_mention("<@U0BOT> a"), req.app_mention("<@U0BOT> a")
    retried = req.app_mention("<@U0BOT> a", event_id=first["event_id"], ts=first["event"]["ts"])

    assert first["event_id"] != second["event_id"]
    assert first["event"]["ts"] != second["event"]["ts"]
    assert (retried["event_id"], retried["event"]["ts"]) == (
        first["event_id"],
        first["event"]["ts"],
    )


def test_mentions_become_user_elements_in_the_rich_text_block() -> None:
    event = req.app_mention("<@U0BOT> ask <@U0BOB> too", thread_ts="1.5")["event"]

    elements = event["blocks"][0]["elements"][0]["elements"]
    assert elements == [
        {"type": "user", "user_id": "U0BOT"},
        {"type": "text", "text": " ask "},
        {"type": "user", "user_id": "U0BOB"},
        {"type": "text", "text": " too"},
    ]
    assert event["thread_ts"] == "1.5"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"bot_id": "B0OTHER"}, {"subtype": "bot_message", "bot_id": "B0OTHER"}),
        ({"subtype": "channel_join"}, {"subtype": "channel_join"}),
        ({"subtype": "message_changed"}, {"subtype": "message_changed", "hidden": True}),
        ({"subtype": "message_deleted"}, {"subtype": "message_deleted", "hidden": True}),
    ],
)
def test_direct_message_variants_carry_slacks_subtype_fields(
    options: dict[str, str], expected: dict[str, Any]
) -> None:
    event = req.direct_message("hello", **options)["event"]

    assert {key: event.get(key) for key in expected} == expected
    if options.get("subtype") in {"message_changed", "message_deleted"}:
        assert "user" not in event
        assert event["previous_message"]["text"] == "hello"


def test_block_actions_in_a_view_carry_the_view_and_its_state() -> None:
    opened_view = {
        "type": "modal",
        "callback_id": "questionnaire",
        "private_metadata": '{"answers": {}}',
        "title": {"type": "plain_text", "text": "Q"},
        "blocks": [],
    }
    values = {"q1": {"choice": req.state_value("radio_buttons", "small", "Small")}}

    payload = req.block_actions(
        "next", "1", container="view", view=opened_view, state_values=values
    )

    assert payload["container"] == {"type": "view", "view_id": payload["view"]["id"]}
    assert payload["view"]["private_metadata"] == '{"answers": {}}'
    assert payload["view"]["state"]["values"] == values
    assert "response_url" not in payload
    assert "channel" not in payload


def test_block_actions_on_an_ephemeral_message_have_no_message() -> None:
    payload = req.block_actions("share", "x", ephemeral=True, response_url="http://r/1")

    assert "message" not in payload
    assert payload["container"]["is_ephemeral"] is True
    assert payload["response_url"] == "http://r/1"


def test_block_actions_on_a_recorded_message_use_its_blocks_and_ts() -> None:
    message = {"ts": "5.000001", "text": "pick", "blocks": [{"type": "divider"}]}

    payload = req.block_actions("topic", "orm", message=message, thread_ts="4.000001")

    assert payload["message"]["blocks"] == [{"type": "divider"}]
    assert payload["container"]["message_ts"] == "5.000001"
    assert payload["message"]["thread_ts"] == "4.000001"


def test_view_submission_takes_explicit_values_over_the_given_view() -> None:
    values = {"q1": {"choice": req.state_value("static_select", "team")}}

    payload = req.view_submission(
        "questionnaire",
        view={"type": "modal", "callback_id": "other", "private_metadata": "old", "blocks": []},
        values=values,
        private_metadata="new",
    )

    assert payload["view"]["callback_id"] == "questionnaire"
    assert payload["view"]["private_metadata"] == "new"
    assert payload["view"]["state"]["values"]["q1"]["choice"]["selected_option"]["value"] == "team"


# -- end to end through a minimal Bolt app behind the WSGI adapter --------------------------------


@pytest.fixture
def echo_app(fake_slack: FakeSlack) -> tuple[SlackRequestHandler, list[tuple[str, dict]]]:
    """A Bolt app whose listeners record the payload they got, served through the WSGI adapter."""
    app = App(client=WebClient(token=TOKEN, base_url=fake_slack.base_url), signing_secret=SECRET)
    seen: list[tuple[str, dict]] = []

    def recorder(name: str) -> Callable[..., None]:
        def listener(ack: Callable[[], None], body: dict) -> None:
            ack()
            seen.append((name, body))

        return listener

    app.command("/framework")(recorder("command"))
    app.event("app_mention")(recorder("app_mention"))
    app.event("message")(recorder("message"))
    app.event("app_home_opened")(recorder("app_home_opened"))
    app.action("start")(recorder("action"))
    app.view("questionnaire")(recorder("view"))
    app.shortcut("ask_framework_advisor")(recorder("message_shortcut"))
    app.shortcut("framework_recommendation")(recorder("global_shortcut"))
    return SlackRequestHandler(app), seen


@pytest.mark.parametrize(
    ("kind", "build", "listener"),
    [
        ("slash_command", lambda: req.slash_command("help"), "command"),
        ("app_mention", lambda: req.app_mention("<@U0BOT> hi"), "app_mention"),
        ("direct_message", lambda: req.direct_message("hi"), "message"),
        ("app_home_opened", lambda: req.app_home_opened(), "app_home_opened"),
        ("block_actions", lambda: req.block_actions("start", "go"), "action"),
        ("view_submission", lambda: req.view_submission("questionnaire"), "view"),
        (
            "message_shortcut",
            lambda: req.message_shortcut("ask_framework_advisor", "hi"),
            "message_shortcut",
        ),
        (
            "global_shortcut",
            lambda: req.global_shortcut("framework_recommendation"),
            "global_shortcut",
        ),
    ],
)
def test_a_signed_request_reaches_the_matching_bolt_listener_through_wsgi(
    echo_app: tuple[SlackRequestHandler, list[tuple[str, dict]]],
    kind: str,
    build: Callable[[], dict[str, Any]],
    listener: str,
) -> None:
    handler, seen = echo_app
    payload = build()
    body, headers = req.prepare(kind, payload, secret=SECRET)

    response = req.call_wsgi(handler, "POST", "/slack/events", body, headers)

    assert response.status == 200
    eventually(lambda: seen, "the listener running", timeout=5)
    assert seen == [(listener, payload)]


def test_url_verification_is_answered_with_the_challenge(
    echo_app: tuple[SlackRequestHandler, list[tuple[str, dict]]],
) -> None:
    handler, _ = echo_app
    body, headers = req.prepare("url_verification", req.url_verification("abc123"), secret=SECRET)

    response = req.call_wsgi(handler, "POST", "/slack/events", body, headers)

    assert response.status == 200
    assert response.json() == {"challenge": "abc123"}


@pytest.mark.parametrize(
    "options",
    [
        {"signed": False},
        {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
        {"timestamp": int(time.time()) - 600},
        {"raw_body": "command=%2Fframework&text=tampered"},
    ],
)
def test_bolt_rejects_unsigned_wrongly_signed_stale_and_tampered_requests(
    echo_app: tuple[SlackRequestHandler, list[tuple[str, dict]]], options: dict[str, Any]
) -> None:
    handler, seen = echo_app
    payload = req.slash_command("help")
    body, headers = req.prepare("slash_command", payload, secret=SECRET, **options)
    if "raw_body" in options:
        headers.update(req.sign(req.encode("slash_command", payload)[0], SECRET))

    response = req.call_wsgi(handler, "POST", "/slack/events", body, headers)

    assert response.status == 401
    assert seen == []
