"""Slack acknowledgement benchmark: requests/s and p50/p99 latency to acknowledge signed
`/framework ask …`, `/framework help` and `app_mention` requests, and the time from a mention to
its chat.postMessage at a fake Slack, through gunicorn started by the Procfile's `web:` command,
at 1, 10 and 50 concurrent senders. The same command serves a minimal Bolt app (defined below:
it only acks and replies a fixed text) in the same run, as the baseline.

    python benchmarks/slack_ack.py            # 500 requests per kind and level
    python benchmarks/slack_ack.py --quick    # 100 requests per kind and level

Loopback only; every run is bounded and stops by itself. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "tests" / "slack"))

from fake_slack import FakeSlack  # noqa: E402
from slack_requests import app_mention, prepare, slash_command  # noqa: E402
from web_process import PROCFILE, WebProcess  # noqa: E402

BOT_TOKEN = "xoxb-benchmark-token"
SIGNING_SECRET = "benchmark-signing-secret"
FIXED_REPLY = "Thanks, noted."
MINIMAL_APP_SPEC = "slack_ack:create_minimal_wsgi_app()"

LEVELS = (1, 10, 50)
WARMUP_REQUESTS = 30
REPLY_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
ROUNDS = 5

OVERHEAD_TARGET = 1.5
P99_TARGET_MS = 100.0
P99_TARGET_LEVEL = 50

QUESTION = "does django have an admin panel"


# -- the baseline app, imported by gunicorn from this file --------------------------------------


def create_minimal_wsgi_app() -> Callable[..., Iterable[bytes]]:
    """A Bolt app that only acks and replies a fixed text, plus GET /healthz, from the env."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )

    @app.command("/framework")
    def command(ack: Callable[..., None], respond: Callable[..., None]) -> None:
        ack()
        respond(text=FIXED_REPLY, response_type="ephemeral")

    @app.event("app_mention")
    def mention(event: dict[str, Any], say: Callable[..., None]) -> None:
        say(text=FIXED_REPLY, thread_ts=event.get("thread_ts") or event["ts"])

    handler = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok"]
        return handler(environ, start_response)

    return wsgi


# -- the fake Slack, in its own process ----------------------------------------------------------


def _serve_fake(connection: Connection) -> None:
    """Run a FakeSlack and answer the benchmark's questions about what it received."""
    with FakeSlack() as fake:
        connection.send((fake.base_url, fake.response_url("{token}")))
        while True:
            command = connection.recv()
            if command == "reset":
                fake.reset()
                connection.send(None)
            elif command == "arrivals":
                messages = [
                    (call.params.get("thread_ts"), call.at)
                    for call in fake.calls_to("chat.postMessage", ok=True)
                ]
                posts = [(post.token, post.at) for post in fake.responses if post.ok]
                connection.send((messages, posts))
            else:
                connection.send(None)
                return


class RemoteFakeSlack:
    """A FakeSlack in a child process, so answering the app does not compete with the senders
    for this process's GIL. Arrival times are time.monotonic(), one clock for both processes."""

    def __init__(self) -> None:
        self._connection, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve_fake, args=(child,), daemon=True)

    def __enter__(self) -> RemoteFakeSlack:
        self._process.start()
        self.base_url, self._response_url = self._ask(None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.is_alive():
            self._connection.send("stop")
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)

    def _ask(self, command: str | None) -> Any:
        if command is not None:
            self._connection.send(command)
        if not self._connection.poll(REQUEST_TIMEOUT):
            raise RuntimeError("the fake Slack process stopped answering")
        return self._connection.recv()

    def response_url(self, token: str) -> str:
        return self._response_url.format(token=token)

    def reset(self) -> None:
        self._ask("reset")

    def arrivals(self) -> tuple[list[tuple[str | None, float]], list[tuple[str, float]]]:
        """(thread_ts, time) of each chat.postMessage and (token, time) of each response post."""
        return self._ask("arrivals")


# -- load generation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of request the benchmark sends."""

    label: str
    wire_kind: str
    build: Callable[[RemoteFakeSlack, int], tuple[dict[str, Any], str]]
    """(payload, reply key): the response URL token or the mention's ts."""
    replies_by_message: bool


def _slash(text: str) -> Callable[[RemoteFakeSlack, int], tuple[dict[str, Any], str]]:
    def build(fake: RemoteFakeSlack, number: int) -> tuple[dict[str, Any], str]:
        token = f"bench{number}"
        return slash_command(text, response_url=fake.response_url(token)), token

    return build


def _mention(fake: RemoteFakeSlack, number: int) -> tuple[dict[str, Any], str]:
    payload = app_mention(f"<@U0BOT> {QUESTION}")
    return payload, payload["event"]["ts"]


