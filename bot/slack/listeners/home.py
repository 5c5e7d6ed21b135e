"""App Home: published on `app_home_opened` (Home tab only): what the bot does, a button to
start the questionnaire (the result goes to the DM), example questions and the companies."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.render.home import home_view
from bot.slack.context import AppContext
from bot.slack.wire.ids import Event
from bot.slack.wire.payloads import HomeOpened, ValidationError, problems
from bot.slack.wire.state import Place

log = logging.getLogger(__name__)


def register(app: App, app_context: AppContext) -> None:
    start_value = Place(dm=True).encode_value()

    @app.event(Event.APP_HOME_OPENED)
    def publish_home(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        try:
            opened = HomeOpened.model_validate(event)
        except ValidationError as error:
            log.warning("Malformed app_home_opened event: %s", problems(error))
            return
        if opened.tab != "home" or not app_context.claim_event(body, context):
            return
        turn = app_context.turn(context)
        turn.slack.publish_home(opened.user, home_view(turn.kb, start_value))
