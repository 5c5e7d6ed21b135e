"""AnswerSlots: a bounded pool that answers at most N questions at once, each exactly once,
none left behind, while the listener thread that hands one over returns at once."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bot.slack.context import AnswerSlots


def test_a_question_is_answered_on_an_answering_thread_and_the_caller_returns_at_once() -> None:
    answer_slots = AnswerSlots(2)
    release = threading.Event()
    ran_in: list[threading.Thread] = []

    def answer() -> None:
        release.wait(5)
        ran_in.append(threading.current_thread())

    started = time.monotonic()
    answer_slots.submit(answer)
    returned_in = time.monotonic() - started
    release.set()
    answer_slots.shutdown(wait=True)

    assert returned_in < 0.5
    assert len(ran_in) == 1 and ran_in[0] is not threading.current_thread()
    assert ran_in[0].name.startswith("answer")


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_many_threads_never_answer_more_than_the_slots_at_once_and_answer_everything(
    slots: int,
) -> None:
    answer_slots = AnswerSlots(slots)
    lock = threading.Lock()
    running = 0
    most = 0
    done: list[int] = []

    def answer(number: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.001)
        with lock:
            running -= 1
            done.append(number)

    start = threading.Barrier(8)

    def listener(first: int) -> None:
        start.wait()
        for number in range(first, first + 25):
            answer_slots.submit(lambda number=number: answer(number))

    threads = [threading.Thread(target=listener, args=(index * 25,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answer_slots.shutdown(wait=True)

    assert sorted(done) == list(range(200))
    assert 1 <= most <= slots


def test_a_question_handed_over_while_every_slot_is_busy_waits_its_turn() -> None:
    answer_slots = AnswerSlots(1)
    holding = threading.Event()
    release = threading.Event()
    answered: list[str] = []

    def hold_the_slot() -> None:
        holding.set()
        release.wait(5)
        answered.append("first")

    answer_slots.submit(hold_the_slot)
    assert holding.wait(5)
    started = time.monotonic()
    answer_slots.submit(lambda: answered.append("queued"))
    returned_in = time.monotonic() - started
    assert answered == []  # the queued one waits for the slot

    release.set()
    answer_slots.shutdown(wait=True)
    assert returned_in < 0.5
    assert answered == ["first", "queued"]


def test_an_answer_that_fails_is_logged_and_the_next_ones_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer_slots = AnswerSlots(1)
    answered: list[str] = []

    def fail() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="bot.slack.context"):
        answer_slots.submit(fail)
        answer_slots.submit(lambda: answered.append("next"))
        answer_slots.shutdown(wait=True)

    assert answered == ["next"]
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)


def test_the_room_left_is_the_slots_and_as_many_again_less_the_questions_taken_on() -> None:
    answer_slots = AnswerSlots(2)
    release = threading.Event()
    assert answer_slots.room() == 4

    for _ in range(5):
        answer_slots.submit(lambda: release.wait(5) and None)
    assert answer_slots.room() == 0

    release.set()
    answer_slots.shutdown(wait=True)
    assert answer_slots.room() == 4
