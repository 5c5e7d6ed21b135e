"""`app_uninstalled` and `tokens_revoked`: the workspace removed the app or its tokens, so its
installation (OAuth mode) and everything stored about it are deleted. A deletion that finds the
database down waits in the store and runs once it is back; it is never dropped."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext

from bot.slack.engine import Engine
from bot.slack.ids import Event

log = logging.getLogger(__name__)


def forget_workspace(app: App, engine: Engine, context: BoltContext, why: str) -> None:
    team_id, enterprise_id = context.team_id, context.enterprise_id
    if team_id is None and enterprise_id is None:
        log.warning("%s names no workspace; nothing to delete", why)
        return
    installations = app.installation_store
    if installations is not None:
        installations.delete_all(enterprise_id=enterprise_id, team_id=team_id)
    done = engine.store.delete_team(team_id or enterprise_id or "")
    log.info(
        "%s: deleted the installation and data of workspace %s%s",
        why,
        team_id or enterprise_id,
        "" if done else " (the data deletion waits for the database)",
    )


def register(app: App, engine: Engine) -> None:
    @app.event(Event.APP_UNINSTALLED)
    def app_uninstalled(context: BoltContext) -> None:
        forget_workspace(app, engine, context, "app_uninstalled")

    @app.event(Event.TOKENS_REVOKED)
    def tokens_revoked(context: BoltContext) -> None:
        forget_workspace(app, engine, context, "tokens_revoked")
