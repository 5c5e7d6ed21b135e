"""The durable inbox end to end, in process: signed mentions and DMs to app instances sharing
one database are answered at most once however often they arrive, and one acknowledged by an
instance that never answered it is answered by another (SQLite here; PostgreSQL is `slow`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.slack.app import finish_work
from bot.slack.context import AnswerSlots
from bot.slack.platform import reply_check
from bot.slack.platform.inbox_sweep import InboxSweeper
from bot.slack.platform.messenger import Outcome, Slack
from bot.slack.serving.wsgi import SlackWsgiApp, create_wsgi_app
from bot.slack.wire.ids import CallbackId
from bot.store import Store, create_store
from bot.store.decisions import DecisionStore
from bot.store.inbox import Inbox
from bot.store.schema import decisions, events, questions
from tests.support.fake_slack import FakeSlack
from tests.support.postgres import schema_url
from tests.support.slack_fixtures import SIGNING_SECRET
from tests.support.slack_requests import (
    app_mention,
    call_wsgi,
    direct_message,
    message_shortcut,
    prepare,
    unique_ts,
)
from tests.support.waiting import eventually

SHORT_LEASE = timedelta(seconds=0.3)
QUESTION = "does django have an admin panel"
BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "app_mention": app_mention,
    "direct_message": direct_message,
}


@pytest.fixture(params=("sqlite", pytest.param("postgresql", marks=pytest.mark.slow)))
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The DATABASE_URL the instances share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    server = request.getfixturevalue("postgres_url")
    return schema_url(server, request.getfixturevalue("postgres_schema"))


@pytest.fixture
def instance(
    shared_url: str, slack_settings: Settings, tmp_path: Path
) -> Iterator[Callable[..., SlackWsgiApp]]:
    """instance(**settings) -> another app instance (its own store, memory and sweeper), whose
    leases last `inbox_lease` (SHORT_LEASE unless told)."""
    stores: list[Store] = []

    def start(inbox_lease: timedelta = SHORT_LEASE, **settings: Any) -> SlackWsgiApp:
        store = create_store(shared_url, tmp_path / "data", inbox_lease=inbox_lease)
        stores.append(store)
        app = create_wsgi_app(slack_settings.model_copy(update=settings), store=store)
        assert isinstance(app, SlackWsgiApp)
        return app

    yield start
    for store in stores:
        store.close()


def deliver(app: SlackWsgiApp, kind: str, event: dict[str, Any], **headers: str) -> int:
    body, signed = prepare(kind, event, secret=SIGNING_SECRET, headers=headers)
    return call_wsgi(app, "POST", "/slack/events", body, signed).status


def finish_listeners(*apps: SlackWsgiApp) -> None:
    for app in apps:
        finish_work(app.app)


def answers(fake: FakeSlack) -> int:
    return len(fake.calls_to("chat.postMessage"))


def unanswered(store_url: str, tmp_path: Path) -> int:
    """Deliveries in the inbox acknowledged and not yet answered, on every instance."""
    checker = create_store(store_url, tmp_path / "checker")
    try:
        return checker.inbox.unfinished_count()
    finally:
        checker.close()


def done(store_url: str, tmp_path: Path, event_id: str) -> bool:
    [done_at] = column(store_url, tmp_path, events.c.done_at, events.c.event_id == event_id)
    return done_at is not None


def column(store_url: str, tmp_path: Path, what: Any, *where: Any) -> list[Any]:
    """One column of the rows `where` says, read by a store of the test's own."""
    checker = create_store(store_url, tmp_path / "checker")
    try:
        with checker.engine.connect() as connection:
            return list(connection.execute(select(what).where(*where)).scalars())
    finally:
        checker.close()


