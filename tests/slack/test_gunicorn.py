"""The Procfile's `web:` command for real: gunicorn with several workers serving the app against
the fake Slack, over HTTP."""

from __future__ import annotations

import functools
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeBase
from bot.render.questionnaire import question_block_id
from bot.slack.wire.ids import ActionId, CallbackId
from tests.support.fake_slack import Call, FakeSlack
from tests.support.slack_fixtures import BOT_TOKEN, SIGNING_SECRET, GunicornServer, Post
from tests.support.slack_requests import (
    ALICE,
    ALICE_DM,
    GENERAL,
    app_mention,
    global_shortcut,
    http_request,
    slash_command,
    state_value,
    view_submission,
)
from tests.support.slack_test_helpers import (
    MARKER_ANSWER,
    MARKER_QUESTION,
    add_marker_entry,
    assert_valid_block_kit,
    best_answers,
)
from tests.support.waiting import eventually
from tests.support.web_process import WebProcess, procfile_command

pytestmark = pytest.mark.slow  # subprocesses or servers of their own


@pytest.fixture
def server(gunicorn_server: GunicornServer) -> Iterator[GunicornServer]:
    gunicorn_server.fake.reset()
    yield gunicorn_server
    assert_valid_block_kit(gunicorn_server.fake)


def test_the_procfile_runs_gunicorn_on_port_and_socket_mode_as_a_worker() -> None:
    web = procfile_command("web")
    assert web.startswith("gunicorn ")
    assert "--bind :$PORT" in web
    assert "'bot.slack.serving.wsgi:create_wsgi_app(answer_process=True)'" in web
    assert procfile_command("worker") == "python -m bot serve"


def test_the_health_check_answers_over_http(server: GunicornServer) -> None:
    response = http_request(server.url + "/healthz")

    assert response.status == 200
    assert response.json()["status"] == "ok"


def test_a_slash_command_is_acknowledged_and_answered_through_gunicorn(
    server: GunicornServer, post: Post
) -> None:
    command = slash_command("help", response_url=server.fake.response_url("gunicorn"))

    response = post(server.url, "slash_command", command)

    assert (response.status, response.body) == (200, "")
    reply = server.fake.wait_for_response(1)[0]
    assert reply.token == "gunicorn"
    assert "/framework recommend" in json.dumps(reply.body)


def test_a_mention_is_answered_in_its_thread_through_gunicorn(
    server: GunicornServer, post: Post, kb: KnowledgeBase
) -> None:
    mention = app_mention(f"<@U0BOT> {kb.entries[0].phrasings[0]}")

    assert post(server.url, "app_mention", mention).status == 200

    posted = server.fake.wait_for("chat.postMessage")[0]
    assert posted.token == "xoxb-test-token"
    assert (posted.params["channel"], posted.params["thread_ts"]) == (
        GENERAL,
        mention["event"]["ts"],
    )


def test_the_whole_questionnaire_runs_through_gunicorn_with_its_state_kept_in_slack(
    server: GunicornServer, post: Post, kb: KnowledgeBase
) -> None:
    answers = best_answers(kb, kb.frameworks[0].id)
    post(server.url, "global_shortcut", global_shortcut(CallbackId.RECOMMEND_SHORTCUT))
    view: dict[str, Any] = server.fake.wait_for("views.open")[0].params["view"]

    for question in kb.questionnaire.questions:
        element = "radio_buttons" if question.kind == "single" else "checkboxes"
        chosen = answers[question.id] if question.kind == "multiple" else answers[question.id][0]
        values = {
            question_block_id(question): {
                ActionId.QUESTIONNAIRE_CHOICE.value: state_value(element, chosen)
            }
        }
        response = post(server.url, "view_submission", view_submission(view=view, values=values))
        assert response.status == 200
        if response.body:
            view = response.json()["view"]

    result = server.fake.wait_for("chat.postMessage")[0].params
    assert result["channel"] == ALICE_DM
    assert f"Recommendation: {kb.frameworks[0].name}" in json.dumps(result["blocks"])


@pytest.mark.parametrize(
    ("body", "signed", "status"),
    [
        ("{broken", False, 401),
        ("{broken", True, 400),
        ("payload=%7Bbroken", True, 400),
        (json.dumps({"type": "unheard_of"}), True, 404),
    ],
)
def test_bad_requests_get_4xx_over_http_and_the_server_stays_up(
    server: GunicornServer, post: Post, body: str, signed: bool, status: int
) -> None:
    response = post(server.url, "event", None, raw_body=body, signed=signed)

    assert response.status == status
    assert http_request(server.url + "/healthz").status == 200
    assert server.process.running
    assert "Traceback" not in server.output()


def answers_to(fake: FakeSlack, asked: set[str]) -> list[Call] | None:
    """The answers posted in the threads of the mentions `asked`, once each has one."""
    found = [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") in asked]
    return found if len(found) >= len(asked) else None


def test_framework_bot_serve_builds_the_app_in_each_worker_so_a_reload_reaches_them_all(
    tmp_path: Path, post: Post
) -> None:
    """`framework-bot serve` runs gunicorn in process. An app built before the fork would leave
    the workers without the threads that follow reloads and write records (threads do not
    survive a fork) and with the master's database connections."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: framework-bot serve\n", encoding="utf-8")
    knowledge = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge)
    with FakeSlack() as fake:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
            "DATA_DIR": str(tmp_path / "data"),
            "WEB_CONCURRENCY": "2",
            "CURATOR_IDS": ALICE,
            "KNOWLEDGE_DIR": str(knowledge),
            "KNOWLEDGE_SYNC_SECONDS": "0.2",
        }
        with WebProcess(env, procfile=procfile) as server:
            add_marker_entry(knowledge)
            reload = slash_command("reload", response_url=fake.response_url("reload"))
            assert post(server.url, "slash_command", reload).status == 200
            assert "didn't reload" not in json.dumps(fake.wait_for_response(1, timeout=10)[0].body)
            # Workers check the store every 0.2 s: within seconds every answer is fresh.
            deadline = time.monotonic() + 10
            while True:
                # This round's answers only: a late answer to an earlier round is not counted.
                asked: set[str] = set()
                for _ in range(12):
                    mention = app_mention(f"<@U0BOT> {MARKER_QUESTION}")
                    asked.add(mention["event"]["ts"])
                    assert post(server.url, "app_mention", mention).status == 200
                answers = eventually(
                    functools.partial(answers_to, fake, asked),
                    "an answer to each of this round's 12 mentions",
                )
                served = [MARKER_ANSWER in json.dumps(call.params["blocks"]) for call in answers]
                if all(served) or time.monotonic() > deadline:
                    break
            assert all(served), f"{served.count(False)} of 12 answers came from stale knowledge"
