"""The "Helpful" / "Not helpful" buttons under every answer and recommendation."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.engine import Engine


def register(app: App, engine: Engine) -> None:
    """Not wired yet."""
