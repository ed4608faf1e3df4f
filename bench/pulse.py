"""Pulse fan-out: N websocket clients, one publisher; does every event reach every socket, fast?

Each client is an agent with its own key on ``WS /api/v1/pulse/ws``: it authenticates with an
``auth`` frame, then follows one topic with a ``subscribe`` frame. One publisher agent then
opens public sessions on a closely related topic over HTTP at a steady rate (open loop: on
schedule, whether or not the previous call has returned). Each ``POST /sessions`` is one
``session_opened`` event the server fans out to all N subscribers (their topic is ~0.9
cosine-similar, far above the 0.45 threshold), so every event must arrive on every socket.

Latency of a delivery, to the moment a client read the frame, is measured from four clocks,
all on this machine:
  - from POST: the publisher's wall clock just before it sent ``POST /sessions``: what a
    watcher sees end to end (includes the request: embedding the topic, finding relevant
    experiences and related agents, writing the event and its deliveries);
  - from ``at``: the event's own ``at`` (PostgreSQL ``clock_timestamp()`` when the event row
    was written, before its deliveries and the commit);
  - from commit: the moment a LISTENer in this process heard the commit's NOTIFY (needs
    database access: always with a server of its own, with --database-url otherwise);
  - after the answer: the publisher's clock when the 201 arrived.
The fan-out latency the verdict checks against --p99-budget is publish to receipt, where an
event is published when it commits (from commit; from ``at`` when the commit is not seen).
The spread is, per event, the last socket's receipt minus the first one's.

    python -m bench.pulse --clients 1000                  # a fresh server of its own
    python -m bench.pulse --clients 250,500,1000,2000     # a sweep: one row per N
    python bench/pulse.py --clients 20 --events 5 --json
    python -m bench.pulse --url http://127.0.0.1:8000/api/v1 --pid 1234

Without --url it starts ``plurum serve`` on a fresh embedded PostgreSQL in a temp dir, with
registration and write limits opened up (the bench registers max(N) + 1 agents from one
address and publishes from one agent). With --url that server's registration limit must
allow them. The clients run in --procs separate processes (default 2, one per core of a
small machine), so parsing thousands of frames is not done by one event loop; every client
subscribes and unsubscribes once per run, with a bounded number of subscribe frames in
flight (each costs the server one embedding inside a transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import multiprocessing
import os
import queue
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

SUBSCRIBED_TOPIC = "Deploy a FastAPI service to AWS ECS Fargate with Docker"
PUBLISHED_TOPIC = "Deploying FastAPI containers on ECS Fargate using Docker images"
DEFAULT_PROCS = 2
CONNECTS_IN_FLIGHT = 50  # per client process
SUBSCRIBES_IN_FLIGHT = 4  # per client process
REGISTRATIONS_IN_FLIGHT = 32
PROGRESS_EVERY = 250
REPLY_WAIT_S = 120.0
WARMUP_EVENTS = 2
P99_BUDGET_MS = 100.0

T = TypeVar("T")
Message = tuple[Any, ...]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit(needed: int) -> None:
    """Raise the soft open-files limit towards the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            say(f"Warning: at most {target} open files allowed here, {needed} wanted.")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1) if values else 0.0,
    }


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """uvloop where available (as uvicorn uses it): the clients' loop should not be the cost."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# -- the server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    base: str  # the API base URL
    pid: int | None  # to read its memory and CPU
    database_url: str | None  # to time commits (LISTEN)


@contextlib.contextmanager
def own_server() -> Iterator[Server]:
    """`plurum serve` on a fresh embedded PostgreSQL (or PLURUM_DATABASE_URL, if set)."""
    with tempfile.TemporaryDirectory(prefix="plurum-pulse-") as tmp:
        port = free_port()
        env = {
            **os.environ,
            "PLURUM_DATA_DIR": tmp,
            "PLURUM_PORT": str(port),
            "PLURUM_REGISTRATIONS_PER_HOUR": "0",
            "PLURUM_WRITES_PER_MINUTE": "0",
            "HF_HUB_OFFLINE": "1",
        }
        log = Path(tmp) / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "plurum_backend.cli", "serve", "--log-level", "warning"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}/api/v1"
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        try:
            say("Starting plurum serve on a fresh database…")
            deadline = time.monotonic() + 180
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    lines = log.read_text().strip().splitlines() or ["(no output)"]
                    raise SystemExit(f"plurum serve did not start: {lines[-1]}")
                time.sleep(0.2)
            database_url = os.environ.get("PLURUM_DATABASE_URL")
            if database_url is None:  # the server's embedded PostgreSQL, already running
                from plurum_backend.store.database import start_embedded

                database_url = start_embedded(Path(tmp) / "pgdata").url
            yield Server(base, proc.pid, database_url)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if "PLURUM_DATABASE_URL" not in os.environ:
                from plurum_backend.store.database import stop_embedded

                with contextlib.suppress(Exception):
                    stop_embedded(Path(tmp) / "pgdata")


async def register_many(base: str, count: int) -> list[str]:
    """``count`` new agents' API keys, registered a few dozen at a time."""
    prefix = "pulse" + uuid.uuid4().hex[:6]
    keys: list[str] = [""] * count
    gate = asyncio.Semaphore(REGISTRATIONS_IN_FLIGHT)
    done = 0
    limits = httpx.Limits(max_connections=REGISTRATIONS_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def one(i: int) -> None:
            nonlocal done
            async with gate:
                body = {"name": f"Pulse client {i}", "username": f"{prefix}{i}"}
                r = await http.post("/agents/register", json=body)
            if r.status_code != 201:
                detail = r.json().get("detail", r.text[:200]) if r.content else ""
                raise SystemExit(
                    f"Registering agent {i} failed with {r.status_code} ({detail}); the "
                    "server's registration limit must allow every client (0 turns it off)."
                )
            keys[i] = str(r.json()["api_key"])
            done += 1
            if done % PROGRESS_EVERY == 0 or done == count:
                say(f"  registered {done}/{count}")

        await asyncio.gather(*(one(i) for i in range(count)))
    return keys


# -- client processes ---------------------------------------------------------------------


@dataclass
class WorkerJob:
    wid: int
    ws_url: str
    keys: list[tuple[str, bool]]  # API key, and whether it still has to subscribe
    topic: str
    unsubscribe: bool  # at the end (the last run of a sweep)


@dataclass(eq=False)
class Client:
    ws: ClientConnection
    seen: set[str] = field(default_factory=set)
    deliveries: list[tuple[str, int, float, float]] = field(default_factory=list)
    duplicates: int = 0
    other: int = 0
    samples: list[str] = field(default_factory=list)
    closed: str | None = None
    replies: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def read_forever(self) -> None:
        try:
            async for text in self.ws:
                received = time.time()
                message = json.loads(text)
                kind = message.get("type")
                if kind == "session_opened":
                    sid = message["session"]["session_id"]
                    if sid in self.seen:
                        self.duplicates += 1
                    else:
                        self.seen.add(sid)
                        at = datetime.fromisoformat(message["at"]).timestamp()
                        self.deliveries.append((sid, message["id"], received, at))
                elif kind in ("subscribed", "error"):
                    self.replies.put_nowait(message)
                else:
                    self.other += 1
                    if len(self.samples) < 3:
                        self.samples.append(str(text)[:200])
        except websockets.ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else "no close frame"
        if self.closed is None:
            self.closed = "closed by the server"

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        await self.ws.send(json.dumps(frame))
        return await asyncio.wait_for(self.replies.get(), REPLY_WAIT_S)


def client_worker(job: WorkerJob, commands: Any, outbox: Any) -> None:
    """A client process: connect, subscribe, report ready, receive until told to drain."""
    try:
        run_async(_worker(job, commands, outbox))
    except Exception as exc:
        outbox.put(("error", job.wid, f"{type(exc).__name__}: {exc}"))


async def _connect(job: WorkerJob, i: int) -> Client:
    try:
        ws = await websockets.connect(
            job.ws_url,
            ping_interval=None,
            max_size=None,
            open_timeout=REPLY_WAIT_S,
            close_timeout=5,
        )
        await ws.send(json.dumps({"type": "auth", "api_key": job.keys[i][0]}))
        first = json.loads(await asyncio.wait_for(ws.recv(), REPLY_WAIT_S))
    except (OSError, TimeoutError, websockets.WebSocketException) as exc:
        what = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise RuntimeError(f"socket {i} could not connect and authenticate ({what})") from None
    if first.get("type") != "auth_ok":
        raise RuntimeError(f"socket {i} was refused: {first.get('detail', first)}")
    return Client(ws)


async def _worker(job: WorkerJob, commands: Any, outbox: Any) -> None:
    raise_fd_limit(len(job.keys) + 256)
    gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)
    slots: list[Client | None] = [None] * len(job.keys)

    async def connect(i: int) -> None:
        async with gate:
            slots[i] = await _connect(job, i)
        outbox.put(("connected", job.wid, 1))

    await asyncio.gather(*(connect(i) for i in range(len(job.keys))))
    clients = [c for c in slots if c is not None]
    new = [c for c, (_, fresh) in zip(clients, job.keys, strict=True) if fresh]
    readers = [asyncio.create_task(c.read_forever()) for c in clients]

    sub_gate = asyncio.Semaphore(SUBSCRIBES_IN_FLIGHT)

    async def subscribe(c: Client, topics: list[str]) -> None:
        async with sub_gate:
            reply = await c.request({"type": "subscribe", "topics": topics})
        if reply.get("type") != "subscribed":
            raise RuntimeError(f"a subscribe frame was answered {reply}")

    async def subscribe_and_count(c: Client) -> None:
        await subscribe(c, [job.topic])
        outbox.put(("subscribed", job.wid, 1))

    await asyncio.gather(*(subscribe_and_count(c) for c in new))
    cpu_ready, wall_ready = time.process_time(), time.monotonic()
    outbox.put(("ready", job.wid, len(clients)))

    command = await asyncio.to_thread(commands.get)
    expected: set[str] = set(command[1])
    drain_s: float = command[2]
    deadline = time.monotonic() + drain_s
    while time.monotonic() < deadline:
        if all(expected <= c.seen or c.closed for c in clients):
            break
        await asyncio.sleep(0.05)
    cpu_s, wall_s = time.process_time() - cpu_ready, time.monotonic() - wall_ready
    result = {
        "deliveries": [d for c in clients for d in c.deliveries],
        "missing": sum(len(expected - c.seen) for c in clients),
        "duplicates": sum(c.duplicates for c in clients),
        "other_frames": sum(c.other for c in clients),
        "samples": [s for c in clients for s in c.samples][:5],
        "closed_early": [c.closed for c in clients if c.closed][:5],
        "closed_early_count": sum(1 for c in clients if c.closed),
        "cpu_s": cpu_s,
        "wall_s": wall_s,
    }
    if job.unsubscribe:  # leave the server as found: no subscription left behind
        with contextlib.suppress(Exception):
            await asyncio.gather(*(subscribe(c, []) for c in clients if c.closed is None))
    for c in clients:
        with contextlib.suppress(Exception):
            await c.ws.close()
    for reader in readers:
        reader.cancel()
    outbox.put(("result", job.wid, result))


