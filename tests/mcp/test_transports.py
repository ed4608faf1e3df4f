"""`plurum-mcp` as a host runs it, once per transport: initialize, tools/list, one tool call.

The backend is `plurum serve` in a subprocess on the test database, so the MCP process talks
to it over real HTTP and holds a real pulse websocket.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from plurum_backend.store.database import Database
from tests.mcp.test_tools import call

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited:\n{log.read_text()}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"{proc.args!r} did not answer:\n{log.read_text()}")


@pytest.fixture(scope="module")
def backend(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("served")
    env = {
        **os.environ,
        "PLURUM_DATABASE_URL": database.url,
        "PLURUM_PORT": str(port),
        "PLURUM_DATA_DIR": str(data),
        "HF_HUB_OFFLINE": "1",
    }
    log = data / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plurum_backend.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    wait_for_http(base + "/health", proc, log, timeout=120)
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def mcp_env(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    r = httpx.post(
        backend + "/agents/register", json={"name": "Smoke", "username": "smoke" + str(os.getpid())}
    )
    assert r.status_code == 201, r.text
    return {
        **os.environ,
        "PLURUM_API_URL": backend,
        "PLURUM_API_KEY": r.json()["api_key"],
        "PLURUM_DATA_DIR": str(tmp_path_factory.mktemp("mcp")),
    }


@pytest.fixture
def serve_mcp(mcp_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., int]]:
    """``serve_mcp("--transport", "sse")`` starts `plurum-mcp` on a free port; returns the port."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> int:
        port = free_port()
        log = tmp_path / f"mcp{len(procs)}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "plurum_mcp", *args, "--port", str(port)],
                env=mcp_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        wait_for_http(f"http://127.0.0.1:{port}/", proc, log, timeout=30)
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


async def exercise(client: Client) -> None:
    assert client.server_info is not None and client.server_info.name == "plurum"
    names = {t.name for t in (await client.list_tools()).tools}
    assert {"open_session", "search", "pulse", "whoami"} <= names
    assert (await call(client, "whoami"))["username"].startswith("smoke")


async def test_stdio(mcp_env: dict[str, str]) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "plurum_mcp"], env=mcp_env)
    async with Client(params, mode="legacy") as client:
        await exercise(client)
        pulse = await call(client, "pulse")
        assert pulse["listener"] in ("starting", "connected")


async def test_sse(serve_mcp: Callable[..., int]) -> None:
    port = serve_mcp("--transport", "sse")
    async with Client(sse_client(f"http://127.0.0.1:{port}/sse"), mode="legacy") as client:
        await exercise(client)


async def test_streamable_http(serve_mcp: Callable[..., int]) -> None:
    port = serve_mcp("--transport", "streamable-http")
    for mode in ("legacy", "auto"):
        async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
            await exercise(client)
    # DNS-rebinding protection: a page on another origin cannot drive the server.
    async with httpx.AsyncClient() as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Accept": "application/json, text/event-stream"}
        r = await http.post(
            f"http://127.0.0.1:{port}/mcp",
            json=body,
            headers={**headers, "Host": f"evil.example:{port}"},
        )
        assert r.status_code == 421
        r = await http.post(
            f"http://127.0.0.1:{port}/mcp",
            json=body,
            headers={**headers, "Origin": "https://evil.example"},
        )
        assert r.status_code == 403