@pytest.mark.parametrize("kind", BUILDERS)
def test_one_delivery_replayed_to_two_instances_at_once_is_answered_once(
    instance: Callable[..., SlackWsgiApp], fake_slack: FakeSlack, kind: str
) -> None:
    apps = [instance(), instance()]
    event = BUILDERS[kind](f"<@U0BOT> {QUESTION}")
    start = threading.Barrier(12)
    statuses: list[int] = []

    def replay(number: int) -> None:
        start.wait()
        statuses.append(deliver(apps[number % 2], kind, event))  # no retry header: a replay

    threads = [threading.Thread(target=replay, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finish_listeners(*apps)

    assert statuses == [200] * 12
    assert answers(fake_slack) == 1


def test_a_plain_redelivery_after_a_restart_is_not_answered_again(
    instance: Callable[..., SlackWsgiApp], fake_slack: FakeSlack
) -> None:
    event = app_mention(f"<@U0BOT> {QUESTION}")
    before = instance()
    assert deliver(before, "app_mention", event) == 200
    finish_listeners(before)
    assert answers(fake_slack) == 1

    after = instance()  # a restarted process: nothing in memory
    assert deliver(after, "app_mention", event) == 200
    finish_listeners(after)

    assert answers(fake_slack) == 1


@pytest.mark.parametrize("kind", BUILDERS)
def test_a_delivery_acknowledged_by_an_instance_that_never_answered_is_answered_by_another(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """The first instance acknowledges the delivery and dies before answering it (its answer
    queue swallows the work); Slack will not resend an acknowledged event."""
    dying = instance()
    event = BUILDERS[kind](f"<@U0BOT> {QUESTION}")
    with monkeypatch.context() as dead:
        dead.setattr(AnswerSlots, "submit", lambda slots, work: None)
        assert deliver(dying, kind, event) == 200
        finish_listeners(dying)
    assert answers(fake_slack) == 0

    instance(inbox_sweep_seconds=0.1)  # finds it once the first instance's lease runs out

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    assert "admin" in str(answer.params).lower()
    eventually(lambda: done(shared_url, tmp_path, event["event_id"]), "the delivery done")
    assert answers(fake_slack) == 1
    assert reads(fake_slack) == []  # never marked sending: answered without looking first


def test_a_message_shortcut_acknowledged_by_an_instance_that_never_answered_it_is_answered(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "Ask Framework Advisor" on a message is claimed in the inbox before its ack, like a
    mention: when the instance that acknowledged it dies first, another one answers it, in the
    message's thread, once."""
    dying = instance()
    shortcut = message_shortcut(CallbackId.ASK_SHORTCUT, QUESTION)
    with monkeypatch.context() as dead:
        dead.setattr(AnswerSlots, "submit", lambda slots, work: None)
        assert deliver(dying, "message_shortcut", shortcut) == 200
        finish_listeners(dying)
    assert answers(fake_slack) == 0
    assert unanswered(shared_url, tmp_path) == 1

    instance(inbox_sweep_seconds=0.1)

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    assert answer.params["thread_ts"] == shortcut["message_ts"]
    assert "admin" in str(answer.params).lower()
    eventually(lambda: unanswered(shared_url, tmp_path) == 0, "the shortcut done")
    assert answers(fake_slack) == 1
    assert reads(fake_slack) == []


@pytest.mark.parametrize("callback_id", [CallbackId.ASK_SHORTCUT, CallbackId.DECIDE_SHORTCUT])
def test_a_message_shortcut_answered_at_once_is_not_answered_again_by_the_sweep(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    callback_id: CallbackId,
) -> None:
    app = instance(inbox_sweep_seconds=0.1)

    assert deliver(app, "message_shortcut", message_shortcut(callback_id, QUESTION)) == 200
    fake_slack.wait_for("chat.postMessage")
    eventually(lambda: unanswered(shared_url, tmp_path) == 0, "the shortcut done")

    instance(inbox_sweep_seconds=0.1)  # another sweeper, after the lease has run out
    time_enough = SHORT_LEASE.total_seconds() * 3
    with pytest.raises(AssertionError):
        fake_slack.wait_for("chat.postMessage", 2, timeout=time_enough)


# -- a reply that may have reached Slack before its process died -------------------------------

READS = ("conversations.replies", "conversations.history")
ASKED_IN = ("app_mention", "direct_message", "assistant_thread", "message_shortcut")


def reads(fake: FakeSlack) -> list[str]:
    """The conversations the app read (to look for a reply sent before a crash)."""
    return [call.method for call in fake.calls if call.method in READS]


def asked_in(where: str) -> tuple[str, dict[str, Any], str]:
    """QUESTION asked in a mention, a DM, an assistant thread of the DM, or with the message
    shortcut: (the request's kind, its payload, the method that reads where its reply goes)."""
    if where == "app_mention":
        return "app_mention", app_mention(f"<@U0BOT> {QUESTION}"), "conversations.replies"
    if where == "direct_message":
        return "direct_message", direct_message(QUESTION), "conversations.history"
    if where == "assistant_thread":
        thread = direct_message(QUESTION, thread_ts=unique_ts())
        return "direct_message", thread, "conversations.replies"
    shortcut = message_shortcut(CallbackId.ASK_SHORTCUT, QUESTION)
    return "message_shortcut", shortcut, "conversations.replies"


def inbox_key(kind: str, payload: dict[str, Any]) -> str:
    return (
        f"shortcut:{payload['trigger_id']}" if kind == "message_shortcut" else payload["event_id"]
    )


def dies_before_the_done_mark(
    instance: Callable[..., SlackWsgiApp],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    payload: dict[str, Any],
    *,
    reply_lost: bool = False,
) -> None:
    """An instance acknowledges the delivery, marks it sending, posts its reply (which reaches
    Slack, or with `reply_lost` never does) and dies before the done mark: nothing it would
    have written after the post reaches the database."""
    dying = instance()
    with monkeypatch.context() as dead:
        dead.setattr(Inbox, "finish", lambda inbox, event_id, records: None)
        if reply_lost:
            dead.setattr(Slack, "post_message", lambda slack, *args, **kwargs: Outcome(True))
        assert deliver(dying, kind, payload) == 200
        finish_listeners(dying)


def stored_question_uids(shared_url: str, tmp_path: Path) -> list[str]:
    return column(shared_url, tmp_path, questions.c.uid, questions.c.uid.is_not(None))


def named_question(call: Any) -> str:
    return call.params["metadata"]["event_payload"]["question_id"]


@pytest.mark.parametrize("where", ASKED_IN)
def test_a_reply_that_reached_slack_before_its_process_died_is_not_sent_again_and_is_stored(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    kind, payload, read = asked_in(where)
    dies_before_the_done_mark(instance, monkeypatch, kind, payload)
    [posted] = fake_slack.calls_to("chat.postMessage")
    assert unanswered(shared_url, tmp_path) == 1

    instance(inbox_sweep_seconds=0.1)

    eventually(lambda: done(shared_url, tmp_path, inbox_key(kind, payload)), "the delivery done")
    assert reads(fake_slack) == [read]
    assert answers(fake_slack) == 1
    assert stored_question_uids(shared_url, tmp_path) == [named_question(posted)]
    if where == "assistant_thread":  # the sweep's "is looking that up…" does not stay
        assert fake_slack.calls_to("assistant.threads.setStatus")[-1].params["status"] == ""


@pytest.mark.parametrize("where", ASKED_IN)
def test_a_delivery_whose_reply_never_reached_slack_is_answered_once_after_its_process_died(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    kind, payload, read = asked_in(where)
    dies_before_the_done_mark(instance, monkeypatch, kind, payload, reply_lost=True)
    assert answers(fake_slack) == 0
    [sent] = column(shared_url, tmp_path, events.c.reply_uid)

    instance(inbox_sweep_seconds=0.1)

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    eventually(lambda: done(shared_url, tmp_path, inbox_key(kind, payload)), "the delivery done")
    assert reads(fake_slack) == [read]
    assert named_question(answer) == sent  # the reply it looked for, now posted
    assert stored_question_uids(shared_url, tmp_path) == [sent]
    assert answers(fake_slack) == 1


@pytest.mark.parametrize(
    "failure",
    [{"error": "missing_scope"}, {"status": 503, "times": 5}],
    ids=["missing scope", "slack unavailable"],
)
def test_when_slack_cannot_say_whether_a_reply_arrived_the_question_is_answered_again(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: dict[str, Any],
) -> None:
    """At least once after the acknowledgement: answered twice rather than perhaps never."""
    monkeypatch.setattr(reply_check, "_reported", set())
    kind, payload, read = asked_in("app_mention")
    dies_before_the_done_mark(instance, monkeypatch, kind, payload)
    fake_slack.fail_next(read, **failure)

    # Slack's 503s are retried with a back-off of a second or two: a lease that lasts as long
    # as the check (the default's minute does) keeps the sweeper from leasing it again meanwhile
    instance(inbox_lease=timedelta(seconds=30), inbox_sweep_seconds=0.1)

    first, second = fake_slack.wait_for("chat.postMessage", 2, timeout=15)
    eventually(lambda: done(shared_url, tmp_path, inbox_key(kind, payload)), "the delivery done")
    assert named_question(second) == named_question(first)
    assert "answered again, perhaps twice" in caplog.text
    assert stored_question_uids(shared_url, tmp_path) == [named_question(first)]


def test_a_team_decision_posted_before_its_process_died_is_not_started_again(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """*Decide this as a team* on a message: the decision message was posted, and the process
    died before it stored where (and before the done mark)."""
    shortcut = message_shortcut(CallbackId.DECIDE_SHORTCUT, "Our new billing service")
    with monkeypatch.context() as dead:
        dead.setattr(DecisionStore, "set_message", lambda store, decision_id, ts: None)
        dies_before_the_done_mark(instance, monkeypatch, "message_shortcut", shortcut)
    [posted] = fake_slack.calls_to("chat.postMessage")
    assert column(shared_url, tmp_path, decisions.c.message_ts) == [None]

    instance(inbox_sweep_seconds=0.1)

    eventually(lambda: unanswered(shared_url, tmp_path) == 0, "the shortcut done")
    assert reads(fake_slack) == ["conversations.replies"]
    assert answers(fake_slack) == 1
    assert column(shared_url, tmp_path, decisions.c.message_ts) == [posted.response["ts"]]


def test_an_answer_that_waited_past_its_lease_while_another_instance_answered_is_dropped(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    shared_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backlog longer than the lease: the instance that claimed the mention gets to it only
    after another one leased and answered it. It finds the delivery taken when it marks it
    sending: it posts nothing and stores nothing."""
    slow = instance()
    waiting: list[Callable[[], None]] = []
    with monkeypatch.context() as backlog:
        backlog.setattr(AnswerSlots, "submit", lambda slots, work: waiting.append(work))
        event = app_mention(f"<@U0BOT> {QUESTION}")
        assert deliver(slow, "app_mention", event) == 200
        finish_listeners(slow)
    instance(inbox_sweep_seconds=0.1)
    fake_slack.wait_for("chat.postMessage", timeout=10)
    eventually(lambda: done(shared_url, tmp_path, event["event_id"]), "answered by the other")

    [answer_at_last] = waiting
    answer_at_last()

    assert answers(fake_slack) == 1
    assert reads(fake_slack) == []
    assert len(stored_question_uids(shared_url, tmp_path)) == 1


def test_a_sweep_leases_only_as_many_deliveries_as_there_is_room_to_answer_now(
    shared_url: str, tmp_path: Path
) -> None:
    """A row leased and then left queued behind a backlog would see that lease run out too,
    be leased again and again, and be given up unanswered."""
    dead = create_store(shared_url, tmp_path / "dead", inbox_lease=timedelta(0))
    sweeping = create_store(shared_url, tmp_path / "sweeping", inbox_lease=SHORT_LEASE)
    try:
        for number in range(5):
            dead.accept_delivery(f"Ev{number}", "T1", json.dumps({"event_id": f"Ev{number}"}))
        dispatched: list[Any] = []
        app = SimpleNamespace(dispatch=dispatched.append)

        busy = InboxSweeper(app, sweeping, SimpleNamespace(room=lambda: 0))  # type: ignore[arg-type]
        idle = InboxSweeper(app, sweeping, SimpleNamespace(room=lambda: 2))  # type: ignore[arg-type]

        assert busy.sweep_once() == 0
        assert idle.sweep_once() == 2
        assert len(dispatched) == 2
        assert sorted(column(shared_url, tmp_path, events.c.attempts)) == [0, 0, 0, 1, 1]
    finally:
        dead.close()
        sweeping.close()
