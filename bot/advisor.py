"""Questionnaire answers -> an explained recommendation.

Everything framework-specific (names, weights, reason sentences, companies) comes from the
knowledge base; this module only does arithmetic on it, so adding a framework is a YAML change.
The result is explained three ways: the answers that decided it (and those that argued the other
way), the single answer that would have changed it, and companies that made the same choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.knowledge import Company, Framework, KnowledgeBase, Option, Question, Questionnaire

Answers = Mapping[str, str | Sequence[str]]
"""Question id -> option id, or option ids for a multiple-choice question (a list, or one
comma-separated string such as "auth,forms")."""

MAX_COMPANIES = 3
MIN_COMPANIES = 2

# Scores are rounded so that float noise (0.1 + 0.2) can never break a tie that the curators
# wrote as a tie.
_SCORE_DIGITS = 9


@dataclass(frozen=True)
class AnswerProblem:
    """One thing wrong with a set of answers; `question` is None for an unknown question id."""

    question: Question | None
    given: str | None
    message: str

    def __str__(self) -> str:
        if self.question is None:
            return f"{self.given!r}: {self.message}"
        return (
            f"{self.question.id} ({self.question.prompt!r}): {self.message}. "
            f"{_choose_phrase(self.question)}: {describe_options(self.question)}"
        )


class AnswerError(ValueError):
    """Raised with every problem in a set of answers, not only the first."""

    def __init__(self, problems: list[AnswerProblem]) -> None:
        self.problems = problems
        count = len(problems)
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} with the answers:\n{listing}")


def describe_options(question: Question) -> str:
    """The valid options of a question as `id (label)` pairs, for error messages and prompts."""
    return ", ".join(f"{option.id} ({option.label})" for option in question.options)


def _choose_phrase(question: Question) -> str:
    return "Choose one of" if question.kind == "single" else "Choose one or more of"


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip(" ,")
    if isinstance(value, Sequence):
        return all(_is_blank(item) for item in value)
    return False


def missing_questions(questionnaire: Questionnaire, answers: Answers) -> list[Question]:
    """The questions with no answer yet (absent or blank), in questionnaire order."""
    return [q for q in questionnaire.questions if _is_blank(answers.get(q.id))]


def _option_ids(value: object) -> list[str] | None:
    """Split an answer into option ids; None when it is neither text nor a list of text."""
    if isinstance(value, str):
        items: Sequence[object] = [value]
    elif isinstance(value, Sequence):
        items = value
    else:
        return None
    ids: list[str] = []
    for item in items:
        if not isinstance(item, str):
            return None
        ids.extend(part.strip() for part in item.split(",") if part.strip())
    return ids


def _check_answer(question: Question, value: object) -> tuple[tuple[str, ...], list[AnswerProblem]]:
    """Normalise one answer (option ids in questionnaire order) and list what is wrong with it."""
    if _is_blank(value):
        return (), [AnswerProblem(question, None, "is not answered")]
    ids = _option_ids(value)
    if ids is None:
        message = "must be an option id or a list of option ids"
        return (), [AnswerProblem(question, repr(value), message)]
    problems: list[AnswerProblem] = []
    known = [option.id for option in question.options]
    for unknown in dict.fromkeys(i for i in ids if i not in known):
        problems.append(AnswerProblem(question, unknown, f"{unknown!r} is not one of its options"))
    repeated = [i for i in dict.fromkeys(ids) if ids.count(i) > 1]
    if repeated:
        names = ", ".join(repr(i) for i in repeated)
        problems.append(AnswerProblem(question, ",".join(ids), f"repeats {names}"))
    alone = [o.id for o in question.options if o.exclusive and o.id in ids]
    if question.kind == "multiple" and alone and len(dict.fromkeys(ids)) > 1:
        message = f"{alone[0]!r} cannot be combined with other options"
        problems.append(AnswerProblem(question, ",".join(ids), message))
    if question.kind == "single" and len(dict.fromkeys(ids)) > 1:
        names = ", ".join(repr(i) for i in ids)
        message = f"takes exactly one option, not {len(ids)} ({names})"
        problems.append(AnswerProblem(question, ",".join(ids), message))
    return tuple(i for i in known if i in ids), problems


def validate_answers(questionnaire: Questionnaire, answers: Answers) -> dict[str, tuple[str, ...]]:
    """Check every answer and return them normalised: each question id -> its option ids in
    questionnaire order (exactly one for a single-choice question). Raises AnswerError."""
    problems: list[AnswerProblem] = []
    known_questions = [q.id for q in questionnaire.questions]
    for question_id in answers:
        if question_id not in known_questions:
            message = f"is not a question; the questions are {', '.join(known_questions)}"
            problems.append(AnswerProblem(None, str(question_id), message))
    normalised: dict[str, tuple[str, ...]] = {}
    for question in questionnaire.questions:
        option_ids, found = _check_answer(question, answers.get(question.id))
        problems.extend(found)
        normalised[question.id] = option_ids
    if problems:
        raise AnswerError(problems)
    return normalised


@dataclass(frozen=True)
class Contribution:
    question: Question
    option: Option
    points: float
    """Signed: how far this answer moved the winner ahead of the runner-up (negative: behind)."""


@dataclass(frozen=True)
class FrameworkScore:
    framework: Framework
    score: float


@dataclass(frozen=True)
class Flip:
    """The single changed answer that would make `new_winner` the recommendation."""

    question: Question
    current: tuple[Option, ...]
    alternative: tuple[Option, ...]
    new_winner: Framework
    margin: float = 0.0
    """How far `new_winner` would lead with the changed answer."""

    @property
    def added(self) -> tuple[Option, ...]:
        return tuple(option for option in self.alternative if option not in self.current)

    @property
    def removed(self) -> tuple[Option, ...]:
        return tuple(option for option in self.current if option not in self.alternative)


@dataclass(frozen=True)
class Recommendation:
    winner: Framework
    runner_up: Framework
    scores: tuple[FrameworkScore, ...]
    """Highest first; equal scores keep the frameworks' order in the knowledge."""
    margin: float
    verdict: Literal["clear", "close"]
    reasons: tuple[Contribution, ...]
    """Answers that favoured the winner over the runner-up, strongest first."""
    against: tuple[Contribution, ...]
    """Answers that favoured the runner-up, strongest first."""
    give_up: tuple[str, ...]
    flip: Flip | None
    """None: no single changed answer would change the recommendation."""
    companies: tuple[Company, ...]
    answers: dict[str, tuple[str, ...]]


