"""`/framework stats [7d|30d|Nd]`, `/framework digest` and `/framework reload`, for curators
only. The digest is the weekly one (bot/digest.py) over the last seven days, shown now.

A curator is someone in CURATOR_IDS, or a workspace admin or owner according to Slack's
`users.info` (bot scope users:read). When Slack cannot say, the command is refused politely:
stats and reloads are never given out on a guess. Stats cover the asker's own workspace only.
A reload that fails keeps the last good knowledge in service; one that works publishes its
stamp in the store, and the other instances follow (bot/live_knowledge.py).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.digest import WEEK, compose_digest
from bot.knowledge import KnowledgeError
from bot.render.block_kit import Message
from bot.render.curator import (
    bad_period_message,
    curator_check_failed_message,
    not_a_curator_message,
    reload_failed_message,
    reloaded_message,
    stats_message,
    stats_unavailable_message,
)
from bot.render.digest import digest_message
from bot.slack.context import Turn
from bot.slack.wire.ids import COMMAND
from bot.store import StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7
MAX_DAYS = 365
_PERIOD = re.compile(r"^(\d{1,4})\s*(?:d|days?)?$", re.IGNORECASE)
CURATOR_FLAGS = ("is_admin", "is_owner", "is_primary_owner")


def parse_period(text: str) -> int | None:
    """Days in a stats period: "" -> 7, "30d" / "30 days" / "30" -> 30; None when it is not
    a number of days from 1 to MAX_DAYS."""
    text = text.strip()
    if not text:
        return DEFAULT_DAYS
    found = _PERIOD.match(text)
    if found is None:
        return None
    days = int(found.group(1))
    return days if 1 <= days <= MAX_DAYS else None


def is_curator(turn: Turn, user_id: str) -> bool | None:
    """True for CURATOR_IDS and for workspace admins and owners, False for everyone else,
    None when Slack could not tell (users.info failed; logged)."""
    if user_id in turn.app_context.curator_ids:
        return True
    try:
        response = turn.slack.client.users_info(user=user_id)
    except SlackApiError as error:
        code = error.response.get("error") or f"http_{error.response.status_code}"
        log.warning("users.info for user=%s failed with %s; curator check refused", user_id, code)
        return None
    except (SlackClientError, OSError) as error:
        log.error(
            "users.info for user=%s could not be sent; curator check refused: %r", user_id, error
        )
        return None
    user = response.get("user")
    if not isinstance(user, dict):
        log.warning("users.info for user=%s returned no user; curator check refused", user_id)
        return None
    return any(user.get(flag) is True for flag in CURATOR_FLAGS)


def _refusal(turn: Turn, user_id: str, subcommand: str) -> Message | None:
    """Why `user_id` may not run `subcommand`, or None when they may."""
    allowed = is_curator(turn, user_id)
    if allowed:
        return None
    if allowed is None:
        return curator_check_failed_message(COMMAND, subcommand)
    log.info(
        "%s %s refused for user=%s of team=%s: not a curator",
        COMMAND,
        subcommand,
        user_id,
        turn.asker.team_id,
    )
    return not_a_curator_message(COMMAND, subcommand)


def stats_reply(turn: Turn, user_id: str, period: str) -> Message:
    """The asker's workspace's stats over the period, or why they are not shown."""
    refusal = _refusal(turn, user_id, "stats")
    if refusal is not None:
        return refusal
    days = parse_period(period)
    if days is None:
        return bad_period_message(COMMAND, period, MAX_DAYS)
    team_id = turn.asker.team_id
    now = datetime.now(UTC)
    try:
        stats = turn.store.stats(team_id, now - timedelta(days=days), now)
    except StoreUnavailable as error:
        log.warning("Stats for team=%s unavailable: %s", team_id, error)
        return stats_unavailable_message()
    return stats_message(turn.kb, stats, days)


def digest_reply(turn: Turn, user_id: str) -> Message:
    """The curators' digest of the asker's workspace over the last seven days, or why not."""
    refusal = _refusal(turn, user_id, "digest")
    if refusal is not None:
        return refusal
    team_id = turn.asker.team_id
    now = datetime.now(UTC)
    try:
        digest = compose_digest(
            turn.store,
            turn.kb,
            team_id,
            now - WEEK,
            now,
            review_after_days=turn.app_context.review_after_days,
        )
    except StoreUnavailable as error:
        log.warning("Digest for team=%s unavailable: %s", team_id, error)
        return stats_unavailable_message()
    return digest_message(turn.kb, digest)


def reload_reply(turn: Turn, user_id: str) -> Message:
    """Reload KNOWLEDGE_DIR and publish its stamp, or list what is wrong with it."""
    refusal = _refusal(turn, user_id, "reload")
    if refusal is not None:
        return refusal
    knowledge = turn.app_context.knowledge
    previous = knowledge.snapshot.stamp
    try:
        snapshot = knowledge.reload()
    except KnowledgeError as error:
        log.warning("Reload by user=%s refused, still serving %s: %s", user_id, previous, error)
        return reload_failed_message(error, knowledge.directory, previous)
    turn.store.set_knowledge_stamp(snapshot.stamp)
    log.info("Knowledge %s reloaded by user=%s (was %s)", snapshot.stamp, user_id, previous)
    return reloaded_message(snapshot.kb, snapshot.stamp, previous)
