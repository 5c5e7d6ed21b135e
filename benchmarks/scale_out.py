"""Scale-out benchmark: 1,000 questions (signed `app_mention` events) from 20 concurrent senders
to 2 instances on one PostgreSQL, beside the same run on 1 instance with SQLite (the default).

Each instance is the Procfile's `web:` command (gunicorn and its workers) against a fake Slack in
its own process. Every 10th event is delivered a second time, to the other instance where there
is one, as Slack's retry (`X-Slack-Retry-Num: 1`), 3 seconds after the questions were
acknowledged (Slack retries when an ack is 3 seconds late), so deduplication is part of the
run. Reported: questions/s (first send to last reply, retries aside), p50/p99 time from
sending a question to its chat.postMessage at the fake, lost answers (a question never
answered), duplicated answers (a question answered more than once), and questions missing
from the database afterwards. A last round SIGKILLs one of 2 PostgreSQL instances a quarter of
the way through a burst and starts it again: of the questions that were acknowledged, how many
were never answered, answered twice, or answered but not stored (no stored question has the id
its reply names), and how many questions were stored twice.

    python benchmarks/scale_out.py                         # 1,000 questions, 20 senders
    python benchmarks/scale_out.py --quick                 # 200 questions
    python benchmarks/scale_out.py --quick --kill-only 5   # only the kill round, 5 times

Needs PostgreSQL (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test); a fresh
schema is created for each round and dropped after. Exit status 1 when an answer is lost or
duplicated, or a question is missing from the database, in any round.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # the tests.support helpers and bot

from bot.store import create_store  # noqa: E402
from bot.store.schema import questions  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402
from tests.support.slack_requests import TEAM_ID, app_mention, prepare  # noqa: E402
from tests.support.web_process import WebProcess  # noqa: E402

BOT_TOKEN = "xoxb-benchmark-token"
SIGNING_SECRET = "benchmark-signing-secret"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
QUESTIONS = ("does django have an admin panel", "is flask good for microservices")
RETRY_EVERY = 10
RETRY_AFTER_SECONDS = 3.0
"""Slack retries an event when its ack has not come back within 3 seconds."""
REPLY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 10.0


# -- the fake Slack, in its own process -------------------------------------------------------


def _serve_fake(connection: Connection) -> None:
    with FakeSlack() as fake:
        connection.send(fake.base_url)
        while (command := connection.recv()) != "stop":
            if command == "reset":
                fake.reset()
                connection.send(None)
            elif command == "reads":
                connection.send(len(fake.calls_to("conversations.replies")))
            else:
                connection.send(
                    [
                        (call.params.get("thread_ts"), call.at, _question_id(call.params))
                        for call in fake.calls_to("chat.postMessage", ok=True)
                    ]
                )


def _question_id(params: dict) -> str | None:
    """The question a reply names in its metadata (the id it is stored under)."""
    metadata = params.get("metadata")
    payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
    return payload.get("question_id") if isinstance(payload, dict) else None


class RemoteFakeSlack:
    """A FakeSlack in a child process, so answering the instances does not compete with the
    senders for this process's GIL; times are time.monotonic(), one clock for both."""

    def __init__(self) -> None:
        self._connection, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve_fake, args=(child,), daemon=True)

    def __enter__(self) -> RemoteFakeSlack:
        self._process.start()
        self.base_url: str = self._connection.recv()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._connection.send("stop")
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()

    def reset(self) -> None:
        self._connection.send("reset")
        self._connection.recv()

    def reads(self) -> int:
        """conversations.replies calls so far (the sweep looking for a reply)."""
        self._connection.send("reads")
        return self._connection.recv()

    def replies(self) -> list[tuple[str | None, float, str | None]]:
        """(thread_ts, arrival time, the question id it names) of every chat.postMessage so
        far."""
        self._connection.send("replies")
        return self._connection.recv()


