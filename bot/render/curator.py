"""Block Kit for the curators' subcommands: `/framework stats` and `/framework reload`, and the
replies that refuse them.

Like every surface of bot/render/, everything is built with slack_sdk.models and cut to Slack's
limits here. Question texts in the stats come from users (folded, but escaped again all the same);
entry titles and framework names come from the knowledge and are escaped as plain text; an id
the knowledge no longer has is shown as the id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
)

from bot.knowledge import KnowledgeBase, KnowledgeError, Problem
from bot.render.block_kit import (
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    Message,
    bullets,
    context,
    escape,
    header,
    notice_message,
    quote_user_text,
    section,
    truncate,
)
from bot.render.text import decisions_line
from bot.store import HelpfulRate, Stats
from bot.store.reasons import REASON_LABELS, Complaint

MAX_UNANSWERED_ECHO = 150
"""How much of each unanswered question the stats quote."""
MAX_HELPFUL_LINES = 15
MAX_NOTE_ECHO = 200
"""How much of a person's words about a 👎 the stats quote."""
MAX_PROBLEMS_SHOWN = 40
"""A folder with more problems than this is broken wholesale; the first ones say where."""
MAX_PROBLEM_BLOCKS = 8

VERDICT_LABELS = {"clear": "clear choice", "close": "close call"}
CURATORS = "workspace admins and owners, and the people listed in the app's `CURATOR_IDS`"


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _verdict(verdict: str, count: int) -> str:
    return _count(count, VERDICT_LABELS.get(verdict, escape(verdict)))


