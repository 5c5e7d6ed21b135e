"""Helpers for the Slack app's tests (tests/slack/test_*.py).

- `assert_valid_block_kit(fake)`: every Block Kit payload the app sent in a test parses with
  slack_sdk.models, passes its validation (to_dict()), and stays within the limits of
  Slack's Block Kit reference, including those slack_sdk does not check (50 blocks a message,
  10 radio buttons, ...). It walks every call the fake recorded (messages, ephemeral messages,
  updates, views, response-URL posts); the test modules call it after each test.
- `best_answers(kb, framework_id)`: questionnaire answers chosen from the knowledge that lead to
  that framework, so tests need not hard-code option ids.
- `answerable(kb, index)`: an entry and one of its phrasings that the matcher answers with that
  entry (found, not assumed, so a change in the knowledge cannot silently turn the test into a
  "not sure" test).
- `vague_question(kb)`: a question the matcher is not sure about but offers close topics for.
- `buttons(blocks)`: action_id -> value of every button in a message's or view's blocks.
- `interactive_ids(blocks)`: the action_ids of everything clickable, the native 👍 / 👎 included.
- `topic_buttons(blocks)` and `click_topic(send, suggestion, topic)`: the "not sure" reply's topic
  buttons, and a click on one.
- `choice(question, option_ids)` and `best_answer_steps(kb, framework_id)`: the modal state a
  questionnaire step submits, for one answer and for every step of a framework's best answers.
- `recommend_by_command(send, fake, kb, framework_id)`: `/framework recommend` answered to the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.knowledge import Entry, KnowledgeBase, Option, Question
from bot.matching import matcher_for
from bot.render.questionnaire import question_block_id
from bot.slack.wire.ids import ANSWER_TOPIC_PATTERN, FEEDBACK_BLOCK_ID, ActionId
from tests.support.fake_slack import Call, FakeSlack, ResponsePost
from tests.support.slack_requests import (
    ALICE,
    GENERAL,
    block_actions,
    slash_command,
    state_value,
    view_submission,
)

if TYPE_CHECKING:
    from tests.support.slack_fixtures import Send

MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})
VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_TITLE = 24
MAX_ID = 255

# Limits from Slack's Block Kit reference (https://api.slack.com/reference/block-kit).
TEXT_LIMITS = {
    "section": 3000,
    "header": 150,
    "button": 75,
}
MAX_SECTION_FIELDS, MAX_SECTION_FIELD = 10, 2000
MAX_BUTTON_VALUE, MAX_BUTTON_URL = 2000, 3000
OPTION_COUNT_LIMITS = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
}
MAX_OPTION_TEXT, MAX_OPTION_VALUE = 75, 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ACTIONS_ELEMENTS = 5
MAX_FEEDBACK_TEXT, MAX_FEEDBACK_LABEL, MAX_FEEDBACK_VALUE = 75, 75, 2000
MAX_TABLE_ROWS, MAX_TABLE_CELLS, MAX_TABLES_PER_MESSAGE = 100, 20, 1


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _nodes(child)


def _text(node: dict[str, Any], key: str = "text") -> str:
    value = node.get(key)
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return str(value or "")


def limit_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """Every Block Kit limit that `blocks` (JSON) break, as readable problems."""
    problems: list[str] = []
    for node in _nodes(blocks):
        kind = node.get("type")
        for key in ("action_id", "block_id", "callback_id"):
            if len(str(node.get(key, ""))) > MAX_ID:
                problems.append(f"{key} over {MAX_ID}")
        if kind in TEXT_LIMITS and "text" in node and len(_text(node)) > TEXT_LIMITS[kind]:
            problems.append(f"{kind} text of {len(_text(node))} over {TEXT_LIMITS[kind]}")
        if kind == "section":
            fields = node.get("fields") or []
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(f"{len(fields)} section fields")
            problems += [
                "section field over 2000"
                for f in fields
                if len(f.get("text", "")) > MAX_SECTION_FIELD
            ]
        if kind == "button":
            if len(str(node.get("value", ""))) > MAX_BUTTON_VALUE:
                problems.append(f"button value of {len(node['value'])} over {MAX_BUTTON_VALUE}")
            if len(str(node.get("url", ""))) > MAX_BUTTON_URL:
                problems.append("button url over 3000")
        option_limit = OPTION_COUNT_LIMITS.get(str(kind))
        if option_limit is not None and len(node.get("options") or []) > option_limit:
            problems.append(f"{kind} with over {option_limit} options")
        if kind == "context" and len(node.get("elements") or []) > MAX_CONTEXT_ELEMENTS:
            problems.append("context with over 10 elements")
        if kind == "actions" and len(node.get("elements") or []) > MAX_ACTIONS_ELEMENTS:
            problems.append("actions with over 25 elements")
        if kind == "context_actions":
            elements = node.get("elements") or []
            if not 1 <= len(elements) <= MAX_CONTEXT_ACTIONS_ELEMENTS:
                problems.append(f"context_actions with {len(elements)} elements, not 1 to 5")
            problems += [
                f"{element.get('type')} in context_actions"
                for element in elements
                if element.get("type") not in {"feedback_buttons", "icon_button"}
            ]
        if kind == "feedback_buttons":
            for side in ("positive_button", "negative_button"):
                button = node.get(side) or {}
                if not button.get("value") or len(button["value"]) > MAX_FEEDBACK_VALUE:
                    problems.append(f"{side} value missing or over {MAX_FEEDBACK_VALUE}")
                if not 0 < len(_text(button)) <= MAX_FEEDBACK_TEXT:
                    problems.append(f"{side} text missing or over {MAX_FEEDBACK_TEXT}")
                if len(button.get("accessibility_label") or "") > MAX_FEEDBACK_LABEL:
                    problems.append(f"{side} accessibility_label over {MAX_FEEDBACK_LABEL}")
        if kind == "table":
            rows = node.get("rows") or []
            if not 1 <= len(rows) <= MAX_TABLE_ROWS:
                problems.append(f"table with {len(rows)} rows, not 1 to {MAX_TABLE_ROWS}")
            if any(len(row) > MAX_TABLE_CELLS for row in rows):
                problems.append(f"table row with over {MAX_TABLE_CELLS} cells")
            if len({len(row) for row in rows}) > 1:
                problems.append("table rows of different lengths")
        for option in node.get("options") or []:
            if isinstance(option, dict):
                if len(_text(option)) > MAX_OPTION_TEXT:
                    problems.append(f"option text {_text(option)!r} over {MAX_OPTION_TEXT}")
                if len(str(option.get("value", ""))) > MAX_OPTION_VALUE:
                    problems.append(f"option value over {MAX_OPTION_VALUE}")
    return problems


def message_problems(message: dict[str, Any]) -> list[str]:
    """What is wrong with a message's `blocks` and `text` (the arguments of chat.postMessage)."""
    problems: list[str] = []
    if len(str(message.get("text") or "")) > MAX_MESSAGE_TEXT:
        problems.append(f"text over {MAX_MESSAGE_TEXT}")
    blocks = message.get("blocks")
    if blocks is None:
        return problems
    if not isinstance(blocks, list):
        return [*problems, f"blocks is a {type(blocks).__name__}"]
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        problems.append(f"{len(blocks)} blocks, over {MAX_MESSAGE_BLOCKS}")
    if sum(1 for block in blocks if block.get("type") == "table") > MAX_TABLES_PER_MESSAGE:
        problems.append("more than one table in a message")
    problems += _parse_problems(blocks)
    return problems + limit_problems(blocks)


