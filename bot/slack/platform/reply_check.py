"""Whether the reply to an inbox delivery is in Slack already.

A delivery marked sending and never marked done (its process died while posting the reply, or
just after) may have been answered. Before it is answered again, the reply is looked for where
it would be: the bot's own message after the question whose metadata carries the reply's id
(`question_id`), in the question's thread (`conversations.replies`) or, for a DM answered
outside a thread, in the DM after the question (`conversations.history`); both with
`include_all_metadata`, without which Slack leaves the metadata out.

Reading a conversation needs the history scope of its type (`channels:history`,
`groups:history`, `mpim:history`, `im:history`). When the look cannot be made (a workspace that
installed the app before it asked for them answers `missing_scope`; Slack unreachable; a rate
limit that outlasts the retry), the result is UNKNOWN and the caller answers: at least once
after the acknowledgement rather than perhaps never. Each reason is logged once a process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.slack.platform.messenger import Slack

log = logging.getLogger(__name__)

PAGE = 100
"""Messages asked for a page (Slack may give fewer: 15 to apps distributed outside the
Marketplace)."""
MAX_PAGES = 5
"""Pages read before giving up: the reply follows its question closely."""
NO_THREAD = frozenset({"thread_not_found"})
"""Errors that answer the question: no thread there, so no reply in it."""
MISSING_SCOPE = "missing_scope"


class Seen(Enum):
    THERE = "there"
    """The reply is in Slack: do not post it again."""
    ABSENT = "absent"
    """Slack shows no such reply: post it."""
    UNKNOWN = "unknown"
    """Slack could not be asked (see `error`): post it, answering perhaps twice."""


@dataclass(frozen=True)
class Search:
    seen: Seen
    message: dict[str, Any] | None = None
    """The reply as Slack gives it back, when it is there."""
    error: str | None = None
    """Why Slack could not be asked, when it could not."""


@dataclass(frozen=True)
class ReplyPlace:
    """Where the reply to a question goes: the conversation, the thread (None: the
    conversation itself, a DM answered outside a thread) and the question's ts, after which
    the reply comes."""

    channel: str
    thread_ts: str | None
    after_ts: str


@dataclass(frozen=True)
class Sender:
    """Who posted the reply: the bot's user id and bot id (either is enough)."""

    user_id: str | None
    bot_id: str | None

    def posted(self, message: dict[str, Any]) -> bool:
        if self.user_id is None and self.bot_id is None:
            return True  # nothing to tell by: the reply's id alone (a random UUID) decides
        return (self.user_id is not None and message.get("user") == self.user_id) or (
            self.bot_id is not None and message.get("bot_id") == self.bot_id
        )


def find_reply(slack: Slack, place: ReplyPlace, reply_uid: str, sender: Sender) -> Search:
    """Look in Slack for the message `sender` posted at `place` naming `reply_uid`."""
    context = f"channel={place.channel} thread_ts={place.thread_ts} reply={reply_uid}"
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        arguments: dict[str, Any] = {
            "channel": place.channel,
            "oldest": place.after_ts,
            "include_all_metadata": True,
            "limit": PAGE,
        }
        if cursor:
            arguments["cursor"] = cursor
        if place.thread_ts is not None:
            read = slack.read(
                slack.client.conversations_replies, context, ts=place.thread_ts, **arguments
            )
        else:
            read = slack.read(slack.client.conversations_history, context, **arguments)
        if not read.ok:
            if read.error in NO_THREAD:
                return Search(Seen.ABSENT)
            return _cannot_tell(read.error or "unknown_error")
        for message in read.data.get("messages") or []:
            if isinstance(message, dict) and _names(message, reply_uid) and sender.posted(message):
                return Search(Seen.THERE, message=message)
        metadata = read.data.get("response_metadata")
        cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
        if not read.data.get("has_more") or not cursor:
            return Search(Seen.ABSENT)
    return _cannot_tell("too_many_messages")


def _names(message: dict[str, Any], reply_uid: str) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict):
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("question_id") == reply_uid


_reported: set[str] = set()
_reported_lock = threading.Lock()


def _cannot_tell(error: str) -> Search:
    with _reported_lock:
        first = error not in _reported
        _reported.add(error)
    if first and error == MISSING_SCOPE:
        log.warning(
            "Cannot read a conversation to see whether a reply sent before a crash arrived "
            "(missing_scope): the app's token lacks channels:history, groups:history, "
            "mpim:history or im:history; reinstall the app to grant them. Until then such "
            "questions are answered again, perhaps twice (logged once)"
        )
    elif first:
        log.warning(
            "Could not read a conversation to see whether a reply sent before a crash "
            "arrived (%s): the question is answered again, perhaps twice (logged once for "
            "this reason)",
            error,
        )
    else:
        log.debug("Could not look for a reply sent before a crash (%s)", error)
    return Search(Seen.UNKNOWN, error=error)
