"""A sliding-window rate limiter: at most `limit` sends in any `per` seconds, across all channels of a
platform. A token bucket would let a full burst through at each end of a window (twice the limit
within one second), which is exactly what Discord's global limit counts as a violation."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        limit: int,
        per: float = 1.0,
        *,
        margin: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("a rate limit needs limit >= 1 and per > 0")
        self.limit = limit
        self.per = per + margin  # slack for the time a request spends on its way
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    @classmethod
    def per_second(cls, rate: float) -> RateLimiter | None:
        """A limiter for `rate` requests per second, or None when `rate` is 0 (no limit)."""
        if rate <= 0:
            return None
        if rate >= 1:
            return cls(int(rate), 1.0)
        return cls(1, 1.0 / rate)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._stamps and self._stamps[0] <= now - self.per:
                    self._stamps.popleft()
                if len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return
                await asyncio.sleep(self._stamps[0] + self.per - now)
