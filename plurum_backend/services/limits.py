"""Rate limits: sliding windows kept in this process's memory.

Registration is limited per client address (5 an hour by default). The counts are per
process: behind a load balancer with N replicas an address may register up to N times the
limit; the trust issue (#6) moves limits into PostgreSQL.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from plurum_backend.errors import RateLimited


class SlidingWindow:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one request for ``key``, or raise RateLimited with the seconds to wait."""
        if self.limit <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = max(1, math.ceil(hits[0] + self.window_s - now))
                raise RateLimited(
                    f"Too many requests; try again in {retry} seconds.", retry_after=retry
                )
            hits.append(now)


class Limits:
    def __init__(self, registrations_per_hour: int) -> None:
        self.registrations = SlidingWindow(registrations_per_hour, 3600.0)

    def check_registration(self, client: str) -> None:
        self.registrations.hit(client)