KINDS = (
    Kind("/framework ask", "slash_command", _slash(f"ask {QUESTION}"), replies_by_message=False),
    Kind("/framework help", "slash_command", _slash("help"), replies_by_message=False),
    Kind("app_mention", "app_mention", _mention, replies_by_message=True),
)


@dataclass
class Sample:
    sent_at: float
    latency: float
    status: int
    body: bytes
    key: str


@dataclass
class BatchResult:
    samples: list[Sample]
    wall: float
    failures: int = 0
    reply_latencies: list[float] = field(default_factory=list)
    missing_replies: int = 0

    @property
    def errors(self) -> int:
        bad_status = sum(1 for sample in self.samples if sample.status != 200)
        return self.failures + bad_status + self.missing_replies

    @property
    def rps(self) -> float:
        return len(self.samples) / self.wall if self.wall else 0.0

    def ack_percentile(self, q: float) -> float:
        return percentile([sample.latency for sample in self.samples], q)

    def reply_percentile(self, q: float) -> float:
        return percentile(self.reply_latencies, q)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(max(math.ceil(q / 100 * len(ordered)), 1), len(ordered))
    return ordered[rank - 1]


def send_all(
    url: str, requests: list[tuple[bytes, dict[str, str], str]], concurrency: int
) -> BatchResult:
    """POST every prepared request with `concurrency` keep-alive senders; measure each ack."""
    target = urlsplit(url)
    samples: list[Sample] = []
    failures = 0
    lock = threading.Lock()
    counter = itertools.count()
    start = threading.Barrier(concurrency + 1)

    def sender() -> None:
        nonlocal failures
        connection = http.client.HTTPConnection(
            target.hostname, target.port, timeout=REQUEST_TIMEOUT
        )
        mine: list[Sample] = []
        errors = 0
        start.wait()
        while (index := next(counter)) < len(requests):
            body, headers, key = requests[index]
            sent_at = time.monotonic()
            try:
                connection.request("POST", target.path, body, headers)
                answer = connection.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection(
                    target.hostname, target.port, timeout=REQUEST_TIMEOUT
                )
                continue
            mine.append(Sample(sent_at, time.monotonic() - sent_at, answer.status, data, key))
        connection.close()
        with lock:
            samples.extend(mine)
            failures += errors

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return BatchResult(samples, time.monotonic() - began, failures)


def collect_replies(fake: RemoteFakeSlack, kind: Kind, result: BatchResult) -> None:
    """Wait for every request's reply at the fake; record mention-to-postMessage times."""
    expected = {sample.key: sample for sample in result.samples if sample.status == 200}
    arrived: dict[str, float] = {}
    if not kind.replies_by_message:
        # A slash command may answer in its ack body instead of through the response URL.
        arrived = {key: 0.0 for key, sample in expected.items() if sample.body.strip()}
    deadline = time.monotonic() + REPLY_TIMEOUT
    while True:
        messages, posts = fake.arrivals()
        for key, at in messages if kind.replies_by_message else posts:
            if key in expected:
                arrived.setdefault(key, at)
        if expected.keys() <= arrived.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    result.missing_replies = len(expected.keys() - arrived.keys())
    if kind.replies_by_message:
        result.reply_latencies = [
            arrived[key] - sample.sent_at for key, sample in expected.items() if key in arrived
        ]


@dataclass
class Server:
    name: str
    fake: RemoteFakeSlack
    process: WebProcess


def run_batch(server: Server, kind: Kind, count: int, concurrency: int) -> BatchResult:
    """Send `count` fresh requests of one kind and wait for all their replies."""
    server.fake.reset()
    requests = []
    for number in range(count):
        payload, key = kind.build(server.fake, number)
        body, headers = prepare(kind.wire_kind, payload, secret=SIGNING_SECRET)
        requests.append((body, headers, key))
    result = send_all(server.process.events_url, requests, concurrency)
    collect_replies(server.fake, kind, result)
    return result


def merge(results: Sequence[BatchResult]) -> BatchResult:
    """Several rounds of the same measurement as one."""
    return BatchResult(
        samples=[sample for result in results for sample in result.samples],
        wall=sum(result.wall for result in results),
        failures=sum(result.failures for result in results),
        reply_latencies=[value for result in results for value in result.reply_latencies],
        missing_replies=sum(result.missing_replies for result in results),
    )


