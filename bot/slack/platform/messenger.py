"""Sending to Slack, with Slack's failures handled in one place.

Every Web API call and response-URL post goes through `Slack`, which turns exceptions into an
`Outcome`, logs each failure with what was being sent and where, and knows the fallbacks: a
result meant for a channel the bot is not in goes to the person by another route, and the
person is told what they can do about it. Retries of 429 (honouring Retry-After) and 5xx
happen below this, in the clients' retry handlers.

A call sent whose answer did not come in time (TIMED_OUT) is not a failure to reach Slack:
Slack may well have done it. It is never sent again by another route (that posted the same
message twice), and the person is told it may not have arrived rather than that it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.models.views import View

from bot.render.block_kit import APP_NAME, Message, notice_message, with_note
from bot.slack.platform.transport import KeepAliveWebhookClient
from bot.slack.wire.metadata import NOTICE_EVENT, message_metadata
from bot.slack.wire.payloads import BlockActions
from bot.slack.wire.state import Destination

log = logging.getLogger(__name__)

CHANNEL_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "access_denied"}
)
"""Errors that mean the bot cannot post where it was asked to; the person can fix them."""
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "trigger_exchanged"})
CONNECTION_ERROR = "connection_error"
TIMED_OUT = "timed_out"
"""Sent, but Slack's answer did not come within the timeout: it may have been carried out."""
NOWHERE = "no_message_to_replace"
"""A click that names neither a message nor a response URL: there is nothing to replace."""


@dataclass(frozen=True)
class Outcome:
    """What came of one call: ok, or the Slack error code (or connection_error)."""

    ok: bool
    error: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    skipped: bool = False
    """Ok without sending anything now: the message is in Slack already (posted by an earlier
    attempt at the same delivery), or another instance is posting it."""


def problem_text(error: str | None, channel: str | None = None) -> str:
    """What to tell a person about a failure, in words they can act on."""
    where = f"<#{channel}>" if channel and channel[:1] in {"C", "G"} else "that conversation"
    if error in CHANNEL_ERRORS:
        return (
            f"I can't post in {where}: invite me with `/invite @{APP_NAME}`, "
            "or use our DM (find me under Apps)."
        )
    if error in TRIGGER_ERRORS:
        return "Slack closed that window before it opened. Please try again."
    if error == CONNECTION_ERROR:
        return "I couldn't reach Slack just now. Please try again in a minute."
    if error == TIMED_OUT:
        return (
            "Slack was slow to confirm my reply, so it may not have arrived. If you don't see "
            "it in a minute, please try again."
        )
    return f"Slack refused my reply (`{error}`). I've logged it; please try again."


