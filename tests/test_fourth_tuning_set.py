"""The fourth tuning set, tests/data/fourth_tuning_messages.yaml: written fresh before the
knowledge was read, labelled afterwards from the entry titles, and meant for tuning only, never
for testing. These checks keep it realistic and labelled, and keep it apart from the test half of
tests/data/slack_messages.yaml and from the other tuning sets. Failures give counts only, never
the other sets' texts."""

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
FOURTH_TUNING = DATA / "fourth_tuning_messages.yaml"
MESSAGES = DATA / "slack_messages.yaml"
OTHER_TUNING = (DATA / "more_tuning_messages.yaml", DATA / "fresh_tuning_messages.yaml")
LEANS = {"django", "flask", "either"}


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def shared_with(cases: list[Case], others: list[Case]) -> int:
    texts = {normalise(case.text) for case in others}
    return sum(normalise(case.text) in texts for case in cases)


@pytest.fixture(scope="module")
def fourth() -> list[Case]:
    return evaluation.load_cases(FOURTH_TUNING)


def test_the_fourth_set_is_large_realistic_and_labelled(
    fourth: list[Case], kb: KnowledgeBase
) -> None:
    assert len(fourth) >= 110
    assert len({normalise(case.text) for case in fourth}) == len(fourth), "duplicates"
    long = [case for case in fourth if len(sentences(clean_lines(case.text))) >= 2]
    assert len(long) >= len(fourth) / 3, f"only {len(long)} messages have several sentences"
    labels = (
        {entry.id for entry in kb.entries}
        | {INTENT_PREFIX + intent.id for intent in kb.intents}
        | {OFF_TOPIC, PROJECT}
    )
    unknown = {case.expect for case in fourth} - labels
    assert not unknown, f"labels that are neither entries, intents, project nor none: {unknown}"
    bad_leans = [case.text for case in fourth if case.expect == PROJECT and case.lean not in LEANS]
    assert not bad_leans, f"project descriptions without a lean: {bad_leans}"
    kinds = Counter(case.expect.split(":")[0] for case in fourth)
    assert 0.2 <= kinds[OFF_TOPIC] / len(fourth) <= 0.3, "roughly a quarter is off-topic"
    assert kinds[PROJECT] >= 15 and kinds["intent"] >= 8
    phrasings = {normalise(p) for entry in kb.entries for p in entry.phrasings}
    copies = [case.text for case in fourth if normalise(case.text) in phrasings]
    assert not copies, f"messages copied from the knowledge's phrasings: {copies}"


def test_no_fourth_tuning_message_is_a_test_message(fourth: list[Case]) -> None:
    test_half = evaluation.split(evaluation.load_cases(MESSAGES), "test")
    shared = shared_with(fourth, test_half)
    assert shared == 0, f"{shared} fourth tuning messages are in the test half"


def test_the_fourth_set_is_new_next_to_the_other_tuning_sets(fourth: list[Case]) -> None:
    others = {"the tuning half of slack_messages.yaml": MESSAGES} | {
        path.name: path for path in OTHER_TUNING
    }
    for name, path in others.items():
        cases = evaluation.load_cases(path)
        if path == MESSAGES:
            cases = evaluation.split(cases, "tuning")
        shared = shared_with(fourth, cases)
        assert shared == 0, f"{shared} fourth tuning messages are also in {name}"
