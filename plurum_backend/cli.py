"""The ``plurum`` command: serve, reindex, reembed, review (more join as features land).

Every failure ends as one sentence on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from plurum_backend import logs
from plurum_backend.config import Settings
from plurum_backend.errors import ConfigError, PlurumError
from plurum_backend.services.usage import KINDS


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _start(settings: Settings):  # type: ignore[no-untyped-def]
    from plurum_backend.runtime import Plurum

    t0 = time.perf_counter()
    where = "PLURUM_DATABASE_URL" if settings.database_url else f"embedded, {settings.pg_dir}"
    say(f"Opening the database ({where})…")
    database = Plurum.open_database(settings)
    t1 = time.perf_counter()
    say(f"Loading the embedding model {settings.embedding_model}…")
    try:
        plurum = Plurum.start(settings, database)
    except ValueError as exc:
        if "LockBusy" not in str(exc):
            raise
        raise ConfigError(
            f"Another Plurum process (a `plurum serve`, or a backend an MCP server started) "
            f"is using the search index in {settings.index_dir}; stop it first, or give this "
            "one its own PLURUM_DATA_DIR."
        ) from None
    t2 = time.perf_counter()
    say(f"Ready in {t2 - t0:.1f}s (database {t1 - t0:.1f}s, model and index {t2 - t1:.1f}s).")
    return plurum


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from plurum_backend.app import PREFIX, create_app, server_config

    settings = Settings.from_env()
    host = args.host or settings.host
    port = args.port or settings.port
    plurum = _start(settings)
    print(f"Plurum API:     http://{host}:{port}{PREFIX}", flush=True)
    print(f"Data directory: {settings.data_dir}", flush=True)
    print(
        f"Database:       {'embedded PostgreSQL' if plurum.database.embedded else 'external'} "
        f"({plurum.database.display()})",
        flush=True,
    )
    config = server_config(create_app(plurum), host, port, args.log_level)
    # The cyclic GC, tuned for a server (measured with bench/pulse.py; docs/performance.md):
    # - what start-up built (torch, transformers, SQLAlchemy, pydantic: ~500,000 objects)
    #   lives as long as the process; frozen, full collections stop rescanning it (they took
    #   ~300 ms, stalling the event loop);
    # - a young generation of 10,000 objects instead of 700: a fan-out to 1,000 sockets keeps
    #   thousands of short-lived objects (tasks, handles, ids) alive for a few milliseconds,
    #   and with 700 they were promoted to the oldest generation, whose ~100 ms collections
    #   then came every ten seconds. Garbage made after start-up is collected as usual.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    uvicorn.Server(config).run()


def reindex(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    plurum = _start(settings)

    async def run() -> int:
        try:
            return int(await plurum.sync.rebuild(progress=True))
        finally:
            await plurum.close()

    count: int = asyncio.run(run())
    print(f"Reindexed {count} experiences into {settings.index_dir}.")


def reembed(args: argparse.Namespace) -> None:
    """Re-embed every stored vector with PLURUM_EMBEDDING_BACKEND, online (resumable)."""
    from tqdm import tqdm

    from plurum_backend.runtime import Plurum
    from plurum_backend.search.embedder import shared_embedder
    from plurum_backend.services.reembed import ReembedReport
    from plurum_backend.services.reembed import reembed as run_reembed
    from plurum_backend.store.database import async_engine
    from plurum_backend.store.models import EMBEDDING_DIM

    settings = Settings.from_env()
    say("Opening the database…")
    database = Plurum.open_database(settings)
    say(f"Loading the embedding model {settings.embedding_model} ({settings.embedding_backend})…")
    embedder = shared_embedder(
        settings.embedding_model, settings.embedding_backend, settings.model_dir
    )
    if embedder.dimension != EMBEDDING_DIM:
        raise ConfigError(
            f"The embedding model {settings.embedding_model!r} makes {embedder.dimension}-"
            f"dimensional vectors but the database stores {EMBEDDING_DIM}."
        )
    bar = tqdm(desc="Re-embedding", unit="exp", file=sys.stderr, delay=0.5)

    def progress(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    async def run() -> ReembedReport:
        engine = async_engine(database, pool_size=2)
        try:
            return await run_reembed(engine, embedder, progress=progress)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    bar.close()
    print(report.summary())


def import_(args: argparse.Namespace) -> None:
    from plurum_backend.transfer import import_file

    report = import_file(Settings.from_env(), args.file, default_agent=args.agent)
    print(report.summary())


def export(args: argparse.Namespace) -> None:
    from plurum_backend.transfer import export_file

    count = export_file(Settings.from_env(), args.output, public_only=args.public_only)
    say(f"Exported {count} experiences to {args.output or 'standard output'}.")


def _embedded_dir(settings: Settings, action: str) -> Path:
    if settings.database_url:
        raise ConfigError(
            f"PLURUM_DATABASE_URL is set, so Plurum uses that PostgreSQL: `plurum db {action}` "
            "manages only the embedded one (unset it to manage that)."
        )
    return settings.pg_dir


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def db_status(args: argparse.Namespace) -> None:
    from plurum_backend.store import embedded

    settings = Settings.from_env()
    if settings.database_url:
        from plurum_backend.store.database import Database, check_server, normalize_url

        database = Database(url=normalize_url(settings.database_url), embedded=False)
        reachable, problem = True, ""
        try:
            check_server(database)
        except ConfigError as exc:
            reachable, problem = False, exc.message
        if args.json:
            print(json.dumps({"external": database.display(), "reachable": reachable}))
        else:
            print(f"External PostgreSQL (PLURUM_DATABASE_URL): {database.display()}")
            print("Reachable, with pgvector." if reachable else problem)
        sys.exit(0 if reachable else 1)
    state = embedded.status(settings.pg_dir)
    if args.json:
        print(json.dumps(state.as_dict(), indent=2))
    elif not state.initialized:
        print(f"No embedded PostgreSQL in {state.pg_dir} yet (the first start creates it).")
    else:
        if state.running:
            print(
                f"Embedded PostgreSQL {state.version}: running (pid {state.pid}) in "
                f"{state.pg_dir}, {_megabytes(state.size_bytes)}"
            )
            print(f"Connect with: {state.url}")
        else:
            print(
                f"Embedded PostgreSQL {state.version}: stopped, in {state.pg_dir}, "
                f"{_megabytes(state.size_bytes)}"
            )
        if state.pinned:
            print("Pinned by `plurum db start`: it runs until `plurum db stop`.")
        for user in state.users:
            print(f"Used by: {user.command} (pid {user.pid}, since {user.since[:19]} UTC)")
        if state.running and not state.pinned:
            print("It stops when the last Plurum process using it exits.")
    sys.exit(0 if state.running else 3)


def db_start(args: argparse.Namespace) -> None:
    from plurum_backend.store import embedded, migrate
    from plurum_backend.store.database import check_server

    pg_dir = _embedded_dir(Settings.from_env(), "start")
    database, was_running = embedded.start_pinned(pg_dir)
    check_server(database)
    migrate.upgrade(database)
    state = "was already running" if was_running else "started"
    print(
        f"Embedded PostgreSQL {state} in {pg_dir}; it runs until `plurum db stop`.\n"
        f"Connect with: {database.url}"
    )


def db_stop(args: argparse.Namespace) -> None:
    from plurum_backend.store import embedded

    print(embedded.stop(_embedded_dir(Settings.from_env(), "stop"), force=args.force))


def usage(args: argparse.Namespace) -> None:
    """The usage log: a summary of the last --days and the newest events (services/usage.py)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from plurum_backend.runtime import Plurum
    from plurum_backend.services import usage as usage_log
    from plurum_backend.store.database import async_engine
    from plurum_backend.usage_report import report_text

    settings = Settings.from_env()
    database = Plurum.open_database(settings)

    async def read() -> str:
        engine = async_engine(database, pool_size=1)
        try:
            async with async_sessionmaker(engine)() as db:
                # what a server would have pruned by now, in case none ran for a while
                await usage_log.prune(db, settings.usage_retention_days)
                await db.commit()
                summary = await usage_log.summary(
                    db, days=args.days, retention_days=settings.usage_retention_days
                )
                events = await usage_log.recent(db, args.recent, args.kind)
        finally:
            await engine.dispose()
        if args.json:
            return json.dumps(
                {
                    "summary": summary.model_dump(mode="json"),
                    "recent": [e.model_dump(mode="json") for e in events],
                },
                indent=2,
            )
        return report_text(summary, events)

    print(asyncio.run(read()))


