"""Routing stays cheap: Bolt's body-only matchers are called directly (see
bot/slack/platform/bolt_tuning.py).
If a Bolt upgrade stops the swap from applying, this fails instead of the app silently
slowing down."""

from __future__ import annotations

import logging

import pytest
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher

from bot.slack.platform.bolt_tuning import BodyListenerMatcher, call_matchers_with_body


def test_body_only_matchers_are_called_directly(slack_app) -> None:
    matchers = [m for listener in slack_app._listeners for m in listener.matchers]

    assert any(isinstance(m, BodyListenerMatcher) for m in matchers)
    assert not any(type(m) is BuiltinListenerMatcher and m.arg_names == ["body"] for m in matchers)


def test_without_the_listener_list_it_expects_the_tuning_changes_nothing_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class AnotherBolt:
        """An App whose listeners are kept some other way (another Bolt version)."""

    caplog.set_level(logging.WARNING, logger="bot.slack.platform.bolt_tuning")

    assert call_matchers_with_body(AnotherBolt()) is False  # type: ignore[arg-type]
    assert "listeners are matched as Bolt does it" in caplog.text
