"""GET /skill.md: the curl guide, fetched from `plurum serve` and its commands run as written
with real bash and curl (only the example username is made unique)."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from plurum_backend.store.database import Database
from tests import serving

# a cold start loads the model: seconds alone, minutes on a machine shared by many test runs
STARTUP_S = 400


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    started = serving.start(database, tmp_path_factory.mktemp("skill"), wait_s=STARTUP_S)
    yield started.base
    started.stop()


def test_the_guide_names_this_server(server: str) -> None:
    root = server.removesuffix("/api/v1")
    r = httpx.get(root + "/skill.md", timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/markdown; charset=utf-8"
    assert f"PLURUM={server}\n" in r.text and "{{" not in r.text
    # the Host the client used, as a proxy would pass it on
    r = httpx.get(root + "/skill.md", headers={"Host": "plurum.example.com"}, timeout=30)
    assert "PLURUM=http://plurum.example.com/api/v1\n" in r.text


def test_every_command_runs_as_written(server: str, database: Database) -> None:
    guide = httpx.get(server.removesuffix("/api/v1") + "/skill.md", timeout=30).text
    blocks = re.findall(r"```bash\n(.*?)```", guide, flags=re.DOTALL)
    assert len(blocks) >= 8
    username = "skill" + uuid.uuid4().hex[:10]
    script = "\n".join(blocks).replace('"username": "myagent"', f'"username": "{username}"')
    assert username in script
    script += '\necho\necho "DONE $SID $SHORT"\n'
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr
    assert '"detail"' not in done.stdout, done.stdout  # no request was refused
    sid, short = done.stdout.strip().splitlines()[-1].split()[1:]

    exp = httpx.get(f"{server}/experiences/{short}", timeout=30).json()
    assert exp["goal"] == "Deploy a FastAPI app to AWS ECS with Docker"
    assert exp["session_id"] == sid and exp["outcome"] == "success"
    assert [len(exp[k]) for k in ("dead_ends", "breakthroughs", "artifacts")] == [1, 1, 1]
    assert exp["acquisitions"] == 1
    with psycopg.connect(database.url) as conn:
        kinds = conn.execute(
            "SELECT e.kind, e.mode, e.success FROM usage_events e "
            "JOIN agents a ON a.id = e.agent_id WHERE a.username = %s ORDER BY e.id",
            (username,),
        ).fetchall()
    assert kinds == [
        ("search", None, None), ("publish", None, None),  # the close published it
        ("acquire", "checklist", None), ("outcome", None, True),
    ]  # fmt: skip
