"""The Block Kit builders in bot/render/ (the toolkit and each surface module): escaping, safe
truncation, and Slack's limits, on the shipped knowledge and on synthetic knowledge built to
overflow every limit."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.advisor import Flip, advise
from bot.knowledge import (
    Company,
    Entry,
    Framework,
    KnowledgeBase,
    Option,
    Question,
    Questionnaire,
    Source,
    Trait,
)
from bot.live_knowledge import LiveKnowledge
from bot.matching import Candidate, MatchResult
from bot.render.answers import AnswerBodies, answer_message, help_message, not_sure_message
from bot.render.block_kit import (
    ELLIPSIS,
    MAX_MESSAGE_BLOCKS,
    MAX_TABLE_CELL_TEXT,
    MAX_TABLE_ROWS,
    Message,
    Rendered,
    escape,
    framework_names,
    link,
    mention,
    notice_view,
    quote_user_text,
    table,
    truncate,
    with_note,
)
from bot.render.companies import companies_message
from bot.render.feedback import (
    FeedbackButtons,
    feedback_blocks,
    fresh_feedback_json,
    reason_view,
)
from bot.render.home import HOME_EXAMPLES, home_view
from bot.render.questionnaire import (
    question_block_id,
    questionnaire_view,
    start_questionnaire_message,
)
from bot.render.recommendation import ResultButtons, recommendation_message
from bot.slack.wire.ids import ANSWER_TOPIC_PATTERN, ActionId
from bot.store.reasons import REASONS
from tests.support.slack_test_helpers import (
    best_answers,
    limit_problems,
    message_problems,
    view_problems,
)

PINGS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0ALICE>",
    "<#C0GENERAL>",
    "<https://evil.example|click>",
]


def _message_json(message: Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks_json()}


def rendered_again(block: Block) -> dict[str, Any]:
    """What slack_sdk renders for `block` now, parsing a `Rendered` block's JSON afresh, so a
    block rendered once is checked against a fresh rendering of the same content."""
    parsed = Block.parse(block.to_dict()) if isinstance(block, Rendered) else block
    assert parsed is not None
    return parsed.to_dict()


def _all_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- text helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U0ALICE> & <https://x|y>", "&lt;@U0ALICE&gt; &amp; &lt;https://x|y&gt;"),
        ("a &amp; b", "a &amp;amp; b"),
        ("plain words", "plain words"),
    ],
)
def test_escape_neutralises_slack_control_characters(text: str, escaped: str) -> None:
    assert escape(text) == escaped


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("x" * 5000, 3000),
        ("see <https://docs.example.com/a/very/long/path|the docs> " * 100, 3000),
        ("a &amp; b " * 500, 75),
        ("<@U0ALICE> " * 400, 150),
        ("short", 10),
        ("word " * 30, 24),
    ],
)
def test_truncate_respects_the_limit_and_never_breaks_markup(text: str, limit: int) -> None:
    cut = truncate(text, limit)

    assert len(cut) <= limit
    assert cut.count("<") == cut.count(">")
    assert not re.search(r"&[a-z]*$", cut.removesuffix(ELLIPSIS))
    if len(text) > limit:
        assert cut.endswith(ELLIPSIS)
    else:
        assert cut == text


def test_link_escapes_the_label_and_keeps_the_url_from_closing_the_token() -> None:
    made = link("https://example.com/a|b>c", "<!channel> & co")

    assert made == "<https://example.com/a%7Cb%3Ec|&lt;!channel&gt; &amp; co>"


@pytest.mark.parametrize(
    ("user_id", "shown"),
    [
        ("U0ALICE", "<@U0ALICE>"),
        ("W0123ABC", "<@W0123ABC>"),
        ("!channel", "!channel"),
        ("<!here>", "&lt;!here&gt;"),
    ],
)
def test_mention_only_pings_real_user_ids(user_id: str, shown: str) -> None:
    assert mention(user_id) == shown


def test_quote_user_text_collapses_whitespace_escapes_and_shortens() -> None:
    quoted = quote_user_text("  <!channel>\n\nhello   " + "x" * 1000, 50)

    assert quoted.startswith("&lt;!channel&gt; hello x")
    assert quoted.endswith(ELLIPSIS)
    assert "<" not in quoted


# --- answers --------------------------------------------------------------------------------------


def test_every_entry_renders_as_a_valid_answer_ending_with_its_sources(kb: KnowledgeBase) -> None:
    for entry in kb.entries:
        message = answer_message(kb, entry)
        payload = _message_json(message)

        assert message_problems(payload) == [], entry.id
        last = payload["blocks"][-1]
        assert last["type"] == "context"
        for source in kb.sources_for(entry.sources):
            assert source.url.replace("|", "%7C") in last["elements"][0]["text"]


def test_an_answer_body_is_rendered_once_and_sent_the_same_every_time(kb: KnowledgeBase) -> None:
    entry = kb.entries[0]
    bodies = AnswerBodies(kb)
    first = answer_message(kb, entry, feedback=FeedbackButtons("first+", "first-"), bodies=bodies)
    again = answer_message(kb, entry, feedback=FeedbackButtons("again+", "again-"), bodies=bodies)

    assert all(isinstance(block, Rendered) for block in again.blocks)
    assert again.blocks_json() == [rendered_again(block) for block in again.blocks]
    body = len(again.blocks) - 1  # all but the feedback buttons are the very same dicts
    assert [id(part) for part in again.blocks_json()[:body]] == [
        id(part) for part in first.blocks_json()[:body]
    ]
    feedback = again.blocks_json()[-1]["elements"][0]
    assert (feedback["positive_button"]["value"], feedback["negative_button"]["value"]) == (
        "again+",
        "again-",
    )


@pytest.mark.parametrize(
    "value", ["v", '{"e":"admin","q":"is <django> & \\"flask\\" ok?"}', "é" * 2000]
)
def test_fresh_feedback_buttons_render_as_slack_sdk_would(value: str) -> None:
    rendered = feedback_blocks(FeedbackButtons(value, value[::-1]))[0].to_dict()
    assert fresh_feedback_json(value, value[::-1]) == rendered


def test_fresh_feedback_buttons_refuse_a_value_over_the_limit() -> None:
    with pytest.raises(ValueError, match="over 2000"):
        fresh_feedback_json("x", "x" * 2001)


def test_a_reloaded_knowledge_base_renders_its_own_answer_bodies(kb: KnowledgeBase) -> None:
    entry = kb.entries[0]
    old_bodies = AnswerBodies(kb)
    before = answer_message(kb, entry, bodies=old_bodies).blocks_json()
    changed = entry.model_copy(update={"answer": "A corrected answer."})
    reloaded = kb.model_copy(update={"entries": [changed, *kb.entries[1:]]})

    after = answer_message(reloaded, changed, bodies=old_bodies).blocks_json()
    fresh = answer_message(reloaded, changed, bodies=AnswerBodies(reloaded))

    assert "A corrected answer." in after[0]["text"]["text"]
    assert fresh.blocks_json() == after
    assert before != after
    assert answer_message(kb, entry, bodies=old_bodies).blocks_json() == before


def test_a_reload_gives_the_new_knowledge_its_own_rendered_answers(kb: KnowledgeBase) -> None:
    live = LiveKnowledge(None, kb)
    first = live.snapshot

    assert first.answer_bodies.kb is first.kb
    live.reload()

    assert live.snapshot.answer_bodies is not first.answer_bodies
    assert live.snapshot.answer_bodies.kb is live.snapshot.kb


def test_a_question_quoted_above_an_answer_comes_before_its_body(kb: KnowledgeBase) -> None:
    message = answer_message(kb, kb.entries[0], asked="is django big?")
    assert message.blocks_json()[1:] == answer_message(kb, kb.entries[0]).blocks_json()
    assert message.blocks_json() == [rendered_again(block) for block in message.blocks]
    assert message.blocks_json()[0]["type"] == "context"


@pytest.mark.parametrize("asked", PINGS)
def test_an_answer_quoting_the_question_escapes_it(kb: KnowledgeBase, asked: str) -> None:
    message = answer_message(kb, kb.entries[0], asked=f"{asked} what is it?")

    assert asked not in _all_text(message.blocks_json())
    assert escape(asked) in _all_text(message.blocks_json())


@pytest.mark.parametrize("question", PINGS)
def test_not_sure_offers_up_to_three_topic_buttons_and_never_echoes_markup(
    kb: KnowledgeBase, question: str
) -> None:
    candidates = tuple(Candidate(entry, 60.0) for entry in kb.entries[:5])
    result = MatchResult(question=f"{question} lunch?", best=None, alternatives=candidates)

    payload = _message_json(not_sure_message(result, f"{question} lunch?"))

    assert message_problems(payload) == []
    assert "not sure" in payload["blocks"][0]["text"]["text"]
    buttons = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [e.id for e in kb.entries[:3]]
    assert len({b["action_id"] for b in buttons}) == 3
    assert all(ANSWER_TOPIC_PATTERN.match(b["action_id"]) for b in buttons)
    assert question not in _all_text(payload)


def test_not_sure_without_close_topics_says_so_without_buttons() -> None:
    payload = _message_json(not_sure_message(MatchResult("zzz", None, ()), "zzz"))

    assert message_problems(payload) == []
    assert [b["type"] for b in payload["blocks"]] == ["section"]
    assert "not sure" in payload["blocks"][0]["text"]["text"]


# --- help and companies ---------------------------------------------------------------------------


def test_help_lists_the_subcommands_with_framework_ids_from_the_knowledge(
    kb: KnowledgeBase,
) -> None:
    text = _all_text(help_message(kb, "/framework").blocks_json())

    for subcommand in ("recommend", "ask QUESTION", "companies", "decide [TITLE]", "help"):
        assert f"/framework {subcommand}" in text
    assert "|".join(f.id for f in kb.frameworks) in text


def test_help_for_an_unknown_subcommand_escapes_it_and_suggests_the_closest(
    kb: KnowledgeBase,
) -> None:
    message = help_message(kb, "/framework", unknown="<!here>recomend", suggestion="recommend")
    text = _all_text(message.blocks_json())

    assert "Did you mean `/framework recommend`?" in text
    assert "<!here>" not in text


def test_companies_message_links_every_company_to_its_source(kb: KnowledgeBase) -> None:
    payload = _message_json(companies_message(kb, kb.frameworks))

    assert message_problems(payload) == []
    text = _all_text(payload)
    for company in kb.companies:
        source = kb.source(company.sources[0])
        assert f"<{source.url}|{escape(company.name)}>" in text


# --- the recommendation ---------------------------------------------------------------------------


def _answer_sets(kb: KnowledgeBase) -> list[dict[str, list[str]]]:
    """Each framework's best answers, and from each, every single changed option."""
    sets = []
    for framework in kb.frameworks:
        base = best_answers(kb, framework.id)
        sets.append(base)
        for question in kb.questionnaire.questions:
            for option in question.options:
                sets.append({**base, question.id: [option.id]})
    return sets


