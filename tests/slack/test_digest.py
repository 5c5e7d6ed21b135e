"""The curators' weekly digest, end to end against the fake Web API: sent once a week by one of
several instances (the store's claim decides which), to DIGEST_CHANNEL or else to each curator's
DM, sent again at the next check when Slack refused it, and shown now by `/framework digest`."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.live_knowledge import LiveKnowledge
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.platform.digest import DigestSender
from bot.slack.platform.messenger import Slack
from bot.store import Store, create_store
from tests.support.fake_slack import ADMIN_USER_ID, FakeSlack
from tests.support.slack_fixtures import BOT_TOKEN, Send
from tests.support.slack_requests import ALICE, BOB, slash_command
from tests.support.slack_test_helpers import assert_valid_block_kit
from tests.support.waiting import eventually

DIGEST_CHANNEL = "C0DIGEST"
HEADER = "Framework Advisor: this week for curators"
CLAIM_LOST = "is sent or being sent by another instance"


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


def due_now(settings: Settings, **changes: Any) -> Settings:
    """`settings` with the digest due from Monday 00:00 UTC (so: now) and checked often."""
    return settings.model_copy(
        update={"digest_weekday": 1, "digest_hour": 0, "digest_check_seconds": 0.05, **changes}
    )


@pytest.fixture
def instances(
    tmp_path: Path, migrated_store_dir: Path
) -> Iterator[Callable[[Settings, int], list[Store]]]:
    """instances(settings, n): n apps built by the factory, each with its own store on one
    SQLite file (as several processes would be); the stores (and so the digest threads) stop
    at the end of the test."""
    folder = tmp_path / "shared"
    shutil.copytree(migrated_store_dir, folder)
    stores: list[Store] = []

    def start(settings: Settings, count: int) -> list[Store]:
        for _ in range(count):
            store = create_store(None, folder)
            stores.append(store)
            create_app(settings, store=store)
        return stores

    yield start
    for store in stores:
        store.close()


def digests(fake: FakeSlack, channel: str | None = None) -> list[Any]:
    return [
        call
        for call in fake.calls_to("chat.postMessage", ok=True)
        if HEADER in str(call.params.get("blocks"))
        and (channel is None or call.params["channel"] == channel)
    ]


def test_two_instances_send_the_weeks_digest_once(
    fake_slack: FakeSlack,
    slack_settings: Settings,
    instances: Callable[[Settings, int], list[Store]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.slack.platform.digest")
    instances(due_now(slack_settings, digest_channel=DIGEST_CHANNEL), 2)

    [sent] = eventually(lambda: digests(fake_slack, DIGEST_CHANNEL), "the digest posted")
    # Both instances go on checking; only the one claim is ever won.
    eventually(lambda: caplog.text.count(CLAIM_LOST) >= 6, "six more checks after the send")
    assert digests(fake_slack) == [sent]
    assert "curators" in sent.params["text"]


def test_without_digest_channel_each_curator_gets_it_in_their_dm(
    fake_slack: FakeSlack,
    slack_settings: Settings,
    instances: Callable[[Settings, int], list[Store]],
) -> None:
    instances(due_now(slack_settings, curator_ids=f"{ALICE},{BOB}"), 2)

    sent = eventually(lambda: len(digests(fake_slack)) >= 2 and digests(fake_slack), "two DMs")
    opened = {call.params["users"] for call in fake_slack.calls_to("conversations.open")}
    assert opened == {ALICE, BOB}
    assert {call.params["channel"] for call in sent} == {"D0ALICE", "D0BOB"}


def test_a_digest_slack_refused_is_sent_at_the_next_check(
    fake_slack: FakeSlack,
    slack_settings: Settings,
    instances: Callable[[Settings, int], list[Store]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    instances(due_now(slack_settings, digest_channel=DIGEST_CHANNEL), 1)

    eventually(lambda: digests(fake_slack, DIGEST_CHANNEL), "the digest posted after all")
    assert len(fake_slack.calls_to("chat.postMessage", ok=False)) == 1
    assert "invite the app to DIGEST_CHANNEL" in caplog.text


def sender_at(now: datetime, settings: Settings, store: Store, fake: FakeSlack) -> DigestSender:
    """A digest sender whose clock says `now` (checked by hand, no thread)."""
    client = WebClient(token=BOT_TOKEN, base_url=fake.base_url)
    return DigestSender(Slack(client, []), store, LiveKnowledge(None), settings, clock=lambda: now)


def test_the_digest_waits_for_its_hour_and_is_sent_once_a_week(
    fake_slack: FakeSlack, slack_settings: Settings, slack_store: Store
) -> None:
    settings = slack_settings.model_copy(update={"digest_channel": DIGEST_CHANNEL})
    monday = datetime(2026, 11, 30, tzinfo=UTC)

    assert not sender_at(
        monday.replace(hour=8, minute=59), settings, slack_store, fake_slack
    ).check_once()
    assert digests(fake_slack) == []
    assert sender_at(monday.replace(hour=9), settings, slack_store, fake_slack).check_once()
    assert not sender_at(monday + timedelta(days=3), settings, slack_store, fake_slack).check_once()
    assert sender_at(
        monday + timedelta(days=7, hours=9), settings, slack_store, fake_slack
    ).check_once()
    assert len(digests(fake_slack, DIGEST_CHANNEL)) == 2


def test_a_curator_sees_the_digest_now_with_framework_digest(
    send: Send, fake_slack: FakeSlack
) -> None:
    send(
        "slash_command",
        slash_command("digest", user_id=ADMIN_USER_ID, response_url=fake_slack.response_url("d")),
    )

    [reply] = fake_slack.wait_for_response()
    assert HEADER in str(reply.body["blocks"])


def test_framework_digest_is_refused_to_someone_not_a_curator(
    send: Send, fake_slack: FakeSlack
) -> None:
    send("slash_command", slash_command("digest", response_url=fake_slack.response_url("d")))

    [reply] = fake_slack.wait_for_response()
    assert "only for curators" in reply.body["text"]
