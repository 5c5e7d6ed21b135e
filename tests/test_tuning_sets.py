"""The third tuning set, tests/data/fresh_tuning_messages.yaml: written fresh before the knowledge
was read, labelled afterwards, and tuned on (scripts/tune_matcher.py) but never tested on. These
checks keep it realistic and labelled, and keep it apart from the test half of
tests/data/slack_messages.yaml. Failures give counts only, never the test half's texts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot import evaluation
from bot.evaluation import INTENT_PREFIX, OFF_TOPIC, PROJECT, Case
from bot.knowledge import KnowledgeBase
from bot.matching.text import clean_lines, sentences

DATA = Path(__file__).parent / "data"
FRESH_TUNING = DATA / "fresh_tuning_messages.yaml"
MESSAGES = DATA / "slack_messages.yaml"
LEANS = {"django", "flask", "either"}


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def fresh() -> list[Case]:
    return evaluation.load_cases(FRESH_TUNING)


def test_the_fresh_set_is_large_realistic_and_labelled(
    fresh: list[Case], kb: KnowledgeBase
) -> None:
    assert len(fresh) >= 180
    assert len({normalise(case.text) for case in fresh}) == len(fresh), "duplicates"
    long = [case for case in fresh if len(sentences(clean_lines(case.text))) >= 2]
    assert len(long) >= len(fresh) / 3, f"only {len(long)} messages have several sentences"
    labels = (
        {entry.id for entry in kb.entries}
        | {INTENT_PREFIX + intent.id for intent in kb.intents}
        | {OFF_TOPIC, PROJECT}
    )
    unknown = {case.expect for case in fresh} - labels
    assert not unknown, f"labels that are neither entries, intents, project nor none: {unknown}"
    bad_leans = [case.text for case in fresh if case.expect == PROJECT and case.lean not in LEANS]
    assert not bad_leans, f"project descriptions without a lean: {bad_leans}"
    kinds = Counter(case.expect.split(":")[0] for case in fresh)
    assert 0.2 <= kinds[OFF_TOPIC] / len(fresh) <= 0.3, "roughly a quarter is off-topic"
    assert kinds[PROJECT] >= 20 and kinds["intent"] >= 10
    phrasings = {normalise(p) for entry in kb.entries for p in entry.phrasings}
    copies = [case.text for case in fresh if normalise(case.text) in phrasings]
    assert not copies, f"messages copied from the knowledge's phrasings: {copies}"


def test_no_fresh_tuning_message_is_a_test_message(fresh: list[Case]) -> None:
    test_texts = {
        normalise(case.text) for case in evaluation.split(evaluation.load_cases(MESSAGES), "test")
    }
    shared = sum(normalise(case.text) in test_texts for case in fresh)
    assert shared == 0, f"{shared} fresh tuning messages are in the test half"
