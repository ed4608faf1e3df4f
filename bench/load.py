"""Load: many agents at once against a real `plurum serve`, over HTTP.

Each agent registers, opens a session, then until the time is up picks at random, in the
proportions of an agent following Plurum's workflow (search before acting, log each step,
acquire what it found, report how it went, close the session when the task is done; one
session of ~20 calls):

    search 40 %, log an entry 38 %, acquire a found experience 8 %, report an outcome on one
    5 %, vote on one 4 %, close the session and open the next 5 %

(acquire, outcome and vote pick among the experiences its last search found, other agents'
ones; with none yet they search instead; a session without entries is abandoned instead of
closed). Prints, for each crowd size, throughput, p50/p99 latency per kind and per request,
errors (any non-2xx, 429 included, or a failed connection), the server's resident memory, and
where the machine's CPU went during the run: the model (the server's embedder thread and the
threads it started), the database (every PostgreSQL process), the rest of the server (Python:
the event loop, requests, Tantivy) and this load generator, read from /proc before and after.

    python bench/load.py                      # 10, 50 and 200 agents, 60 s each, own server
    python bench/load.py --agents 5 --duration 5 --json
    python bench/load.py --url http://127.0.0.1:8000/api/v1 --pid 1234 --pg-pid 1200
    python bench/load.py --agents 50 --rate 100   # 50 agents offering 100 operations/s
    python bench/load.py --agents 50 --replicas 2 # two `plurum serve` on one database
    python bench/load.py --agents 50 --sockets    # each agent also holds a pulse websocket

Two ways to load, two questions. Closed (the default): each agent sends its next call as soon
as the last one is answered, with no think time, so the server is always saturated: the
throughput is its capacity, and by Little's law the mean latency is simply agents ÷ throughput
(50 agents at 100 ops/s: 0.5 s whatever the code does). Paced (``--rate R``): the agents
together offer R operations a second (each at R ÷ agents, Poisson arrivals: a real agent thinks
between calls), and each latency is counted from when the call was due, not when a late agent
got round to sending it, so a server that falls behind is charged for the backlog it causes
(no "coordinated omission"). "p99 at 100 ops/s" is a paced figure; "ops/s" a closed one.

Without --url it starts `plurum serve` on a fresh embedded PostgreSQL in a temp dir, with
the default rate limits (only registration is opened up, for the agents it registers) and
PLURUM_EMBEDDING_BACKEND as set (default: the server's default). With --url the server's
registration limit must allow the agents + 1 registrations; --pg-pid (the postmaster) adds
the database's share. --replicas N starts N servers on the one database, each with its own
search index (the replicas of docs/operations.md), and gives each agent one of them, as an
agent's MCP host keeps one connection; --url and --pid take comma-separated lists for the same.
--sockets has each agent hold a pulse websocket for the run, as the MCP server does (auth
frame, then it reads every frame it is sent): the hub then reads and fans out every event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

KINDS = ("search", "entry", "acquire", "outcome", "vote", "open_close")
ROUTE_ID = re.compile(r"(?<=/)[0-9a-f]{8}-[0-9a-f-]{27}")
EXPERIENCE_ID = re.compile(r"(?<=/experiences/)[A-Za-z0-9]{8}(?=/)")
WEIGHTS = (0.40, 0.38, 0.08, 0.05, 0.04, 0.05)
LEVELS = "10,50,200"
MODEL_THREAD = "plurum-embedder"  # the embedder's worker names itself (and so its threads)
SEED_EXPERIENCES = 100
TOPICS = [
    "Deploy FastAPI to AWS ECS with Docker",
    "Speed up PostgreSQL full-text search with GIN indexes",
    "Fix flaky pytest tests that share a database",
    "Cut Docker image size with multi-stage builds",
    "Stream large CSV exports from Django without running out of memory",
    "Configure nginx as a reverse proxy for websockets",
    "Tune gunicorn workers for CPU-bound Flask apps",
    "Migrate a React app from webpack to Vite",
    "Debug memory leaks in long-running Node.js services",
    "Set up GitHub Actions caching for pip and npm",
    "Shard a Redis cache without downtime",
    "Rotate TLS certificates automatically with cert-manager",
    "Batch embeddings with sentence-transformers on CPU",
    "Paginate a REST API with keyset cursors",
    "Retry idempotent HTTP calls with exponential backoff",
    "Profile slow SQLAlchemy queries and fix N+1 loads",
]
QUERIES = [
    "docker image too big",
    "postgres search slow",
    "flaky tests database",
    "websocket proxy nginx",
    "memory leak node",
    "ci cache pip",
    "keyset pagination",
    "retry with backoff",
    "embedding batch cpu",
    "n+1 queries sqlalchemy",
    "certificate rotation kubernetes",
    "vite migration webpack",
]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    samples: list[str] = field(default_factory=list)  # a few error descriptions
    routes: dict[str, list[float]] = field(default_factory=dict)  # each request, by route

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {what}")


def rss_mib(pids: list[int]) -> float | None:
    """The servers' resident memory, summed (None if none could be read)."""
    total = None
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total = (total or 0.0) + int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {
        **os.environ,
        "PLURUM_DATA_DIR": str(data_dir),
        "PLURUM_PORT": str(port),
        "PLURUM_REGISTRATIONS_PER_HOUR": "0",
        "HF_HUB_OFFLINE": "1",
        # the ONNX export is made once and kept, not once per run
        "PLURUM_MODEL_DIR": os.environ.get("PLURUM_MODEL_DIR", str(MODEL_CACHE)),
        **extra,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plurum_backend.cli", "serve", "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}/api/v1", log


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("plurum serve did not start:\n" + log.read_text())
        time.sleep(0.2)