# -- databases ---------------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresSchema:
    """A fresh schema for one run, dropped afterwards; `url` is its DATABASE_URL."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        options = {"options": f"-csearch_path={self.name}"}
        self.url = make_url(server_url).update_query_dict(options).render_as_string(False)

    def __enter__(self) -> PostgresSchema:
        with psycopg.connect(_libpq(self.server_url), autocommit=True, connect_timeout=5) as db:
            db.execute(f'CREATE SCHEMA "{self.name}"')
        return self

    def __exit__(self, *exc_info: object) -> None:
        with psycopg.connect(_libpq(self.server_url), autocommit=True) as db:
            db.execute(f'DROP SCHEMA "{self.name}" CASCADE')


def stored_questions(database_url: str | None, data_dir: Path) -> int:
    """Questions stored for the benchmark's workspace over the last day."""
    store = create_store(database_url, data_dir, retention_days=None)
    try:
        return store.stats(TEAM_ID, datetime.now(UTC) - timedelta(days=1)).questions
    finally:
        store.close()


def stored_uids(database_url: str | None, data_dir: Path) -> Counter[str]:
    """How often each question id is stored."""
    store = create_store(database_url, data_dir, retention_days=None)
    try:
        with store.engine.connect() as connection:
            query = select(questions.c.uid).where(questions.c.team_id == TEAM_ID)
            return Counter(uid for uid in connection.execute(query).scalars() if uid)
    finally:
        store.close()


# -- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]
    key: str
    """The mention's ts: its answer is the chat.postMessage in that thread."""


@dataclass
class Result:
    name: str
    questions: int
    deliveries: int
    http_errors: int
    wall: float
    reply_times: list[float]
    lost: int
    duplicated: int
    missing_in_database: int

    @property
    def per_second(self) -> float:
        return self.questions / self.wall if self.wall else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(max(math.ceil(q / 100 * len(ordered)), 1), len(ordered)) - 1]


def deliveries_for(urls: Sequence[str], count: int) -> tuple[list[Delivery], list[Delivery]]:
    """`count` questions round-robin over the instances, and Slack's retry of every 10th one,
    to the next instance (the same one when there is only one)."""
    planned: list[Delivery] = []
    retries: list[Delivery] = []
    for number in range(count):
        payload = app_mention(f"<@U0BOT> {QUESTIONS[number % len(QUESTIONS)]} ({number})")
        key = payload["event"]["ts"]
        body, headers = prepare("app_mention", payload, secret=SIGNING_SECRET)
        planned.append(Delivery(urls[number % len(urls)], body, headers, key))
        if number % RETRY_EVERY == RETRY_EVERY - 1:
            retry = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            retries.append(Delivery(urls[(number + 1) % len(urls)], body, retry, key))
    return planned, retries


def send(
    deliveries: list[Delivery], senders: int, acked: set[str] | None = None
) -> tuple[dict[str, float], int, float]:
    """POST every delivery with `senders` keep-alive connections; (first send time per key,
    HTTP errors, start time). The keys acknowledged with a 200 are added to `acked`."""
    sent_at: dict[str, float] = {}
    errors = 0
    lock = threading.Lock()
    counter = itertools.count()
    barrier = threading.Barrier(senders + 1)

    def sender() -> None:
        nonlocal errors
        connections: dict[str, http.client.HTTPConnection] = {}
        barrier.wait()
        while (index := next(counter)) < len(deliveries):
            delivery = deliveries[index]
            target = urlsplit(delivery.url)
            connection = connections.get(delivery.url)
            if connection is None:
                connection = http.client.HTTPConnection(
                    target.hostname, target.port, timeout=REQUEST_TIMEOUT
                )
                connections[delivery.url] = connection
            now = time.monotonic()
            with lock:
                sent_at.setdefault(delivery.key, now)
            try:
                connection.request("POST", "/slack/events", delivery.body, delivery.headers)
                response = connection.getresponse()
                response.read()
                failed = response.status != 200
            except (OSError, http.client.HTTPException):
                failed = True
                connection.close()
                connections.pop(delivery.url, None)
            with lock:
                if failed:
                    errors += 1
                elif acked is not None:
                    acked.add(delivery.key)
        for connection in connections.values():
            connection.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return sent_at, errors, began


