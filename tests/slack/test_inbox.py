"""The durable inbox end to end, in process: signed mentions and DMs to app instances sharing
one database are answered at most once however often they arrive, and one acknowledged by an
instance that never answered it is answered by another (SQLite here; PostgreSQL is `slow`)."""

from __future__ import annotations

import json
import shutil
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
from bot.store.engine import SQLITE_FILE_NAME
from bot.store.inbox import Inbox, Unfinished
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
from tests.support.store_test_helpers import LeaseClock
from tests.support.waiting import eventually

LEASE = timedelta(seconds=30)
"""Every instance's lease: it never runs out by itself while a test runs (a slow answer on a
loaded machine is not taken over); `lease_runs_out` says when it has."""
QUESTION = "does django have an admin panel"
BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "app_mention": app_mention,
    "direct_message": direct_message,
}


@pytest.fixture(params=("sqlite", pytest.param("postgresql", marks=pytest.mark.slow)))
def shared_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_store_dir: Path) -> str:
    """The DATABASE_URL the instances share (an SQLite one starts as a migrated copy)."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_store_dir / SQLITE_FILE_NAME, tmp_path / "shared.db")
        return f"sqlite:///{tmp_path / 'shared.db'}"
    server = request.getfixturevalue("postgres_url")
    return schema_url(server, request.getfixturevalue("postgres_schema"))


class Sweeps:
    """What an instance's inbox sweeper leased, sweep after sweep (it sweeps once at start)."""

    def __init__(self, store: Store) -> None:
        self.leased: list[list[Unfinished]] = []
        self._swept = threading.Condition()
        self._lease = store.lease_unfinished
        store.lease_unfinished = self._record  # type: ignore[method-assign]

    def _record(self, limit: int = 20) -> list[Unfinished]:
        leased: list[Unfinished] = []
        try:
            leased = self._lease(limit)
            return leased
        finally:
            with self._swept:
                self.leased.append(leased)
                self._swept.notify_all()

    def wait(self, count: int = 1) -> list[list[Unfinished]]:
        """Block until `count` sweeps have looked; what each of them leased."""
        with self._swept:
            assert self._swept.wait_for(lambda: len(self.leased) >= count, 10), "no sweep"
            return list(self.leased)


@pytest.fixture
def sweeps() -> dict[SlackWsgiApp, Sweeps]:
    """Each instance's Sweeps."""
    return {}


@pytest.fixture
def instance(
    shared_url: str,
    slack_settings: Settings,
    tmp_path: Path,
    sweeps: dict[SlackWsgiApp, Sweeps],
) -> Iterator[Callable[..., SlackWsgiApp]]:
    """instance(**settings) -> another app instance (its own store, memory and sweeper), once
    its sweeper has looked at the inbox the first time; its leases last LEASE."""
    stores: list[Store] = []

    def start(**settings: Any) -> SlackWsgiApp:
        store = create_store(shared_url, tmp_path / "data", inbox_lease=LEASE)
        stores.append(store)
        swept = Sweeps(store)
        app = create_wsgi_app(slack_settings.model_copy(update=settings), store=store)
        assert isinstance(app, SlackWsgiApp)
        sweeps[app] = swept
        swept.wait()
        return app

    yield start
    for store in stores:
        store.close()


@pytest.fixture
def lease_runs_out(lease_clock: LeaseClock) -> Callable[[], None]:
    """lease_runs_out(): the leases held so far run out (the instances' inbox clock moves on
    past them), as when the instance holding one died."""
    return lambda: lease_clock.advance(LEASE + timedelta(seconds=1))


@pytest.fixture
def checker(shared_url: str, tmp_path: Path) -> Iterator[Store]:
    """A store of the test's own on the shared database, to read what the instances wrote."""
    store = create_store(shared_url, tmp_path / "checker")
    yield store
    store.close()


def deliver(app: SlackWsgiApp, kind: str, event: dict[str, Any], **headers: str) -> int:
    body, signed = prepare(kind, event, secret=SIGNING_SECRET, headers=headers)
    return call_wsgi(app, "POST", "/slack/events", body, signed).status


