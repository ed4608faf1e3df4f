"""A full disk under the database and the search index.

The test mounts a 256 MiB tmpfs of its own (``mount -t tmpfs -o size=256m``; it runs as root,
as CI does), puts the embedded PostgreSQL and the index on it, then fills the rest with a
file. Writes answer 507 with a detail that says the disk is full; searches and reads keep
answering 200; no 500. Once the file is removed, writes succeed again by themselves and
every write acknowledged before, during and after is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from bench.faultload import missing_writes, register, word
from tests.faults.conftest import MakeInstance

SIZE = "256m"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="plurum-faults-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, (
        f"the disk-full test mounts a {SIZE} tmpfs and needs root for it: {mounted.stderr}"
    )
    try:
        yield root
    finally:
        from bench.faultload import stop_embedded_server

        stop_embedded_server(root / "pgdata")
        keep = Path(tempfile.gettempdir()) / "plurum-faults-logs"
        keep.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            (keep / f"postgres-{root.name}.log").write_bytes((root / "pgdata" / "log").read_bytes())
        subprocess.run(["umount", "-l", str(root)], check=False)
        with contextlib.suppress(OSError):
            root.rmdir()


def fill(path: Path) -> int:
    """Write ``path`` until the filesystem is full; returns the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12):
            block = b"\0" * chunk
            while True:
                try:
                    written += out.write(block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    return written


async def write(http: httpx.AsyncClient, auth: dict[str, str]) -> tuple[httpx.Response, str]:
    w = word()
    body = {"goal": f"Disk drill {w}", "breakthroughs": [f"{w} kept"]}
    return await http.post("/experiences", headers=auth, json=body), w


async def test_full_disk_refuses_writes_and_recovers(
    instance: MakeInstance, small_disk: Path
) -> None:
    acked: dict[str, str] = {}
    during: Counter[str] = Counter()
    async with instance(small_disk) as i, httpx.AsyncClient(base_url=i.base, timeout=30) as http:
        auth = await register(http)
        for _ in range(5):
            r, w = await write(http, auth)
            assert r.status_code == 201, r.text
            acked[r.json()["short_id"]] = w
        with psycopg.connect(i.database.url, autocommit=True) as conn:
            # the WAL segment in use has room left for the writes below; a new segment on a
            # full disk is a PANIC and a crash recovery (the supervisor restarts the server)
            conn.execute("CHECKPOINT")

        filler = small_disk / "filler"
        filled = await asyncio.to_thread(fill, filler)
        refused: list[httpx.Response] = []
        for _ in range(40):
            r, w = await write(http, auth)
            during[f"write {r.status_code}"] += 1
            if r.status_code == 201:
                acked[r.json()["short_id"]] = w
            else:
                refused.append(r)
                if len(refused) >= 3:
                    break
            for kind, reply in (
                ("search", await http.post("/experiences/search", json={"query": "disk drill"})),
                ("read", await http.get(f"/experiences/{next(iter(acked))}")),
            ):
                during[f"{kind} {reply.status_code}"] += 1
        assert refused, "the full disk was never noticed"
        details = {r.json()["detail"] for r in refused}

        os.unlink(filler)
        freed_at = time.monotonic()
        after: Counter[int] = Counter()
        async with asyncio.timeout(60):
            while True:
                r, w = await write(http, auth)
                after[r.status_code] += 1
                if r.status_code == 201:
                    acked[r.json()["short_id"]] = w
                    break
                await asyncio.sleep(0.5)
        recovered = time.monotonic() - freed_at
        for _ in range(3):
            r, w = await write(http, auth)
            assert r.status_code == 201, r.text
            acked[r.json()["short_id"]] = w
        assert await missing_writes(http, acked) == []
        async with asyncio.timeout(30):  # the index caught up with every stored row
            while (await http.get("/health")).json()["indexed"] < len(acked):
                await asyncio.sleep(0.2)

    print(
        f"\ndisk full ({SIZE} tmpfs, {filled >> 20} MiB filler): {dict(during)}; "
        f"details {sorted(details)}; writes succeed again {recovered:.1f}s after the space "
        f"is freed ({dict(after)} on the way); {len(acked)} acknowledged writes all present"
    )
    assert not [k for k in during if k.endswith(" 500")], during
    assert {r.status_code for r in refused} <= {507, 503}
    assert all(r.headers.get("retry-after") for r in refused)
    assert any(r.status_code == 507 and "disk is full" in r.json()["detail"] for r in refused)
    assert during["search 200"] and during["read 200"]
    assert not [k for k in during if k.startswith(("search", "read")) and not k.endswith("200")]
