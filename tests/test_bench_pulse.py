"""bench/pulse.py, small: a two-step sweep of a few sockets against `plurum serve`; every
event reaches every socket and the JSON has the shape the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plurum_backend.store.database import Database
from tests import serving

PULSE = Path(__file__).resolve().parents[1] / "bench" / "pulse.py"
EVENTS = 5


@pytest.fixture(scope="module")
def server(
    database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serving.Server]:
    served = serving.start(database, tmp_path_factory.mktemp("pulse"))
    yield served
    served.stop()


def test_pulse_smoke(server: serving.Server, database: Database) -> None:
    argv = [sys.executable, str(PULSE), "--url", server.base, "--pid", str(server.pid)]
    argv += ["--database-url", database.url]
    argv += ["--clients", "8,20", "--events", str(EVENTS), "--rate", "5", "--json"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["event"] == "session_opened"
    kinds = {"from_post", "from_at", "from_commit", "after_ack"}
    assert set(result["latency_from"]) == kinds
    assert [r["clients"] for r in result["runs"]] == [8, 20]
    for run in result["runs"]:
        n = run["clients"]
        assert run["missing"] == 0, run
        assert run["publish_errors"] == 0, run["samples"]
        assert run["connections_held"] == n
        assert run["events_published"] == EVENTS
        assert run["deliveries_expected"] == run["deliveries_received"] == EVENTS * n
        assert run["duplicates"] == 0
        for kind in kinds:
            assert set(run["latency_ms"][kind]) == {"p50", "p99", "max"}, kind
        assert 0 < run["latency_ms"]["from_post"]["p50"] <= run["latency_ms"]["from_post"]["p99"]
        assert run["server_rss_mib"]["max"] > 0
        assert isinstance(run["ok"], bool) and isinstance(run["problems"], list)
