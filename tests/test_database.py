"""Start-up against the database: migrations that keep data, and one-sentence failures."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection

from plurum_backend.errors import ConfigError
from plurum_backend.store import migrate
from plurum_backend.store.database import Database, async_engine, check_server, vector_engine


def url_for(database: Database, name: str, user: str | None = None) -> str:
    url = make_url(database.url).set(database=name)
    if user is not None:
        url = url.set(username=user)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def scratch(database: Database) -> Iterator[Database]:
    """A new, empty database on the test server."""
    name = "scratch_" + uuid.uuid4().hex[:8]
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield Database(url=url_for(database, name), embedded=False)
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_upgrade_keeps_existing_data(scratch: Database) -> None:
    check_server(scratch)
    migrate.upgrade(scratch, "0001")
    agent_id = uuid.uuid4()
    with psycopg.connect(scratch.url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO agents (id, name, username, key_hash) VALUES (%s, 'Old', 'oldagent', 'h')",
            (agent_id,),
        )
        assert conn.execute("SELECT to_regclass('pulse_events')").fetchone() == (None,)
    migrate.upgrade(scratch)
    migrate.upgrade(scratch)  # at head already: nothing to do
    with psycopg.connect(scratch.url) as conn:
        assert conn.execute(
            "SELECT username FROM agents WHERE id = %s", (agent_id,)
        ).fetchone() == ("oldagent",)
        head = migrate.head_revision()
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
        assert conn.execute("SELECT last_id FROM pulse_counter").fetchone() == (0,)


def test_server_without_pgvector_is_one_sentence(scratch: Database) -> None:
    role = "nopriv_" + uuid.uuid4().hex[:6]
    name = make_url(scratch.url).database
    with psycopg.connect(scratch.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT ALL ON DATABASE {name} TO {role}")
    try:
        weak = Database(url=url_for(scratch, str(name), user=role), embedded=False)
        with pytest.raises(ConfigError) as caught:
            check_server(weak)
        message = caught.value.message
        assert "lacks the pgvector extension" in message and message.count(".") >= 1
        assert "\n" not in message
    finally:
        with psycopg.connect(scratch.url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_unreachable_server_is_one_sentence() -> None:
    with pytest.raises(ConfigError) as caught:
        check_server(Database(url="postgresql://u:pw@127.0.0.1:9/x", embedded=False))
    assert caught.value.message.startswith("Cannot reach PostgreSQL at postgresql://u:***@")
    assert "\n" not in caught.value.message


def test_pulse_events_move_to_deliveries_and_back(scratch: Database) -> None:
    """0005 keeps every inbox (ids, read marks) and the public activity; its downgrade gives
    each delivery a row of its own again."""
    migrate.upgrade(scratch, "0004")
    a, b = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(scratch.url, autocommit=True) as conn:
        for agent, name in ((a, "aaa"), (b, "bbb")):
            conn.execute(
                "INSERT INTO agents (id, name, username, key_hash) VALUES (%s, %s, %s, %s)",
                (agent, name, name, "h" + name),
            )
        rows = [
            (1, a, "session_opened", '{"n": 1}', None),
            (2, b, "session_opened", '{"n": 1}', "2026-01-01T00:00:00Z"),
            (3, None, "session_opened", '{"n": 1}', None),
            (4, a, "contribution_received", '{"n": 2}', None),
        ]
        for row in rows:
            conn.execute(
                "INSERT INTO pulse_events (id, recipient_id, type, payload, read_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                row,
            )
        conn.execute("UPDATE pulse_counter SET last_id = 4")
    migrate.upgrade(scratch)
    with psycopg.connect(scratch.url) as conn:
        events = conn.execute("SELECT id, type, public FROM pulse_events ORDER BY id").fetchall()
        assert events == [
            (1, "session_opened", False),
            (2, "session_opened", False),
            (3, "session_opened", True),
            (4, "contribution_received", False),
        ]
        deliveries = conn.execute(
            "SELECT event_id, recipient_id, read_at IS NOT NULL FROM pulse_deliveries "
            "ORDER BY event_id"
        ).fetchall()
        assert deliveries == [(1, a, False), (2, b, True), (4, a, False)]
        conn.execute("INSERT INTO pulse_events (id, type, payload) VALUES (5, 'x', '{}')")
        conn.execute("INSERT INTO pulse_deliveries (recipient_id, event_id) VALUES (%s, 5)", (a,))
        conn.execute("INSERT INTO pulse_deliveries (recipient_id, event_id) VALUES (%s, 5)", (b,))
        conn.commit()
    migrate.downgrade(scratch, "0004")
    with psycopg.connect(scratch.url) as conn:
        old = conn.execute("SELECT id, recipient_id, type FROM pulse_events ORDER BY id").fetchall()
        assert [(r, t) for _, r, t in old] == [
            (a, "session_opened"),
            (b, "session_opened"),
            (None, "session_opened"),
            (a, "contribution_received"),
            *sorted([(a, "x"), (b, "x")]),
        ]
        assert [i for i, _, _ in old] == list(range(1, 7))
        assert conn.execute("SELECT last_id FROM pulse_counter").fetchone() == (6,)
    migrate.upgrade(scratch)


async def test_vector_pool_keeps_options_given_in_the_url(database: Database) -> None:
    """A PLURUM_DATABASE_URL with its own ``options`` keeps them beside the vector settings."""
    url = make_url(database.url).update_query_dict({"options": "-c statement_timeout=12345"})
    engine = vector_engine(Database(url=url.render_as_string(hide_password=False), embedded=False))
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT current_setting('statement_timeout'),"
                        " current_setting('enable_seqscan')"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    assert tuple(row) == ("12345ms", "off")


@pytest.mark.parametrize("pool", ["request", "vector"])
async def test_a_pooled_connection_the_server_closed_is_replaced_without_a_round_trip(
    database: Database, pool: str
) -> None:
    """Checkout asks the socket, not the server: a live connection is lent without a
    statement (no pre-ping ``SELECT 1``), and one whose backend was terminated is dropped
    and replaced, so the next statement succeeds instead of failing."""
    engine = (async_engine if pool == "request" else vector_engine)(database, pool_size=1)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    # SQLAlchemy's pre-ping goes through the dialect, not the events
    pings: list[DBAPIConnection] = []
    ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: DBAPIConnection) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        statements.clear()
        async with engine.connect() as conn:  # the same live connection, nothing sent first
            again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again == first
        assert statements == ["SELECT pg_backend_pid()"]
        assert pings == []
        async with await psycopg.AsyncConnection.connect(database.url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            for _ in range(100):  # the backend exits and its socket closes
                gone = await admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (first,)
                )
                if await gone.fetchone() is None:
                    break
                await asyncio.sleep(0.02)
        async with engine.connect() as conn:
            replaced = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert replaced != first
    finally:
        await engine.dispose()