def review(args: argparse.Namespace) -> None:
    """The review queue of held experiences (services/review.py, docs/trust.md)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from plurum_backend.review_report import item_text, queue_text, safe
    from plurum_backend.runtime import Plurum, Tx
    from plurum_backend.services import review as queue
    from plurum_backend.store.database import async_engine

    action: str = args.review_command
    if action == "delete" and not args.yes:
        raise ConfigError(
            f"`plurum review delete {args.identifier}` deletes the experience for good; "
            "add --yes to confirm."
        )
    database = Plurum.open_database(Settings.from_env())

    async def run() -> str:
        engine = async_engine(database, pool_size=1)
        try:
            async with async_sessionmaker(engine)() as db:
                if action == "list":
                    held = await queue.queue(db, args.limit, args.offset)
                    return held.model_dump_json(indent=2) if args.json else queue_text(held)
                if action == "show":
                    detail = await queue.show(db, args.identifier)
                    return detail.model_dump_json(indent=2) if args.json else item_text(detail)
                tx = Tx(db)
                if action == "release":
                    detail = await queue.release(tx, args.identifier)
                    await db.commit()
                    if args.json:
                        return detail.model_dump_json(indent=2)
                    return (
                        f"Released {detail.short_id} ({safe(detail.goal)}): others can read it now."
                    )
                item = await queue.delete(tx, args.identifier)
                await db.commit()
                if args.json:
                    return item.model_dump_json(indent=2)
                return f"Deleted {item.short_id} ({safe(item.goal)}) by {item.author.username}."
        finally:
            await engine.dispose()

    print(asyncio.run(run()))


def register(args: argparse.Namespace) -> None:
    """Register an agent with a running backend and keep its key for the MCP server (0600)."""
    import httpx

    from plurum_mcp.credentials import Credentials, save

    url = args.api_url.rstrip("/")
    try:
        response = httpx.post(
            f"{url}/agents/register",
            json={"name": args.name, "username": args.username},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        reason = exc.__class__.__name__
        raise ConfigError(f"Cannot reach the Plurum API at {url} ({reason}).") from None
    if response.status_code != 201:
        try:
            detail = str(response.json()["detail"])
        except (ValueError, KeyError, TypeError):
            detail = f"HTTP {response.status_code}"
        raise ConfigError(f"Registration refused: {detail}")
    body = response.json()
    path = save(Credentials(api_url=url, api_key=body["api_key"]), args.credentials)
    print(f"Registered {body['username']} ({body['id']}); API key saved to {path} (mode 0600).")


def _whole(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plurum", description="Plurum backend")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the REST + websocket API")
    p.add_argument("--host", default=None, help="bind address (default PLURUM_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default PLURUM_PORT or 8000)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=serve)
    p = sub.add_parser("reindex", help="rebuild the full-text index from the database")
    p.set_defaults(func=reindex)
    p = sub.add_parser(
        "reembed",
        help="re-embed every vector with PLURUM_EMBEDDING_BACKEND, online; resumes if killed",
    )
    p.set_defaults(func=reembed)
    p = sub.add_parser("import", help="add experiences from a JSON lines file (idempotent on id)")
    p.add_argument("file", type=Path, help="JSON lines, one experience each; - for stdin")
    p.add_argument("--agent", default="imported", help="author of lines without author.username")
    p.set_defaults(func=import_)
    p = sub.add_parser("export", help="write every experience as JSON lines")
    p.add_argument("--output", "-o", type=Path, default=None, help="file (default stdout)")
    p.add_argument("--public-only", action="store_true", help="only public, published ones")
    p.set_defaults(func=export)
    p = sub.add_parser("db", help="the embedded PostgreSQL: status, start, stop")
    db = p.add_subparsers(dest="db_command", required=True)
    q = db.add_parser("status", help="running or not, where, who uses it (exit 3: stopped)")
    q.add_argument("--json", action="store_true", help="one JSON document, for programs")
    q.set_defaults(func=db_status)
    q = db.add_parser("start", help="start it and keep it running until `plurum db stop`")
    q.set_defaults(func=db_start)
    q = db.add_parser("stop", help="stop it, unless a Plurum process still uses it")
    q.add_argument("--force", action="store_true", help="stop it even if processes use it")
    q.set_defaults(func=db_stop)
    p = sub.add_parser("usage", help="what agents did: searches, acquisitions, outcomes, votes…")
    p.add_argument("--days", type=_positive, default=7, help="summarize this many days (7)")
    p.add_argument("--recent", type=_whole, default=20, help="newest events to list (20)")
    p.add_argument("--kind", choices=KINDS, default=None, help="list only this kind of event")
    p.add_argument("--json", action="store_true", help="one JSON document, for programs")
    p.set_defaults(func=usage)
    p = sub.add_parser("review", help="held experiences: list, show, release, delete")
    rv = p.add_subparsers(dest="review_command", required=True)
    q = rv.add_parser("list", help="what is held, oldest first, with the reasons")
    q.add_argument("--limit", type=_positive, default=50, help="at most this many (50)")
    q.add_argument("--offset", type=_whole, default=0, help="skip this many (0)")
    q.add_argument("--json", action="store_true", help="one JSON document, for programs")
    q.set_defaults(func=review)
    for name, text in (
        ("show", "the whole experience, with why it is held"),
        ("release", "lift the hold: it becomes readable, listed and searchable"),
        ("delete", "delete it for good, with its outcomes, votes and acquisitions"),
    ):
        q = rv.add_parser(name, help=text)
        q.add_argument("identifier", help="short id, slug or id")
        q.add_argument("--json", action="store_true", help="one JSON document, for programs")
        if name == "delete":
            q.add_argument("--yes", action="store_true", help="confirm the deletion")
        q.set_defaults(func=review)
    p = sub.add_parser("register", help="register an agent and store its key for plurum-mcp")
    p.add_argument("--name", required=True, help="display name")
    p.add_argument("--username", required=True, help="unique, lowercase letters and digits")
    p.add_argument(
        "--api-url",
        default=os.environ.get("PLURUM_API_URL", "http://127.0.0.1:8000/api/v1"),
        help="the backend (default PLURUM_API_URL or http://127.0.0.1:8000/api/v1)",
    )
    p.add_argument(
        "--credentials", type=Path, default=None, help="where to store the key (default: data dir)"
    )
    p.set_defaults(func=register)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logs.install()
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    # SIGTERM ends the process like Ctrl-C does, through the `finally` below, even while the
    # model loads; uvicorn takes both signals over while serving and re-raises them after
    # its graceful shutdown, which lands here too.
    if threading.current_thread() is threading.main_thread():  # tests call main in threads
        signal.signal(signal.SIGTERM, _terminated)
    try:
        func(args)
    except PlurumError as exc:
        say(f"plurum: {exc.message}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        _release_embedded(verbose=args.command == "serve")


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _release_embedded(verbose: bool) -> None:
    """Unregister from the embedded PostgreSQL; the last Plurum process out stops it."""
    from plurum_backend.store import embedded

    try:
        for message in embedded.release_all():
            if message and verbose:
                say(message)
    except PlurumError as exc:
        say(f"plurum: {exc.message}")


if __name__ == "__main__":
    main()
