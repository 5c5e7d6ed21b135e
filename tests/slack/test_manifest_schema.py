"""manifest.yml is a valid Slack app manifest, checked against Slack's own JSON schema.

The schema is a copy of Slack's manifest.schema.1.0.0.json kept in tests/slack/data/ so the check
runs on a fresh clone without network access.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
SCHEMA = Path(__file__).parent / "data" / "manifest.schema.json"


def _regex(validator: Any, regex: str, instance: Any, schema: Any) -> Iterator[Any]:
    """Slack's schema spells some patterns `regex`, which JSON Schema ignores: enforce them."""
    if isinstance(instance, str) and not re.search(regex, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {regex!r}")


ManifestValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"regex": _regex})


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    ManifestValidator.check_schema(schema)
    return ManifestValidator(schema)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def as_schema_describes(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with each function's parameters as the schema file describes them.

    Slack's documentation of custom steps (and its Bolt templates) writes a function's
    `input_parameters` and `output_parameters` as `{properties: {name: parameter}, required:
    [names]}`; the schema's `hermes.types` has the parameters by name directly. The parameters
    themselves are checked against the schema here; a `required` name must be one of them."""
    adapted = copy.deepcopy(document)
    for function in adapted.get("functions", {}).values():
        for key in ("input_parameters", "output_parameters"):
            declared = function.get(key)
            if isinstance(declared, dict) and set(declared) <= {"properties", "required"}:
                properties = declared.get("properties", {})
                assert set(declared.get("required", [])) <= set(properties), key
                function[key] = properties
    return adapted


def _errors(validator: jsonschema.protocols.Validator, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top level)'}: {error.message}"
        for error in validator.iter_errors(as_schema_describes(document))
    ]


def test_manifest_validates_against_slacks_schema(
    validator: jsonschema.protocols.Validator, manifest: dict[str, Any]
) -> None:
    assert _errors(validator, manifest) == []


def test_every_request_url_points_at_the_slack_events_endpoint(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(command["url"] for command in manifest["features"].get("slash_commands", [])),
    ]

    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls), urls


def _delete(*path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = document
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            del target[int(last)]
        else:
            del target[last]

    return mutate


def _set(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = document
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value

    return mutate


BROKEN_MANIFESTS = [
    ("no app name", _delete("display_information", "name"), "'name' is a required property"),
    ("no display information", _delete("display_information"), "'display_information'"),
    ("app name over 35", _set("F" * 36, "display_information", "name"), "is too long"),
    (
        "bot without display name",
        _delete("features", "bot_user", "display_name"),
        "'display_name' is a required property",
    ),
    (
        "command without description",
        _delete("features", "slash_commands", "0", "description"),
        "'description' is a required property",
    ),
    (
        "command without slash",
        _set("framework", "features", "slash_commands", "0", "command"),
        "does not match",
    ),
    (
        "shortcut without callback_id",
        _delete("features", "shortcuts", "0", "callback_id"),
        "'callback_id' is a required property",
    ),
    (
        "interactivity without is_enabled",
        _delete("settings", "interactivity", "is_enabled"),
        "'is_enabled' is a required property",
    ),
    (
        "bot events not a list",
        _set("app_mention", "settings", "event_subscriptions", "bot_events"),
        "is not of type 'array'",
    ),
    ("unknown top-level key", _set({}, "commands"), "Additional properties are not allowed"),
    ("bad colour", _set("redd", "display_information", "background_color"), "does not match"),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [case[1:] for case in BROKEN_MANIFESTS],
    ids=[case[0] for case in BROKEN_MANIFESTS],
)
def test_a_manifest_missing_what_slack_requires_fails_validation(
    validator: jsonschema.protocols.Validator,
    manifest: dict[str, Any],
    mutate: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    broken = copy.deepcopy(manifest)
    mutate(broken)

    errors = _errors(validator, broken)

    assert any(message in error for error in errors), errors
