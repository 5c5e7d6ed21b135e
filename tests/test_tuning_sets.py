"""The tuning sets written before their writers read the knowledge (tests/data/
fresh_tuning_messages.yaml and the fourth to twenty-fifth, the fifth on labelled from the entry
titles alone). All are tuned on (scripts/tune_matcher.py) but never tested on. These checks keep
them realistic and labelled, and keep them apart from the test half of
tests/data/slack_messages.yaml (and the fourth on from every other set). Failures give counts
only, never the test half's texts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest

from bot import evaluation
from bot.evaluation import INTENT_PREFIX, OFF_TOPIC, PROJECT, Case
from bot.knowledge import KnowledgeBase
from bot.matching.text import clean_lines, sentences

DATA = Path(__file__).parent / "data"
FRESH_TUNING = DATA / "fresh_tuning_messages.yaml"
FOURTH_TUNING = DATA / "fourth_tuning_messages.yaml"
FIFTH_TUNING = DATA / "fifth_tuning_messages.yaml"
SIXTH_TUNING = DATA / "sixth_tuning_messages.yaml"
SEVENTH_TUNING = DATA / "seventh_tuning_messages.yaml"
EIGHTH_TUNING = DATA / "eighth_tuning_messages.yaml"
NINTH_TUNING = DATA / "ninth_tuning_messages.yaml"
TENTH_TUNING = DATA / "tenth_tuning_messages.yaml"
ELEVENTH_TUNING = DATA / "eleventh_tuning_messages.yaml"
TWELFTH_TUNING = DATA / "twelfth_tuning_messages.yaml"
THIRTEENTH_TUNING = DATA / "thirteenth_tuning_messages.yaml"
FOURTEENTH_TUNING = DATA / "fourteenth_tuning_messages.yaml"
FIFTEENTH_TUNING = DATA / "fifteenth_tuning_messages.yaml"
SIXTEENTH_TUNING = DATA / "sixteenth_tuning_messages.yaml"
SEVENTEENTH_TUNING = DATA / "seventeenth_tuning_messages.yaml"
EIGHTEENTH_TUNING = DATA / "eighteenth_tuning_messages.yaml"
NINETEENTH_TUNING = DATA / "nineteenth_tuning_messages.yaml"
TWENTIETH_TUNING = DATA / "twentieth_tuning_messages.yaml"
TWENTY_FIRST_TUNING = DATA / "twentyfirst_tuning_messages.yaml"
TWENTY_SECOND_TUNING = DATA / "twentysecond_tuning_messages.yaml"
TWENTY_THIRD_TUNING = DATA / "twentythird_tuning_messages.yaml"
TWENTY_FOURTH_TUNING = DATA / "twentyfourth_tuning_messages.yaml"
TWENTY_FIFTH_TUNING = DATA / "twentyfifth_tuning_messages.yaml"
MORE_TUNING = DATA / "more_tuning_messages.yaml"
MESSAGES = DATA / "slack_messages.yaml"
LEANS = {"django", "flask", "either"}


class TuningSet(NamedTuple):
    path: Path
    at_least: int
    """Messages."""
    projects: int
    """Project descriptions, at least."""
    intents: int
    """Small-talk messages, at least."""
    long_share: float = 1 / 3
    """Messages of several sentences, at least this share."""
    off_topic_share: float = 0.2
    """Off-topic messages, at least this share (at most 0.3)."""


SETS = {
    "fresh": TuningSet(FRESH_TUNING, 180, 20, 10),
    "fourth": TuningSet(FOURTH_TUNING, 110, 15, 8),
    "fifth": TuningSet(FIFTH_TUNING, 130, 15, 8),
    "sixth": TuningSet(SIXTH_TUNING, 140, 40, 10),
    "seventh": TuningSet(SEVENTH_TUNING, 140, 35, 12),
    "eighth": TuningSet(EIGHTH_TUNING, 135, 55, 10),
    "ninth": TuningSet(NINTH_TUNING, 135, 12, 12),
    "tenth": TuningSet(TENTH_TUNING, 130, 55, 6),
    # Mostly project descriptions by design: a fifth of it is off-topic.
    "eleventh": TuningSet(ELEVENTH_TUNING, 135, 65, 8, off_topic_share=0.19),
    "twelfth": TuningSet(TWELFTH_TUNING, 130, 25, 12),
    "thirteenth": TuningSet(THIRTEENTH_TUNING, 125, 45, 10),
    # Short messages typed quickly by design: a quarter are longer.
    "fourteenth": TuningSet(FOURTEENTH_TUNING, 125, 40, 8, long_share=0.25),
    "fifteenth": TuningSet(FIFTEENTH_TUNING, 130, 25, 8),
    "sixteenth": TuningSet(SIXTEENTH_TUNING, 130, 40, 6),
    # Their short greetings and thanks repeated other sets' word for word and were taken out.
    "seventeenth": TuningSet(SEVENTEENTH_TUNING, 135, 40, 6),
    "eighteenth": TuningSet(EIGHTEENTH_TUNING, 135, 40, 4),
    "nineteenth": TuningSet(NINETEENTH_TUNING, 120, 40, 2),
    "twentieth": TuningSet(TWENTIETH_TUNING, 115, 40, 4),
    "twenty-first": TuningSet(TWENTY_FIRST_TUNING, 115, 40, 4),
    "twenty-second": TuningSet(TWENTY_SECOND_TUNING, 140, 40, 4),
    "twenty-third": TuningSet(TWENTY_THIRD_TUNING, 130, 40, 2),
    "twenty-fourth": TuningSet(TWENTY_FOURTH_TUNING, 130, 40, 1),
    "twenty-fifth": TuningSet(TWENTY_FIFTH_TUNING, 135, 40, 2),
}


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def shared_with(cases: list[Case], others: list[Case]) -> int:
    texts = {normalise(case.text) for case in others}
    return sum(normalise(case.text) in texts for case in cases)


@pytest.mark.parametrize("name", SETS)
def test_the_set_is_large_realistic_and_labelled(name: str, kb: KnowledgeBase) -> None:
    path, at_least, projects, intents, long_share, off_topic_share = SETS[name]
    cases = evaluation.load_cases(path)
    assert len(cases) >= at_least
    assert len({normalise(case.text) for case in cases}) == len(cases), "duplicates"
    long = [case for case in cases if len(sentences(clean_lines(case.text))) >= 2]
    assert len(long) >= len(cases) * long_share, f"only {len(long)} have several sentences"
    labels = (
        {entry.id for entry in kb.entries}
        | {INTENT_PREFIX + intent.id for intent in kb.intents}
        | {OFF_TOPIC, PROJECT}
    )
    unknown = {case.expect for case in cases} - labels
    assert not unknown, f"labels that are neither entries, intents, project nor none: {unknown}"
    bad_leans = [case.text for case in cases if case.expect == PROJECT and case.lean not in LEANS]
    assert not bad_leans, f"project descriptions without a lean: {bad_leans}"
    kinds = Counter(case.expect.split(":")[0] for case in cases)
    assert off_topic_share <= kinds[OFF_TOPIC] / len(cases) <= 0.3, "roughly a quarter is off-topic"
    assert kinds[PROJECT] >= projects and kinds["intent"] >= intents
    phrasings = {normalise(p) for entry in kb.entries for p in entry.phrasings}
    copies = [case.text for case in cases if normalise(case.text) in phrasings]
    assert not copies, f"messages copied from the knowledge's phrasings: {copies}"


@pytest.mark.parametrize("name", SETS)
def test_no_tuning_message_is_a_test_message(name: str) -> None:
    test_half = evaluation.split(evaluation.load_cases(MESSAGES), "test")
    shared = shared_with(evaluation.load_cases(SETS[name].path), test_half)
    assert shared == 0, f"{shared} {name} tuning messages are in the test half"


@pytest.mark.parametrize("name", [name for name in SETS if name != "fresh"])
def test_the_newer_sets_are_new_next_to_the_other_tuning_sets(name: str) -> None:
    newer = evaluation.load_cases(SETS[name].path)
    others = {
        "the tuning half of slack_messages.yaml": evaluation.split(
            evaluation.load_cases(MESSAGES), "tuning"
        ),
        MORE_TUNING.name: evaluation.load_cases(MORE_TUNING),
        FRESH_TUNING.name: evaluation.load_cases(FRESH_TUNING),
        **{
            path.name: evaluation.load_cases(path)
            for other, (path, *_) in SETS.items()
            if other not in {name, "fresh"}
        },
    }
    for other_name, cases in others.items():
        shared = shared_with(newer, cases)
        assert shared == 0, f"{shared} {name} tuning messages are also in {other_name}"
