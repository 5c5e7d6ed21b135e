"""The answer process: a web worker claims and acknowledges a mention or DM and hands it to the
process beside it, which answers it under the worker's claim; nothing handed over is lost when
that process dies. In process first (the two apps on one store), then through the Procfile."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.slack.app import create_app, finish_work
from bot.slack.platform.redelivery import Delivery
from bot.slack.serving.answer_process import (
    ANSWER_NICENESS,
    AnswerProcess,
    HandedOver,
    answer_handed,
)
from bot.slack.serving.wsgi import SlackWsgiApp
from bot.store import Store, create_store
from bot.store.engine import SQLITE_FILE_NAME
from bot.store.schema import events
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import SIGNING_SECRET, web_env
from tests.support.slack_requests import (
    GENERAL,
    app_context_changed,
    app_mention,
    call_wsgi,
    direct_message,
    http_request,
    prepare,
)
from tests.support.waiting import eventually
from tests.support.web_process import WebProcess

QUESTION = "does django have an admin panel"
BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "app_mention": app_mention,
    "direct_message": direct_message,
}


class Handed:
    """A worker's hand-over that keeps what it is given (or refuses it), for the test to
    dispatch as the answer process would."""

    def __init__(self, *, accept: bool = True) -> None:
        self.accept = accept
        self.deliveries: list[HandedOver] = []

    def __call__(self, body: dict[str, Any], delivery: Delivery) -> bool:
        if self.accept:
            self.deliveries.append(HandedOver(json.dumps(body), delivery))
        return self.accept


@pytest.fixture
def handed() -> Handed:
    return Handed()


@pytest.fixture
def worker(slack_settings: Settings, slack_store: Store, handed: Handed) -> Iterator[SlackWsgiApp]:
    """A web worker's app that hands its claimed mentions and DMs to `handed`."""
    app = create_app(slack_settings, store=slack_store, hand_over=handed)
    yield SlackWsgiApp(app, SIGNING_SECRET)
    finish_work(app)


@pytest.fixture
def answering(slack_settings: Settings, slack_store: Store) -> Iterator[Any]:
    """The answer process's app, on the worker's database."""
    app = create_app(slack_settings, store=slack_store, answering_only=True)
    yield app
    finish_work(app)


def deliver(app: SlackWsgiApp, kind: str, event: dict[str, Any]) -> int:
    body, signed = prepare(kind, event, secret=SIGNING_SECRET)
    return call_wsgi(app, "POST", "/slack/events", body, signed).status


def done_at(store: Store, event_id: str) -> Any:
    with store.engine.connect() as connection:
        return connection.execute(
            select(events.c.done_at).where(events.c.event_id == event_id)
        ).scalar_one()


@pytest.mark.parametrize("kind", BUILDERS)
def test_a_worker_hands_its_claimed_question_over_and_the_answer_process_answers_it_once(
    worker: SlackWsgiApp,
    answering: Any,
    handed: Handed,
    fake_slack: FakeSlack,
    slack_store: Store,
    kind: str,
) -> None:
    event = BUILDERS[kind](f"<@U0BOT> {QUESTION}")

    assert deliver(worker, kind, event) == 200
    assert deliver(worker, kind, event) == 200  # Slack's retry: claimed already

    [delivery] = handed.deliveries
    assert delivery.delivery.inbox_id == event["event_id"]
    finish_work(worker.app)
    assert fake_slack.calls_to("chat.postMessage") == []  # the worker answered nothing
    assert done_at(slack_store, event["event_id"]) is None

    answer_handed(answering, delivery)

    [answer] = fake_slack.wait_for("chat.postMessage")
    assert "admin" in str(answer.params).lower()
    eventually(lambda: done_at(slack_store, event["event_id"]), "the delivery marked done")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_the_channel_a_person_views_reaches_the_answer_process_that_answers_their_dm(
    worker: SlackWsgiApp,
    answering: Any,
    handed: Handed,
    fake_slack: FakeSlack,
) -> None:
    assert deliver(worker, "app_context_changed", app_context_changed(viewing=GENERAL)) == 200
    assert deliver(worker, "direct_message", direct_message("what is flask?")) == 200

    assert len(handed.deliveries) == 2  # the move, then the question, in order
    for delivery in handed.deliveries:
        answer_handed(answering, delivery)

    [answer] = fake_slack.wait_for("chat.postMessage")
    assert f"<#{GENERAL}>" in answer.params["text"]


def test_a_worker_whose_answer_process_cannot_take_a_question_answers_it_itself(
    slack_settings: Settings, slack_store: Store, fake_slack: FakeSlack
) -> None:
    refusing = Handed(accept=False)
    app = create_app(slack_settings, store=slack_store, hand_over=refusing)
    event = app_mention(f"<@U0BOT> {QUESTION}")

    assert deliver(SlackWsgiApp(app, SIGNING_SECRET), "app_mention", event) == 200

    [answer] = fake_slack.wait_for("chat.postMessage")
    assert "admin" in str(answer.params).lower()
    finish_work(app)
    eventually(lambda: done_at(slack_store, event["event_id"]), "the delivery marked done")


