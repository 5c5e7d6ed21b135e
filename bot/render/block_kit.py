"""The Block Kit toolkit every surface module builds with: Slack's limits, the `Message` type,
mrkdwn primitives, cutting to the limits, and the small builders several surfaces share.

Everything is built with slack_sdk.models classes, so `to_dict()` validates the structure, and
every text is cut to Slack's limits here (Block Kit reference), never by the listeners. Text
typed by a user is escaped before it is shown, so it cannot ping (`<!channel>`) or inject
links. Knowledge fields that are mrkdwn by design (answers, reasons, company uses) are passed
through; names, titles, labels and prompts are plain text and are escaped.

The renderer knows nothing about Slack requests: state that must travel with a button or a
modal (`value`, `private_metadata`) arrives as an opaque string from the caller. The only thing
of the Slack layer it reads is bot/slack/wire/ids.py, the names a listener matches on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    RawTextObject,
    SectionBlock,
    TableBlock,
)
from slack_sdk.models.blocks.basic_components import TableBlockColumnSettings
from slack_sdk.models.metadata import Metadata
from slack_sdk.models.views import View

from bot.knowledge import KnowledgeBase, Source

# Slack's limits (https://api.slack.com/reference/block-kit). slack_sdk checks most of them at
# to_dict(); the builders stay under all of them so that nothing a person triggers can make
# Slack refuse a message.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTION_TEXT = 75
MAX_INPUT_LABEL = 2000
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_MESSAGE_TEXT = 40_000
MAX_RADIO_OPTIONS = 10
MAX_SELECT_OPTIONS = 100
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_TABLE_CELL_TEXT = 500
"""Slack sets no documented limit per cell; this keeps a table readable and its message small."""
MAX_QUESTION_ECHO = 300
"""How much of a person's question is quoted back in a "not sure" reply."""

ELLIPSIS = "…"

APP_NAME = "Framework Advisor"


@dataclass(frozen=True)
class Message:
    """A message ready to send: `text` is the notification and screen-reader fallback;
    `metadata` says what the message is, for whoever reads it later (the sender adds it)."""

    text: str
    blocks: tuple[Block, ...]
    metadata: Metadata | None = None

    def with_metadata(self, metadata: Metadata) -> Message:
        return replace(self, metadata=metadata)

    def blocks_json(self) -> list[dict[str, Any]]:
        """The blocks as Slack JSON; to_dict() also validates them against slack_sdk's rules
        (a `Rendered` block was validated when it was made)."""
        return [block.to_dict() for block in self.blocks]


class Rendered(Block):
    """A block whose JSON was made, and validated, once: `to_dict()` returns that very JSON.

    For blocks that are the same every time they are sent (an answer's body), so a message
    carries one form of each block. The JSON is shared: send it, never change it."""

    def __init__(self, block_json: dict[str, Any]) -> None:
        super().__init__(type=block_json["type"], block_id=block_json.get("block_id"))
        self.json = block_json

    @classmethod
    def of(cls, block: Block) -> Rendered:
        """`block` validated and rendered now, once."""
        return cls(block.to_dict())

    def to_dict(self, *args: Any) -> dict[str, Any]:
        return self.json


# --- text helpers -------------------------------------------------------------------------------

_OPEN_TOKEN = re.compile(r"<[^>]*$")
_OPEN_ENTITY = re.compile(r"&[#a-zA-Z0-9]{0,8}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters with an ellipsis, never inside a `<link|label>`
    or `<@U…>` token or an `&amp;` entity, so a cut can neither break markup nor create it."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(ELLIPSIS), 0)]
    cut = _OPEN_TOKEN.sub("", cut)
    cut = _OPEN_ENTITY.sub("", cut)
    return cut.rstrip() + ELLIPSIS


def link(url: str, label: str) -> str:
    """A mrkdwn link whose label is escaped and whose URL cannot close the token early."""
    safe_url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(label)}>"


def quote_user_text(text: str, limit: int = MAX_QUESTION_ECHO) -> str:
    """A person's text, escaped and shortened, for echoing inside a message."""
    return escape(truncate(" ".join(text.split()), limit))


def mention(user_id: str) -> str:
    """`<@U123>` for a real Slack user id; anything else is shown as escaped text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


def bullets(lines: Iterable[str]) -> str:
    """Lines as a mrkdwn bullet list."""
    return "\n".join(f"• {line}" for line in lines)


def notification(text: str) -> str:
    """A message's fallback `text`, cut to its limit."""
    return truncate(text, MAX_MESSAGE_TEXT)


def framework_names(kb: KnowledgeBase, conjunction: str = "and") -> str:
    """The frameworks' names as a phrase ("A and B", "A, B or C"), escaped for mrkdwn: from
    the knowledge, never spelled out in code."""
    names = [escape(framework.name) for framework in kb.frameworks]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


