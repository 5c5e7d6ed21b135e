"""A Slack message -> what it is: a question with its answer, small talk, a project description,
or an honest "not sure" with the closest topics.

Scoring a question against the knowledge fuses two signals (see README, "How matching works"):

- lexical (lexical.py): the share of an entry's rare words the message holds, with typo
  correction;
- semantic (semantic.py): the cosine between the message's sentence vector and the entry's
  phrasings', so paraphrases that share no rare word still meet.

A real message is several sentences of context around one question, so both signals score the
whole message and each sentence, and an entry keeps its best. The fused score is
`LEXICAL_SHARE * lexical + (1 - LEXICAL_SHARE) * 100 * cosine`, plus `KEYWORD_BONUS` for an
entry whose keywords the message names, less what BM25 over each entry's whole wording puts it
behind the best (retrieval.py); the best entry is the answer when it reaches the
threshold and leads the runner-up by `MIN_MARGIN`. Every weight and threshold here was tuned on
the tuning side only (the tuning half of tests/data/slack_messages.yaml and the tuning sets;
scripts/tune_matcher.py), never on the test half.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA

from bot.knowledge import Entry, Intent, KnowledgeBase
from bot.matching.intents import IntentMatch, IntentMatcher, clauses
from bot.matching.lexical import LexicalScorer
from bot.matching.reading import ProjectReader, ProjectReading, contains
from bot.matching.retrieval import EntryRetrieval
from bot.matching.semantic import SentenceEncoder, Vectors, columns, cosine, shared_encoder
from bot.matching.text import (
    STOPWORDS,
    base_forms,
    clean_lines,
    clean_text,
    content_words,
    sentences,
    stem,
    words,
)

DEFAULT_THRESHOLD = 59.0
"""Lowest fused score (0..100) that is answered."""

MIN_MARGIN = 0.2
"""How far the best entry must lead the runner-up to be answered: two entries tied on the same
words are a question to ask back, not to guess."""

LEXICAL_SHARE = 0.5
"""Share of the fused score from the lexical signal (the rest is semantic)."""

LEXICAL_ONLY_THRESHOLD = 54.0
"""The threshold when the embedding model could not be loaded and the score is lexical alone
(the lexical matcher's own, tuned before the semantic signal existed)."""

ALTERNATIVE_FLOOR = 35.0
"""Entries scoring below this are not offered as alternatives or closest topics."""

UNANCHORED_EXTRA = 15.0
"""How much higher a question must score when it names no anchor (no framework, no word of
the knowledge's `anchors`): such a message may share only everyday words with an entry
("reset my password for jira" and Authentication)."""

FOREIGN_NAME_EXTRA = 15.0
"""And higher still when it names something the knowledge does not know and that is no English
word either (a product: "jira", "okta"): it is most likely about that."""

ELSEWHERE_EXTRA = 15.0
"""And higher by this when it names something of another world that shares words with this
one (the knowledge's `elsewhere`: "vacuum flask", "django unchained", "wordpress"), or another
web stack and neither framework (`other_stacks`: "rails vs laravel"): it is most likely about
that, whatever else it shares with an entry."""

OTHER_CHOICE_EXTRA = 5.0
"""And higher by this when, naming neither framework, it weighs two things against each other
neither of which is an anchor ("postgres or mysql for the new service"): most likely that choice
is the question. A weaker sign than another world's name: "big projects vs small ones" weighs
two words too."""

INTENT_THRESHOLD = 72.0
"""Lowest intent score that is taken as small talk."""

COVERED_INTENT_THRESHOLD = 60.0
"""The lower bar for a message every content word of which the intent's examples use: it says
nothing else, only in another order or length than any one example ("good morning framework
bot" is no example, but each of its words is a greeting's)."""

QUIET_WORDS = 4
"""Content words the rest of a message may hold when one of its clauses is small talk and the
message is no question the knowledge answers ("morning all, first time using this thing"). The
rest must also name neither framework nor an anchor, nor another world: "hey, how do i reset my
jira token" is not a greeting."""

ASIDE_WORDS = 3
"""Beside a question about the bot (not a greeting or thanks), the rest may hold no more than
these words that no small talk uses: in "terraform state is locked and nobody knows why, help"
or "pandas groupby with multiple aggregations, how do i do it?" the request is the rest, and
"help" or "how do i do it" asks for help with it, not what the bot does."""

PROJECT_MIN_SIGNALS = 2
"""Answers a message must indicate to be read as a project description when it also asks
which framework to pick. With one, it is a description only if no topic answers it: a long
question about one topic ("which framework is usually used for model serving and why?") names
one answer as a matter of course."""

STRONG_ANSWER_LEAD = 14.0
THIN_READING_PHRASES = 2
"""A message read as a project description from `PROJECT_MIN_SIGNALS` answers is a question
about a topic instead when that topic scores this far above the threshold and the description
holds no more than these signal phrases: its words about the project are the question's
context ("which one would our juniors learn faster"), not a project to weigh."""

DOMINANT_ANSWER_LEAD = 22.0
"""...and whatever the description holds when the topic scores this far above the threshold:
"how long until our three new grads are productive in django vs flask" is the learning curve,
though it says who the team is."""

UNANCHORED_PROJECT_SIGNALS = 2
UNANCHORED_PROJECT_PHRASES = 3
"""Answers, and different signal phrases for them, a message must hold to be read as a project
description when it names neither framework nor any anchor word: "recommend a good sci-fi book"
may hit a signal or two ("book" as in "booking") and asks for a recommendation, but it is not
about building with either, while "a content site with articles, editors who publish, and an
admin, what would you pick" says what it builds three ways and more."""

RICH_PROJECT_SIGNALS = 3
"""Answers that make a message asking which framework a project description whatever else it
names: "an hr platform with leave requests and payroll exports" names payroll, "a tool that
turns a jira export into a chart" names jira, "six developers, some only knew php" names another
stack, and none is what it asks about (unless it weighs two of them: "rails vs laravel")."""

RICH_ASK_SIGNALS = 4
"""A description naming at least this many answers and both frameworks asks which to pick
with any question ("is this a django thing or a flask thing?"), cue or not."""

BARE_SIGNALS = 3
BARE_PHRASES = 3
"""A message that asks nothing and names at least BARE_SIGNALS answers, or two said in at least
BARE_PHRASES ways, or two of which one says what the project is (a question marked
`names_the_product` in knowledge/questionnaire.yaml), is a description sent for the pick."""

CLOSING_QUESTION_WORDS = 5
"""A description's last sentence asks for the pick when it is a question of at most this many
words naming a framework ("...and a few charts. 1 dev, 1 week. flask?")."""

MIN_CONTENT_WORDS = 2
"""A message of one content word ("test", "celery?") is never answered outright: it gets the
closest topics to pick from, since one word does not say what is asked about it. A framework's
name or an anchor word alone ("django?", "celery?") is the exception, but not the frameworks'
language ("python?" asks nothing of either)."""

SENTENCE_MIN_WORDS = 3
"""A sentence counts on its own only with this many content words: "flask or django?" at the
end of a project description is the description's question, not a topic of its own."""

MAX_PARTS = 8
"""Sentences scored one by one (beyond these, only the whole message counts)."""

AMBIGUITY_MARGIN = 10.0
"""`kb check` warns about a phrasing another entry scores within this much of its own..."""

AMBIGUITY_LIKENESS = 70.0
"""...when the two entries' closest phrasings are also this alike word for word (0..100), so
related topics that merely share a sentence's subject are not flagged."""

SENTENCE_LIFT = 0.5
"""How far a sentence scoring above its whole message lifts an entry towards the sentence's
score (1: all the way, 0: the whole message alone counts)."""

KEYWORD_BONUS = 2.0
"""Points an entry gains when the message names one of its `keywords`, the curated terms of its
topic ("admin" for the admin site, "alembic" for migrations); a keyword several entries list is
shared among them, and an entry gains this much at most. The overlap compares a message's words
with whole phrasings, where one topical word among a long message's others counts for little:
"can someone explain the django admin to me" went to *What is Django*, whose phrasings hold
every other word of it."""

MIRROR_MARGIN = 15.0
"""Two mirror entries (the same topic for each framework, such as "When to choose Django" and
"When to choose Flask") score alike for a message that names both frameworks, whose words they
share; when they are within this many points, the message's first-named framework decides which
one leads ("when does django make more sense than flask" is about Django)."""

CHOICE_WORDS = frozenset({"or", "vs", "versus"})
"""Words that weigh the word before them against the word after ("postgres or mysql")."""

REFERENCES = (
    "which one",
    "the two",
    "these two",
    "either of them",
    "either of these",
    "either one",
    "each one",
    "in each",
    "for each",
    "in both",
    "for both",
    "with both",
)
"""Asked of this bot, these mean the two frameworks: "which one is more mature?" is about them
as much as "is django or flask more mature?", and "how do tests work in each one?" asks about
testing in both."""

ARTICLES = frozenset({"a", "an", "the"})
"""Skipped on either side of a choice word: "a macbook or a thinkpad" weighs the two nouns."""

Kind = Literal["answer", "not-sure", "intent", "project"]


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float


@dataclass(frozen=True)
class MatchResult:
    question: str
    best: Candidate | None
    alternatives: tuple[Candidate, ...]

    @property
    def confident(self) -> bool:
        return self.best is not None


@dataclass(frozen=True)
class Understanding:
    """What a message is, and everything needed to reply to it."""

    kind: Kind
    match: MatchResult
    intent: Intent | None = None
    reading: ProjectReading | None = None

    @property
    def question(self) -> str:
        return self.match.question


@dataclass(frozen=True)
class Ambiguity:
    """Two phrasings of different entries that read as the same question to the matcher."""

    first: Entry
    first_phrasing: str
    second: Entry
    second_phrasing: str
    score: float


class Matcher:
    """Reads messages against one knowledge base; build once, then call `understand` (or
    `match`, for the question part alone) per message."""

    def __init__(
        self,
        kb: KnowledgeBase,
        threshold: float | None = None,
        encoder: SentenceEncoder | Literal["shared"] | None = "shared",
    ) -> None:
        self.kb = kb
        self.encoder = shared_encoder() if encoder == "shared" else encoder
        if threshold is None:
            threshold = DEFAULT_THRESHOLD if self.encoder is not None else LEXICAL_ONLY_THRESHOLD
        self.threshold = threshold
        self._aliases: Mapping[str, str] = kb.aliases
        encoder_knows = self.encoder.is_word if self.encoder is not None else None

        def is_word(word: str) -> bool:
            return word in kb.names or (encoder_knows is not None and encoder_knows(word))

        self.lexical = LexicalScorer(kb, is_real_word=is_word)
        self.intents = IntentMatcher(kb.intents, self.encoder)
        self.reader = ProjectReader(kb.questionnaire, self._aliases)
        names = [text for f in kb.frameworks for text in (f.id, f.name)]
        self._anchors = [_stem_phrase(text) for text in (*names, *kb.anchors)]
        self._framework_stems = {
            framework.id: {stem(framework.id), stem(framework.name.lower())}
            for framework in kb.frameworks
        }
        self.mirrors = _mirror_entries(kb)
        self._keywords = _keyword_index(kb)
        self.retrieval = EntryRetrieval(kb)
        self._elsewhere = [_stem_phrase(text) for text in kb.elsewhere]
        self._other_stacks = [_stem_phrase(text) for text in kb.other_stacks]
        self._home = [_stem_phrase(text) for text in kb.home_languages]
        self._mentions = [
            (intent, [_stem_phrase(text) for text in intent.mentions])
            for intent in kb.intents
            if intent.mentions
        ]
        owners: list[int] = []
        texts: list[str] = []
        for index, entry in enumerate(kb.entries):
            for text in (entry.title, *entry.phrasings):
                owners.append(index)
                texts.append(text)
        # Each entry's texts are contiguous: reduceat takes each entry's best in one pass.
        owner_array = np.asarray(owners, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, owner_array[1:] != owner_array[:-1]])
        self._owner_starts = starts
        self._owner_ids = owner_array[starts] if len(owner_array) else owner_array
        self._vectors: Vectors | None = (
            columns(self.encoder.encode_known(texts))
            if self.encoder is not None and texts
            else None
        )

    def expand(self, text: str) -> str:
        """`text` as words, with the knowledge's abbreviations spelled out ("drf", "sqla")."""
        return " ".join(self._aliases.get(word, word) for word in words(text))

    def corrected(self, text: str) -> str:
        """`text` as words with typos corrected, so the semantic signal reads "autentication"
        as the lexical one does."""
        return " ".join(self.lexical.correct(word) for word in words(text))

    def _names_something_else(self, text: str, known: frozenset[str] = frozenset()) -> bool:
        """Whether `text` names something neither the knowledge (its words, the abbreviations it
        spells out, `known`) nor English knows: a product ("jira", "hubspot")."""
        if self.encoder is None:
            return False
        encoder = self.encoder
        return any(
            word not in known
            and word not in self._aliases
            and not self.lexical.knows(word)
            and not encoder.is_word(word)
            # An inflected word whose base form is a word, or one the knowledge knows, is a
            # word ("quizzes", "moderation", "resizes").
            and not any(
                encoder.is_word(base) or base in known or self.lexical.knows(base)
                for base in base_forms(word)
            )
            and self.lexical.correct(word) == word
            for word in content_words(text)
            if word.isalpha()
        )

    def anchored(self, text: str) -> bool:
        """Whether `text` names a framework or one of the knowledge's anchor words, or refers
        to the two frameworks ("which one is more mature?") without weighing two things of its
        own ("kafka or rabbitmq, which one?")."""
        stems = _stem_phrase(self.expand(text))
        if any(contains(stems, anchor) for anchor in self._anchors):
            return True
        return any(
            contains(stems, reference) for reference in _REFERENCE_STEMS
        ) and not self.weighs_other_things(text)

    def elsewhere(self, text: str, *, project: bool = False) -> bool:
        """Whether `text` names something of another world (the knowledge's `elsewhere`), or
        another web stack (`other_stacks`) and neither framework: "coming from rails, how do
        django migrations work?" is a question here. Read as a `project` description, another
        stack beside the frameworks' language (`home_languages`) is what the project leaves:
        "rewriting our php booking system... which python framework?" asks which of the two to
        move to."""
        return self.names_other_world(text) or self.names_other_stack(text, project=project)

    def names_other_world(self, text: str) -> bool:
        """Whether `text` names one of the knowledge's `elsewhere` phrases."""
        stems = _stem_phrase(self.expand(text))
        return any(contains(stems, phrase) for phrase in self._elsewhere)

    def names_other_stack(self, text: str, *, project: bool = False) -> bool:
        """Whether `text` names another web stack and neither framework (see `elsewhere`)."""
        stems = _stem_phrase(self.expand(text))
        if project and any(contains(stems, name) for name in self._home):
            return False
        # Referring to the two ("instead of either of these") names them.
        return (
            self.first_framework(text) is None
            and not any(contains(stems, reference) for reference in _REFERENCE_STEMS)
            and any(contains(stems, phrase) for phrase in self._other_stacks)
        )

    def weighs_other_things(self, text: str, *, beside_a_framework: bool = False) -> bool:
        """Whether `text` weighs two things against each other ("postgres or mysql", "kafka vs
        rabbitmq") neither of which is an anchor of this knowledge: the question is that
        choice, whatever else it shares with an entry. A message naming a framework weighs
        its own options ("strawberry or graphene for django?"), unless `beside_a_framework`."""
        if not beside_a_framework and self.first_framework(text) is not None:
            return False
        found = words(self.expand(text))
        for index, word in enumerate(found):
            if word not in CHOICE_WORDS:
                continue
            before = next((w for w in reversed(found[:index]) if w not in ARTICLES), "")
            after = next((w for w in found[index + 1 :] if w not in ARTICLES), "")
            pair = (before, after)
            if all(word not in STOPWORDS and len(word) > 2 for word in pair) and not any(
                self.anchored(word) for word in pair
            ):
                return True
        return False

    def understand(self, text: str, limit: int = 3) -> Understanding:
        """What `text` is: an intent, a project description, an answerable question, or not
        sure (with up to `limit` closest topics)."""
        result = self.match(text, limit)
        whole = result.question
        intent = self.small_talk(whole, result)
        if intent is not None:
            return Understanding("intent", result, intent=intent.intent)
        reading = self.reader.read(self.corrected(whole))
        named = self._intent_named(whole)
        if named is not None and len(reading.signals) < RICH_PROJECT_SIGNALS:
            return Understanding("intent", result, intent=named)
        sent_bare = not reading.asks_choice and self._sent_bare(whole, reading, result)
        if sent_bare or (not reading.asks_choice and self._asks_without_a_cue(whole, reading)):
            reading = replace(reading, asks_choice=True)
        anchored = self.anchored(whole)
        rich = len(reading.signals) >= RICH_PROJECT_SIGNALS
        if (
            reading.asks_choice
            and (rich or not self.weighs_other_things(whole, beside_a_framework=True))
            # A tool of another world in a description that reads as one here, twice over, is
            # what the project works with ("receives the webhook and opens a jira ticket"); a
            # rich one may name the stack its team leaves.
            and (
                rich
                or (
                    not self.names_other_stack(whole, project=True)
                    and (
                        not self.names_other_world(whole)
                        or (len(reading.signals) >= PROJECT_MIN_SIGNALS and anchored)
                    )
                )
            )
            and (
                # Unanchored, the choice asked about may be between products the knowledge
                # does not know ("hubspot or salesforce?").
                (
                    len(reading.signals) >= UNANCHORED_PROJECT_SIGNALS
                    # Sent as it is, a description has said enough already (`_sent_bare`).
                    and (sent_bare or reading.phrases >= UNANCHORED_PROJECT_PHRASES)
                    and not self.weighs_other_things(whole)
                    and (rich or not self._names_something_else(whole, self.reader.words))
                    and not self._answers_with_context(result, reading, dominant_only=True)
                )
                or (
                    len(reading.signals) >= PROJECT_MIN_SIGNALS
                    and anchored
                    and not self._answers_with_context(result, reading)
                )
                or (len(reading.signals) == 1 and not result.confident and anchored)
            )
        ):
            return Understanding("project", result, reading=reading)
        return Understanding("answer" if result.confident else "not-sure", result)

    def _intent_named(self, whole: str) -> Intent | None:
        """The intent whose subject one of the message's sentences names ("can i start the
        questionnaire over?", "how long is the recommend questionnaire?"): no entry is about the
        bot's own features."""
        found = [_stem_phrase(self.expand(sentence)) for sentence in sentences(whole)]
        for intent, mentions in self._mentions:
            if any(contains(stems, mention) for stems in found for mention in mentions):
                return intent
        return None

    def _asks_without_a_cue(self, whole: str, reading: ProjectReading) -> bool:
        """Whether a message that says no choice cue still asks which framework to pick: its
        closing ask, or a long description naming both frameworks and asking anything ("...we
        know both. Who wins?")."""
        if self._closes_asking(whole):
            return True
        return (
            _asks_anything(whole)
            and len(reading.signals) >= RICH_ASK_SIGNALS
            and len(self.frameworks_named(whole)) == len(self.kb.frameworks)
        )

    def _sent_bare(self, whole: str, reading: ProjectReading, result: MatchResult) -> bool:
        """Whether a message asking nothing is a description sent as it is, for the pick
        ("event ticketing site, organisers, refunds, a staff dashboard, launching in 2
        months"): it names BARE_SIGNALS answers, or two said in BARE_PHRASES ways, or two of
        which one says what the project is ("community forum for our users: threads,
        moderation tools"), and no topic answers it."""
        if self._closes_asking(whole) or _asks_anything(whole) or result.confident:
            return False
        signals = len(reading.signals)
        return signals >= BARE_SIGNALS or (
            signals >= PROJECT_MIN_SIGNALS
            and (
                reading.phrases >= BARE_PHRASES
                or any(signal.question.names_the_product for signal in reading.signals)
            )
        )

    def _closes_asking(self, whole: str) -> bool:
        """Whether the message's last sentence asks for the pick: a closing ask ("Framework?")
        or a short question naming a framework ("Flask?", "django i assume?", "flask enough?")."""
        found = sentences(whole)
        last = found[-1] if found else ""
        return bool(last) and (
            self.reader.is_closing_ask(last)
            or (
                last.endswith("?")
                and len(words(last)) <= CLOSING_QUESTION_WORDS
                and self.first_framework(last) is not None
            )
        )

    def _answers_with_context(
        self, result: MatchResult, reading: ProjectReading, *, dominant_only: bool = False
    ) -> bool:
        """Whether a topic answers the message well and what it says of a project is thin
        (few answers, each said once): "which framework would our bootcamp grads ramp up on
        faster?" is about the learning curve, its juniors and deadline only context."""
        return (
            result.best is not None
            and result.best.score >= self.threshold + STRONG_ANSWER_LEAD
            and (
                (reading.phrases <= THIN_READING_PHRASES and not dominant_only)
                or result.best.score >= self.threshold + DOMINANT_ANSWER_LEAD
            )
        )

    def small_talk(self, whole: str, result: MatchResult) -> IntentMatch | None:
        """The intent `whole` is, if it is small talk: the whole message close to an intent's
        examples, or, when no entry answers it, one clause close to them and a quiet rest."""
        intent = self.intents.match(whole)
        if _is_intent(intent, result):
            return intent
        found = self.intents.match_clauses(whole)
        if _one_intent_throughout(found, whole):
            return found[0]
        if result.confident:
            return None
        # "morning! i'm new here, what can you help with?" asks what the bot does.
        for clause in sorted(found, key=lambda clause: clause.intent.courtesy):
            if clause.score < INTENT_THRESHOLD:
                continue
            if self._quiet(clause.rest, clause.intent):
                return clause
        return None

    def _quiet(self, rest: str, intent: Intent) -> bool:
        """Whether the rest of a small-talk message says nothing the knowledge answers: few
        words besides the intent's own."""
        beyond = self.intents.words_beyond(intent, rest)
        return (
            len(beyond) <= QUIET_WORDS
            and (intent.courtesy or len(self.intents.words_beyond_every(rest)) <= ASIDE_WORDS)
            and not self.anchored(" ".join(beyond))
            and not self.weighs_other_things(rest)
            and not self.elsewhere(rest)
        )

    def match(self, text: str, limit: int = 3) -> MatchResult:
        """The best entry for `text` when confident, else the closest topics (<= limit)."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        cleaned = clean_lines(text)
        question = clean_text(cleaned)
        ranked = self.rank(cleaned, count=max(limit + 1, 2))
        top = ranked[0] if ranked else None
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        threshold = self.threshold
        if not self.anchored(question):
            threshold += UNANCHORED_EXTRA
            if self._names_something_else(question):
                threshold += FOREIGN_NAME_EXTRA
        if self.elsewhere(question):
            threshold += ELSEWHERE_EXTRA
        elif self.weighs_other_things(question):
            threshold += OTHER_CHOICE_EXTRA
        found = content_words(question)
        enough_words = len(found) >= MIN_CONTENT_WORDS or (
            len(found) == 1
            and found[0] not in self.kb.home_languages
            and self.anchored(self.lexical.correct(found[0]))
        )
        if top and enough_words and top.score >= threshold and top.score - runner_up >= MIN_MARGIN:
            return MatchResult(question, top, tuple(ranked[1 : 1 + limit]))
        return MatchResult(question, None, tuple(ranked[:limit]))

    def rank(self, cleaned: str, count: int, *, known: bool = False) -> list[Candidate]:
        """The `count` best entries scoring at least ALTERNATIVE_FLOOR, best first. `known`:
        the text is the knowledge's own (a phrasing), whose vectors may be remembered."""
        parts = self.scored_parts(cleaned)
        if not parts:
            return []
        entries = len(self.kb.entries)
        lexical = np.zeros((len(parts), entries), dtype=np.float32)
        for row, part in enumerate(parts):
            for index, score in self.lexical.scores(part).items():
                lexical[row, index] = score
        share = LEXICAL_SHARE if self.encoder is not None else 1.0
        semantic = self._semantic(parts, known)
        whole = share * lexical[0] + (1 - share) * 100 * semantic[0]
        # A sentence that scores above the whole message lifts an entry part of the way: the
        # rest of the message must agree, or one generic sentence ("what does each framework
        # give us") outbids the topic the message is about.
        best_parts = share * lexical.max(axis=0) + (1 - share) * 100 * semantic.max(axis=0)
        lift = np.maximum(best_parts - whole, 0.0)
        fused = (
            whole
            + SENTENCE_LIFT * lift
            + self.keyword_bonus(parts[0])
            + self.retrieval.shortfall([stem(word) for word in content_words(parts[0])])
        )
        scores = [float(score) for score in fused]
        self._order_mirrors(scores, self.first_framework(parts[0]))
        kept = [(score, -index) for index, score in enumerate(scores) if score >= ALTERNATIVE_FLOOR]
        return [
            Candidate(self.kb.entries[-negative], round(score, 1))
            for score, negative in heapq.nlargest(count, kept)
        ]

    def scored_parts(self, cleaned: str) -> list[str]:
        """The texts `rank` scores for a message: the whole, then its sentences, each with
        abbreviations spelled out and typos corrected."""
        parts = [self.corrected(self.expand(part)) for part in _parts(cleaned)]
        return [part for part in parts if content_words(part)]

    def keyword_bonus(self, text: str) -> npt.NDArray[np.float32]:
        """Per entry, what naming its keywords earns `text`: each keyword found gives its
        entries an equal share of one, and KEYWORD_BONUS times that (at most one) is added."""
        credit = np.zeros(len(self.kb.entries), dtype=np.float32)
        found = tuple(stem(word) for word in content_words(text))
        for start, first in enumerate(found):
            for keyword, owners in self._keywords.get(first, ()):
                if found[start : start + len(keyword)] == keyword:
                    credit[list(owners)] += 1.0 / len(owners)
        bonus: npt.NDArray[np.float32] = np.minimum(credit, 1.0, dtype=np.float32)
        bonus *= np.float32(KEYWORD_BONUS)
        return bonus

    def frameworks_named(self, text: str) -> set[str]:
        """The ids of the frameworks `text` names (abbreviations spelled out)."""
        stems = {stem(word) for word in words(self.expand(text))}
        return {framework for framework, own in self._framework_stems.items() if stems & own}

    def first_framework(self, text: str) -> str | None:
        """The id of the framework `text` names first (abbreviations spelled out), if any."""
        for word in words(self.expand(text)):
            word_stem = stem(word)
            for framework, stems in self._framework_stems.items():
                if word_stem in stems:
                    return framework
        return None

    def _order_mirrors(self, scores: list[float], first: str | None) -> None:
        """Give the higher score of each close mirror pair to the entry of `first`."""
        if first is None:
            return
        for own, other in self.mirrors.get(first, ()):
            if scores[own] < scores[other] <= scores[own] + MIRROR_MARGIN:
                scores[own], scores[other] = scores[other], scores[own]

    def _semantic(self, parts: list[str], known: bool = False) -> npt.NDArray[np.float32]:
        """Per part and entry, the best cosine (floored at 0) between the part and any of the
        entry's texts."""
        entries = len(self.kb.entries)
        best = np.zeros((len(parts), entries), dtype=np.float32)
        if self._vectors is None or self.encoder is None:
            return best
        vectors = self.encoder.encode_known(parts) if known else self.encoder.encode(parts)
        similarity = cosine(vectors, self._vectors)
        best[:, self._owner_ids] = np.maximum.reduceat(similarity, self._owner_starts, axis=1)
        return np.clip(best, 0.0, 1.0)


