"""The agent Messages tab's `app_context_changed`: while the tab is open, Slack says which
channel the person is looking at. It is remembered (`AppContext.viewing`, in memory), and the
next answer in the Messages tab says how to get it in that channel (bot/slack/listeners/
messages.py). Nothing is sent to Slack on the event itself; an empty context forgets the
channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.slack.context import Asker, app_context_of
from bot.slack.wire.ids import Event
from bot.slack.wire.payloads import AppContextChanged, ValidationError, problems

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event(Event.APP_CONTEXT_CHANGED)(remember_viewed_channel)


def remember_viewed_channel(event: dict[str, Any], context: BoltContext) -> None:
    try:
        changed = AppContextChanged.model_validate(event)
    except ValidationError as error:
        log.warning("Malformed app_context_changed event: %s", problems(error))
        return
    team_id = Asker.from_context(context).team_id
    app_context_of(context).viewing.note(team_id, changed.user, changed.viewed_channel)
    log.debug("user=%s now looks at %s", changed.user, changed.viewed_channel)
