"""App Home, on `app_home_opened`: the Home tab is published (what the bot does, a button to
start the questionnaire whose result goes to the DM, example questions and the companies); the
agent Messages tab gets its suggested prompts from the knowledge (`tab: "messages"`; a DM sent
there is answered by the messages listener, as any DM)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.render.home import PROMPTS_TITLE, agent_prompts, home_view
from bot.slack.context import app_context_of
from bot.slack.wire.ids import Event
from bot.slack.wire.payloads import HomeOpened, ValidationError, problems
from bot.slack.wire.state import Place

log = logging.getLogger(__name__)


START_VALUE = Place(dm=True).encode_value()
"""The Home tab's Start button: a questionnaire whose result goes to the DM."""


def register(app: App) -> None:
    app.event(Event.APP_HOME_OPENED)(publish_home)


def publish_home(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    try:
        opened = HomeOpened.model_validate(event)
    except ValidationError as error:
        log.warning("Malformed app_home_opened event: %s", problems(error))
        return
    app_context = app_context_of(context)
    if opened.tab not in {"home", "messages"} or not app_context.claim_event(body, context):
        return
    turn = app_context.turn(context)
    if opened.tab == "home":
        turn.slack.publish_home(opened.user, home_view(turn.kb, START_VALUE))
        return
    prompts = agent_prompts(turn.kb)
    if not prompts or opened.channel is None:
        log.info("Messages tab opened by user=%s: no prompts to show", opened.user)
        return
    turn.slack.set_suggested_prompts(opened.channel, prompts, PROMPTS_TITLE)
