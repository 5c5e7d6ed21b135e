"""Plain-text rendering for the terminal: the same answers and recommendations as in Slack,
with Slack's mrkdwn turned into readable text (links as `text (url)`, no `*bold*` markers).

The renderers return logical lines, not wrapped ones: a list item or a paragraph is one line,
and `wrap_text` (or the terminal, bot/terminal.py) lays it out for the width it has. Slack's
`/framework recommend` becomes the terminal's own command (`recommend` in the session,
`framework-bot recommend` on the command line), named by `commands`.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Collection, Iterable, Sequence

from bot.advisor import Recommendation
from bot.knowledge import Company, Entry, KnowledgeBase, Source
from bot.matching import MatchResult
from bot.render.score_table import score_table, text_table
from bot.store import Stats
from bot.store.reasons import REASON_LABELS

WIDTH = 80
"""The width of text that does not go to a terminal (`framework-bot ask … | cat`)."""

SESSION_COMMANDS = ""
"""Command prefix inside the terminal session: `recommend`."""
CLI_COMMANDS = "framework-bot "
"""Command prefix on the command line: `framework-bot recommend`."""

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
_SLACK_COMMAND = re.compile(r"/framework\s+([a-z]+)")
_LIST_ITEM = re.compile(r"^(\s*)((?:[-+*]|\d+\.)\s+)?")


def mrkdwn_to_text(text: str, listed: Collection[str] = (), commands: str | None = None) -> str:
    """Slack mrkdwn -> plain text: `<url|label>` becomes `label (url)`, or only `label` when the
    url is in `listed` (shown under Sources anyway); emphasis markers go. With `commands`, Slack's
    `/framework recommend` becomes `{commands}recommend`."""

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        return label if _same_url(url, listed) else f"{label} ({url})"

    text = _LINK.sub(link, text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    if commands is not None:
        text = _SLACK_COMMAND.sub(lambda m: f"{commands}{m.group(1)}", text)
    return html.unescape(text)


def _same_url(url: str, listed: Collection[str]) -> bool:
    return url.rstrip("/") in {known.rstrip("/") for known in listed}


def wrap_text(text: str, width: int = WIDTH) -> str:
    """Lay out logical lines at `width` without splitting words or URLs: a list item's
    continuation lines hang under its text."""
    lines: list[str] = []
    for line in text.split("\n"):
        indent, hanging = hanging_indent(line)
        lines += textwrap.wrap(
            line[len(indent) :],
            width,
            initial_indent=indent,
            subsequent_indent=hanging,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    return "\n".join(lines)


def hanging_indent(line: str) -> tuple[str, str]:
    """The line's leading spaces, and the indent its continuation lines take."""
    match = _LIST_ITEM.match(line)
    assert match is not None  # the pattern matches every string
    return match.group(1), " " * len(match.group(0))


def _source_lines(sources: Iterable[Source], indent: str = "  ") -> list[str]:
    return [f"{indent}- {source.title} ({source.url})" for source in sources]


def render_entry(
    kb: KnowledgeBase,
    entry: Entry,
    related: Sequence[Entry] = (),
    *,
    numbered: bool = False,
    commands: str = CLI_COMMANDS,
) -> str:
    """One answer: title, text, caveat, sources, and related topics (numbered to pick one)."""
    sources = kb.sources_for(entry.sources)
    listed = [source.url for source in sources]
    lines = [entry.title, "", mrkdwn_to_text(entry.answer, listed, commands).strip()]
    if entry.caveat:
        lines += ["", "Note: " + mrkdwn_to_text(entry.caveat, listed, commands).strip()]
    lines += ["", "Sources:", *_source_lines(sources)]
    if related:
        lines += ["", "Related:", *_topic_lines(related, numbered)]
        if numbered:
            lines.append("Type a number to read one of them.")
    return "\n".join(lines)


def _topic_lines(entries: Sequence[Entry], numbered: bool) -> list[str]:
    if numbered:
        return [f"  {number}. {entry.title}" for number, entry in enumerate(entries, start=1)]
    return [f"  - {entry.title}" for entry in entries]


def render_match(
    kb: KnowledgeBase, result: MatchResult, *, numbered: bool = False, commands: str = CLI_COMMANDS
) -> str:
    """An answer with its sources, or a plain 'not sure' with the closest topics (numbered,
    in the session, so that one can be picked by its number)."""
    topics = [candidate.entry for candidate in result.alternatives]
    if result.best is None:
        lines = ["I'm not sure I have a good answer to that."]
        if topics:
            lines += ["The closest topics I know about:", *_topic_lines(topics, numbered)]
            lines.append(
                "Type a number to read one, or rephrase your question."
                if numbered
                else "Ask about one of them, or rephrase your question."
            )
        return "\n".join(lines)
    return render_entry(kb, result.best.entry, topics, numbered=numbered, commands=commands)


def render_company(kb: KnowledgeBase, company: Company) -> str:
    sources = kb.sources_for(company.sources)
    listed = [source.url for source in sources]
    lines = [f"  - {company.name}: {mrkdwn_to_text(company.use, listed)}"]
    if company.note:
        lines.append(f"    Note: {mrkdwn_to_text(company.note, listed)}")
    lines += _source_lines(sources, "    ")
    return "\n".join(lines)


TERMINAL_CELL_WIDTH = 28
"""Question and answer cells are cut to this, so the score table fits 80 columns."""


