"""The last line of defence: any exception a listener or middleware did not handle is logged
with what the request was, the person is told where possible, and Slack gets a 200 rather than
a 500 (so an event is not redelivered into the same failure)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext

from bot.slack.context import AppContext

log = logging.getLogger(__name__)

TYPED_EVENTS = frozenset({"app_mention", "message"})
"""Events where a person typed something and waits for an answer (others: nobody waits)."""
SORRY = "Sorry, something went wrong on my side. I've logged it; please try again."


def describe(body: dict[str, Any]) -> str:
    """A short, secret-free description of a request for the log."""
    kind = body.get("type") or ("command " + str(body.get("command")) if "command" in body else "?")
    event = _event_of(body)
    parts = [str(kind)]
    for name, value in (
        ("event", event.get("type")),
        ("event_id", body.get("event_id")),
        ("callback_id", body.get("callback_id") or (body.get("view") or {}).get("callback_id")),
        ("user", requester(body)),
    ):
        if value:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def _event_of(body: dict[str, Any]) -> dict[str, Any]:
    event = body.get("event")
    return event if isinstance(event, dict) else {}


def requester(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        user_id = user.get("id")
    elif isinstance(body.get("user_id"), str):
        user_id = body["user_id"]
    else:
        user_id = _event_of(body).get("user")
    return user_id if isinstance(user_id, str) else None


def report_unhandled(
    app_context: AppContext | None, error: Exception, body: dict[str, Any], context: BoltContext
) -> None:
    """Log an exception no listener handled, with what the request was, and tell the person
    who typed or clicked something that it failed (nobody waits on other events). Without the
    AppContext (an error in Bolt's check of the request's signature, before the app's
    middleware) it is only logged: nobody is told about a request not known to be Slack's."""
    body = body if isinstance(body, dict) else {}
    log.error("Unhandled error for %s", describe(body), exc_info=error)
    user = requester(body)
    event = _event_of(body)
    typed_by_person = event.get("type") in TYPED_EVENTS and not event.get("bot_id")
    if user is not None and (not event or typed_by_person):
        if app_context is None:
            log.warning("Not telling user=%s: the request failed before it was verified", user)
            return
        try:
            app_context.turn(context).slack.tell(user, SORRY, response_url=body.get("response_url"))
        except Exception:
            log.exception("Could not tell user=%s about the error", user)