def test_every_recommendation_is_valid_and_names_its_framework(kb: KnowledgeBase) -> None:
    buttons = ResultButtons(share_in_channel="v", share_in_thread="v", start_over="v")
    for answers in _answer_sets(kb):
        recommendation = advise(kb, answers)
        payload = _message_json(
            recommendation_message(kb, recommendation, shared_by="U0ALICE", buttons=buttons)
        )

        assert message_problems(payload) == [], answers
        kinds = [b["type"] for b in payload["blocks"]]
        assert kinds[:2] == ["context", "header"]
        assert recommendation.winner.name in payload["blocks"][1]["text"]["text"]
        text = _all_text(payload)
        verdict = "A clear choice" if recommendation.verdict == "clear" else "A close call"
        assert verdict in text
        assert "Shared by <@U0ALICE>" in text
        for contribution in recommendation.reasons:
            assert f"+{abs(contribution.points):g} point" in text
        for company in recommendation.companies:
            assert kb.source(company.sources[0]).url in text
        if recommendation.flip is None:
            assert "No single changed answer" in text
        else:
            assert f"{escape(recommendation.flip.new_winner.name)} would come out" in text
        assert kinds[-1] == "actions"


def test_the_recommendation_shows_each_answers_points_in_a_table_under_the_verdict(
    kb: KnowledgeBase,
) -> None:
    for answers in _answer_sets(kb):
        recommendation = advise(kb, answers)
        message = recommendation_message(kb, recommendation)
        payload = _message_json(message)
        kinds = [block["type"] for block in payload["blocks"]]

        assert message_problems(payload) == []
        [table] = [block for block in payload["blocks"] if block["type"] == "table"]
        assert kinds.index("table") == 3  # header, verdict, what would change it, the table
        cells = [[cell["text"] for cell in row] for row in table["rows"]]
        names = [framework.name for framework in kb.frameworks]
        assert cells[0] == ["Question", "Your answer", *names]
        assert [row[0] for row in cells[1:]] == [q.prompt for q in kb.questionnaire.questions]
        for score in recommendation.scores:  # the columns add up to the scores
            column = 2 + names.index(score.framework.name)
            assert sum(float(row[column]) for row in cells[1:]) == pytest.approx(score.score)
        lines = message.text.splitlines()[1:]  # the fallback text carries the same table
        assert len(lines) == len(cells)
        for line, row in zip(lines, cells, strict=True):
            assert line.startswith(row[0][:30])
            assert line.split()[-len(names) :] == row[2:]
        assert message.text.startswith(f"Recommendation: {recommendation.winner.name}")