def view_problems(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    blocks = view.get("blocks") or []
    if len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(f"{len(blocks)} view blocks, over {MAX_VIEW_BLOCKS}")
    if len(view.get("private_metadata") or "") > MAX_PRIVATE_METADATA:
        problems.append("private_metadata over 3000")
    for key in ("title", "submit", "close"):
        if len(_text(view, key)) > MAX_VIEW_TITLE:
            problems.append(f"view {key} over {MAX_VIEW_TITLE}")
    try:
        View(**view).to_dict()
    except Exception as error:
        problems.append(f"view does not validate: {error}")
    problems += _parse_problems(blocks)
    return problems + limit_problems(blocks)


def _parse_problems(blocks: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for index, (raw, parsed) in enumerate(zip(blocks, Block.parse_all(blocks), strict=True)):
        if parsed is None:
            problems.append(f"block {index} of type {raw.get('type')!r} does not parse")
            continue
        try:
            parsed.to_dict()
        except Exception as error:
            problems.append(f"block {index} ({raw.get('type')}) does not validate: {error}")
    return problems


def recorded_problems(fake: FakeSlack) -> list[str]:
    """Problems with every Block Kit payload `fake` received, each naming the call."""
    problems: list[str] = []
    for number, call in enumerate(fake.calls):
        if call.method in MESSAGE_METHODS:
            found = message_problems(call.params)
        elif call.method in VIEW_METHODS and isinstance(call.params.get("view"), dict):
            found = view_problems(call.params["view"])
        else:
            continue
        problems += [f"call {number} {call.method}: {problem}" for problem in found]
    for number, post in enumerate(fake.responses):
        problems += [f"response post {number}: {p}" for p in message_problems(post.body)]
    return problems


def assert_valid_block_kit(fake: FakeSlack) -> None:
    problems = recorded_problems(fake)
    assert problems == [], "\n".join(problems)


def best_answers(kb: KnowledgeBase, framework_id: str) -> dict[str, list[str]]:
    """For each question, the option(s) that most favour `framework_id` over the others: all
    options that favour it for a multiple-choice question, else its single best option."""
    answers: dict[str, list[str]] = {}
    for question in kb.questionnaire.questions:

        def lead(option: Option) -> float:
            mine = option.weights.get(framework_id, 0.0)
            others = [w for f, w in option.weights.items() if f != framework_id]
            return mine - max(others, default=0.0)

        ranked = sorted(question.options, key=lead, reverse=True)
        if question.kind == "multiple":
            answers[question.id] = [o.id for o in ranked if lead(o) > 0] or [ranked[0].id]
        else:
            answers[question.id] = [ranked[0].id]
    return answers


def answerable(kb: KnowledgeBase, index: int = 0) -> tuple[Entry, str]:
    """The first entry from `index` on with a phrasing the matcher answers with that entry."""
    matcher = matcher_for(kb)
    for entry in (*kb.entries[index:], *kb.entries[:index]):
        for phrasing in entry.phrasings:
            best = matcher.match(phrasing).best
            if best is not None and best.entry.id == entry.id:
                return entry, phrasing
    raise AssertionError("the matcher answers no phrasing of any entry with that entry")


VAGUE_QUESTIONS = [
    "framework",
    "which framework",
    "web framework",
    "tell me about frameworks",
    "frameworks in general",
    "thoughts on frameworks",
]


def vague_question(kb: KnowledgeBase) -> str:
    """A question the matcher is not sure about but has close topics for (found, not assumed)."""
    matcher = matcher_for(kb)
    for question in VAGUE_QUESTIONS:
        understood = matcher.understand(question)
        if understood.kind == "not-sure" and understood.match.alternatives:
            return question
    pytest.fail(f"none of {VAGUE_QUESTIONS} is a 'not sure' with close topics any more")


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """action_id -> value of every button in `blocks`."""
    return {
        element["action_id"]: element.get("value", "")
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def interactive_ids(blocks: list[dict[str, Any]]) -> set[str]:
    """The action_id of every element a person can click in `blocks`: buttons and the native
    👍 / 👎 (`feedback_buttons` in a `context_actions` block)."""
    return {
        element["action_id"]
        for block in blocks
        if block["type"] in {"actions", "context_actions"}
        for element in block["elements"]
    }


def topic_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The topic buttons of a "not sure" reply, in order."""
    return [
        element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if ANSWER_TOPIC_PATTERN.match(element["action_id"])
    ]


def click_topic(send: Send, suggestion: Call, topic: dict[str, Any]) -> None:
    """Click `topic`, one of the topic buttons of the "not sure" reply the bot posted."""
    send(
        "block_actions",
        block_actions(
            topic["action_id"],
            topic["value"],
            message=suggestion.response["message"],
            thread_ts=suggestion.params["thread_ts"],
        ),
    )


def choice(question: Question, option_ids: Sequence[str]) -> dict[str, Any]:
    """The view state Slack sends for a chosen answer to `question`."""
    if question.kind == "single":
        value = state_value("radio_buttons", option_ids[0])
    else:
        value = state_value("checkboxes", list(option_ids))
    return {question_block_id(question): {ActionId.QUESTIONNAIRE_CHOICE.value: value}}


def best_answer_steps(kb: KnowledgeBase, framework_id: str) -> list[dict[str, Any]]:
    """The state `values` of each questionnaire step's view_submission, in question order, for
    the `best_answers` that favour `framework_id`."""
    answers = best_answers(kb, framework_id)
    return [choice(question, answers[question.id]) for question in kb.questionnaire.questions]


def recommend_by_command(
    send: Send, fake: FakeSlack, kb: KnowledgeBase, framework_id: str
) -> ResponsePost:
    """`/framework recommend` answered to the end in favour of `framework_id` (after any earlier
    runs in the same test); returns the result as posted to the command's response URL."""
    responded = len(fake.responses)
    opened = len(fake.calls_to("views.open"))
    send("slash_command", slash_command("recommend", response_url=fake.response_url("recommend")))
    view = fake.wait_for("views.open", opened + 1)[opened].params["view"]
    for values in best_answer_steps(kb, framework_id):
        response = send("view_submission", view_submission(view=view, values=values))
        if response.body:
            view = response.json()["view"]
    return fake.wait_for_response(responded + 1)[responded]


MARKER_QUESTION = "what is the reload marker"
MARKER_ANSWER = "The reload marker answer."


def add_marker_entry(knowledge: Path) -> None:
    """Add to a copy of the knowledge an entry no shipped question matches, so an answer shows
    whether a reload reached the process that gave it."""
    (knowledge / "entries-reload-test.yaml").write_text(
        "entries:\n"
        "  - id: reload-marker\n"
        "    title: Reload marker\n"
        f"    phrasings: [{MARKER_QUESTION}, reload marker, explain the reload marker,"
        " tell me about the reload marker]\n"
        f"    answer: {MARKER_ANSWER}\n"
        "    sources: [django-docs]\n",
        encoding="utf-8",
    )


# --- 👍 / 👎 ------------------------------------------------------------------------------------


def feedback_buttons(message_blocks: list[dict[str, Any]]) -> dict[bool, dict[str, Any]]:
    """The vote -> the 👍 (True) and 👎 (False) buttons of a message's native feedback element,
    {} when it has none."""
    for block in message_blocks:
        if block.get("block_id") == FEEDBACK_BLOCK_ID:
            assert block["type"] == "context_actions"
            [element] = block["elements"]
            assert (element["type"], element["action_id"]) == (
                "feedback_buttons",
                ActionId.FEEDBACK,
            )
            return {True: element["positive_button"], False: element["negative_button"]}
    return {}


def click_vote(
    send: Send, message_blocks: list[dict[str, Any]], helpful: bool, **where: Any
) -> None:
    """Click 👍 or 👎 in `message_blocks`; `where` are block_actions' options saying where the
    message is."""
    button = feedback_buttons(message_blocks)[helpful]
    send(
        "block_actions",
        block_actions(
            ActionId.FEEDBACK,
            button["value"],
            block_id=FEEDBACK_BLOCK_ID,
            action_type="feedback_buttons",
            text=button["text"]["text"],
            **where,
        ),
    )


def vote_on(
    send: Send,
    posted: Call,
    helpful: bool,
    *,
    user: str = ALICE,
    channel: str = GENERAL,
    message: dict[str, Any] | None = None,
) -> None:
    """Click Helpful / Not helpful on a message the bot posted (or on `message`, its update)."""
    shown = message or posted.response["message"]
    click_vote(
        send,
        shown["blocks"],
        helpful,
        user_id=user,
        channel=channel,
        message=shown,
        thread_ts=posted.params.get("thread_ts"),
    )
