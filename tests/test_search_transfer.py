"""``plurum import`` / ``plurum export``: JSON lines, idempotent on ids, searchable at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from plurum_backend import cli
from plurum_backend.importer import import_lines, record_id
from plurum_backend.runtime import Plurum
from plurum_backend.store.database import Database
from tests.conftest import Register, truncate_all
from tests.search_support import index_matches, ranks

RECORDS: list[dict[str, Any]] = [
    {
        "id": "e001",
        "goal": "Stop a Celery worker pod on GKE from restarting every few minutes",
        "context": "Memory limit 512Mi; kubectl describe showed OOMKilled, exit code 137.",
        "dead_ends": [{"description": "More logging", "reason": "SIGKILL leaves no trace"}],
        "breakthroughs": ["--max-memory-per-child recycles prefork children"],
        "gotchas": [{"warning": "Autopilot rewrites limits", "context": "set requests"}],
        "artifacts": [{"language": "console", "code": "Reason: OOMKilled"}],
        "tags": ["Kubernetes", "celery"],
        "author": {"username": "importer1"},
    },
    {
        "id": "e002",
        "goal": "Fix SQLite 'database is locked' with concurrent writers",
        "breakthroughs": ["Enable WAL mode and a busy_timeout"],
        "visibility": "private",
        "author": {"username": "importer1"},
    },
    {"goal": "A line without an id gets one derived from its content"},
]


def lines(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in records]


async def test_import_is_idempotent_and_searchable(
    client: httpx.AsyncClient, plurum: Plurum
) -> None:
    bad = ['{"goal": ""}', "not json", '{"goal": "x", "tags": "nope"}', "[1]", ""]
    report = await import_lines(plurum, [*lines(RECORDS), *bad], progress=False)
    assert (report.read, report.imported, report.skipped) == (7, 3, 0)
    assert [m.split(":")[0] for m in report.invalid] == ["line 4", "line 5", "line 6", "line 7"]
    assert "Imported 3 of 7 experiences" in report.summary()

    again = await import_lines(plurum, lines(RECORDS), progress=False)
    assert (again.imported, again.skipped) == (0, 3)
    assert await index_matches(plurum)

    found = await ranks(client, "celery worker OOMKilled exit code 137")
    short_id, (fulltext_rank, vector_rank) = next(iter(found.items()))
    assert fulltext_rank == 1 and vector_rank == 1
    detail = (await client.get(f"/experiences/{short_id}")).json()
    assert detail["id"] == str(record_id("e001", ""))
    assert detail["tags"] == ["kubernetes", "celery"]
    assert detail["gotchas"][0]["description"] == "Autopilot rewrites limits"
    assert detail["author"]["username"] == "importer1"
    r = await client.post("/experiences/search", json={"query": "sqlite database is locked WAL"})
    assert all("SQLite" not in hit["goal"] for hit in r.json()["results"])  # e002 is private


async def test_import_scrubs_secrets_like_any_write(
    client: httpx.AsyncClient, plurum: Plurum
) -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4
    record = {"id": "leaky", "short_id": "Leaky001", "goal": "Push with a token", "context": token}
    report = await import_lines(plurum, lines([record]), progress=False)
    assert report.redactions == {"github_token": 1}
    assert "1 secrets redacted" in report.summary()
    detail = (await client.get("/experiences/Leaky001")).json()
    assert token not in detail["context"] and "[REDACTED:github_token]" in detail["context"]


async def test_author_defaults_to_the_given_agent(
    plurum: Plurum, client: httpx.AsyncClient, register: Register
) -> None:
    agent = await register()
    record = {"goal": "Owned by the importing agent", "visibility": "private"}
    await import_lines(plurum, lines([record]), default_agent=agent.username, progress=False)
    assert len(await ranks(client, "owned importing agent", agent.headers)) == 1
    assert await ranks(client, "owned importing agent") == {}


def comparable(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        row["author"].pop("id")  # the author is re-created on import: same name, new id
        row.pop("updated_at")
    return sorted(rows, key=lambda r: str(r["id"]))


async def test_export_then_import_round_trips(
    plurum: Plurum,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await import_lines(plurum, lines(RECORDS), progress=False)
    monkeypatch.setenv("PLURUM_DATABASE_URL", database.url)
    monkeypatch.setenv("PLURUM_DATA_DIR", str(tmp_path / "cli"))
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    await anyio.to_thread.run_sync(cli.main, ["export", "-o", str(first)])
    assert len(first.read_text().splitlines()) == 3

    truncate_all(database)
    await anyio.to_thread.run_sync(cli.main, ["import", str(first)])
    assert "Imported 3 of 3 experiences" in capsys.readouterr().out
    await anyio.to_thread.run_sync(cli.main, ["import", str(first)])
    assert "Imported 0 of 3 experiences (3 already present)" in capsys.readouterr().out

    await anyio.to_thread.run_sync(cli.main, ["export", "-o", str(second)])
    assert comparable(second) == comparable(first)
    await anyio.to_thread.run_sync(cli.main, ["export", "--public-only", "-o", str(second)])
    assert len(second.read_text().splitlines()) == 2
