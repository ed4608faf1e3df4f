"""Rate limits: a quota of requests per sliding window, counted in PostgreSQL.

Policies (each configurable, 0 turns it off):

  registrations  per client address            5 an hour      PLURUM_REGISTRATIONS_PER_HOUR
  writes         per agent                     1,200 a minute PLURUM_WRITES_PER_MINUTE
  searches       per agent, or per client      600 a minute   PLURUM_SEARCHES_PER_MINUTE
                 address without a key

The window slides: a request is allowed when fewer than ``quota`` requests were counted in
the last ``window`` seconds, so no window of that length ever holds more than the quota.
The log is the ``rate_hits`` table, decided by one database call per request, so every
replica counts against the same quota. Its connections come from a small pool of their own,
released as soon as the decision is made, so a request never waits on itself for one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from plurum_backend.config import Settings
from plurum_backend.store import limits as store

PolicyName = Literal["registrations", "writes", "searches"]


@dataclass(frozen=True)
class Policy:
    name: PolicyName
    quota: int
    window_s: int


@dataclass(frozen=True)
class Decision:
    policy: Policy
    allowed: bool
    remaining: int
    reset_s: int  # seconds until the oldest counted request leaves the window


class Limits:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self._engine = engine
        self.policies: dict[PolicyName, Policy] = {
            "registrations": Policy("registrations", settings.registrations_per_hour, 3600),
            "writes": Policy("writes", settings.writes_per_minute, 60),
            "searches": Policy("searches", settings.searches_per_minute, 60),
        }

    async def hit(self, name: PolicyName, partition: str) -> Decision | None:
        """Count one request of ``partition`` (an agent id or ``ip:<address>``); None if off."""
        policy = self.policies[name]
        if policy.quota <= 0:
            return None
        async with self._engine.connect() as conn:
            # one statement, atomic on its own (its advisory lock is the statement's
            # transaction's): autocommit spares a BEGIN and a COMMIT round trip per request
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            allowed, used, reset_s = await store.hit(
                conn, f"{name}:{partition}", policy.quota, policy.window_s
            )
        return Decision(
            policy=policy,
            allowed=allowed,
            remaining=max(0, policy.quota - used),
            reset_s=max(1, math.ceil(reset_s)),
        )

    async def close(self) -> None:
        await self._engine.dispose()
