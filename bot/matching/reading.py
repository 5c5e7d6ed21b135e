"""Reading a project description: which questionnaire answers a message's words indicate.

Each option in knowledge/questionnaire.yaml lists `signals`, phrases that indicate it ("sign-in",
"back office", "by friday"). A signal is found when its words, stemmed, occur one after another
in the message, so "signing in" finds "sign-in" and "back-office" finds "back office". For a
single-choice question the option with the longest signal found wins ("no admin" over
"admin"), then the option more of whose signals the message holds; two options tied on both
leave the question unanswered rather than guess. A signal right after a negation ("no logins",
"without an admin") indicates nothing: what it denies is read only by the options whose own
signals say so ("no admin"). A one-word signal meets a word with its stem only if the two
share a base form ("reporting" meets "reports"; "local" is not "localization", nor
"moderately" "moderation"). The questionnaire's `choice_cues` ("which one", "should we use")
say that the message asks which framework to pick, and so does a last sentence that is one of
its `closing_asks` whole ("...and monthly reports. Framework?"). An option's `counts` read a
number of things in a range, whatever the number ("~30 endpoints", "a team of 12"), as strong
as a two-word signal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from bot.knowledge import Count, Option, Question, Questionnaire
from bot.matching.text import base_forms, stem, words


@dataclass(frozen=True)
class Signal:
    """A phrase found in the message, and the answer it indicates."""

    question: Question
    option: Option
    phrase: str


@dataclass(frozen=True)
class ProjectReading:
    """What a message says about a project, as questionnaire answers."""

    signals: tuple[Signal, ...]
    """One per answer read, in questionnaire order (the longest phrase found for it)."""
    asks_choice: bool
    """Whether the message asks which framework to use."""
    phrases: int = 0
    """How many different signal phrases the message holds, for the answers read: "a content
    site with articles and editors" is one answer said three ways, more than a passing word."""

    @property
    def answers(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = defaultdict(list)
        for signal in self.signals:
            found[signal.question.id].append(signal.option.id)
        return {question: tuple(options) for question, options in found.items()}


NEGATIONS = frozenset(stem(word) for word in ("no", "not", "without", "nor", "never", "dont", "t"))
"""Words that deny the signal after them (within NEGATION_REACH words; "t" is what is left of
"don't", "doesn't", "won't")."""

NEGATION_REACH = 2

COUNT_SIZE = 2
"""How long a signal a count found is ("30 endpoints"), against the longest signal rule."""

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozens": 24, "hundreds": 200,
    "thousands": 2000, "single": 1, "solo": 1,
}  # fmt: skip
_DIGITS = re.compile(r"^(\d+)(k|m)?$")
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_number(word: str) -> int | None:
    """The number a message word says: "30", "10k", "dozen"; None for any other word."""
    found = _DIGITS.match(word)
    if found:
        return int(found.group(1)) * _MULTIPLIERS[found.group(2) or ""]
    return NUMBER_WORDS.get(word)


def counted(message_words: list[str]) -> list[tuple[int, str, str]]:
    """Each number in a message with the word for what it counts and the words that say it:
    "30 api endpoints" (one word may come between), "a team of 5"."""
    found: list[tuple[int, str, str]] = []
    size = len(message_words)
    for index, word in enumerate(message_words):
        value = parse_number(word)
        if value is None:
            continue
        after = [index + 1] if index + 1 < size else []
        if after and parse_number(message_words[index + 1]) is None and index + 2 < size:
            after.append(index + 2)
        for noun in after:
            found.append((value, message_words[noun], " ".join(message_words[index : noun + 1])))
        if index >= 2 and message_words[index - 1] == "of":
            found.append(
                (value, message_words[index - 2], " ".join(message_words[index - 2 : index + 1]))
            )
    return found


def _negated(stems: tuple[str, ...], start: int, phrase_stems: tuple[str, ...]) -> bool:
    if phrase_stems[0] in NEGATIONS:
        return False
    return any(word in NEGATIONS for word in stems[max(start - NEGATION_REACH, 0) : start])


def _same_word(message_word: str, signal_word: str) -> bool:
    """Whether a message word sharing a one-word signal's stem is that word inflected: the
    stemmer makes "localization" and "local", "moderately" and "moderation", "normally" and
    "normalized" one stem, but none of them says what the other does; "orders" and "order",
    "reporting" and "reports" share a base form."""
    return bool({message_word, *base_forms(message_word)} & {signal_word, *base_forms(signal_word)})


def contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    size = len(needle)
    if not size or size > len(haystack):
        return False
    first = needle[0]
    return any(
        haystack[start : start + size] == needle
        for start in range(len(haystack) - size + 1)
        if haystack[start] == first
    )


