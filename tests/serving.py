"""Serving the app for tests that need more than the ASGI transport: `plurum serve` as a
subprocess (to kill it, fuzz it, read its logs) or uvicorn in-process (real sockets)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from plurum_backend.app import create_app, server_config
from plurum_backend.runtime import Plurum
from plurum_backend.store.database import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash or an OOM kill."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start(
    database: Database | None,
    data_dir: Path,
    env: dict[str, str] | None = None,
    port: int = 0,
    wait_s: float = 120,
) -> Server:
    """Start `plurum serve` and wait until /health answers (the model load takes seconds).

    Without ``database`` the server starts its own embedded PostgreSQL under ``data_dir``.
    """
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        **({"PLURUM_DATABASE_URL": database.url} if database else {}),
        "PLURUM_PORT": str(port),
        "PLURUM_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "PLURUM_REGISTRATIONS_PER_HOUR": "0",
        **(env or {}),
    }
    log = data_dir / f"serve-{port}-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plurum_backend.cli", "serve"],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, f"http://127.0.0.1:{port}/api/v1", log)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.base + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError("plurum serve exited:\n" + log.read_text())
        time.sleep(0.2)
    server.kill()
    raise AssertionError("plurum serve did not answer:\n" + log.read_text())


@asynccontextmanager
async def in_process(plurum: Plurum) -> AsyncIterator[str]:
    """The app under uvicorn on a loopback port in this event loop: real sockets, real
    peer addresses, websockets. Yields the API base URL."""
    port = free_port()
    config = server_config(create_app(plurum, manage_lifespan=False), "127.0.0.1", port, "warning")
    config.lifespan = "off"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        await task
