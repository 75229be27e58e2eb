"""Background tasks are kept until they end, and a failure is reported, not lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.tasks import create_task


async def fail(message: str) -> None:
    await asyncio.sleep(0)
    raise RuntimeError(message)


async def test_a_failing_background_task_is_logged_with_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks: set[asyncio.Task[Any]] = set()
    task = create_task(fail("feed poll broke"), name="feed poll", tasks=tasks)
    assert tasks == {task}  # held while it runs: the loop's own reference is weak
    await asyncio.wait({task})
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert tasks == set()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["feed poll failed: RuntimeError: feed poll broke"]


async def test_a_task_whose_outcome_has_an_owner_is_handed_over_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks: set[asyncio.Task[Any]] = set()
    seen: list[BaseException | None] = []
    task = create_task(
        fail("gateway closed"),
        name="discord connection",
        tasks=tasks,
        on_done=lambda t: seen.append(t.exception()),
    )
    await asyncio.wait({task})
    await asyncio.sleep(0)
    assert [str(e) for e in seen] == ["gateway closed"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_cancelled_background_task_is_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks: set[asyncio.Task[Any]] = set()
    task = create_task(asyncio.sleep(3600), name="sleeper", tasks=tasks)
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert tasks == set() and not caplog.records