def finish_listeners(*apps: SlackWsgiApp) -> None:
    for app in apps:
        finish_work(app.app)


def answers(fake: FakeSlack) -> int:
    return len(fake.calls_to("chat.postMessage"))


def unanswered(checker: Store) -> int:
    """Deliveries in the inbox acknowledged and not yet answered, on every instance."""
    return checker.inbox.unfinished_count()


def done(checker: Store, event_id: str) -> bool:
    [done_at] = column(checker, events.c.done_at, events.c.event_id == event_id)
    return done_at is not None


def column(checker: Store, what: Any, *where: Any) -> list[Any]:
    """One column of the rows `where` says, read by the test's own store."""
    with checker.engine.connect() as connection:
        return list(connection.execute(select(what).where(*where)).scalars())


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
    checker: Store,
    lease_runs_out: Callable[[], None],
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
    lease_runs_out()

    instance(inbox_sweep_seconds=0.1)  # its first sweep finds it

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    assert "admin" in str(answer.params).lower()
    eventually(lambda: done(checker, event["event_id"]), "the delivery done")
    assert answers(fake_slack) == 1
    assert reads(fake_slack) == []  # never marked sending: answered without looking first


def test_a_message_shortcut_acknowledged_by_an_instance_that_never_answered_it_is_answered(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
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
    assert unanswered(checker) == 1
    lease_runs_out()

    instance(inbox_sweep_seconds=0.1)

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    assert answer.params["thread_ts"] == shortcut["message_ts"]
    assert "admin" in str(answer.params).lower()
    eventually(lambda: unanswered(checker) == 0, "the shortcut done")
    assert answers(fake_slack) == 1
    assert reads(fake_slack) == []


@pytest.mark.parametrize("callback_id", [CallbackId.ASK_SHORTCUT, CallbackId.DECIDE_SHORTCUT])
def test_a_message_shortcut_answered_at_once_is_not_answered_again_by_the_sweep(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
    sweeps: dict[SlackWsgiApp, Sweeps],
    callback_id: CallbackId,
) -> None:
    app = instance(inbox_sweep_seconds=0.1)

    assert deliver(app, "message_shortcut", message_shortcut(callback_id, QUESTION)) == 200
    fake_slack.wait_for("chat.postMessage")
    eventually(lambda: unanswered(checker) == 0, "the shortcut done")
    lease_runs_out()

    other = instance(inbox_sweep_seconds=0.1)  # another sweeper, after the lease has run out

    finish_listeners(app, other)
    assert answers(fake_slack) == 1
    assert all(leased == [] for leased in sweeps[other].wait())  # it found nothing to answer
    assert all(leased == [] for leased in sweeps[app].wait())


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


def stored_question_uids(checker: Store) -> list[str]:
    return column(checker, questions.c.uid, questions.c.uid.is_not(None))


def named_question(call: Any) -> str:
    return call.params["metadata"]["event_payload"]["question_id"]


@pytest.mark.parametrize("where", ASKED_IN)
def test_a_reply_that_reached_slack_before_its_process_died_is_not_sent_again_and_is_stored(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    kind, payload, read = asked_in(where)
    dies_before_the_done_mark(instance, monkeypatch, kind, payload)
    [posted] = fake_slack.calls_to("chat.postMessage")
    assert unanswered(checker) == 1
    lease_runs_out()

    instance(inbox_sweep_seconds=0.1)

    eventually(lambda: done(checker, inbox_key(kind, payload)), "the delivery done")
    assert reads(fake_slack) == [read]
    assert answers(fake_slack) == 1
    assert stored_question_uids(checker) == [named_question(posted)]
    if where == "assistant_thread":  # the sweep's "is looking that up…" does not stay
        assert fake_slack.calls_to("assistant.threads.setStatus")[-1].params["status"] == ""


@pytest.mark.parametrize("where", ASKED_IN)
def test_a_delivery_whose_reply_never_reached_slack_is_answered_once_after_its_process_died(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    kind, payload, read = asked_in(where)
    dies_before_the_done_mark(instance, monkeypatch, kind, payload, reply_lost=True)
    assert answers(fake_slack) == 0
    [sent] = column(checker, events.c.reply_uid)
    lease_runs_out()

    instance(inbox_sweep_seconds=0.1)

    [answer] = fake_slack.wait_for("chat.postMessage", timeout=10)
    eventually(lambda: done(checker, inbox_key(kind, payload)), "the delivery done")
    assert reads(fake_slack) == [read]
    assert named_question(answer) == sent  # the reply it looked for, now posted
    assert stored_question_uids(checker) == [sent]
    assert answers(fake_slack) == 1


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"error": "missing_scope"}, id="missing scope"),
        # waits out slack_sdk's back-off between the 503s (a few seconds)
        pytest.param({"status": 503, "times": 5}, id="slack unavailable", marks=pytest.mark.slow),
    ],
)
def test_when_slack_cannot_say_whether_a_reply_arrived_the_question_is_answered_again(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: dict[str, Any],
) -> None:
    """At least once after the acknowledgement: answered twice rather than perhaps never."""
    monkeypatch.setattr(reply_check, "_reported", set())
    kind, payload, read = asked_in("app_mention")
    dies_before_the_done_mark(instance, monkeypatch, kind, payload)
    fake_slack.fail_next(read, **failure)
    lease_runs_out()

    # Slack's 503s are retried with a back-off of a second or two: the sweeper's lease (LEASE)
    # outlasts the check, so that it does not lease the delivery again meanwhile
    instance(inbox_sweep_seconds=0.1)

    first, second = fake_slack.wait_for("chat.postMessage", 2, timeout=15)
    eventually(lambda: done(checker, inbox_key(kind, payload)), "the delivery done")
    assert named_question(second) == named_question(first)
    assert "answered again, perhaps twice" in caplog.text
    assert stored_question_uids(checker) == [named_question(first)]


