"""manifest.socket.yml, the Socket Mode manifest, is valid by Slack's schema and is the same app
as manifest.yml but for the transport: no request URLs, the socket on. So everything
tests/slack/test_slack_manifest.py proves of manifest.yml (every command, shortcut and event has
a listener; the scopes cover the methods used) holds for it too."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.slack.test_manifest_schema import MANIFEST, SCHEMA, ManifestValidator, _errors

SOCKET_MANIFEST = Path(__file__).resolve().parents[2] / "manifest.socket.yml"


@pytest.fixture(scope="module")
def socket_manifest() -> dict[str, Any]:
    return yaml.safe_load(SOCKET_MANIFEST.read_text(encoding="utf-8"))


def test_the_socket_manifest_validates_against_slacks_schema(
    socket_manifest: dict[str, Any],
) -> None:
    import json

    validator = ManifestValidator(json.loads(SCHEMA.read_text(encoding="utf-8")))

    assert _errors(validator, socket_manifest) == []


def test_it_turns_socket_mode_on_and_needs_no_public_url(socket_manifest: dict[str, Any]) -> None:
    assert socket_manifest["settings"]["socket_mode_enabled"] is True
    assert "YOUR-HOST" not in SOCKET_MANIFEST.read_text(encoding="utf-8")
    assert "request_url" not in socket_manifest["settings"]["event_subscriptions"]
    assert "request_url" not in socket_manifest["settings"]["interactivity"]
    assert all("url" not in c for c in socket_manifest["features"]["slash_commands"])


def _without_transport(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its request URLs, redirect URLs and socket switch taken out."""
    bare = copy.deepcopy(manifest)
    settings = bare["settings"]
    settings.pop("socket_mode_enabled", None)
    settings["event_subscriptions"].pop("request_url", None)
    settings["interactivity"].pop("request_url", None)
    bare["oauth_config"].pop("redirect_urls", None)
    for command in bare["features"].get("slash_commands", []):
        command.pop("url", None)
    return bare


def test_it_is_the_same_app_as_the_http_manifest(socket_manifest: dict[str, Any]) -> None:
    http = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))

    assert _without_transport(socket_manifest) == _without_transport(http)