class Slack:
    """The Web API client and response URLs, failures logged with context and returned."""

    def __init__(
        self,
        client: WebClient,
        retry_handlers: list[RetryHandler],
        response_url_timeout: float = 30.0,
        *,
        knowledge_version: str = "",
    ) -> None:
        self.client = client
        self._retry_handlers = retry_handlers
        self._response_url_timeout = response_url_timeout
        self.knowledge_version = knowledge_version
        """The knowledge version of the request at hand, which the notices `tell` posts name
        in their metadata ("" outside a request: the weekly digest's sender)."""

    # -- single calls --------------------------------------------------------------------------

    def call(self, method: Callable[..., Any], context: str, **arguments: Any) -> Outcome:
        """Any Web API call (`method` is the client's), its failure logged and returned: the
        methods below for what the listeners send most, this for the rest (canvases)."""
        return self._call(method, context, arguments, logging.WARNING)

    def read(self, method: Callable[..., Any], context: str, **arguments: Any) -> Outcome:
        """A Web API call that only reads, whose caller says what a failure means: refused
        calls are logged at debug level only (a failure to reach Slack still as an error)."""
        return self._call(method, context, arguments, logging.DEBUG)

    def _call(
        self,
        method: Callable[..., Any],
        context: str,
        arguments: dict[str, Any],
        refused_level: int,
    ) -> Outcome:
        name = getattr(method, "__name__", "api_call")
        try:
            response = method(**arguments)
        except SlackApiError as error:
            code = error.response.get("error") or f"http_{error.response.status_code}"
            log.log(refused_level, "Slack API %s failed with %s (%s)", name, code, context)
            return Outcome(False, code)
        except TimeoutError:
            log.warning(
                "Slack API %s was sent but not answered within %ss (%s): it may have been done",
                name,
                self.client.timeout,
                context,
            )
            return Outcome(False, TIMED_OUT)
        except (SlackClientError, OSError) as error:
            log.error("Slack API %s could not be sent (%s): %r", name, context, error)
            return Outcome(False, CONNECTION_ERROR)
        return Outcome(True, data=response.data if isinstance(response.data, dict) else {})

    def post_message(
        self, channel: str, message: Message, *, thread_ts: str | None = None
    ) -> Outcome:
        return self.call(
            self.client.chat_postMessage,
            f"channel={channel} thread_ts={thread_ts}",
            channel=channel,
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks_json(),
            metadata=message.metadata,
            unfurl_links=False,
            unfurl_media=False,
        )

    def post_ephemeral(
        self, channel: str, user: str, message: Message, *, thread_ts: str | None = None
    ) -> Outcome:
        return self.call(
            self.client.chat_postEphemeral,
            f"channel={channel} user={user} thread_ts={thread_ts}",
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks_json(),
        )

    def update_message(self, channel: str, ts: str, message: Message) -> Outcome:
        return self.call(
            self.client.chat_update,
            f"channel={channel} ts={ts}",
            channel=channel,
            ts=ts,
            text=message.text,
            blocks=message.blocks_json(),
            metadata=message.metadata,
        )

    def replace_clicked(self, click: BlockActions, message: Message) -> Outcome:
        """Replace the message a button was clicked in: chat.update for a message, the
        click's response URL for an ephemeral one (which chat.update cannot reach)."""
        channel, ts = click.channel_id, click.message_ts
        if click.container.is_ephemeral or channel is None or ts is None:
            if click.response_url is None:
                return Outcome(False, NOWHERE)
            return self.respond(click.response_url, message, replace_original=True)
        return self.update_message(channel, ts, message)

    def open_view(self, trigger_id: str, view: View, context: str) -> Outcome:
        return self.call(
            self.client.views_open, context, trigger_id=trigger_id, view=view.to_dict()
        )

    def update_view(self, view_id: str, view_hash: str | None, view: View) -> Outcome:
        return self.call(
            self.client.views_update,
            f"view_id={view_id}",
            view_id=view_id,
            hash=view_hash,
            view=view.to_dict(),
        )

    def publish_home(self, user: str, view: View) -> Outcome:
        return self.call(
            self.client.views_publish, f"home of user={user}", user_id=user, view=view.to_dict()
        )

    # -- the agent Messages tab (assistant:write) ----------------------------------------------

    def set_suggested_prompts(
        self, channel: str, prompts: list[dict[str, str]], title: str | None = None
    ) -> Outcome:
        """The prompts of the person's Messages tab with the app. No thread_ts: under
        agent_view the prompts belong to the tab, and a thread_ts makes Slack ignore them."""
        return self.call(
            self.client.assistant_threads_setSuggestedPrompts,
            f"suggested prompts in channel={channel}",
            channel_id=channel,
            prompts=prompts,
            title=title,
        )

    def set_status(self, channel: str, thread_ts: str, status: str) -> Outcome:
        """The line Slack shows under an assistant thread while the app works ("" clears it;
        the app's reply in the thread clears it too)."""
        return self.call(
            self.client.assistant_threads_setStatus,
            f"status in channel={channel} thread_ts={thread_ts}",
            channel_id=channel,
            thread_ts=thread_ts,
            status=status,
        )

    def respond(self, url: str, message: Message, *, replace_original: bool = False) -> Outcome:
        """Post an ephemeral message (or replace the original) through a response URL."""
        client = KeepAliveWebhookClient(
            url,
            timeout=self._response_url_timeout,  # type: ignore[arg-type]  # any float
            retry_handlers=self._retry_handlers,
        )
        try:
            response = client.send(
                text=message.text,
                blocks=message.blocks_json(),
                response_type="ephemeral",
                replace_original=replace_original,
                # Kept when the reply replaces a (non-ephemeral) message; harmless otherwise.
                metadata=message.metadata.to_dict() if message.metadata is not None else None,
            )
        except TimeoutError:
            log.warning(
                "Response URL post sent but not answered within %ss: it may have arrived",
                self._response_url_timeout,
            )
            return Outcome(False, TIMED_OUT)
        except (SlackClientError, OSError) as error:
            log.error("Response URL post could not be sent: %r", error)
            return Outcome(False, CONNECTION_ERROR)
        if response.status_code != 200:
            body = (response.body or "").strip()[:100]
            log.warning("Response URL post failed with HTTP %s: %s", response.status_code, body)
            return Outcome(False, body or f"http_{response.status_code}")
        return Outcome(True)

    # -- routes to a person --------------------------------------------------------------------

    def send_to_dm(self, user: str, message: Message) -> Outcome:
        """Post `message` in the person's DM with the app."""
        opened = self.call(self.client.conversations_open, f"DM with user={user}", users=user)
        if not opened.ok:
            return opened
        channel = opened.data.get("channel", {}).get("id")
        if not channel:
            log.error("conversations.open for user=%s returned no channel id", user)
            return Outcome(False, "channel_not_found")
        return self.post_message(channel, message)

    def tell(
        self,
        user: str,
        text: str,
        *,
        response_url: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
    ) -> Outcome:
        """Tell one person something only they see, by the first route that works: the
        response URL, an ephemeral message in the channel, or their DM (where the notice
        says what it is in its metadata, as every message the bot posts does)."""
        message = notice_message(text).with_metadata(
            message_metadata(NOTICE_EVENT, self.knowledge_version)
        )
        if response_url:
            outcome = self.respond(response_url, message)
            if outcome.ok or outcome.error == TIMED_OUT:
                return outcome
        if channel and not channel.startswith("D"):
            outcome = self.post_ephemeral(channel, user, message, thread_ts=thread_ts)
            if outcome.ok or outcome.error == TIMED_OUT:
                return outcome
        outcome = self.send_to_dm(user, message)
        if not outcome.ok:
            log.error("Could not tell user=%s by any route: %s", user, text)
        return outcome

    def deliver(self, to: Destination, message: Message) -> Outcome:
        """Deliver a result where its questionnaire started (see Destination), falling back
        to the person's DM with a note when the channel is closed to the bot."""
        if to.dm or not to.channel:
            outcome = self.send_to_dm(to.user, message)
            if not outcome.ok:
                log.error("Could not deliver a result to the DM of user=%s", to.user)
            return outcome
        ephemeral = partial(
            self.post_ephemeral, to.channel, to.user, message, thread_ts=to.thread_ts
        )
        routes: list[Callable[[], Outcome]] = [ephemeral]
        if to.response_url:
            by_url = partial(self.respond, to.response_url, message)
            # An ephemeral message lands in the thread; a response URL posts to the channel.
            routes = [ephemeral, by_url] if to.thread_ts else [by_url, ephemeral]
        errors = []
        for route in routes:
            outcome = route()
            if outcome.ok:
                return outcome
            if outcome.error == TIMED_OUT:
                # It may have arrived: another route would show it twice.
                return outcome
            errors.append(outcome.error)
        channel_problem = next((e for e in errors if e in CHANNEL_ERRORS), errors[-1])
        note = problem_text(channel_problem, to.channel) + " Here it is in our DM instead."
        outcome = self.send_to_dm(to.user, with_note(message, note))
        if not outcome.ok:
            log.error(
                "Could not deliver a result to user=%s in channel=%s nor in their DM (%s)",
                to.user,
                to.channel,
                ", ".join(str(e) for e in errors),
            )
        return outcome