def day_label(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _period(days: int) -> str:
    return "the last day" if days == 1 else f"the last {days} days"


# --- refusals and notices -------------------------------------------------------------------


def curator_commands_note(command: str) -> ContextBlock:
    """The line under /framework help that names the curators' subcommands."""
    return context(
        f"For curators ({CURATORS}): `{command} stats [7d|30d]` shows how the bot is used "
        f"here, `{command} digest` what needs a look this week, `{command} reload` loads "
        "edited knowledge files."
    )


def not_a_curator_message(command: str, subcommand: str) -> Message:
    return notice_message(
        f"Sorry, `{command} {subcommand}` is only for curators: {CURATORS}. "
        "If you need it, ask one of them."
    )


def curator_check_failed_message(command: str, subcommand: str) -> Message:
    return notice_message(
        f"Sorry, I couldn't check with Slack whether you may use `{command} {subcommand}`. "
        "Please try again in a minute."
    )


def bad_period_message(command: str, given: str, max_days: int) -> Message:
    return notice_message(
        f"I don't know the period `{quote_user_text(given, 40)}`. Give a number of days: "
        f"`7d` (the default), `30d`, or any from `1d` to `{max_days}d`, "
        f"as in `{command} stats 30d`."
    )


def stats_unavailable_message() -> Message:
    return notice_message(
        "Sorry, stats are unavailable right now, the database can't be reached; "
        "questions are still answered."
    )


# --- stats ------------------------------------------------------------------------------------


def entry_title(kb: KnowledgeBase, entry_id: str) -> str:
    try:
        return escape(kb.entry(entry_id).title)
    except KeyError:
        return f"`{escape(entry_id)}`"


def _framework_name(kb: KnowledgeBase, framework_id: str) -> str:
    try:
        return escape(kb.framework(framework_id).name)
    except KeyError:
        return f"`{escape(framework_id)}`"


def _helpful_line(kb: KnowledgeBase, rate: HelpfulRate) -> str:
    target = _target_name(kb, rate.target_kind, rate.target_id)
    share = _percent(rate.helpful, rate.votes)
    return f"{target} — {share} helpful ({rate.helpful} of {_count(rate.votes, 'vote')})"


def _target_name(kb: KnowledgeBase, target_kind: str, target_id: str) -> str:
    if target_kind == "recommendation":
        return f"Recommendations of {_framework_name(kb, target_id)}"
    return entry_title(kb, target_id)


def complaint_line(kb: KnowledgeBase, complaint: Complaint) -> str:
    """`Title — 3 👎: It's out of date (2), It's unclear (1) · “their words”`."""
    target = _target_name(kb, complaint.target_kind, complaint.target_id)
    line = f"{target} — {complaint.not_helpful} 👎"
    if complaint.reasons:
        line += ": " + ", ".join(
            f"{escape(REASON_LABELS[reason])} ({count})" for reason, count in complaint.reasons
        )
    notes = [f"“{quote_user_text(note, MAX_NOTE_ECHO)}”" for note in complaint.notes]
    if notes:
        line += " · " + " ".join(notes)
    return line


def complaints_section(kb: KnowledgeBase, complaints: Sequence[Complaint]) -> str:
    """The answers marked unhelpful most, with why (for the stats and the digest)."""
    lines = [complaint_line(kb, complaint) for complaint in complaints[:MAX_HELPFUL_LINES]]
    return f"*Most 👎, and why*\n{bullets(lines)}"


def _answers_section(stats: Stats) -> str:
    total = stats.questions
    return (
        f"*Questions asked:* {total}\n"
        f"*Answered:* {stats.answered} ({_percent(stats.answered, total)}) · "
        f"*Not sure:* {stats.not_sure} ({_percent(stats.not_sure, total)})"
    )


def _recommendations_section(kb: KnowledgeBase, stats: Stats) -> str:
    total = stats.recommendation_count
    lines = []
    for framework_id, count in stats.recommendations_by_framework.items():
        verdicts = ", ".join(
            _verdict(outcome.verdict, outcome.count)
            for outcome in stats.recommendations
            if outcome.framework_id == framework_id
        )
        share = _percent(count, total)
        lines.append(f"{_framework_name(kb, framework_id)} — {count} ({share}; {verdicts})")
    verdicts = " · ".join(
        f"*{VERDICT_LABELS.get(verdict, escape(verdict)).capitalize()}:* {count} "
        f"({_percent(count, total)})"
        for verdict, count in stats.recommendations_by_verdict.items()
    )
    return f"*Recommendations:* {total}\n{bullets(lines)}\n{verdicts}"


def stats_message(kb: KnowledgeBase, stats: Stats, days: int) -> Message:
    """One workspace's figures over the last `days` days: questions answered and not sure,
    the most asked topics, helpful votes, the most frequent unanswered questions and the
    recommendations made, per framework and clear choice or close call."""
    period = _period(days)
    blocks: list[Block] = [
        header(f"Framework Advisor stats: {period}"),
        context(
            f"{day_label(stats.since)} to {day_label(stats.until)} (UTC), this workspace only."
        ),
    ]
    if not (stats.questions or stats.recommendation_count or stats.helpful or stats.decisions):
        text = f"Nothing was asked or recommended here in {period}."
        blocks.append(section(text))
        return Message(text, tuple(blocks))

    blocks.append(section(_answers_section(stats)))
    if stats.top_entries:
        lines = [
            f"{entry_title(kb, top.entry_id)} — {_count(top.count, 'question')}"
            for top in stats.top_entries
        ]
        blocks.append(section(f"*Most asked topics*\n{bullets(lines)}"))
    if stats.helpful:
        lines = [_helpful_line(kb, rate) for rate in stats.helpful[:MAX_HELPFUL_LINES]]
        left = len(stats.helpful) - len(lines)
        more = f"\n…and {left} more." if left > 0 else ""
        blocks.append(section(f"*Helpful votes*\n{bullets(lines)}{more}"))
    if stats.complaints:
        blocks.append(section(complaints_section(kb, stats.complaints)))
    if stats.unanswered:
        lines = [
            f"“{quote_user_text(question.text, MAX_UNANSWERED_ECHO)}” — "
            f"{_count(question.count, 'time')}, "
            f"last on {day_label(question.last_asked)}"
            for question in stats.unanswered
        ]
        blocks.append(section(f"*Most frequent unanswered questions*\n{bullets(lines)}"))
    if stats.recommendation_count:
        blocks.append(section(_recommendations_section(kb, stats)))
    if stats.decision_count:
        blocks.append(section(f"*Team decisions:* {decisions_line(kb, stats)}"))
    text = (
        f"Stats for {period}: {stats.questions} questions, {stats.answered} answered, "
        f"{stats.not_sure} not sure, {stats.recommendation_count} recommendations."
    )
    return Message(truncate(text, MAX_MESSAGE_TEXT), tuple(blocks[:MAX_MESSAGE_BLOCKS]))


# --- reload -----------------------------------------------------------------------------------


def _problem_line(problem: Problem, directory: Path) -> str:
    path = Path(problem.file)
    file = path.relative_to(directory) if path.is_relative_to(directory) else path
    where = f"{file}:{problem.line}" if problem.line else str(file)
    return escape(f"{where}: {problem.field}: {problem.message}")


def _code_sections(lines: Sequence[str], max_blocks: int) -> tuple[list[Block], int]:
    """`lines` in code blocks, each section under 3000 characters, at most `max_blocks` of
    them; also how many lines they hold."""
    room = MAX_SECTION_TEXT - len("``````")
    groups: list[list[str]] = [[]]
    for line in lines:
        line = truncate(line, room)
        if groups[-1] and len("\n".join([*groups[-1], line])) > room:
            groups.append([])
        groups[-1].append(line)
    kept = groups[:max_blocks]
    blocks: list[Block] = [section("```" + "\n".join(group) + "```") for group in kept]
    return blocks, sum(len(group) for group in kept)


def reload_failed_message(error: KnowledgeError, directory: Path, serving: str) -> Message:
    """The problems of a folder that did not load (file, line, field), and that the last good
    knowledge (`serving`, its stamp) is still in service."""
    problems = error.problems
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    intro = (
        f"I didn't reload the knowledge: {escape(str(directory))} has {count} {noun}. "
        f"I'm still serving the last good knowledge (`{escape(serving)}`). "
        "Fix these and run reload again:"
    )
    lines = [_problem_line(problem, directory) for problem in problems[:MAX_PROBLEMS_SHOWN]]
    listing, shown = _code_sections(lines, MAX_PROBLEM_BLOCKS)
    blocks: list[Block] = [section(intro), *listing]
    if count > shown:
        blocks.append(context(f"…and {count - shown} more. `framework-bot kb check` lists all."))
    text = f"I didn't reload the knowledge: {count} {noun}. " + "; ".join(lines[:3])
    return Message(truncate(text, MAX_MESSAGE_TEXT), tuple(blocks))


def reloaded_message(kb: KnowledgeBase, stamp: str, previous: str) -> Message:
    """A successful reload: the new stamp and what the knowledge now holds."""
    counts = (
        f"{len(kb.entries)} entries, {len(kb.companies)} companies, {len(kb.frameworks)} frameworks"
    )
    if stamp == previous:
        text = (
            f"Reloaded the knowledge: no file changed (stamp `{escape(stamp)}`). Serving {counts}."
        )
    else:
        text = (
            f"Reloaded the knowledge: now serving `{escape(stamp)}` (was `{escape(previous)}`) "
            f"with {counts}. Other instances serving the same files follow shortly."
        )
    return notice_message(text)
