"""`/framework help|recommend|ask QUESTION|companies [FRAMEWORK]|decide [TITLE]`, and for curators
`stats [7d|30d|Nd]`, `digest` and `reload` (bot/slack/flows/curation.py).

Replies are ephemeral, through the command's response URL (which works even in channels the bot
is not a member of). `recommend` opens the questionnaire straight after the ack: the
trigger_id is only good for 3 seconds.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from rapidfuzz import fuzz, process, utils
from slack_bolt import Ack, App, BoltContext

from bot.knowledge import Framework, KnowledgeBase
from bot.render.answers import help_message
from bot.render.block_kit import Message, notice_message
from bot.render.companies import companies_message, unknown_framework_message
from bot.render.curator import curator_commands_note
from bot.slack.context import AppContext, Turn, app_context_of
from bot.slack.flows.curation import digest_reply, reload_reply, stats_reply
from bot.slack.flows.decisions import start_decision
from bot.slack.flows.failures import report_unhandled
from bot.slack.flows.questionnaire import open_questionnaire
from bot.slack.wire.ids import COMMAND
from bot.slack.wire.metadata import REPLY_EVENT
from bot.slack.wire.payloads import SlashCommand, ValidationError, problems
from bot.slack.wire.state import Destination, Place

log = logging.getLogger(__name__)

SUBCOMMANDS = ("help", "recommend", "ask", "companies", "decide", "stats", "digest", "reload")
SUGGESTION_CUTOFF = 60.0
"""Lowest similarity (0..100) at which an unknown word is taken for a mistyped subcommand."""

UNREADABLE = "Sorry, I couldn't read that command. Please try again."


def closest_subcommand(word: str) -> str | None:
    """The subcommand `word` most likely means ("recomend" -> "recommend"), or None."""
    found = process.extractOne(
        word,
        SUBCOMMANDS,
        scorer=fuzz.ratio,
        processor=utils.default_process,
        score_cutoff=SUGGESTION_CUTOFF,
    )
    return found[0] if found else None


def find_framework(kb: KnowledgeBase, name: str) -> Framework | None:
    wanted = name.strip().lower()
    for framework in kb.frameworks:
        if wanted in {framework.id.lower(), framework.name.lower()}:
            return framework
    return None


def reply_to(turn: Turn, command: SlashCommand) -> Message | None:
    """The reply to a command, or None when the command opens the questionnaire instead."""
    kb = turn.kb
    word, _, rest = command.text.strip().partition(" ")
    subcommand, rest = word.lower(), rest.strip()
    if subcommand in {"", "help"}:
        return with_curator_commands(help_message(kb, COMMAND))
    if subcommand == "ask":
        if not rest:
            example = kb.entries[0].phrasings[0] if kb.entries else "…"
            return notice_message(f"Ask me something, for example `{COMMAND} ask {example}`.")
        dm = command.channel_id.startswith("D")
        return turn.reply(rest, Place(dm=dm, channel=None if dm else command.channel_id))
    if subcommand == "companies":
        if not rest:
            return companies_message(kb, kb.frameworks)
        framework = find_framework(kb, rest)
        if framework is None:
            return unknown_framework_message(kb, COMMAND, rest)
        return companies_message(kb, [framework])
    if subcommand == "recommend":
        return None
    if subcommand == "stats":
        return stats_reply(turn, command.user_id, rest)
    if subcommand == "digest":
        return digest_reply(turn, command.user_id)
    if subcommand == "reload":
        return reload_reply(turn, command.user_id)
    return with_curator_commands(
        help_message(kb, COMMAND, unknown=word, suggestion=closest_subcommand(subcommand))
    )


def with_curator_commands(message: Message) -> Message:
    """The help, with a line naming the curators' subcommands."""
    return Message(message.text, (*message.blocks, curator_commands_note(COMMAND)))


def register(app: App) -> None:
    app.command(COMMAND)(framework_command)


def framework_command(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    try:
        command = SlashCommand.model_validate(body)
    except ValidationError as error:
        log.warning("Malformed %s command: %s", COMMAND, problems(error))
        ack(text=UNREADABLE)
        return
    ack()
    app_context = app_context_of(context)
    if is_question(command):
        # Answered when an answer slot is free, like a mention: this listener thread goes
        # back to acknowledging other commands.
        app_context.answer_later(
            partial(answer_command, app_context, command, context),
            partial(report_unhandled, app_context, body=body, context=context),
        )
    else:
        answer_command(app_context, command, context)


def is_question(command: SlashCommand) -> bool:
    """`/framework ask …`: the one subcommand that matches free text."""
    return command.text.strip().partition(" ")[0].lower() == "ask"


def answer_command(app_context: AppContext, command: SlashCommand, context: BoltContext) -> None:
    turn = app_context.turn(context, command.channel_id or None)
    destination = Destination(
        user=command.user_id,
        channel=command.channel_id or None,
        response_url=command.response_url,
    )
    word, _, title = command.text.strip().partition(" ")
    if word.lower() == "decide":
        start_decision(
            turn,
            user=command.user_id,
            channel=command.channel_id or None,
            thread_ts=None,
            title=title,
            response_url=command.response_url,
        )
        return
    reply = reply_to(turn, command)
    if reply is None:
        open_questionnaire(turn, command.trigger_id, destination)
        return
    if reply.metadata is None:  # an answer, small talk or a lean says what it is already
        reply = turn.stamped(reply, REPLY_EVENT, reply=word.lower() or "help")
    turn.slack.deliver(destination, reply)
