"""``plurum import FILE`` and ``plurum export``: experiences in and out as JSON lines.

An export line is an ExperienceDetail without the derived counts (outcomes, votes and
acquisitions stay behind); ``importer`` reads the same shape back, idempotently on ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from plurum_backend.config import Settings
from plurum_backend.errors import PlurumError
from plurum_backend.importer import BATCH, DEFAULT_AGENT, ImportReport, import_lines
from plurum_backend.runtime import Plurum
from plurum_backend.store import transfer as store
from plurum_backend.store.database import async_engine
from plurum_backend.store.models import Experience

MAX_INVALID_SHOWN = 20

__all__ = ["export_file", "export_lines", "export_record", "import_file"]


def export_record(exp: Experience, username: str) -> dict[str, Any]:
    return {
        "id": str(exp.id),
        "short_id": exp.short_id,
        "slug": exp.slug,
        "goal": exp.goal,
        "solution": exp.solution,
        "domain": exp.domain,
        "context": exp.context,
        "dead_ends": exp.dead_ends,
        "breakthroughs": exp.breakthroughs,
        "gotchas": exp.gotchas,
        "artifacts": exp.artifacts,
        "tags": list(exp.tags),
        "visibility": exp.visibility,
        "status": exp.status,
        "outcome": exp.outcome,
        "archived_at": exp.archived_at.isoformat() if exp.archived_at else None,
        "held_at": exp.held_at.isoformat() if exp.held_at else None,
        "held_reasons": exp.held_reasons,
        "author": {"id": str(exp.agent_id), "username": username},
        "created_at": exp.created_at.isoformat(),
        "updated_at": exp.updated_at.isoformat(),
    }


async def export_lines(
    sessions: async_sessionmaker[AsyncSession],
    out: TextIO,
    *,
    public_only: bool = False,
    progress: bool = True,
) -> int:
    count = 0
    with tqdm(desc="Exporting", unit="exp", file=sys.stderr, disable=not progress) as bar:
        async with sessions() as db:
            async for exp, username in store.all_with_authors(db, public_only=public_only):
                out.write(json.dumps(export_record(exp, username), ensure_ascii=False) + "\n")
                count += 1
                bar.update(1)
    out.flush()
    return count


@contextlib.contextmanager
def _detached(settings: Settings) -> Iterator[Plurum]:
    """A runtime on the configured database whose search index is a scratch directory.

    A running server owns the real index (Tantivy allows one writer); it, or the next
    ``plurum serve``, picks the changes up from the change sequence within a second.
    """
    database = Plurum.open_database(settings)
    with tempfile.TemporaryDirectory(prefix="plurum-transfer-") as scratch:
        yield Plurum.start(dataclasses.replace(settings, data_dir=Path(scratch)), database)


def import_file(
    settings: Settings, source: Path, *, default_agent: str = DEFAULT_AGENT, batch: int = BATCH
) -> ImportReport:
    """``plurum import``: ``-`` reads standard input."""
    if str(source) != "-" and not source.is_file():
        raise PlurumError(f"{source} is not a file.")
    total = None if str(source) == "-" else sum(1 for line in source.open() if line.strip())
    with _detached(settings) as plurum:

        async def run() -> ImportReport:
            try:
                with contextlib.ExitStack() as stack:
                    stream = (
                        sys.stdin
                        if str(source) == "-"
                        else stack.enter_context(source.open(encoding="utf-8"))
                    )
                    return await import_lines(
                        plurum, stream, total=total, default_agent=default_agent, batch=batch
                    )
            finally:
                await plurum.close()

        report = asyncio.run(run())
    for message in report.invalid[:MAX_INVALID_SHOWN]:
        print(f"skipped {message}", file=sys.stderr)
    return report


def export_file(settings: Settings, target: Path | None, *, public_only: bool = False) -> int:
    """``plurum export``: JSON lines to ``target``, or standard output (no model needed)."""
    engine = async_engine(Plurum.open_database(settings))

    async def run() -> int:
        try:
            with contextlib.ExitStack() as stack:
                file = target.open("w", encoding="utf-8") if target else None
                out = stack.enter_context(file) if file else sys.stdout
                return await export_lines(async_sessionmaker(engine), out, public_only=public_only)
        finally:
            await engine.dispose()

    return asyncio.run(run())
