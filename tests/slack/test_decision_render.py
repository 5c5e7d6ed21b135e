"""The decision message and its record stay within Slack's limits with a whole team answering,
and one person's answers are never shown as the team's verdict."""

from __future__ import annotations

import itertools
from datetime import date

from bot.knowledge import KnowledgeBase
from bot.render.adr import RecordDetails, adr_markdown, canvas_mention
from bot.render.decision import DecisionView, decision_message, record_messages
from bot.team import decide
from tests.support.slack_test_helpers import message_problems

TEAM_SIZE = 30
MAX_CANVAS_MARKDOWN = 100_000
"""Well under what a canvas holds; a record this long would be unreadable anyway."""


def varied_ballots(kb: KnowledgeBase, people: int) -> dict[str, dict[str, list[str]]]:
    """`people` sets of answers, cycling through every option of every question, so that the
    team disagrees on every question in as many ways as the options allow."""
    ballots: dict[str, dict[str, list[str]]] = {}
    for index in range(people):
        answers = {}
        for offset, question in zip(itertools.count(), kb.questionnaire.questions):
            options = [o for o in question.options if not o.exclusive]
            answers[question.id] = [options[(index + offset) % len(options)].id]
        ballots[f"U0PERSON{index:02d}"] = answers
    return ballots


def test_thirty_people_fit_in_one_message_and_one_canvas(kb: KnowledgeBase) -> None:
    team = decide(kb, varied_ballots(kb, TEAM_SIZE))
    view = DecisionView(title="A" * 500, started_by="U0PERSON00", button_value='{"decision":1}')

    message = decision_message(kb, view, team)
    blocks = message.blocks_json()

    assert message_problems({"text": message.text, "blocks": blocks}) == []
    assert len(team.disagreements) == len(kb.questionnaire.questions)
    shown = str(blocks)
    assert "30 people have answered" in shown and "<@U0PERSON29>" in shown
    record = adr_markdown(
        kb,
        RecordDetails(1, "A" * 500, "accepted", date(2026, 12, 2), None, "v1"),
        team,
        canvas_mention,
    )
    assert len(record) < MAX_CANVAS_MARKDOWN
    for posted in record_messages(record, "note"):
        assert message_problems({"text": posted.text, "blocks": posted.blocks_json()}) == []
    assert (
        "".join(
            block["text"]
            for m in record_messages(record, "note")
            for block in m.blocks_json()
            if block["type"] == "markdown"
        )
        == record
    )


def test_nobody_yet_and_one_person_are_said_as_such(kb: KnowledgeBase) -> None:
    view = DecisionView(title="Billing", started_by="U0ALICE", button_value='{"decision":1}')
    empty = str(decision_message(kb, view, None).blocks_json())
    assert "Nobody has answered yet" in empty

    one = decide(kb, dict(itertools.islice(varied_ballots(kb, 1).items(), 1)))
    alone = str(decision_message(kb, view, one).blocks_json())
    assert "one person's view, not the team's" in alone
    assert "A clear choice" not in alone and "A close call" not in alone