def render_recommendation(kb: KnowledgeBase, rec: Recommendation) -> str:
    """The recommendation in the order Slack shows it: verdict, reasons, trade-offs, examples."""
    verdict = "a clear choice" if rec.verdict == "clear" else "a close call"
    scores = ", ".join(f"{s.framework.name} {s.score:g}" for s in rec.scores)
    lines = [
        f"Recommendation: {rec.winner.name}",
        f"{rec.winner.name} is {verdict} over {rec.runner_up.name} (scores: {scores}).",
        "",
        "Why, from your answers:",
    ]
    lines += [f"  + {mrkdwn_to_text(c.option.reason)} ({c.points:+g})" for c in rec.reasons] or [
        "  (none of your answers favoured it strongly; it wins on the balance)"
    ]
    if rec.against:
        lines += ["", f"In favour of {rec.runner_up.name}:"]
        lines += [f"  - {mrkdwn_to_text(c.option.reason)} ({c.points:+g})" for c in rec.against]
    if rec.give_up:
        lines += ["", f"What you give up by not choosing {rec.runner_up.name}:"]
        lines += [f"  - {mrkdwn_to_text(strength)}" for strength in rec.give_up]
    lines += ["", "What would change it:"]
    if rec.flip is None:
        lines.append("  No single answer would change this recommendation.")
    else:
        question = rec.flip.question
        now = ", ".join(o.label for o in rec.flip.current)
        then = ", ".join(o.label for o in rec.flip.alternative)
        lines.append(
            f"  If you answered “{then}” instead of “{now}” to “{question.prompt}”, "
            f"the recommendation would be {rec.flip.new_winner.name}."
        )
    table = score_table(kb, rec)
    if table.rows:
        lines += ["", "Points per answer:"]
        lines += [f"  {line}" for line in text_table(table, max_width=TERMINAL_CELL_WIDTH)]
    if rec.companies:
        lines += ["", f"Teams that chose {rec.winner.name}:"]
        lines += [render_company(kb, company) for company in rec.companies]
    return "\n".join(lines)


def render_companies(kb: KnowledgeBase, framework_ids: Iterable[str]) -> str:
    blocks = []
    for framework_id in framework_ids:
        framework = kb.framework(framework_id)
        companies = kb.companies_using(framework_id)
        lines = [f"{framework.name}:"] + [render_company(kb, c) for c in companies]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_stats(kb: KnowledgeBase, stats: Stats) -> str:
    """One workspace's usage over a period, for curators."""
    period = f"{stats.since:%Y-%m-%d} to {stats.until:%Y-%m-%d}"
    lines = [f"Workspace {stats.team_id}, {period}"]
    if stats.questions:
        share = f"{stats.answered / stats.questions:.0%}"
        lines.append(
            f"  Questions: {stats.questions} ({stats.answered} answered, {stats.not_sure} not "
            f"sure; {share} answered)"
        )
    else:
        lines.append("  Questions: none in this period")
    titles = {entry.id: entry.title for entry in kb.entries}
    if stats.top_entries:
        lines.append("  Top entries:")
        lines += [
            f"    {c.count:>4}  {titles.get(c.entry_id, c.entry_id)}" for c in stats.top_entries
        ]
    if stats.helpful:
        lines.append("  Helpful rate:")
        lines += [
            f"    {h.rate:>4.0%}  {titles.get(h.target_id, h.target_id)} ({h.votes} votes)"
            for h in stats.helpful
        ]
    if stats.complaints:
        lines.append("  Most marked not helpful, and why:")
        for complaint in stats.complaints:
            reasons = ", ".join(
                f"{REASON_LABELS[reason]} ({count})" for reason, count in complaint.reasons
            )
            name = titles.get(complaint.target_id, complaint.target_id)
            lines.append(
                f"    {complaint.not_helpful:>4}  {name}" + (f": {reasons}" if reasons else "")
            )
            lines += [f"          “{' '.join(note.split())}”" for note in complaint.notes]
    if stats.unanswered:
        lines.append("  Most frequent unanswered questions:")
        lines += [f"    {u.count:>4}  {u.text}" for u in stats.unanswered]
    names = {framework.id: framework.name for framework in kb.frameworks}
    by_framework = ", ".join(
        f"{names.get(fid, fid)} {n}" for fid, n in stats.recommendations_by_framework.items()
    )
    by_verdict = ", ".join(f"{v} {n}" for v, n in stats.recommendations_by_verdict.items())
    lines.append(
        f"  Recommendations: {stats.recommendation_count}"
        + (f" ({by_framework}; {by_verdict})" if stats.recommendation_count else "")
        if stats.recommendation_count
        else "  Recommendations: none in this period"
    )
    if stats.decision_count:
        lines.append(f"  Team decisions: {decisions_line(kb, stats)}")
    return "\n".join(lines)


def decisions_line(kb: KnowledgeBase, stats: Stats) -> str:
    """Team decisions started in the period: how many are open, what the closed ones chose."""
    names = {framework.id: framework.name for framework in kb.frameworks}
    closed = ", ".join(
        f"{names.get(framework_id, framework_id)} {count}"
        for framework_id, count in stats.decisions_by_framework.items()
    )
    return (
        f"{stats.decision_count} ({stats.open_decisions} open"
        + (f"; closed: {closed}" if closed else "")
        + ")"
    )
