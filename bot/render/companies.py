"""Companies: who chose each framework, linked to the public write-ups that say so."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.knowledge import Company, Framework, KnowledgeBase
from bot.render.block_kit import (
    MAX_MESSAGE_BLOCKS,
    Message,
    chunked_sections,
    context,
    escape,
    fit,
    link,
    notice_message,
    notification,
    quote_user_text,
    section,
)


def company_link(kb: KnowledgeBase, company: Company) -> str:
    """The company's name linked to its first source."""
    source = kb.source(company.sources[0])
    return link(source.url, company.name)


def company_line(kb: KnowledgeBase, company: Company) -> str:
    """`<source|Name>: what they use it for (note)`, the name linked to its first source."""
    line = f"{company_link(kb, company)}: {company.use}"
    if company.note:
        line += f" _({company.note})_"
    return line


def companies_message(kb: KnowledgeBase, frameworks: Sequence[Framework]) -> Message:
    """The companies in the knowledge that use each of `frameworks`, linked to their sources."""
    blocks: list[Block] = []
    budget = MAX_MESSAGE_BLOCKS - 1
    for framework in frameworks:
        companies = kb.companies_using(framework.id)
        if not companies:
            blocks.append(section(f"*{escape(framework.name)}*: no companies in my notes yet."))
            continue
        lines = [company_line(kb, company) for company in companies]
        per_framework = max(budget // len(frameworks), 1)
        title = f"*Companies that use {escape(framework.name)}*"
        blocks.extend(chunked_sections(title, lines, per_framework))
    blocks.append(
        context(
            "Company claims come from public write-ups; where one is disputed, its note says so."
        )
    )
    names = ", ".join(framework.name for framework in frameworks)
    return Message(notification(f"Companies that use {names}"), fit(blocks, MAX_MESSAGE_BLOCKS))


def unknown_framework_message(kb: KnowledgeBase, command: str, given: str) -> Message:
    ids = ", ".join(f"`{framework.id}`" for framework in kb.frameworks)
    text = (
        f"I don't have notes on `{quote_user_text(given, 60)}`. "
        f"Try `{command} companies` with one of {ids}, or with nothing for all of them."
    )
    return notice_message(text)
