"""Several people's questionnaire answers -> one explained team result, and where they disagree.

How answers combine is the knowledge's `questionnaire.team` rule, never Python: `sum` adds up
each person's score, `majority` counts each question once with the answer most people gave.
Both come down to one number per chosen option: how much of the team stands behind it (the
number of people who chose it for `sum`; 1 for the majority answer, or a share of 1 for tied
answers, for `majority`). The team's score for a framework is the sum of those numbers times
the option's weights, so each person's answers are checked and normalised by the advisor, and
the team result can be recomputed for "what if the team agreed on this answer".

The advisor supplies everything that is not arithmetic: the normalised answers, each person's
own recommendation, the companies (from the advisor's pick for answers that lead to the same
framework) and, when no agreement would change the result, its single-answer counterfactual.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.advisor import (
    AnswerError,
    Answers,
    Flip,
    FrameworkScore,
    Recommendation,
    advise,
    validate_answers,
)
from bot.knowledge import Company, Framework, KnowledgeBase, Option, Question, TeamRule

_SCORE_DIGITS = 9
MAX_DRIVERS = 3

NormalisedAnswers = Mapping[str, tuple[str, ...]]
Verdict = Literal["clear", "close"]


class NoTeamRule(ValueError):
    """The knowledge says nothing about how a team's answers combine."""


@dataclass(frozen=True)
class AnswerGroup:
    """One answer to a question and the people who gave it."""

    options: tuple[Option, ...]
    people: tuple[str, ...]


@dataclass(frozen=True)
class Standing:
    """A team result: who leads, by how much, and whether that is a clear choice."""

    scores: tuple[FrameworkScore, ...]
    margin: float
    verdict: Verdict

    @property
    def winner(self) -> Framework:
        return self.scores[0].framework

    @property
    def runner_up(self) -> Framework:
        return self.scores[1].framework

    @property
    def tied(self) -> bool:
        return self.margin == 0


@dataclass(frozen=True)
class Agreement:
    """What the team result would be if everyone gave `options` to one question."""

    options: tuple[Option, ...]
    standing: Standing
    swing: float
    """How far this moves the current winner's lead (negative: it shrinks, or flips)."""


@dataclass(frozen=True)
class Disagreement:
    """A question the team answered differently: who chose what, and what agreeing would do."""

    question: Question
    groups: tuple[AnswerGroup, ...]
    """Most people first; equal groups keep the questionnaire's option order."""
    agreements: tuple[Agreement, ...]
    """One per answer someone gave, the one that moves the result most first."""

    @property
    def weight(self) -> float:
        """How much this question can move the result: the largest swing of agreeing on it."""
        return max((abs(a.swing) for a in self.agreements), default=0.0)


@dataclass(frozen=True)
class TeamContribution:
    """One answer some of the team gave, and how far it moved the winner ahead (or behind)."""

    question: Question
    option: Option
    people: tuple[str, ...]
    points: float


@dataclass(frozen=True)
class TeamRecommendation:
    rule: TeamRule
    people: tuple[str, ...]
    """Who answered, in the order they first answered."""
    standing: Standing
    reasons: tuple[TeamContribution, ...]
    """Answers that favoured the winner, strongest first."""
    against: tuple[TeamContribution, ...]
    """Answers that favoured the runner-up, strongest first."""
    give_up: tuple[str, ...]
    disagreements: tuple[Disagreement, ...]
    """The questions answered differently, the one that matters most first."""
    turning_point: tuple[Question, Agreement] | None
    """The agreement that would change the winner by the widest lead, if any would."""
    flip: Flip | None
    """With no turning point: the advisor's single changed answer for the team's majority
    answers that would change the result."""
    companies: tuple[Company, ...]
    drivers: tuple[Question, ...]
    """The questions that weighed most in the result."""
    ties: tuple[Question, ...]
    """majority: the questions where the most-given answers tied."""
    individual: Mapping[str, Recommendation]
    """Each person's own recommendation."""
    answers: Mapping[str, NormalisedAnswers]
    """Each person's normalised answers."""

    @property
    def winner(self) -> Framework:
        return self.standing.winner

    @property
    def runner_up(self) -> Framework:
        return self.standing.runner_up

    @property
    def single_voice(self) -> bool:
        """Only one person answered: never a team verdict."""
        return len(self.people) == 1


