"""Looking in Slack for a reply sent before a crash (bot/slack/platform/reply_check.py), against
the fake Slack: the bot's own message after the question, naming the reply's id in its
metadata, in the question's thread or (a DM answered outside a thread) in the DM."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot.slack.platform import reply_check
from bot.slack.platform.messenger import Slack
from bot.slack.platform.reply_check import ReplyPlace, Seen, Sender, find_reply
from tests.support.fake_slack import BOT_ID, BOT_USER_ID, FakeSlack
from tests.support.slack_fixtures import BOT_TOKEN

CHANNEL, DM = "C0GENERAL", "D0ALICE"
BOT = Sender(BOT_USER_ID, BOT_ID)


@pytest.fixture
def slack(fake_slack: FakeSlack) -> Slack:
    return Slack(WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url), [])


@pytest.fixture(autouse=True)
def _nothing_reported_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reply_check, "_reported", set())


def naming(reply_uid: str) -> dict[str, object]:
    return {"event_type": "framework_answer", "event_payload": {"question_id": reply_uid}}


def question_in(fake: FakeSlack, channel: str, thread_ts: str | None = None) -> str:
    return fake.add_message(channel, "orm?", user="U0ALICE", thread_ts=thread_ts)["ts"]


@pytest.mark.parametrize("in_thread", [True, False], ids=["thread", "dm"])
def test_the_bots_reply_naming_the_id_is_found_after_its_question(
    slack: Slack, fake_slack: FakeSlack, in_thread: bool
) -> None:
    channel = CHANNEL if in_thread else DM
    asked = question_in(fake_slack, channel)
    thread_ts = asked if in_thread else None
    slack.client.chat_postMessage(
        channel=channel, text="other", thread_ts=thread_ts, metadata=naming("other")
    )
    posted = slack.client.chat_postMessage(
        channel=channel, text="the reply", thread_ts=thread_ts, metadata=naming("r1")
    )

    found = find_reply(slack, ReplyPlace(channel, thread_ts, after_ts=asked), "r1", BOT)

    assert found.seen is Seen.THERE
    assert found.message is not None and found.message["ts"] == posted["ts"]
    [read] = fake_slack.calls_to("conversations.replies" if in_thread else "conversations.history")
    assert read.params["include_all_metadata"] == "1"
    assert read.params["oldest"] == asked


def test_a_reply_before_the_question_or_in_another_thread_or_by_someone_else_is_not_it(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    earlier = question_in(fake_slack, CHANNEL)
    slack.client.chat_postMessage(
        channel=CHANNEL, text="old", thread_ts=earlier, metadata=naming("r1")
    )
    asked = question_in(fake_slack, CHANNEL, thread_ts=earlier)  # later, in the same thread
    other = question_in(fake_slack, CHANNEL)
    slack.client.chat_postMessage(
        channel=CHANNEL, text="elsewhere", thread_ts=other, metadata=naming("r1")
    )
    slack.client.chat_postMessage(
        channel=CHANNEL, text="theirs", thread_ts=earlier, metadata=naming("r1")
    )
    someone_else = Sender("U0OTHERBOT", "B0OTHER")

    found = find_reply(slack, ReplyPlace(CHANNEL, earlier, after_ts=asked), "r1", someone_else)

    assert found.seen is Seen.ABSENT


def test_a_thread_slack_does_not_know_holds_no_reply(slack: Slack, fake_slack: FakeSlack) -> None:
    asked = question_in(fake_slack, CHANNEL)
    fake_slack.reset()  # the message is gone (deleted), and nothing was posted under it

    found = find_reply(slack, ReplyPlace(CHANNEL, asked, after_ts=asked), "r1", BOT)

    assert found.seen is Seen.ABSENT


def test_the_reply_is_found_on_a_later_page(
    slack: Slack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reply_check, "PAGE", 2)
    asked = question_in(fake_slack, DM)
    posted = slack.client.chat_postMessage(channel=DM, text="reply", metadata=naming("r1"))
    for number in range(4):
        slack.client.chat_postMessage(channel=DM, text=f"later {number}")

    found = find_reply(slack, ReplyPlace(DM, None, after_ts=asked), "r1", BOT)

    assert found.message is not None and found.message["ts"] == posted["ts"]
    assert len(fake_slack.calls_to("conversations.history")) == 3


@pytest.mark.parametrize(
    ("status", "error"), [(200, "missing_scope"), (200, "not_in_channel"), (404, "not_found")]
)
def test_when_slack_cannot_be_asked_the_answer_is_unknown_and_the_reason_is_logged_once(
    slack: Slack,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    status: int,
    error: str,
) -> None:
    asked = question_in(fake_slack, CHANNEL)
    fake_slack.fail_next("conversations.replies", status=status, error=error, times=2)
    place = ReplyPlace(CHANNEL, asked, after_ts=asked)

    with caplog.at_level(logging.DEBUG, logger=reply_check.__name__):
        first = find_reply(slack, place, "r1", BOT)
        second = find_reply(slack, place, "r1", BOT)

    assert first.seen is second.seen is Seen.UNKNOWN
    assert first.error == error
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert first.error in warnings[0].getMessage()
    if error == "missing_scope":
        assert "reinstall" in warnings[0].getMessage()