def _chosen(questionnaire: Questionnaire, answers: Mapping[str, tuple[str, ...]]) -> list[Option]:
    return [
        option
        for question in questionnaire.questions
        for option in question.options
        if option.id in answers[question.id]
    ]


def _rank(frameworks: Sequence[Framework], chosen: list[Option]) -> tuple[FrameworkScore, ...]:
    scores = [
        FrameworkScore(
            framework,
            round(math.fsum(o.weights.get(framework.id, 0.0) for o in chosen), _SCORE_DIGITS),
        )
        for framework in frameworks
    ]
    # sorted() is stable, so equal scores keep the knowledge order: ties are deterministic.
    return tuple(sorted(scores, key=lambda s: -s.score))


def _points(option: Option, winner: Framework, runner_up: Framework) -> float:
    gap = option.weights.get(winner.id, 0.0) - option.weights.get(runner_up.id, 0.0)
    return round(gap, _SCORE_DIGITS)


def _contributions(
    questionnaire: Questionnaire,
    answers: Mapping[str, tuple[str, ...]],
    winner: Framework,
    runner_up: Framework,
) -> list[Contribution]:
    """One contribution per chosen option, in questionnaire order."""
    return [
        Contribution(question, option, _points(option, winner, runner_up))
        for question in questionnaire.questions
        for option in question.options
        if option.id in answers[question.id]
    ]


