"""The advisor: scores, verdict, reasons, the flip, company examples and answer validation, on a
small three-framework knowledge base written here, then a few checks on the shipped one."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.advisor import (
    AnswerError,
    Recommendation,
    _variants,
    advise,
    missing_questions,
    validate_answers,
)
from bot.knowledge import KnowledgeBase, load_knowledge

SOURCES = """\
sources:
  - id: docs
    title: The docs
    url: https://example.com/docs
  - id: blog
    title: A blog post
    url: https://example.com/blog
"""

ALPHA = """\
  - id: alpha
    name: Alpha
    summary: A big framework.
    architecture: MVT
    strengths: [Batteries included, An admin for free]
    trade_offs: [Heavier]
    sources: [docs]
"""
BETA = """\
  - id: beta
    name: Beta
    summary: A small framework.
    architecture: None imposed
    strengths: [Freedom to pick parts, Small core]
    trade_offs: [More assembly]
    sources: [docs]
"""
GAMMA = """\
  - id: gamma
    name: Gamma
    summary: A fast framework.
    architecture: Async
    strengths: [Raw speed]
    trade_offs: [Young ecosystem]
    sources: [docs]
"""

TRAITS = """\
traits:
  - {id: lean, label: Lean team}
  - {id: scale, label: Large scale}
  - {id: api-first, label: API-first}
  - {id: content, label: Content-heavy}
  - {id: fast, label: Latency-sensitive}
"""

COMPANIES = """\
companies:
  - {id: a-blog, name: Alpha Blog, framework: alpha, use: Blogs, traits: [content], sources: [docs]}
  - {id: a-scale, name: Alpha Scale, framework: alpha, use: Scale, traits: [scale], sources: [docs]}
  - {id: a-api, name: Alpha API, framework: alpha, use: APIs, traits: [api-first], sources: [docs]}
  - {id: a-quiet, name: Alpha Quiet, framework: alpha, use: Unclear, sources: [blog]}
  - id: a-mixed
    name: Alpha Mixed
    framework: alpha
    use: APIs at scale
    traits: [api-first, scale]
    sources: [docs]
  - {id: b-lean, name: Beta Lean, framework: beta, use: Tools, traits: [lean], sources: [docs]}
  - {id: b-quiet, name: Beta Quiet, framework: beta, use: Unclear, sources: [blog]}
  - {id: b-api, name: Beta API, framework: beta, use: APIs, traits: [api-first], sources: [docs]}
  - {id: g-fast, name: Gamma Fast, framework: gamma, use: Trading, traits: [fast], sources: [docs]}
  - {id: g-quiet, name: Gamma Quiet, framework: gamma, use: Unclear, sources: [blog]}
"""

QUESTIONNAIRE = """\
questionnaire:
  close_call_margin: 2
  questions:
    - id: size
      prompt: How big is the project?
      options:
        - {id: small, label: Small, weights: {beta: 3}, reason: Beta for small., traits: [lean]}
        - {id: medium, label: Medium, weights: {alpha: 1, beta: 1}, reason: Either fits.}
        - {id: large, label: Large, weights: {alpha: 3}, reason: Alpha for large., traits: [scale]}
    - id: style
      prompt: What are you building?
      options:
        - {id: api, label: An API, weights: {beta: 2}, reason: Beta for APIs., traits: [api-first]}
        - {id: site, label: A site, weights: {alpha: 2}, reason: Alpha for site., traits: [content]}
        - {id: both, label: Both, reason: No preference.}
    - id: needs
      prompt: What do you need built in?
      kind: multiple
      options:
        - {id: admin, label: An admin, weights: {alpha: 2}, reason: Alpha has an admin.}
        - {id: auth, label: Logins, weights: {alpha: 1}, reason: Alpha has auth.}
        - {id: extensions, label: Extensions, weights: {beta: 1}, reason: Beta has extensions.}
    - id: speed
      prompt: How much does raw speed matter?
      options:
        - {id: critical, label: Vital, weights: {gamma: 5}, reason: Gamma., traits: [fast]}
        - {id: normal, label: Normal, reason: Any will do.}
