"""Auto-start: one local backend for every MCP process, started under a lock, waited for.

The "backend" here is a real process started by the real code path: a minimal HTTP server
script in place of `plurum serve` (which takes a database and a model to boot), given the
host and port through the same environment variables `plurum serve` reads.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import anyio
import pytest

from plurum_backend.store.database import Database
from plurum_mcp.autostart import LocalBackend, serve_command
from plurum_mcp.backend import PlurumAPI
from plurum_mcp.errors import BackendUnavailableError

FAKE_SERVE = """
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
address = (os.environ["PLURUM_HOST"], int(os.environ["PLURUM_PORT"]))
server = http.server.HTTPServer(address, Handler)
print("serving", os.environ["PLURUM_DATA_DIR"], flush=True)
server.serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(data_dir: Path) -> None:
    pid = int((data_dir / "backend.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)


async def test_concurrent_mcp_processes_start_one_backend(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    command = [sys.executable, "-c", FAKE_SERVE]
    first, second = (LocalBackend(url, tmp_path, command=command, wait_s=20) for _ in range(2))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(first.ensure)
            tg.start_soon(second.ensure)
        log = (tmp_path / "logs" / "backend.log").read_text()
        assert log.count("serving") == 1 and str(tmp_path) in log
        await first.ensure()  # already answering: nothing new is started
        assert (tmp_path / "logs" / "backend.log").read_text().count("serving") == 1
    finally:
        stop(tmp_path)


async def test_the_api_client_starts_the_backend_on_first_use(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    launcher = LocalBackend(url, tmp_path, command=[sys.executable, "-c", FAKE_SERVE], wait_s=20)
    api = PlurumAPI(url, None, launcher=launcher.ensure)
    try:
        assert await api.get("health", auth="none") == {"status": "ok"}
    finally:
        await api.aclose()
        stop(tmp_path)


async def test_a_backend_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    command = [sys.executable, "-c", "import sys; print('no database'); sys.exit(1)"]
    launcher = LocalBackend(url, tmp_path, command=command, wait_s=20)
    with pytest.raises(BackendUnavailableError, match=r"exited; its log is at .*backend\.log"):
        await launcher.ensure()
    assert "no database" in (tmp_path / "logs" / "backend.log").read_text()


def test_serve_command_is_plurum_serve() -> None:
    command = serve_command()
    assert command[-1] == "serve"
    assert command[0].endswith("plurum") or "plurum_backend.cli" in command[-2]


async def test_it_starts_the_real_plurum_serve(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default command is `plurum serve`, told where to listen by PLURUM_HOST/PORT."""
    monkeypatch.setenv("PLURUM_DATABASE_URL", database.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    api = PlurumAPI(url, None, launcher=LocalBackend(url, tmp_path, wait_s=120).ensure)
    try:
        health = await api.get("health", auth="none")
        assert health["status"] == "ok"
        assert f"Plurum API:     {url}" in (tmp_path / "logs" / "backend.log").read_text()
    finally:
        await api.aclose()
        stop(tmp_path)
