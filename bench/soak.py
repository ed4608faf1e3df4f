"""Soak: a mixed load on `plurum serve` with its embedded PostgreSQL killed every minute.

    python -m bench.soak                      # 10 minutes, a kill -9 every 60 s
    python -m bench.soak --minutes 3 --kill-every 30 --json

It starts `plurum serve` on a fresh embedded database in a temp dir (rate limits off), runs
writers, searchers and readers (bench/faultload.py) against it, SIGKILLs the postmaster
every --kill-every seconds (as the OOM killer would), and prints one progress line a minute,
then: availability (the share of requests answered 2xx), the statuses seen by kind, the
time until requests succeeded again after each kill, the server's RSS over the run, and
whether every acknowledged write is there at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.faultload import (
    Load,
    kill_postmaster,
    missing_writes,
    register,
    rss_mib,
    stop_embedded_server,
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {
        **os.environ,
        "PLURUM_DATA_DIR": str(data_dir),
        "PLURUM_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "PLURUM_REGISTRATIONS_PER_HOUR": "0",
        "PLURUM_WRITES_PER_MINUTE": "0",
        "PLURUM_SEARCHES_PER_MINUTE": "0",
    }
    env.pop("PLURUM_DATABASE_URL", None)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plurum_backend.cli", "serve", "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base, log
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("plurum serve exited at start:\n" + log.read_text()[-2000:])
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("plurum serve did not answer within 10 minutes.")


async def soak(base: str, pid: int, pg_dir: Path, minutes: float, kill_every: float) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        load = Load(http, await register(http), writers=2, searchers=2, readers=1)
        load.start()
        t0 = time.monotonic()
        end = t0 + minutes * 60
        kills: list[float] = []
        rss: list[float] = [rss_mib(pid)]
        next_kill = t0 + kill_every
        next_report = t0 + 60
        while time.monotonic() < end:
            await asyncio.sleep(1)
            now = time.monotonic()
            rss.append(rss_mib(pid))
            if now >= next_kill and now < end - 5:
                kill_postmaster(pg_dir)
                kills.append(now)
                next_kill += kill_every
            if now >= next_report:
                t = load.tally
                print(
                    f"{(now - t0) / 60:4.1f} min: {len(t.answers)} requests, "
                    f"{100 * t.availability():.1f}% 2xx, {len(kills)} kills, "
                    f"{len(t.acked)} writes acknowledged, RSS {rss[-1]:.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
                next_report += 60
        tally = await load.finish()
        await asyncio.sleep(5)  # the last kill's restart, if any
        missing = await missing_writes(http, tally.acked)
    recoveries = []
    for k, at in enumerate(kills):
        until = kills[k + 1] if k + 1 < len(kills) else float("inf")
        fails = [a.end for a in tally.failures(at - 1) if a.start < until and a.end < until]
        recoveries.append(max(0.0, max(fails) - at) if fails else 0.0)
    statuses = tally.statuses()
    return {
        "minutes": minutes,
        "kills": len(kills),
        "requests": len(tally.answers),
        "availability": round(tally.availability(), 4),
        "statuses": dict(sorted(statuses.items())),
        "errors_500": sum(n for k, n in statuses.items() if k.endswith(" 500")),
        "recovery_s": {
            "median": round(statistics.median(recoveries), 1) if recoveries else 0.0,
            "max": round(max(recoveries), 1) if recoveries else 0.0,
        },
        "acknowledged_writes": len(tally.acked),
        "lost_writes": len(missing),
        "rss_mib": {"start": round(rss[0]), "end": round(rss[-1]), "max": round(max(rss))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between kills")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the server log here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="plurum-soak-"))
    data_dir = root / "data"
    print("Starting plurum serve on a fresh embedded database…", file=sys.stderr, flush=True)
    proc, base, log = start_serve(data_dir)
    try:
        result = asyncio.run(
            soak(base, proc.pid, data_dir / "pgdata", args.minutes, args.kill_every)
        )
        lines = log.read_text(errors="replace").splitlines()
        result["log_tracebacks"] = sum("Traceback" in x for x in lines)
        result["supervisor_lines"] = [x for x in lines if "embedded PostgreSQL" in x][-6:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        stop_embedded_server(data_dir / "pgdata")
        if args.keep_log is not None:
            shutil.copy(log, args.keep_log)
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"soak: {result['minutes']:g} min, {result['kills']} kills of the embedded PostgreSQL, "
        f"{result['requests']} requests\n"
        f"  availability {100 * result['availability']:.2f}% (2xx), "
        f"{result['errors_500']} answers 500\n"
        f"  statuses {result['statuses']}\n"
        f"  requests succeed again after a kill: median {result['recovery_s']['median']}s, "
        f"max {result['recovery_s']['max']}s\n"
        f"  {result['acknowledged_writes']} writes acknowledged, {result['lost_writes']} lost\n"
        f"  server RSS {result['rss_mib']['start']} -> {result['rss_mib']['end']} MiB "
        f"(max {result['rss_mib']['max']}); {result['log_tracebacks']} tracebacks in its log"
    )


if __name__ == "__main__":
    main()