@contextlib.contextmanager
def own_server(replicas: int = 1) -> Iterator[tuple[list[str], list[int], int | None]]:
    """`plurum serve` on a fresh embedded PostgreSQL (or PLURUM_DATABASE_URL, if set); with
    ``replicas`` > 1, more servers on the same database, each with its own data directory
    (its own search index)."""
    with tempfile.TemporaryDirectory(prefix="plurum-load-") as tmp:
        procs: list[subprocess.Popen[bytes]] = []
        try:
            say("Starting plurum serve on a fresh database…")
            proc, base, log = _serve(Path(tmp), {})
            procs.append(proc)
            _wait_ready(proc, base, log)
            bases = [base]
            pg_dir = Path(tmp) / "pgdata"
            url = (
                os.environ.get("PLURUM_DATABASE_URL")
                or f"postgresql://postgres@/postgres?host={pg_dir}"
            )
            for i in range(1, replicas):
                say(f"Starting replica {i + 1} of {replicas}…")
                proc, base, log = _serve(Path(tmp) / f"replica{i}", {"PLURUM_DATABASE_URL": url})
                procs.append(proc)
                _wait_ready(proc, base, log)
                bases.append(base)
            yield bases, [p.pid for p in procs], postmaster(pg_dir)
        finally:
            for proc in reversed(procs):  # the first one last: it owns the embedded database
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            if "PLURUM_DATABASE_URL" not in os.environ:
                from plurum_backend.store.database import stop_embedded

                with contextlib.suppress(Exception):
                    stop_embedded(Path(tmp) / "pgdata")


MODEL_CACHE = Path(__file__).resolve().parent / ".cache" / "models"