def team_rule(kb: KnowledgeBase) -> TeamRule:
    rule = kb.questionnaire.team
    if rule is None:
        raise NoTeamRule(
            "the knowledge has no questionnaire.team rule saying how a team's answers combine"
        )
    return rule


def _counts(
    kb: KnowledgeBase, rule: TeamRule, ballots: Mapping[str, NormalisedAnswers]
) -> dict[tuple[str, str], float]:
    """(question id, option id) -> how much of the team stands behind that option."""
    counts: dict[tuple[str, str], float] = {}
    people = len(ballots)
    for question in kb.questionnaire.questions:
        chosen = Counter(o for answers in ballots.values() for o in answers[question.id])
        if rule.combine == "sum":
            for option_id, count in chosen.items():
                counts[(question.id, option_id)] = float(count)
        elif question.kind == "multiple":
            for option_id, count in chosen.items():
                if count / people >= rule.multiple_choice_share:
                    counts[(question.id, option_id)] = 1.0
        else:
            top = max(chosen.values())
            tied = [option_id for option_id, count in chosen.items() if count == top]
            for option_id in tied:
                counts[(question.id, option_id)] = 1.0 / len(tied)
    return counts


def _standing(
    kb: KnowledgeBase, rule: TeamRule, ballots: Mapping[str, NormalisedAnswers]
) -> Standing:
    counts = _counts(kb, rule, ballots)
    options = {(q.id, o.id): o for q in kb.questionnaire.questions for o in q.options}
    scores = [
        FrameworkScore(
            framework,
            round(
                math.fsum(
                    count * options[key].weights.get(framework.id, 0.0)
                    for key, count in counts.items()
                ),
                _SCORE_DIGITS,
            ),
        )
        for framework in kb.frameworks
    ]
    ranked = tuple(sorted(scores, key=lambda s: -s.score))
    margin = round(ranked[0].score - ranked[1].score, _SCORE_DIGITS)
    # A sum over n people is n times one person's scale: the close-call line scales with it.
    scale = len(ballots) if rule.combine == "sum" else 1
    verdict: Verdict = "close" if margin < kb.questionnaire.close_call_margin * scale else "clear"
    return Standing(ranked, margin, verdict)


def _lead(standing: Standing, winner: Framework, runner_up: Framework) -> float:
    by_id = {s.framework.id: s.score for s in standing.scores}
    return by_id[winner.id] - by_id[runner_up.id]


def _groups(
    question: Question, ballots: Mapping[str, NormalisedAnswers]
) -> tuple[AnswerGroup, ...]:
    by_answer: dict[tuple[str, ...], list[str]] = {}
    for person, answers in ballots.items():
        by_answer.setdefault(answers[question.id], []).append(person)
    order = [o.id for o in question.options]
    ranked = sorted(
        by_answer.items(),
        key=lambda item: (-len(item[1]), [order.index(i) for i in item[0]]),
    )
    return tuple(
        AnswerGroup(tuple(o for o in question.options if o.id in answer), tuple(people))
        for answer, people in ranked
    )


def _disagreements(
    kb: KnowledgeBase,
    rule: TeamRule,
    ballots: Mapping[str, NormalisedAnswers],
    current: Standing,
) -> tuple[Disagreement, ...]:
    found: list[Disagreement] = []
    lead_now = current.margin
    for question in kb.questionnaire.questions:
        groups = _groups(question, ballots)
        if len(groups) < 2:
            continue
        agreements: list[Agreement] = []
        for group in groups:
            answer = tuple(o.id for o in group.options)
            agreed = {
                person: {**answers, question.id: answer} for person, answers in ballots.items()
            }
            standing = _standing(kb, rule, agreed)
            swing = round(
                _lead(standing, current.winner, current.runner_up) - lead_now, _SCORE_DIGITS
            )
            agreements.append(Agreement(group.options, standing, swing))
        agreements.sort(key=lambda a: -abs(a.swing))
        found.append(Disagreement(question, groups, tuple(agreements)))
    found.sort(key=lambda d: -d.weight)
    return tuple(found)


