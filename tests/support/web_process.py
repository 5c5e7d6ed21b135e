"""Run the Procfile's `web:` command as a real server process, for end-to-end tests and benchmarks.

Shared by tests/slack/conftest.py and benchmarks/slack_ack.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn, Self

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROCFILE = PROJECT_ROOT / "Procfile"
HEALTH_PATH = "/healthz"
APP_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(.*\))?$")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_command(process_type: str = "web", procfile: Path = PROCFILE) -> str:
    """The command line of one process type in the Procfile."""
    for line in procfile.read_text(encoding="utf-8").splitlines():
        name, separator, command = line.partition(":")
        if separator and name.strip() == process_type:
            return command.strip()
    raise LookupError(f"{procfile} has no {process_type!r} process")


def with_app_spec(command: str, app_spec: str) -> str:
    """`command` serving the WSGI app `app_spec` instead of the one it names."""
    specs = [
        arg for arg in shlex.split(command)[1:] if not arg.startswith("-") and APP_SPEC.match(arg)
    ]
    if len(specs) != 1:
        raise ValueError(f"cannot find the one WSGI app spec in {command!r}")
    spelled = re.compile(rf"""(?<!\S)(['"]?){re.escape(specs[0])}\1(?!\S)""")
    return spelled.sub(lambda _: shlex.quote(app_spec), command, count=1)


class WebProcess:
    """The Procfile's web command running on a free port until `stop()`."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        app_spec: str | None = None,
        extra_pythonpath: Sequence[Path] = (),
        process_type: str = "web",
        procfile: Path = PROCFILE,
        startup_timeout: float = 20.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.events_url = f"{self.url}/slack/events"
        command = procfile_command(process_type, procfile)
        self.command = command if app_spec is None else with_app_spec(command, app_spec)
        self._env = dict(env)
        self._extra_pythonpath = [str(path) for path in extra_pythonpath]
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        # Outlives this method: the server writes into it until stop(); closed in __exit__.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SLACK_") and key not in {"PORT", "KNOWLEDGE_DIR", "LOG_LEVEL"}
        }
        scripts = str(Path(sys.executable).parent)
        env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
        pythonpath = [*self._extra_pythonpath, str(PROJECT_ROOT)]
        if env.get("PYTHONPATH"):
            pythonpath.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        env["PORT"] = str(self.port)
        env.update(self._env)
        return env

    def start(self) -> Self:
        """Start the server and wait until GET /healthz answers 200."""
        # Like a Procfile host: the shell expands $PORT and ${WEB_CONCURRENCY:-2}.
        self._process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {self.command}"],
            cwd=PROJECT_ROOT,
            env=self._environment(),
            stdout=self._stderr,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._fail(f"exited with status {self._process.returncode}")
            if self._healthy():
                return self
            time.sleep(0.1)
        self._fail(f"did not answer GET {HEALTH_PATH} with 200 within {self._startup_timeout}s")

    def _fail(self, what: str) -> NoReturn:
        self.stop()
        output = self.output()
        self._stderr.close()
        raise RuntimeError(f"{self.command} {what}; its output:\n{output}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=1) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def output(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL the server and every process it started, as a crash would: nothing runs
        its shutdown (no listener finishes, no buffered record is written)."""
        if self._process is None:
            return
        doomed = [self._process.pid, *_descendants(self._process.pid)]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._process.wait(timeout=5)
        self._process = None

    def send_signal(self, number: int) -> None:
        """Signal gunicorn's master (SIGTERM: a host stopping the process) and return."""
        if self._process is not None:
            self._process.send_signal(number)

    def wait(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for the server to exit; its exit status."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        status = self._process.wait(timeout=timeout)
        self._process = None
        return status

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._stderr.close()


def _descendants(pid: int) -> list[int]:
    """The processes `pid` started and theirs (gunicorn's workers, their answer processes),
    from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: list[int] = []
    level = [pid]
    while level:
        level = [child for child, parent in parents.items() if parent in level]
        found.extend(level)
    return found
