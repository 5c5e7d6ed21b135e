"""Answers: a knowledge entry as a reply (its body rendered once per knowledge snapshot), the
honest "not sure" with the closest topics, the reply to small talk, and `/framework help`."""

from __future__ import annotations

import threading
from collections.abc import Callable

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.knowledge import REPLY_PLACEHOLDERS, Entry, Intent, KnowledgeBase, fill_commands
from bot.matching import MatchResult
from bot.render.block_kit import (
    APP_NAME,
    Message,
    Rendered,
    bullets,
    button,
    context,
    escape,
    framework_names,
    notification,
    quote_user_text,
    section,
    sources_context,
)
from bot.render.feedback import FeedbackButtons, feedback_tail
from bot.render.questionnaire import start_block
from bot.slack.wire.ids import COMMAND, ActionId

MAX_SUGGESTIONS = 3


class AnswerBodies:
    """The blocks of each answer's body for one knowledge base, each rendered (and validated)
    the first time its entry is the answer. The live knowledge keeps one with each snapshot,
    so a reload starts afresh and the old bodies go with the old snapshot."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._bodies: dict[str, tuple[Rendered, ...]] = {}
        self._lock = threading.Lock()

    def get(self, entry: Entry) -> tuple[Rendered, ...]:
        with self._lock:
            found = self._bodies.get(entry.id)
        if found is not None:
            return found
        made = tuple(Rendered.of(block) for block in _answer_body(self.kb, entry))
        with self._lock:
            return self._bodies.setdefault(entry.id, made)


def _answer_body(kb: KnowledgeBase, entry: Entry) -> tuple[Block, ...]:
    blocks: list[Block] = [section(f"*{escape(entry.title)}*\n{entry.answer}")]
    if entry.caveat:
        blocks.append(context(f"*Note:* {entry.caveat}"))
    blocks.append(sources_context(kb.sources_for(entry.sources)))
    return tuple(blocks)


def answer_message(
    kb: KnowledgeBase,
    entry: Entry,
    *,
    asked: str | None = None,
    feedback: FeedbackButtons | None = None,
    bodies: AnswerBodies | None = None,
) -> Message:
    """One knowledge entry as an answer, ending with its sources (and the feedback buttons
    when `feedback` is given); `asked` (the person's own words, unescaped) is quoted above it
    when the answer replaces an earlier message. The body comes from `bodies` (the snapshot's
    rendered answers of `kb`) when given, else it is rendered now."""
    if bodies is None or bodies.kb is not kb:
        bodies = AnswerBodies(kb)
    blocks: list[Block] = []
    if asked:
        blocks.append(context(f"You asked: “{quote_user_text(asked)}”"))
    blocks.extend(bodies.get(entry))
    if feedback is not None:
        blocks.extend(feedback_tail(feedback))
    text = notification(f"{entry.title}: {entry.answer}")
    return Message(text, tuple(blocks))


def not_sure_message(
    result: MatchResult, asked: str, topic_value: Callable[[str], str] | None = None
) -> Message:
    """Say plainly that no entry fits, and offer the closest topics as buttons; a button's
    value is `topic_value(entry id)` (the entry id itself by default)."""
    value_of = topic_value or (lambda entry_id: entry_id)
    question = quote_user_text(result.question or asked)
    opening = (
        f"I'm not sure I can answer “{question}”." if question else "I'm not sure what you asked."
    )
    suggestions = result.alternatives[:MAX_SUGGESTIONS]
    blocks: list[Block] = []
    if suggestions:
        blocks.append(section(f"{opening} These are the closest topics I know about:"))
        blocks.append(
            ActionsBlock(
                block_id="suggestions",
                elements=[
                    button(f"{ActionId.ANSWER_TOPIC}_{index}", c.entry.title, value_of(c.entry.id))
                    for index, c in enumerate(suggestions)
                ],
            )
        )
        blocks.append(context("Pick one, or ask again in other words."))
    else:
        blocks.append(section(f"{opening} Try asking in other words, or see `{COMMAND} help`."))
    return Message(notification(f"I'm not sure I can answer that. {question}"), tuple(blocks))


def match_message(
    kb: KnowledgeBase,
    result: MatchResult,
    asked: str,
    *,
    feedback: FeedbackButtons | None = None,
    topic_value: Callable[[str], str] | None = None,
    bodies: AnswerBodies | None = None,
) -> Message:
    """The answer when the matcher is confident (with `feedback` buttons if given, its body
    from `bodies`), otherwise the honest "not sure" (nothing to rate there: it has no feedback
    buttons) with topic buttons valued by `topic_value`."""
    if result.best is None:
        return not_sure_message(result, asked, topic_value)
    return answer_message(kb, result.best.entry, feedback=feedback, bodies=bodies)


def slack_commands(command: str) -> dict[str, str]:
    """How Slack spells the commands an intent's reply may name."""
    return {name: f"`{command} {name}`" for name in REPLY_PLACEHOLDERS}


def intent_message(intent: Intent, command: str, start_value: str | None = None) -> Message:
    """The reply to small talk or a question about the bot; for the questionnaire intent, with
    the button that opens it (`start_value` is the button's value)."""
    text = fill_commands(intent.reply, slack_commands(command))
    blocks: list[Block] = [section(text)]
    if intent.action == "start-questionnaire" and start_value is not None:
        blocks.append(start_block("Start questionnaire", start_value))
    return Message(notification(text), tuple(blocks))


def help_message(
    kb: KnowledgeBase,
    command: str,
    *,
    unknown: str | None = None,
    suggestion: str | None = None,
) -> Message:
    """What /framework can do; for an unknown subcommand, says so and names the closest one."""
    ids = "|".join(framework.id for framework in kb.frameworks)
    lines = [
        f"`{command} recommend`: answer a few questions and get a recommendation",
        f"`{command} ask QUESTION`: ask anything about {framework_names(kb)}",
        f"`{command} companies [{ids}]`: companies that chose each framework, with sources",
        f"`{command} decide [TITLE]`: decide as a team in this channel and keep the record",
        f"`{command} help`: this help",
    ]
    intro = f"I help your team choose between {framework_names(kb)}."
    blocks: list[Block] = []
    if unknown is not None:
        problem = f"I don't know `{quote_user_text(unknown, 60)}`."
        if suggestion is not None:
            problem += f" Did you mean `{command} {suggestion}`?"
        blocks.append(section(problem))
        text = problem
    else:
        text = intro
    blocks.append(section(f"{intro}\n{bullets(lines)}"))
    blocks.append(
        context(
            f"You can also mention @{APP_NAME} with a question in any channel I'm in, "
            "or send me a direct message."
        )
    )
    return Message(notification(text), tuple(blocks))
