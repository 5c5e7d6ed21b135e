"""Bolt tuning: what the app changes about how Bolt runs, in one place.

- Listener matching: Bolt builds the full keyword-argument set for every matcher of every
  listener it tries; `call_matchers_with_body` swaps its built-in body-only matchers for ones
  called with the body directly. It relies on Bolt's private `App._listeners` (a list of
  listeners with `matchers`) and on `BuiltinListenerMatcher.func` and `.arg_names`, as
  slack_bolt 1.30 (the minor version pyproject.toml pins) has them; it checks them when the
  app is built and, where they are not there, changes nothing and logs a warning.
- A misleading warning of Bolt's about the bot token is filtered from its log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from slack_bolt import App, BoltRequest
from slack_bolt import version as slack_bolt_version
from slack_bolt.listener_matcher import ListenerMatcher
from slack_bolt.listener_matcher.builtins import BuiltinListenerMatcher
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


class BodyListenerMatcher(ListenerMatcher):
    """One of Bolt's own matchers (a function of the request body), called directly.

    Bolt builds the full keyword-argument set (client, context, say, respond, ...) for every
    matcher of every listener it tries, which made routing an event past the other listeners
    the largest cost of its acknowledgement. The function and the body are the same, so the
    answer is too."""

    def __init__(self, func: Callable[[dict[str, Any]], bool]) -> None:
        self.func = func

    def matches(self, req: BoltRequest, resp: BoltResponse) -> bool:
        return self.func(req.body)


def call_matchers_with_body(app: App) -> bool:
    """Swap every registered listener's built-in body-only matcher for a BodyListenerMatcher;
    False (nothing changed, a warning logged) when Bolt does not keep them as expected."""
    listeners = getattr(app, "_listeners", None)
    if not isinstance(listeners, list) or not all(
        isinstance(getattr(listener, "matchers", None), list) for listener in listeners
    ):
        _fall_back("App._listeners is not a list of listeners with matchers")
        return False
    for listener in listeners:
        for matcher in listener.matchers:
            if type(matcher) is BuiltinListenerMatcher and not (
                callable(getattr(matcher, "func", None)) and hasattr(matcher, "arg_names")
            ):
                _fall_back("BuiltinListenerMatcher has no func and arg_names")
                return False
    for listener in listeners:
        listener.matchers = [
            BodyListenerMatcher(cast(Callable[[dict[str, Any]], bool], matcher.func))
            if type(matcher) is BuiltinListenerMatcher and matcher.arg_names == ["body"]
            else matcher
            for matcher in listener.matchers
        ]
    return True


def _fall_back(why: str) -> None:
    log.warning(
        "slack_bolt %s: %s; listeners are matched as Bolt does it (slower acks; the tuning "
        "needs the slack_bolt minor version pinned in pyproject.toml)",
        slack_bolt_version.__version__,
        why,
    )


class _SameTokenWarningFilter(logging.Filter):
    """Bolt warns "`token` will be unused" whenever SLACK_BOT_TOKEN is in the environment and a
    client is given; our client carries that very token, so the warning only misleads."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def quiet_same_token_warning() -> None:
    """Filter that warning from Bolt's App logger (once, however many apps are built)."""
    bolt_app_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _SameTokenWarningFilter) for f in bolt_app_logger.filters):
        bolt_app_logger.addFilter(_SameTokenWarningFilter())
