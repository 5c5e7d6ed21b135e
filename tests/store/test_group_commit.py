"""Group commit: callers arriving while a transaction runs share the next one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from bot.store.group_commit import GroupCommit
from tests.support.waiting import eventually


def test_callers_that_arrive_during_a_commit_share_the_next_one_and_get_their_own_results() -> None:
    release = threading.Event()
    batches: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int | BaseException]:
        batches.append(list(items))
        release.wait(5)
        return [item * 10 if item != 3 else ValueError("three") for item in items]

    commits: GroupCommit[int, int] = GroupCommit(run)
    results: dict[int, int | str] = {}

    def call(item: int) -> None:
        try:
            results[item] = commits.submit(item)
        except ValueError as error:
            results[item] = str(error)

    leader = threading.Thread(target=call, args=(0,))
    leader.start()
    eventually(lambda: batches == [[0]], "the first commit running")
    followers = [threading.Thread(target=call, args=(item,)) for item in range(1, 6)]
    for follower in followers:
        follower.start()
    eventually(lambda: len(commits._waiting) == 5, "five callers waiting")
    release.set()
    for thread in (leader, *followers):
        thread.join()

    assert batches == [[0], [1, 2, 3, 4, 5]]
    assert results == {0: 0, 1: 10, 2: 20, 3: "three", 4: 40, 5: 50}


def test_a_failed_commit_fails_every_caller_in_it() -> None:
    def run(items: Sequence[int]) -> list[int | BaseException]:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        GroupCommit(run).submit(1)
