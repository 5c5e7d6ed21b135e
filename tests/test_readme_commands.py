"""The README's commands work as written after the quick start: every command in its CLI table
answers `--help`, found on the PATH the way the quick start puts it there (the activated venv),
and the README's example runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the README commands as subprocesses

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV_BIN = Path(sys.executable).parent


def cli_table_commands() -> list[str]:
    """`framework-bot kb check` for the row `| \\`framework-bot kb check [DIR]\\` | … |`."""
    section = README.split("## The command line", 1)[1].split("\n## ", 1)[0]
    commands = []
    for cell in re.findall(r"^\| `(framework-bot[^`]*)` \|", section, flags=re.MULTILINE):
        words = []
        for word in cell.split():
            if word.startswith(("[", "-", '"')) or word.isupper():
                break
            words.append(word)
        commands.append(" ".join(words))
    return commands


def _activated(**extra: str) -> dict[str, str]:
    """The environment after `. .venv/bin/activate`: the venv's bin first on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env.update(extra)
    return env


def _sh(command: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=ROOT,
        env=_activated(**extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_table_lists_every_command() -> None:
    commands = cli_table_commands()

    assert "framework-bot" in commands
    assert {"framework-bot kb check", "framework-bot recommend", "framework-bot serve"} <= set(
        commands
    )


@pytest.mark.parametrize("command", cli_table_commands())
def test_every_command_in_the_cli_table_answers_help(command: str) -> None:
    result = _sh(f"{command} --help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {command}"), result.stdout


def test_the_quick_start_says_how_framework_bot_gets_on_the_path() -> None:
    assert ". .venv/bin/activate" in README
    assert "`scripts/run` in front of every" in README


def test_python_dash_m_bot_and_scripts_run_work_as_the_readme_says() -> None:
    assert _sh("python -m bot --help").returncode == 0
    result = _sh("scripts/run ask --help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: framework-bot ask")


def test_the_readmes_recommend_example_runs(tmp_path: Path) -> None:
    example = re.search(r"```sh\n(framework-bot recommend .*?)\n```", README, re.DOTALL)
    assert example is not None
    command = example.group(1).replace("\\\n", " ")
    shlex.split(command)  # one well-formed command line

    result = _sh(command, DATA_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Recommendation: ")
