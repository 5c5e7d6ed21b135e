"""AnswerSlots: at most N questions answered at once, each exactly once, none left behind,
and a listener thread that finds no slot free returns at once."""

from __future__ import annotations

import threading
import time

import pytest

from bot.slack.context import AnswerSlots


def test_a_question_is_answered_in_the_calling_thread_when_a_slot_is_free() -> None:
    ran_in: list[threading.Thread] = []
    AnswerSlots(2).submit(lambda: ran_in.append(threading.current_thread()))
    assert ran_in == [threading.current_thread()]


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

    assert sorted(done) == list(range(200))
    assert 1 <= most <= slots


def test_a_thread_that_finds_no_free_slot_queues_and_returns_at_once() -> None:
    answer_slots = AnswerSlots(1)
    holding = threading.Event()
    release = threading.Event()
    answered: list[str] = []

    def hold_the_slot() -> None:
        holding.set()
        release.wait(5)

    holder = threading.Thread(target=answer_slots.submit, args=(hold_the_slot,))
    holder.start()
    assert holding.wait(5)

    started = time.monotonic()
    answer_slots.submit(lambda: answered.append("queued"))
    returned_in = time.monotonic() - started
    assert answered == []  # waiting for the slot's holder

    release.set()
    holder.join(5)
    assert returned_in < 0.5
    assert answered == ["queued"]  # answered by the thread that held the slot
