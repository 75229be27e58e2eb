"""`briefbot run`: the long-running bot. Wires engine, platforms, delivery, commands and scheduler,
then runs until Ctrl-C or SIGTERM; `--once` does the due work and returns."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from adapters.terminal import TerminalPlatform, prompt_loop
from bot.app import (
    apply_declared_subscriptions,
    command_settings,
    delivery_settings,
    engine_for,
    scheduler_settings,
)
from bot.commands import CommandSet
from bot.config import Settings
from bot.delivery import Deliverer, RunReport, utc_now
from bot.scheduler import BriefingScheduler
from briefings.chat import ChatPlatform
from briefings.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    report: RunReport
    feed_errors: int


async def run_once(settings: Settings, store: Store, out: TextIO) -> RunResult:
    """Fetch, claim what is due, send it, and return (what fails stays owed for the next run)."""
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, _platforms(out), delivery_settings(settings))
        apply_declared_subscriptions(store, settings, deliverer, utc_now())
        reports = await engine.refresh()
        for failed in (r for r in reports if r.error):
            log.warning("feed %s: %s", failed.source, failed.error)
        report = await deliverer.run_due()
        return RunResult(report=report, feed_errors=sum(1 for r in reports if r.error))


async def run_forever(settings: Settings, store: Store, stdin: TextIO, out: TextIO) -> None:
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, _platforms(out), delivery_settings(settings))
        apply_declared_subscriptions(store, settings, deliverer, utc_now())
        scheduler = BriefingScheduler(store, engine, deliverer, scheduler_settings(settings))
        commands = CommandSet(
            store, engine, deliverer, command_settings(settings), on_schedule_change=scheduler.sync
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await scheduler.start()
            log.info("briefbot running; %d subscription(s)", len(store.subscriptions()))
            prompt = asyncio.ensure_future(prompt_loop(commands.handle, stdin, out))
            waiter = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({prompt, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if prompt in done and prompt.result() == "eof" and not stdin.isatty():
                await waiter  # no terminal to read (a service): run until signalled
            prompt.cancel()
            waiter.cancel()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await scheduler.stop()


def _platforms(out: TextIO) -> Mapping[str, ChatPlatform]:
    terminal = TerminalPlatform(out=out)
    return {terminal.name: terminal}
