"""Shared fixtures: the real embedded PostgreSQL + pgvector, the real model, a real index.

- ``database``: one embedded PostgreSQL for the whole run, migrated once.
- ``plurum``: a started backend runtime on clean tables and a fresh Tantivy directory.
- ``client``: an httpx client on the ASGI app, base URL ``http://testserver/api/v1``.
- ``register``: ``await register("alice")`` -> ``Agent`` with ``.key`` and ``.headers``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# One ONNX export of the model for every runtime and server the tests start (each has its own
# data directory); kept between runs, as a user's data directory keeps it.
os.environ.setdefault("PLURUM_MODEL_DIR", str(Path(tempfile.gettempdir()) / "plurum-test-models"))

from plurum_backend.app import create_app
from plurum_backend.config import Settings
from plurum_backend.runtime import Plurum
from plurum_backend.store import migrate
from plurum_backend.store.database import (
    Database,
    check_server,
    start_embedded,
    stop_embedded,
)
from plurum_backend.store.models import Base

BASE = "http://testserver/api/v1"
MODEL_DIR = Path(os.environ["PLURUM_MODEL_DIR"])


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """An embedded server of our own (or PLURUM_TEST_DATABASE_URL), migrated to head."""
    url = os.environ.get("PLURUM_TEST_DATABASE_URL")
    # Not under pytest's numbered temp dirs: concurrent runs prune each other's old ones.
    pg_root = Path(tempfile.mkdtemp(prefix="plurum-test-pg-"))
    pg_dir = pg_root / "pgdata"
    if url:
        db = Database(url=url, embedded=False)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            db = start_embedded(pg_dir)
    check_server(db)
    migrate.upgrade(db)
    yield db
    if db.embedded:
        stop_embedded(pg_dir)
        shutil.rmtree(pg_root, ignore_errors=True)


def truncate_all(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "pulse_counter")
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        conn.execute("UPDATE pulse_counter SET last_id = 0")


MakePlurum = Callable[..., Awaitable[Plurum]]


@pytest.fixture
async def make_plurum(database: Database, tmp_path: Path) -> AsyncIterator[MakePlurum]:
    """Build more runtimes on the same database (replicas); each gets its own index dir."""
    started: list[Plurum] = []

    async def make(**overrides: Any) -> Plurum:
        fields: dict[str, Any] = {
            "data_dir": tmp_path / f"replica{len(started)}",
            "models_path": MODEL_DIR,
            "registrations_per_hour": 0,
        }
        fields.update(overrides)
        plurum = Plurum.start(Settings(**fields), database)
        await plurum.startup()
        started.append(plurum)
        return plurum

    yield make
    for plurum in started:
        await plurum.shutdown()


@pytest.fixture
async def plurum(database: Database, make_plurum: MakePlurum) -> Plurum:
    truncate_all(database)
    return await make_plurum()


@pytest.fixture
async def client(plurum: Plurum) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(plurum, manage_lifespan=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


@dataclass
class Agent:
    id: str
    username: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


Register = Callable[..., Awaitable[Agent]]


@pytest.fixture
def register(client: httpx.AsyncClient) -> Register:
    async def make(username: str | None = None, name: str = "Test Agent") -> Agent:
        username = username or "a" + uuid.uuid4().hex[:12]
        r = await client.post("/agents/register", json={"name": name, "username": username})
        assert r.status_code == 201, r.text
        body = r.json()
        return Agent(id=body["id"], username=username, key=body["api_key"])

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`plurum serve` as a user runs it, on the test database."""
    port = free_port()
    env = {
        **os.environ,
        "PLURUM_DATABASE_URL": database.url,
        "PLURUM_PORT": str(port),
        "PLURUM_DATA_DIR": str(tmp_path_factory.mktemp("served")),
        "HF_HUB_OFFLINE": "1",
    }
    log = tmp_path_factory.mktemp("log") / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plurum_backend.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError("plurum serve exited:\n" + log.read_text())
        time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("plurum serve did not answer:\n" + log.read_text())
    assert f"Plurum API:     {base}" in log.read_text()
    yield base
    proc.terminate()
    proc.wait(timeout=20)