# -- one run ------------------------------------------------------------------------------


@dataclass
class Published:
    session_id: str
    sent: float  # wall clock
    acked: float


class Pool:
    """The client processes of one run and their shared report queue."""

    def __init__(self, jobs: list[WorkerJob]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.outbox: Any = ctx.Queue()
        self.commands: list[Any] = [ctx.Queue() for _ in jobs]
        self.procs = [
            ctx.Process(target=client_worker, args=(job, cmd, self.outbox), daemon=True)
            for job, cmd in zip(jobs, self.commands, strict=True)
        ]
        for p in self.procs:
            p.start()

    async def next(self, patience: float) -> Message:
        """The next report of any client process; a clear error if one died or went quiet."""
        deadline = time.monotonic() + patience
        while True:
            try:
                message: Message = await asyncio.to_thread(self.outbox.get, True, 1.0)
            except queue.Empty:
                dead = [p for p in self.procs if p.exitcode not in (None, 0)]
                if dead:
                    raise SystemExit(
                        f"A client process exited with code {dead[0].exitcode}."
                    ) from None
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"The client processes reported nothing for {patience:g} s."
                    ) from None
                continue
            if message[0] == "error":
                raise SystemExit(f"Client process {message[1]} failed: {message[2]}.")
            return message

    def stop(self) -> None:
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()


