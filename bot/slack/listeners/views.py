"""A view submission the app cannot route: one without a view, a view type or a callback_id.

Bolt answers such a submission 404 (no listener matches it without a callback_id), or crashes
building a listener's arguments (it reads `view.type` unchecked) and answers 500 once the 3 s
ack deadline has passed; Slack then shows the person a vague error. A middleware (not a
listener, whose arguments Bolt would build the same way) answers it at once instead, with a
modal that says what to do. Submissions the listeners can route but not read (a missing
state or private_metadata) are answered by those listeners.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.middleware import Middleware
from slack_bolt.response import BoltResponse
from slack_sdk.models.views import View

from bot.render.block_kit import notice_view
from bot.slack.flows import decisions
from bot.slack.flows.questionnaire import expired_view
from bot.slack.wire.ids import CallbackId

log = logging.getLogger(__name__)

UNREADABLE_FORM = (
    "I couldn't read this form (Slack sent it incomplete, or an older version of me opened "
    "it), so nothing was saved. Please open it again from where you started it."
)


def register(app: App) -> None:
    app.use(AnswerUnroutableViewSubmissions())


class AnswerUnroutableViewSubmissions(Middleware):
    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        body = req.body
        if body.get("type") != "view_submission":
            return next()
        view = body.get("view")
        callback_id = view.get("callback_id") if isinstance(view, dict) else None
        if isinstance(view, dict) and view.get("type") == "modal" and callback_id:
            return next()
        log.warning(
            "A view submission with no %s (callback_id %r): answered with a way to start again",
            "view" if not isinstance(view, dict) else "modal type or callback_id",
            callback_id,
        )
        return _update(replacement(callback_id))


def replacement(callback_id: Any) -> View:
    """What the modal becomes: the way back into what it was for, where that can be told."""
    if callback_id == CallbackId.QUESTIONNAIRE:
        return expired_view()
    if callback_id == CallbackId.DECISION_ANSWERS:
        return notice_view("Start again", decisions.EXPIRED)
    return notice_view("Start again", UNREADABLE_FORM)


def _update(view: View) -> BoltResponse:
    answer = {"response_action": "update", "view": view.to_dict()}
    return BoltResponse(
        status=200,
        body=json.dumps(answer),
        headers={"content-type": "application/json;charset=utf-8"},
    )
