"""Every instance's health figures, written to the database and added up by any instance."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.store import Store, StoreUnavailable
from tests.support.waiting import eventually


def test_any_instance_adds_up_the_figures_every_instance_wrote(
    make_store: Callable[..., Store],
) -> None:
    first, second = make_store(), make_store()
    first.accept_delivery("Ev1", "T1", "{}")  # acknowledged, not answered

    first.report_health()
    shared = second.shared_health()

    assert shared.instances == 2
    assert (shared.records_waiting, shared.records_lost) == (0, 0)
    assert shared.inbox_unanswered == 1
    assert shared.oldest_unanswered_at is not None
    assert shared.last_record_at is None


def test_figures_of_an_instance_that_stopped_writing_them_are_left_out(
    make_store: Callable[..., Store],
) -> None:
    gone, here = make_store(), make_store()
    reporter = here.report_health_every(0.05)  # figures count for three intervals: 0.15 s
    try:
        gone.report_health()  # once, and never again
        assert here.shared_health().instances == 2

        eventually(lambda: here.shared_health().instances == 1, "the silent instance left out")
    finally:
        reporter.stop()


def test_with_the_database_down_the_figures_cannot_be_read(
    make_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store()
    monkeypatch.setattr(store.availability, "may_try", lambda: False)

    with pytest.raises(StoreUnavailable):
        store.shared_health()
