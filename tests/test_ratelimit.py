"""The per-platform rate limiter: never more than the limit in any window, as the platform counts."""

from __future__ import annotations

import asyncio
import random
import time

from bot.ratelimit import RateLimiter


async def test_no_window_holds_more_than_the_limit_whatever_the_latency() -> None:
    limit, per = 5, 0.2
    limiter = RateLimiter(limit, per)
    arrivals: list[float] = []
    rng = random.Random(7)

    async def request() -> None:
        async with limiter.slot():
            # The request reaches the platform at some moment before its response comes back.
            await asyncio.sleep(rng.uniform(0, 0.03))
            arrivals.append(time.monotonic())
            await asyncio.sleep(rng.uniform(0, 0.03))

    await asyncio.gather(*(request() for _ in range(40)))
    arrivals.sort()
    busiest = max(sum(1 for t in arrivals if start <= t < start + per) for start in arrivals)
    assert busiest <= limit  # throughput is measured in bench/fanout.py, not here


def test_rates_below_one_per_second_space_requests_out() -> None:
    limiter = RateLimiter.per_second(0.5)
    assert limiter is not None and (limiter.limit, limiter.per) == (1, 2.0)
    assert RateLimiter.per_second(0) is None


async def test_a_request_left_unanswered_stops_holding_its_place_after_hold_seconds() -> None:
    limiter = RateLimiter(1, 0.2, hold=0.05)
    answered = asyncio.Event()
    entered = asyncio.Event()

    async def slow_request() -> None:
        async with limiter.slot():
            entered.set()
            await answered.wait()  # the platform has it, but answers much later

    slow = asyncio.ensure_future(slow_request())
    await entered.wait()
    async with asyncio.timeout(5):  # not held until the slow one is answered
        async with limiter.slot():
            assert not slow.done()
    answered.set()
    await slow
