"""bench/load.py, small: a few agents for a few seconds against `plurum serve`, no errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plurum_backend.store.database import Database
from tests import serving

LOAD = Path(__file__).resolve().parents[1] / "bench" / "load.py"


@pytest.fixture(scope="module")
def server(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serving.Server]:
    served = serving.start(database, tmp_path_factory.mktemp("load"))
    yield served
    served.stop()


def test_load_smoke(server: serving.Server) -> None:
    argv = [sys.executable, str(LOAD), "--url", server.base, "--pid", str(server.pid)]
    argv += ["--agents", "4", "--duration", "4", "--seed-experiences", "8", "--json"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    (run,) = result["runs"]
    assert result["errors"] == 0, run["error_samples"]
    assert run["kinds"]["search"]["count"] > 0 and run["kinds"]["entry"]["count"] > 0
    assert run["rss_mib"]["start"] and run["rss_mib"]["end"]
    assert run["throughput_ops_s"] > 0
    assert run["cpu"]["model"] > 0 and run["cpu"]["server_other"] > 0, run["cpu"]


def test_load_paced_with_pulse_sockets(server: serving.Server) -> None:
    """--rate: the crowd offers a fixed rate (latency from when each call was due);
    --sockets: each agent holds a pulse websocket, as the MCP server does."""
    argv = [sys.executable, str(LOAD), "--url", server.base, "--pid", str(server.pid)]
    argv += ["--agents", "4", "--duration", "4", "--seed-experiences", "0", "--json"]
    argv += ["--rate", "8", "--sockets"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    (run,) = json.loads(out.stdout)["runs"]
    assert run["errors"] == 0, run["error_samples"]
    assert run["offered_ops_s"] == 8 and run["servers"] == 1
    assert 0 < run["operations"] <= 8 * 4 * 2  # paced: about rate × duration, never flat out
    sockets = run["pulse_sockets"]
    assert sockets["opened"] == 4 and sockets["held_to_the_end"] == 4
    assert sockets["failures"] == 0


def test_load_on_two_replicas() -> None:
    """--replicas 2: two `plurum serve` on one (own, embedded) database, agents spread."""
    argv = [sys.executable, str(LOAD), "--replicas", "2", "--agents", "4", "--duration", "3"]
    argv += ["--seed-experiences", "2", "--json"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    (run,) = json.loads(out.stdout)["runs"]
    assert run["errors"] == 0, run["error_samples"]
    assert run["servers"] == 2 and run["operations"] > 0
    assert run["cpu"]["server_other"] > 0 and run["cpu"]["database"] > 0
