"""Where experiences worked: their authors' environments and their outcome reports'."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from plurum_backend.store.models import Experience, Outcome


@dataclass(frozen=True)
class Evidence:
    """Where an experience worked or failed: its author's environment (when the session
    ended in success) and the environments of outcome reports that carried one."""

    successes: list[dict[str, str]]
    failures: list[dict[str, str]]


async def evidence(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Evidence]:
    """Package maps of successes and failures per experience (only where one was given).

    The author's environment counts as a success unless its session ended otherwise.
    """
    found: dict[uuid.UUID, Evidence] = {i: Evidence([], []) for i in ids}
    if not ids:
        return found
    authors = await db.execute(
        select(Experience.id, Experience.environment, Experience.outcome).where(
            Experience.id.in_(ids), Experience.environment.is_not(None)
        )
    )
    for exp_id, environment, outcome in authors.all():
        if outcome in (None, "success") and (environment or {}).get("packages"):
            found[exp_id].successes.append(environment["packages"])
    reports = await db.execute(
        select(Outcome.experience_id, Outcome.success, Outcome.environment).where(
            Outcome.experience_id.in_(ids), Outcome.environment.is_not(None)
        )
    )
    for exp_id, success, environment in reports.all():
        if (environment or {}).get("packages"):
            side = found[exp_id].successes if success else found[exp_id].failures
            side.append(environment["packages"])
    return found
