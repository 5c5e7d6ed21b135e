"""The global error listener: an exception no listener handled is logged with what the
request was, and the person who typed or clicked is told (bot/slack/flows/failures.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.response import BoltResponse

from bot.slack.context import find_app_context
from bot.slack.flows.failures import report_unhandled


def register(app: App) -> None:
    app.error(handle_error)


def handle_error(
    error: Exception,
    body: dict[str, Any],
    response: BoltResponse | None,
    context: BoltContext,
) -> BoltResponse | None:
    report_unhandled(find_app_context(context), error, body, context)
    return BoltResponse(status=200, body="") if response is not None else None
