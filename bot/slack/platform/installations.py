"""Installations (the OAuth install's tokens) that outlast a database outage.

The knowledge lives in memory, so the bot can answer while its database is down; with the OAuth
install, though, each workspace's bot token lives in that database, and Bolt looks it up before
every request. `RememberingInstallationStore` wraps slack_sdk's SQLAlchemy installation store:
every installation it reads is remembered, and while the database cannot be reached the
remembered one is served instead, so workspaces that were active before the outage keep being
answered. While the store already knows the database is down it does not try it at all (a
connection timeout would hold up Slack's 3-second acknowledgement).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from logging import Logger
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore

from bot.store.engine import is_connection_error

log = logging.getLogger(__name__)

LOG_INTERVAL_SECONDS = 60.0

_Found = TypeVar("_Found", Bot, Installation)
_Key = tuple[str, str | None, str | None, str | None, bool]


class RememberingInstallationStore(InstallationStore):
    """`delegate`, with the last installation and bot found per workspace served while the
    database is unreachable. `reachable` says whether the database is worth trying now (the
    app's `Store.available`: it answered last time, or the wait after a failure is over), so
    an outage costs no connection timeout per request."""

    def __init__(self, delegate: InstallationStore, reachable: Callable[[], bool]) -> None:
        self._delegate = delegate
        self._reachable = reachable
        self._remembered: dict[_Key, Any] = {}
        self._lock = threading.Lock()
        self._logged_at: float | None = None

    @property
    def logger(self) -> Logger:
        return self._delegate.logger

    # -- writes go through, and make the next read fresh ----------------------------------------

    def save(self, installation: Installation) -> None:
        self._delegate.save(installation)
        self._forget(installation.enterprise_id, installation.team_id)

    def save_bot(self, bot: Bot) -> None:
        self._delegate.save_bot(bot)
        self._forget(bot.enterprise_id, bot.team_id)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._forget(enterprise_id, team_id)
        self._delegate.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        self._forget(enterprise_id, team_id)
        self._delegate.delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._forget(enterprise_id, team_id)
        self._delegate.delete_all(enterprise_id=enterprise_id, team_id=team_id)

    # -- reads are remembered -------------------------------------------------------------------

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        key: _Key = ("bot", enterprise_id, team_id, None, bool(is_enterprise_install))
        return self._find(
            key,
            lambda: self._delegate.find_bot(
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
            ),
        )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        key: _Key = ("installation", enterprise_id, team_id, user_id, bool(is_enterprise_install))
        return self._find(
            key,
            lambda: self._delegate.find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            ),
        )

    def _find(self, key: _Key, read: Callable[[], _Found | None]) -> _Found | None:
        if self._reachable():
            try:
                found = read()
            except Exception as error:
                if not is_connection_error(error):
                    raise
                remembered: _Found | None = self._from_memory(key, error)
                return remembered
            with self._lock:
                if found is None:
                    self._remembered.pop(key, None)
                else:
                    self._remembered[key] = found
            return found
        remembered = self._from_memory(key, None)
        return remembered

    def _from_memory(self, key: _Key, error: BaseException | None) -> Any:
        with self._lock:
            found = self._remembered.get(key)
            now = time.monotonic()
            due = self._logged_at is None or now - self._logged_at >= LOG_INTERVAL_SECONDS
            if due:
                self._logged_at = now
        if due:
            log.warning(
                "The database is unreachable%s: installations are served from memory "
                "(workspaces not seen since this process started cannot be answered)",
                f" ({error.__class__.__name__})" if error is not None else "",
            )
        if found is None and error is not None:
            raise error
        return found

    def _forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        with self._lock:
            for key in [k for k in self._remembered if k[1:3] == (enterprise_id, team_id)]:
                del self._remembered[key]
