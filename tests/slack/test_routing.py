"""Routing stays cheap: Bolt's body-only matchers are called directly (see bot/slack/app.py).
If a Bolt upgrade stops the swap from applying, this fails instead of the app silently
slowing down."""

from __future__ import annotations

from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher

from bot.slack.platform.bolt_tuning import BodyListenerMatcher


def test_body_only_matchers_are_called_directly(slack_app) -> None:
    matchers = [m for listener in slack_app._listeners for m in listener.matchers]

    assert any(isinstance(m, BodyListenerMatcher) for m in matchers)
    assert not any(type(m) is BuiltinListenerMatcher and m.arg_names == ["body"] for m in matchers)
