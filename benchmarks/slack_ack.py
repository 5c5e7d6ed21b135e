"""Slack acknowledgement benchmark: requests/s and p50/p99 latency to acknowledge signed
`/framework ask …`, `/framework help` and `app_mention` requests, and the time from a mention to
its chat.postMessage at a fake Slack, through gunicorn started by the Procfile's `web:` command,
at 1, 10 and 50 concurrent senders. The same command serves a minimal Bolt app (defined below:
it only acks and replies a fixed text) in the same run, as the baseline.

    python benchmarks/slack_ack.py            # 500 requests per kind and level
    python benchmarks/slack_ack.py --quick    # 100 requests per kind and level
    python benchmarks/slack_ack.py --stalled 0   # without the stalled-client round

Then the stalled-client round: signed mentions from 10 senders alone, then while 100
connections sit on half a request (half of them cut off in their headers, half with their
headers sent and their body withheld), then alone again, and how long the server took to close
the stalled ones. It runs on the Procfile's server and, beside it, on gunicorn's gthread worker
(the Procfile's line without its --worker-class, what served before), each with the framework
app.

Each sender is a closed loop: it sends its next request as soon as the previous one is
acknowledged. Every request is encoded and signed before the clock starts; the senders are one
epoll loop over keep-alive connections in a process of their own, each fake Slack has its own
process too. A request's latency runs from just before its first byte is sent to its last
answered byte. The report ends with the CPU time other processes took meanwhile: the machine
is shared, and their work shows up here as latency.

Loopback only; every run is bounded and stops by itself. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import os
import re
import selectors
import shutil
import socket
import sys
import tempfile
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
sys.path.insert(0, str(PROJECT_ROOT))  # the tests.support helpers

from bot.settings import Settings  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402
from tests.support.slack_requests import app_mention, prepare, slash_command  # noqa: E402
from tests.support.slow_clients import STALLS, Stalled, StalledClients  # noqa: E402
from tests.support.web_process import PROCFILE, WebProcess, procfile_command  # noqa: E402

BOT_TOKEN = "xoxb-benchmark-token"
SIGNING_SECRET = "benchmark-signing-secret"
FIXED_REPLY = "Thanks, noted."
MINIMAL_APP_SPEC = "slack_ack:create_minimal_wsgi_app()"

LEVELS = (1, 10, 50)
WARMUP_REQUESTS = 30
REPLY_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0
ROUNDS = 5

OTHER_LOAD_WARNING = 0.05
"""Share of the machine's CPU used by other processes above which the report warns."""

OVERHEAD_TARGET = 2.0
"""Issue 14: a durable write (the inbox claim) before every mention's ack is worth up to 2x
the minimal app; it was 1.5x before the inbox."""
P99_TARGET_MS = 100.0
P99_TARGET_LEVEL = 50

QUESTION = "does django have an admin panel"

STALLED = 100
STALLED_SENDERS = 10
STALLED_P99_TARGET_MS = 100.0
STALLED_SETTLE = 1.0
"""Seconds before a round's first signed request (after opening its stalled connections, if
any): it measures requests beside connections already held, not the burst of their arrival,
and the previous round's answers have finished."""
CLOSE_TOLERANCE = 2.0
"""Seconds past its deadline a stalled connection may still be open and meet the target."""
WORKER_CLASS_FLAG = re.compile(r"\s--worker-class[ =]\S+")


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
KIND_NAMES = {"ask": KINDS[0], "help": KINDS[1], "mention": KINDS[2]}


def choose_kinds(names: str) -> list[Kind]:
    """The kinds named in `names` ("all", or e.g. "ask,mention"); empty when a name is unknown."""
    if names.strip() == "all":
        return list(KINDS)
    chosen = [KIND_NAMES.get(name.strip()) for name in names.split(",")]
    return [kind for kind in chosen if kind is not None] if None not in chosen else []


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