def _variants(question: Question, current: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Every answer one step away: another option for a single-choice question; one option
    added or removed for a multiple-choice one (never leaving it empty), where an exclusive
    option replaces the whole answer."""
    exclusive = {o.id for o in question.options if o.exclusive}
    for option in question.options:
        if question.kind == "single" or (option.id in exclusive) or (set(current) & exclusive):
            if option.id not in current:
                yield (option.id,)
        elif option.id in current:
            if len(current) > 1:
                yield tuple(i for i in current if i != option.id)
        else:
            yield tuple(o.id for o in question.options if o.id in current or o.id == option.id)


def _find_flip(
    kb: KnowledgeBase,
    answers: Mapping[str, tuple[str, ...]],
    winner: Framework,
    contributions: list[Contribution],
) -> Flip | None:
    """The flipping change on the question that weighed most in the current result; ties go to
    the change that gives the new winner the larger lead, then to questionnaire order."""
    questionnaire = kb.questionnaire
    weight_of: dict[str, float] = {}
    for contribution in contributions:
        question_id = contribution.question.id
        weight_of[question_id] = weight_of.get(question_id, 0.0) + contribution.points
    best: tuple[tuple[float, float, int, int], Flip] | None = None
    for q_index, question in enumerate(questionnaire.questions):
        current = answers[question.id]
        for v_index, variant in enumerate(_variants(question, current)):
            changed = {**answers, question.id: variant}
            scores = _rank(kb.frameworks, _chosen(questionnaire, changed))
            if scores[0].framework.id == winner.id:
                continue
            margin = round(scores[0].score - scores[1].score, _SCORE_DIGITS)
            key = (-abs(round(weight_of.get(question.id, 0.0), _SCORE_DIGITS)), -margin)
            rank = (*key, q_index, v_index)
            if best is None or rank < best[0]:
                flip = Flip(
                    question=question,
                    current=_options(question, current),
                    alternative=_options(question, variant),
                    new_winner=scores[0].framework,
                    margin=margin,
                )
                best = (rank, flip)
    return best[1] if best is not None else None


def _options(question: Question, option_ids: tuple[str, ...]) -> tuple[Option, ...]:
    return tuple(option for option in question.options if option.id in option_ids)


def _pick_companies(kb: KnowledgeBase, winner: Framework, traits: set[str]) -> tuple[Company, ...]:
    """The winner's companies that share most traits with the answers, knowledge order on ties.
    Companies without traits are ones the curators chose not to feature: they only fill in when
    fewer than MIN_COMPANIES featured ones exist."""
    own = kb.companies_using(winner.id)
    featured = sorted(
        (company for company in own if company.traits),
        key=lambda company: -len(traits.intersection(company.traits)),
    )
    picked = featured[:MAX_COMPANIES]
    if len(picked) < MIN_COMPANIES:
        picked += [company for company in own if not company.traits][: MIN_COMPANIES - len(picked)]
    return tuple(picked)


def advise(kb: KnowledgeBase, answers: Answers) -> Recommendation:
    """Turn questionnaire answers into an explained recommendation. Raises AnswerError."""
    questionnaire = kb.questionnaire
    normalised = validate_answers(questionnaire, answers)
    chosen = _chosen(questionnaire, normalised)
    scores = _rank(kb.frameworks, chosen)
    winner, runner_up = scores[0].framework, scores[1].framework
    margin = round(scores[0].score - scores[1].score, _SCORE_DIGITS)
    contributions = _contributions(questionnaire, normalised, winner, runner_up)
    # sorted() is stable: equal points keep questionnaire order.
    reasons = sorted((c for c in contributions if c.points > 0), key=lambda c: -c.points)
    against = sorted((c for c in contributions if c.points < 0), key=lambda c: c.points)
    traits = {trait for option in chosen for trait in option.traits}
    return Recommendation(
        winner=winner,
        runner_up=runner_up,
        scores=scores,
        margin=margin,
        verdict="close" if margin < questionnaire.close_call_margin else "clear",
        reasons=tuple(reasons),
        against=tuple(against),
        give_up=runner_up.strengths,
        flip=_find_flip(kb, normalised, winner, contributions),
        companies=_pick_companies(kb, winner, traits),
        answers=normalised,
    )


@dataclass(frozen=True)
class Lean:
    """Where some answers point before the questionnaire is finished (answers read from a
    project description): never a verdict, since the missing answers could outweigh them."""

    leader: Framework | None
    """None when the answers given weigh the same for every framework."""
    scores: tuple[FrameworkScore, ...]
    reasons: tuple[Contribution, ...]
    """Answers that favoured the leader, strongest first."""
    against: tuple[Contribution, ...]
    unanswered: tuple[Question, ...]
    """What the answers do not say, in questionnaire order."""
    companies: tuple[Company, ...]
    answers: dict[str, tuple[str, ...]]
    """The answers the lean stands on: question id -> option ids, in questionnaire order."""


def lean(kb: KnowledgeBase, answers: Mapping[str, Sequence[str]]) -> Lean:
    """The lean of partial answers. Answers to unknown questions or options are ignored (they
    come from reading text, not from a person choosing), as are conflicting multiple choices."""
    questionnaire = kb.questionnaire
    known: dict[str, tuple[str, ...]] = {}
    for question in questionnaire.questions:
        given = answers.get(question.id)
        if not given:
            continue
        option_ids, problems = _check_answer(question, list(given))
        if option_ids and not problems:
            known[question.id] = option_ids
    complete = {q.id: known.get(q.id, ()) for q in questionnaire.questions}
    chosen = _chosen(questionnaire, complete)
    scores = _rank(kb.frameworks, chosen)
    tied = scores[0].score == scores[1].score
    leader, runner_up = scores[0].framework, scores[1].framework
    contributions = _contributions(questionnaire, complete, leader, runner_up)
    reasons = sorted((c for c in contributions if c.points > 0), key=lambda c: -c.points)
    against = sorted((c for c in contributions if c.points < 0), key=lambda c: c.points)
    traits = {trait for option in chosen for trait in option.traits}
    return Lean(
        leader=None if tied else leader,
        scores=scores,
        reasons=tuple(reasons),
        against=tuple(against),
        unanswered=tuple(q for q in questionnaire.questions if q.id not in known),
        companies=() if tied else _pick_companies(kb, leader, traits),
        answers=known,
    )
