"""Team decisions end to end, through signed requests against the fake Web API: `/framework
decide` and the message shortcut post the decision message, each person answers in the modal,
the message shows where they disagree and updates in place, and Close and record leaves an ADR
canvas in the channel (or the Markdown in the thread where canvases are not available)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import KnowledgeBase
from bot.settings import Settings
from bot.slack.serving.wsgi import create_wsgi_app
from bot.slack.wire.ids import CallbackId, DecisionActionId
from bot.store import Store, create_store
from tests.support.fake_slack import Call, FakeSlack
from tests.support.postgres import schema_url
from tests.support.slack_fixtures import SIGNING_SECRET, Send
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    BOB,
    GENERAL,
    Response,
    block_actions,
    call_wsgi,
    click_in_old_modal,
    message_shortcut,
    prepare,
    slash_command,
    view_submission,
)
from tests.support.slack_test_helpers import assert_valid_block_kit, best_answers, choice
from tests.support.waiting import eventually

CAROL = "U0CAROL"
TITLE = "Framework for the billing service"
MADR_SECTIONS = (
    "## Context and Problem Statement",
    "## Decision Drivers",
    "## Considered Options",
    "## Decision Outcome",
    "### Consequences",
    "### Confirmation",
    "## More Information",
)


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def texts(value: Any) -> str:
    """Every text in some Block Kit JSON, joined: what a person reads."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                if key == "text" and isinstance(child, str):
                    found.append(child)
                else:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return "\n".join(found)


@dataclass
class DecisionMessage:
    channel: str
    ts: str
    value: str
    """The value of its Add my answers / Close and record buttons."""


