"""LiveKnowledge: reloads that keep the last good knowledge, and instances that follow a reload
published in the store (sync, follow) without reacting to what was published before they
started."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.knowledge import DEFAULT_KNOWLEDGE_DIR, KnowledgeError
from bot.live_knowledge import LiveKnowledge, folder_stamp
from bot.store import StoreUnavailable
from tests.support.waiting import eventually

ENTRY_FILE = "entries-basics.yaml"
OLD_TITLE = "What is the Django framework?"
NEW_TITLE = "Django, explained again"


class StampStore:
    """The store's knowledge stamp, with an outage switch."""

    def __init__(self, stamp: str | None = None, *, down: bool = False) -> None:
        self.stamp = stamp
        self.down = down
        self._stops: list[Callable[[], None]] = []

    def get_knowledge_stamp(self) -> str | None:
        if self.down:
            raise StoreUnavailable("the database is unavailable (test)")
        return self.stamp

    def set_knowledge_stamp(self, stamp: str) -> None:
        self.stamp = stamp

    def when_closed(self, stop: Callable[[], None]) -> None:
        self._stops.append(stop)

    def close(self) -> None:
        for stop in self._stops:
            stop()


@pytest.fixture
def folder(knowledge_dir: Callable[..., Path]) -> Path:
    """A copy of the shipped knowledge."""
    files = {path.stem: path.read_text("utf-8") for path in DEFAULT_KNOWLEDGE_DIR.glob("*.yaml")}
    return knowledge_dir(**files)


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / ENTRY_FILE
    path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")


def title(live: LiveKnowledge) -> str:
    return live.kb.entry("what-is-django").title


def started(folder: Path, store: StampStore) -> LiveKnowledge:
    """An instance as the app starts one: `folder` loaded, the store's stamp marked as seen."""
    live = LiveKnowledge(folder)
    live.mark_seen(store)
    return live


def reload_elsewhere(folder: Path, store: StampStore) -> LiveKnowledge:
    """What `/framework reload` does on another instance after the folder was edited."""
    other = LiveKnowledge(folder)
    store.set_knowledge_stamp(other.snapshot.stamp)
    return other


def test_folder_stamp_follows_the_files_content(folder: Path) -> None:
    before = folder_stamp(folder)
    edit(folder, OLD_TITLE, NEW_TITLE)

    assert folder_stamp(folder) != before
    edit(folder, NEW_TITLE, OLD_TITLE)
    assert folder_stamp(folder) == before
    assert folder_stamp(DEFAULT_KNOWLEDGE_DIR) == before


def test_reload_serves_the_edited_folder(folder: Path) -> None:
    live = LiveKnowledge(folder)
    edit(folder, OLD_TITLE, NEW_TITLE)

    snapshot = live.reload()

    assert snapshot is live.snapshot
    assert title(live) == NEW_TITLE
    assert snapshot.stamp == folder_stamp(folder)
    assert snapshot.matcher.match("what is django").best is not None


def test_a_folder_that_does_not_load_is_refused_and_the_old_knowledge_stays(folder: Path) -> None:
    live = LiveKnowledge(folder)
    before = live.snapshot
    edit(folder, f"    title: {OLD_TITLE}", f"    titel: {NEW_TITLE}")

    with pytest.raises(KnowledgeError) as raised:
        live.reload()

    assert any(
        (Path(p.file).name, p.line, p.field) == (ENTRY_FILE, 4, "entries[0].titel")
        for p in raised.value.problems
    )
    assert live.snapshot is before


def test_a_stamp_published_by_another_instance_reloads_this_ones_folder(folder: Path) -> None:
    store = StampStore()
    live = started(folder, store)
    edit(folder, OLD_TITLE, NEW_TITLE)
    other = reload_elsewhere(folder, store)

    assert live.sync(store) is True

    assert title(live) == NEW_TITLE
    assert live.snapshot.stamp == other.snapshot.stamp
    assert live.sync(store) is False


@pytest.mark.parametrize("published", ["own", "none"])
def test_nothing_is_reloaded_for_its_own_stamp_or_none(folder: Path, published: str) -> None:
    live = LiveKnowledge(folder)
    store = StampStore(live.snapshot.stamp if published == "own" else None)
    before = live.snapshot
    edit(folder, OLD_TITLE, NEW_TITLE)

    assert live.sync(store) is False
    assert live.snapshot is before


