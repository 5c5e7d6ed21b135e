"""Plain-text rendering for the terminal: the same answers and recommendations as in Slack,
with Slack's mrkdwn turned into readable text (links as `text (url)`, no `*bold*` markers)."""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Iterable

from bot.advisor import Recommendation
from bot.knowledge import Company, KnowledgeBase, Source
from bot.matching import MatchResult
from bot.store import Stats

WIDTH = 88

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn -> plain text: `<url|label>` becomes `label (url)`, emphasis markers go."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    return html.unescape(text)


def _wrap(text: str, indent: str = "") -> str:
    paragraphs = mrkdwn_to_text(text).strip().split("\n")
    return "\n".join(
        textwrap.fill(p, WIDTH, initial_indent=indent, subsequent_indent=indent) if p else ""
        for p in paragraphs
    )


def _source_lines(sources: Iterable[Source]) -> list[str]:
    return [f"  - {source.title} ({source.url})" for source in sources]


def render_match(kb: KnowledgeBase, result: MatchResult) -> str:
    """An answer with its sources, or a plain 'not sure' with the closest topics."""
    if result.best is None:
        lines = ["I'm not sure I have a good answer to that."]
        if result.alternatives:
            lines.append("The closest topics I know about:")
            lines += [f"  - {c.entry.title}" for c in result.alternatives]
            lines.append("Ask about one of them, or rephrase your question.")
        return "\n".join(lines)
    entry = result.best.entry
    lines = [entry.title, "", _wrap(entry.answer)]
    if entry.caveat:
        lines += ["", _wrap(f"Note: {entry.caveat}")]
    lines += ["", "Sources:", *_source_lines(kb.sources_for(entry.sources))]
    if result.alternatives:
        lines += ["", "Related: " + "; ".join(c.entry.title for c in result.alternatives)]
    return "\n".join(lines)


def render_company(kb: KnowledgeBase, company: Company) -> str:
    lines = [f"  - {company.name}: {mrkdwn_to_text(company.use)}"]
    if company.note:
        lines.append(_wrap(f"Note: {company.note}", "      "))
    lines += [f"    {line.strip()}" for line in _source_lines(kb.sources_for(company.sources))]
    return "\n".join(lines)


def render_recommendation(kb: KnowledgeBase, rec: Recommendation) -> str:
    """The recommendation in the order DESIGN.md gives: verdict, reasons, trade-offs, examples."""
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
            _wrap(
                f"If you answered “{then}” instead of “{now}” to “{question.prompt}”, "
                f"the recommendation would be {rec.flip.new_winner.name}.",
                "  ",
            )
        )
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
    share = f"{stats.answered / stats.questions:.0%}" if stats.questions else "-"
    lines = [
        f"Workspace {stats.team_id}, {period}",
        f"  Questions: {stats.questions} ({stats.answered} answered, {stats.not_sure} not sure;"
        f" {share} answered)",
    ]
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
    )
    return "\n".join(lines)
