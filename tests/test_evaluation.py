"""The older evaluation set (tests/data/evaluation.yaml: short questions as users ask them,
paraphrases, typos, Slack markup, off-topic ones) stays honest and labelled. Its figures are
printed, as a third report, by tests/test_message_evaluation.py."""

from __future__ import annotations

import re
from pathlib import Path

from bot.evaluation import INTENT_PREFIX, OFF_TOPIC, load_cases
from bot.knowledge import KnowledgeBase

SHORT_QUESTIONS = Path(__file__).parent / "data" / "evaluation.yaml"


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_evaluation_set_is_large_honest_and_labelled(kb: KnowledgeBase) -> None:
    cases = load_cases(SHORT_QUESTIONS)
    off_topic = [case for case in cases if case.expect == OFF_TOPIC]
    assert len(cases) >= 80
    assert len(off_topic) >= 20
    assert len({normalise(case.text) for case in cases}) == len(cases), "duplicates"
    labels = {entry.id for entry in kb.entries} | {INTENT_PREFIX + i.id for i in kb.intents}
    unknown = {case.expect for case in cases if case.expect != OFF_TOPIC} - labels
    assert not unknown, f"labels that are not entry or intent ids: {sorted(unknown)}"
    phrasings = {normalise(p) for entry in kb.entries for p in entry.phrasings}
    copies = [case.text for case in cases if normalise(case.text) in phrasings]
    assert not copies, f"questions copied from the knowledge's phrasings: {copies}"
