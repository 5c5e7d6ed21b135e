"""The operations entries (knowledge/entries-operations.yaml) answer the questions they were
written for: a realistic Slack question about each, worded unlike its phrasings, reaches it."""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase
from bot.matching import Matcher


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        (
            "our analytics page in django runs the same heavy aggregate on every request, "
            "can we keep the result in redis for ten minutes?",
            "caching",
        ),
        (
            "in django where do people keep the secret key and db password so they aren't "
            "sitting in settings.py in the repo?",
            "settings-and-secrets",
        ),
        (
            "we are about to sell our app to a bunch of companies, how do we keep each one's "
            "data separate in django",
            "multi-tenancy",
        ),
    ],
)
def test_a_realistic_question_reaches_its_entry(
    matcher: Matcher, question: str, entry_id: str
) -> None:
    understanding = matcher.understand(question)
    assert understanding.kind == "answer"
    assert understanding.match.best is not None
    assert understanding.match.best.entry.id == entry_id
