"""The matcher on the shipped knowledge, measured on tests/data/evaluation.yaml: labelled
questions written as users ask them (paraphrases, typos, Slack markup) and off-topic ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge import KnowledgeBase
from bot.matching import DEFAULT_THRESHOLD, MIN_MARGIN, Matcher

EVALUATION = Path(__file__).parent / "data" / "evaluation.yaml"
OFF_TOPIC = "none"
MIN_ACCURACY = 0.9
MIN_DECLINED = 0.9


def load_evaluation() -> list[tuple[str, str]]:
    data = yaml.safe_load(EVALUATION.read_text(encoding="utf-8"))
    return [(item["question"], item["expect"]) for item in data["questions"]]


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


def test_evaluation_set_is_large_honest_and_labelled(kb: KnowledgeBase) -> None:
    cases = load_evaluation()
    off_topic = [question for question, expected in cases if expected == OFF_TOPIC]
    assert len(cases) >= 80
    assert len(off_topic) >= 20
    assert len({normalise(question) for question, _ in cases}) == len(cases), "duplicates"
    entry_ids = {entry.id for entry in kb.entries}
    unknown = {expected for _, expected in cases if expected != OFF_TOPIC} - entry_ids
    assert not unknown, f"labels that are not entry ids: {sorted(unknown)}"
    phrasings = {normalise(p) for entry in kb.entries for p in entry.phrasings}
    copies = [question for question, _ in cases if normalise(question) in phrasings]
    assert not copies, f"questions copied from the knowledge's phrasings: {copies}"


def test_matcher_answers_and_declines_the_evaluation_set(matcher: Matcher) -> None:
    cases = load_evaluation()
    in_scope = [(q, expected) for q, expected in cases if expected != OFF_TOPIC]
    off_topic = [q for q, expected in cases if expected == OFF_TOPIC]

    misses = []
    for question, expected in in_scope:
        result = matcher.match(question)
        got = result.best.entry.id if result.best else "(not sure)"
        if got != expected:
            closest = ", ".join(f"{c.entry.id} {c.score:.0f}" for c in result.alternatives)
            misses.append(f"  {question!r}: expected {expected}, got {got} [{closest}]")
    wrongly_answered = []
    for question in off_topic:
        result = matcher.match(question)
        if result.best is not None:
            wrongly_answered.append(
                f"  {question!r}: answered {result.best.entry.id} {result.best.score:.0f}"
            )

    accuracy = 1 - len(misses) / len(in_scope)
    declined = 1 - len(wrongly_answered) / len(off_topic)
    print(f"\nthreshold {DEFAULT_THRESHOLD}, margin {MIN_MARGIN}")
    print(f"top-1 accuracy on in-scope questions: {accuracy:.1%} ({len(in_scope)} questions)")
    print("\n".join(misses))
    print(f"off-topic questions declined: {declined:.1%} ({len(off_topic)} questions)")
    print("\n".join(wrongly_answered))
    assert accuracy >= MIN_ACCURACY, "\n".join(misses)
    assert declined >= MIN_DECLINED, "\n".join(wrongly_answered)
