"""A rate limiter that cannot be caught out by delays between deciding to send and the request
arriving: at most `limit` requests in any `per` seconds *as the platform counts them*, on arrival.

A request holds its place from the moment it is allowed until `per` seconds after it has surely
reached the platform: when its response came back, or `hold` seconds after it was let go, whichever
is first. Any `limit + 1` requests arriving within `per` seconds would need the last of them allowed
while the others all still held their places, which this refuses. (Counting at the moment of
deciding, as a token bucket or a plain sliding window does, lets requests delayed on a busy event
loop bunch up on arrival; the fan-out benchmark measured 160 violations in 1,000 that way.) The
`hold` bound is what keeps one slow response from holding everyone: with Slack's one message a
second, a post answered after 31 s used to keep every other channel waiting for 32 s; now for at
most `hold + per`. It assumes a request reaches the platform within `hold` seconds of being let go.

Requests are also spaced `per / limit` apart rather than let go in bursts of `limit`: a burst queues
on the event loop and on the platform, each request in it takes longer, and as a place is held until a
response comes back, slower responses mean fewer requests per second.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Protocol


class Limiter(Protocol):
    """What delivery needs of a limiter: this one, or `bot.coordination.SharedRateLimiter` (the
    same rule held in the database for several processes)."""

    def slot(self) -> AbstractAsyncContextManager[None]: ...


class RateLimiter:
    def __init__(
        self,
        limit: int,
        per: float = 1.0,
        *,
        hold: float = math.inf,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or per <= 0 or hold <= 0:
            raise ValueError("a rate limit needs limit >= 1, per > 0 and hold > 0")
        self.limit = limit
        self.per = per
        self.hold = hold
        self.spacing = per / limit
        self._clock = clock
        # Each place taken, and when it stops counting: `per` after the response, or after `hold`
        # (an upper bound set when the request is let go, brought forward when it answers early).
        self._ends: dict[int, float] = {}
        self._ids = itertools.count()
        self._last_start = float("-inf")
        self._turn = asyncio.Lock()  # one waiter at a time, first come first served
        self._released = asyncio.Event()

    @classmethod
    def per_second(cls, rate: float, *, hold: float = math.inf) -> RateLimiter | None:
        """A limiter for `rate` requests per second, or None when `rate` is 0 (no limit)."""
        if rate <= 0:
            return None
        if rate >= 1:
            return cls(int(rate), 1.0, hold=hold)
        return cls(1, 1.0 / rate, hold=hold)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one request: `async with limiter.slot(): await send()`."""
        async with self._turn:
            while True:
                now = self._clock()
                for done in [k for k, end in self._ends.items() if end <= now]:
                    del self._ends[done]
                wait = self._last_start + self.spacing - now
                if len(self._ends) >= self.limit:
                    wait = max(wait, min(self._ends.values()) - now)
                if wait <= 0:
                    break
                # Woken early when a response comes back and frees a place sooner.
                self._released.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._released.wait(), None if math.isinf(wait) else wait
                    )
            token = next(self._ids)
            self._ends[token] = now + self.hold + self.per
            # Keep to the spacing's timetable when a wake-up came a little late, so timer
            # overshoot does not add up over thousands of requests; after a pause, start afresh.
            planned = self._last_start + self.spacing
            self._last_start = planned if now - planned < self.spacing else now
        try:
            yield
        finally:
            answered = self._clock() + self.per
            if token in self._ends and answered < self._ends[token]:
                self._ends[token] = answered
                self._released.set()
