"""Start the local backend (``plurum serve``) when nothing answers at the local default URL.

Only for the implicit local default (``PLURUM_API_URL`` unset, loopback host), so a host config
of just ``plurum-mcp`` works on a fresh machine. Every MCP process on the machine shares one
backend: the decision to start it is taken under an exclusive lock on a file in the data
directory, and the started process's pid is recorded beside it, so a second MCP process that
finds the backend still booting waits for it instead of starting another one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx

from plurum_mcp.errors import BackendUnavailableError

log = logging.getLogger(__name__)

LOCK_FILE = "backend-autostart.lock"
PID_FILE = "backend.pid"
LOG_FILE = "logs/backend.log"
PROBE_TIMEOUT_S = 2.0


class LocalBackend:
    def __init__(
        self,
        api_url: str,
        data_dir: Path,
        *,
        wait_s: float = 45.0,
        command: list[str] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.data_dir = data_dir
        self.wait_s = wait_s
        self.command = command or serve_command()
        self._lock = anyio.Lock()

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    async def ensure(self) -> None:
        """Return once the backend answers; start it first if no process is serving it."""
        async with self._lock:
            if await self._answers():
                return
            pid = await anyio.to_thread.run_sync(self._start_once)
            with anyio.move_on_after(self.wait_s):
                while True:
                    if await self._answers():
                        return
                    if pid is not None and not _alive(pid):
                        raise BackendUnavailableError(
                            "The local Plurum backend was started but exited; its log is at "
                            f"{self.log_path}."
                        )
                    await anyio.sleep(0.5)
            raise BackendUnavailableError(
                f"The local Plurum backend at {self.api_url} is starting (first start prepares "
                f"the database and the model; log at {self.log_path}). Try again in a minute."
            )

    async def _answers(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as client:
                await client.get(self.api_url + "/health")
        except httpx.HTTPError:
            return False
        return True

    def _start_once(self) -> int | None:
        """Under the machine-wide lock: start ``plurum serve`` unless a started one is alive."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.data_dir / LOCK_FILE):
            pid_path = self.data_dir / PID_FILE
            recorded = _read_pid(pid_path)
            if recorded is not None and _alive(recorded):
                log.info("local backend already starting (pid %s)", recorded)
                return recorded
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            parts = urlsplit(self.api_url)
            env = {
                **os.environ,
                "PLURUM_DATA_DIR": str(self.data_dir),
                "PLURUM_HOST": parts.hostname or "127.0.0.1",
                "PLURUM_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            }
            with open(self.log_path, "ab") as log_file:
                process = subprocess.Popen(
                    self.command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
            pid_path.write_text(str(process.pid), encoding="utf-8")
            log.info("started the local backend: %s (pid %s)", " ".join(self.command), process.pid)
            return process.pid


def serve_command() -> list[str]:
    """``plurum serve`` from this interpreter's environment, else from PATH, else via Python."""
    beside = Path(sys.executable).with_name("plurum")
    if beside.exists():
        return [str(beside), "serve"]
    found = shutil.which("plurum")
    if found:
        return [found, "serve"]
    code = "import sys; from plurum_backend.cli import main; sys.exit(main())"
    return [sys.executable, "-c", code, "serve"]


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[IO[str]]:
    """An exclusive lock on ``path`` shared by every process on the machine (blocks)."""
    with open(path, "a+", encoding="utf-8") as handle:
        if sys.platform == "win32":  # pragma: no cover
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.2)
            try:
                yield handle
            finally:
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - no cheap liveness check without psutil
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    """A child we started that has exited stays a zombie until reaped; reap it if so."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True
