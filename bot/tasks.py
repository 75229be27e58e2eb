"""Background tasks: started and not awaited where they start, yet never lost.

The event loop holds tasks only weakly, so a task nobody references can be collected mid-flight;
and a failure nobody retrieves shows up, if ever, as "Task exception was never retrieved" when the
task is collected, far from its cause. `create_task` keeps each task in the caller's set until it
ends, then hands its outcome to `on_done` when the caller has a use for it, and otherwise logs a
failure in one line naming the task (the traceback at debug level, shown by `-v`).

Tasks awaited in the function that starts them (a wait with a timeout, a race with a stop event)
need none of this: their failures reach the awaiting code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from briefings.errors import describe

log = logging.getLogger(__name__)

T = TypeVar("T")


def create_task(
    coro: Coroutine[Any, Any, T],
    *,
    name: str,
    tasks: set[asyncio.Task[Any]],
    on_done: Callable[[asyncio.Task[T]], None] | None = None,
) -> asyncio.Task[T]:
    """Start `coro` as a task named `name`, held in `tasks` until it ends.

    With `on_done`, that callback owns the outcome (result or exception); without, a failure is
    logged as an error. A cancelled task is neither.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    tasks.add(task)
    task.add_done_callback(partial(_finished, tasks, on_done))
    return task


def _finished(
    tasks: set[asyncio.Task[Any]],
    on_done: Callable[[asyncio.Task[T]], None] | None,
    task: asyncio.Task[T],
) -> None:
    tasks.discard(task)
    if on_done is not None:
        on_done(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    if on_done is None:
        log_failure(log, exc, task.get_name())
    else:
        log.debug("%s failed", task.get_name(), exc_info=exc)


def log_failure(logger: logging.Logger, exc: BaseException, what: str) -> None:
    """`what` failed: one line at error level, the traceback only at debug (`-v`). For failures a
    running bot survives (a send, a command, a background task): the log stays readable."""
    logger.error("%s failed: %s", what, describe(exc))
    logger.debug("%s failed", what, exc_info=exc)
