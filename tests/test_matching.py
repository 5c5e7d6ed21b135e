"""Unit tests for bot/matching.py, on a small synthetic knowledge folder unless they say
otherwise; the matcher's accuracy on the shipped knowledge is measured in test_evaluation.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import DEFAULT_THRESHOLD, MIN_MARGIN, Matcher, clean_text, find_ambiguities

BASE = """
sources:
  - {id: docs, title: Docs, url: "https://example.org/docs"}
frameworks:
  - id: alpha
    name: Alpha
    summary: The first framework.
    architecture: Layers.
    strengths: [Small]
    trade_offs: [Few built-ins]
    sources: [docs]
  - id: beta
    name: Beta
    summary: The second framework.
    architecture: Components.
    strengths: [Complete]
    trade_offs: [Large]
    sources: [docs]
questionnaire:
  close_call_margin: 1
  questions:
    - id: size
      prompt: How big is it?
      options:
        - {id: small, label: Small, weights: {alpha: 1}, reason: Small suits alpha.}
        - {id: large, label: Large, weights: {beta: 1}, reason: Large suits beta.}
"""


def entry(entry_id: str, title: str, *phrasings: str, keywords: tuple[str, ...] = ()) -> str:
    lines = [f"  - id: {entry_id}", f'    title: "{title}"', "    phrasings:"]
    lines += [f'      - "{phrasing}"' for phrasing in phrasings]
    if keywords:
        lines.append(f"    keywords: [{', '.join(keywords)}]")
    lines += ["    answer: An answer.", "    sources: [docs]"]
    return "\n".join(lines)


ENTRIES = "\n".join(
    [
        "entries:",
        entry(
            "what-is-alpha",
            "What Alpha is",
            "What is Alpha?",
            "Tell me about the Alpha framework",
            "Explain Alpha in one sentence",
            "What kind of framework is Alpha",
        ),
        entry(
            "admin-panel",
            "The Beta admin panel",
            "Does Beta have an admin panel?",
            "Is there a built-in admin dashboard in Beta",
            "How do I manage records in the admin",
            "Admin interface for Alpha",
        ),
        entry(
            "user-login",
            "Login and user accounts",
            "How do users log in with Alpha?",
            "User authentication in Beta",
            "Password reset and signup",
            "Which login library should I use",
            keywords=("authentication", "sessions"),
        ),
        entry(
            "database-layer",
            "Databases and the ORM",
            "Does Alpha have an ORM?",
            "Which database works with Beta",
            "Object relational mapper comparison",
            "Connecting to PostgreSQL",
        ),
        entry(
            "schema-changes",
            "Schema migrations",
            "How do I migrate my database schema?",
            "Database migrations in Alpha",
            "Changing tables after a model changes",
            "Migration tool for Beta",
        ),
    ]
)


@pytest.fixture
def small_kb(knowledge_dir: Callable[..., Path]) -> KnowledgeBase:
    return load_knowledge(knowledge_dir(base=BASE, entries=ENTRIES))


@pytest.fixture
def matcher(small_kb: KnowledgeBase) -> Matcher:
    return Matcher(small_kb)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("<@U0BOT> what is alpha?", "what is alpha?"),
        ("<@U0BOT|advisor> what is alpha?", "what is alpha?"),
        ("<@W0ENTERPRISE> hi", "hi"),
        ("ask in <#C123|general> please", "ask in please"),
        ("<#C123> ok", "ok"),
        ("<!here> quick question", "quick question"),
        ("<!channel> <!everyone> news", "news"),
        ("<!subteam^S1|@backend> admin panel?", "admin panel?"),
        ("read <https://example.org/docs|the docs> first", "read the docs first"),
        ("see <https://example.org/docs> now", "see now"),
        ("mail <mailto:a@example.org|a@example.org>", "mail a@example.org"),
        ("thanks :tada: :+1:", "thanks"),
        (":wave::skin-tone-2: hello", "hello"),
        ("meet at 10:30:45", "meet at 10:30:45"),
        ("orm &amp; migrations &lt;3 &gt; all", "orm & migrations <3 > all"),
        ("&lt;@U123&gt; is text", "<@U123> is text"),
        ("  lots \n of\t space  ", "lots of space"),
        ("", ""),
    ],
)
def test_clean_text_removes_slack_markup(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_match_returns_cleaned_question(matcher: Matcher) -> None:
    result = matcher.match("<@U0BOT> does beta have an admin panel? :eyes:")
    assert result.question == "does beta have an admin panel?"
    assert result.confident
    assert result.best is not None
    assert result.best.entry.id == "admin-panel"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("does beta have an admin panel", "admin-panel"),
        ("DOES BETA HAVE AN ADMIN PANEL", "admin-panel"),
        ("admin panel, does beta have one???", "admin-panel"),
        ("does beta hvae an admni panel", "admin-panel"),
        ("what is alpha", "what-is-alpha"),
        ("waht is alhpa", "what-is-alpha"),
        ("alpha: what is it?", "what-is-alpha"),
        ("how do I migrate the database schema", "schema-changes"),
        ("schema database migrate", "schema-changes"),
        ("<@U0BOT> does alpha have an orm?", "database-layer"),
        ("user authentication in beta!", "user-login"),
        ("autentication in beta", "user-login"),
    ],
)
def test_match_is_robust_to_case_typos_order_and_punctuation(
    matcher: Matcher, question: str, expected: str
) -> None:
    result = matcher.match(question)
    assert result.best is not None, result
    assert result.best.entry.id == expected


@pytest.mark.parametrize(
    "question",
    [
        "",
        "hi",
        "help",
        "thanks!",
        "ok",
        ":wave:",
        "<@U0BOT>",
        "what's the weather like today",
        "tell me a joke",
        "how long do I boil an egg",
        "rails vs laravel",
        "what's for lunch?",
    ],
)
def test_short_and_off_topic_questions_are_declined(matcher: Matcher, question: str) -> None:
    result = matcher.match(question)
    assert not result.confident
    assert result.best is None


@pytest.mark.parametrize("question", ["hi", "thanks", "what's the weather like today"])
def test_questions_sharing_no_vocabulary_offer_no_topics(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).alternatives == ()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("beta", None),  # in most entries, and no entry is about Beta itself
        ("alpha", "what-is-alpha"),  # in most entries too, but one entry is "What is Alpha?"
        ("alpha?", "what-is-alpha"),
    ],
)
def test_a_word_most_entries_share_answers_only_with_an_entry_about_it(
    matcher: Matcher, question: str, expected: str | None
) -> None:
    best = matcher.match(question).best
    assert (best.entry.id if best else None) == expected


def test_a_near_tie_is_not_sure_even_above_the_threshold(
    knowledge_dir: Callable[..., Path],
) -> None:
    twins = "\n".join(
        [
            "entries:",
            entry("first-twin", "Beta caching", *(f"how does beta cache {w}" for w in "abcd")),
            entry("second-twin", "Beta caching", *(f"how does beta cache {w}" for w in "abcd")),
        ]
    )
    matcher = Matcher(load_knowledge(knowledge_dir(base=BASE, entries=twins)))
    result = matcher.match("how does beta cache pages")
    assert not result.confident
    first, second = result.alternatives[:2]
    assert first.score >= DEFAULT_THRESHOLD
    assert first.score - second.score < MIN_MARGIN
    assert {first.entry.id, second.entry.id} == {"first-twin", "second-twin"}


def test_each_unknown_word_lowers_the_score(small_kb: KnowledgeBase) -> None:
    matcher = Matcher(small_kb, threshold=0)
    questions = [
        "admin panel",
        "admin panel for laravel",
        "admin panel for laravel symfony",
        "admin panel for laravel symfony rails",
    ]
    results = [matcher.match(question).best for question in questions]
    assert all(best is not None and best.entry.id == "admin-panel" for best in results)
    scores = [best.score for best in results if best is not None]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)
    default = Matcher(small_kb)
    assert default.match(questions[0]).confident
    assert not default.match(questions[-1]).confident


def test_confident_alternatives_are_distinct_and_exclude_the_best(matcher: Matcher) -> None:
    result = matcher.match("alpha database login admin", limit=5)
    assert result.best is not None
    assert result.best.entry.id == "admin-panel"
    ids = [candidate.entry.id for candidate in result.alternatives]
    assert len(ids) >= 3
    assert result.best.entry.id not in ids
    assert len(ids) == len(set(ids))
    scores = [candidate.score for candidate in (result.best, *result.alternatives)]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("limit", [0, 1, 2, 3])
def test_limit_caps_alternatives(matcher: Matcher, limit: int) -> None:
    confident = matcher.match("alpha database login admin", limit=limit)
    unsure = matcher.match("a remark about alpha and beta", limit=limit)
    assert confident.confident
    assert not unsure.confident
    assert len(confident.alternatives) == limit
    assert len(unsure.alternatives) == limit


def test_default_limit_is_three(matcher: Matcher) -> None:
    assert len(matcher.match("a question about alpha and beta").alternatives) == 3


def test_negative_limit_is_rejected(matcher: Matcher) -> None:
    with pytest.raises(ValueError, match="limit"):
        matcher.match("alpha", limit=-1)


def test_threshold_decides_between_answer_and_not_sure(small_kb: KnowledgeBase) -> None:
    question = "managing records in the beta admin dashboard"
    score = Matcher(small_kb).match(question).best
    assert score is not None
    assert score.score < 100
    assert Matcher(small_kb, threshold=score.score).match(question).confident
    strict = Matcher(small_kb, threshold=score.score + 0.1).match(question)
    assert not strict.confident
    assert strict.alternatives[0].entry.id == "admin-panel"
    assert strict.alternatives[0].score == score.score


def test_default_threshold_is_a_score(matcher: Matcher) -> None:
    assert 0 < DEFAULT_THRESHOLD < 100
    assert matcher.threshold == DEFAULT_THRESHOLD


def test_scores_are_between_0_and_100(matcher: Matcher) -> None:
    result = matcher.match("what is alpha", limit=10)
    assert result.best is not None
    assert result.best.score == 100
    assert all(0 <= c.score <= 100 for c in result.alternatives)


COLLIDING = "\n".join(
    [
        "entries:",
        entry("one", "One", "How do I deploy Alpha?", "First", "Second", "Third"),
        entry("two", "Two", "How do I deploy Alpha", "Fourth", "Fifth", "Sixth"),
        entry("three", "Three", "Deploying alpha how", "Seventh", "Eighth", "Ninth"),
    ]
)


def test_find_ambiguities_reports_colliding_phrasings(
    knowledge_dir: Callable[..., Path],
) -> None:
    kb = load_knowledge(knowledge_dir(base=BASE, entries=COLLIDING))
    found = find_ambiguities(kb)
    pairs = [(a.first.id, a.second.id) for a in found]
    assert ("one", "two") in pairs
    assert len(pairs) == len({frozenset(pair) for pair in pairs})
    top = found[0]
    assert {top.first.id, top.second.id} == {"one", "two"}
    assert top.score == 100
    assert {top.first_phrasing, top.second_phrasing} == {
        "How do I deploy Alpha?",
        "How do I deploy Alpha",
    }
    assert [a.score for a in found] == sorted((a.score for a in found), reverse=True)
    assert all(a.first.id != a.second.id for a in found)


def test_find_ambiguities_uses_the_matcher_threshold(
    knowledge_dir: Callable[..., Path],
) -> None:
    kb = load_knowledge(knowledge_dir(base=BASE, entries=COLLIDING))
    lenient = find_ambiguities(kb, Matcher(kb, threshold=50))
    strict = find_ambiguities(kb, Matcher(kb, threshold=100))
    assert len(lenient) > len(strict) >= 1
    assert all(a.score >= 50 for a in lenient)


def test_find_ambiguities_is_empty_for_distinct_entries(small_kb: KnowledgeBase) -> None:
    assert find_ambiguities(small_kb) == []


@pytest.fixture(scope="module")
def shipped(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("django", "what-is-django"),
        ("Django?", "what-is-django"),
        ("flask?", "what-is-flask"),
        ("<@U0BOT> flask", "what-is-flask"),
        ("hi", None),
        ("help", None),
        ("thanks!", None),
        ("ok cool", None),
        ("hello? :wave:", None),
        ("python", None),
        ("<!here>", None),
    ],
)
def test_short_questions_on_the_shipped_knowledge(
    shipped: Matcher, question: str, expected: str | None
) -> None:
    best = shipped.match(question).best
    assert (best.entry.id if best else None) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("when does django make more sense than flask", "when-to-choose-django"),
        ("when does flask make more sense than django", "when-to-choose-flask"),
        ("in what situations is dj the better pick over flask", "when-to-choose-django"),
    ],
)
def test_of_two_mirror_entries_the_first_named_framework_leads(
    shipped: Matcher, question: str, expected: str
) -> None:
    """ "When to choose Django" and "When to choose Flask" share every word of a message that
    names both frameworks: the one it asks about comes first."""
    best = shipped.match(question).best
    assert best is not None and best.entry.id == expected


def test_mirror_entries_are_the_titles_that_differ_only_in_the_framework(
    shipped: Matcher,
) -> None:
    pairs = {
        (shipped.kb.entries[own].id, shipped.kb.entries[other].id)
        for own, other in shipped.mirrors["django"]
    }
    assert pairs == {
        ("what-is-django", "what-is-flask"),
        ("when-to-choose-django", "when-to-choose-flask"),
        ("companies-using-django", "companies-using-flask"),
    }


def test_one_generic_sentence_does_not_outbid_what_the_message_is_about(shipped: Matcher) -> None:
    best = shipped.match(
        "our pentest is next week and the auditors will ask about csrf, xss and sql injection. "
        "what does each framework give us out of the box?"
    ).best
    assert best is not None and best.entry.id == "security"