# --- builders -----------------------------------------------------------------------------------


def plain(text: str, limit: int) -> PlainTextObject:
    """A plain-text object (emoji shown), cut to `limit`."""
    return PlainTextObject(text=truncate(text, limit), emoji=True)


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> MarkdownTextObject:
    """A mrkdwn text object, cut to `limit`."""
    return MarkdownTextObject(text=truncate(text, limit))


def section(text: str) -> SectionBlock:
    """A mrkdwn section (`text` already escaped where it came from a user), cut to the limit."""
    return SectionBlock(text=mrkdwn(text))


def context(text: str) -> ContextBlock:
    """A one-element mrkdwn context block, cut to the limit."""
    return ContextBlock(elements=[mrkdwn(text, MAX_CONTEXT_TEXT)])


def header(text: str) -> HeaderBlock:
    """A plain-text header, cut to the limit."""
    return HeaderBlock(text=plain(text, MAX_HEADER_TEXT))


def button(action_id: str, label: str, value: str, style: str | None = None) -> ButtonElement:
    """A button; a `value` over Slack's limit is a bug of the caller's, so it raises."""
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(value)} characters is over {MAX_BUTTON_VALUE}")
    return ButtonElement(
        action_id=action_id, text=plain(label, MAX_BUTTON_TEXT), value=value, style=style
    )


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric_from: int, block_id: str
) -> TableBlock:
    """A `table` of plain-text cells (Slack shows a header row as any other; it comes first),
    the columns from `numeric_from` on aligned right; cut to Slack's 100 rows of 20 cells."""
    grid = [header, *rows][:MAX_TABLE_ROWS]
    cells = [
        [RawTextObject(text=truncate(cell, MAX_TABLE_CELL_TEXT) or "-") for cell in row]
        for row in (row[:MAX_TABLE_CELLS] for row in grid)
    ]
    settings = [
        TableBlockColumnSettings(is_wrapped=True)
        if column < numeric_from
        else TableBlockColumnSettings(align="right")
        for column in range(min(len(header), MAX_TABLE_CELLS))
    ]
    return TableBlock(block_id=block_id, rows=cells, column_settings=settings)


def chunked_sections(title: str, lines: Sequence[str], max_blocks: int) -> list[Block]:
    """`title` and bullet lines as as many sections as needed to keep each under 3000
    characters, at most `max_blocks` blocks (the last one then says how many were left out)."""
    groups: list[list[str]] = [[title]]
    for line in lines:
        bullet = truncate(f"• {line}", MAX_SECTION_TEXT)
        if len("\n".join([*groups[-1], bullet])) > MAX_SECTION_TEXT:
            groups.append([])
        groups[-1].append(bullet)
    if len(groups) > max_blocks:
        kept = groups[: max(max_blocks - 1, 0)]
        left = sum(len(group) for group in groups[len(kept) :])
        return [*(section("\n".join(g)) for g in kept), context(f"…and {left} more.")]
    return [section("\n".join(group)) for group in groups]


def fit(blocks: list[Block], limit: int, keep_last: int = 1) -> tuple[Block, ...]:
    """Keep a message or view within its block limit, keeping its last `keep_last` blocks (the
    buttons or the sources) and saying that something was left out."""
    if len(blocks) <= limit:
        return tuple(blocks)
    head, tail = blocks[: len(blocks) - keep_last], blocks[len(blocks) - keep_last :]
    return (*head[: limit - len(tail) - 1], context("(Shortened to fit in Slack.)"), *tail)


def sources_context(sources: Iterable[Source]) -> ContextBlock:
    """ "Sources: A · B", each linked, each once."""
    unique = list(dict.fromkeys(sources))
    links = " · ".join(link(source.url, source.title) for source in unique)
    return context(f"*Sources:* {links}")


def notice_message(text: str) -> Message:
    """A one-section message; `text` is mrkdwn the caller has already escaped."""
    return Message(notification(text), (section(text),))


def with_note(message: Message, note: str) -> Message:
    """`message` with a mrkdwn note (already escaped) above it, still within the block limit;
    its metadata is kept (it is still the same answer or recommendation)."""
    blocks = [section(note), *message.blocks]
    return Message(
        notification(f"{note} {message.text}"), fit(blocks, MAX_MESSAGE_BLOCKS), message.metadata
    )


def notice_view(title: str, text: str) -> View:
    """A modal that only says something (mrkdwn `text`, already escaped), with a Close button."""
    return View(
        type="modal",
        title=plain(title, MAX_VIEW_TITLE),
        close=plain("Close", MAX_VIEW_TITLE),
        blocks=[section(text)],
    )
