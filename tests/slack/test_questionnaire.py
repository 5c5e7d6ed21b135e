"""The questionnaire end to end: opened from each surface, answered step by step through signed
view_submission payloads, and the recommendation delivered where it started, with Share in
channel, Share in thread and Start over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.render.questionnaire import question_block_id
from bot.slack.wire.ids import ActionId, CallbackId
from tests.support.fake_slack import FakeSlack, ResponsePost
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    BOB,
    GENERAL,
    app_home_opened,
    app_mention,
    block_actions,
    click_in_old_modal,
    direct_message,
    global_shortcut,
    slash_command,
    view_submission,
)
from tests.support.slack_test_helpers import (
    assert_valid_block_kit,
    best_answer_steps,
    buttons,
    choice,
    interactive_ids,
)

FRAMEWORK_IDS = [framework.id for framework in load_knowledge().frameworks]


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def answer_all(
    send: Send, kb: KnowledgeBase, view: dict[str, Any], framework_id: str, user: str = ALICE
) -> None:
    """Submit every step of the modal `view` with the best answers for `framework_id`, checking
    each step on the way."""
    questions = kb.questionnaire.questions
    steps = best_answer_steps(kb, framework_id)
    for step, (question, values) in enumerate(zip(questions, steps, strict=True)):
        assert view["blocks"][0]["elements"][0]["text"] == f"Step {step + 1} of {len(questions)}"
        assert view["blocks"][1]["block_id"] == question_block_id(question)
        response = send("view_submission", view_submission(view=view, values=values, user_id=user))
        assert response.status == 200
        if step < len(questions) - 1:
            assert view["submit"]["text"] == "Next"
            update = response.json()
            assert update["response_action"] == "update"
            view = update["view"]
        else:
            assert view["submit"]["text"] == "See recommendation"
            assert response.body == ""


def opened_view(fake: FakeSlack, count: int = 1) -> dict[str, Any]:
    return fake.wait_for("views.open", count)[count - 1].params["view"]


FEEDBACK = {ActionId.FEEDBACK}
"""The native 👍 / 👎 under every recommendation."""
"""The buttons under every recommendation, shared copies included."""


def recommend_from_command(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, framework_id: str
) -> ResponsePost:
    """Run `/framework recommend` through every step with answers favouring `framework_id`;
    returns the result posted to the command's response_url."""
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("cmd")))
    answer_all(send, kb, opened_view(fake_slack), framework_id)
    return fake_slack.wait_for_response(1)[0]


def header(blocks: list[dict[str, Any]]) -> str:
    return next(block["text"]["text"] for block in blocks if block["type"] == "header")


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_the_whole_questionnaire_from_the_command_recommends_the_framework_answers_favour(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, framework_id: str
) -> None:
    result = recommend_from_command(send, fake_slack, kb, framework_id)

    assert result.token == "cmd"
    assert result.body["response_type"] == "ephemeral"
    blocks = result.body["blocks"]
    assert header(blocks) == f"Recommendation: {kb.framework(framework_id).name}"
    text = json.dumps(blocks)
    assert "A clear choice" in text or "A close call" in text
    assert "What you give up" in text
    assert "What would change it" in text
    assert "Teams that chose" in text
    assert interactive_ids(blocks) == {ActionId.SHARE_IN_CHANNEL, ActionId.START_OVER, *FEEDBACK}
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("framework_id", FRAMEWORK_IDS)
def test_share_in_channel_posts_the_same_recommendation_publicly_marked_as_shared(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, framework_id: str
) -> None:
    result = recommend_from_command(send, fake_slack, kb, framework_id).body

    send(
        "block_actions",
        block_actions(
            ActionId.SHARE_IN_CHANNEL,
            buttons(result["blocks"])[ActionId.SHARE_IN_CHANNEL],
            ephemeral=True,
            response_url=fake_slack.response_url("click"),
        ),
    )

    shared = fake_slack.wait_for("chat.postMessage")[0].params
    assert shared["channel"] == GENERAL
    assert "thread_ts" not in shared
    assert shared["blocks"][0]["elements"][0]["text"] == f"Shared by <@{ALICE}>"
    assert header(shared["blocks"]) == header(result["blocks"])
    assert interactive_ids(shared["blocks"]) == FEEDBACK


def test_an_unanswered_step_is_refused_inline_and_the_modal_stays(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("c")))
    view = opened_view(fake_slack)
    first = kb.questionnaire.questions[0]

    response = send("view_submission", view_submission(view=view, values={}))

    assert response.status == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {question_block_id(first): "Choose an answer to go on."},
    }


def test_an_option_that_is_not_the_questions_is_refused_like_no_answer(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("c")))
    first = kb.questionnaire.questions[0]

    response = send(
        "view_submission",
        view_submission(view=opened_view(fake_slack), values=choice(first, ["not-an-option"])),
    )

    assert response.json()["response_action"] == "errors"


