"""`/framework stats` and `/framework reload` end to end: who may run them (CURATOR_IDS, admins
and owners per users.info), what the stats show of what the app recorded, for the asker's
workspace only, and reloads that change the answers, that are refused with the folder's
problems, and that reach a second app instance on the same store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.advisor import advise
from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeBase, load_knowledge
from bot.render.block_kit import escape
from bot.settings import Settings
from bot.slack.serving.wsgi import create_wsgi_app
from bot.store import Store, StoreUnavailable
from tests.support.fake_slack import ADMIN_USER_ID, OWNER_USER_ID, FakeSlack
from tests.support.slack_fixtures import SIGNING_SECRET, Send
from tests.support.slack_requests import (
    ALICE,
    TEAM_ID,
    app_mention,
    call_wsgi,
    prepare,
    slash_command,
)
from tests.support.slack_test_helpers import (
    answerable,
    assert_valid_block_kit,
    best_answers,
    recommend_by_command,
)
from tests.support.waiting import eventually

CURATOR = "U0CURATOR"
OTHER_TEAM = "T0OTHER"
ENTRY_FILE = "entries-basics"
OLD_TITLE = "What is the Django framework?"
NEW_TITLE = "Django, explained for curators"
DJANGO_QUESTION = "what is django"


@pytest.fixture(autouse=True)
def _sent_block_kit_is_valid(fake_slack: FakeSlack) -> Iterator[None]:
    yield
    assert_valid_block_kit(fake_slack)


@pytest.fixture
def knowledge_folder(knowledge_dir: Callable[..., Path]) -> Path:
    """A copy of the shipped knowledge that a test may edit, as KNOWLEDGE_DIR."""
    files = {path.stem: path.read_text("utf-8") for path in DEFAULT_KNOWLEDGE_DIR.glob("*.yaml")}
    return knowledge_dir(**files)


@pytest.fixture
def curator_settings(slack_settings: Settings, knowledge_folder: Path) -> Settings:
    return slack_settings.model_copy(
        update={"curator_ids": f"U0SOMEONE, {CURATOR}", "knowledge_dir": knowledge_folder}
    )


@pytest.fixture
def wsgi_app(curator_settings: Settings, slack_store: Store) -> Any:
    """The app on `slack_store`, with CURATOR_IDS and the editable knowledge folder."""
    return create_wsgi_app(curator_settings, store=slack_store)


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / f"{ENTRY_FILE}.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def run(send: Send, fake: FakeSlack, text: str, **fields: Any) -> dict[str, Any]:
    """Send `/framework text` and return the ephemeral reply posted to its response URL."""
    before = len(fake.responses)
    team = fields.pop("team_id", None)
    command = slash_command(text, response_url=fake.response_url("curator"), **fields)
    if team is not None:
        command["team_id"] = team
    response = send("slash_command", command)
    assert (response.status, response.body) == (200, "")
    reply = fake.wait_for_response(before + 1)[before].body
    assert reply["response_type"] == "ephemeral"
    return reply


def text_of(reply: dict[str, Any]) -> str:
    return json.dumps(reply.get("blocks", []), ensure_ascii=False) + reply.get("text", "")


def ask_title(send: Send, fake: FakeSlack, question: str = DJANGO_QUESTION) -> str:
    """The bold title of the answer `/framework ask question` gets."""
    reply = run(send, fake, f"ask {question}", user_id=ALICE)
    return reply["blocks"][0]["text"]["text"].split("\n")[0].strip("*")


def record_question(
    store: Store, text: str, entry_id: str | None, *, team: str = TEAM_ID, days_ago: float = 0
) -> None:
    store.record_question(
        team_id=team,
        channel_id="C0GENERAL",
        user_id=ALICE,
        text=text,
        entry_id=entry_id,
        score=0.9 if entry_id else None,
        asked_at=datetime.now(UTC) - timedelta(days=days_ago),
    )
    assert store.flush()  # written behind a queue: the stats that follow must see it


# -- who may ------------------------------------------------------------------------------


def test_a_curator_from_curator_ids_gets_stats_without_asking_slack(
    send: Send, fake_slack: FakeSlack
) -> None:
    reply = run(send, fake_slack, "stats", user_id=CURATOR)

    assert "Framework Advisor stats: the last 7 days" in text_of(reply)
    assert fake_slack.calls_to("users.info") == []


@pytest.mark.parametrize("user", [ADMIN_USER_ID, OWNER_USER_ID])
def test_workspace_admins_and_owners_get_stats_per_users_info(
    send: Send, fake_slack: FakeSlack, user: str
) -> None:
    reply = run(send, fake_slack, "stats 30d", user_id=user)

    assert "Framework Advisor stats: the last 30 days" in text_of(reply)
    assert [call.params["user"] for call in fake_slack.calls_to("users.info")] == [user]


@pytest.mark.parametrize("text", ["stats", "stats 30d", "stats whenever", "reload"])
def test_everyone_else_is_refused_politely_with_who_can(
    send: Send, fake_slack: FakeSlack, slack_store: Store, text: str
) -> None:
    reply = run(send, fake_slack, text, user_id=ALICE)

    subcommand = text.split()[0]
    assert f"Sorry, `/framework {subcommand}` is only for curators" in text_of(reply)
    for who in ("admins", "owners", "CURATOR_IDS"):
        assert who in text_of(reply)
    assert "Questions asked" not in text_of(reply)
    assert slack_store.get_knowledge_stamp() is None


def test_when_slack_cannot_say_who_is_an_admin_the_command_is_refused(
    send: Send, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.fail_next("users.info", error="user_not_found")

    reply = run(send, fake_slack, "stats", user_id=ADMIN_USER_ID)

    assert "couldn't check with Slack" in text_of(reply)
    assert "Questions asked" not in text_of(reply)
    assert "users.info" in caplog.text and "user_not_found" in caplog.text


# -- stats ----------------------------------------------------------------------------------


def test_stats_show_what_the_app_recorded(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb)
    mentions = [phrasing, phrasing, "how do I bake sourdough bread"]
    for text in mentions:
        send("app_mention", app_mention(f"<@U0BOT> {text}"))
    fake_slack.wait_for("chat.postMessage", len(mentions))
    verdicts = {}
    for framework in kb.frameworks:
        recommend_by_command(send, fake_slack, kb, framework.id)
        verdicts[framework.id] = advise(kb, best_answers(kb, framework.id)).verdict
    for helpful, user in [(True, "U0A"), (True, "U0B"), (False, "U0C")]:
        slack_store.record_vote(
            team_id=TEAM_ID,
            user_id=user,
            message_key="C0GENERAL:1.0",
            target_kind="entry",
            target_id=entry.id,
            question=phrasing,
            helpful=helpful,
        )
    assert slack_store.flush()  # the votes are written behind a queue

    reply = text_of(run(send, fake_slack, "stats", user_id=CURATOR))

    assert "*Questions asked:* 3" in reply
    assert "*Answered:* 2 (67%)" in reply
    assert "*Not sure:* 1 (33%)" in reply
    assert f"{escape(entry.title)} — 2 questions" in reply
    assert f"{escape(entry.title)} — 67% helpful (2 of 3 votes)" in reply
    assert "“how do i bake sourdough bread” — 1 time, last on" in reply
    assert f"*Recommendations:* {len(kb.frameworks)}" in reply
    labels = {"clear": "1 clear choice", "close": "1 close call"}
    for framework in kb.frameworks:
        assert f"{escape(framework.name)} — 1 (" in reply
        assert labels[verdicts[framework.id]] in reply


def test_stats_list_the_answers_with_the_most_thumbs_down_and_why(
    send: Send, fake_slack: FakeSlack, slack_store: Store, kb: KnowledgeBase
) -> None:
    entry, phrasing = answerable(kb)
    voted_at = datetime.now(UTC) - timedelta(minutes=1)
    for user, why, note in [
        ("U0A", "out_of_date", "<!here> Django 5.2 changed it"),
        ("U0B", None, None),
    ]:
        vote = {
            "team_id": TEAM_ID,
            "user_id": user,
            "message_key": "C0GENERAL:1.0",
            "target_kind": "entry",
            "target_id": entry.id,
            "question": phrasing,
        }
        slack_store.record_vote(**vote, helpful=False, voted_at=voted_at)
        if why is not None:
            slack_store.record_vote_reason(**vote, voted_at=voted_at, reason=why, note=note)
    assert slack_store.flush()

    reply = text_of(run(send, fake_slack, "stats", user_id=CURATOR))

    assert "*Most 👎, and why*" in reply
    assert f"{escape(entry.title)} — 2 👎: It's out of date (1)" in reply
    assert "“&lt;!here&gt; Django 5.2 changed it”" in reply
    assert "<!here>" not in reply


def test_stats_show_only_the_askers_workspace(
    send: Send, fake_slack: FakeSlack, slack_store: Store
) -> None:
    record_question(slack_store, "is there a cheese plugin", None, team=TEAM_ID)
    record_question(slack_store, "can flask juggle", None, team=OTHER_TEAM)
    record_question(slack_store, "can flask juggle", None, team=OTHER_TEAM)

    ours = text_of(run(send, fake_slack, "stats", user_id=CURATOR))
    theirs = text_of(run(send, fake_slack, "stats", user_id=CURATOR, team_id=OTHER_TEAM))

    assert "cheese" in ours and "juggle" not in ours
    assert "*Questions asked:* 1" in ours
    assert "juggle" in theirs and "cheese" not in theirs
    assert "*Questions asked:* 2" in theirs


@pytest.mark.parametrize(
    ("period", "label", "asked"),
    [
        ("", "the last 7 days", 1),
        ("7d", "the last 7 days", 1),
        ("30d", "the last 30 days", 2),
        ("30 days", "the last 30 days", 2),
        ("1d", "the last day", 1),
        ("90D", "the last 90 days", 3),
    ],
)
def test_the_period_sets_the_window(
    send: Send, fake_slack: FakeSlack, slack_store: Store, period: str, label: str, asked: int
) -> None:
    for days_ago in (0.5, 10, 60):
        record_question(slack_store, f"asked {days_ago} days ago", None, days_ago=days_ago)

    reply = text_of(run(send, fake_slack, f"stats {period}", user_id=CURATOR))

    assert f"Framework Advisor stats: {label}" in reply
    assert f"*Questions asked:* {asked}" in reply


@pytest.mark.parametrize("period", ["7w", "0d", "366d", "yesterday", "-7d", "<!channel>"])
def test_a_period_that_is_not_a_number_of_days_says_what_is_accepted(
    send: Send, fake_slack: FakeSlack, period: str
) -> None:
    reply = text_of(run(send, fake_slack, f"stats {period}", user_id=CURATOR))

    assert "I don't know the period" in reply
    for accepted in ("`7d`", "`30d`", "`365d`"):
        assert accepted in reply
    assert "<!channel>" not in reply


def test_an_empty_period_says_nothing_happened(
    send: Send, fake_slack: FakeSlack, slack_store: Store
) -> None:
    record_question(slack_store, "an old question", None, days_ago=20)

    reply = text_of(run(send, fake_slack, "stats 7d", user_id=CURATOR))

    assert "Nothing was asked or recommended here in the last 7 days." in reply
    assert "Questions asked" not in reply


def test_an_entry_no_longer_in_the_knowledge_is_shown_by_its_id(
    send: Send, fake_slack: FakeSlack, slack_store: Store
) -> None:
    record_question(slack_store, "what about the retired topic", "retired-topic")

    reply = text_of(run(send, fake_slack, "stats", user_id=CURATOR))

    assert "`retired-topic` — 1 question" in reply


def test_unanswered_questions_are_shown_escaped_and_shortened(
    send: Send, fake_slack: FakeSlack, slack_store: Store
) -> None:
    for number in range(15):
        record_question(slack_store, f"<!channel> <@U0BOB> question {number} " + "x" * 400, None)

    reply = text_of(run(send, fake_slack, "stats", user_id=CURATOR))

    assert "<!channel>" not in reply and "<@U0BOB>" not in reply
    assert "x" * 200 not in reply
    assert reply.count("— 1 time, last on") == 10


def test_stats_without_a_database_say_so_and_questions_are_still_answered(
    send: Send,
    fake_slack: FakeSlack,
    slack_store: Store,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("the database is unavailable (test)")

    monkeypatch.setattr(slack_store, "stats", unavailable)

    reply = text_of(run(send, fake_slack, "stats", user_id=CURATOR))

    assert "stats are unavailable right now, the database can't be reached" in reply
    assert "questions are still answered" in reply
    assert "the database is unavailable (test)" in caplog.text
    assert ask_title(send, fake_slack) == OLD_TITLE


# -- reload ---------------------------------------------------------------------------------


def test_reload_serves_the_edited_folder_and_publishes_its_stamp(
    send: Send, fake_slack: FakeSlack, slack_store: Store, knowledge_folder: Path
) -> None:
    assert ask_title(send, fake_slack) == OLD_TITLE
    edit(knowledge_folder, OLD_TITLE, NEW_TITLE)

    reply = text_of(run(send, fake_slack, "reload", user_id=CURATOR))

    stamp = slack_store.get_knowledge_stamp()
    kb = load_knowledge(knowledge_folder)
    assert stamp is not None and f"now serving `{stamp}`" in reply
    assert f"{len(kb.entries)} entries, {len(kb.companies)} companies" in reply
    assert ask_title(send, fake_slack) == NEW_TITLE


def test_reload_of_an_unchanged_folder_says_nothing_changed(
    send: Send, fake_slack: FakeSlack
) -> None:
    reply = text_of(run(send, fake_slack, "reload", user_id=CURATOR))

    assert "no file changed" in reply


def test_a_broken_folder_is_refused_with_its_problems_and_the_old_answers_stay(
    send: Send, fake_slack: FakeSlack, slack_store: Store, knowledge_folder: Path
) -> None:
    edit(knowledge_folder, f"    title: {OLD_TITLE}", f"    titel: {NEW_TITLE}")

    reply = text_of(run(send, fake_slack, "reload", user_id=CURATOR))

    assert "I didn't reload the knowledge" in reply
    assert "still serving the last good knowledge" in reply
    assert f"{ENTRY_FILE}.yaml:4: entries[0].titel: is not a known field" in reply
    assert "(did you mean 'title'?)" in reply  # one mistake, one problem
    assert slack_store.get_knowledge_stamp() is None
    assert ask_title(send, fake_slack) == OLD_TITLE


def test_a_folder_with_very_many_problems_is_listed_within_slacks_limits(
    send: Send, fake_slack: FakeSlack, knowledge_folder: Path
) -> None:
    (knowledge_folder / "sources.yaml").unlink()

    reply = text_of(run(send, fake_slack, "reload", user_id=CURATOR))

    assert "unknown source" in reply
    assert "more. `framework-bot kb check` lists all." in reply
    assert ask_title(send, fake_slack) == OLD_TITLE


def test_a_reload_reaches_another_instance_on_the_same_store(
    send: Send,
    fake_slack: FakeSlack,
    slack_store: Store,
    curator_settings: Settings,
    knowledge_folder: Path,
) -> None:
    second = create_wsgi_app(
        curator_settings.model_copy(update={"knowledge_sync_seconds": 0.05}), store=slack_store
    )
    send_to_second = signed_sender(second)
    assert ask_title(send_to_second, fake_slack) == OLD_TITLE
    edit(knowledge_folder, OLD_TITLE, NEW_TITLE)

    run(send, fake_slack, "reload", user_id=CURATOR)

    eventually(
        lambda: ask_title(send_to_second, fake_slack) == NEW_TITLE,
        "the second instance reloading",
        interval=0.05,
    )


def signed_sender(app: Any) -> Send:
    """`send` for another app instance."""

    def send(kind: str, payload: Any, **options: Any) -> Any:
        body, headers = prepare(kind, payload, secret=SIGNING_SECRET, **options)
        return call_wsgi(app, "POST", "/slack/events", body, headers)

    return send  # type: ignore[return-value]
