"""How the listeners are wired: every module under bot/slack/listeners is a surface whose
`register(app)` wires module-level functions of its own (no closures over the AppContext; it
reaches them through Bolt's context), and the AppContext is there for every request."""

from __future__ import annotations

import copy
import logging
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import Any, cast

import pytest
from slack_bolt import App, BoltContext
from slack_bolt.response import BoltResponse

from bot.live_knowledge import LiveKnowledge
from bot.slack import listeners
from bot.slack.context import APP_CONTEXT_KEY, AppContext, app_context_of, find_app_context
from bot.slack.listeners import errors
from bot.slack.platform.redelivery import InMemoryDeduplicator
from bot.store import Store
from tests.support.slack_requests import ALICE

Listener = Callable[..., Any]


class WiringRecorder:
    """Stands in for the Bolt App: records each function `register` hands to
    `app.<kind>(matcher)(function)`, `app.error(function)` or `app.use(middleware)`."""

    def __init__(self) -> None:
        self.wired: list[tuple[str, Listener]] = []

    def __getattr__(self, kind: str) -> Callable[..., Any]:
        def listen(*args: Any, **options: Any) -> Any:
            if kind in {"error", "use"}:
                self.wired.append((kind, args[0]))
                return args[0]

            def wire(function: Listener) -> Listener:
                self.wired.append((kind, function))
                return function

            return wire

        return listen


def wiring_of(surface: ModuleType) -> list[tuple[str, Listener]]:
    recorder = WiringRecorder()
    surface.register(cast(App, recorder))
    return recorder.wired


def test_every_listener_module_is_a_registered_surface() -> None:
    modules = {info.name for info in pkgutil.iter_modules(listeners.__path__)}

    assert modules == {surface.__name__.rpartition(".")[2] for surface in listeners.SURFACES}


@pytest.mark.parametrize(
    "surface", listeners.SURFACES, ids=[s.__name__.rpartition(".")[2] for s in listeners.SURFACES]
)
def test_a_surface_wires_only_module_level_functions_of_its_own(surface: ModuleType) -> None:
    wired = wiring_of(surface)

    assert wired, f"{surface.__name__}.register wires no listener"
    for kind, function in wired:
        if kind == "use":  # a middleware: an instance of one of the surface's own classes
            function = type(function)
        where = f"{surface.__name__}: app.{kind}({function.__qualname__})"
        assert "<locals>" not in function.__qualname__, f"{where} is a closure"
        assert function.__module__ == surface.__name__, f"{where} comes from elsewhere"
        assert getattr(surface, function.__name__, None) is function, f"{where} is not top-level"


def test_the_app_context_is_read_back_from_the_request_context(app_context: AppContext) -> None:
    context = BoltContext({APP_CONTEXT_KEY: app_context})

    assert app_context_of(context) is app_context


def test_a_request_context_without_the_app_context_is_a_clear_error() -> None:
    assert find_app_context(BoltContext()) is None
    with pytest.raises(RuntimeError, match="ProvideAppContext"):
        app_context_of(BoltContext())


def test_a_lazy_listeners_copy_of_the_context_shares_the_apps_context(
    app_context: AppContext,
) -> None:
    copied = BoltContext({APP_CONTEXT_KEY: app_context}).to_copyable()

    assert app_context_of(copied) is app_context
    assert copy.deepcopy(app_context) is app_context


def test_an_error_before_the_app_context_is_set_is_logged_and_answered_200(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    body = {"type": "block_actions", "user": {"id": ALICE}}

    response = errors.handle_error(
        RuntimeError("boom"), body, BoltResponse(status=500, body=""), BoltContext()
    )

    assert response is not None and response.status == 200
    logged = [r.getMessage() for r in caplog.records]
    assert any("Unhandled error for block_actions" in m for m in logged), logged
    assert any(f"Not telling user={ALICE}" in m for m in logged), logged


@pytest.fixture
def app_context(slack_store: Store) -> AppContext:
    return AppContext(
        knowledge=LiveKnowledge(None), dedupe=InMemoryDeduplicator(), store=slack_store
    )
