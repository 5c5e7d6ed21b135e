"""`/framework` end to end: signed slash commands into the WSGI app, replies recorded by the fake
Slack (response URL posts, views.open)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.knowledge import KnowledgeBase
from bot.render.block_kit import escape
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import Send
from tests.support.slack_requests import ALICE, GENERAL, slash_command
from tests.support.slack_test_helpers import answerable, assert_valid_block_kit


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def run(send: Send, fake: FakeSlack, text: str, **fields: Any) -> dict[str, Any]:
    """Send `/framework text` and return the one ephemeral reply posted to its response URL."""
    before = len(fake.responses)
    fields.setdefault("response_url", fake.response_url("command"))
    response = send("slash_command", slash_command(text, **fields))
    assert response.status == 200
    assert response.body == ""
    return fake.wait_for_response(before + 1)[before].body


def text_of(reply: dict[str, Any]) -> str:
    return json.dumps(reply.get("blocks", []), ensure_ascii=False) + reply.get("text", "")


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
def test_help_and_the_bare_command_reply_with_help_only_to_the_person(
    send: Send, fake_slack: FakeSlack, text: str
) -> None:
    reply = run(send, fake_slack, text)

    assert reply["response_type"] == "ephemeral"
    for subcommand in ("recommend", "ask QUESTION", "companies", "help"):
        assert f"/framework {subcommand}" in text_of(reply)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_help_names_the_curators_subcommands_and_who_may_use_them(
    send: Send, fake_slack: FakeSlack
) -> None:
    reply = run(send, fake_slack, "help")

    for subcommand in ("stats [7d|30d]", "reload"):
        assert f"/framework {subcommand}" in text_of(reply)
    for who in ("admins", "owners", "CURATOR_IDS"):
        assert who in text_of(reply)


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("recomend", "recommend"),
        ("comapnies", "companies"),
        ("hlep", "help"),
        ("aks", "ask"),
        ("stast", "stats"),
        ("relaod", "reload"),
    ],
)
def test_an_unknown_subcommand_shows_help_and_the_closest_subcommand(
    send: Send, fake_slack: FakeSlack, typed: str, suggested: str
) -> None:
    reply = run(send, fake_slack, f"{typed} something")

    assert f"I don't know `{typed}`" in text_of(reply)
    assert f"Did you mean `/framework {suggested}`?" in text_of(reply)
    assert "/framework companies" in text_of(reply)


def test_an_unknown_word_far_from_every_subcommand_gets_help_without_a_guess(
    send: Send, fake_slack: FakeSlack
) -> None:
    reply = run(send, fake_slack, "<!channel> zzzzzzzz")

    assert "Did you mean" not in text_of(reply)
    assert "<!channel>" not in text_of(reply)
    assert "/framework ask QUESTION" in text_of(reply)


def test_ask_answers_with_the_matching_entry_and_its_sources(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb)

    reply = run(send, fake_slack, f"ask {phrasing}")

    assert reply["response_type"] == "ephemeral"
    assert escape(entry.title) in reply["blocks"][0]["text"]["text"]
    *content, feedback = reply["blocks"]
    assert feedback["block_id"] == "feedback"
    sources = content[-1]
    assert sources["type"] == "context"
    for source in kb.sources_for(entry.sources):
        assert source.url in sources["elements"][0]["text"]


def test_ask_without_a_question_shows_an_example(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    reply = run(send, fake_slack, "ask")

    assert f"/framework ask {kb.entries[0].phrasings[0]}" in text_of(reply)


@pytest.mark.parametrize(
    "question",
    [
        "what is the weather like in Lisbon tomorrow <!channel>",
        "how do I bake sourdough bread <@U0BOB> <https://evil.example|free money>",
    ],
)
def test_ask_off_topic_says_it_is_not_sure_and_echoes_nothing_that_pings(
    send: Send, fake_slack: FakeSlack, question: str
) -> None:
    reply = run(send, fake_slack, f"ask {question}")

    assert "not sure" in text_of(reply)
    for markup in ("<!channel>", "<@U0BOB>", "<https://evil.example"):
        assert markup not in text_of(reply)


def test_a_40000_character_question_gets_a_polite_reply(send: Send, fake_slack: FakeSlack) -> None:
    reply = run(send, fake_slack, "ask " + "why " * 10_000)

    assert reply["response_type"] == "ephemeral"
    assert len(text_of(reply)) < 5000


def test_companies_lists_every_company_with_its_source(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    reply = run(send, fake_slack, "companies")

    for company in kb.companies:
        assert f"{kb.source(company.sources[0]).url}|{escape(company.name)}>" in text_of(reply)


@pytest.mark.parametrize("spelling", [str.lower, str.upper])
def test_companies_of_one_framework_lists_only_its_companies(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase, spelling: Any
) -> None:
    for framework in kb.frameworks:
        reply = run(send, fake_slack, f"companies {spelling(framework.name)}")

        for company in kb.companies:
            listed = f"|{escape(company.name)}>" in text_of(reply)
            assert listed is (company.framework == framework.id), (framework.id, company.id)


def test_companies_of_an_unknown_framework_names_the_known_ones(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    reply = run(send, fake_slack, "companies <!here>rails")

    for framework in kb.frameworks:
        assert f"`{framework.id}`" in text_of(reply)
    assert "<!here>" not in text_of(reply)


def test_recommend_opens_the_questionnaire_with_the_commands_trigger_id(
    send: Send, fake_slack: FakeSlack, kb: KnowledgeBase
) -> None:
    command = slash_command("recommend", response_url=fake_slack.response_url("r"))

    response = send("slash_command", command)

    assert (response.status, response.body) == (200, "")
    opened = fake_slack.wait_for("views.open")[0]
    assert opened.params["trigger_id"] == command["trigger_id"]
    view = opened.params["view"]
    assert view["callback_id"] == "questionnaire"
    assert view["blocks"][1]["label"]["text"] == kb.questionnaire.questions[0].prompt
    metadata = json.loads(view["private_metadata"])
    assert metadata["to"]["user"] == ALICE
    assert metadata["to"]["channel"] == GENERAL
    assert metadata["to"]["response_url"] == fake_slack.response_url("r")


@pytest.mark.parametrize("error", ["expired_trigger_id", "invalid_trigger_id"])
def test_a_trigger_that_expired_is_reported_to_the_person(
    send: Send, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.fail_next("views.open", error=error)

    send("slash_command", slash_command("recommend", response_url=fake_slack.response_url("late")))

    reply = fake_slack.wait_for_response(1)[0]
    assert reply.token == "late"
    assert "try again" in text_of(reply.body)


def test_when_the_response_url_fails_the_reply_comes_as_an_ephemeral_message(
    send: Send, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("response_url", status=404, error="expired_url")

    send("slash_command", slash_command("help", response_url=fake_slack.response_url("old")))

    ephemeral = fake_slack.wait_for("chat.postEphemeral")[0]
    assert (ephemeral.params["channel"], ephemeral.params["user"]) == (GENERAL, ALICE)
    assert "/framework recommend" in json.dumps(ephemeral.params["blocks"])


def test_a_command_missing_its_response_url_is_acknowledged_with_an_apology(
    send: Send, fake_slack: FakeSlack
) -> None:
    command = slash_command("help")
    del command["response_url"]

    response = send("slash_command", command)

    assert response.status == 200
    assert "couldn't read that command" in response.body
    assert fake_slack.calls_to("chat.postMessage") == []
