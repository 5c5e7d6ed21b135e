"""The recommendation's score table: per question, the answer given and the points it gave each
framework. One source for the Slack `table` block, its plain-text fallback and the terminal,
so the three always show the same figures (the columns add up to the recommendation's scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.advisor import Recommendation
from bot.knowledge import KnowledgeBase


@dataclass(frozen=True)
class ScoreTable:
    header: tuple[str, ...]
    """"Question", "Your answer", then each framework's name in knowledge order."""
    rows: tuple[tuple[str, ...], ...]
    """One per question answered: prompt, answer labels, then points per framework."""


def points(value: float) -> str:
    return f"{value:+g}" if value else "0"


def score_table(kb: KnowledgeBase, rec: Recommendation) -> ScoreTable:
    """Plain text cells (not mrkdwn): names, prompts and labels as the knowledge has them."""
    header = ("Question", "Your answer", *(framework.name for framework in kb.frameworks))
    rows = []
    for question in kb.questionnaire.questions:
        chosen = [o for o in question.options if o.id in rec.answers.get(question.id, ())]
        if not chosen:
            continue
        gained = [
            sum(option.weights.get(framework.id, 0.0) for option in chosen)
            for framework in kb.frameworks
        ]
        labels = ", ".join(option.label for option in chosen)
        rows.append((question.prompt, labels, *(points(value) for value in gained)))
    return ScoreTable(header, tuple(rows))


def text_table(table: ScoreTable, max_width: int = 60) -> list[str]:
    """The table as aligned plain-text lines (cells longer than `max_width` are cut), for the
    terminal and for a message's notification text."""

    def cut(cell: str) -> str:
        return cell if len(cell) <= max_width else cell[: max_width - 1] + "…"

    grid: Sequence[tuple[str, ...]] = [table.header, *table.rows]
    cells = [[cut(cell) for cell in row] for row in grid]
    widths = [max(len(row[column]) for row in cells) for column in range(len(table.header))]
    lines = []
    for row in cells:
        text_cells = [cell.ljust(width) for cell, width in zip(row[:2], widths[:2], strict=True)]
        number_cells = [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join([*text_cells, *number_cells]).rstrip())
    return lines