def test_back_returns_to_the_previous_step_with_its_answer_kept(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    first, second = kb.questionnaire.questions[:2]
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("c")))
    picked = first.options[-1].id
    step_two = send(
        "view_submission",
        view_submission(view=opened_view(fake_slack), values=choice(first, [picked])),
    ).json()["view"]
    assert any(
        e["action_id"] == ActionId.QUESTIONNAIRE_BACK
        for b in step_two["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )

    response = send(
        "block_actions",
        block_actions(
            ActionId.QUESTIONNAIRE_BACK,
            "2",
            container="view",
            view={**step_two, "id": "V0STEP2", "hash": "h1"},
            state_values=choice(second, [second.options[0].id]),
        ),
    )

    assert response.status == 200
    update = fake_slack.wait_for("views.update")[0].params
    assert (update["view_id"], update["hash"]) == ("V0STEP2", "h1")
    back = update["view"]
    assert back["blocks"][0]["elements"][0]["text"].startswith("Step 1 of")
    assert back["blocks"][1]["element"]["initial_option"]["value"] == picked
    metadata = json.loads(back["private_metadata"])
    assert metadata["answers"] == {first.id: [picked], second.id: [second.options[0].id]}

    again = send("view_submission", view_submission(view=back, values=choice(first, [picked])))

    forward = again.json()["view"]
    assert forward["blocks"][0]["elements"][0]["text"].startswith("Step 2 of")
    assert forward["blocks"][1]["element"]["initial_option"]["value"] == second.options[0].id


@pytest.mark.parametrize("private_metadata", ['{"step": "x"}', '{"decision": 4}', "not json", ""])
def test_back_in_a_modal_whose_state_cannot_be_read_offers_to_start_again_there(
    send: Send, fake_slack: FakeSlack, private_metadata: str
) -> None:
    """An old modal, or a foreign private_metadata: the modal says the questionnaire expired,
    with a button that starts it again in the same modal (the result then goes to the DM)."""
    click = click_in_old_modal(
        ActionId.QUESTIONNAIRE_BACK, "2", CallbackId.QUESTIONNAIRE, private_metadata
    )

    response = send("block_actions", click)

    assert response.status == 200
    update = fake_slack.wait_for("views.update")[0].params
    assert (update["view_id"], update["hash"]) == ("V0OLD", "h0")
    expired = update["view"]
    assert "This questionnaire expired" in json.dumps(expired["blocks"])
    start_value = buttons(expired["blocks"])[ActionId.START_QUESTIONNAIRE]

    send(
        "block_actions",
        block_actions(
            ActionId.START_QUESTIONNAIRE,
            start_value,
            container="view",
            view={**expired, "id": "V0OLD", "hash": "h1"},
        ),
    )

    restarted = fake_slack.wait_for("views.update", 2)[1].params
    assert (restarted["view_id"], restarted["hash"]) == ("V0OLD", "h1")
    assert restarted["view"]["callback_id"] == CallbackId.QUESTIONNAIRE
    assert restarted["view"]["blocks"][0]["elements"][0]["text"].startswith("Step 1 of")
    assert json.loads(restarted["view"]["private_metadata"])["to"]["dm"] is True
    assert fake_slack.calls_to("views.open") == []


def test_an_unreadable_private_metadata_ends_the_modal_with_a_way_forward(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    first = kb.questionnaire.questions[0]

    response = send(
        "view_submission",
        view_submission(
            CallbackId.QUESTIONNAIRE,
            private_metadata='{"step": "x", "evil": "<!channel>"}',
            values=choice(first, [first.options[0].id]),
        ),
    )

    assert response.status == 200
    update = response.json()
    assert update["response_action"] == "update"
    assert "Start it again here" in json.dumps(update["view"])
    assert ActionId.START_QUESTIONNAIRE in interactive_ids(update["view"]["blocks"])


def test_in_a_thread_the_result_is_ephemeral_in_that_thread_and_can_be_shared_there(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    parent = "1700000000.000900"
    send("app_mention", app_mention("<@U0BOT> recommend", thread_ts=parent))
    invitation = fake_slack.wait_for("chat.postMessage")[0]
    assert invitation.params["thread_ts"] == parent
    start_value = buttons(invitation.params["blocks"])[ActionId.START_QUESTIONNAIRE]

    send(
        "block_actions",
        block_actions(
            ActionId.START_QUESTIONNAIRE,
            start_value,
            user_id=BOB,
            message=invitation.response["message"],
            thread_ts=parent,
            response_url=fake_slack.response_url("button"),
        ),
    )
    answer_all(send, kb, opened_view(fake_slack), FRAMEWORK_IDS[-1], user=BOB)

    result = fake_slack.wait_for("chat.postEphemeral")[0].params
    assert (result["channel"], result["user"], result["thread_ts"]) == (GENERAL, BOB, parent)
    values = buttons(result["blocks"])
    assert interactive_ids(result["blocks"]) == {
        ActionId.SHARE_IN_CHANNEL,
        ActionId.SHARE_IN_THREAD,
        ActionId.START_OVER,
        *FEEDBACK,
    }

    send(
        "block_actions",
        block_actions(
            ActionId.SHARE_IN_THREAD, values[ActionId.SHARE_IN_THREAD], user_id=BOB, ephemeral=True
        ),
    )
    shared = fake_slack.wait_for("chat.postMessage", 2)[1].params
    assert (shared["channel"], shared["thread_ts"]) == (GENERAL, parent)
    assert f"Shared by <@{BOB}>" in json.dumps(shared["blocks"])


def test_start_over_opens_a_fresh_questionnaire_for_the_same_place(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("c")))
    answer_all(send, kb, opened_view(fake_slack), FRAMEWORK_IDS[0])
    result = fake_slack.wait_for_response(1)[0].body
    click = block_actions(
        ActionId.START_OVER,
        buttons(result["blocks"])[ActionId.START_OVER],
        ephemeral=True,
        response_url=fake_slack.response_url("again"),
    )

    send("block_actions", click)

    opened = fake_slack.wait_for("views.open", 2)[1].params
    assert opened["trigger_id"] == click["trigger_id"]
    metadata = json.loads(opened["view"]["private_metadata"])
    assert metadata.get("answers", {}) == {}
    assert metadata.get("step", 0) == 0
    assert metadata["to"]["channel"] == GENERAL
    assert metadata["to"]["response_url"] == fake_slack.response_url("again")


def test_the_global_shortcut_delivers_the_result_to_the_persons_dm(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("global_shortcut", global_shortcut(CallbackId.RECOMMEND_SHORTCUT))

    answer_all(send, kb, opened_view(fake_slack), FRAMEWORK_IDS[0])

    opened = fake_slack.wait_for("conversations.open")[0]
    assert opened.params["users"] == ALICE
    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert posted["channel"] == ALICE_DM
    assert header(posted["blocks"]) == f"Recommendation: {kb.framework(FRAMEWORK_IDS[0]).name}"
    assert interactive_ids(posted["blocks"]) == {ActionId.START_OVER, *FEEDBACK}


def test_the_home_tab_button_starts_a_questionnaire_whose_result_goes_to_the_dm(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("app_home_opened", app_home_opened())
    home = fake_slack.wait_for("views.publish")[0].params["view"]

    send(
        "block_actions",
        block_actions(
            ActionId.START_QUESTIONNAIRE,
            buttons(home["blocks"])[ActionId.START_QUESTIONNAIRE],
            container="view",
            view={**home, "id": "V0HOME"},
        ),
    )
    answer_all(send, kb, opened_view(fake_slack), FRAMEWORK_IDS[-1])

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert posted["channel"] == ALICE_DM
    assert header(posted["blocks"]) == f"Recommendation: {kb.framework(FRAMEWORK_IDS[-1]).name}"


def test_recommend_in_a_dm_offers_the_questionnaire_and_answers_in_the_dm(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("direct_message", direct_message("recommend"))
    invitation = fake_slack.wait_for("chat.postMessage")[0]
    assert invitation.params["channel"] == ALICE_DM

    send(
        "block_actions",
        block_actions(
            ActionId.START_QUESTIONNAIRE,
            buttons(invitation.params["blocks"])[ActionId.START_QUESTIONNAIRE],
            channel=ALICE_DM,
            message=invitation.response["message"],
        ),
    )
    answer_all(send, kb, opened_view(fake_slack), FRAMEWORK_IDS[0])

    result = fake_slack.wait_for("chat.postMessage", 2)[1].params
    assert result["channel"] == ALICE_DM
    assert interactive_ids(result["blocks"]) == {ActionId.START_OVER, *FEEDBACK}


def test_a_result_for_a_channel_the_bot_cannot_post_in_goes_to_the_dm_with_the_reason(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("c")))
    view = opened_view(fake_slack)
    fake_slack.fail_next("response_url", status=404, error="expired_url")
    fake_slack.fail_next("chat.postEphemeral", error="not_in_channel")

    answer_all(send, kb, view, FRAMEWORK_IDS[0])

    posted = fake_slack.wait_for("chat.postMessage")[0].params
    assert posted["channel"] == ALICE_DM
    text = json.dumps(posted["blocks"])
    assert "/invite @Framework Advisor" in text
    assert "Recommendation: " in text


def test_sharing_where_the_bot_is_not_a_member_tells_the_person_how_to_fix_it(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("c")))
    answer_all(send, kb, opened_view(fake_slack), FRAMEWORK_IDS[0])
    result = fake_slack.wait_for_response(1)[0].body
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")

    send(
        "block_actions",
        block_actions(
            ActionId.SHARE_IN_CHANNEL,
            buttons(result["blocks"])[ActionId.SHARE_IN_CHANNEL],
            ephemeral=True,
            response_url=fake_slack.response_url("share"),
        ),
    )

    told = fake_slack.wait_for_response(2)[1]
    assert told.token == "share"
    text = json.dumps(told.body)
    assert "/invite @Framework Advisor" in text
    assert f"<#{GENERAL}>" in text