def test_a_table_keeps_to_slacks_limits_and_never_sends_an_empty_cell() -> None:
    made = table(["a", "b"], [["x" * 5000, ""]] * 150, numeric_from=1, block_id="t").to_dict()

    assert len(made["rows"]) == MAX_TABLE_ROWS
    assert all(cell["text"] for row in made["rows"] for cell in row)
    assert len(made["rows"][1][0]["text"]) <= MAX_TABLE_CELL_TEXT
    assert made["column_settings"] == [{"is_wrapped": True}, {"align": "right"}]
    assert limit_problems([made]) == []


def test_the_reason_modal_is_a_valid_view_offering_every_reason() -> None:
    view = reason_view('{"m":1}', "feedback_reason").to_dict()

    assert view_problems(view) == []
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert options == list(REASONS)
    assert view["blocks"][2]["optional"] is True
    with pytest.raises(ValueError, match="over 3000"):
        reason_view("x" * 3001, "feedback_reason")


def test_the_counterfactual_names_the_changed_answer(kb: KnowledgeBase) -> None:
    recommendation = advise(kb, best_answers(kb, kb.frameworks[0].id))
    other = recommendation.runner_up
    single = next(q for q in kb.questionnaire.questions if q.kind == "single")
    multiple = next(q for q in kb.questionnaire.questions if q.kind == "multiple")
    first, second = multiple.options[:2]
    cases = [
        (Flip(single, (single.options[0],), (single.options[1],), other), "were “"),
        (Flip(multiple, (first,), (first, second), other), f"also chosen “{second.label}”"),
        (Flip(multiple, (first, second), (second,), other), f"not chosen “{first.label}”"),
    ]
    for flip, wording in cases:
        changed = dataclasses.replace(recommendation, flip=flip)

        text = _all_text(recommendation_message(kb, changed).blocks_json())

        assert escape(wording) in text
        assert f"{escape(other.name)} would come out ahead" in text


