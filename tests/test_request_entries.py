"""The URL routing and request lifecycle entries answer the questions they were written for:
one realistic Slack message each, worded unlike any of the entries' phrasings."""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase
from bot.matching import Matcher

QUESTIONS = {
    "url-routing": (
        "in django where do i declare which url goes to which view? in flask i just decorate "
        "the function"
    ),
    "request-lifecycle": (
        "im getting RuntimeError: Working outside of application context when my cron script "
        "touches the db, what gives"
    ),
}


@pytest.mark.parametrize(("entry_id", "text"), QUESTIONS.items(), ids=list(QUESTIONS))
def test_a_slack_question_is_answered_by_its_entry(
    kb: KnowledgeBase, entry_id: str, text: str
) -> None:
    understanding = Matcher(kb).understand(text)
    assert understanding.kind == "answer"
    assert understanding.match.best is not None
    assert understanding.match.best.entry.id == entry_id
