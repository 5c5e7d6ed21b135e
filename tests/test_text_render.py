"""The plain-text renderer: an inline link whose page is listed under Sources is not repeated,
Slack's commands become the terminal's, and text that is not going to a terminal is plain and
wrapped at 80 columns without splitting a word or a URL."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.knowledge import KnowledgeBase
from bot.render.text import SESSION_COMMANDS, mrkdwn_to_text, render_entry, wrap_text


def _entry_with_inline_source_link(kb: KnowledgeBase):
    for entry in kb.entries:
        urls = {s.url.rstrip("/") for s in kb.sources_for(entry.sources)}
        inline = [u.rstrip("/") for u in re.findall(r"<(https?://[^|>]+)\|", entry.answer)]
        if any(u in urls for u in inline):
            return entry, next(u for u in inline if u in urls)
    raise AssertionError("no entry links one of its own sources inline")


def test_an_inline_link_to_a_listed_source_shows_its_url_once(kb: KnowledgeBase) -> None:
    entry, url = _entry_with_inline_source_link(kb)

    text = render_entry(kb, entry)

    assert len(re.findall(re.escape(url) + r"/?\)", text)) == 1, text


def test_a_link_to_a_page_not_listed_keeps_its_url() -> None:
    assert mrkdwn_to_text("See <https://a.example/x|this>.", listed=["https://b.example/"]) == (
        "See this (https://a.example/x)."
    )


def test_slack_commands_become_the_terminals() -> None:
    text = "try `/framework recommend` for a recommendation"

    assert mrkdwn_to_text(text, commands=SESSION_COMMANDS) == "try `recommend` for a recommendation"
    assert mrkdwn_to_text(text, commands="framework-bot ") == (
        "try `framework-bot recommend` for a recommendation"
    )


def test_wrapping_never_splits_a_hyphenated_url_or_word() -> None:
    url = "https://example.com/a-very-long-path-with-many-hyphens-in-it/and-more-hyphens/"
    text = f"  - A source with a long title that needs wrapping ({url})"

    wrapped = wrap_text(text, 40)

    assert f"({url})" in wrapped.splitlines()[-1]
    assert all(line.startswith("    ") for line in wrapped.splitlines()[1:])


@pytest.mark.slow
def test_ask_piped_is_plain_text_at_80_columns(kb: KnowledgeBase) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["COLUMNS"] = "200"  # a pipe's width does not depend on the terminal it came from
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "does django come with an admin panel?"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    urls = {source.url for source in kb.sources}
    for line in result.stdout.splitlines():
        if len(line) > 80:  # only a URL too long for the width may overrun, and it stays whole
            assert any(url in line for url in urls), line