def run(
    name: str,
    instances: list[WebProcess],
    fake: RemoteFakeSlack,
    database_url: str | None,
    data_dir: Path,
    count: int,
    senders: int,
) -> Result:
    fake.reset()
    stored_before = stored_questions(database_url, data_dir)
    firsts, retries = deliveries_for([instance.events_url for instance in instances], count)
    sent_at, errors, began = send(firsts, senders)
    retry_at = time.monotonic() + RETRY_AFTER_SECONDS
    answers: Counter[str] = Counter()
    first_reply: dict[str, float] = {}
    deadline = time.monotonic() + REPLY_TIMEOUT
    while True:
        replies = fake.replies()
        answers = Counter(key for key, _, _ in replies if key in sent_at)
        for key, at, _ in replies:
            if key in sent_at:
                first_reply.setdefault(key, at)
        if len(answers) >= len(sent_at) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(max(0.0, retry_at - time.monotonic()))
    errors += send(retries, senders)[1]
    time.sleep(2.0)  # late duplicates would arrive now
    replies = fake.replies()
    answers = Counter(key for key, _, _ in replies if key in sent_at)
    last = max(first_reply.values(), default=began)
    return Result(
        name=name,
        questions=count,
        deliveries=len(firsts) + len(retries),
        http_errors=errors,
        wall=last - began,
        reply_times=[first_reply[key] - sent_at[key] for key in first_reply],
        lost=count - len(answers),
        duplicated=sum(times - 1 for times in answers.values()),
        missing_in_database=count - (stored_questions(database_url, data_dir) - stored_before),
    )


@dataclass
class KillResult:
    questions: int
    acknowledged: int
    unanswered: int
    duplicated: int
    unstored: int
    """Answered, but no stored question has the id a reply to it names."""
    stored_twice: int
    """Question ids stored more than once (each extra copy counted)."""
    looked_up: int
    """Deliveries whose reply the sweep looked for in Slack (they were marked sending)."""
    recovery: float
    """Seconds from the restart to the last acknowledged question answered."""


KILL_ENV = {"INBOX_LEASE_SECONDS": "3", "INBOX_SWEEP_SECONDS": "0.5"}
"""The kill round's inbox timings: a dead instance's leases run out in seconds, not a minute."""


def kill_round(
    fake: RemoteFakeSlack, database_url: str, data_dir: Path, count: int, senders: int
) -> KillResult:
    """2 instances on PostgreSQL; one is SIGKILLed while the questions are being answered, then
    started again. Only acknowledged questions count: Slack resends what was not."""
    with ExitStack() as running:
        first, second = start_instances(running, 2, fake, database_url, data_dir, KILL_ENV)
        fake.reset()
        deliveries = deliveries_for([first.events_url, second.events_url], count)[0]
        acked: set[str] = set()
        sender = threading.Thread(target=send, args=(deliveries, senders, acked), daemon=True)
        sender.start()
        deadline = time.monotonic() + REPLY_TIMEOUT
        while len(fake.replies()) < count // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.kill()  # mid-burst: some acknowledged questions are not answered yet
        sender.join()
        restarted = time.monotonic()
        first.start()  # as a host restarts a crashed process (stopped with the others)
        while time.monotonic() < deadline:
            if acked <= {key for key, _, _ in fake.replies()}:
                break
            time.sleep(0.1)
        recovery = time.monotonic() - restarted
        time.sleep(2.0)  # late duplicates would arrive now
        replies = [(key, uid) for key, _, uid in fake.replies() if key in acked]
        looked_up = fake.reads()
    answers = Counter(key for key, _ in replies)
    stored = stored_uids(database_url, data_dir)
    named: dict[str, set[str | None]] = {}
    for key, uid in replies:
        named.setdefault(key, set()).add(uid)
    return KillResult(
        questions=count,
        acknowledged=len(acked),
        unanswered=len(acked) - len(answers),
        duplicated=sum(times - 1 for times in answers.values()),
        unstored=sum(1 for uids in named.values() if not any(stored[uid] for uid in uids if uid)),
        stored_twice=sum(times - 1 for times in stored.values()),
        looked_up=looked_up,
        recovery=recovery,
    )


