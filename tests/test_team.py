"""A team's answers combine by the knowledge's rule; the result says where people disagree and
what agreeing would change."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from bot.advisor import AnswerError, advise
from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeBase, KnowledgeError, load_knowledge
from bot.team import NoTeamRule, decide
from tests.support.slack_test_helpers import best_answers


def knowledge_with_rule(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, folder)
    path = folder / "questionnaire.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.fixture
def majority_kb(tmp_path: Path) -> KnowledgeBase:
    return load_knowledge(
        knowledge_with_rule(tmp_path, "    combine: sum\n", "    combine: majority\n")
    )


def changed(answers: Mapping[str, Sequence[str]], **changes: Sequence[str]) -> dict[str, list[str]]:
    return {**{q: list(o) for q, o in answers.items()}, **{q: list(o) for q, o in changes.items()}}


def test_the_shipped_rule_adds_up_each_persons_score(kb: KnowledgeBase) -> None:
    assert kb.questionnaire.team is not None and kb.questionnaire.team.combine == "sum"
    ballots = {
        "U1": best_answers(kb, "django"),
        "U2": best_answers(kb, "flask"),
        "U3": changed(best_answers(kb, "django"), scale=["small"]),
    }
    team = decide(kb, ballots)
    for framework in kb.frameworks:
        expected = sum(
            next(s.score for s in advise(kb, answers).scores if s.framework.id == framework.id)
            for answers in ballots.values()
        )
        assert next(s.score for s in team.standing.scores if s.framework == framework) == expected


def test_the_majority_rule_counts_the_answer_most_people_gave(majority_kb: KnowledgeBase) -> None:
    django = best_answers(majority_kb, "django")
    ballots = {"U1": django, "U2": django, "U3": best_answers(majority_kb, "flask")}
    team = decide(majority_kb, ballots)
    alone = advise(majority_kb, django)
    assert [(s.framework.id, s.score) for s in team.standing.scores] == [
        (s.framework.id, s.score) for s in alone.scores
    ]
    assert team.ties == ()


def test_a_majority_tie_is_shown_and_the_tied_answers_share_the_question(
    majority_kb: KnowledgeBase,
) -> None:
    django = best_answers(majority_kb, "django")
    ballots = {"U1": django, "U2": changed(django, scale=["small"])}
    team = decide(majority_kb, ballots)
    assert [q.id for q in team.ties] == ["scale"]
    scale = majority_kb.questionnaire.question("scale")
    large = next(o for o in scale.options if o.id == "large")
    small = next(o for o in scale.options if o.id == "small")
    with_large = decide(majority_kb, {"U1": django}).standing.scores
    lead_large = with_large[0].score - with_large[1].score
    gap = lambda o: o.weights["django"] - o.weights["flask"]  # noqa: E731
    assert team.standing.margin == lead_large - gap(large) + (gap(large) + gap(small)) / 2


def test_each_question_the_team_answered_differently_says_who_chose_what(
    kb: KnowledgeBase,
) -> None:
    django = best_answers(kb, "django")
    team = decide(kb, {"U1": django, "U2": changed(django, scale=["small"]), "U3": django})
    assert [d.question.id for d in team.disagreements] == ["scale"]
    (scale,) = team.disagreements
    assert [([o.id for o in g.options], g.people) for g in scale.groups] == [
        (["large"], ("U1", "U3")),
        (["small"], ("U2",)),
    ]
    # Agreeing on the answer the winner likes widens its lead; on the other, narrows it.
    by_answer = {a.options[0].id: a for a in scale.agreements}
    assert by_answer["large"].swing > 0 > by_answer["small"].swing
    assert by_answer["large"].standing.winner.id == "django"
    assert scale.weight == max(abs(a.swing) for a in scale.agreements)


def test_an_agreement_that_would_change_the_winner_is_the_turning_point(
    kb: KnowledgeBase,
) -> None:
    django, flask = best_answers(kb, "django"), best_answers(kb, "flask")
    # Near a tie, two people who differ only on the admin: agreeing on it decides it.
    balanced = changed(flask, building=django["building"], team=django["team"])
    team = decide(kb, {"U1": balanced, "U2": changed(balanced, admin=["needed"])})
    assert team.turning_point is not None
    question, agreement = team.turning_point
    assert agreement.standing.winner.id != team.winner.id
    assert question.id in {d.question.id for d in team.disagreements}
    assert team.flip is None


def test_one_persons_answers_are_never_a_team_verdict(kb: KnowledgeBase) -> None:
    team = decide(kb, {"U1": best_answers(kb, "flask")})
    assert team.single_voice
    assert team.disagreements == ()
    assert team.winner.id == "flask"
    assert team.companies and all(c.framework == "flask" for c in team.companies)


def test_the_reasons_say_who_gave_each_answer_and_the_drivers_weigh_most(
    kb: KnowledgeBase,
) -> None:
    django = best_answers(kb, "django")
    team = decide(kb, {"U1": django, "U2": changed(django, scale=["small"])})
    large = next(r for r in team.reasons if r.option.id == "large")
    assert large.people == ("U1",)
    assert all(r.points > 0 for r in team.reasons)
    assert all(a.points < 0 for a in team.against)
    assert 1 <= len(team.drivers) <= 3
    assert team.give_up == team.runner_up.strengths


def test_answers_that_do_not_fit_are_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(AnswerError):
        decide(kb, {"U1": changed(best_answers(kb, "django"), scale=["enormous"])})
    with pytest.raises(ValueError, match="at least one"):
        decide(kb, {})


def test_without_a_team_rule_decisions_say_what_is_missing(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, folder)
    path = folder / "questionnaire.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  team:\n")
    end = text.index("  # A message that names option signals")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    kb = load_knowledge(folder)
    with pytest.raises(NoTeamRule, match=r"questionnaire\.team"):
        decide(kb, {"U1": best_answers(kb, "django")})


def test_kb_check_names_the_file_line_and_field_of_a_bad_rule(tmp_path: Path) -> None:
    folder = knowledge_with_rule(tmp_path, "    combine: sum\n", "    combine: average\n")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(folder)
    (problem,) = raised.value.problems
    assert problem.file.endswith("questionnaire.yaml")
    assert problem.field == "questionnaire.team.combine"
    lines = (folder / "questionnaire.yaml").read_text(encoding="utf-8").splitlines()
    assert problem.line is not None and "combine: average" in lines[problem.line - 1]
    assert "sum" in problem.message and "majority" in problem.message
