"""Does Slack accept the bot token? One `auth.test` at start-up, for three things a person
installing the bot needs: a log line naming the mode and the workspace the bot runs as, a clear
exit from `serve` when Slack rejects the token, and `/healthz` saying which it is.

A token Slack *rejects* (invalid_auth, token_revoked, …) can never work; a Slack that cannot be
*reached* may be back in a minute, so that only leaves the token unchecked and is retried.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.settings import Settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 60.0
"""How often an unchecked token (Slack unreachable) is tried again in the background."""

WHAT_TO_DO = {
    "invalid_auth": "the token is not a valid token: copy the Bot User OAuth Token (xoxb-…) "
    "from OAuth & Permissions again",
    "not_authed": "no token was sent: set SLACK_BOT_TOKEN",
    "token_revoked": "the token was revoked: reinstall the app (Install App) and copy the new "
    "Bot User OAuth Token",
    "account_inactive": "the app was uninstalled or its workspace deactivated: reinstall it",
    "token_expired": "the token expired (token rotation is on): turn rotation off, or use the "
    "OAuth install, which refreshes tokens",
}


@dataclass(frozen=True)
class TokenCheck:
    state: Literal["accepted", "rejected", "unchecked", "per-workspace"]
    team: str | None = None
    team_id: str | None = None
    user: str | None = None
    error: str | None = None

    @property
    def rejected(self) -> bool:
        return self.state == "rejected"

    def describe(self) -> str:
        """For /healthz: `accepted: workspace Acme (T0123)`, `rejected: invalid_auth`, …"""
        if self.state == "accepted":
            return f"accepted: workspace {self.team} ({self.team_id}) as @{self.user}"
        if self.state == "per-workspace":
            return "per-workspace: the OAuth install keeps one token per installed workspace"
        return f"{self.state}: {self.error}"

    def advice(self) -> str:
        return WHAT_TO_DO.get(self.error or "", "check SLACK_BOT_TOKEN")


OAUTH = TokenCheck("per-workspace")


def check_token(client: WebClient) -> TokenCheck:
    """Ask Slack (auth.test) whether the client's token is good, and for which workspace."""
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        return TokenCheck("rejected", error=str(error.response.get("error", "unknown_error")))
    except (SlackClientError, OSError) as error:
        return TokenCheck("unchecked", error=f"Slack could not be reached ({error})")
    return TokenCheck(
        "accepted",
        team=answer.get("team"),
        team_id=answer.get("team_id"),
        user=answer.get("user"),
    )


def startup_line(mode: str, check: TokenCheck) -> str:
    """The one line `serve` logs at start: the mode and who the bot is."""
    if check.state == "accepted":
        return (
            f"Serving Slack in {mode} as @{check.user} in workspace {check.team} ({check.team_id})"
        )
    if check.state == "per-workspace":
        return f"Serving Slack in {mode} for every workspace that installs the app (OAuth)"
    if check.state == "rejected":
        return f"Slack rejected SLACK_BOT_TOKEN ({check.error}): {check.advice()}"
    return f"Serving Slack in {mode}; the bot token is not checked yet: {check.error}"


def log_startup(mode: str, check: TokenCheck) -> None:
    line = startup_line(mode, check)
    if check.rejected:
        log.error(line)
    elif check.state == "unchecked":
        log.warning(line)
    else:
        log.info(line)


STARTUP: dict[tuple[str, str], TokenCheck] = {}
"""(token, Web API URL) -> the check the starting process made (`serve`, or gunicorn's master
through gunicorn.conf.py); gunicorn's workers are forked from it and inherit it."""

CHECK_TIMEOUT_SECONDS = 5


def startup_check(settings: Settings, mode: str) -> TokenCheck:
    """Check the bot token once at start and log the one line naming the mode and workspace."""
    token = settings.secret("bot_token")
    if settings.oauth:
        check = OAUTH
    elif not token:
        return TokenCheck("unchecked", error="SLACK_BOT_TOKEN is not set")
    else:
        client = WebClient(token, base_url=settings.slack_api_url, timeout=CHECK_TIMEOUT_SECONDS)
        check = check_token(client)
        STARTUP[token, settings.slack_api_url.rstrip("/")] = check
    if not check.rejected:
        log_startup(mode, check)
    return check


class TokenStatus:
    """The token's state for /healthz in a web process: what the starting process found, or,
    when it found nothing (Slack unreachable, or no start-up check), a check made in the
    background on the first request for it and retried while Slack cannot be reached."""

    def __init__(self, client: WebClient | None, mode: str = "HTTP mode") -> None:
        self._client = client
        self._mode = mode
        self._check = OAUTH if client is None else TokenCheck("unchecked", error="checking")
        self._lock = threading.Lock()
        self._started = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> TokenCheck:
        if self._client is not None:
            key = (self._client.token or "", self._client.base_url.rstrip("/"))
            found = STARTUP.get(key)
            if found is not None and found.state != "unchecked":
                return found
        with self._lock:
            if self._client is not None and not self._started:
                self._started = True
                self._thread = threading.Thread(target=self._run, name="token-check", daemon=True)
                self._thread.start()
        return self._check

    def _run(self) -> None:
        assert self._client is not None
        client = WebClient(
            self._client.token, base_url=self._client.base_url, timeout=CHECK_TIMEOUT_SECONDS
        )
        while not self._stopped.is_set():
            self._check = check_token(client)
            if self._check.state != "unchecked":
                log_startup(self._mode, self._check)
                return
            self._stopped.wait(RETRY_SECONDS)

    def stop(self) -> None:
        """No further checks; waits for one under way (at most its timeout and one retry)."""
        self._stopped.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2 * CHECK_TIMEOUT_SECONDS + 1)