def start_instances(
    stack: ExitStack,
    count: int,
    fake: RemoteFakeSlack,
    database_url: str | None,
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> list[WebProcess]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    processes = [stack.enter_context(WebProcess(env)) for _ in range(count)]
    warm_up(processes, fake)
    return processes


def warm_up(processes: list[WebProcess], fake: RemoteFakeSlack) -> None:
    """A few questions to every worker, so imports and connections are not measured."""
    urls = [process.events_url for process in processes]
    send(deliveries_for(urls, 10 * len(urls))[0], 4)
    time.sleep(1.0)


def report(results: list[Result], count: int, senders: int) -> bool:
    print(f"\n{count} questions from {senders} concurrent senders ", end="")
    print(
        f"(+ a retry of every {RETRY_EVERY}th, {RETRY_AFTER_SECONDS:.0f} s later, to the other"
        " instance where there is one)\n"
    )
    header = (
        "| setup | questions/s | reply p50 | reply p99 | lost | duplicated | "
        "not stored | HTTP errors |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result.name} | {result.per_second:.0f} | "
            f"{percentile(result.reply_times, 50) * 1000:.0f} ms | "
            f"{percentile(result.reply_times, 99) * 1000:.0f} ms | {result.lost} | "
            f"{result.duplicated} | {result.missing_in_database} | {result.http_errors} |"
        )
    if len(results) == 2 and results[1].per_second:
        ratio = results[0].per_second / results[1].per_second
        print(f"\n{results[0].name} vs {results[1].name}: {ratio:.2f}x the questions/s")
    ok = all(
        r.lost == 0 and r.duplicated == 0 and r.missing_in_database == 0 and r.http_errors == 0
        for r in results
    )
    print("\nTargets: 0 lost, 0 duplicated:", "met" if ok else "MISSED")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 questions instead of 1,000")
    parser.add_argument("--questions", type=int, default=None)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument(
        "--kill-only",
        type=int,
        metavar="ROUNDS",
        default=0,
        help="run only the kill -9 round, this many times (each on a fresh schema)",
    )
    args = parser.parse_args(argv)
    count = args.questions or (200 if args.quick else 1000)
    server_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    results = []
    killed: list[KillResult] = []
    with ExitStack() as stack:
        fake = stack.enter_context(RemoteFakeSlack())
        schema = stack.enter_context(PostgresSchema(server_url))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-out-")))
        setups: list[tuple[str, int, str | None, Path]] = [
            ("2 instances, PostgreSQL", 2, schema.url, scratch / "pg"),
            ("1 instance, SQLite", 1, None, scratch / "sqlite"),
        ]
        for name, instances, database_url, data_dir in setups if not args.kill_only else []:
            data_dir.mkdir()
            with ExitStack() as running:
                processes = start_instances(running, instances, fake, database_url, data_dir)
                fake.reset()
                print(f"running: {name} …", flush=True)
                results.append(
                    run(name, processes, fake, database_url, data_dir, count, args.senders)
                )
        for round_number in range(args.kill_only or 1):
            kill_dir = scratch / f"kill-{round_number}"
            kill_dir.mkdir()
            with PostgresSchema(server_url) as kill_schema:
                print("running: kill -9 of one of 2 instances mid-burst …", flush=True)
                killed.append(kill_round(fake, kill_schema.url, kill_dir, count, args.senders))
    ok = report(results, count, args.senders) if results else True
    return 0 if report_kill(killed) and ok else 1


def report_kill(results: list[KillResult]) -> bool:
    print(
        f"\nkill -9: {results[0].questions} questions to 2 instances on PostgreSQL, one "
        "SIGKILLed after a quarter were answered, then started again\n"
    )
    print(
        "| acknowledged | unanswered | answered twice | answered, not stored | stored twice | "
        "replies looked for | all answered |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(
            f"| {result.acknowledged} | {result.unanswered} | {result.duplicated} | "
            f"{result.unstored} | {result.stored_twice} | {result.looked_up} | "
            f"{result.recovery:.1f} s after the restart |"
        )
    ok = all(
        r.unanswered == 0 and r.duplicated == 0 and r.unstored == 0 and r.stored_twice == 0
        for r in results
    )
    print(
        "\nTargets: 0 unanswered, 0 twice, 0 unstored (or stored twice) after a kill -9:",
        "met" if ok else "MISSED",
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
