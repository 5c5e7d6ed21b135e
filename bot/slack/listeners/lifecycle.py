"""`app_uninstalled` and `tokens_revoked`: the workspace removed the app or its bot token, so its
installation (OAuth mode) and everything stored about it are deleted. A data deletion that finds
the database down waits in the store and runs once it is back; it is never dropped.

A `tokens_revoked` that names only user tokens changes nothing: the app installs as a bot only
and keeps no user token, so the workspace still has the app."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from sqlalchemy.exc import SQLAlchemyError

from bot.slack.context import AppContext, app_context_of
from bot.slack.wire.ids import Event

log = logging.getLogger(__name__)


def forget_workspace(app_context: AppContext, context: BoltContext, why: str) -> None:
    """Delete the installation and the stored data of the request's workspace."""
    team_id, enterprise_id = context.team_id, context.enterprise_id
    workspace = team_id or enterprise_id
    if workspace is None:
        log.warning("%s names no workspace; nothing to delete", why)
        return
    done = app_context.store.delete_team(workspace)
    installations = app_context.installations
    if installations is not None:
        try:
            installations.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        except SQLAlchemyError:
            # Its token no longer works, so the stale installation only fails authorization.
            log.exception("%s: could not delete the installation of %s", why, workspace)
    log.info(
        "%s: deleted the installation and data of workspace %s%s",
        why,
        workspace,
        "" if done else " (the data deletion waits for the database)",
    )


def revokes_the_bot(event: dict[str, Any]) -> bool:
    """True when a `tokens_revoked` event includes the bot token (Slack lists bot user ids
    under tokens.bot and users' ids under tokens.oauth)."""
    tokens = event.get("tokens")
    return not isinstance(tokens, dict) or bool(tokens.get("bot"))


def register(app: App) -> None:
    app.event(Event.APP_UNINSTALLED)(app_uninstalled)
    app.event(Event.TOKENS_REVOKED)(tokens_revoked)


def app_uninstalled(context: BoltContext) -> None:
    forget_workspace(app_context_of(context), context, "app_uninstalled")


def tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
    if revokes_the_bot(event):
        forget_workspace(app_context_of(context), context, "tokens_revoked")
    else:
        log.info("tokens_revoked for user tokens only in %s; nothing to delete", context.team_id)