def test_recommendation_buttons_follow_what_is_given(kb: KnowledgeBase) -> None:
    recommendation = advise(kb, best_answers(kb, kb.frameworks[0].id))

    def action_ids(buttons: ResultButtons | None) -> list[str]:
        message = recommendation_message(kb, recommendation, buttons=buttons)
        found = [b for b in message.blocks_json() if b["type"] == "actions"]
        return [e["action_id"] for b in found for e in b["elements"]]

    assert action_ids(None) == []
    assert action_ids(ResultButtons(start_over="x")) == [ActionId.START_OVER]
    assert action_ids(ResultButtons("a", "b", "c")) == [
        ActionId.SHARE_IN_CHANNEL,
        ActionId.SHARE_IN_THREAD,
        ActionId.START_OVER,
    ]


def test_a_button_value_over_2000_characters_is_refused(kb: KnowledgeBase) -> None:
    recommendation = advise(kb, best_answers(kb, kb.frameworks[0].id))

    with pytest.raises(ValueError, match="2000"):
        recommendation_message(kb, recommendation, buttons=ResultButtons(start_over="x" * 2001))


# --- the questionnaire ----------------------------------------------------------------------------


def test_each_step_shows_its_position_one_question_and_the_right_buttons(kb: KnowledgeBase) -> None:
    questions = kb.questionnaire.questions
    for step, question in enumerate(questions):
        view = questionnaire_view(kb.questionnaire, step, {}, "{}", "questionnaire").to_dict()

        assert view_problems(view) == []
        assert view["blocks"][0]["elements"][0]["text"] == f"Step {step + 1} of {len(questions)}"
        inputs = [b for b in view["blocks"] if b["type"] == "input"]
        assert len(inputs) == 1
        assert inputs[0]["block_id"] == question_block_id(question)
        expected = "radio_buttons" if question.kind == "single" else "checkboxes"
        assert inputs[0]["element"]["type"] == expected
        last = step == len(questions) - 1
        assert view["submit"]["text"] == ("See recommendation" if last else "Next")
        has_back = any(
            e["action_id"] == ActionId.QUESTIONNAIRE_BACK
            for b in view["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        )
        assert has_back is (step > 0)


def test_a_step_shows_the_answer_given_before(kb: KnowledgeBase) -> None:
    question = kb.questionnaire.questions[0]
    chosen = question.options[-1]

    view = questionnaire_view(
        kb.questionnaire, 0, {question.id: [chosen.id]}, "{}", "questionnaire"
    ).to_dict()

    assert view["blocks"][1]["element"]["initial_option"]["value"] == chosen.id


def test_private_metadata_over_3000_characters_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="3000"):
        questionnaire_view(kb.questionnaire, 0, {}, "x" * 3001, "questionnaire")


def test_the_home_tab_shows_examples_from_the_knowledge_and_the_companies(
    kb: KnowledgeBase,
) -> None:
    view = home_view(kb, "{}").to_dict()

    assert view_problems(view) == []
    text = _all_text(view)
    assert ActionId.START_QUESTIONNAIRE.value in text
    for entry in kb.entries[:HOME_EXAMPLES]:
        assert escape(entry.phrasings[0]) in text
    for company in kb.companies:
        assert escape(company.name) in text


# --- synthetic knowledge that overflows every limit ----------------------------------------------


def _huge_knowledge() -> KnowledgeBase:
    """Two frameworks, very long texts, 300 companies, 12-option questions."""
    long = "Lorem ipsum <https://example.com/x|dolor> sit &amp; amet. " * 200
    sources = tuple(
        Source(id=f"s{i}", title=f"Source {i} " + "t" * 100, url=f"https://example.com/{i}")
        for i in range(40)
    )
    frameworks = tuple(
        Framework(
            id=framework_id,
            name=f"{framework_id.title()} " + "N" * 200,
            summary=long,
            architecture=long,
            strengths=tuple(long for _ in range(10)),
            trade_offs=(long,),
            sources=tuple(s.id for s in sources),
        )
        for framework_id in ("alpha", "beta")
    )
    trait = Trait(id="big", label="Big")
    entries = tuple(
        Entry(
            id=f"e{i}",
            title="T" * 300,
            phrasings=tuple(f"question {i} phrasing {p} <!channel>" for p in range(4)),
            answer=long,
            caveat=long,
            sources=tuple(s.id for s in sources),
        )
        for i in range(6)
    )
    companies = tuple(
        Company(
            id=f"c{i}",
            name=f"Company {i} " + "C" * 60,
            framework=("alpha", "beta")[i % 2],
            use=long[:500],
            traits=("big",),
            sources=(sources[i % len(sources)].id,),
            note="n" * 300,
        )
        for i in range(300)
    )

    def options(prefix: str) -> tuple[Option, ...]:
        return tuple(
            Option(
                id=f"{prefix}{i}",
                label="L" * 75,
                weights={"alpha": float(i % 3), "beta": float((i + 1) % 3)},
                reason=long,
                traits=("big",),
            )
            for i in range(12)
        )

    questionnaire = Questionnaire(
        close_call_margin=1,
        questions=(
            Question(
                id="one", prompt="P" * 2500, help="H" * 2500, kind="single", options=options("a")
            ),
            Question(id="many", prompt="Q?", kind="multiple", options=options("b")),
        ),
    )
    return KnowledgeBase(
        sources=sources,
        frameworks=frameworks,
        traits=(trait,),
        entries=entries,
        companies=companies,
        questionnaire=questionnaire,
    )


def test_overlong_knowledge_still_renders_within_every_limit() -> None:
    kb = _huge_knowledge()
    answers = {"one": ["a1"], "many": [o.id for o in kb.questionnaire.questions[1].options]}
    recommendation = advise(kb, answers)
    messages = [
        answer_message(kb, kb.entries[0], asked="x" * 40_000),
        companies_message(kb, kb.frameworks),
        help_message(kb, "/framework", unknown="y" * 5000, suggestion="help"),
        recommendation_message(
            kb, recommendation, shared_by="U0ALICE", buttons=ResultButtons("v", "v", "v")
        ),
    ]
    for message in messages:
        assert message_problems(_message_json(message)) == []
    views = [
        home_view(kb, "{}"),
        *(
            questionnaire_view(kb.questionnaire, step, answers, "{}", "questionnaire")
            for step in range(2)
        ),
    ]
    for view in views:
        assert view_problems(view.to_dict()) == []


def test_more_than_ten_options_use_menus_instead_of_radio_buttons_and_checkboxes() -> None:
    kb = _huge_knowledge()
    kinds = [
        questionnaire_view(kb.questionnaire, step, {}, "{}", "q").to_dict()["blocks"][1]["element"][
            "type"
        ]
        for step in range(2)
    ]

    assert kinds == ["static_select", "multi_static_select"]


def test_a_company_list_too_long_for_one_message_says_how_many_were_left_out() -> None:
    kb = _huge_knowledge()

    payload = _message_json(companies_message(kb, kb.frameworks))

    assert len(payload["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert "more." in _all_text(payload)


def test_with_note_keeps_the_message_and_the_block_limit(kb: KnowledgeBase) -> None:
    message = companies_message(_huge_knowledge(), _huge_knowledge().frameworks)

    noted = with_note(message, "Heads up")

    assert len(noted.blocks) <= MAX_MESSAGE_BLOCKS
    assert noted.blocks_json()[0]["text"]["text"] == "Heads up"
    assert noted.blocks_json()[-1] == message.blocks_json()[-1]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _radio(count: int, text: str = "x") -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": text}, "value": str(i)} for i in range(count)
    ]
    return {
        "type": "input",
        "label": {"type": "plain_text", "text": "q"},
        "element": {"type": "radio_buttons", "action_id": "a", "options": options},
    }


BROKEN_MESSAGES = [
    ("51 blocks", {"blocks": [_section("x")] * 51}, "51 blocks"),
    ("section over 3000", {"blocks": [_section("x" * 3001)]}, "section text"),
    ("unknown block type", {"blocks": [{"type": "sparkles"}]}, "does not parse"),
    (
        "button value over 2000",
        {
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "b",
                            "text": {"type": "plain_text", "text": "b"},
                            "value": "v" * 2001,
                        }
                    ],
                }
            ]
        },
        "button value",
    ),
    ("11 radio buttons", {"blocks": [_radio(11)]}, "radio_buttons with over 10"),
    ("option text over 75", {"blocks": [_radio(2, "o" * 76)]}, "option text"),
    ("text over 40000", {"text": "t" * 40_001, "blocks": []}, "text over"),
]


