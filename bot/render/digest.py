"""Block Kit for the curators' weekly digest (bot/digest.py): the week's unanswered questions,
the answers marked 👎 with why, and the answers due for review.

Each list shows its first MAX_SHOWN items and says how many more there were; each stays within
Slack's section limit (chunked_sections) and the message within its 50 blocks. Question texts
and notes come from users and are escaped (the stats' own lines are reused); entry titles come
from the knowledge; an owner is a Slack user or user group id from the knowledge, mentioned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.digest import Digest
from bot.knowledge import Entry, KnowledgeBase
from bot.render.block_kit import (
    MAX_MESSAGE_BLOCKS,
    Message,
    chunked_sections,
    context,
    escape,
    fit,
    header,
    mention,
    notification,
    quote_user_text,
    section,
)
from bot.render.curator import complaint_line, day_label, entry_title
from bot.slack.wire.ids import COMMAND

MAX_SHOWN = 10
"""Items per list; the rest are counted ("…and 4 more")."""
MAX_BLOCKS_PER_LIST = 4
MAX_QUESTION_ECHO = 150
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,30}$")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _owner(owner: str) -> str:
    return f"<!subteam^{owner}>" if _GROUP_ID.match(owner) else mention(owner)


def _stale_line(kb: KnowledgeBase, entry: Entry) -> str:
    line = f"{entry_title(kb, entry.id)} (`{escape(entry.id)}`) — last reviewed {entry.reviewed}"
    return f"{line}, owner {_owner(entry.owner)}" if entry.owner else line


def _listing(title: str, lines: Sequence[str]) -> list[Block]:
    """`title` and the first MAX_SHOWN lines, then how many were left out."""
    shown = list(lines[:MAX_SHOWN])
    left = len(lines) - len(shown)
    if left > 0:
        shown.append(f"…and {left} more.")
    return chunked_sections(title, shown, MAX_BLOCKS_PER_LIST)


def digest_message(kb: KnowledgeBase, digest: Digest) -> Message:
    """The digest of one workspace's week, for its curators."""
    period = f"{day_label(digest.since)} to {day_label(digest.until)} (UTC)"
    blocks: list[Block] = [
        header("Framework Advisor: this week for curators"),
        context(f"{period}, this workspace only. `{COMMAND} stats 7d` has the figures."),
    ]
    if digest.empty:
        blocks.append(
            section(
                "A quiet week: every question got an answer, nothing was marked 👎, and every "
                "answer was reviewed recently."
            )
        )
    if digest.unanswered:
        lines = [
            f"“{quote_user_text(question.text, MAX_QUESTION_ECHO)}” — "
            f"{_plural(question.count, 'time')}"
            for question in digest.unanswered
        ]
        title = f"*Questions I wasn't sure about* ({len(digest.unanswered)})"
        blocks.extend(_listing(title, lines))
    if digest.complaints:
        lines = [complaint_line(kb, complaint) for complaint in digest.complaints]
        blocks.extend(_listing(f"*Marked 👎, and why* ({len(digest.complaints)})", lines))
    if digest.stale:
        lines = [_stale_line(kb, entry) for entry in digest.stale]
        title = (
            f"*Answers due for review* ({len(digest.stale)}, last reviewed more than "
            f"{digest.review_after_days} days ago)"
        )
        blocks.extend(_listing(title, lines))
        blocks.append(
            context(
                "Check each against its sources and update its `reviewed` date; "
                "`framework-bot kb check` lists them too."
            )
        )
    text = (
        f"This week for curators: {_plural(len(digest.unanswered), 'unanswered question')}, "
        f"{_plural(len(digest.complaints), 'answer')} marked 👎, "
        f"{_plural(len(digest.stale), 'answer')} due for review."
    )
    return Message(notification(text), fit(blocks, MAX_MESSAGE_BLOCKS))
