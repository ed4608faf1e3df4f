"""The embedded PostgreSQL's lifetime with real processes: `plurum serve` stops the server it
used when it exits, unless another Plurum process still uses it or `plurum db start` pinned
it; `plurum db status|start|stop`; /health and /ready while the database is down."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import serving

# a cold start loads the model: seconds alone, minutes on a machine shared by many test runs
STARTUP_S = 400


@pytest.fixture
def data() -> Iterator[Path]:
    """A data directory outside pytest's temp root: the embedded server runs as another
    user when tests run as root, and a concurrent pytest run resets that root to 0700."""
    root = Path(tempfile.mkdtemp(prefix="plurum-test-embedded-"))
    root.chmod(0o755)
    yield root / "data"
    pid = postmaster_pid(root / "data")
    if pid is not None:  # a failed test must not leave a server behind
        os.kill(pid, signal.SIGINT)
        wait_for(lambda: postmaster_pid(root / "data") is None)
    shutil.rmtree(root, ignore_errors=True)


def plurum(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLURUM_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("PLURUM_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "plurum_backend.cli", *args],
        capture_output=True,
        text=True,
        timeout=STARTUP_S,
        env=env,
    )


def postmaster_pid(data_dir: Path) -> int | None:
    """The embedded server's pid if it runs (postmaster.pid names it, and it is alive)."""
    try:
        pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def status(data_dir: Path) -> tuple[int, dict[str, object]]:
    done = plurum(data_dir, "db", "status", "--json")
    return done.returncode, json.loads(done.stdout)


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {predicate}")


def test_last_process_out_stops_the_server(data: Path) -> None:
    server = serving.start(None, data, wait_s=STARTUP_S)
    try:
        pg = postmaster_pid(data)
        assert pg is not None
        code, state = status(data)
        assert code == 0 and state["running"] and not state["pinned"]
        assert [u["pid"] for u in state["users"]] == [server.pid]  # type: ignore[union-attr]

        # another Plurum process on the same data directory comes and goes: the server stays
        done = plurum(data, "usage", "--json")
        assert done.returncode == 0, done.stderr
        assert postmaster_pid(data) == pg
        assert httpx.get(server.base + "/ready", timeout=10).status_code == 200

        # a second `plurum serve` on the same directory is refused in one sentence, and its
        # exit does not stop the server the first one uses
        second = plurum(data, "serve")
        assert second.returncode == 1 and "is using the search index" in second.stderr
        assert "Traceback" not in second.stderr and postmaster_pid(data) == pg

        # SIGTERM, as a service manager sends it: the last user stops the server
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        server.stop()
    assert postmaster_pid(data) is None
    assert "Stopped the embedded PostgreSQL" in server.log.read_text()
    code, state = status(data)
    assert code == 3 and not state["running"] and state["users"] == []


def test_interrupted_start_and_a_killed_server_leave_nothing_running(data: Path) -> None:
    # SIGTERM while the backend is still starting (the database is up, the model loading)
    env = {**os.environ, "PLURUM_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    env.pop("PLURUM_DATABASE_URL", None)
    env["PLURUM_PORT"] = str(serving.free_port())
    proc = subprocess.Popen(
        [sys.executable, "-m", "plurum_backend.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    users = data / "pgdata.run" / "users"
    wait_for(lambda: users.exists() and any(users.iterdir()), timeout=120)
    assert postmaster_pid(data) is not None
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=STARTUP_S)
    err = proc.stderr.read() if proc.stderr else ""
    assert code == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert postmaster_pid(data) is None

    # SIGKILL: no clean-up runs, the server is left behind with a dead user's file...
    server = serving.start(None, data, wait_s=STARTUP_S)
    server.kill()
    pg = postmaster_pid(data)
    assert pg is not None
    code, state = status(data)
    assert code == 0 and state["users"] == []  # ...which counts for nothing
    # the next Plurum process to leave is the last one out, and stops it
    done = plurum(data, "usage")
    assert done.returncode == 0, done.stderr
    assert postmaster_pid(data) is None


def test_db_commands_and_readiness(data: Path) -> None:
    nothing = plurum(data, "db", "status")
    assert nothing.returncode == 3 and "No embedded PostgreSQL" in nothing.stdout

    started = plurum(data, "db", "start")
    assert started.returncode == 0, started.stderr
    assert "runs until `plurum db stop`" in started.stdout
    pg = postmaster_pid(data)
    assert pg is not None

    server = serving.start(None, data, wait_s=STARTUP_S)
    try:
        ready = httpx.get(server.base + "/ready", timeout=10)
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready" and body["database"]["ok"] and body["index"]["ok"]
        assert body["index"]["pending_changes"] == 0

        text = plurum(data, "db", "status")
        assert text.returncode == 0 and "Pinned by `plurum db start`" in text.stdout
        assert f"plurum serve (pid {server.pid}" in text.stdout

        refused = plurum(data, "db", "stop")
        assert refused.returncode == 1 and f"(pid {server.pid})" in refused.stderr
        assert postmaster_pid(data) == pg  # still running: a server uses it

        forced = plurum(data, "db", "stop", "--force")
        assert forced.returncode == 0 and "Stopped" in forced.stdout
        assert postmaster_pid(data) is None
        # liveness never touches the database; readiness says what is wrong, in one sentence
        health = httpx.get(server.base + "/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        down = httpx.get(server.base + "/ready", timeout=10)
        assert down.status_code == 503
        assert down.json()["detail"].startswith("Not ready: the database does not answer")
        assert down.json()["database"]["ok"] is False and down.json()["index"]["ok"] is True

        assert plurum(data, "db", "start").returncode == 0
        wait_for(lambda: httpx.get(server.base + "/ready", timeout=10).status_code == 200)

        # pinned: the server's exit leaves the database running
        server.proc.send_signal(signal.SIGINT)
        server.proc.wait(timeout=60)
    finally:
        server.stop()
    assert postmaster_pid(data) is not None
    assert "pinned it" in server.log.read_text()
    stopped = plurum(data, "db", "stop")
    assert stopped.returncode == 0 and postmaster_pid(data) is None
    again = plurum(data, "db", "stop")
    assert again.returncode == 0 and "is not running" in again.stdout


def test_db_commands_refuse_an_external_database(tmp_path: Path) -> None:
    env = {**os.environ, "PLURUM_DATABASE_URL": "postgresql://u:secretpw@127.0.0.1:9/x"}
    done = subprocess.run(
        [sys.executable, "-m", "plurum_backend.cli", "db", "stop"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PLURUM_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 1 and "manages only the embedded one" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "plurum_backend.cli", "db", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PLURUM_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 1 and "secretpw" not in done.stdout + done.stderr
    assert "Cannot reach PostgreSQL" in done.stdout
