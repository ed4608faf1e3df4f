"""The Tantivy index is derived data: every way of losing it ends in an index equal to the
database, with no manual step (a deleted directory, a crash mid-indexing, a lost cursor, a
new replica), and ``plurum reindex`` rebuilds it from scratch."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
import tantivy

from plurum_backend import cli
from plurum_backend.runtime import Plurum
from plurum_backend.search.fulltext import FulltextIndex, IndexDoc
from plurum_backend.search.sync import IndexSync
from plurum_backend.store.database import Database
from tests.conftest import MakePlurum, Register
from tests.search_support import bulk, expected_index, index_matches, indexed, records, wait_for

# A real process that indexes in small batches and kills itself (SIGKILL, no cleanup) right
# after Tantivy committed its CRASH_AT-th write and before the cursor beside it was saved:
# the worst moment, chosen deterministically instead of by a racing timer.
CRASHING_INDEXER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from plurum_backend.search.fulltext import FulltextIndex, IndexDoc
    from plurum_backend.search.sync import IndexSync
    from plurum_backend.store.database import Database, async_engine

    url, path, crash_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

    class Crashing(FulltextIndex):
        writes = 0

        def _write_meta(self):
            Crashing.writes += 1
            if Crashing.writes == crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
            super()._write_meta()

    async def main():
        engine = async_engine(Database(url=url, embedded=False))
        await IndexSync(async_sessionmaker(engine), Crashing(path), batch=10).catch_up()
        await engine.dispose()

    asyncio.run(main())
    """
)


def run_indexer(database: Database, index_dir: Path, crash_at: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_INDEXER, database.url, str(index_dir), str(crash_at)],
        capture_output=True,
        timeout=120,
    )
    return done.returncode


async def test_deleted_index_directory_is_rebuilt_while_serving(
    client: httpx.AsyncClient, plurum: Plurum, register: Register
) -> None:
    await bulk(plurum, records("before", 12))
    assert await index_matches(plurum)
    shutil.rmtree(plurum.index.path)
    agent = await register()
    r = await client.post(
        "/experiences", headers=agent.headers, json={"goal": "Written while the index was gone"}
    )
    assert r.status_code == 201  # the write itself never depends on the index
    elapsed = await wait_for(lambda: index_matches(plurum), timeout=5)
    print(f"index directory rebuilt {elapsed * 1000:.0f} ms after the next write")
    r = await client.post("/experiences/search", json={"query": "written while index gone"})
    assert r.json()["results"][0]["match"]["fulltext_rank"] == 1


async def test_new_replica_starts_level_with_the_database(
    plurum: Plurum, make_plurum: MakePlurum
) -> None:
    await bulk(plurum, records("seed", 25))
    replica = await make_plurum()
    assert await index_matches(replica)


@pytest.mark.parametrize("crash_at", [4, 6])
async def test_killed_during_rebuild_then_restarted(
    plurum: Plurum, make_plurum: MakePlurum, database: Database, tmp_path: Path, crash_at: int
) -> None:
    """Cursor writes: 1 at open, then one per page of 10: killed after page 3 or page 5."""
    await bulk(plurum, records("rows", 55))
    data_dir = tmp_path / "crashed"
    assert run_indexer(database, data_dir / "index", crash_at) == -signal.SIGKILL
    partial = FulltextIndex(data_dir / "index")
    assert 0 < partial.num_docs() < 55 and partial.cursor == (0, 0)
    del partial
    restarted = await make_plurum(data_dir=data_dir)
    assert await index_matches(restarted)


async def test_killed_while_following_changes_then_restarted(
    plurum: Plurum, make_plurum: MakePlurum, database: Database, tmp_path: Path
) -> None:
    await bulk(plurum, records("first", 15))
    index_dir = tmp_path / "follower" / "index"
    assert run_indexer(database, index_dir, crash_at=0) == 0  # a full, clean catch-up
    await bulk(plurum, records("second", 35))
    # writes: 1 open, then one per batch of 10 changes: killed after the 2nd batch committed
    assert run_indexer(database, index_dir, crash_at=3) == -signal.SIGKILL
    partial = FulltextIndex(index_dir)
    assert 15 < partial.num_docs() < 50
    del partial
    restarted = await make_plurum(data_dir=index_dir.parent)
    assert await index_matches(restarted)


async def test_lost_cursor_uncommitted_or_stale_documents_are_repaired(
    plurum: Plurum, tmp_path: Path
) -> None:
    await bulk(plurum, records("rows", 20))
    index = FulltextIndex(tmp_path / "index")
    sync = IndexSync(plurum.sessions, index)
    await sync.catch_up()
    assert await index_matches(plurum, index)

    # a committed document the database does not have: a rebuild drops it
    ghost = IndexDoc(str(uuid.uuid4()), ("public",), (), 0.0, "ghost", "")
    index.apply([ghost], [], None)
    assert await sync.rebuild(progress=False) == 20
    assert await index_matches(plurum, index)

    # a document added but never committed, then the process is gone
    index._writer.add_document(tantivy.Document(id="uncommitted"))
    del sync, index
    index = FulltextIndex(tmp_path / "index")
    assert "uncommitted" not in index.documents()

    # the cursor file is lost: the directory is treated as unknown and rebuilt
    (tmp_path / "index" / "plurum-meta.json").unlink()
    del index
    index = FulltextIndex(tmp_path / "index")
    assert index.num_docs() == 0 and index.cursor == (0, 0)
    await IndexSync(plurum.sessions, index).catch_up()
    assert await index_matches(plurum, index)


async def test_reindex_command_rebuilds_from_scratch(
    plurum: Plurum,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await bulk(plurum, records("rows", 30))
    monkeypatch.setenv("PLURUM_DATABASE_URL", database.url)
    monkeypatch.setenv("PLURUM_DATA_DIR", str(tmp_path / "cli"))
    stale = FulltextIndex(tmp_path / "cli" / "index")
    stale.apply([], [], (1, 1))  # claims to be current, holds nothing
    del stale
    await anyio.to_thread.run_sync(cli.main, ["reindex"])
    assert "Reindexed 30 experiences" in capsys.readouterr().out
    rebuilt = FulltextIndex(tmp_path / "cli" / "index")
    assert indexed(rebuilt) == await expected_index(plurum)
