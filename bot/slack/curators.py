"""`/framework stats` and `/framework reload`, for curators only."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.engine import Engine


def register(app: App, engine: Engine) -> None:
    """Nothing to register: the subcommands arrive through commands.py."""
