"""How well the matcher reads real messages: a labelled set, split once into a tuning half and a
test half, and a judge that says for each message whether the bot's reply was the right one.

The set (tests/data/slack_messages.yaml) was written fresh, without looking at the knowledge.
Each message expects one of:

- an entry id: the bot must answer with that entry;
- `project` with a `lean` (django, flask or either): it must read a project description and
  lean that way (either: any lean);
- `intent:<id>`: small talk or a question about the bot, answered with that intent;
- `none`: off-topic; the bot must say it is not sure.

Which half a message is in depends only on its text and `SPLIT_SEED`, so adding messages never
moves the others. Thresholds and weights are tuned on the tuning half only; the test half is
the figure that counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from bot.advisor import lean
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher, Understanding

SPLIT_SEED = "framework-advisor-2026"
OFF_TOPIC = "none"
PROJECT = "project"
INTENT_PREFIX = "intent:"

Half = Literal["tuning", "test"]


@dataclass(frozen=True)
class Case:
    text: str
    expect: str
    lean: str | None = None

    @property
    def half(self) -> Half:
        digest = hashlib.sha256(f"{SPLIT_SEED}\0{self.text}".encode()).digest()
        return "tuning" if digest[0] % 2 == 0 else "test"

    @property
    def off_topic(self) -> bool:
        return self.expect == OFF_TOPIC


def load_cases(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data["messages"] if "messages" in data else data["questions"]
    return [
        Case(
            text=str(item.get("text", item.get("question"))),
            expect=str(item["expect"]),
            lean=item.get("lean"),
        )
        for item in items
    ]


def split(cases: Iterable[Case], half: Half) -> list[Case]:
    return [case for case in cases if case.half == half]


def described(understanding: Understanding, kb: KnowledgeBase) -> str:
    """What the bot did with a message, in the evaluation's own terms."""
    if understanding.kind == "intent" and understanding.intent is not None:
        return INTENT_PREFIX + understanding.intent.id
    if understanding.kind == "project" and understanding.reading is not None:
        leaning = lean(kb, understanding.reading.answers)
        return f"{PROJECT}:{leaning.leader.id if leaning.leader else 'even'}"
    if understanding.kind == "answer" and understanding.match.best is not None:
        return understanding.match.best.entry.id
    return OFF_TOPIC


def is_right(case: Case, got: str) -> bool:
    if case.expect == PROJECT:
        kind, _, leader = got.partition(":")
        return kind == PROJECT and (case.lean in (None, "either") or leader == case.lean)
    return got == case.expect


@dataclass
class Report:
    """Accuracy on one set of cases: on-topic right, off-topic declined, and the misses."""

    name: str
    on_topic: int = 0
    on_topic_right: int = 0
    off_topic: int = 0
    off_topic_declined: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def on_topic_share(self) -> float:
        return self.on_topic_right / self.on_topic if self.on_topic else 1.0

    @property
    def declined_share(self) -> float:
        return self.off_topic_declined / self.off_topic if self.off_topic else 1.0

    def summary(self) -> str:
        return (
            f"{self.name}: {self.on_topic_share:.1%} right on-topic ({self.on_topic_right}/"
            f"{self.on_topic}), {self.declined_share:.1%} declined off-topic "
            f"({self.off_topic_declined}/{self.off_topic})"
        )


def evaluate(matcher: Matcher, cases: Sequence[Case], name: str) -> Report:
    report = Report(name)
    for case in cases:
        understanding = matcher.understand(case.text)
        got = described(understanding, matcher.kb)
        right = is_right(case, got)
        if case.off_topic:
            report.off_topic += 1
            report.off_topic_declined += right
        else:
            report.on_topic += 1
            report.on_topic_right += right
        if not right:
            closest = ", ".join(
                f"{c.entry.id} {c.score:.0f}"
                for c in ((understanding.match.best,) if understanding.match.best else ())
                + understanding.match.alternatives
            )
            expected = case.expect + (f" ({case.lean})" if case.lean else "")
            text = " ".join(case.text.split())[:110]
            report.misses.append(f"  {text!r}: expected {expected}, got {got} [{closest}]")
    return report
