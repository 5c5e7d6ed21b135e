"""/healthz gives the store's state over every instance, from the database: whichever gunicorn
worker (or instance) answers, the figures are the same (each instance writes its own records
waiting and lost there; the inbox and the newest record are read from the tables)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.slack.app import finish_work
from bot.slack.context import AnswerSlots
from bot.slack.serving.wsgi import SlackWsgiApp, create_wsgi_app
from bot.store import Store, create_store
from bot.store.engine import SQLITE_FILE_NAME
from tests.support.fake_slack import FakeSlack
from tests.support.slack_fixtures import SIGNING_SECRET
from tests.support.slack_requests import app_mention, call_wsgi, prepare
from tests.support.waiting import eventually

Instance = tuple[SlackWsgiApp, Store]


@pytest.fixture
def instance(
    slack_settings: Settings, tmp_path: Path, migrated_store_dir: Path
) -> Iterator[Callable[[], Instance]]:
    """instance() -> another app (a gunicorn worker, say) on one shared SQLite file."""
    shutil.copyfile(migrated_store_dir / SQLITE_FILE_NAME, tmp_path / "shared.db")
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = slack_settings.model_copy(update={"health_report_seconds": 0.1})
    stores: list[Store] = []

    def start() -> Instance:
        store = create_store(url, tmp_path / "data")
        stores.append(store)
        app = create_wsgi_app(settings, store=store)
        assert isinstance(app, SlackWsgiApp)
        return app, store

    yield start
    for store in stores:
        store.close()


def health(app: SlackWsgiApp) -> dict[str, Any]:
    response = call_wsgi(app, "GET", "/healthz")
    assert response.status == 200
    report: dict[str, Any] = response.json()
    return report


def lose_a_record(store: Store) -> None:
    """A record the database refuses (no workspace): written alone, then dropped and counted."""
    store.record_question(
        team_id=None,  # type: ignore[arg-type]
        channel_id="C1",
        user_id="U1",
        text="x",
        entry_id=None,
        score=None,
    )
    eventually(lambda: store.health().dropped == 1, "the record refused")


def test_every_worker_reports_the_records_another_worker_lost(
    instance: Callable[[], Instance],
) -> None:
    (first, first_store), (second, _) = instance(), instance()

    lose_a_record(first_store)

    eventually(lambda: health(second)["records_lost"] == 1, "the other worker's loss counted")
    for app in (first, second):
        report = health(app)
        assert report["records_lost"] == 1
        assert report["records_waiting"] == 0
        assert report["figures"] == "every instance's (2 reporting)"
    assert health(second)["this_worker"] == {"records_waiting": 0, "records_lost": 0}
    assert health(first)["this_worker"]["records_lost"] == 1


def test_every_worker_reports_the_mention_one_acknowledged_and_has_not_answered(
    instance: Callable[[], Instance],
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (first, _), (second, _) = instance(), instance()
    body, headers = prepare(
        "app_mention", app_mention("<@U0BOT> does django have an admin"), secret=SIGNING_SECRET
    )
    with monkeypatch.context() as stuck:
        stuck.setattr(AnswerSlots, "submit", lambda slots, work: None)
        assert call_wsgi(first, "POST", "/slack/events", body, headers).status == 200
        finish_work(first.app)

    reports = [health(first), health(second)]

    assert [report["inbox_unanswered"] for report in reports] == [1, 1]
    assert reports[0]["oldest_unanswered_at"] == reports[1]["oldest_unanswered_at"] is not None
    assert fake_slack.calls_to("chat.postMessage") == []


def test_the_newest_record_is_the_same_on_every_worker(
    instance: Callable[[], Instance], fake_slack: FakeSlack
) -> None:
    (first, _), (second, _) = instance(), instance()
    body, headers = prepare(
        "app_mention", app_mention("<@U0BOT> does django have an admin"), secret=SIGNING_SECRET
    )

    assert call_wsgi(first, "POST", "/slack/events", body, headers).status == 200
    fake_slack.wait_for("chat.postMessage")

    eventually(lambda: health(second)["last_record_at"] is not None, "the question stored")
    assert health(first)["last_record_at"] == health(second)["last_record_at"]