def postmaster(pg_dir: Path) -> int | None:
    try:
        return int((pg_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _ticks(stat: str) -> tuple[int, int, int]:
    """(utime + stime, children's cutime + cstime, ppid) from a /proc stat line."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[1])


def cpu_seconds(servers: list[int], pg: int | None) -> dict[str, float]:
    """CPU seconds used so far: the servers' model threads and other threads, PostgreSQL
    (the postmaster, its live children, and the children it already reaped), this process."""
    hz = os.sysconf("SC_CLK_TCK")
    out = {"model": 0.0, "server_other": 0.0, "database": 0.0, "load_generator": 0.0}
    for server in servers:
        for task in Path(f"/proc/{server}/task").glob("*"):
            try:
                comm = (task / "comm").read_text().strip()
                used, _, _ = _ticks((task / "stat").read_text())
            except OSError:
                continue
            out["model" if comm == MODEL_THREAD else "server_other"] += used / hz
    if pg:
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                used, reaped, parent = _ticks((proc / "stat").read_text())
            except OSError:
                continue
            if proc.name == str(pg):
                out["database"] += (used + reaped) / hz
            elif parent == pg:
                out["database"] += used / hz
    times = os.times()
    out["load_generator"] = times.user + times.system
    return out


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def register(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await http.post("/agents/register", json={"name": username, "username": username})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def seed(http: httpx.AsyncClient, auth: dict[str, str], count: int) -> None:
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        body = {
            "goal": f"{topic} (#{i})",
            "context": f"Notes from run {i}.",
            "dead_ends": [{"description": "the obvious fix", "reason": "it hid the real cause"}],
            "breakthroughs": [f"measure first, then change one thing ({i})"],
            "tags": ["load", topic.split()[0].lower()],
        }
        r = await http.post("/experiences", headers=auth, json=body)
        r.raise_for_status()


class LoadAgent:
    def __init__(
        self, http: httpx.AsyncClient, auth: dict[str, str], rng: random.Random, username: str
    ) -> None:
        self.http, self.auth, self.rng, self.username = http, auth, rng, username
        self.session = ""
        self.entries = 0
        self.found: list[str] = []  # short ids of others' experiences from the last search

    async def open(self) -> httpx.Response:
        body = {"topic": self.rng.choice(TOPICS), "tools_used": ["docker"]}
        r = await self.http.post("/sessions", headers=self.auth, json=body)
        if r.status_code == 201:
            self.session, self.entries = r.json()["session_id"], 0
        return r

    async def step(self, kind: str) -> list[httpx.Response]:
        if kind in ("acquire", "outcome", "vote") and not self.found:
            kind = "search"
        if kind == "search":
            query = {"query": self.rng.choice(QUERIES), "limit": 5}
            r = await self.http.post("/experiences/search", headers=self.auth, json=query)
            if r.status_code == 200:
                self.found = [
                    hit["short_id"]
                    for hit in r.json()["results"]
                    if hit["author"]["username"] != self.username
                ]
            return [r]
        if kind in ("acquire", "outcome", "vote"):
            where = f"/experiences/{self.rng.choice(self.found)}/{kind}"
            bodies: dict[str, dict[str, Any]] = {
                "acquire": {"mode": self.rng.choice(["summary", "checklist", "full"])},
                "outcome": {"success": self.rng.random() < 0.7, "execution_time_ms": 1200},
                "vote": {"vote_type": self.rng.choice(["up", "up", "down"])},
            }
            body = bodies[kind]
            return [await self.http.post(where, headers=self.auth, json=body)]
        if kind == "entry":
            content = {"description": f"step {self.entries}: {self.rng.choice(QUERIES)}"}
            body = {
                "entry_type": self.rng.choice(["update", "dead_end", "note"]),
                "content": content,
            }
            r = await self.http.post(
                f"/sessions/{self.session}/entries", headers=self.auth, json=body
            )
            self.entries += r.status_code == 201
            return [r]
        action = "close" if self.entries else "abandon"
        ended = await self.http.post(f"/sessions/{self.session}/{action}", headers=self.auth)
        return [ended, await self.open()]


@dataclass
class Sockets:
    held: int = 0
    frames: int = 0
    failures: list[str] = field(default_factory=list)


async def hold_socket(
    base: str, auth: dict[str, str], sockets: Sockets, ready: asyncio.Event
) -> None:
    """A pulse websocket as the MCP server holds one: auth frame, then read until cancelled."""
    import websockets

    url = "ws" + base.removeprefix("http") + "/pulse/ws"
    key = auth["Authorization"].removeprefix("Bearer ")
    try:
        async with websockets.connect(url, open_timeout=30, max_size=1 << 20) as socket:
            await socket.send(json.dumps({"type": "auth", "api_key": key}))
            reply = json.loads(await asyncio.wait_for(socket.recv(), 30))
            if reply.get("type") != "auth_ok":
                raise ConnectionError(f"expected auth_ok, got {reply}")
            sockets.held += 1
            ready.set()
            while True:
                await socket.recv()
                sockets.frames += 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # counted as an error of the run
        sockets.failures.append(f"pulse socket: {type(exc).__name__}: {exc}")
        ready.set()


async def run_agent(
    agent: LoadAgent, stats: Stats, deadline: float, rate: float | None = None
) -> None:
    """Closed (``rate`` None): the next call as soon as the last is answered. Paced: calls due
    at Poisson arrivals of ``rate`` a second; a call's latency runs from when it was due."""
    due = time.perf_counter() + (agent.rng.expovariate(rate) if rate else 0.0)
    while time.monotonic() < deadline:
        kind = agent.rng.choices(KINDS, WEIGHTS)[0]
        if kind in ("acquire", "outcome", "vote") and not agent.found:
            kind = "search"
        if rate:
            ahead = due - time.perf_counter()
            if ahead > 0:
                if time.monotonic() + ahead >= deadline:
                    return
                await asyncio.sleep(ahead)
            started = due  # late is charged to the server: the call was due then
            due += agent.rng.expovariate(rate)
        else:
            started = time.perf_counter()
        try:
            answers = await agent.step(kind)
        except httpx.HTTPError as exc:
            where = f"{exc.request.method} {exc.request.url.path}" if exc.request else "?"
            stats.error(
                kind,
                f"{type(exc).__name__} on {where} after "
                f"{time.perf_counter() - started:.1f}s: {exc}",
            )
            continue
        stats.latencies[kind].append(time.perf_counter() - started)
        for r in answers:
            path = EXPERIENCE_ID.sub("{id}", ROUTE_ID.sub("{id}", r.request.url.path))
            route = f"{r.request.method} {path}"
            stats.routes.setdefault(route, []).append(r.elapsed.total_seconds())
            if not r.is_success:
                stats.error(
                    kind, f"{r.request.method} {r.request.url.path} {r.status_code} {r.text[:100]}"
                )


async def sample_rss(pids: list[int], into: list[float]) -> None:
    while True:
        await asyncio.sleep(10)
        value = rss_mib(pids)
        if value is not None:
            into.append(value)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def crowd_run(
    clients: list[httpx.AsyncClient],
    prefix: str,
    agents: int,
    duration: float,
    pids: list[int],
    pg: int | None,
    rate: float | None = None,
    with_sockets: bool = False,
) -> dict[str, Any]:
    say(f"Registering {agents} agents…")
    rng = random.Random(agents)
    crowd = []
    for i in range(agents):
        username = f"{prefix}a{agents}x{i}"
        auth = await register(clients[0], username)
        http = clients[i % len(clients)]  # one replica per agent, for the whole run
        crowd.append(LoadAgent(http, auth, random.Random(rng.random()), username))
    sockets = Sockets()
    holders: list[asyncio.Task[None]] = []
    if with_sockets:
        say(f"Opening {agents} pulse websockets…")
        for agent in crowd:
            ready = asyncio.Event()
            base = str(agent.http.base_url).rstrip("/")
            holders.append(asyncio.create_task(hold_socket(base, agent.auth, sockets, ready)))
            await ready.wait()
    for agent in crowd:
        (await agent.open()).raise_for_status()
    rss_start = rss_mib(pids)
    rss_samples: list[float] = []
    pace = f", offering {rate:g} operations/s" if rate else ""
    say(f"Running {agents} agents for {duration:g} s{pace}…")
    stats = Stats()
    cpu_before = cpu_seconds(pids, pg)
    started = time.monotonic()
    sampler = asyncio.create_task(sample_rss(pids, rss_samples)) if pids else None
    each = rate / agents if rate else None
    await asyncio.gather(*(run_agent(a, stats, started + duration, each) for a in crowd))
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(pids, pg)
    if sampler is not None:
        sampler.cancel()
    still_held = sockets.held - sum(h.done() for h in holders)
    for holder in holders:
        holder.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    rss_end = rss_mib(pids)
    ops = sum(len(v) for v in stats.latencies.values())
    cores = os.cpu_count() or 1
    used = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
    return {
        "agents": agents,
        "servers": len(clients),
        "offered_ops_s": rate,  # None: closed loop (as fast as answered)
        "duration_s": round(elapsed, 1),
        "operations": ops,
        "throughput_ops_s": round(ops / elapsed, 1),
        "kinds": {
            kind: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
                "errors": stats.errors[kind],
            }
            for kind, values in stats.latencies.items()
        },
        "routes": {
            route: {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
            }
            for route, values in sorted(stats.routes.items())
        },
        "errors": sum(stats.errors.values()) + len(sockets.failures),
        "error_samples": stats.samples + sockets.failures[:5],
        "pulse_sockets": {
            "opened": sockets.held,
            "held_to_the_end": still_held,
            "frames_received": sockets.frames,
            "failures": len(sockets.failures),
        }
        if with_sockets
        else None,
        # CPU seconds per wall-clock second, per part (2.0 = both cores of a 2-core machine);
        # "other" is what the rest of the machine (other users' work) and idle left
        "cpu": {
            **{k: round(v / elapsed, 2) for k, v in used.items()},
            "machine_cores": cores,
            "ms_per_op": {k: round(1000 * v / max(ops, 1), 2) for k, v in used.items()},
        },
        "rss_mib": {
            "start": None if rss_start is None else round(rss_start, 1),
            "end": None if rss_end is None else round(rss_end, 1),
            "every_10s": [round(v) for v in rss_samples],
        },
    }


async def load(
    bases: list[str],
    pids: list[int],
    pg: int | None,
    levels: list[int],
    duration: float,
    seed_count: int,
    rate: float | None = None,
    with_sockets: bool = False,
) -> dict[str, Any]:
    biggest = max(levels)
    limits = httpx.Limits(max_connections=biggest + 10, max_keepalive_connections=biggest + 10)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
            )
            for base in bases
        ]
        prefix = "load" + uuid.uuid4().hex[:8]
        say(f"Seeding {seed_count} experiences…")
        seeder = await register(clients[0], f"{prefix}seed")
        await seed(clients[0], seeder, seed_count)
        runs = [
            await crowd_run(clients, prefix, n, duration, pids, pg, rate, with_sockets)
            for n in levels
        ]
    return {
        "mix": dict(zip(KINDS, WEIGHTS, strict=True)),
        "runs": runs,
        "errors": sum(r["errors"] for r in runs),
    }


