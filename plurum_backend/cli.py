"""The ``plurum`` command: serve, reindex (more subcommands join as features land).

Every failure ends as one sentence on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Callable

from plurum_backend import logs
from plurum_backend.config import Settings
from plurum_backend.errors import PlurumError


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
    plurum = Plurum.start(settings, database)
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
    uvicorn.Server(server_config(create_app(plurum), host, port, args.log_level)).run()


def reindex(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    plurum = _start(settings)

    async def run() -> int:
        try:
            return int(await plurum.sync.rebuild(progress=True))
        finally:
            await plurum.engine.dispose()

    count: int = asyncio.run(run())
    print(f"Reindexed {count} experiences into {settings.index_dir}.")


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
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logs.install()
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], None] = args.func
    try:
        func(args)
    except PlurumError as exc:
        say(f"plurum: {exc.message}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