def _mirror_entries(kb: KnowledgeBase) -> dict[str, list[tuple[int, int]]]:
    """Per framework id, the (its entry, the other framework's entry) index pairs of entries
    whose titles differ only in the framework's name."""
    names = {framework.id: framework.name for framework in kb.frameworks}
    by_shape: dict[str, dict[str, int]] = {}
    for index, entry in enumerate(kb.entries):
        title_words = entry.title.split()
        named = [f for f, name in names.items() if name in title_words]
        if len(named) != 1:
            continue
        shape = " ".join("{}" if word == names[named[0]] else word for word in title_words)
        by_shape.setdefault(shape, {})[named[0]] = index
    mirrors: dict[str, list[tuple[int, int]]] = {}
    for group in by_shape.values():
        for framework, own in group.items():
            for other_framework, other in group.items():
                if other_framework != framework:
                    mirrors.setdefault(framework, []).append((own, other))
    return mirrors


def _keyword_index(
    kb: KnowledgeBase,
) -> dict[str, list[tuple[tuple[str, ...], tuple[int, ...]]]]:
    """Each keyword's content-word stems and the entries that list it, by its first stem."""
    owners: dict[tuple[str, ...], set[int]] = {}
    for index, entry in enumerate(kb.entries):
        for keyword in entry.keywords:
            stems = tuple(stem(word) for word in content_words(keyword))
            if stems:
                owners.setdefault(stems, set()).add(index)
    index_by_first: dict[str, list[tuple[tuple[str, ...], tuple[int, ...]]]] = {}
    for stems, entries in owners.items():
        index_by_first.setdefault(stems[0], []).append((stems, tuple(sorted(entries))))
    return index_by_first


