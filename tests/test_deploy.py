"""The README's deploy, as far as this machine allows: a Procfile host (Heroku's Python
buildpack and the like) installs requirements.txt into a fresh environment, copies the
repository, and runs the Procfile's processes. Nothing of the development .venv is used."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import check_lock  # noqa: E402

pytestmark = pytest.mark.slow  # fresh venvs and the Procfile web process

STARTUP_SECONDS = 60


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return {name.strip(): cmd.strip() for name, _, cmd in (line.partition(":") for line in lines)}


def test_the_lock_is_in_sync_with_pyproject() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    python = (ROOT / ".python-version").read_text(encoding="utf-8").strip()

    assert check_lock.problems(pyproject, lock, python) == []


def test_the_sync_check_notices_a_dependency_added_without_relocking() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pyproject["project"]["dependencies"].append("rich>=13")
    lock = (ROOT / "requirements.txt").read_text(encoding="utf-8")

    found = check_lock.problems(pyproject, lock, "3.11")

    assert any("changed since" in problem for problem in found)
    assert "rich is not pinned in requirements.txt" in found


def test_the_procfile_runs_without_the_project_installed() -> None:
    """Hosts install requirements.txt, not the project: no `framework-bot` console script."""
    processes = procfile()
    assert processes["web"].startswith("gunicorn ")
    assert processes["worker"] == "python -m bot serve"


@pytest.fixture(scope="module")
def slug(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository as a host sees it, with a fresh venv installed from the lock alone."""
    app = tmp_path_factory.mktemp("slug")
    for name in ("bot", "knowledge"):
        shutil.copytree(ROOT / name, app / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Procfile", "gunicorn.conf.py", "requirements.txt", ".python-version"):
        shutil.copy(ROOT / name, app / name)
    subprocess.run([sys.executable, "-m", "venv", str(app / ".heroku")], check=True)
    install = subprocess.run(
        [str(app / ".heroku/bin/python"), "-m", "pip", "install", "--quiet", "--require-hashes",
         "--requirement", "requirements.txt"],
        cwd=app, capture_output=True, text=True, env=_host_env(app), check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    return app


def _host_env(app: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "PYTHON", "VIRTUAL_ENV")) and key != "DATABASE_URL"
    }
    env["PATH"] = f"{app / '.heroku/bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_fresh_venv_from_the_lock_serves_the_procfiles_web_line(
    slug: Path, tmp_path: Path
) -> None:
    port = _free_port()
    env = _host_env(
        slug,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        SLACK_BOT_TOKEN="xoxb-0000-fake",
        SLACK_SIGNING_SECRET="fake-signing-secret",
        # Nothing listens here: the health check must still answer, saying the token is unchecked.
        SLACK_API_URL="http://127.0.0.1:9/api/",
        DATA_DIR=str(tmp_path / "data"),
    )
    log = tmp_path / "web.log"
    with log.open("wb") as output:
        web = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {procfile()['web']}"],
            cwd=slug, env=env, stdout=output, stderr=output,
        )  # fmt: skip
        try:
            report = _wait_for_health(f"http://127.0.0.1:{port}/healthz", web, log)
        finally:
            web.terminate()
            web.wait(timeout=30)
    assert report["status"] == "ok"


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> dict:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"no answer from {url}:\n{log.read_text(errors='replace')}")


def test_the_worker_line_runs_from_the_fresh_venv(slug: Path) -> None:
    command = procfile()["worker"].replace(" serve", " --help")
    result = subprocess.run(
        ["/bin/sh", "-c", command], cwd=slug, env=_host_env(slug),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout


def test_set_up_from_a_fresh_clone_is_quiet(tmp_path: Path) -> None:
    """scripts/setup prints nothing when all goes well (setuptools' editable-install warning
    box included). Lines this machine's own pip configuration adds (an index folder that does
    not exist here) are not the project's and are left out."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("bot", "knowledge", "scripts"):
        shutil.copytree(ROOT / name, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "requirements.txt", "README.md", ".python-version"):
        shutil.copy(ROOT / name, clone / name)

    result = subprocess.run(
        ["scripts/setup"], cwd=clone, env={**_host_env(clone), "PYTHON": sys.executable},
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    noise = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not re.match(r"WARNING: Location '.*' is ignored", line)
    ]
    assert noise == []
    assert (clone / ".venv/bin/framework-bot").exists()