def encode_request(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The exact bytes of one keep-alive HTTP/1.1 POST, built before any timing starts."""
    target = urlsplit(url)
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {target.netloc}",
        *(f"{name}: {value}" for name, value in headers.items()),
        f"Content-Length: {len(body)}",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("latin-1") + body


class _Response:
    """Incremental parse of one HTTP/1.1 response with a Content-Length (all the servers here
    send one)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.status = 0
        self.body = b""
        self.keep_alive = True
        self._header_end = -1
        self._length = 0

    def feed(self, data: bytes) -> bool:
        """Add received bytes; True once the whole response has arrived."""
        self.buffer += data
        if self._header_end < 0:
            self._header_end = self.buffer.find(b"\r\n\r\n")
            if self._header_end < 0:
                return False
            head = self.buffer[: self._header_end].decode("latin-1").split("\r\n")
            self.status = int(head[0].split(" ", 2)[1])
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head[1:])
            }
            if "content-length" not in fields:
                raise http.client.HTTPException("response without Content-Length")
            self._length = int(fields["content-length"])
            self.keep_alive = fields.get("connection", "").lower() != "close"
        end = self._header_end + 4 + self._length
        if len(self.buffer) < end:
            return False
        self.body = self.buffer[self._header_end + 4 : end]
        return True


def drive(
    address: tuple[str, int], requests: Sequence[bytes], concurrency: int
) -> tuple[list[tuple[int, float, float, int, bytes]], int, float]:
    """Send every request over `concurrency` keep-alive connections, each sending its next
    request as soon as the previous one is answered, from one thread waiting on epoll.

    Returns (index, sent_at, latency, status, body) per answered request, the number of
    failed requests, and the wall time. A connection's first request includes its connect, and
    so does the request after the server closes one."""
    selector = selectors.DefaultSelector()

    def connect() -> socket.socket:
        sock = socket.create_connection(address, timeout=REQUEST_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    samples: list[tuple[int, float, float, int, bytes]] = []
    failures = 0
    pending = iter(range(len(requests)))
    in_flight: dict[socket.socket, tuple[int, float, _Response]] = {}

    def send_next(sock: socket.socket | None) -> None:
        """Send the next request on `sock` (None: a new connection); close it when none is left."""
        nonlocal failures
        while (index := next(pending, None)) is not None:
            sent_at = time.monotonic()
            try:
                if sock is None:
                    sock = connect()
                sock.sendall(requests[index])
            except OSError:
                failures += 1
                if sock is not None:
                    sock.close()
                sock = None
                continue
            in_flight[sock] = (index, sent_at, _Response())
            selector.register(sock, selectors.EVENT_READ)
            return
        if sock is not None:
            sock.close()

    began = time.monotonic()
    # Each connection opens with its first request (timed with it), not all before the clock
    # starts: idle connections opened at once would all land on whichever worker accepts first.
    for _ in range(concurrency):
        send_next(None)
    while in_flight:
        ready = selector.select(REQUEST_TIMEOUT)
        now = time.monotonic()
        if not ready:
            failures += len(in_flight)  # no answer within the timeout
            for sock in in_flight:
                selector.unregister(sock)
                sock.close()
            in_flight.clear()
            break
        for key, _ in ready:
            sock = key.fileobj
            index, sent_at, response = in_flight[sock]
            try:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionResetError("closed before answering")
                if not response.feed(data):
                    continue
            except (OSError, ValueError, http.client.HTTPException):
                failures += 1
                selector.unregister(sock)
                del in_flight[sock]
                sock.close()
                send_next(None)
                continue
            samples.append((index, sent_at, now - sent_at, response.status, response.body))
            selector.unregister(sock)
            del in_flight[sock]
            if response.keep_alive:
                send_next(sock)
            else:
                sock.close()
                send_next(None)
    wall = time.monotonic() - began
    selector.close()
    return samples, failures, wall


def _serve_load(connection: Connection) -> None:
    """Run `drive` for every batch the benchmark sends over the pipe."""
    while (batch := connection.recv()) is not None:
        connection.send(drive(*batch))


class LoadGenerator:
    """The senders, in a child process of their own: the benchmark's own process (and its
    GIL) stays out of the timed path."""

    def __init__(self) -> None:
        self._connection, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve_load, args=(child,), daemon=True)

    def __enter__(self) -> LoadGenerator:
        self._process.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.is_alive():
            self._connection.send(None)
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)

    def send_all(
        self, url: str, requests: list[tuple[bytes, dict[str, str], str]], concurrency: int
    ) -> BatchResult:
        """POST every prepared request with `concurrency` keep-alive senders; time each ack."""
        target = urlsplit(url)
        wire = [encode_request(url, body, headers) for body, headers, _ in requests]
        self._connection.send(((target.hostname, target.port), wire, concurrency))
        answered, failures, wall = self._connection.recv()
        samples = [
            Sample(sent_at, latency, status, body, requests[index][2])
            for index, sent_at, latency, status, body in answered
        ]
        return BatchResult(samples, wall, failures)


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
    load: LoadGenerator