def _one_intent_throughout(found: list[IntentMatch], whole: str) -> bool:
    """Whether every clause of `whole` is small talk of one intent ("what are you exactly? is
    this a chatgpt wrapper?"): then the message is that intent, whatever words of an entry it
    also holds."""
    return (
        len(found) >= 2
        and len(found) == len(clauses(whole))
        and len({match.intent.id for match in found}) == 1
        and all(match.score >= INTENT_THRESHOLD for match in found)
    )


QUESTION_WORDS = frozenset(
    {"how", "what", "whats", "which", "why", "where", "when", "who", "is", "are", "do", "does",
     "did", "anyone", "can", "could"}
)  # fmt: skip
"""Words that open a question, with or without its question mark ("how do i reset it"); not
"will", "has" or "should", which open a description's clauses as often ("will grow big")."""


def _asks_anything(text: str) -> bool:
    """Whether `text` asks a question: a question mark, or a sentence or clause that opens
    with a question word."""
    if "?" in text:
        return True
    return any((found := words(part)) and found[0] in QUESTION_WORDS for part in clauses(text))


def _is_intent(intent: IntentMatch | None, result: MatchResult) -> bool:
    if intent is None:
        return False
    if intent.score < (COVERED_INTENT_THRESHOLD if intent.others == 0 else INTENT_THRESHOLD):
        return False
    return result.best is None or intent.score >= result.best.score


