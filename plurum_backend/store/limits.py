"""The rate-limit log in PostgreSQL: one call decides one request (see migration 0003)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_HIT = text("SELECT allowed, used, reset_s FROM plurum_rate_hit(:bucket, :quota, :window_s)")


async def hit(
    conn: AsyncConnection, bucket: str, quota: int, window_s: float
) -> tuple[bool, int, float]:
    """Count one request in ``bucket`` unless it already holds ``quota`` within ``window_s``.

    Returns (allowed, requests now counted in the window, seconds until the oldest expires).
    """
    row = (await conn.execute(_HIT, {"bucket": bucket, "quota": quota, "window_s": window_s})).one()
    return bool(row.allowed), int(row.used), float(row.reset_s)