def test_an_answer_process_answers_what_it_was_handed_and_stops_when_told(
    slack_settings: Settings,
    tmp_path: Path,
    migrated_store_dir: Path,
    fake_slack: FakeSlack,
) -> None:
    """A real answer process (spawned), fed as a worker feeds it."""
    data = tmp_path / "data"
    data.mkdir()
    (data / SQLITE_FILE_NAME).write_bytes((migrated_store_dir / SQLITE_FILE_NAME).read_bytes())
    settings = slack_settings.model_copy(update={"data_dir": data})
    store = create_store(None, data)
    answers = AnswerProcess(settings)
    answers.start()
    taken: list[bool] = []

    def hand_over(body: dict[str, Any], delivery: Delivery) -> bool:
        taken.append(answers.hand_over(body, delivery))
        return taken[-1]

    worker_app = create_app(settings, store=store, hand_over=hand_over)
    try:
        assert answers.ready(30), "the answer process never became ready"
        assert answers.pid is not None
        # Behind the worker for the CPU: the kernel runs acknowledgements first.
        assert os.getpriority(os.PRIO_PROCESS, answers.pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + ANSWER_NICENESS
        )
        events_sent = [app_mention(f"<@U0BOT> {QUESTION} {n}") for n in range(3)]
        wsgi = SlackWsgiApp(worker_app, SIGNING_SECRET)
        for event in events_sent:
            assert deliver(wsgi, "app_mention", event) == 200

        eventually(lambda: len(fake_slack.calls_to("chat.postMessage")) == 3, "three answers")
        assert taken == [True, True, True]  # the answer process took them: nobody else did
        for event in events_sent:
            eventually(lambda e=event: done_at(store, e["event_id"]), "each delivery done")
    finally:
        answers.stop(timeout=20)
        finish_work(worker_app)
        store.close()
    assert answers.pid is not None
    assert not os.path.exists(f"/proc/{answers.pid}/stat") or _is_zombie(answers.pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# -- through the Procfile -------------------------------------------------------------------

STARTED = re.compile(r"Started the answer process \(pid (\d+)\)")


def answer_pids(server: WebProcess) -> list[int]:
    return [int(pid) for pid in STARTED.findall(server.output())]


def post(server: WebProcess, event: dict[str, Any]) -> int:
    body, headers = prepare("app_mention", event, secret=SIGNING_SECRET)
    return http_request(server.events_url, "POST", body, headers).status


def ready_count(server: WebProcess) -> int:
    return server.output().count("is ready")


@pytest.fixture
def web(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[WebProcess]:
    """The Procfile's web command with short inbox leases, once both workers' answer
    processes are ready."""
    env = web_env(
        fake_slack,
        tmp_path,
        LOG_LEVEL="INFO",
        INBOX_LEASE_SECONDS="3",
        INBOX_SWEEP_SECONDS="0.5",
    )
    with WebProcess(env) as server:
        eventually(lambda: ready_count(server) >= 2, "two answer processes ready", timeout=30)
        yield server


@pytest.mark.slow
def test_the_procfiles_workers_leave_answering_to_their_answer_processes(
    web: WebProcess, fake_slack: FakeSlack
) -> None:
    pids = answer_pids(web)
    assert len(pids) == 2
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert post(web, app_mention(f"<@U0BOT> {QUESTION}")) == 200
        assert time.monotonic() - started < 1.0  # acknowledged while nobody can answer
        with pytest.raises(AssertionError):
            fake_slack.wait_for("chat.postMessage", timeout=0.5)  # the workers answer nothing
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    assert "admin" in str(answer.params).lower()


@pytest.mark.slow
def test_questions_held_by_a_killed_answer_process_are_answered_once_and_it_is_replaced(
    web: WebProcess, fake_slack: FakeSlack
) -> None:
    pids = answer_pids(web)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    held = [app_mention(f"<@U0BOT> {QUESTION} {n}") for n in range(4)]
    for event in held:
        assert post(web, event) == 200
    for pid in pids:
        os.kill(pid, signal.SIGKILL)  # with the questions handed to them, unanswered
    eventually(lambda: all(_is_zombie(pid) for pid in pids), "the answer processes dead")
    # Each worker notices on its own, with no request to make it look.
    eventually(lambda: len(answer_pids(web)) >= 4, "both answer processes replaced", timeout=15)
    assert web.output().count("stopped (exit code -9): starting another") == 2

    later = app_mention("<@U0BOT> is flask good for a small api?")
    assert post(web, later) == 200

    eventually(
        lambda: len(fake_slack.calls_to("chat.postMessage")) >= 5,
        "every question answered (the held ones once their lease ran out)",
        timeout=30,
    )
    threads = {call.params.get("thread_ts") for call in fake_slack.calls_to("chat.postMessage")}
    assert threads == {event["event"]["ts"] for event in [*held, later]}
    eventually(lambda: ready_count(web) >= 4, "the new answer processes ready", timeout=30)
    assert len(fake_slack.calls_to("chat.postMessage")) == 5  # none answered twice


@pytest.mark.slow
def test_with_answer_process_off_the_procfiles_workers_answer_mentions_themselves(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = web_env(fake_slack, tmp_path, LOG_LEVEL="INFO", ANSWER_PROCESS="false")
    with WebProcess(env) as server:
        assert post(server, app_mention(f"<@U0BOT> {QUESTION}")) == 200

        [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
        assert "admin" in str(answer.params).lower()
        assert answer_pids(server) == []
