"""`decide` in the terminal session: people answer in turn, the session says how the team
leans and where they differ, and ends with the decision record."""

from __future__ import annotations

import io

from bot.knowledge import KnowledgeBase
from bot.terminal import Console, session
from tests.support.slack_test_helpers import best_answers


def numbers(kb: KnowledgeBase, answers: dict[str, list[str]]) -> list[str]:
    """The replies that choose `answers`, question by question."""
    replies = []
    for question in kb.questionnaire.questions:
        ids = [o.id for o in question.options]
        replies.append(",".join(str(ids.index(i) + 1) for i in answers[question.id]))
    return replies


def run(lines: list[str]) -> str:
    """What the session shows for `lines`, with its line wrapping undone."""
    out = io.StringIO()
    assert session_with(lines, out) == 0
    return " ".join(out.getvalue().split())


def session_with(lines: list[str], out: io.StringIO) -> int:
    from bot.knowledge import load_knowledge

    return session(
        load_knowledge(), Console(stdout=out, stdin=io.StringIO("\n".join(lines) + "\n"))
    )


def test_two_people_answer_in_turn_and_get_the_record(kb: KnowledgeBase) -> None:
    django = best_answers(kb, "django")
    small = {**django, "scale": ["small"]}
    out = run(
        ["decide", "Alice", *numbers(kb, django), "Bob", *numbers(kb, small), "", "Billing", "quit"]
    )
    assert "Only Alice has answered" in out and "one person's view, not the team's" in out
    assert "2 people have answered: Django leads Flask" in out
    assert f"Differ on “{kb.questionnaire.question('scale').prompt}”" in out
    assert "status: proposed" in out and "decision-makers: Alice, Bob" in out
    assert "--- # Billing" in out and "## Decision Outcome" in out


def test_nobody_answering_decides_nothing() -> None:
    out = run(["decide", "", "quit"])
    assert "Nobody answered, so there is nothing to decide." in out
