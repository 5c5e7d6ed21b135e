"""Several instances on one PostgreSQL, each the Procfile's real `web:` command (gunicorn with
its workers): an event delivered to both is answered once, what one instance stores the other
serves, a restart loses nothing, and a database outage costs no answers and no records."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.knowledge import DEFAULT_KNOWLEDGE_DIR
from bot.slack.wire.ids import FEEDBACK_BLOCK_ID, ActionId
from bot.store import Store, create_store, schema
from tests.support.fake_slack import FakeSlack
from tests.support.postgres import FlakyPostgres, schema_url
from tests.support.slack_fixtures import BOT_TOKEN, SIGNING_SECRET, Post
from tests.support.slack_requests import (
    ALICE,
    TEAM_ID,
    Response,
    app_mention,
    block_actions,
    http_request,
    slash_command,
)
from tests.support.slack_test_helpers import MARKER_ANSWER, MARKER_QUESTION, add_marker_entry
from tests.support.waiting import eventually
from tests.support.web_process import WebProcess

pytestmark = pytest.mark.slow  # subprocesses or servers of their own


QUESTION = "does django have an admin panel"
CURATOR = ALICE


@pytest.fixture
def shared_database(postgres_url: str, postgres_schema: str) -> str:
    """DATABASE_URL of a fresh PostgreSQL schema the instances share."""
    return schema_url(postgres_url, postgres_schema)


@pytest.fixture
def start_instance(
    fake_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WebProcess]]:
    """start_instance(database_url, **env) -> a started web process on that database."""
    started: list[WebProcess] = []

    def start(database_url: str, **env: str) -> WebProcess:
        process = WebProcess(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": fake_slack.base_url,
                "DATABASE_URL": database_url,
                "DATA_DIR": str(tmp_path_factory.mktemp("instance-data")),
                **env,
            }
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[Callable[[str], Store]]:
    """reader(database_url) -> a Store of this test's own on that database, to check it."""
    stores: list[Store] = []

    def open_store(database_url: str) -> Store:
        store = create_store(database_url, tmp_path / "reader", retention_days=None)
        stores.append(store)
        return store

    yield open_store
    for store in stores:
        store.close()


def questions_stored(store: Store) -> int:
    return store.stats(TEAM_ID, datetime.now(UTC) - timedelta(days=1)).questions


def answers_in_thread(fake: FakeSlack, thread_ts: str) -> int:
    return sum(
        1 for call in fake.calls_to("chat.postMessage") if call.params.get("thread_ts") == thread_ts
    )


def settle(store: Store) -> None:
    """Wait until no mention is acknowledged and unanswered. Each is claimed in the inbox
    before its ack, only the delivery whose claim won is answered (a retry or a replay finds
    the claim and is not), and an answer's done mark is written after its reply was posted:
    from then on no answer is on its way, so the replies counted are all there will be."""
    eventually(lambda: store.inbox.unfinished_count() == 0, "every acknowledged mention answered")


