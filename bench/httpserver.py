"""A real ``plurum serve`` process on the benchmark's database, timed through HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from plurum_backend.runtime import Plurum
from plurum_backend.store import changes
from plurum_backend.store.database import Database

START_TIMEOUT_S = 300
LEVEL_TIMEOUT_S = 900


def _head(head: bytes) -> tuple[int, int]:
    """(status, Content-Length) of an HTTP/1.1 response head."""
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    return int(lines[0].split()[1]), length


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self._dir = tempfile.TemporaryDirectory(prefix="plurum-bench-http-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def started(self) -> bool:
        return self._process is not None

    @property
    def log(self) -> Path:
        return Path(self._dir.name) / "server.log"

    @property
    def index_dir(self) -> Path:
        return Path(self._dir.name) / "index"

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PLURUM_DATABASE_URL": self.database.url,
            "PLURUM_DATA_DIR": self._dir.name,
            "PLURUM_SEARCHES_PER_MINUTE": "0",  # a benchmark is not abuse
            "PLURUM_WRITES_PER_MINUTE": "0",
            "HF_HUB_OFFLINE": "1",
        }
        command = [sys.executable, "-m", "plurum_backend.cli", "serve", "--port", str(self.port)]
        with self.log.open("wb") as log:
            return subprocess.Popen(
                [*command, "--log-level", "warning"], env=env, stdout=log, stderr=log
            )

    async def start(self) -> None:
        self._process = self._spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"plurum serve exited: {self.log.read_text()[-2000:]}")
                try:
                    if (await client.get(f"{self.base}/openapi.json")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
        raise RuntimeError("plurum serve did not start in time")

    async def wait_level(self, plurum: Plurum) -> None:
        """Until the server's own index has applied every change in the database."""
        async with plurum.reading() as db:
            head = await changes.head(db)
        deadline = time.monotonic() + LEVEL_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                meta = json.loads((self.index_dir / "plurum-meta.json").read_text())
                if tuple(meta["cursor"]) >= head:
                    return
            except (OSError, ValueError, KeyError):
                pass
            await asyncio.sleep(0.5)
        raise RuntimeError("the server's index did not catch up in time")

    async def times(self, queries: list[str]) -> list[float]:
        """Seconds per POST /experiences/search, one keep-alive connection, one at a time.

        The client is a few lines of HTTP/1.1 over an asyncio stream rather than httpx: it
        shares the server's two cores, and httpx's own work per request (≈ 2 ms here) would
        be timed as the server's. `bench.latency` prints what httpx adds beside it.
        """
        out = []
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            for q in queries:
                body = json.dumps({"query": q, "limit": 10}).encode()
                t0 = time.perf_counter()
                writer.write(
                    b"POST /api/v1/experiences/search HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                status, length = _head(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
                out.append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"search answered {status}")
        finally:
            writer.close()
        return out

    async def httpx_times(self, queries: list[str]) -> list[float]:
        """The same through httpx, for the difference a common Python client makes."""
        out = []
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as client:
            for q in queries:
                t0 = time.perf_counter()
                r = await client.post("/experiences/search", json={"query": q, "limit": 10})
                out.append(time.perf_counter() - t0)
                r.raise_for_status()
        return out

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
        self._dir.cleanup()