def run_batch(server: Server, kind: Kind, count: int, concurrency: int) -> BatchResult:
    """Send `count` fresh requests of one kind and wait for all their replies."""
    server.fake.reset()
    requests = []
    for number in range(count):
        payload, key = kind.build(server.fake, number)
        body, headers = prepare(kind.wire_kind, payload, secret=SIGNING_SECRET)
        requests.append((body, headers, key))
    result = server.load.send_all(server.process.events_url, requests, concurrency)
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


# -- what else ran -----------------------------------------------------------------------------


class MachineShare:
    """CPU seconds used by this run's processes (this one and its descendants: the senders,
    the fakes and gunicorn) and by every other process while the requests were timed, sampled
    from /proc: on a shared 2-core machine another process's work shows up as latency here."""

    INTERVAL = 0.5

    def __init__(self) -> None:
        self._ticks_per_second = os.sysconf("SC_CLK_TCK")
        self._ours: dict[int, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._busy_start = 0
        self.ours = 0.0
        self.others = 0.0
        self.wall = 0.0

    def __enter__(self) -> MachineShare:
        self._busy_start = self._machine_busy()
        self._sample()
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.monotonic() - self._began
        ours = sum(last - first for first, last in self._ours.values())
        busy = self._machine_busy() - self._busy_start
        self.ours = ours / self._ticks_per_second
        self.others = max(busy - ours, 0) / self._ticks_per_second

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            self._sample()

    @staticmethod
    def _machine_busy() -> int:
        with open("/proc/stat", encoding="ascii") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
        return sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        ticks: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            ticks[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime
        root = os.getpid()
        for pid, value in ticks.items():
            ancestor = pid
            while ancestor not in (root, 0, 1) and ancestor in parents:
                ancestor = parents[ancestor]
            if ancestor == root:
                first, _ = self._ours.get(pid, (value, value))
                self._ours[pid] = (first, value)

    def report(self) -> str:
        """One line; a warning when other processes took a noticeable share of the machine."""
        capacity = self.wall * (os.cpu_count() or 1)
        share = self.others / capacity if capacity else 0.0
        line = (
            f"CPU while timing: this benchmark {self.ours:.1f} s, other processes"
            f" {self.others:.1f} s ({share:.0%} of the machine over {self.wall:.0f} s)"
        )
        if share > OTHER_LOAD_WARNING:
            line += "\nWARNING: other processes competed for the CPUs; latencies are inflated"
        return line


# -- report ---------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.1f} ms"


def _ratio(value: float) -> str:
    return "-" if value != value else f"{value:.2f}x"


def print_report(
    results: dict[tuple[str, int, str], BatchResult],
    kinds: Sequence[Kind],
    levels: Sequence[int],
    count: int,
    command: str,
    machine: MachineShare,
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
    for kind in kinds:
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
    print(machine.report())
    return all(passed for _, _, passed in checks)


# -- the stalled-client round ------------------------------------------------------------------


@dataclass
class StalledRound:
    """One server's signed mentions with `stalled` connections held open meanwhile (0: none),
    and when the server closed those."""

    server: str
    stalled: int
    result: BatchResult
    requests: int
    open_at_end: int = 0
    connections: list[Stalled] = field(default_factory=list)
    waited: float = 0.0
    machine: str = ""

    @property
    def errors(self) -> int:
        """Requests not answered 200 (unanswered included), and 200s whose reply never came."""
        answered = sum(1 for sample in self.result.samples if sample.status == 200)
        return self.requests - answered + self.result.missing_replies


def start_gthread(stack: ExitStack, procfile: Path, load: LoadGenerator) -> Server:
    """The framework app on the Procfile's line without its --worker-class: gunicorn's gthread
    worker, what served before. Started with the others, so that its workers have long finished
    booting when its rounds run."""
    gthread_procfile = Path(tempfile.mkdtemp(prefix="slack-ack-gthread-")) / "Procfile"
    stack.callback(shutil.rmtree, gthread_procfile.parent, ignore_errors=True)
    old_line = WORKER_CLASS_FLAG.sub("", procfile_command("web", procfile))
    gthread_procfile.write_text(f"web: {old_line}\n", encoding="utf-8")
    return start_server(stack, "gthread", None, gthread_procfile, load)


def stalled_rounds(servers: Sequence[Server], count: int, stalled: int) -> list[StalledRound]:
    """Each server's round alone, with `stalled` connections held, and alone again (after the
    stalled connections are gone): the rounds alone bracket the one beside them, whatever the
    order costs."""
    settings = Settings()
    wait = settings.http_header_timeout_seconds + settings.http_body_timeout_seconds + 5
    return [
        stalled_round(server, server.process.command, count, held, wait)
        for server in servers
        for held in (0, stalled, 0)
    ]


def stalled_round(server: Server, name: str, count: int, stalled: int, wait: float) -> StalledRound:
    """`count` signed mentions from STALLED_SENDERS senders while `stalled` connections stall;
    then wait up to `wait` seconds for the server to close them."""
    address = ("127.0.0.1", server.process.port)
    with StalledClients(address, stalled) as clients, MachineShare() as machine:
        time.sleep(STALLED_SETTLE)
        result = run_batch(server, KIND_NAMES["mention"], count, STALLED_SENDERS)
        open_at_end = clients.still_open()
        began = time.monotonic()
        clients.wait_closed(wait)
        waited = time.monotonic() - began
    return StalledRound(
        name, stalled, result, count, open_at_end, clients.connections, waited, machine.report()
    )


def print_stalled_report(rounds: Sequence[StalledRound], count: int, stalled: int) -> bool:
    """The stalled-client table and its targets; True when the Procfile's server meets them."""
    settings = Settings()
    deadlines = {
        "half headers": settings.http_header_timeout_seconds,
        "body withheld": settings.http_body_timeout_seconds,
    }
    kinds = ", ".join(f"{stalled // len(STALLS)} {kind}" for kind in STALLS)
    print(
        f"Stalled clients: {count} signed app_mention requests from {STALLED_SENDERS} senders,"
        f" alone, while {stalled} connections stall ({kinds}; deadlines"
        f" {deadlines['half headers']:.0f} s and {deadlines['body withheld']:.0f} s), and alone"
        " again"
    )
    header = (
        f"{'server':<10} {'stalled':>7} {'answered':>9} {'errors':>6} {'ack p50':>9}"
        f" {'ack p99':>9}  closed by the server (time open: max)"
    )
    print(header)
    print("-" * (len(header) + 20))
    checks = []
    for index, round_ in enumerate(rounds):
        label = "Procfile" if index < len(rounds) // 2 else "gthread"
        result = round_.result
        print(
            f"{label:<10} {round_.stalled:>7} {len(result.samples):>5}/{round_.requests:<3}"
            f" {round_.errors:>6}"
            f" {_ms(result.ack_percentile(50)):>9} {_ms(result.ack_percentile(99)):>9}"
            f"  {_closures(round_)}"
        )
        if label == "Procfile" and round_.stalled:
            checks = _stalled_checks(round_, deadlines)
    print("servers:")
    for label, round_ in (("Procfile", rounds[0]), ("gthread", rounds[-1])):
        print(f"  {label}: {round_.server}")
    print()
    print(f"{'target (Procfile server, with stalled connections)':<64} {'measured':>10}  result")
    for name, measured, passed in checks:
        print(f"{name:<64} {measured:>10}  {'PASS' if passed else 'FAIL'}")
    for round_ in rounds:
        if round_.stalled:
            print(round_.machine)
    return all(passed for _, _, passed in checks)


def _closures(round_: StalledRound) -> str:
    if not round_.stalled:
        return "-"
    parts = []
    for kind in STALLS:
        mine = [stalled for stalled in round_.connections if stalled.kind == kind]
        closed = [stalled.open_for for stalled in mine if stalled.open_for is not None]
        answered = sum(1 for stalled in mine if stalled.status == 408)
        text = f"{kind} {len(closed)}/{len(mine)}"
        if closed:
            text += f" ({max(closed):.1f} s, {answered} with 408)"
        if len(closed) < len(mine):
            text += f", {len(mine) - len(closed)} open after {round_.waited:.0f} s"
        parts.append(text)
    return "; ".join(parts) + f"; {round_.open_at_end} open when the requests ended"


def _stalled_checks(
    round_: StalledRound, deadlines: dict[str, float]
) -> list[tuple[str, str, bool]]:
    errors = round_.errors
    p99 = round_.result.ack_percentile(99)
    late = [
        stalled
        for stalled in round_.connections
        if stalled.open_for is None or stalled.open_for > deadlines[stalled.kind] + CLOSE_TOLERANCE
    ]
    slowest = max(
        (
            stalled.open_for - deadlines[stalled.kind]
            for stalled in round_.connections
            if stalled.open_for is not None
        ),
        default=float("nan"),
    )
    return [
        (
            f"ack p99 with {round_.stalled} stalled <= {STALLED_P99_TARGET_MS:.0f} ms",
            _ms(p99),
            p99 * 1000 <= STALLED_P99_TARGET_MS,
        ),
        ("errors with stalled connections == 0", str(errors), errors == 0),
        (
            f"stalled closed within their deadline + {CLOSE_TOLERANCE:.0f} s",
            f"{round_.stalled - len(late)}/{round_.stalled}",
            not late,
        ),
        ("latest close past its deadline", f"{slowest:+.2f} s", not late),
    ]


# -- main -----------------------------------------------------------------------------------


def start_server(
    stack: ExitStack, name: str, app_spec: str | None, procfile: Path, load: LoadGenerator
) -> Server:
    """Start a FakeSlack and the Procfile's web command serving `app_spec` against it, with a
    data directory of its own that is removed afterwards (never ./data, never a database)."""
    fake = stack.enter_context(RemoteFakeSlack())
    data_dir = tempfile.mkdtemp(prefix=f"slack-ack-{name}-")
    stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": data_dir,
    }
    process = WebProcess(
        env,
        app_spec=app_spec,
        extra_pythonpath=[Path(__file__).resolve().parent],
        procfile=procfile,
    )
    return Server(name, fake, stack.enter_context(process), load)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 requests per kind and level")
    parser.add_argument("--requests", type=int, default=500, help="requests per kind and level")
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="concurrent senders, e.g. 1,10,50"
    )
    parser.add_argument(
        "--kinds",
        default="all",
        help="which requests: all, or a comma-separated subset of ask,help,mention",
    )
    parser.add_argument(
        "--stalled",
        type=int,
        default=STALLED,
        help=f"stalled connections in the stalled-client round ({STALLED}; 0 skips the round)",
    )
    parser.add_argument("--procfile", type=Path, default=PROCFILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    count = 100 if args.quick else args.requests
    levels = [int(level) for level in args.levels.split(",")]
    kinds = choose_kinds(args.kinds)
    if not kinds:
        parser.error(f"--kinds: choose from all, {', '.join(KIND_NAMES)}")
    # The served apps must not reach a database the caller's environment points at.
    os.environ.pop("DATABASE_URL", None)

    with ExitStack() as stack:
        load = stack.enter_context(LoadGenerator())
        servers = [
            start_server(stack, "minimal", MINIMAL_APP_SPEC, args.procfile, load),
            start_server(stack, "framework", None, args.procfile, load),
        ]
        gthread = start_gthread(stack, args.procfile, load) if args.stalled > 0 else None
        for server in servers:
            for kind in kinds:
                run_batch(server, kind, WARMUP_REQUESTS, 1)
        if gthread is not None:
            run_batch(gthread, KIND_NAMES["mention"], WARMUP_REQUESTS, 1)
        results: dict[tuple[str, int, str], BatchResult] = {}
        with MachineShare() as machine:
            for level in levels:
                for kind in kinds:
                    for name, result in measure(servers, kind, count, level).items():
                        results[(kind.label, level, name)] = result
        command = servers[1].process.command
        passed = print_report(results, kinds, levels, count, command, machine)
        if gthread is not None:
            print()
            rounds = stalled_rounds([servers[1], gthread], count, args.stalled)
            passed = print_stalled_report(rounds, count, args.stalled) and passed
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
