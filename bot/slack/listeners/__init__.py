"""Bolt listeners, one module per Slack surface, each with `register(app)`.

A listener is a module-level function, and `register(app)` only wires it
(`app.event(Event.APP_MENTION)(take_mention)`); the `AppContext` reaches it through Bolt's
`context` (`app_context_of(context)`, put there by the `ProvideAppContext` middleware, which
bot/slack/app.py runs before Bolt's authorization). Listeners are thin: parse the payload
(`bot.slack.wire`), call the core through the `AppContext`, render with `bot.render`, and send
through the messenger (`bot.slack.platform.messenger`). No listener imports another; what
several share is in `bot.slack.flows`.
"""

from __future__ import annotations

from slack_bolt import App

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
    views,
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
    views,
    errors,
)
"""Bolt tries listeners in registration order: the surfaces whose acks are timed first (slash
commands, then events). Each surface listens to its own request types, so no two listeners
can match the same request and the order changes nothing else."""


def register(app: App) -> None:
    """Every surface's listeners, in SURFACES order."""
    for surface in SURFACES:
        surface.register(app)
