"""`briefbot run`: the long-running bot. Wires engine, platforms, delivery, commands and scheduler,
then runs until Ctrl-C or SIGTERM; `--once` does the due work and returns."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from adapters.contract import ChatPlatform, ConnectorContext
from bot.app import apply_declared_subscriptions, engine_for
from bot.config import Settings
from bot.connectors import Connectors, Ended
from bot.coordination import SeenEvents, leadership_for
from bot.delivery import Deliverer, RunReport, utc_now
from bot.outbox_store import OutboxStore
from briefings.store import Store, db

log = logging.getLogger(__name__)


CLOSE_SECONDS = 3.0  # after the sends' grace, what platforms get to disconnect


@dataclass(frozen=True, slots=True)
class RunResult:
    report: RunReport
    feed_errors: int
    unreachable: dict[str, int]  # platform -> runs due or owed there, with no token to send


async def run_once(
    settings: Settings, store: Store, out: TextIO, env: Mapping[str, str] | None = None
) -> RunResult:
    """Fetch, claim what is due, send it on every platform whose token is set, and return (what
    fails stays owed for the next run)."""
    context = ConnectorContext(listen=False, stdin=sys.stdin, out=out, ended=Ended())
    platforms = Connectors(settings, os.environ if env is None else env, context)
    async with engine_for(settings, store) as engine:
        try:
            await platforms.start(None)  # logged in: enough to send digests
            deliverer = Deliverer(store, engine, platforms.delivery, settings)
            await db(apply_declared_subscriptions, store, settings, deliverer, utc_now())
            reports = await engine.refresh()
            for failed in (r for r in reports if r.error):
                log.warning("feed %s: %s", failed.source, failed.error)
            report = await deliverer.run_due()
        finally:
            await platforms.stop()
        return RunResult(
            report=report,
            feed_errors=sum(1 for r in reports if r.error),
            unreachable=await db(_unreachable, deliverer.outbox, platforms.delivery),
        )


def _unreachable(outbox: OutboxStore, platforms: Mapping[str, ChatPlatform]) -> dict[str, int]:
    """Runs due and deliveries owed on platforms this process could not send to."""
    now = utc_now()
    counts: dict[str, int] = {}
    for sub in outbox.due_subscriptions(now):
        if sub.platform not in platforms:
            counts[sub.platform] = counts.get(sub.platform, 0) + 1
    for platform, owed in outbox.pending_by_platform(now).items():
        if platform not in platforms:
            counts[platform] = counts.get(platform, 0) + owed
    return counts


async def run_forever(
    settings: Settings,
    store: Store,
    stdin: TextIO,
    out: TextIO,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run until Ctrl-C, SIGTERM, `quit` or the end of a terminal's input; raise `MissingSecret`
    (or `PlatformFailed`) when a platform refuses us or dies for good, after stopping cleanly."""
    # Only a lasting run takes commands and keeps a schedule: `run --once` and the other commands
    # start without importing APScheduler and the command set.
    from bot.commands import CommandSet
    from bot.scheduler import BriefingScheduler

    ended = Ended()
    context = ConnectorContext(
        listen=True,
        stdin=stdin,
        out=out,
        ended=ended,
        first_seen=lambda platform: SeenEvents(store, platform).first_time,
    )
    platforms = Connectors(settings, os.environ if env is None else env, context)
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, platforms.delivery, settings)
        await db(apply_declared_subscriptions, store, settings, deliverer, utc_now())
        leader = leadership_for(store, settings.coordination.leader_check_seconds)
        scheduler = BriefingScheduler(store, engine, deliverer, settings, leader=leader)
        commands = CommandSet(store, engine, deliverer, settings, on_schedule_change=scheduler.sync)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            # Connecting can hang (a slow network, a busy Slack): a signal still stops it.
            if not await _unless_stopped(stop, platforms.start(commands)):
                return
            await scheduler.start()  # catches up in the background
            engine.open_index_in_background()  # so the first question finds it ready
            subscriptions = await db(deliverer.outbox.subscriptions)
            log.info("briefbot running; %d subscription(s)", len(subscriptions))
            await _until_stopped(stop, ended.future)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            engine.stop_index()
            await scheduler.stop(settings.delivery.stop_grace_seconds)
            try:
                await asyncio.wait_for(platforms.stop(), CLOSE_SECONDS)
            except TimeoutError:
                log.warning("a platform did not disconnect in %.0f s", CLOSE_SECONDS)
        error = ended.future.result() if ended.future.done() else None
        if error is not None:
            raise error


async def _unless_stopped(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run `work` unless `stop` is set first (then cancel it); True when it finished."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()  # a start-up failure is raised here
    return True


async def _until_stopped(stop: asyncio.Event, ended: asyncio.Future[Exception | None]) -> None:
    """Wait for a signal, or for a platform to end by itself (`quit`, or a connection lost)."""
    waiter = asyncio.ensure_future(stop.wait())
    try:
        ends: set[asyncio.Future[Any]] = {waiter, ended}
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
