"""Bolt listeners, one module per Slack surface, each with `register(app)`.

A listener is a module-level function, and `register(app)` only wires it
(`app.event(Event.APP_MENTION)(take_mention)`); the `AppContext` reaches it through Bolt's
`context` (`app_context_of(context)`, put there by the `ProvideAppContext` middleware that
bot/slack/app.py installs). Listeners are thin: parse the payload (`bot.slack.wire`), call the
core through the `AppContext`, render with `bot.render`, and send through the messenger
(`bot.slack.platform.messenger`). No listener imports another; what several share is in
`bot.slack.flows`.
"""

from __future__ import annotations

from types import ModuleType

from slack_bolt import App

from bot.slack.context import AppContext
from bot.slack.listeners import (
    agent,
    commands,
    decisions,
    errors,
    feedback,
    home,
    lifecycle,
    mentions,
    messages,
    questionnaire,
    results,
    shortcuts,
    topics,
    workflow_step,
)

SURFACES = (
    commands,
    mentions,
    messages,
    home,
    agent,
    questionnaire,
    results,
    topics,
    feedback,
    shortcuts,
    decisions,
    workflow_step,
    lifecycle,
    errors,
)
"""Bolt tries listeners in registration order: the surfaces whose acks are timed first (slash
commands, then events). Each surface listens to its own request types, so no two listeners
can match the same request and the order changes nothing else."""


CLOSURE_SURFACES: frozenset[ModuleType] = frozenset()
"""Surfaces not yet moved to module-level listeners: their `register` still takes the
AppContext (transitional, while the modules move one by one)."""


def register(app: App, app_context: AppContext) -> None:
    """Every surface's listeners, in SURFACES order."""
    for surface in SURFACES:
        if surface in CLOSURE_SURFACES:
            surface.register(app, app_context)
        else:
            surface.register(app)