"""

# Score sheets for the answers below (alpha, beta, gamma):
CLEAR_ALPHA = {"size": "large", "style": "site", "needs": ["admin", "auth"], "speed": "normal"}
CLEAR_BETA = {"size": "small", "style": "api", "needs": ["extensions"], "speed": "normal"}
CLEAR_GAMMA = {"size": "medium", "style": "both", "needs": "extensions", "speed": "critical"}
CLOSE_ALPHA = {"size": "medium", "style": "site", "needs": "extensions", "speed": "normal"}
TIE = {"size": "medium", "style": "both", "needs": "auth,extensions", "speed": "normal"}
CLOSE_BETA = {"size": "medium", "style": "both", "needs": "extensions", "speed": "normal"}
CLOSE_ALPHA_BY_ADMIN = {
    "size": "medium",
    "style": "both",
    "needs": "admin,extensions",
    "speed": "normal",
}

KnowledgeDir = Callable[..., Path]


def build(knowledge_dir: KnowledgeDir, frameworks: tuple[str, ...] = (ALPHA, BETA, GAMMA)):
    folder = knowledge_dir(
        sources=SOURCES,
        frameworks="frameworks:\n" + "".join(frameworks) + TRAITS,
        companies=COMPANIES if GAMMA in frameworks else _without_gamma(COMPANIES),
        questionnaire=QUESTIONNAIRE if GAMMA in frameworks else _without_gamma(QUESTIONNAIRE),
    )
    return load_knowledge(folder)


def _without_gamma(text: str) -> str:
    """The same YAML for a knowledge base without the third framework."""
    kept = [line for line in text.splitlines() if "framework: gamma" not in line]
    return "\n".join(kept).replace("weights: {gamma: 5}", "weights: {}") + "\n"


@pytest.fixture
def example(knowledge_dir: KnowledgeDir) -> KnowledgeBase:
    return build(knowledge_dir)


def ids(items) -> list[str]:
    return [item.id for item in items]


@pytest.mark.parametrize(
    ("answers", "winner", "runner_up", "scores", "verdict"),
    [
        (CLEAR_ALPHA, "alpha", "beta", [("alpha", 8), ("beta", 0), ("gamma", 0)], "clear"),
        (CLEAR_BETA, "beta", "alpha", [("beta", 6), ("alpha", 0), ("gamma", 0)], "clear"),
        (CLEAR_GAMMA, "gamma", "beta", [("gamma", 5), ("beta", 2), ("alpha", 1)], "clear"),
        (CLOSE_ALPHA, "alpha", "beta", [("alpha", 3), ("beta", 2), ("gamma", 0)], "close"),
        (CLOSE_BETA, "beta", "alpha", [("beta", 2), ("alpha", 1), ("gamma", 0)], "close"),
        (TIE, "alpha", "beta", [("alpha", 2), ("beta", 2), ("gamma", 0)], "close"),
    ],
)
def test_scores_winner_and_verdict(
    example: KnowledgeBase,
    answers: dict,
    winner: str,
    runner_up: str,
    scores: list[tuple[str, float]],
    verdict: str,
) -> None:
    result = advise(example, answers)
    assert result.winner.id == winner
    assert result.runner_up.id == runner_up
    assert [(s.framework.id, s.score) for s in result.scores] == scores
    assert result.margin == scores[0][1] - scores[1][1]
    assert result.verdict == verdict


@pytest.mark.parametrize("margin", [0.5, 1, 1.5, 3])
def test_verdict_follows_the_close_call_margin(knowledge_dir: KnowledgeDir, margin: float) -> None:
    folder = knowledge_dir(
        sources=SOURCES,
        frameworks="frameworks:\n" + ALPHA + BETA + GAMMA + TRAITS,
        companies=COMPANIES,
        questionnaire=QUESTIONNAIRE.replace("close_call_margin: 2", f"close_call_margin: {margin}"),
    )
    result = advise(load_knowledge(folder), CLOSE_ALPHA)  # alpha leads by 1
    assert result.verdict == ("close" if margin > 1 else "clear")


@pytest.mark.parametrize(
    ("order", "winner", "runner_up"),
    [((ALPHA, BETA, GAMMA), "alpha", "beta"), ((BETA, ALPHA, GAMMA), "beta", "alpha")],
)
def test_a_tie_goes_to_the_first_framework_in_the_knowledge_and_is_close(
    knowledge_dir: KnowledgeDir, order: tuple[str, ...], winner: str, runner_up: str
) -> None:
    result = advise(build(knowledge_dir, order), TIE)
    assert (result.winner.id, result.runner_up.id) == (winner, runner_up)
    assert result.margin == 0
    assert result.verdict == "close"


def test_float_noise_does_not_break_a_tie(knowledge_dir: KnowledgeDir) -> None:
    folder = knowledge_dir(
        sources=SOURCES,
        frameworks="frameworks:\n" + BETA + ALPHA + TRAITS,
        questionnaire="""\
            questionnaire:
              close_call_margin: 1
              questions:
                - id: needs
                  prompt: What do you need?
                  kind: multiple
                  options:
                    - {id: one, label: One, weights: {alpha: 0.1}, reason: A little alpha.}
                    - {id: two, label: Two, weights: {alpha: 0.2}, reason: More alpha.}
                    - {id: three, label: Three, weights: {beta: 0.3}, reason: Some beta.}
            """,
    )
    result = advise(load_knowledge(folder), {"needs": "one,two,three"})
    assert (result.winner.id, result.margin, result.verdict) == ("beta", 0, "close")


def test_tie_still_lists_the_answers_on_each_side(knowledge_dir: KnowledgeDir) -> None:
    result = advise(build(knowledge_dir), TIE)
    assert [(c.option.id, c.points) for c in result.reasons] == [("auth", 1)]
    assert [(c.option.id, c.points) for c in result.against] == [("extensions", -1)]


def test_two_frameworks_work_the_same(knowledge_dir: KnowledgeDir) -> None:
    kb = build(knowledge_dir, (ALPHA, BETA))
    assert ids(kb.frameworks) == ["alpha", "beta"]
    result = advise(kb, {**CLEAR_BETA, "speed": "critical"})
    assert (result.winner.id, result.runner_up.id, result.margin) == ("beta", "alpha", 6)


def test_reasons_are_the_winning_answers_strongest_first(example: KnowledgeBase) -> None:
    result = advise(example, CLEAR_ALPHA)
    assert [(c.question.id, c.option.id, c.points) for c in result.reasons] == [
        ("size", "large", 3),
        ("style", "site", 2),  # equal points keep questionnaire order
        ("needs", "admin", 2),
        ("needs", "auth", 1),
    ]
    assert result.reasons[0].option.reason == "Alpha for large."
    assert result.against == ()


def test_against_lists_answers_that_favoured_the_runner_up_and_skips_neutral_ones(
    example: KnowledgeBase,
) -> None:
    result = advise(example, CLOSE_ALPHA)
    assert [(c.option.id, c.points) for c in result.reasons] == [("site", 2)]
    assert [(c.option.id, c.points) for c in result.against] == [("extensions", -1)]
    listed = {c.option.id for c in result.reasons + result.against}
    assert "medium" not in listed and "normal" not in listed


def test_against_is_strongest_first(example: KnowledgeBase) -> None:
    answers = {
        "size": "small",
        "style": "site",
        "needs": "admin,auth,extensions",
        "speed": "normal",
    }
    result = advise(example, answers)  # alpha 5, beta 4
    assert result.winner.id == "alpha"
    assert [(c.option.id, c.points) for c in result.against] == [("small", -3), ("extensions", -1)]


@pytest.mark.parametrize(
    ("answers", "give_up"),
    [
        (CLEAR_ALPHA, ("Freedom to pick parts", "Small core")),
        (CLEAR_BETA, ("Batteries included", "An admin for free")),
        (CLEAR_GAMMA, ("Freedom to pick parts", "Small core")),
    ],
)
def test_give_up_is_the_runner_ups_strengths(
    example: KnowledgeBase, answers: dict, give_up: tuple[str, ...]
) -> None:
    assert advise(example, answers).give_up == give_up


@pytest.mark.parametrize(
    ("answers", "question", "current", "alternative", "new_winner", "margin"),
    [
        # size=small, style=api/both and speed=critical all flip; style weighed most (+2), and
        # api gives beta the larger lead (3) than both (1).
        (CLOSE_ALPHA, "style", ["site"], ["api"], "beta", 3),
        # size=large would give alpha a lead of 2, but needs weighed most (+1): adding admin
        # (lead 1) beats adding auth (a tie alpha wins, lead 0). Removing the only option,
        # which would also flip, is never offered.
        (CLOSE_BETA, "needs", ["extensions"], ["admin", "extensions"], "alpha", 1),
        # needs weighed most (+2 -1): removing admin flips it.
        (CLOSE_ALPHA_BY_ADMIN, "needs", ["admin", "extensions"], ["extensions"], "beta", 1),
        # Beta leads by 6; size=large ties it and the tie goes to alpha.
        (CLEAR_BETA, "size", ["small"], ["large"], "alpha", 0),
        # Only a third framework can overtake here.
        (CLEAR_GAMMA, "speed", ["critical"], ["normal"], "beta", 1),
    ],
)
def test_flip_is_the_change_on_the_answer_that_weighed_most(
    example: KnowledgeBase,
    answers: dict,
    question: str,
    current: list[str],
    alternative: list[str],
    new_winner: str,
    margin: float,
) -> None:
    result = advise(example, answers)
    flip = result.flip
    assert flip is not None
    assert flip.question.id == question
    assert ids(flip.current) == current
    assert ids(flip.alternative) == alternative
    assert flip.new_winner.id == new_winner
    assert flip.margin == margin
    changed = {**result.answers, question: alternative}
    assert advise(example, changed).winner.id == new_winner


def test_flip_added_and_removed(example: KnowledgeBase) -> None:
    added = advise(example, CLOSE_BETA).flip
    removed = advise(example, CLOSE_ALPHA_BY_ADMIN).flip
    assert added is not None and removed is not None
    assert (ids(added.added), ids(added.removed)) == (["admin"], [])
    assert (ids(removed.added), ids(removed.removed)) == ([], ["admin"])


def test_no_flip_when_no_single_change_changes_the_winner(example: KnowledgeBase) -> None:
    result = advise(example, CLEAR_ALPHA)  # alpha 8: no one answer costs it the lead
    assert result.flip is None
    for variant in single_changes(example, result.answers):
        assert advise(example, variant).winner.id == "alpha"


def test_no_flip_when_only_emptying_a_multiple_choice_would(knowledge_dir: KnowledgeDir) -> None:
    folder = knowledge_dir(
        sources=SOURCES,
        frameworks="frameworks:\n" + ALPHA + BETA + TRAITS,
        companies=_without_gamma(COMPANIES),
        questionnaire="""\
            questionnaire:
              close_call_margin: 1
              questions:
                - id: needs
                  prompt: What do you need?
                  kind: multiple
                  options:
                    - {id: tool, label: A tool, weights: {beta: 1}, reason: Beta tools.}
                    - {id: more, label: More, weights: {beta: 1}, reason: Beta again.}
            """,
    )
    result = advise(load_knowledge(folder), {"needs": "tool"})
    assert result.winner.id == "beta"
    assert result.flip is None


@pytest.mark.parametrize(
    ("answers", "companies"),
    [
        # api-first + scale answers: the company with both first, then one trait each.
        ({**CLEAR_ALPHA, "style": "api"}, ["a-mixed", "a-scale", "a-api"]),
        # content + scale: one trait each, in knowledge order.
        (CLEAR_ALPHA, ["a-blog", "a-scale", "a-mixed"]),
        # no traits in the answers: knowledge order, the unfeatured one skipped.
        ({**CLEAR_ALPHA, "size": "medium", "style": "both"}, ["a-blog", "a-scale", "a-api"]),
        # api-first beta team: the API example first; only two featured, so only two.
        ({**CLEAR_BETA, "size": "medium"}, ["b-api", "b-lean"]),
        ({**CLEAR_BETA, "style": "both"}, ["b-lean", "b-api"]),
        (CLEAR_BETA, ["b-lean", "b-api"]),  # lean and api-first: one trait each
        # one featured gamma company: the unfeatured one fills in to reach two.
        (CLEAR_GAMMA, ["g-fast", "g-quiet"]),
    ],
)
def test_companies_are_the_winners_most_relevant(
    example: KnowledgeBase, answers: dict, companies: list[str]
) -> None:
    result = advise(example, answers)
    assert ids(result.companies) == companies
    assert {c.framework for c in result.companies} == {result.winner.id}


def test_answers_are_normalised(example: KnowledgeBase) -> None:
    answers = {"size": ["large"], "style": " site ", "needs": "auth, admin", "speed": "normal"}
    result = advise(example, answers)
    assert result.answers == {
        "size": ("large",),
        "style": ("site",),
        "needs": ("admin", "auth"),  # questionnaire order
        "speed": ("normal",),
    }
    assert result == advise(example, CLEAR_ALPHA)


@pytest.mark.parametrize(
    "needs", ["admin,auth", "auth,admin", ["admin", "auth"], ("auth", "admin"), ["admin,auth"]]
)
def test_multiple_choice_accepts_lists_and_comma_separated_text(
    example: KnowledgeBase, needs: object
) -> None:
    answers = {**CLEAR_ALPHA, "needs": needs}
    assert validate_answers(example.questionnaire, answers)["needs"] == ("admin", "auth")


SIZE_OPTIONS = "small (Small), medium (Medium), large (Large)"
NEEDS_OPTIONS = "admin (An admin), auth (Logins), extensions (Extensions)"


@pytest.mark.parametrize(
    ("change", "question", "given", "expected"),
    [
        ({"size": None}, "size", None, ["is not answered", "Choose one of: " + SIZE_OPTIONS]),
        ({"size": ""}, "size", None, ["is not answered"]),
        ({"size": "huge"}, "size", "huge", ["'huge' is not one of its options", SIZE_OPTIONS]),
        ({"size": "small,large"}, "size", "small,large", ["takes exactly one option, not 2"]),
        ({"size": ["small", "large"]}, "size", "small,large", ["exactly one option"]),
        ({"size": 3}, "size", "3", ["must be an option id or a list of option ids"]),
        ({"needs": []}, "needs", None, ["is not answered", "Choose one or more of"]),
        ({"needs": ","}, "needs", None, ["is not answered", NEEDS_OPTIONS]),
        ({"needs": "auth,auth"}, "needs", "auth,auth", ["repeats 'auth'", NEEDS_OPTIONS]),
        ({"needs": "auth,sso"}, "needs", "sso", ["'sso' is not one of its options"]),
    ],
)
def test_each_invalid_answer_names_its_question_and_options(
    example: KnowledgeBase, change: dict, question: str, given: str | None, expected: list[str]
) -> None:
    answers = {key: value for key, value in {**CLEAR_ALPHA, **change}.items() if value is not None}
    with pytest.raises(AnswerError) as raised:
        advise(example, answers)
    [problem] = raised.value.problems
    assert problem.question is not None and problem.question.id == question
    assert problem.given == given
    text = str(raised.value)
    prompt = example.questionnaire.question(question).prompt
    assert f"{question} ({prompt!r})" in text
    for part in expected:
        assert part in text


def test_unknown_question_is_an_error(example: KnowledgeBase) -> None:
    with pytest.raises(AnswerError) as raised:
        validate_answers(example.questionnaire, {**CLEAR_ALPHA, "budget": "low"})
    [problem] = raised.value.problems
    assert problem.question is None and problem.given == "budget"
    assert "'budget': is not a question; the questions are size, style, needs, speed" in str(
        raised.value
    )


def test_every_problem_is_reported_at_once(example: KnowledgeBase) -> None:
    answers = {"size": "huge", "needs": "", "speed": "normal,critical", "colour": "red"}
    with pytest.raises(AnswerError) as raised:
        validate_answers(example.questionnaire, answers)
    problems = raised.value.problems
    assert [(p.question.id if p.question else None, p.given) for p in problems] == [
        (None, "colour"),
        ("size", "huge"),
        ("style", None),
        ("needs", None),
        ("speed", "normal,critical"),
    ]
    text = str(raised.value)
    assert text.startswith("5 problems with the answers:")
    for question in example.questionnaire.questions:
        assert f"{question.id} ({question.prompt!r})" in text


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        ({}, ["size", "style", "needs", "speed"]),
        ({"size": "small", "needs": []}, ["style", "needs", "speed"]),
        ({"size": "small", "style": " ", "needs": "admin", "speed": "normal"}, ["style"]),
        (CLEAR_ALPHA, []),
    ],
)
def test_missing_questions(example: KnowledgeBase, answers: dict, missing: list[str]) -> None:
    assert ids(missing_questions(example.questionnaire, answers)) == missing


def test_advise_is_deterministic(example: KnowledgeBase) -> None:
    assert advise(example, CLOSE_BETA) == advise(example, dict(reversed(CLOSE_BETA.items())))


# Helpers shared with the shipped-knowledge checks.


def single_changes(kb: KnowledgeBase, answers: dict[str, tuple[str, ...]]) -> list[dict]:
    """Every valid answer set one change away (the same steps the counterfactual searches)."""
    return [
        {**answers, question.id: variant}
        for question in kb.questionnaire.questions
        for variant in _variants(question, tuple(answers[question.id]))
    ]


def check_recommendation(kb: KnowledgeBase, result: Recommendation) -> None:
    """What must hold for any recommendation."""
    assert 2 <= len(result.companies) <= 3
    for company in result.companies:
        assert company.framework == result.winner.id
        assert kb.sources_for(company.sources)
    assert result.reasons == tuple(sorted(result.reasons, key=lambda c: -c.points))
    assert all(c.points > 0 for c in result.reasons)
    assert all(c.points < 0 for c in result.against)
    assert result.give_up == result.runner_up.strengths
    if result.flip is not None:
        assert result.flip.alternative
        changed = {**result.answers, result.flip.question.id: ids(result.flip.alternative)}
        assert advise(kb, changed).winner == result.flip.new_winner


def test_every_single_change_of_an_answer_set_gives_a_sound_recommendation(
    example: KnowledgeBase,
) -> None:
    base = advise(example, CLOSE_ALPHA).answers
    for variant in single_changes(example, base):
        check_recommendation(example, advise(example, variant))


# The shipped knowledge (written by the curators; these tests read its ids from the YAML).


def first_answers(kb: KnowledgeBase) -> dict[str, tuple[str, ...]]:
    return {q.id: (q.options[0].id,) for q in kb.questionnaire.questions}


def leaning(kb: KnowledgeBase, framework_id: str) -> dict[str, tuple[str, ...]]:
    """The realistic answer set of a team that leans one way: on every question, the option
    that favours `framework_id` most over the others (for multiple choice, every option that
    favours it)."""

    def lean(option) -> float:
        own = option.weights.get(framework_id, 0.0)
        others = [option.weights.get(f.id, 0.0) for f in kb.frameworks if f.id != framework_id]
        return own - max(others)

    answers = {}
    for question in kb.questionnaire.questions:
        best = max(question.options, key=lean)
        if question.kind == "multiple":
            chosen = tuple(o.id for o in question.options if lean(o) > 0)
            answers[question.id] = chosen or (best.id,)
        else:
            answers[question.id] = (best.id,)
    return answers


REALISTIC = [
    (
        "django",
        {
            "building": "content-site",
            "scale": "large",
            "admin": "needed",
            "team": "new-to-web",
            "timeline": "weeks",
            "data": "relational-many-models",
            "features": "accounts-permissions,forms,i18n",
        },
    ),
    (
        "django",
        {
            "building": "full-web-app",
            "scale": "medium",
            "admin": "later",
            "team": "knows-django",
            "timeline": "months",
            "data": "relational-many-models",
            "features": ["accounts-permissions"],
        },
    ),
    (
        "flask",
        {
            "building": "ml-or-data-tool",
            "scale": "small",
            "admin": "not-needed",
            "team": "experienced-pick-own",
            "timeline": "days",
            "data": "little-or-none",
            "features": "none-of-these",
        },
    ),
    (
        "flask",
        {
            "building": "json-api",
            "scale": "medium",
            "admin": "not-needed",
            "team": "knows-flask",
            "timeline": "months",
            "data": "existing-or-nosql",
            "features": "real-time",
        },
    ),
]


@pytest.mark.parametrize(("framework_id", "answers"), REALISTIC)
def test_shipped_realistic_answers(kb: KnowledgeBase, framework_id: str, answers: dict) -> None:
    result = advise(kb, answers)
    assert result.winner.id == framework_id
    assert result.reasons
    check_recommendation(kb, result)
    chosen_traits = {
        trait
        for question in kb.questionnaire.questions
        for option in question.options
        if option.id in result.answers[question.id]
        for trait in option.traits
    }
    relevant = [c for c in kb.companies_using(framework_id) if chosen_traits & set(c.traits)]
    if relevant:
        assert chosen_traits & set(result.companies[0].traits)


@pytest.mark.parametrize("framework_id", ["django", "flask"])
def test_shipped_a_team_leaning_one_way_gets_that_framework_clearly(
    kb: KnowledgeBase, framework_id: str
) -> None:
    result = advise(kb, leaning(kb, framework_id))
    assert result.winner.id == framework_id
    assert result.verdict == "clear"
    assert result.reasons
    check_recommendation(kb, result)


@pytest.mark.parametrize("framework_id", ["django", "flask"])
def test_shipped_every_single_change_gives_a_sound_recommendation(
    kb: KnowledgeBase, framework_id: str
) -> None:
    base = leaning(kb, framework_id)
    for variant in [base, *single_changes(kb, base)]:
        check_recommendation(kb, advise(kb, variant))


def test_shipped_every_option_can_be_answered(kb: KnowledgeBase) -> None:
    base = first_answers(kb)
    seen = set()
    for variant in [base, *single_changes(kb, base)]:
        result = advise(kb, variant)
        check_recommendation(kb, result)
        seen.update(
            (question_id, option_id)
            for question_id, option_ids in result.answers.items()
            for option_id in option_ids
        )
    every = {(q.id, o.id) for q in kb.questionnaire.questions for o in q.options}
    assert seen == every


def test_shipped_each_framework_wins_some_answer_set(kb: KnowledgeBase) -> None:
    winners = {advise(kb, leaning(kb, f.id)).winner.id for f in kb.frameworks}
    assert winners == set(ids(kb.frameworks))


def test_shipped_some_answers_are_a_close_call(kb: KnowledgeBase) -> None:
    questions = kb.questionnaire.questions
    singles = [q for q in questions if q.kind == "single"]
    verdicts = set()
    for combo in itertools.islice(itertools.product(*(q.options for q in singles)), 20000):
        answers = {q.id: (o.id,) for q, o in zip(singles, combo, strict=True)}
        answers.update({q.id: (q.options[0].id,) for q in questions if q.kind == "multiple"})
        verdicts.add(advise(kb, answers).verdict)
        if verdicts == {"clear", "close"}:
            break
    assert verdicts == {"clear", "close"}


def test_an_exclusive_option_cannot_be_combined(kb: KnowledgeBase) -> None:
    question = next(q for q in kb.questionnaire.questions if q.kind == "multiple")
    alone = next(o for o in question.options if o.exclusive)
    other = next(o for o in question.options if not o.exclusive)
    answers = {q.id: q.options[0].id for q in kb.questionnaire.questions}

    with pytest.raises(AnswerError, match=f"{alone.id!r} cannot be combined"):
        validate_answers(kb.questionnaire, {**answers, question.id: [alone.id, other.id]})

    flip_variants = [
        variant for base in ([alone.id], [other.id]) for variant in _variants(question, tuple(base))
    ]
    assert all(alone.id not in v or len(v) == 1 for v in flip_variants)
    assert (alone.id,) in flip_variants
