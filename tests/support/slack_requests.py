"""Requests shaped like the ones Slack sends to an app, signed and encoded on the real wire format.

The payload builders start from Slack's documented examples kept as JSON in `payloads/` (ids
replaced by fake ones: team T0TEST, users U0ALICE/U0BOB, channel C0GENERAL, bot U0BOT) and fill in
what a test varies. `encode` turns a payload into the body Slack would send (slash commands as
form fields, interactivity as a form-encoded `payload=<json>`, events as JSON) and `sign` adds
the `X-Slack-Signature` headers. `call_wsgi` / `http_request` deliver it to an app in process or
over HTTP.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import itertools
import json
import re
import time
import urllib.error
import urllib.request
import wsgiref.util
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.support.message_ts import MessageClock

PAYLOADS_DIR = Path(__file__).resolve().parents[1] / "slack" / "payloads"
EVENTS_PATH = "/slack/events"

TEAM_ID = "T0TEST"
ALICE = "U0ALICE"
BOB = "U0BOB"
BOT_USER_ID = "U0BOT"
GENERAL = "C0GENERAL"
ALICE_DM = "D0ALICE"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

COMMAND_KINDS = frozenset({"slash_command", "command"})
INTERACTIVE_KINDS = frozenset(
    {
        "block_actions",
        "view_submission",
        "view_closed",
        "message_shortcut",
        "message_action",
        "global_shortcut",
        "shortcut",
        "interactive",
    }
)
EVENT_KINDS = frozenset(
    {
        "app_mention",
        "direct_message",
        "message",
        "app_home_opened",
        "app_context_changed",
        "app_uninstalled",
        "tokens_revoked",
        "url_verification",
        "event",
    }
)

_sequence = itertools.count(1)
_clock = MessageClock()
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def _next() -> int:
    return next(_sequence)


def unique_ts() -> str:
    """A message timestamp no other builder call returns in this process: now, as Slack stamps
    a message (so a reply the fake Slack records later comes after it)."""
    return _clock.next()


def unique_event_id() -> str:
    return f"Ev0FAKE{_next():07d}"


def unique_trigger_id() -> str:
    number = _next()
    return f"{1000000000000 + number}.1000000000002.{number:032x}"


@cache
def _template(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def documented(name: str) -> dict[str, Any]:
    """A fresh copy of the documented example payload `payloads/<name>.json`."""
    return copy.deepcopy(_template(name))


# -- signing ----------------------------------------------------------------------------------


def sign(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers for `body` (v0 HMAC-SHA256 of "v0:{ts}:{body}")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    basestring = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


# -- payload builders ------------------------------------------------------------------------


def slash_command(
    text: str,
    *,
    command: str = "/framework",
    user_id: str = ALICE,
    user_name: str | None = None,
    channel_id: str = GENERAL,
    channel_name: str | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The form fields Slack posts for a slash command."""
    payload = documented("slash_command")
    payload.update(
        text=text,
        command=command,
        user_id=user_id,
        user_name=user_name or _user_name(user_id),
        channel_id=channel_id,
        channel_name=channel_name or _channel_name(channel_id),
        trigger_id=trigger_id or unique_trigger_id(),
    )
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def app_mention(
    text: str,
    *,
    user: str = ALICE,
    channel: str = GENERAL,
    ts: str | None = None,
    thread_ts: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An `app_mention` event in its `event_callback` envelope; put `<@U0BOT>` in `text`."""
    envelope = documented("app_mention")
    _fill_message(envelope["event"], text, user, channel, ts, thread_ts)
    return _envelope(envelope, event_id)


def _fill_message(
    event: dict[str, Any],
    text: str,
    user: str,
    channel: str,
    ts: str | None,
    thread_ts: str | None,
) -> None:
    """Put a user's message into a documented message-like event, as Slack would send it."""
    ts = ts or unique_ts()
    event.update(
        text=text,
        user=user,
        channel=channel,
        ts=ts,
        event_ts=ts,
        blocks=rich_text_blocks(text),
        client_msg_id=_client_msg_id(),
    )
    if thread_ts is not None:
        event["thread_ts"] = thread_ts


def direct_message(
    text: str,
    *,
    user: str = ALICE,
    channel: str = ALICE_DM,
    ts: str | None = None,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `message` event in a DM (`message.im`).

    `bot_id` makes it a message from a bot (subtype bot_message unless given); subtypes
    `message_changed` and `message_deleted` get Slack's nested shape (no top-level user/text).
    """
    envelope = documented("message_im")
    _fill_message(envelope["event"], text, user, channel, ts, thread_ts)
    event = envelope["event"]
    if bot_id is not None:
        event["bot_id"] = bot_id
        subtype = subtype or "bot_message"
        event.pop("client_msg_id")
    if subtype in {"message_changed", "message_deleted"}:
        event = _nested_message_event(event, subtype, unique_ts())
    elif subtype is not None:
        event["subtype"] = subtype
    envelope["event"] = event
    return _envelope(envelope, event_id)


def app_home_opened(
    user: str = ALICE,
    tab: str = "home",
    *,
    channel: str | None = None,
    view: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An `app_home_opened` event; `view` is the currently published Home view, if any."""
    envelope = documented("app_home_opened")
    event = envelope["event"]
    event.update(user=user, channel=channel or "D" + user[1:], tab=tab, event_ts=unique_ts())
    if view is not None:
        event["view"] = dict(view)
    return _envelope(envelope, event_id)


def app_context_changed(
    user: str = ALICE,
    *,
    viewing: Sequence[Mapping[str, Any]] | str | None = GENERAL,
    channel: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An `app_context_changed` event (the agent Messages tab is open and the person moved):
    `viewing` a channel id (a channel_id entity), the entities themselves, or None for Slack's
    empty context (`"context": {}`)."""
    envelope = documented("app_context_changed")
    event = envelope["event"]
    if viewing is None:
        context: dict[str, Any] = {}
    elif isinstance(viewing, str):
        context = {
            "entities": [{"type": "slack#/types/channel_id", "value": viewing, "team_id": TEAM_ID}]
        }
    else:
        context = {"entities": [dict(entity) for entity in viewing]}
    event.update(
        user=user, channel=channel or "D" + user[1:], context=context, event_ts=unique_ts()
    )
    return _envelope(envelope, event_id)


def app_uninstalled(team_id: str = TEAM_ID, *, event_id: str | None = None) -> dict[str, Any]:
    """The `app_uninstalled` event Slack sends once a workspace removes the app."""
    envelope = documented("app_uninstalled")
    envelope["team_id"] = team_id
    for authorization in envelope["authorizations"]:
        authorization["team_id"] = team_id
    return _envelope(envelope, event_id)


def tokens_revoked(
    team_id: str = TEAM_ID,
    *,
    bot_users: Sequence[str] = (BOT_USER_ID,),
    event_id: str | None = None,
) -> dict[str, Any]:
    """The `tokens_revoked` event: the bot tokens of `bot_users` no longer work."""
    envelope = documented("tokens_revoked")
    envelope["team_id"] = team_id
    envelope["event"]["tokens"] = {"bot": list(bot_users)}
    for authorization in envelope["authorizations"]:
        authorization["team_id"] = team_id
    return _envelope(envelope, event_id)


def function_executed(
    inputs: dict[str, Any],
    *,
    execution_id: str = "Fx0FAKE00001",
    callback_id: str = "recommend_framework",
    event_id: str | None = None,
) -> dict[str, Any]:
    """The `function_executed` event: a workflow ran the app's step `callback_id` with `inputs`."""
    envelope = documented("function_executed")
    envelope["event"]["inputs"] = inputs
    envelope["event"]["function_execution_id"] = execution_id
    envelope["event"]["function"]["callback_id"] = callback_id
    return _envelope(envelope, event_id)


def url_verification(challenge: str) -> dict[str, Any]:
    """The handshake Slack sends when the Request URL is saved."""
    payload = documented("url_verification")
    payload["challenge"] = challenge
    return payload


def block_actions(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str = "actions",
    action_type: str = "button",
    text: str | None = None,
    user_id: str = ALICE,
    container: str = "message",
    channel: str = GENERAL,
    message: Mapping[str, Any] | None = None,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    ephemeral: bool = False,
    view: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for a click on an element.

    container="message": the element is in a message in `channel` (`message` is that message,
    e.g. one the fake recorded; with `ephemeral=True` Slack sends no message, like for an
    ephemeral reply). container="view": the element is in a modal or Home tab, `view` (e.g. the
    `view` of a recorded views.open call) is filled in with id, hash and state like Slack does.
    `action_type` is button, feedback_buttons, static_select, radio_buttons, overflow or
    checkboxes.
    """
    payload = documented("block_actions")
    payload["user"] = _user_object(user_id)
    payload["trigger_id"] = trigger_id or unique_trigger_id()
    action = _action(action_type, action_id, block_id, value, text)
    payload["actions"] = [action]
    if container == "message":
        message_ts = message_ts or (message or {}).get("ts") or unique_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        if thread_ts is not None:
            payload["container"]["thread_ts"] = thread_ts
        payload["channel"] = {"id": channel, "name": _channel_name(channel)}
        if ephemeral:
            payload.pop("message")
        else:
            payload["message"] = _clicked_message(
                payload["message"], message, message_ts, thread_ts, action
            )
        payload["state"] = {"values": dict(state_values or {})}
        if response_url is not None:
            payload["response_url"] = response_url
    elif container == "view":
        full_view = _submitted_view(
            view or documented("view_submission")["view"], state_values=state_values
        )
        payload["container"] = {"type": "view", "view_id": full_view["id"]}
        payload["view"] = full_view
        for key in ("message", "channel", "state", "response_url"):
            payload.pop(key, None)
    else:
        raise ValueError(f"unknown container {container!r}: use 'message' or 'view'")
    return payload


def click_in_old_modal(
    action_id: str,
    value: str,
    callback_id: str,
    private_metadata: str,
) -> dict[str, Any]:
    """A click in a modal (id V0OLD, hash h0) whose private_metadata the app may not be able to
    read: one opened by an older version of the app, or carrying a foreign value."""
    old_modal = {
        "type": "modal",
        "callback_id": callback_id,
        "id": "V0OLD",
        "hash": "h0",
        "private_metadata": private_metadata,
    }
    return block_actions(action_id, value, container="view", view=old_modal)


def view_submission(
    callback_id: str | None = None,
    *,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    private_metadata: str | None = None,
    user_id: str = ALICE,
    view: Mapping[str, Any] | None = None,
    view_id: str | None = None,
    trigger_id: str | None = None,
    response_urls: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A `view_submission` payload: a modal's submit button was pressed.

    `values` is Slack's `view.state.values` shape, {block_id: {action_id: element_state}}; build
    element states with `state_value`. `view` (e.g. from a recorded views.open call) supplies
    blocks, title and private_metadata; explicit arguments win.
    """
    payload = documented("view_submission")
    payload["user"] = _user_object(user_id)
    payload["trigger_id"] = trigger_id or unique_trigger_id()
    submitted = _submitted_view(view or payload["view"], state_values=values, view_id=view_id)
    if callback_id is not None:
        submitted["callback_id"] = callback_id
    if private_metadata is not None:
        submitted["private_metadata"] = private_metadata
    payload["view"] = submitted
    payload["response_urls"] = list(response_urls or [])
    return payload


def state_value(element_type: str, value: Any, text: str | None = None) -> dict[str, Any]:
    """One element's entry in `view.state.values`, shaped as Slack sends it for that type."""
    if element_type in {"plain_text_input", "email_text_input", "url_text_input"}:
        return {"type": element_type, "value": value}
    if element_type == "number_input":
        return {"type": element_type, "value": str(value)}
    if element_type in {"static_select", "external_select", "radio_buttons"}:
        return {"type": element_type, "selected_option": _option(value, text)}
    if element_type in {"checkboxes", "multi_static_select"}:
        return {"type": element_type, "selected_options": [_option(item, None) for item in value]}
    if element_type == "users_select":
        return {"type": element_type, "selected_user": value}
    if element_type == "conversations_select":
        return {"type": element_type, "selected_conversation": value}
    if element_type == "channels_select":
        return {"type": element_type, "selected_channel": value}
    raise ValueError(f"no state shape for element type {element_type!r}")


def message_shortcut(
    callback_id: str,
    message_text: str,
    *,
    user_id: str = ALICE,
    message_user: str = BOB,
    channel: str = GENERAL,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A `message_action` payload: a message shortcut used on a message by `message_user`."""
    payload = documented("message_action")
    message_ts = message_ts or unique_ts()
    payload.update(
        callback_id=callback_id,
        user=_user_object(user_id),
        channel={"id": channel, "name": _channel_name(channel)},
        message_ts=message_ts,
        trigger_id=trigger_id or unique_trigger_id(),
        action_ts=unique_ts(),
    )
    message = payload["message"]
    message.update(
        text=message_text,
        user=message_user,
        ts=message_ts,
        blocks=rich_text_blocks(message_text),
        client_msg_id=_client_msg_id(),
    )
    if thread_ts is not None:
        message["thread_ts"] = thread_ts
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def global_shortcut(
    callback_id: str, *, user_id: str = ALICE, trigger_id: str | None = None
) -> dict[str, Any]:
    """A `shortcut` payload: a global shortcut (no channel, no response_url)."""
    payload = documented("shortcut")
    user = _user_object(user_id)
    user.pop("name")
    payload.update(
        callback_id=callback_id,
        user=user,
        trigger_id=trigger_id or unique_trigger_id(),
        action_ts=unique_ts(),
    )
    return payload


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to a typed message, with user mentions as elements."""
    elements: list[dict[str, Any]] = []
    position = 0
    for mention in _USER_MENTION.finditer(text):
        if mention.start() > position:
            elements.append({"type": "text", "text": text[position : mention.start()]})
        elements.append({"type": "user", "user_id": mention.group(1)})
        position = mention.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    return [
        {
            "type": "rich_text",
            "block_id": f"rt{_next():05d}",
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


# -- wire format ------------------------------------------------------------------------------


def wire_format(kind: str) -> str:
    """'command', 'interactive' or 'event' for a payload kind (builder name or format name)."""
    if kind in COMMAND_KINDS:
        return "command"
    if kind in INTERACTIVE_KINDS:
        return "interactive"
    if kind in EVENT_KINDS:
        return "event"
    raise ValueError(f"unknown payload kind {kind!r}")


def content_type_for(kind: str) -> str:
    return JSON_CONTENT_TYPE if wire_format(kind) == "event" else FORM_CONTENT_TYPE


def encode(kind: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The body Slack would send for `payload`, and its content type."""
    form = wire_format(kind)
    if form == "command":
        return urlencode(payload), FORM_CONTENT_TYPE
    if form == "interactive":
        return urlencode({"payload": json.dumps(payload)}), FORM_CONTENT_TYPE
    return json.dumps(payload), JSON_CONTENT_TYPE


@dataclass(frozen=True)
class Response:
    """An HTTP answer from the app."""

    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def request_headers(
    kind: str,
    body: str | bytes,
    *,
    secret: str,
    headers: Mapping[str, str] | None = None,
    signed: bool = True,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Content-Type, signature headers (unless `signed=False`), then `headers` overriding both."""
    result = {"Content-Type": content_type_for(kind)}
    if signed:
        text = body.decode("utf-8", errors="surrogateescape") if isinstance(body, bytes) else body
        result.update(sign(text, secret, timestamp))
    for name, value in (headers or {}).items():
        for existing in [key for key in result if key.lower() == name.lower()]:
            del result[existing]
        result[name] = value
    return result


def prepare(
    kind: str,
    payload: Mapping[str, Any] | None,
    *,
    secret: str,
    headers: Mapping[str, str] | None = None,
    signed: bool = True,
    timestamp: int | None = None,
    raw_body: str | bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Encode and sign a payload (or `raw_body` as is) into (body bytes, headers)."""
    if raw_body is None:
        if payload is None:
            raise ValueError("give a payload or a raw_body")
        body: str | bytes = encode(kind, payload)[0]
    else:
        body = raw_body
    all_headers = request_headers(
        kind, body, secret=secret, headers=headers, signed=signed, timestamp=timestamp
    )
    data = body.encode("utf-8") if isinstance(body, str) else body
    return data, all_headers


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def call_wsgi(
    app: WsgiApp,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Call a WSGI app through a real PEP 3333 environ and collect its answer."""
    url = urlsplit(path)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": url.path,
        "QUERY_STRING": url.query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    wsgiref.util.setup_testing_defaults(environ)
    started: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info=None):
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = {name.lower(): value for name, value in response_headers}
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Response(started["status"], started["headers"], content.decode("utf-8", "replace"))


def http_request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTP request with urllib; HTTP errors come back as a Response, not an exception."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(
                answer.status,
                {name.lower(): value for name, value in answer.headers.items()},
                answer.read().decode("utf-8", "replace"),
            )
    except urllib.error.HTTPError as error:
        with error:
            return Response(
                error.code,
                {name.lower(): value for name, value in error.headers.items()},
                error.read().decode("utf-8", "replace"),
            )


def events_url(url: str) -> str:
    """`url` itself, or `url` + /slack/events when it names only the server."""
    return url.rstrip("/") + EVENTS_PATH if urlsplit(url).path in {"", "/"} else url


# -- helpers ----------------------------------------------------------------------------------


def _envelope(envelope: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    envelope["event_id"] = event_id or unique_event_id()
    envelope["event_time"] = int(time.time())
    return envelope


def _client_msg_id() -> str:
    return f"00000000-0000-4000-8000-{_next():012d}"


def _user_name(user_id: str) -> str:
    return user_id[2:].lower() if user_id.startswith(("U0", "W0")) else user_id.lower()


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    return channel_id[2:].lower() if channel_id.startswith(("C0", "G0")) else channel_id.lower()


def _user_object(user_id: str) -> dict[str, str]:
    name = _user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _option(value: str, text: str | None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def _action(
    action_type: str, action_id: str, block_id: str, value: Any, text: str | None
) -> dict[str, Any]:
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": action_type}
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": text or action_id, "emoji": True}
        if value is not None:
            action["value"] = value
    elif action_type == "feedback_buttons":
        # Slack sends the clicked button's value and text (its 👍 or 👎).
        action["text"] = {"type": "plain_text", "text": text or "👍", "emoji": True}
        action["value"] = value
    elif action_type in {"static_select", "radio_buttons", "overflow", "external_select"}:
        action["selected_option"] = _option(value, text)
    elif action_type == "checkboxes":
        action["selected_options"] = [_option(item, None) for item in value or []]
    else:
        raise ValueError(f"unknown action type {action_type!r}")
    action["action_ts"] = unique_ts()
    return action


def _clicked_message(
    template: dict[str, Any],
    message: Mapping[str, Any] | None,
    message_ts: str,
    thread_ts: str | None,
    action: dict[str, Any],
) -> dict[str, Any]:
    if message is None:
        clicked = template
        element = {key: value for key, value in action.items() if key not in {"block_id"}}
        element.pop("action_ts")
        clicked["blocks"] = [
            {"type": "actions", "block_id": action["block_id"], "elements": [element]}
        ]
    else:
        clicked = {"type": "message", "user": BOT_USER_ID, "bot_id": "B0BOT", **message}
    clicked["ts"] = message_ts
    if thread_ts is not None:
        clicked["thread_ts"] = thread_ts
    return clicked


def _submitted_view(
    view: Mapping[str, Any],
    *,
    state_values: Mapping[str, Any] | None,
    view_id: str | None = None,
) -> dict[str, Any]:
    """A view as Slack echoes it back in a payload: with id, hash, state and app ids."""
    base = documented("view_submission")["view"]
    submitted = {**base, **copy.deepcopy(dict(view))}
    submitted["id"] = view_id or view.get("id") or f"V0VIEW{_next():05d}"
    submitted["root_view_id"] = view.get("root_view_id") or submitted["id"]
    submitted["hash"] = view.get("hash") or f"{int(time.time())}.fAkE{_next():04d}"
    submitted.setdefault("private_metadata", "")
    submitted["state"] = {"values": copy.deepcopy(dict(state_values or {}))}
    for key in ("private_metadata", "callback_id", "external_id"):
        if submitted.get(key) is None:
            submitted[key] = ""
    return submitted


def _nested_message_event(event: dict[str, Any], subtype: str, event_ts: str) -> dict[str, Any]:
    original = {
        key: event[key]
        for key in ("type", "text", "user", "ts", "blocks", "client_msg_id", "team")
        if key in event
    }
    nested: dict[str, Any] = {
        "type": "message",
        "subtype": subtype,
        "hidden": True,
        "channel": event["channel"],
        "channel_type": event.get("channel_type", "im"),
        "ts": event_ts,
        "event_ts": event_ts,
        "previous_message": original,
    }
    if subtype == "message_changed":
        nested["message"] = {**original, "edited": {"user": original.get("user"), "ts": event_ts}}
    else:
        nested["deleted_ts"] = original["ts"]
    return nested