async def publish(
    base: str, key: str, events: int, rate: float, *, quiet: bool = False
) -> tuple[list[Published], list[str]]:
    """Open ``events`` public sessions, one every 1/rate s on schedule (open loop)."""
    published: list[Published] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as http:

        async def one(i: int) -> None:
            body = {"topic": f"{PUBLISHED_TOPIC} (attempt {i + 1})", "visibility": "public"}
            sent = time.time()
            try:
                r = await http.post("/sessions", json=body)
            except httpx.HTTPError as exc:
                errors.append(f"POST /sessions: {type(exc).__name__} {exc}")
                return
            if r.status_code != 201:
                errors.append(f"POST /sessions {r.status_code} {r.text[:150]}")
                return
            published.append(Published(r.json()["session_id"], sent, time.time()))

        start = time.monotonic()
        tasks = []
        for i in range(events):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
            if not quiet and (i + 1) % max(1, events // 4) == 0:
                say(f"  published {i + 1}/{events}")
        await asyncio.gather(*tasks)
    return published, errors


class Commits:
    """When each pulse transaction committed, as seen by a LISTENer of the server's channel.

    A transaction writing events NOTIFYs the last event id on commit; the hub hears the same
    notification at the same time, so this is the moment its fan-out can start.
    """

    def __init__(self, database_url: str | None) -> None:
        self.url = database_url
        self.seen: list[tuple[int, float]] = []  # (last event id, wall clock)
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Commits:
        if self.url:
            self.task = asyncio.create_task(self._listen(self.url))
            await asyncio.wait_for(self.ready.wait(), 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _listen(self, url: str) -> None:
        import psycopg

        from plurum_backend.store.pulse import CHANNEL

        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            async for note in conn.notifies():
                self.seen.append((int(note.payload), time.time()))

    def at(self, event_id: int) -> float | None:
        """The commit time of the transaction that wrote event ``event_id``."""
        i = bisect.bisect_left(self.seen, (event_id, -math.inf))
        return self.seen[i][1] if i < len(self.seen) else None


async def sample_server(pid: int, into: list[float]) -> None:
    while True:
        value = rss_mib(pid)
        if value is not None:
            into.append(value)
        await asyncio.sleep(0.5)


async def run_once(
    server: Server,
    keys: list[str],
    already: int,
    last: bool,
    publisher: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """N = len(keys) clients, of which the first ``already`` are subscribed from before."""
    n, pid = len(keys), server.pid
    procs = max(1, min(args.procs, n))
    ws_url = server.base.replace("http", "ws", 1) + "/pulse/ws"
    marked = [(key, i >= already) for i, key in enumerate(keys)]
    jobs = [WorkerJob(w, ws_url, marked[w::procs], SUBSCRIBED_TOPIC, last) for w in range(procs)]
    rss_idle = rss_mib(pid) if pid else None
    to_subscribe = n - min(already, n)
    say(f"{n} clients in {procs} processes: connecting, {to_subscribe} subscribing…")
    started = time.monotonic()
    pool = Pool(jobs)
    try:
        counts = {"connected": 0, "subscribed": 0}
        totals = {"connected": n, "subscribed": to_subscribe}
        ready = 0
        connected_at = started
        while ready < procs:
            kind, _, value = await pool.next(patience=300)
            if kind in counts:
                counts[kind] += value
                if counts[kind] % PROGRESS_EVERY == 0 or counts[kind] == totals[kind]:
                    say(f"  {kind} {counts[kind]}/{totals[kind]}")
                if kind == "connected" and counts[kind] == n:
                    connected_at = time.monotonic()
            elif kind == "ready":
                ready += 1
        setup = {
            "connect_s": round(connected_at - started, 1),
            "subscribe_s": round(time.monotonic() - connected_at, 1),
            "subscribed_now": to_subscribe,
        }
        rss_connected = rss_mib(pid) if pid else None

        async with Commits(server.database_url) as commits:
            # Warm up the publishing path (first queries, caches) with events not measured.
            await publish(server.base, publisher, WARMUP_EVENTS, args.rate, quiet=True)
            await asyncio.sleep(1)
            say(f"Publishing {args.events} session_opened events at {args.rate:g}/s…")
            rss_samples: list[float] = []
            sampler = asyncio.create_task(sample_server(pid, rss_samples)) if pid else None
            cpu0, busy0, wall0 = cpu_seconds(pid) if pid else None, machine_busy(), time.monotonic()
            published, errors = await publish(server.base, publisher, args.events, args.rate)
            for commands in pool.commands:
                commands.put(("drain", [p.session_id for p in published], args.drain))
            results: list[dict[str, Any]] = []
            while len(results) < procs:
                kind, _, value = await pool.next(patience=args.drain + 120)
                if kind == "result":
                    results.append(value)
            cpu1, busy1, wall1 = cpu_seconds(pid) if pid else None, machine_busy(), time.monotonic()
            if sampler is not None:
                sampler.cancel()
    finally:
        pool.stop()

    by_id = {p.session_id: p for p in published}
    from_post: list[float] = []
    from_at: list[float] = []
    from_commit: list[float] = []
    after_ack: list[float] = []
    first: dict[str, float] = {}
    final: dict[str, float] = {}
    for r in results:
        for sid, event_id, received, at in r["deliveries"]:
            p = by_id.get(sid)
            if p is None:
                continue
            from_post.append((received - p.sent) * 1000)
            from_at.append((received - at) * 1000)
            after_ack.append((received - p.acked) * 1000)
            committed = commits.at(event_id)
            if committed is not None:
                from_commit.append((received - committed) * 1000)
            first[sid] = min(first.get(sid, received), received)
            final[sid] = max(final.get(sid, received), received)
    spread = [(final[s] - first[s]) * 1000 for s in first]
    post_ms = [(p.acked - p.sent) * 1000 for p in published]
    expected = len(published) * n
    missing = sum(r["missing"] for r in results)
    client_cpu = sum(r["cpu_s"] for r in results) / max(r["wall_s"] for r in results)
    server_cpu = None
    if cpu0 is not None and cpu1 is not None:
        server_cpu = round(100 * (cpu1 - cpu0) / (wall1 - wall0))
    machine = None
    if busy0 and busy1 and busy1[1] > busy0[1]:
        machine = round(100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]))
    closed = sum(r["closed_early_count"] for r in results)
    latency = {
        "from_post": summary(from_post),
        "from_at": summary(from_at),
        "from_commit": summary(from_commit) if from_commit else None,
        "after_ack": summary(after_ack),
    }
    problems = []
    if missing:
        problems.append(f"{missing} deliveries missing")
    if errors:
        problems.append(f"{len(errors)} publish errors")
    if closed:
        problems.append(f"{closed} sockets closed early")
    fanout = summary(from_commit or from_at)["p99"]
    if fanout > args.p99_budget:
        clock = "commit" if from_commit else "at"
        problems.append(f"fan-out p99 {fanout:.0f} ms (from {clock}) > {args.p99_budget:g} ms")
    return {
        "clients": n,
        "client_procs": procs,
        "connections_held": n - closed,
        "events_published": len(published),
        "publish_errors": len(errors),
        "deliveries_expected": expected,
        "deliveries_received": len(from_post),
        "missing": missing,
        "duplicates": sum(r["duplicates"] for r in results),
        "other_frames": sum(r["other_frames"] for r in results),
        "latency_ms": latency,
        "post_ms": summary(post_ms),
        "spread_ms": summary(spread),
        "setup": setup,
        "server_rss_mib": {
            "idle": None if rss_idle is None else round(rss_idle, 1),
            "connected": None if rss_connected is None else round(rss_connected, 1),
            "max": round(max(rss_samples), 1) if rss_samples else None,
        },
        "server_cpu_pct": server_cpu,
        "client_cpu_pct": round(100 * client_cpu),
        "machine_cpu_pct": machine,
        "ok": not problems,
        "problems": problems,
        "samples": (errors + [s for r in results for s in r["samples"] + r["closed_early"]])[:10],
    }


async def bench(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    sizes: list[int] = sorted(set(args.clients))
    say(f"Registering {sizes[-1] + 1} agents…")
    keys = await register_many(server.base, sizes[-1] + 1)
    publisher, clients = keys[0], keys[1:]
    runs: list[dict[str, Any]] = []
    subscribed = 0  # clients[:subscribed] follow the topic: a sweep subscribes each one once
    for n in sizes:
        runs.append(
            await run_once(server, clients[:n], subscribed, n == sizes[-1], publisher, args)
        )
        subscribed = max(subscribed, n)
        say(report_run(runs[-1]))
    return {
        "event": "session_opened",
        "rate_per_s": args.rate,
        "events": args.events,
        "p99_budget_ms": args.p99_budget,
        "latency_from": {
            "from_post": "publisher's clock just before POST /sessions is sent",
            "from_at": "the event's at (PostgreSQL clock_timestamp() when the event row was "
            "written, before its deliveries and the commit)",
            "from_commit": "the commit's NOTIFY, as heard by a LISTENer in this process "
            "(null without database access)",
            "after_ack": "publisher's clock when the 201 arrived (negative: before the answer)",
        },
        "runs": runs,
    }


# -- report -------------------------------------------------------------------------------


def report_run(r: dict[str, Any]) -> str:
    lat, rss = r["latency_ms"], r["server_rss_mib"]
    rss_text = "?" if rss["max"] is None else f"{rss['idle']:.0f}→{rss['max']:.0f} MiB"
    return (
        f"  N={r['clients']}: {r['connections_held']} held, {r['events_published']} events, "
        f"{r['deliveries_received']}/{r['deliveries_expected']} delivered "
        f"({r['missing']} missing), from POST p50 {lat['from_post']['p50']:.0f} ms "
        f"p99 {lat['from_post']['p99']:.0f} ms, server RSS {rss_text}"
    )


def report(result: dict[str, Any]) -> str:
    def cell(value: float | None, width: int) -> str:
        return f"{'?' if value is None else f'{value:.0f}':>{width}}"

    lines = [
        f"Pulse fan-out: {result['events']} session_opened events at {result['rate_per_s']:g}/s, "
        "each to every client; latencies in ms, to the moment a client read the frame, from:",
        "  POST   = the publisher's clock just before it sent POST /sessions (end to end)",
        "  at     = the event's at (clock_timestamp() when its row was written, before commit)",
        "  commit = the commit's NOTIFY as heard by a LISTENer here (the hub's starting gun)",
        "  spread = per event, the last socket's read minus the first one's",
        "",
        f"{'clients':>7} {'procs':>5} {'held':>5} {'events':>6} {'expected':>9} "
        f"{'received':>9} {'miss':>5} | {'POST p50':>8} {'p99':>5} {'max':>5} | "
        f"{'at p50':>6} {'p99':>5} | {'commit p50':>10} {'p99':>5} | {'spread p99':>10} | "
        f"{'POST/sessions p50':>17} {'p99':>5} | {'RSS MiB':>7} {'srv CPU':>7} "
        f"{'cli CPU':>7} {'machine':>7} | verdict",
    ]
    for r in result["runs"]:
        lat = r["latency_ms"]
        commit = lat["from_commit"] or {"p50": None, "p99": None}
        verdict = "ok" if r["ok"] else "; ".join(r["problems"])
        lines.append(
            f"{r['clients']:>7} {r['client_procs']:>5} {r['connections_held']:>5} "
            f"{r['events_published']:>6} {r['deliveries_expected']:>9} "
            f"{r['deliveries_received']:>9} {r['missing']:>5} | "
            f"{lat['from_post']['p50']:>8.0f} {lat['from_post']['p99']:>5.0f} "
            f"{lat['from_post']['max']:>5.0f} | {lat['from_at']['p50']:>6.0f} "
            f"{lat['from_at']['p99']:>5.0f} | "
            f"{cell(commit['p50'], 10)} {cell(commit['p99'], 5)} | "
            f"{r['spread_ms']['p99']:>10.0f} | {r['post_ms']['p50']:>17.0f} "
            f"{r['post_ms']['p99']:>5.0f} | {cell(r['server_rss_mib']['max'], 7)} "
            f"{cell(r['server_cpu_pct'], 6)}% {cell(r['client_cpu_pct'], 6)}% "
            f"{cell(r['machine_cpu_pct'], 6)}% | {verdict}"
        )
    for r in result["runs"]:
        lines += [f"  N={r['clients']}: {s}" for s in r["samples"]]
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or N,N,…, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"client counts must be at least 1, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=sizes, default=[1000], help="N, or a sweep N,N,…")
    parser.add_argument("--events", type=int, default=60, help="events published per run")
    parser.add_argument("--rate", type=float, default=2.0, help="events per second")
    parser.add_argument("--procs", type=int, default=DEFAULT_PROCS, help="client processes")
    parser.add_argument("--drain", type=float, default=15.0, help="s to wait for stragglers")
    parser.add_argument("--p99-budget", type=float, default=P99_BUDGET_MS, help="ms")
    parser.add_argument("--url", help="a running server's API base (default: start one)")
    parser.add_argument("--pid", type=int, help="the server's pid, to read its memory")
    parser.add_argument(
        "--database-url", help="with --url: the server's database, to time commits (optional)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.events < 1 or args.rate <= 0 or args.procs < 1:
        parser.error("--events, --rate and --procs must be positive")
    raise_fd_limit(max(args.clients) + 1024)  # `plurum serve` inherits it

    def run(server: Server) -> dict[str, Any]:
        return asyncio.run(bench(server, args))

    if args.url:
        result = run(Server(args.url.rstrip("/"), args.pid, args.database_url))
    else:
        with own_server() as server:
            result = run(server)
    print(json.dumps(result, indent=2) if args.json else report(result))
    failed = any(r["missing"] or r["publish_errors"] for r in result["runs"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