def wait_for_health(
    instance: WebProcess, condition: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> Response:
    """GET /healthz until its report meets `condition` (or `timeout` passes): the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        health = http_request(instance.url + "/healthz")
        if condition(health.json()) or time.monotonic() > deadline:
            return health
        time.sleep(0.1)


def send_together(
    post: Post, urls: list[str], payload: dict, headers: dict[str, str] | None = None
) -> list[int]:
    """POST the same signed delivery to every URL at once (Slack's retry reaching several
    instances); the statuses, in URL order."""
    statuses: list[int] = [0] * len(urls)
    start = threading.Barrier(len(urls))

    def deliver(index: int, url: str) -> None:
        start.wait()
        statuses[index] = post(url, "app_mention", payload, headers=headers).status

    threads = [
        threading.Thread(target=deliver, args=(index, url)) for index, url in enumerate(urls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_one_event_delivered_to_two_instances_is_answered_once(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    """Slack's retries of each event reach both instances at once, after the first delivery
    was acknowledged (Slack retries when an ack is late or lost: at the earliest, 3 seconds
    after it), while its answer may still be on its way."""
    first, second = start_instance(shared_database), start_instance(shared_database)
    events = [app_mention(f"<@U0BOT> {QUESTION}") for _ in range(5)]

    for number, event in enumerate(events):
        assert post((first, second)[number % 2].url, "app_mention", event).status == 200
    for number, event in enumerate(events):
        retry = {"X-Slack-Retry-Num": str(number % 3 + 1), "X-Slack-Retry-Reason": "http_timeout"}
        assert send_together(post, [first.url, second.url], event, headers=retry) == [200, 200]

    fake_slack.wait_for("chat.postMessage", len(events), timeout=15)
    settle(reader(shared_database))
    for event in events:
        assert answers_in_thread(fake_slack, event["event"]["ts"]) == 1


def test_a_retry_after_both_instances_restart_is_not_answered_again_and_nothing_is_lost(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    first, second = start_instance(shared_database), start_instance(shared_database)
    events = [app_mention(f"<@U0BOT> {QUESTION} #{number}") for number in range(4)]
    for number, event in enumerate(events):
        assert post((first, second)[number % 2].url, "app_mention", event).status == 200
    fake_slack.wait_for("chat.postMessage", len(events), timeout=15)

    first.stop()
    second.stop()
    first, second = start_instance(shared_database), start_instance(shared_database)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    for event in events:
        assert post(second.url, "app_mention", event, headers=retry).status == 200
    store = reader(shared_database)
    settle(store)

    assert len(fake_slack.calls_to("chat.postMessage")) == len(events)
    assert questions_stored(store) == len(events)


def test_questions_keep_being_answered_while_the_database_is_down_and_are_stored_after(
    flaky_postgres: FlakyPostgres,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    instance = start_instance(flaky_postgres.url, WEB_CONCURRENCY="1")
    before = app_mention(f"<@U0BOT> {QUESTION}")
    assert post(instance.url, "app_mention", before).status == 200
    fake_slack.wait_for("chat.postMessage", 1, timeout=10)

    flaky_postgres.cut()
    during = [app_mention(f"<@U0BOT> {QUESTION} (outage {number})") for number in range(3)]
    for event in during:
        assert post(instance.url, "app_mention", event).status == 200
    command = slash_command(f"ask {QUESTION}", response_url=fake_slack.response_url("outage"))
    assert post(instance.url, "slash_command", command).status == 200
    answered = fake_slack.wait_for("chat.postMessage", 1 + len(during), timeout=15)
    assert all(call.ok for call in answered)
    # The answers did not wait for the database; the writer notices the outage on its own
    # (its first attempt after the cut), and /healthz says so from then on.
    health = wait_for_health(instance, lambda report: report["database"] != "ok")
    assert health.status == 200
    assert health.json()["database"].startswith("unavailable")
    assert health.json()["records_waiting"] >= 1
    assert QUESTION.split()[-2] in str(fake_slack.wait_for_response(1, timeout=10)[0].body)

    flaky_postgres.restore()
    after = app_mention(f"<@U0BOT> {QUESTION} (after)")
    assert post(instance.url, "app_mention", after).status == 200
    fake_slack.wait_for("chat.postMessage", 2 + len(during), timeout=15)

    store = reader(flaky_postgres.direct_url)
    everything = 1 + len(during) + 1 + 1
    eventually(lambda: questions_stored(store) >= everything, "the backlog written", timeout=15)
    assert questions_stored(store) == everything
    assert http_request(instance.url + "/healthz").json()["records_lost"] == 0
    assert "Database unavailable" in instance.output()


def stats_text(fake: FakeSlack, post: Post, instance: WebProcess, token: str) -> str:
    """`/framework stats` asked of `instance` by a curator: the text of its reply."""
    command = slash_command("stats 7d", response_url=fake.response_url(token))
    assert post(instance.url, "slash_command", command).status == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        replies = [reply for reply in fake.responses if reply.token == token]
        if replies:
            return json.dumps(replies[-1].body["blocks"], ensure_ascii=False)
        time.sleep(0.05)
    raise AssertionError(f"no stats reply from {instance.url}")


def click_helpful(post: Post, instance: WebProcess, answer: dict) -> None:
    """Click 👍 under a message the bot posted (the fake's recorded message)."""
    message = answer["message"]
    [feedback] = [
        block for block in message["blocks"] if block.get("block_id") == FEEDBACK_BLOCK_ID
    ]
    [element] = feedback["elements"]
    assert element["action_id"] == ActionId.FEEDBACK
    click = block_actions(
        ActionId.FEEDBACK,
        element["positive_button"]["value"],
        block_id=FEEDBACK_BLOCK_ID,
        action_type="feedback_buttons",
        message=message,
        thread_ts=message.get("thread_ts"),
    )
    assert post(instance.url, "block_actions", click).status == 200


def test_feedback_through_one_instance_shows_in_stats_from_the_other_and_survives_a_restart(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
) -> None:
    first, second = (start_instance(shared_database, CURATOR_IDS=CURATOR) for _ in range(2))
    assert post(first.url, "app_mention", app_mention(f"<@U0BOT> {QUESTION}")).status == 200
    answer = fake_slack.wait_for("chat.postMessage", timeout=10)[0].response
    click_helpful(post, first, answer)
    fake_slack.wait_for("chat.update", timeout=10)

    # Each worker writes its records on a writer thread, moments after answering: the question
    # (one worker) and the vote (maybe another) land independently.
    deadline = time.monotonic() + 10
    for attempt in itertools.count():
        served_by_second = stats_text(fake_slack, post, second, f"stats-second-{attempt}")
        landed = "*Questions asked:* 1" in served_by_second and "100% helpful" in served_by_second
        if landed or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "*Questions asked:* 1" in served_by_second
    assert "100% helpful (1 of 1 vote)" in served_by_second

    first.stop()
    second.stop()
    first = start_instance(shared_database, CURATOR_IDS=CURATOR)
    assert stats_text(fake_slack, post, first, "stats-after-restart") == served_by_second


def test_a_reload_on_one_instance_reaches_the_other(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    tmp_path: Path,
) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge)
    env = {"CURATOR_IDS": CURATOR, "KNOWLEDGE_DIR": str(knowledge), "KNOWLEDGE_SYNC_SECONDS": "0.2"}
    first, second = start_instance(shared_database, **env), start_instance(shared_database, **env)
    add_marker_entry(knowledge)

    reload = slash_command("reload", response_url=fake_slack.response_url("reload"))
    assert post(first.url, "slash_command", reload).status == 200
    reloaded = json.dumps(fake_slack.wait_for_response(1, timeout=10)[0].body)
    assert "didn't reload" not in reloaded, reloaded

    deadline = time.monotonic() + 15
    answered = False
    while not answered and time.monotonic() < deadline:
        fake_slack.reset()
        mention = app_mention(f"<@U0BOT> {MARKER_QUESTION}")
        assert post(second.url, "app_mention", mention).status == 200
        reply = fake_slack.wait_for("chat.postMessage", timeout=10)[0]
        answered = MARKER_ANSWER in json.dumps(reply.params["blocks"])
    assert answered, "the second instance never served the reloaded knowledge"


def test_one_mention_replayed_to_two_instances_of_two_workers_is_answered_once(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    """Plain replays (no retry header) reach every worker of both instances: the memory of
    one worker knows nothing of the others."""
    first, second = start_instance(shared_database), start_instance(shared_database)
    event = app_mention(f"<@U0BOT> {QUESTION}")

    for _ in range(5):
        assert send_together(post, [first.url, second.url, first.url], event) == [200] * 3

    fake_slack.wait_for("chat.postMessage", 1, timeout=10)
    settle(reader(shared_database))
    assert answers_in_thread(fake_slack, event["event"]["ts"]) == 1


def test_a_plain_redelivery_after_a_restart_is_not_answered_again(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    event = app_mention(f"<@U0BOT> {QUESTION}")
    instance = start_instance(shared_database)
    assert post(instance.url, "app_mention", event).status == 200
    fake_slack.wait_for("chat.postMessage", 1, timeout=10)

    instance.stop()
    instance = start_instance(shared_database)
    assert post(instance.url, "app_mention", event).status == 200
    settle(reader(shared_database))

    assert answers_in_thread(fake_slack, event["event"]["ts"]) == 1


KILLED_BURST = 30


def test_questions_acknowledged_by_an_instance_killed_before_answering_are_answered_once_after(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    """kill -9 of the Procfile's web process (master and workers) while its answers are on
    their way to Slack: Slack will not resend what was acknowledged, so the next instance
    must answer every one of them, once, and store each question."""
    lease = {"INBOX_LEASE_SECONDS": "2", "INBOX_SWEEP_SECONDS": "0.5"}
    dying = start_instance(shared_database, **lease)
    fake_slack.hold("chat.postMessage")
    events = [app_mention(f"<@U0BOT> {QUESTION} #{n}") for n in range(KILLED_BURST)]
    for event in events:
        assert post(dying.url, "app_mention", event).status == 200
    eventually(lambda: fake_slack.held_calls >= 1, "an answer on its way to Slack")

    dying.kill()
    fake_slack.let_through()
    start_instance(shared_database, **lease)

    fake_slack.wait_for("chat.postMessage", KILLED_BURST, timeout=30)
    store = reader(shared_database)
    settle(store)
    assert [answers_in_thread(fake_slack, event["event"]["ts"]) for event in events] == [
        1
    ] * KILLED_BURST
    eventually(lambda: questions_stored(store) == KILLED_BURST, "every question stored")


def sending(store: Store) -> int:
    """Deliveries marked sending and not done: their reply may be in Slack already."""
    with store.engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(
                schema.events.c.reply_uid.is_not(None), schema.events.c.done_at.is_(None)
            )
        ).scalar_one()


def posted_question_ids(fake: FakeSlack) -> list[str]:
    return [
        call.params["metadata"]["event_payload"]["question_id"]
        for call in fake.calls_to("chat.postMessage")
    ]


def stored_question_uids(store: Store) -> list[str]:
    assert store.flush()
    with store.engine.connect() as connection:
        return list(connection.execute(select(schema.questions.c.uid)).scalars())


def test_replies_that_reached_slack_before_a_kill_are_not_sent_again_after_the_restart(
    shared_database: str,
    start_instance: Callable[..., WebProcess],
    fake_slack: FakeSlack,
    post: Post,
    reader: Callable[[str], Store],
) -> None:
    """kill -9 of the Procfile's web process while Slack has its replies but has not yet
    answered the posts: those deliveries were marked sending and never done. After the
    restart each is looked for in its thread and found, so every question is answered once
    and stored once, under the id its reply names."""
    lease = {"INBOX_LEASE_SECONDS": "2", "INBOX_SWEEP_SECONDS": "0.5"}
    # The posts are answered after the kill: they must not time out before it.
    dying = start_instance(shared_database, SLACK_API_TIMEOUT_SECONDS="120", **lease)
    fake_slack.slow_next("chat.postMessage", 120, times=KILLED_BURST)
    events = [app_mention(f"<@U0BOT> {QUESTION} #{n}") for n in range(KILLED_BURST)]
    for event in events:
        assert post(dying.url, "app_mention", event).status == 200
    eventually(lambda: len(fake_slack.calls_to("chat.postMessage")) >= 2, "replies in Slack")

    dying.kill()
    fake_slack.answer_at_once("chat.postMessage")
    store = reader(shared_database)
    in_slack = len(fake_slack.calls_to("chat.postMessage"))
    maybe_sent = sending(store)
    assert maybe_sent >= in_slack >= 2
    start_instance(shared_database, **lease)

    fake_slack.wait_for("chat.postMessage", KILLED_BURST, timeout=30)
    settle(store)
    assert [answers_in_thread(fake_slack, event["event"]["ts"]) for event in events] == [
        1
    ] * KILLED_BURST
    assert len(fake_slack.calls_to("conversations.replies")) == maybe_sent
    eventually(lambda: questions_stored(store) == KILLED_BURST, "every question stored")
    assert sorted(stored_question_uids(store)) == sorted(posted_question_ids(fake_slack))
