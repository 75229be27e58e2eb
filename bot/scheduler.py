"""APScheduler 3 as the timer: a refresh job per source, a digest job per subscription, and an outbox
job that retries what failed. The store stays the source of truth: a job only says "look now", and
`Deliverer.run_due` decides from the store what is due, so a job firing twice, late, or in two
processes changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.delivery import Deliverer, utc_now
from bot.schedules import Schedule, ScheduleError
from briefings.engine import BriefingEngine
from briefings.models import SourceConfig, Subscription
from briefings.store import Store

log = logging.getLogger(__name__)


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """An APScheduler trigger backed by `Schedule.next_fire` (DST-correct; see bot.schedules)."""

    __slots__ = ("schedule",)

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        after = previous_fire_time or now - timedelta(microseconds=1)
        return self.schedule.next_fire(after)

    def __str__(self) -> str:
        return f"schedule[{self.schedule.describe()}]"


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    refresh_minutes: float = 30.0
    refresh_jitter_seconds: float = 60.0
    outbox_seconds: float = 15.0  # how often failed deliveries are looked at for retry
    fresh_seconds: float = 120.0  # a digest run re-fetches feeds older than this first
    misfire_grace_seconds: int = 7200


class BriefingScheduler:
    def __init__(
        self,
        store: Store,
        engine: BriefingEngine,
        deliverer: Deliverer,
        settings: SchedulerSettings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.engine = engine
        self.deliverer = deliverer
        self.settings = settings or SchedulerSettings()
        self.clock = clock
        self.scheduler: AsyncIOScheduler | None = None
        self._refreshed: dict[str, datetime] = {}
        self._refreshing: dict[str, asyncio.Task[Any]] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_wanted = False

    async def start(self) -> None:
        """Catch up on what came due while stopped, then start the timers (needs a running loop)."""
        await self.refresh(self.engine.sources)
        report = await self.deliverer.run_due(self.clock())
        if report.claimed or report.skipped:
            log.info("at start: %d run(s) caught up, %d skipped", report.claimed, report.skipped)
        s = self.settings
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": s.misfire_grace_seconds,
            },
        )
        for source in self.engine.sources:
            scheduler.add_job(
                self.refresh,
                IntervalTrigger(minutes=s.refresh_minutes, jitter=s.refresh_jitter_seconds),
                args=[[source]],
                id=f"refresh:{source.name}",
            )
        scheduler.add_job(self._flush_now, IntervalTrigger(seconds=s.outbox_seconds), id="outbox")
        self.scheduler = scheduler
        for sub in self.store.subscriptions(active_only=False):
            self.sync(sub)
        scheduler.start()

    def sync(self, sub: Subscription) -> None:
        """Add, replace or remove the digest job of one subscription to match the store."""
        if self.scheduler is None:
            return
        job_id = f"digest:{sub.id}"
        if not sub.active or sub.paused or sub.platform not in self.deliverer.platforms:
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
            return
        try:
            schedule = self.deliverer.schedule_of(sub)
        except ScheduleError as exc:
            log.error("%s %s: schedule unusable: %s", sub.platform, sub.channel, exc)
            return
        self.scheduler.add_job(
            self._run_subscription,
            ScheduleTrigger(schedule),
            args=[sub.id],
            id=job_id,
            replace_existing=True,
        )

    def next_run_time(self, sub: Subscription) -> datetime | None:
        job = self.scheduler.get_job(f"digest:{sub.id}") if self.scheduler else None
        return None if job is None else job.next_run_time

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop the timers; let a flush in progress finish (what it leaves stays pending)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # queued onto the loop by APScheduler
            await asyncio.sleep(0)
        if self._flush_task is not None and not self._flush_task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._flush_task), grace_seconds)
            except TimeoutError:
                log.warning("stopped with deliveries in flight; they are retried at next start")

    # -- jobs -------------------------------------------------------------------------------------

    async def refresh(self, sources: list[SourceConfig] | tuple[SourceConfig, ...]) -> None:
        """Fetch sources, sharing one fetch between callers that ask at the same time."""
        tasks = []
        for source in sources:
            task = self._refreshing.get(source.name)
            if task is None or task.done():
                task = asyncio.ensure_future(self._refresh_one(source))
                self._refreshing[source.name] = task
            tasks.append(task)
        await asyncio.gather(*tasks)

    async def _refresh_one(self, source: SourceConfig) -> None:
        for report in await self.engine.refresh([source]):
            if report.error:
                log.warning("feed %s: %s", report.source, report.error)
        self._refreshed[source.name] = self.clock()

    async def _run_subscription(self, sub_id: int) -> None:
        sub = self.store.subscription_by_id(sub_id)
        if sub is None:
            return
        stale = self.clock() - timedelta(seconds=self.settings.fresh_seconds)
        wanted = [
            s
            for s in self.engine.sources
            if (not sub.sources or s.name in sub.sources)
            and self._refreshed.get(s.name, datetime.min.replace(tzinfo=UTC)) < stale
        ]
        if wanted:
            await self.refresh(wanted)
        await self.deliverer.run_due(self.clock(), only=sub_id, flush=False)
        self.request_flush()

    def request_flush(self) -> None:
        """Send what is owed soon; many digest jobs firing in the same minute share flushes."""
        self._flush_wanted = True
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.ensure_future(self._flush_loop())

    async def _flush_loop(self) -> None:
        while self._flush_wanted:
            self._flush_wanted = False
            await asyncio.sleep(0)  # let jobs due at the same moment claim their runs first
            await self.deliverer.flush(self.clock())

    async def _flush_now(self) -> None:
        self.request_flush()