def _stem_phrase(text: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in words(text))


_REFERENCE_STEMS = tuple(_stem_phrase(reference) for reference in REFERENCES)


def _parts(cleaned: str) -> list[str]:
    """The whole message, then its sentences when there are several."""
    whole = clean_text(cleaned)
    found = [part for part in sentences(cleaned) if len(content_words(part)) >= SENTENCE_MIN_WORDS]
    if len(found) <= 1:
        return [whole]
    return [whole, *found[:MAX_PARTS]]


def find_ambiguities(kb: KnowledgeBase, matcher: Matcher | None = None) -> list[Ambiguity]:
    """Phrasings that another entry reads almost as well as their own: asked as written, the
    rival scores at or above the threshold and within `AMBIGUITY_MARGIN` of the phrasing's own
    entry (or above it), so a user asking a little differently would see the other answer or
    "not sure". Highest score first; each pair of phrasings once."""
    matcher = matcher or Matcher(kb)
    lexical = matcher.lexical
    terms = {
        entry.id: [(p, lexical.question_terms(p)) for p in entry.phrasings] for entry in kb.entries
    }
    if matcher.encoder is not None:  # one batch for every phrasing, not one call each
        matcher.encoder.encode_known(
            [
                part
                for e in kb.entries
                for p in e.phrasings
                for part in matcher.scored_parts(clean_lines(p))
            ]
        )
    found: dict[frozenset[str], Ambiguity] = {}
    for entry in kb.entries:
        for phrasing, own_terms in terms[entry.id]:
            ranked = matcher.rank(clean_lines(phrasing), count=4, known=True)
            own = next((c.score for c in ranked if c.entry.id == entry.id), 0.0)
            for rival in ranked:
                if rival.entry.id == entry.id or rival.score < matcher.threshold:
                    continue
                if own - rival.score >= AMBIGUITY_MARGIN:
                    continue
                similar, score = max(
                    ((p, lexical.similarity(own_terms, t)) for p, t in terms[rival.entry.id]),
                    key=lambda pair: pair[1],
                )
                key = frozenset((phrasing, similar))
                if score >= AMBIGUITY_LIKENESS and key not in found:
                    found[key] = Ambiguity(entry, phrasing, rival.entry, similar, round(score, 1))
    return sorted(found.values(), key=lambda a: -a.score)


