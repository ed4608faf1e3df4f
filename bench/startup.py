"""Cold and warm start of `plurum serve`, and search latency over HTTP at 1,000 experiences.

    python -m bench.startup [--experiences 1000] [--queries 200] [--json]

Cold: a fresh data directory (initdb of the embedded PostgreSQL, migrations, model load,
empty index). Warm: the same directory again. Each is the time from spawning the process to
the first 200 from /health. Then it creates the experiences through POST /experiences and
times POST /experiences/search (median and p99, each query embedded fresh, then cached).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tqdm import tqdm

TOPICS = [
    "docker",
    "postgres",
    "oauth",
    "pytest",
    "nginx",
    "kubernetes",
    "webpack",
    "redis",
    "terraform",
    "websockets",
    "celery",
    "pgvector",
    "fastapi",
    "rust",
    "go modules",
]
VERBS = ["Fix", "Debug", "Speed up", "Deploy", "Migrate", "Configure", "Secure", "Test"]
PROBLEMS = [
    "timeouts under load",
    "a memory leak",
    "flaky CI runs",
    "TLS errors",
    "slow cold starts",
    "connection resets",
    "permission denied errors",
    "broken upgrades",
    "duplicate events",
    "cache misses",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {
        **os.environ,
        "PLURUM_DATA_DIR": str(data_dir),
        "PLURUM_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("PLURUM_DATABASE_URL", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "plurum_backend.cli", "serve", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/health"
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("plurum serve exited during start.")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiences", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="plurum-bench-") as tmp:
        data = Path(tmp)
        port = free_port()
        proc, cold = start(data, port)
        stop(proc)
        proc, warm = start(data, port)
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            with httpx.Client(base_url=base, timeout=60) as http:
                key = http.post(
                    "/agents/register", json={"name": "bench", "username": "benchagent"}
                ).json()["api_key"]
                auth = {"Authorization": f"Bearer {key}"}
                for i in tqdm(
                    range(args.experiences),
                    desc="Creating experiences",
                    unit="exp",
                    file=sys.stderr,
                ):
                    topic, other = rng.sample(TOPICS, 2)
                    goal = f"{rng.choice(VERBS)} {topic} {rng.choice(PROBLEMS)} with {other} #{i}"
                    r = http.post(
                        "/experiences",
                        headers=auth,
                        json={
                            "goal": goal,
                            "tags": [topic.replace(" ", "-"), other.replace(" ", "-")],
                            "context": f"Seen with {topic} and {other} in production.",
                            "breakthroughs": [f"Pin the {other} version and retry {topic} calls"],
                            "dead_ends": [
                                {
                                    "description": f"Raised {topic} timeouts",
                                    "reason": "only hid the problem",
                                }
                            ],
                        },
                    )
                    r.raise_for_status()
                queries = [
                    f"{rng.choice(PROBLEMS)} in {rng.choice(TOPICS)}" for _ in range(args.queries)
                ]
                timings = {"fresh": [], "cached": []}
                for label in ("fresh", "cached"):
                    for q in tqdm(
                        queries, desc=f"Searching ({label} query embeddings)", file=sys.stderr
                    ):
                        t0 = time.perf_counter()
                        http.post("/experiences/search", json={"query": q}).raise_for_status()
                        timings[label].append((time.perf_counter() - t0) * 1000)
        finally:
            stop(proc)
    result = {
        "cold_start_s": round(cold, 2),
        "warm_start_s": round(warm, 2),
        "experiences": args.experiences,
        "search_p50_ms": round(statistics.median(timings["fresh"]), 1),
        "search_p99_ms": round(statistics.quantiles(timings["fresh"], n=100)[98], 1),
        "search_cached_p50_ms": round(statistics.median(timings["cached"]), 1),
        "search_cached_p99_ms": round(statistics.quantiles(timings["cached"], n=100)[98], 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for name, value in result.items():
            print(f"{name:24} {value}")


if __name__ == "__main__":
    main()
