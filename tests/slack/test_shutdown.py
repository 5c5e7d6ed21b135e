"""Closing the store ends the app's background work at once: the threads that work on the store
(the inbox sweep, the knowledge follower, the health reports, the weekly digest) stop without
waiting for their next look, and the app they held can be freed."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from bot.settings import Settings
from bot.slack.app import create_app
from bot.store import create_store
from tests.support.waiting import eventually

BACKGROUND = {"inbox-sweeper", "knowledge-sync", "health-reporter", "digest-sender"}


def test_closing_the_store_stops_the_apps_background_threads_and_frees_the_app(
    slack_settings: Settings, tmp_path: Path, migrated_copy: Callable[[Path], Path]
) -> None:
    settings = slack_settings.model_copy(update={"digest_channel": "C0DIGEST"})
    before = set(threading.enumerate())
    store = create_store(None, migrated_copy(tmp_path / "store"))
    app = create_app(settings, store=store)
    started = [t for t in set(threading.enumerate()) - before if t.name in BACKGROUND]
    assert {thread.name for thread in started} == BACKGROUND
    freed = weakref.ref(app)
    del app

    store.close()

    # Each of them would otherwise look again only after 10 s to 5 minutes.
    eventually(lambda: not any(t.is_alive() for t in started), "the threads ending", timeout=5)
    gc.collect()
    assert freed() is None
