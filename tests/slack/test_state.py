"""What the app keeps between requests: state that travels inside Slack (private_metadata and
button values) and the in-process event deduplicator."""

from __future__ import annotations

import threading

import pytest

from bot.render.block_kit import MAX_BUTTON_VALUE, MAX_PRIVATE_METADATA
from bot.slack.flows.questionnaire import result_buttons
from bot.slack.platform.redelivery import InMemoryDeduplicator
from bot.slack.wire.state import Destination, Place, QuestionnaireState, ResultValue, StateError

CHANNEL_RESULT = Destination(
    user="U0ALICE",
    channel="C0GENERAL",
    thread_ts="1700000000.000100",
    response_url="https://hooks.slack.com/commands/T0/1/abc",
)


def test_questionnaire_state_survives_the_round_trip_through_private_metadata() -> None:
    state = QuestionnaireState(
        step=3, answers={"size": ("large",), "needs": ("a", "b")}, to=CHANNEL_RESULT
    )

    assert QuestionnaireState.decode(state.encode_metadata()) == state


def test_a_fresh_state_encodes_compactly() -> None:
    encoded = QuestionnaireState(to=Destination.direct_message("U0ALICE")).encode_metadata()

    assert encoded == '{"to":{"user":"U0ALICE","dm":true}}'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"to": {"user": ""}}',
        '{"step": -1, "to": {"user": "U0ALICE"}}',
        '{"to": {"user": "U0ALICE"}, "admin": true}',
        '{"answers": {"q": 3}, "to": {"user": "U0ALICE"}}',
    ],
)
def test_unreadable_state_raises_state_error(text: str) -> None:
    with pytest.raises(StateError):
        QuestionnaireState.decode(text)


def test_state_over_slacks_limit_is_refused_when_encoded() -> None:
    huge = QuestionnaireState(answers={f"q{i}": ("x" * 60,) for i in range(60)}, to=CHANNEL_RESULT)

    with pytest.raises(StateError, match=str(MAX_PRIVATE_METADATA)):
        huge.encode_metadata()


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (Place(dm=True), Destination.direct_message("U0BOB")),
        (Place(), Destination.direct_message("U0BOB")),
        (
            Place(channel="C0GENERAL", thread_ts="1.2"),
            Destination(
                user="U0BOB", channel="C0GENERAL", thread_ts="1.2", response_url="https://r"
            ),
        ),
    ],
)
def test_a_start_button_sends_the_result_to_whoever_clicked_it(
    place: Place, expected: Destination
) -> None:
    decoded = Place.decode(place.encode_value())

    assert decoded.destination("U0BOB", "https://r") == expected


@pytest.mark.parametrize(
    ("to", "buttons"),
    [
        (CHANNEL_RESULT, {"share_in_channel", "share_in_thread", "start_over"}),
        (CHANNEL_RESULT.model_copy(update={"thread_ts": None}), {"share_in_channel", "start_over"}),
        (Destination.direct_message("U0ALICE"), {"start_over"}),
    ],
)
def test_result_buttons_depend_on_where_the_result_is(to: Destination, buttons: set[str]) -> None:
    made = result_buttons(to, {"size": ("large",)})

    given = {name for name, value in vars(made).items() if value is not None}
    assert given == buttons
    value = ResultValue.decode(made.start_over or "")
    assert (value.answers, value.to) == ({"size": ("large",)}, to)


def test_result_buttons_drop_the_response_url_rather_than_overflow_a_button_value() -> None:
    long_url = "https://hooks.slack.com/" + "x" * (MAX_BUTTON_VALUE - 100)
    to = CHANNEL_RESULT.model_copy(update={"response_url": long_url})

    made = result_buttons(to, {"size": ("large",)})

    assert made.start_over is not None
    assert len(made.start_over) <= MAX_BUTTON_VALUE
    assert ResultValue.decode(made.start_over).to.response_url is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_event_id_is_a_first_delivery_once_until_it_expires() -> None:
    clock = Clock()
    dedupe = InMemoryDeduplicator(ttl_seconds=60, clock=clock)

    assert dedupe.first_delivery("Ev1")
    assert not dedupe.first_delivery("Ev1")
    assert dedupe.first_delivery("Ev2")
    clock.now += 59
    assert not dedupe.first_delivery("Ev1")
    clock.now += 2
    assert dedupe.first_delivery("Ev1")


def test_the_deduplicator_forgets_the_oldest_ids_beyond_its_size() -> None:
    dedupe = InMemoryDeduplicator(max_entries=3, clock=Clock())
    for event_id in ("Ev1", "Ev2", "Ev3", "Ev4"):
        assert dedupe.first_delivery(event_id)

    assert len(dedupe) == 3
    assert dedupe.first_delivery("Ev1")
    assert not dedupe.first_delivery("Ev4")


def test_concurrent_deliveries_of_one_event_let_exactly_one_through() -> None:
    dedupe = InMemoryDeduplicator()
    results: list[bool] = []
    start = threading.Barrier(16)

    def deliver() -> None:
        start.wait()
        results.append(dedupe.first_delivery("EvSame"))

    threads = [threading.Thread(target=deliver) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 15 + [True]
