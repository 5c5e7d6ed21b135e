"""The App Home: the Home tab (what the bot does, where to ask, examples, and the teams that
use each framework), and the agent Messages tab's suggested prompts and the note naming the
channel the person is looking at."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock
from slack_sdk.models.views import View

from bot.knowledge import KnowledgeBase
from bot.render.block_kit import (
    APP_NAME,
    MAX_VIEW_BLOCKS,
    bullets,
    button,
    chunked_sections,
    context,
    escape,
    fit,
    framework_names,
    header,
    section,
)
from bot.render.companies import company_line
from bot.slack.wire.ids import COMMAND, ActionId

HOME_EXAMPLES = 5
PROMPTS_TITLE = "Try one of these"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def viewing_note(channel_id: str | None) -> str | None:
    """The line over a Messages-tab answer when the person is looking at a channel: how to get
    the answer there instead. None for no channel, a DM, or something that is not a channel id
    (nothing from the event is echoed but a well-formed id)."""
    if channel_id is None or not _CHANNEL_ID.match(channel_id):
        return None
    return (
        f"You're looking at <#{channel_id}>: to answer there for everyone, mention me in it "
        f"(`@{APP_NAME}` and your question)."
    )


def agent_prompts(kb: KnowledgeBase) -> list[dict[str, str]]:
    """The Messages tab's suggested prompts from the knowledge (at most 4, as Slack takes)."""
    if kb.assistant is None:
        return []
    return [{"title": p.title, "message": p.message} for p in kb.assistant.prompts[:4]]


def home_view(kb: KnowledgeBase, start_value: str) -> View:
    """The Home tab: what the bot does, a button to start the questionnaire, example questions
    from the knowledge, and the companies with their sources."""
    names = framework_names(kb)
    blocks: list[Block] = [
        header(APP_NAME),
        section(
            f"I help your team choose between {names}. Ask me a question and I answer from "
            "curated notes, with sources; or answer a few questions about your project and I "
            "recommend one, with the reasons and teams that made the same choice."
        ),
        ActionsBlock(
            block_id="home_start",
            elements=[
                button(ActionId.START_QUESTIONNAIRE, "Start questionnaire", start_value, "primary")
            ],
        ),
        DividerBlock(),
        section(
            "*Ask me anything*\nMention me with a question in a channel I'm in (I answer in "
            f"the thread), send me a direct message, use `{COMMAND} ask …`, or use the "
            f"message shortcut *Ask {APP_NAME}* on any message."
        ),
    ]
    examples = [f"“{escape(entry.phrasings[0])}”" for entry in kb.entries[:HOME_EXAMPLES]]
    if examples:
        blocks.append(section(f"*For example*\n{bullets(examples)}"))
    blocks.append(DividerBlock())
    used = len(blocks) + 1
    frameworks = [f for f in kb.frameworks if kb.companies_using(f.id)]
    for framework in frameworks:
        lines = [company_line(kb, company) for company in kb.companies_using(framework.id)]
        budget = max((MAX_VIEW_BLOCKS - used) // len(frameworks), 1)
        title = f"*Teams that use {escape(framework.name)}*"
        blocks.extend(chunked_sections(title, lines, budget))
    blocks.append(context("Every answer ends with the sources it is based on."))
    return View(type="home", callback_id="home", blocks=list(fit(blocks, MAX_VIEW_BLOCKS)))