class ProjectReader:
    """Finds option signals and choice cues in messages; build once per knowledge base.

    Signals and cues are indexed by their first stem, so a message is read in one pass over
    its words whatever the number of signals (a thousand signals scanned one by one cost
    tens of milliseconds on a long message)."""

    def __init__(self, questionnaire: Questionnaire, aliases: Mapping[str, str]) -> None:
        self._aliases = aliases
        self._questions = questionnaire.questions
        self._signals: dict[str, list[tuple[int, Option, str, tuple[str, ...], str]]] = defaultdict(
            list
        )
        """By first stem: the question's number, the option, the signal, its stems and its first
        word as a message's would read (what a one-word signal's inflections are checked on)."""
        # Signals and cues are read as messages are, abbreviations spelled out: a cue "flask or
        # dj" must meet a message whose "dj" was read as "django".
        for number, question in enumerate(questionnaire.questions):
            for option in question.options:
                for signal in option.signals:
                    signal_words = self._message_words(signal)
                    if signal_words:
                        stems = tuple(stem(word) for word in signal_words)
                        self._signals[stems[0]].append(
                            (number, option, signal, stems, signal_words[0])
                        )
        self._counts: dict[str, list[tuple[int, Option, Count]]] = defaultdict(list)
        """By the word for what is counted: the question's number, the option, the count."""
        for question_index, question in enumerate(questionnaire.questions):
            for option in question.options:
                for count in option.counts:
                    for thing in count.of:
                        self._counts[thing].append((question_index, option, count))
        self.words = frozenset(
            word
            for question in questionnaire.questions
            for option in question.options
            for signal in option.signals
            for word in self._message_words(signal)
        )
        """Every word of a signal: a description's own vocabulary ("llm", "shortener"), which
        names no product however rare it is."""
        self._closing = frozenset(
            tuple(self._message_words(ask)) for ask in questionnaire.closing_asks
        )
        self._cues: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for cue in questionnaire.choice_cues:
            stems = self._message_stems(cue)
            if stems:
                self._cues[stems[0]].append(stems)

    def _message_words(self, text: str) -> list[str]:
        return words(" ".join(self._aliases.get(word, word) for word in words(text)))

    def _message_stems(self, text: str) -> tuple[str, ...]:
        return tuple(stem(word) for word in self._message_words(text))

    def is_closing_ask(self, sentence: str) -> bool:
        """Whether `sentence` is one of the closing asks, whole: "Framework?" ending a
        description asks for the pick; "which framework did you use for it" does not."""
        return tuple(self._message_words(sentence)) in self._closing

    def read(self, text: str) -> ProjectReading:
        message_words = self._message_words(text)
        stems = tuple(stem(word) for word in message_words)
        longest: list[dict[str, tuple[int, str]]] = [{} for _ in self._questions]
        phrases: list[dict[str, set[str]]] = [defaultdict(set) for _ in self._questions]
        asks = False
        for start, first in enumerate(stems):
            for number, option, phrase, phrase_stems, phrase_word in self._signals.get(first, ()):
                size = len(phrase_stems)
                if (
                    stems[start : start + size] == phrase_stems
                    and not _negated(stems, start, phrase_stems)
                    and (size > 1 or _same_word(message_words[start], phrase_word))
                ):
                    found_for = longest[number]
                    phrases[number][option.id].add(phrase)
                    if size > found_for.get(option.id, (0, ""))[0]:
                        found_for[option.id] = (size, phrase)
            if not asks:
                asks = any(
                    stems[start : start + len(cue)] == cue for cue in self._cues.get(first, ())
                )
        for value, thing, phrase in counted(message_words):
            for question_index, option, count in self._counts.get(thing, ()):
                if count.holds(value):
                    found_for = longest[question_index]
                    phrases[question_index][option.id].add(phrase)
                    if found_for.get(option.id, (0, ""))[0] < COUNT_SIZE:
                        found_for[option.id] = (COUNT_SIZE, phrase)
        found: list[Signal] = []
        said: set[str] = set()
        for question, by_size, found_phrases in zip(self._questions, longest, phrases, strict=True):
            if not by_size:
                continue
            by_option = {option.id: option for option in question.options}
            if question.kind == "multiple":
                picked = [o for o in question.options if o.id in by_size and not o.exclusive]
            else:
                # The longest signal wins ("no admin" over "admin"); between equally long
                # ones, the option more of whose signals the message holds; a tie says nothing.
                strength = {
                    option_id: (size, len(found_phrases[option_id]))
                    for option_id, (size, _) in by_size.items()
                }
                top = max(strength.values())
                leaders = [option_id for option_id, value in strength.items() if value == top]
                picked = [by_option[leaders[0]]] if len(leaders) == 1 else []
            found.extend(Signal(question, option, by_size[option.id][1]) for option in picked)
            said.update(phrase for option in picked for phrase in found_phrases[option.id])
        return ProjectReading(tuple(found), asks, _outermost(said))


def _outermost(phrases: set[str]) -> int:
    """How many of `phrases` are not part of a longer one found ("admin" in "admin panel")."""
    return sum(
        not any(phrase != longer and phrase in longer for longer in phrases) for phrase in phrases
    )