def posted_decision(fake: FakeSlack, index: int = 0) -> DecisionMessage:
    call = fake.wait_for("chat.postMessage", index + 1)[index]
    buttons = {
        element["action_id"]: element["value"]
        for block in call.params["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }
    assert DecisionActionId.ADD_ANSWERS.value in buttons
    return DecisionMessage(
        call.response["channel"], call.response["ts"], buttons[DecisionActionId.ADD_ANSWERS.value]
    )


def start(send: Send, fake: FakeSlack, title: str = TITLE, user: str = ALICE) -> DecisionMessage:
    posted = len(fake.calls_to("chat.postMessage"))
    response = send(
        "slash_command",
        slash_command(f"decide {title}", user_id=user, response_url=fake.response_url("decide")),
    )
    assert response.status == 200
    return posted_decision(fake, posted)


def click(
    send: Send,
    decision: DecisionMessage,
    action: DecisionActionId,
    user: str,
    response_url: str | None = None,
) -> None:
    """`user` clicks `action` on the decision message (the click carries the documented
    example's response URL unless `response_url` is given)."""
    response = send(
        "block_actions",
        block_actions(
            action.value,
            decision.value,
            block_id="decision_actions",
            user_id=user,
            channel=decision.channel,
            message_ts=decision.ts,
            response_url=response_url,
        ),
    )
    assert response.status == 200


def open_form(send: Send, fake: FakeSlack, decision: DecisionMessage, user: str) -> dict[str, Any]:
    """`user` presses Add my answers; returns the modal's first step."""
    opened = len(fake.calls_to("views.open"))
    click(send, decision, DecisionActionId.ADD_ANSWERS, user)
    view: dict[str, Any] = fake.wait_for("views.open", opened + 1)[opened].params["view"]
    assert view["callback_id"] == CallbackId.DECISION_ANSWERS
    return view


def answer(
    send: Send | Sequence[Send],
    fake: FakeSlack,
    kb: KnowledgeBase,
    decision: DecisionMessage,
    user: str,
    answers: Mapping[str, Sequence[str]],
) -> Call:
    """`user` presses Add my answers and submits every step (each request to the next of
    several instances, when given several); returns the message update."""
    instances = [send] if callable(send) else list(send)
    updated = len(fake.calls_to("chat.update"))
    view = open_form(instances[0], fake, decision, user)
    questions = kb.questionnaire.questions
    for step, question in enumerate(questions):
        response = instances[(step + 1) % len(instances)](
            "view_submission",
            view_submission(view=view, values=choice(question, answers[question.id]), user_id=user),
        )
        assert response.status == 200
        if step < len(questions) - 1:
            view = response.json()["view"]
        else:
            assert view["submit"]["text"] == "Submit my answers"
            assert not response.body
    return fake.wait_for("chat.update", updated + 1)[updated]


def changed(answers: Mapping[str, Sequence[str]], **changes: Sequence[str]) -> dict[str, list[str]]:
    return {**{q: list(o) for q, o in answers.items()}, **{q: list(o) for q, o in changes.items()}}


def test_three_people_answer_and_everyone_sees_where_they_disagree(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    first = texts(fake_slack.calls_to("chat.postMessage")[0].params["blocks"])
    assert TITLE in first and f"<@{ALICE}>" in first and "Nobody has answered yet" in first

    django = best_answers(kb, "django")
    answer(send, fake_slack, kb, decision, ALICE, django)
    answer(send, fake_slack, kb, decision, BOB, changed(django, scale=["small"]))
    update = answer(send, fake_slack, kb, decision, CAROL, best_answers(kb, "flask"))

    assert update.params["channel"] == GENERAL and update.params["ts"] == decision.ts
    shown = texts(update.params["blocks"])
    assert "3 people have answered" in shown
    assert all(f"<@{user}>" in shown for user in (ALICE, BOB, CAROL))
    assert "Where you disagree" in shown
    scale = kb.questionnaire.question("scale")
    assert scale.prompt in shown
    large = next(o for o in scale.options if o.id == "large")
    assert f"If you all chose “{large.label}”: Django would still win clearly" in shown
    assert "leads Flask" in shown
    assert kb.questionnaire.team is not None and kb.questionnaire.team.explanation in shown


def test_changing_an_answer_updates_the_message_in_place(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    django = best_answers(kb, "django")
    answer(send, fake_slack, kb, decision, ALICE, django)
    before = texts(answer(send, fake_slack, kb, decision, BOB, django).params["blocks"])
    assert "everyone gave the same answers" in before

    after = answer(send, fake_slack, kb, decision, BOB, changed(django, scale=["small"]))

    shown = texts(after.params["blocks"])
    assert after.params["ts"] == decision.ts
    assert "2 people have answered" in shown
    assert kb.questionnaire.question("scale").prompt in shown
    # The modal opens with Bob's earlier answers chosen.
    reopened = fake_slack.calls_to("views.open")[-1].params["view"]
    assert "initial_option" in json.dumps(reopened)


def test_one_answer_is_one_persons_view_not_the_teams_verdict(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    shown = texts(answer(send, fake_slack, kb, decision, BOB, best_answers(kb, "flask")).params)
    assert f"Only <@{BOB}> has answered so far" in shown
    assert "one person's view, not the team's" in shown
    assert "A clear choice" not in shown and "Where you disagree" not in shown


def test_closing_by_the_starter_leaves_an_adr_canvas_in_the_channel(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    django = best_answers(kb, "django")
    answer(send, fake_slack, kb, decision, ALICE, django)
    answer(send, fake_slack, kb, decision, BOB, changed(django, scale=["small"]))
    updates = len(fake_slack.calls_to("chat.update"))

    click(send, decision, DecisionActionId.CLOSE, ALICE)

    (canvas,) = fake_slack.wait_for_canvas()
    assert canvas.channel_id == GENERAL and canvas.channel_canvas
    record = canvas.markdown
    assert record.startswith("---\nstatus: accepted\ndate: ")
    assert f"decision-makers: ![](@{ALICE}), ![](@{BOB})" in record
    assert f"# {TITLE}" in record
    positions = [record.index(section) for section in MADR_SECTIONS]
    assert positions == sorted(positions)
    assert 'Chosen option: "Django", because' in record
    assert "* Good, because" in record and "* Bad, because" in record
    assert "* Django\n* Flask" in record
    assert "](https://" in record  # the companies cite their sources
    assert f"https://fake-workspace.slack.com/archives/{GENERAL}/p" in record
    assert "Knowledge version: " in record
    closed = closed_message(fake_slack, updates, f"docs/T0TEST/{canvas.canvas_id}")
    shown = texts(closed.params["blocks"])
    assert closed.params["ts"] == decision.ts
    assert "Decided: Django" in shown and f"docs/T0TEST/{canvas.canvas_id}" in shown
    assert DecisionActionId.ADD_ANSWERS.value not in json.dumps(closed.params["blocks"])


def closed_message(fake_slack: FakeSlack, updates_before: int, saying: str) -> Call:
    """The update that closed the decision message: the one saying `saying` (a "being written"
    update may come first while the record is made)."""
    return eventually(
        lambda: next(
            (
                call
                for call in fake_slack.calls_to("chat.update")[updates_before:]
                if saying in texts(call.params)
            ),
            None,
        ),
        f"the decision message updated to say {saying!r}",
    )


def test_closing_by_someone_else_is_refused_politely(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    answer(send, fake_slack, kb, decision, ALICE, best_answers(kb, "django"))
    ephemeral = len(fake_slack.calls_to("chat.postEphemeral"))
    fake_slack.fail_next("response_url", status=404)  # the click's response URL has expired

    click(send, decision, DecisionActionId.CLOSE, BOB, fake_slack.response_url("close"))

    told = fake_slack.wait_for("chat.postEphemeral", ephemeral + 1)[ephemeral]
    assert [post.status for post in fake_slack.responses] == [404]  # tried first
    assert told.params["user"] == BOB
    assert f"Only <@{ALICE}>, who started this decision, or a curator can close it" in texts(
        told.params
    )
    assert fake_slack.canvases == []
    # Still open: Bob can still answer.
    update = answer(send, fake_slack, kb, decision, BOB, best_answers(kb, "flask"))
    assert "2 people have answered" in texts(update.params["blocks"])


def test_a_channel_with_a_canvas_gets_the_record_as_a_canvas_tabbed_in_it(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    fake_slack.give_channel_a_canvas(GENERAL)
    decision = start(send, fake_slack)
    answer(send, fake_slack, kb, decision, ALICE, best_answers(kb, "flask"))

    click(send, decision, DecisionActionId.CLOSE, ALICE)

    (canvas,) = fake_slack.wait_for_canvas()
    assert not canvas.channel_canvas and canvas.channel_id == GENERAL
    assert canvas.title == TITLE
    assert fake_slack.calls_to("conversations.canvases.create")[0].response["error"] == (
        "channel_canvas_already_exists"
    )
    assert 'Chosen option: "Flask"' in canvas.markdown


def test_without_canvases_the_record_is_posted_in_the_thread(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    fake_slack.fail_next(
        "conversations.canvases.create", error="team_tier_cannot_create_channel_canvases"
    )
    decision = start(send, fake_slack)
    answer(send, fake_slack, kb, decision, ALICE, best_answers(kb, "django"))
    posted = len(fake_slack.calls_to("chat.postMessage"))
    updates = len(fake_slack.calls_to("chat.update"))

    click(send, decision, DecisionActionId.CLOSE, ALICE)

    record = fake_slack.wait_for("chat.postMessage", posted + 1)[posted]
    assert record.params["thread_ts"] == decision.ts
    markdown = [b["text"] for b in record.params["blocks"] if b["type"] == "markdown"]
    assert markdown and all(section in markdown[0] for section in MADR_SECTIONS)
    assert fake_slack.canvases == []
    closed = texts(closed_message(fake_slack, updates, "posted in this thread").params)
    assert "Canvases aren't available here" in closed and "posted in this thread" in closed
    assert "canvases aren't available here" in texts(record.params["blocks"])


def test_the_message_shortcut_starts_a_decision_in_the_messages_thread(
    send: Send, fake_slack: FakeSlack
) -> None:
    asked = "Should the billing service be Django or Flask?"
    payload = message_shortcut(CallbackId.DECIDE_SHORTCUT, asked, user_id=BOB)
    send("message_shortcut", payload)

    call = fake_slack.wait_for("chat.postMessage")[0]
    assert call.params["thread_ts"] == payload["message"]["ts"]
    shown = texts(call.params["blocks"])
    assert asked in shown and f"Started by <@{BOB}>" in shown


def test_a_decision_needs_a_channel(send: Send, fake_slack: FakeSlack) -> None:
    send(
        "slash_command",
        slash_command("decide", channel_id=ALICE_DM, response_url=fake_slack.response_url("dm")),
    )
    (told,) = fake_slack.wait_for_response()
    assert "needs a channel" in texts(told.body)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_without_a_title_the_decision_is_named_after_the_frameworks(
    send: Send, fake_slack: FakeSlack
) -> None:
    send("slash_command", slash_command("decide", response_url=fake_slack.response_url("t")))
    shown = texts(posted_decision(fake_slack) and fake_slack.calls_to("chat.postMessage")[0].params)
    assert "Choosing between Django and Flask" in shown


def test_answers_after_the_close_are_not_added_and_the_person_is_told(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    answer(send, fake_slack, kb, decision, ALICE, best_answers(kb, "django"))
    opened = len(fake_slack.calls_to("views.open"))
    click(send, decision, DecisionActionId.ADD_ANSWERS, BOB)  # Bob opens the form ...
    view = fake_slack.wait_for("views.open", opened + 1)[opened].params["view"]
    click(send, decision, DecisionActionId.CLOSE, ALICE)  # ... Alice closes meanwhile
    fake_slack.wait_for_canvas()
    eventually(lambda: len(fake_slack.calls_to("chat.update")) >= 2, "the close")

    answers = best_answers(kb, "flask")
    response = None
    for step, question in enumerate(kb.questionnaire.questions):
        response = send(
            "view_submission",
            view_submission(view=view, values=choice(question, answers[question.id]), user_id=BOB),
        )
        if step < len(kb.questionnaire.questions) - 1:
            view = response.json()["view"]
    assert response is not None
    assert response.json()["response_action"] == "update"
    assert "closed before your answers arrived" in texts(response.json()["view"])


def test_two_people_submitting_at_the_same_moment_are_both_counted(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    people = {ALICE: best_answers(kb, "django"), BOB: best_answers(kb, "flask")}
    views = {user: open_form(send, fake_slack, decision, user) for user in people}
    questions = kb.questionnaire.questions
    for question in questions[:-1]:
        for user, answers in people.items():
            values = choice(question, answers[question.id])
            response = send(
                "view_submission", view_submission(view=views[user], values=values, user_id=user)
            )
            views[user] = response.json()["view"]
    last = questions[-1]
    together = threading.Barrier(len(people))

    def submit(user: str) -> None:
        values = choice(last, people[user][last.id])
        together.wait()
        assert (
            send(
                "view_submission", view_submission(view=views[user], values=values, user_id=user)
            ).status
            == 200
        )

    threads = [threading.Thread(target=submit, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def latest() -> str:
        updates = fake_slack.calls_to("chat.update")
        return texts(updates[-1].params["blocks"]) if updates else ""

    eventually(lambda: "2 people have answered" in latest(), "the message showing both answers")


@pytest.mark.slow
def test_two_instances_on_postgresql_serving_alternate_clicks_give_the_same_result(
    fake_slack: FakeSlack,
    slack_settings: Settings,
    kb: KnowledgeBase,
    postgres_url: str,
    postgres_schema: str,
    tmp_path: Path,
) -> None:
    database = schema_url(postgres_url, postgres_schema)
    stores: list[Store] = []

    def instance(name: str) -> Send:
        store = create_store(database, tmp_path / name)
        stores.append(store)
        app = create_wsgi_app(slack_settings, store=store)

        def send(kind: str, payload: Mapping[str, Any] | None, **options: Any) -> Response:
            body, headers = prepare(kind, payload, secret=SIGNING_SECRET, **options)
            return call_wsgi(app, "POST", "/slack/events", body, headers)

        return send

    try:
        first, second = instance("one"), instance("two")
        decision = start(first, fake_slack)
        django = best_answers(kb, "django")
        answer([second, first], fake_slack, kb, decision, ALICE, django)
        answer([first, second], fake_slack, kb, decision, BOB, changed(django, scale=["small"]))
        shown = texts(
            answer(
                [second, first], fake_slack, kb, decision, CAROL, best_answers(kb, "flask")
            ).params["blocks"]
        )
        assert "3 people have answered" in shown and "Where you disagree" in shown

        # A restart of both loses nothing: a third instance closes what the others served.
        for store in stores:
            store.close()
        third = instance("three")
        click(third, decision, DecisionActionId.CLOSE, ALICE)
        (canvas,) = fake_slack.wait_for_canvas()
        assert f"decision-makers: ![](@{ALICE}), ![](@{BOB}), ![](@{CAROL})" in canvas.markdown
        eventually(
            lambda: "Decided: Django" in texts(fake_slack.calls_to("chat.update")[-1].params),
            "the closed message",
        )
    finally:
        for store in stores:
            store.close()


def test_back_in_the_decision_modal_shows_the_previous_step_and_keeps_both_answers(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    decision = start(send, fake_slack)
    first, second = kb.questionnaire.questions[:2]
    picked = first.options[1].id
    step_one = open_form(send, fake_slack, decision, ALICE)
    step_two = send(
        "view_submission",
        view_submission(view=step_one, values=choice(first, [picked]), user_id=ALICE),
    ).json()["view"]

    response = send(
        "block_actions",
        block_actions(
            DecisionActionId.BACK.value,
            "1",
            container="view",
            view={**step_two, "id": "V0DECIDE2", "hash": "h2"},
            state_values=choice(second, [second.options[0].id]),
            user_id=ALICE,
        ),
    )

    assert response.status == 200
    update = fake_slack.wait_for("views.update")[0].params
    assert (update["view_id"], update["hash"]) == ("V0DECIDE2", "h2")
    back = update["view"]
    assert back["callback_id"] == CallbackId.DECISION_ANSWERS
    assert TITLE in texts(back["blocks"])
    metadata = json.loads(back["private_metadata"])
    assert metadata.get("step", 0) == 0  # the first step (a default, so not written)
    assert metadata["answers"] == {first.id: [picked], second.id: [second.options[0].id]}


@pytest.mark.parametrize(
    "private_metadata", ['{"decision": "x"}', '{"to": {"user": "U0ALICE"}}', "not json"]
)
def test_back_in_a_decision_modal_whose_state_cannot_be_read_says_how_to_start_again(
    send: Send, fake_slack: FakeSlack, private_metadata: str
) -> None:
    """An old modal, or one whose private_metadata is not the decision form's: nothing to go
    back to, and the modal says so instead of staying as it was."""
    click = click_in_old_modal(
        DecisionActionId.BACK.value, "1", CallbackId.DECISION_ANSWERS.value, private_metadata
    )

    response = send("block_actions", click)

    assert response.status == 200
    update = fake_slack.wait_for("views.update")[0].params
    assert (update["view_id"], update["hash"]) == ("V0OLD", "h0")
    assert "Add my answers* on the decision again" in texts(update["view"]["blocks"])
