"""The matcher on messages it was not tuned on: tests/data/slack_messages.yaml, written fresh
as people write in Slack, split once (by text and a fixed seed) into a tuning half and a test
half. Thresholds and weights were tuned on the tuning half (scripts/tune_matcher.py); the test
half must reach MIN_ON_TOPIC right on-topic and MIN_DECLINED declined off-topic. The older set
of short questions (tests/data/evaluation.yaml) is printed as a third report."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot import evaluation
from bot.evaluation import INTENT_PREFIX, OFF_TOPIC, PROJECT, Case
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher
from bot.matching.text import clean_lines, sentences

DATA = Path(__file__).parent / "data"
MESSAGES = DATA / "slack_messages.yaml"
SHORT_QUESTIONS = DATA / "evaluation.yaml"
MORE_TUNING = DATA / "more_tuning_messages.yaml"
"""A second set written fresh the same way, for tuning only (scripts/tune_matcher.py)."""
TUNING_SETS = sorted(DATA.glob("*_tuning_messages.yaml"))
"""Every set written for tuning only (the second one and those written later, before their
writers read the knowledge; tests/test_tuning_sets.py checks them), all tuned on, none tested
on."""
MIN_ON_TOPIC = 0.95
"""The target, reached (95.5% on the test half, 150 of 157). Raise this as the figure rises,
never lower it for a change to the matcher. Twice a change to the knowledge cost it a message:
four entries for questions no entry answered (92.4% -> 90.4%, won back since), and three more
for what four newer tuning sets asked most often and nothing answered, sending email, static
files and upgrading (92.4% -> 91.7%), won back (93.6%) by what the eleventh to sixteenth tuning
sets taught the project reader (its counts, descriptions that name another world's tools,
descriptions sent without a question). A second round of phrasings written without seeing any
set took it to 94.3%, and two rounds of questionnaire signals written the same way to 95.5%."""
MIN_DECLINED = 0.95
LEANS = {"django", "flask", "either"}


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return evaluation.load_cases(MESSAGES)


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


@pytest.fixture(scope="module")
def more_tuning() -> list[Case]:
    return evaluation.load_cases(MORE_TUNING)


@pytest.mark.parametrize(("which", "at_least"), [("messages", 300), ("more tuning messages", 250)])
def test_the_set_is_large_realistic_and_labelled(
    which: str, at_least: int, cases: list[Case], more_tuning: list[Case], kb: KnowledgeBase
) -> None:
    cases = cases if which == "messages" else more_tuning
    assert len(cases) >= at_least
    assert len({normalise(case.text) for case in cases}) == len(cases), "duplicates"
    long = [case for case in cases if len(sentences(clean_lines(case.text))) >= 2]
    assert len(long) >= len(cases) / 3, f"only {len(long)} messages have several sentences"
    entries = {entry.id for entry in kb.entries}
    intents = {INTENT_PREFIX + intent.id for intent in kb.intents}
    labels = entries | intents | {OFF_TOPIC, PROJECT}
    unknown = {case.expect for case in cases} - labels
    assert not unknown, f"labels that are neither entries, intents, project nor none: {unknown}"
    bad_leans = [case.text for case in cases if case.expect == PROJECT and case.lean not in LEANS]
    assert not bad_leans, f"project descriptions without a lean: {bad_leans}"
    kinds = Counter(
        case.expect.split(":")[0] if ":" in case.expect else case.expect for case in cases
    )
    assert kinds[OFF_TOPIC] >= 60 and kinds[PROJECT] >= 30 and kinds["intent"] >= 20
    phrasings = {normalise(p) for entry in kb.entries for p in entry.phrasings}
    copies = [case.text for case in cases if normalise(case.text) in phrasings]
    assert not copies, f"messages copied from the knowledge's phrasings: {copies}"


def test_no_tuning_message_is_a_test_message(cases: list[Case], more_tuning: list[Case]) -> None:
    test_texts = {normalise(case.text) for case in evaluation.split(cases, "test")}
    assert not [case.text for case in more_tuning if normalise(case.text) in test_texts]


def test_the_split_depends_only_on_each_message(cases: list[Case]) -> None:
    tuning = evaluation.split(cases, "tuning")
    test = evaluation.split(cases, "test")
    assert len(tuning) + len(test) == len(cases)
    assert min(len(tuning), len(test)) >= len(cases) * 0.4, "a lopsided split"
    reversed_cases = list(reversed(cases))
    assert [c.text for c in evaluation.split(reversed_cases, "test")] == [
        c.text for c in reversed(test)
    ]


def test_the_matcher_reads_the_test_half(cases: list[Case], matcher: Matcher) -> None:
    test = evaluation.evaluate(matcher, evaluation.split(cases, "test"), "test half")
    reports = [
        evaluation.evaluate(matcher, evaluation.split(cases, "tuning"), "tuning half"),
        *(
            evaluation.evaluate(matcher, evaluation.load_cases(path), path.stem)
            for path in TUNING_SETS
        ),
        test,
        evaluation.evaluate(
            matcher, evaluation.load_cases(SHORT_QUESTIONS), "short questions (older set)"
        ),
    ]
    for report in reports:
        print(f"\n{report.summary()}")
        print("\n".join(report.misses))
    assert test.on_topic_share >= MIN_ON_TOPIC, "\n".join(test.misses)
    assert test.declined_share >= MIN_DECLINED, "\n".join(test.misses)