def _contributions(
    kb: KnowledgeBase,
    ballots: Mapping[str, NormalisedAnswers],
    counts: Mapping[tuple[str, str], float],
    winner: Framework,
    runner_up: Framework,
) -> list[TeamContribution]:
    found = []
    for question in kb.questionnaire.questions:
        for option in question.options:
            count = counts.get((question.id, option.id), 0.0)
            if not count:
                continue
            gap = option.weights.get(winner.id, 0.0) - option.weights.get(runner_up.id, 0.0)
            people = tuple(p for p, answers in ballots.items() if option.id in answers[question.id])
            found.append(
                TeamContribution(question, option, people, round(count * gap, _SCORE_DIGITS))
            )
    return found


def _majority_answers(
    kb: KnowledgeBase, ballots: Mapping[str, NormalisedAnswers]
) -> dict[str, tuple[str, ...]]:
    """Each question's most-given answer (ties: the questionnaire's order): the one set of
    answers that speaks for the team, for the advisor's companies and counterfactual."""
    return {
        q.id: tuple(o.id for o in _groups(q, ballots)[0].options)
        for q in kb.questionnaire.questions
    }


def _companies(winner: Framework, candidates: Sequence[Recommendation]) -> tuple[Company, ...]:
    """The advisor's companies from the first recommendation that chose the team's winner."""
    for recommendation in candidates:
        if recommendation.winner.id == winner.id and recommendation.companies:
            return recommendation.companies
    return ()


def decide(kb: KnowledgeBase, ballots: Mapping[str, Answers]) -> TeamRecommendation:
    """The team's result for each person's complete answers (person -> answers, in the order
    they answered). Raises AnswerError for a person whose answers do not fit the
    questionnaire, NoTeamRule without a rule, and ValueError for no answers at all."""
    if not ballots:
        raise ValueError("a team result needs at least one person's answers")
    rule = team_rule(kb)
    normalised = {
        person: validate_answers(kb.questionnaire, answers) for person, answers in ballots.items()
    }
    individual = {person: advise(kb, answers) for person, answers in normalised.items()}
    standing = _standing(kb, rule, normalised)
    winner, runner_up = standing.winner, standing.runner_up
    counts = _counts(kb, rule, normalised)
    contributions = _contributions(kb, normalised, counts, winner, runner_up)
    reasons = sorted((c for c in contributions if c.points > 0), key=lambda c: -c.points)
    against = sorted((c for c in contributions if c.points < 0), key=lambda c: c.points)
    weight: dict[str, float] = {}
    for contribution in contributions:
        weight[contribution.question.id] = weight.get(contribution.question.id, 0.0) + abs(
            contribution.points
        )
    drivers = sorted(
        (q for q in kb.questionnaire.questions if weight.get(q.id)),
        key=lambda q: -weight[q.id],
    )[:MAX_DRIVERS]
    disagreements = _disagreements(kb, rule, normalised, standing)
    turning = [
        (d.question, a)
        for d in disagreements
        for a in d.agreements
        if a.standing.winner.id != winner.id
    ]
    turning_point = max(turning, key=lambda qa: qa[1].standing.margin, default=None)
    majority = advise(kb, _majority_answers(kb, normalised))
    ties: tuple[Question, ...] = ()
    if rule.combine == "majority":
        ties = tuple(
            q
            for q in kb.questionnaire.questions
            if q.kind == "single"
            and len(groups := _groups(q, normalised)) > 1
            and len(groups[0].people) == len(groups[1].people)
        )
    return TeamRecommendation(
        rule=rule,
        people=tuple(normalised),
        standing=standing,
        reasons=tuple(reasons),
        against=tuple(against),
        give_up=runner_up.strengths,
        disagreements=disagreements,
        turning_point=turning_point,
        flip=majority.flip if turning_point is None and majority.winner.id == winner.id else None,
        companies=_companies(winner, [majority, *individual.values()]),
        drivers=tuple(drivers),
        ties=ties,
        individual=individual,
        answers=normalised,
    )


def decide_fitting(
    kb: KnowledgeBase, ballots: Mapping[str, Answers]
) -> tuple[TeamRecommendation | None, tuple[str, ...]]:
    """The team result of the answers that fit the questionnaire as it is now, and who was
    left out because theirs no longer do (the knowledge changed since they answered). None
    while nobody's answers count."""
    fitting: dict[str, Answers] = {}
    left_out: list[str] = []
    for person, answers in ballots.items():
        try:
            validate_answers(kb.questionnaire, answers)
        except AnswerError:
            left_out.append(person)
            continue
        fitting[person] = answers
    return (decide(kb, fitting) if fitting else None), tuple(left_out)