def measure(
    servers: Sequence[Server], kind: Kind, count: int, concurrency: int
) -> dict[str, BatchResult]:
    """`count` requests per server in interleaved rounds, so drift hits both apps alike."""
    rounds = max(1, min(ROUNDS, count // (2 * concurrency)))
    sizes = [count // rounds + (1 if index < count % rounds else 0) for index in range(rounds)]
    batches: dict[str, list[BatchResult]] = {server.name: [] for server in servers}
    for index, size in enumerate(sizes):
        order = servers if index % 2 == 0 else list(reversed(servers))
        for server in order:
            batches[server.name].append(run_batch(server, kind, size, concurrency))
    return {name: merge(results) for name, results in batches.items()}


# -- report ---------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.1f} ms"


def _ratio(value: float) -> str:
    return "-" if value != value else f"{value:.2f}x"


def print_report(
    results: dict[tuple[str, int, str], BatchResult],
    levels: Sequence[int],
    count: int,
    command: str,
) -> bool:
    """Print the table and the targets; True when every target is met."""
    print(f"Slack acknowledgement benchmark: {count} requests per kind, app and level")
    print(f"server (Procfile web): {command}")
    print(f"loopback, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print()
    header = (
        f"{'request':<16} {'senders':>7}  {'app':<9} {'req/s':>8} {'ack p50':>9} {'ack p99':>9}"
        f" {'reply p50':>10} {'reply p99':>10} {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    worst_overhead, worst_p99, total_errors = 0.0, 0.0, 0
    for kind in KINDS:
        for level in levels:
            rows = {app: results[(kind.label, level, app)] for app in ("minimal", "framework")}
            for app, result in rows.items():
                print(
                    f"{kind.label if app == 'minimal' else '':<16}"
                    f" {level if app == 'minimal' else '':>7}  {app:<9} {result.rps:>8.0f}"
                    f" {_ms(result.ack_percentile(50)):>9} {_ms(result.ack_percentile(99)):>9}"
                    f" {_ms(result.reply_percentile(50)):>10}"
                    f" {_ms(result.reply_percentile(99)):>10} {result.errors:>6}"
                )
                total_errors += result.errors
            base, real = rows["minimal"], rows["framework"]
            rps_ratio = base.rps / real.rps if real.rps else float("inf")
            p50_ratio = real.ack_percentile(50) / base.ack_percentile(50)
            p99_ratio = real.ack_percentile(99) / base.ack_percentile(99)
            reply_ratio = real.reply_percentile(50) / base.reply_percentile(50)
            worst_overhead = max(worst_overhead, rps_ratio, p50_ratio)
            if level == P99_TARGET_LEVEL:
                worst_p99 = max(worst_p99, real.ack_percentile(99))
            print(
                f"{'':<16} {'':>7}  {'overhead':<9} {_ratio(rps_ratio):>8}"
                f" {_ratio(p50_ratio):>9} {_ratio(p99_ratio):>9} {_ratio(reply_ratio):>10}"
            )
        print()
    checks = [
        (
            f"overhead vs minimal app <= {OVERHEAD_TARGET}x (worst of req/s and ack p50)",
            _ratio(worst_overhead),
            worst_overhead <= OVERHEAD_TARGET,
        ),
        (
            f"framework ack p99 at {P99_TARGET_LEVEL} senders <= {P99_TARGET_MS:.0f} ms",
            _ms(worst_p99) if P99_TARGET_LEVEL in levels else "not run",
            P99_TARGET_LEVEL in levels and worst_p99 * 1000 <= P99_TARGET_MS,
        ),
        ("errors (failed, non-200, no reply) == 0", str(total_errors), total_errors == 0),
    ]
    print(f"{'target':<64} {'measured':>10}  result")
    for name, measured, passed in checks:
        print(f"{name:<64} {measured:>10}  {'PASS' if passed else 'FAIL'}")
    print(
        "overhead = framework/minimal for latency, minimal/framework for req/s; reply = mention"
        " to its chat.postMessage at the fake"
    )
    return all(passed for _, _, passed in checks)


# -- main -----------------------------------------------------------------------------------


def start_server(stack: ExitStack, name: str, app_spec: str | None, procfile: Path) -> Server:
    """Start a FakeSlack and the Procfile's web command serving `app_spec` against it."""
    fake = stack.enter_context(RemoteFakeSlack())
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
    }
    process = WebProcess(
        env,
        app_spec=app_spec,
        extra_pythonpath=[Path(__file__).resolve().parent],
        procfile=procfile,
    )
    return Server(name, fake, stack.enter_context(process))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 requests per kind and level")
    parser.add_argument("--requests", type=int, default=500, help="requests per kind and level")
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="concurrent senders, e.g. 1,10,50"
    )
    parser.add_argument("--procfile", type=Path, default=PROCFILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    count = 100 if args.quick else args.requests
    levels = [int(level) for level in args.levels.split(",")]

    with ExitStack() as stack:
        servers = [
            start_server(stack, "minimal", MINIMAL_APP_SPEC, args.procfile),
            start_server(stack, "framework", None, args.procfile),
        ]
        for server in servers:
            for kind in KINDS:
                run_batch(server, kind, WARMUP_REQUESTS, 1)
        results: dict[tuple[str, int, str], BatchResult] = {}
        for level in levels:
            for kind in KINDS:
                for name, result in measure(servers, kind, count, level).items():
                    results[(kind.label, level, name)] = result
        command = servers[1].process.command
    passed = print_report(results, levels, count, command)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