@pytest.mark.parametrize(
    ("message", "problem"),
    [case[1:] for case in BROKEN_MESSAGES],
    ids=[case[0] for case in BROKEN_MESSAGES],
)
def test_the_limit_checker_catches_what_slack_would_refuse(
    message: dict[str, Any], problem: str
) -> None:
    assert any(problem in found for found in message_problems(message)), message_problems(message)


def test_the_limit_checker_catches_an_oversized_view() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title longer than 24 characters"},
        "blocks": [_section("x")] * 101,
        "private_metadata": "m" * 3001,
    }

    problems = " ".join(view_problems(view))

    assert "101 view blocks" in problems
    assert "private_metadata" in problems
    assert "title" in problems
    assert limit_problems([_section("ok")]) == []


def test_the_start_button_carries_its_value_and_names_the_frameworks(kb: KnowledgeBase) -> None:
    payload = _message_json(start_questionnaire_message(kb, '{"dm":true}'))

    assert message_problems(payload) == []
    button = payload["blocks"][-1]["elements"][0]
    assert (button["action_id"], button["value"]) == (ActionId.START_QUESTIONNAIRE, '{"dm":true}')
    assert framework_names(kb, "or") in payload["blocks"][0]["text"]["text"]
    assert f"{len(kb.questionnaire.questions)} short questions" in payload["text"]


def test_a_notice_view_is_a_valid_modal_with_only_a_close_button() -> None:
    view = notice_view("Start again", "Something *changed*.").to_dict()

    assert view_problems(view) == []
    assert (view["type"], view["close"]["text"]) == ("modal", "Close")
    assert "submit" not in view