def test_a_team_decision_posted_before_its_process_died_is_not_started_again(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """*Decide this as a team* on a message: the decision message was posted, and the process
    died before it stored where (and before the done mark)."""
    shortcut = message_shortcut(CallbackId.DECIDE_SHORTCUT, "Our new billing service")
    with monkeypatch.context() as dead:
        dead.setattr(DecisionStore, "set_message", lambda store, decision_id, ts: None)
        dies_before_the_done_mark(instance, monkeypatch, "message_shortcut", shortcut)
    [posted] = fake_slack.calls_to("chat.postMessage")
    assert column(checker, decisions.c.message_ts) == [None]
    lease_runs_out()

    instance(inbox_sweep_seconds=0.1)

    eventually(lambda: unanswered(checker) == 0, "the shortcut done")
    assert reads(fake_slack) == ["conversations.replies"]
    assert answers(fake_slack) == 1
    assert column(checker, decisions.c.message_ts) == [posted.response["ts"]]


def test_an_answer_that_waited_past_its_lease_while_another_instance_answered_is_dropped(
    instance: Callable[..., SlackWsgiApp],
    fake_slack: FakeSlack,
    checker: Store,
    lease_runs_out: Callable[[], None],
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
    lease_runs_out()  # the backlog outlasted it
    instance(inbox_sweep_seconds=0.1)
    fake_slack.wait_for("chat.postMessage", timeout=10)
    eventually(lambda: done(checker, event["event_id"]), "answered by the other")

    [answer_at_last] = waiting
    answer_at_last()

    assert answers(fake_slack) == 1
    assert reads(fake_slack) == []
    assert len(stored_question_uids(checker)) == 1


def test_a_sweep_leases_only_as_many_deliveries_as_there_is_room_to_answer_now(
    shared_url: str, tmp_path: Path, checker: Store
) -> None:
    """A row leased and then left queued behind a backlog would see that lease run out too,
    be leased again and again, and be given up unanswered."""
    dead = create_store(shared_url, tmp_path / "dead", inbox_lease=timedelta(0))
    # A sweep waits up to half its lease for one of the deliveries it leased to be answered;
    # nothing answers them here.
    sweeping = create_store(shared_url, tmp_path / "sweeping", inbox_lease=timedelta(seconds=0.3))
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
        assert sorted(column(checker, events.c.attempts)) == [0, 0, 0, 1, 1]
    finally:
        dead.close()
        sweeping.close()