@dataclass(frozen=True)
class Misspelling:
    """A phrasing word that misspells a framework's name."""

    entry: Entry
    phrasing: str
    word: str
    name: str


def find_misspelled_names(kb: KnowledgeBase, matcher: Matcher | None = None) -> list[Misspelling]:
    """Phrasing words one edit from a framework's name that are no word of their own ("djnago").
    The matcher corrects such typos in messages, but a typo written into a phrasing becomes a
    known word, and a known word is never corrected: "what is djnago" would then stop meaning
    Django everywhere else."""
    matcher = matcher or Matcher(kb)
    encoder = matcher.encoder
    names = {name for f in kb.frameworks for name in (f.id, f.name.lower())}
    found: list[Misspelling] = []
    for entry in kb.entries:
        for phrasing in entry.phrasings:
            for word in words(phrasing):
                if word in names or word in kb.aliases or not word.isalpha() or len(word) < 4:
                    continue
                if encoder is not None and encoder.is_word(word):
                    continue
                close = [name for name in names if OSA.distance(word, name) == 1]
                if close:
                    found.append(Misspelling(entry, phrasing, word, close[0]))
    return found


MATCHERS_KEPT = 8
"""Matchers kept for the knowledge bases they were built for (see `matcher_for`)."""

_matchers: OrderedDict[int, tuple[KnowledgeBase, Matcher]] = OrderedDict()
_matchers_lock = threading.Lock()


def matcher_for(kb: KnowledgeBase) -> Matcher:
    """The default matcher of `kb`, built once per knowledge base: loading unchanged knowledge
    returns the same object (bot.knowledge.load_knowledge), so a reload that changed nothing,
    or a second app in the process, reuses the first one's matcher."""
    with _matchers_lock:
        kept = _matchers.get(id(kb))
        if kept is not None and kept[0] is kb:
            _matchers.move_to_end(id(kb))
            return kept[1]
    matcher = Matcher(kb)
    with _matchers_lock:
        _matchers[id(kb)] = (kb, matcher)
        while len(_matchers) > MATCHERS_KEPT:
            _matchers.popitem(last=False)
    return matcher