def report(result: dict[str, Any]) -> str:
    mix = ", ".join(f"{k} {100 * w:.0f} %" for k, w in result["mix"].items())
    lines = [f"mix: {mix}"]
    for run in result["runs"]:
        lines += ["", report_run(run)]
    return "\n".join(lines)


def report_run(result: dict[str, Any]) -> str:
    offered = result["offered_ops_s"]
    how = (
        f"paced at {offered:g} ops/s offered (latency from when each call was due)"
        if offered
        else "closed loop (no think time: throughput is capacity)"
    )
    lines = [
        f"{result['agents']} agents on {result['servers']} server(s), {how}, "
        f"{result['duration_s']} s: "
        f"{result['operations']} operations, {result['throughput_ops_s']} ops/s, "
        f"{result['errors']} errors",
    ]
    for kind, k in result["kinds"].items():
        lines.append(
            f"  {kind:<11} {k['count']:>7} ops  p50 {k['p50_ms']:>7.1f} ms  "
            f"p99 {k['p99_ms']:>7.1f} ms  errors {k['errors']}"
        )
    lines.append("  by request:")
    for route, k in result["routes"].items():
        lines.append(
            f"    {route:<34} {k['count']:>6}  "
            f"p50 {k['p50_ms']:>7.1f} ms  p99 {k['p99_ms']:>7.1f} ms"
        )
    cpu = result["cpu"]
    lines.append(
        f"  CPU (cores busy, of {cpu['machine_cores']}): model {cpu['model']:.2f}, "
        f"database {cpu['database']:.2f}, server Python {cpu['server_other']:.2f}, "
        f"load generator {cpu['load_generator']:.2f}"
    )
    per = cpu["ms_per_op"]
    lines.append(
        f"  CPU per operation: model {per['model']:.1f} ms, database {per['database']:.1f} ms, "
        f"server Python {per['server_other']:.1f} ms, load generator {per['load_generator']:.1f} ms"
    )
    rss = result["rss_mib"]
    if rss["start"] is not None:
        lines.append(f"  server RSS  {rss['start']:.0f} MiB at start, {rss['end']:.0f} MiB at end")
        lines.append(f"  server RSS every 10 s: {rss['every_10s']}")
    pulse = result["pulse_sockets"]
    if pulse is not None:
        lines.append(
            f"  pulse sockets: {pulse['opened']} opened, {pulse['held_to_the_end']} held to the "
            f"end, {pulse['frames_received']} frames received, {pulse['failures']} failures"
        )
    lines += [f"  error: {s}" for s in result["error_samples"]]
    return "\n".join(lines)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where installed (uvicorn[standard] brings it), as the server uses: the load
    generator shares the machine's cores with the server, so its own CPU per call counts."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--agents", default=LEVELS, help="crowd sizes, run one after another (default 10,50,200)"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed-experiences", type=int, default=SEED_EXPERIENCES)
    parser.add_argument("--url", help="a running server's API base (default: start one)")
    parser.add_argument(
        "--replicas", type=int, default=1, help="servers on one database (own servers only)"
    )
    parser.add_argument("--pid", help="the servers' pids (comma-separated), for memory and CPU")
    parser.add_argument("--pg-pid", type=int, help="the PostgreSQL postmaster's pid, for its CPU")
    parser.add_argument(
        "--rate",
        type=float,
        help="operations/s the crowd offers in all (paced, Poisson arrivals); default: closed "
        "loop, each agent as fast as it is answered",
    )
    parser.add_argument(
        "--sockets", action="store_true", help="each agent holds a pulse websocket (as MCP does)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    try:
        levels = [int(n) for n in str(args.agents).split(",") if n.strip()]
    except ValueError:
        parser.error(f"--agents takes crowd sizes like 10,50,200, got {args.agents!r}")
    if not levels or min(levels) < 1:
        parser.error("--agents needs at least one crowd size of 1 or more")
    if args.replicas < 1 or (args.url and args.replicas != 1):
        parser.error("--replicas takes 1 or more, and only without --url (list the URLs instead)")
    try:
        pids = [int(p) for p in str(args.pid or "").split(",") if p.strip()]
    except ValueError:
        parser.error(f"--pid takes process ids like 1234,1240, got {args.pid!r}")
    if args.rate is not None and args.rate <= 0:
        parser.error(f"--rate takes operations per second above 0, got {args.rate:g}")

    def run(bases: list[str], pids: list[int], pg: int | None) -> dict[str, Any]:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(
                load(
                    bases,
                    pids,
                    pg,
                    levels,
                    args.duration,
                    args.seed_experiences,
                    args.rate,
                    args.sockets,
                )
            )

    if args.url:
        result = run([u.strip().rstrip("/") for u in args.url.split(",")], pids, args.pg_pid)
    else:
        with own_server(args.replicas) as (bases, own_pids, pg):
            result = run(bases, own_pids, pg)
    print(json.dumps(result, indent=2) if args.json else report(result))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
