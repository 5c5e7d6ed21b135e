"""The parts of Slack's payloads the listeners use, as pydantic models.

Bolt hands listeners plain dicts; parsing them here means a payload with a missing or mistyped
field fails in one place with a clear error (the listener then answers politely) instead of a
KeyError deep inside a listener. Unknown fields are ignored: Slack adds fields over time.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.store.folding import storable

__all__ = [
    "Action",
    "AppContextChanged",
    "BlockActions",
    "GlobalShortcut",
    "HomeOpened",
    "MessageEvent",
    "MessageShortcut",
    "SlashCommand",
    "ValidationError",
    "ViewSubmission",
    "problems",
]


Text = Annotated[str, AfterValidator(storable)]
"""What a person typed, without NUL and lone surrogates: answered, rendered and stored."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _User(_Payload):
    id: str = Field(min_length=1)


class _Channel(_Payload):
    id: str = Field(min_length=1)


class SlashCommand(_Payload):
    command: str
    text: Text = ""
    user_id: str = Field(min_length=1)
    channel_id: str = ""
    response_url: str = Field(min_length=1)
    trigger_id: str = ""


class MessageEvent(_Payload):
    """An `app_mention` or `message` event (the fields both have)."""

    type: str
    text: Text = ""
    user: str | None = None
    channel: str = Field(min_length=1)
    ts: str = Field(min_length=1)
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    channel_type: str | None = None

    @property
    def reply_thread_ts(self) -> str:
        """Where a reply goes: the existing thread, or a new one under this message."""
        return self.thread_ts or self.ts


class HomeOpened(_Payload):
    user: str = Field(min_length=1)
    tab: str = "home"
    channel: str | None = None
    """The person's DM with the app (the Messages tab's conversation)."""


CHANNEL_ENTITY = "slack#/types/channel_id"
MESSAGE_ENTITY = "slack#/types/message_context"


class _ContextEntity(_Payload):
    type: str = ""
    value: Any = None


class _ViewedContext(_Payload):
    entities: list[_ContextEntity] = Field(default_factory=list)


class AppContextChanged(_Payload):
    """`app_context_changed`: what the person is looking at while the agent Messages tab is
    open. Entities come most relevant first; Slack sends `"context": {}` when there is none."""

    user: str = Field(min_length=1)
    channel: str | None = None
    """The person's DM with the app (the Messages tab's conversation)."""
    context: _ViewedContext = Field(default_factory=_ViewedContext)

    @property
    def viewed_channel(self) -> str | None:
        """The channel they are looking at: the first channel entity, or the channel of the
        first message entity; None when the context names neither."""
        for entity in self.context.entities:
            value = entity.value
            if entity.type == CHANNEL_ENTITY and isinstance(value, str) and value:
                return value
            if entity.type == MESSAGE_ENTITY and isinstance(value, dict):
                channel = value.get("channel_id")
                if isinstance(channel, str) and channel:
                    return channel
        return None


class Action(_Payload):
    action_id: str
    block_id: str = ""
    value: str = ""


class _Container(_Payload):
    type: str = ""
    message_ts: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    is_ephemeral: bool = False


class _ClickedMessage(_Payload):
    ts: str | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    """What the app attached when it posted the message (bot/slack/wire/metadata.py)."""


class _ViewState(_Payload):
    values: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class _View(_Payload):
    id: str = Field(min_length=1)
    type: str = ""
    """"modal", or "home" for the Home tab."""
    hash: str | None = None
    private_metadata: str = ""
    callback_id: str = ""
    state: _ViewState = Field(default_factory=_ViewState)


class BlockActions(_Payload):
    """A click on a button in a message, a modal or the Home tab."""

    user: _User
    actions: list[Action] = Field(min_length=1)
    trigger_id: str = ""
    container: _Container = Field(default_factory=_Container)
    channel: _Channel | None = None
    message: _ClickedMessage | None = None
    response_url: str | None = None
    view: _View | None = None

    @property
    def action(self) -> Action:
        return self.actions[0]

    @property
    def channel_id(self) -> str | None:
        return self.container.channel_id or (self.channel.id if self.channel else None)

    @property
    def message_ts(self) -> str | None:
        return self.container.message_ts or (self.message.ts if self.message else None)

    @property
    def thread_ts(self) -> str | None:
        """The thread the clicked message is in, if any."""
        if self.container.thread_ts:
            return self.container.thread_ts
        return self.message.thread_ts if self.message else None


class ViewSubmission(_Payload):
    user: _User
    view: _View


class _ShortcutMessage(_Payload):
    text: Text = ""
    ts: str = Field(min_length=1)
    thread_ts: str | None = None


class MessageShortcut(_Payload):
    user: _User
    channel: _Channel
    message: _ShortcutMessage
    response_url: str | None = None
    trigger_id: str = ""


class GlobalShortcut(_Payload):
    user: _User
    trigger_id: str = Field(min_length=1)


def problems(error: Exception) -> str:
    """A payload error for the log: which fields were wrong, never what a person typed (a
    pydantic message would quote the input, which may be a 40,000-character question)."""
    if not isinstance(error, ValidationError):
        return str(error)[:300]
    return "; ".join(
        f"{'.'.join(str(part) for part in detail['loc']) or 'payload'}: {detail['type']}"
        for detail in error.errors(include_input=False, include_url=False)
    )