def test_a_stamp_published_before_the_instance_started_is_not_acted_on(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A rolling deploy: the new instance ships other files than the last curator's reload."""
    store = StampStore("0123456789abcdef")
    live = LiveKnowledge(folder)
    before = live.snapshot

    live.mark_seen(store)
    with caplog.at_level(logging.INFO, logger="bot.live_knowledge"):
        assert live.sync(store) is False

    assert live.snapshot is before
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert store.stamp == "0123456789abcdef"


def test_a_reload_published_while_the_instance_was_starting_is_followed(folder: Path) -> None:
    """A gunicorn worker still booting: it loaded the folder, then a curator's reload on another
    worker published the edited folder before this one started following."""
    store = StampStore()
    live = LiveKnowledge(folder)
    edit(folder, OLD_TITLE, NEW_TITLE)
    reload_elsewhere(folder, store)

    live.mark_seen(store)

    assert live.sync(store) is True
    assert title(live) == NEW_TITLE


def test_an_instance_serving_other_files_warns_once_per_published_stamp(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = StampStore()
    live = started(folder, store)
    before = live.snapshot

    for stamp in ("aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"):
        store.stamp = stamp
        assert live.sync(store) is False

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "aaaaaaaaaaaaaaaa" in warnings[0] and "bbbbbbbbbbbbbbbb" in warnings[1]
    assert live.snapshot is before


def test_a_published_reload_whose_folder_does_not_load_here_keeps_the_old_knowledge(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = StampStore()
    live = started(folder, store)
    edit(folder, f"    title: {OLD_TITLE}", f"    titel: {NEW_TITLE}")
    store.stamp = "cccccccccccccccc"

    assert live.sync(store) is False

    assert title(live) == OLD_TITLE
    # Only the knowledge's own log: another test's leftover thread may log elsewhere meanwhile.
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and r.name == "bot.live_knowledge"
    ]
    assert len(errors) == 1 and "entries[0].titel" in errors[0]


def test_a_store_that_is_down_is_skipped_and_logged_once_per_outage(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = StampStore(down=True)
    live = started(folder, store)

    for _ in range(3):
        assert live.sync(store) is False
    down = [r for r in caplog.records if "Cannot check for reloaded knowledge" in r.getMessage()]
    assert len(down) == 1
    assert "the database is unavailable (test)" in down[0].getMessage()


def test_the_first_stamp_read_after_an_outage_at_start_is_acted_on(folder: Path) -> None:
    """Started while the database was down: a reload published meanwhile is not missed."""
    store = StampStore(down=True)
    live = started(folder, store)
    edit(folder, OLD_TITLE, NEW_TITLE)
    store.down = False
    reload_elsewhere(folder, store)

    assert live.sync(store) is True
    assert title(live) == NEW_TITLE


def test_follow_syncs_on_a_thread_until_stopped(folder: Path) -> None:
    store = StampStore()
    live = LiveKnowledge(folder)
    follower = live.follow(store, 0.01)
    edit(folder, OLD_TITLE, NEW_TITLE)
    reload_elsewhere(folder, store)

    eventually(lambda: title(live) == NEW_TITLE, "the follower reloading")
    follower.stop()

    assert not follower.running
    edit(folder, NEW_TITLE, OLD_TITLE)
    reload_elsewhere(folder, store)
    assert live.sync(store) is True


def test_following_again_replaces_the_earlier_follower(folder: Path) -> None:
    live = LiveKnowledge(folder)
    first = live.follow(StampStore(), 0.01)

    second = live.follow(StampStore(), 0.01)

    assert not first.running
    assert second.running
    second.stop()


def test_the_follower_ends_when_its_knowledge_is_thrown_away(folder: Path) -> None:
    live = LiveKnowledge(folder)
    follower = live.follow(StampStore(), 0.01)

    del live
    gc.collect()

    eventually(lambda: not follower.running, "the follower stopping with its knowledge")


def test_the_follower_ends_when_its_store_is_closed(folder: Path) -> None:
    """A closed store's database may be gone (a test's schema dropped): no more syncs."""
    live = LiveKnowledge(folder)
    store = StampStore()
    follower = live.follow(store, 0.01)

    store.close()

    eventually(lambda: not follower.running, "the follower stopping with its store")
