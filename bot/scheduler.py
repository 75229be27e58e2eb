"""APScheduler 3 as the timer: a refresh job per source, a digest job per subscription, an outbox
job that retries what failed, and an index job. The store stays the source of truth: a job only says
"look now", and `Deliverer.run_due` decides from the store what is due, so a job firing twice, late,
or in two processes changes nothing.

With several processes on one database (see bot.coordination), only the leader polls feeds, runs the
start-up catch-up and claims due runs (claims are safe anywhere; one claimer saves each process
fetching feeds before the same run); a process that becomes leader catches up at once. Every process
keeps its digest jobs (for `status`), flushes the outbox and syncs its search index from the store,
so it answers questions about posts another process fetched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.coordination import AlwaysLeader, Leadership
from bot.delivery import Deliverer, utc_now
from bot.schedules import Schedule, ScheduleError
from bot.tasks import create_task
from briefings.engine import BriefingEngine
from briefings.index import SearchIndexError
from briefings.models import SourceConfig, Subscription
from briefings.store import Store, db

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


class BriefingScheduler:
    def __init__(
        self,
        store: Store,
        engine: BriefingEngine,
        deliverer: Deliverer,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        leader: Leadership | None = None,
        outbox_seconds: float = 15.0,
        fresh_seconds: float = 120.0,
    ) -> None:
        """`settings` is the validated config (`[schedule]` and `coordination.index_sync_seconds`
        are read). `outbox_seconds`: how often failed deliveries are looked at for retry;
        `fresh_seconds`: a digest run first re-fetches feeds not fetched this recently."""
        self.store = store
        self.leader: Leadership = leader or AlwaysLeader()
        self.engine = engine
        self.deliverer = deliverer
        self.settings = settings or Settings()
        self.clock = clock
        self.outbox_seconds = outbox_seconds
        self.fresh_seconds = fresh_seconds
        self.scheduler: AsyncIOScheduler | None = None
        self._refreshed: dict[str, datetime] = {}
        self._refreshing: dict[str, asyncio.Task[Any]] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[Any]] = set()
        self._flush_wanted = False
        self._tasks: set[asyncio.Task[None]] = set()  # fetches and claims, cancelled at stop
        self._stopping = False
        self.caught_up: asyncio.Task[None] | None = None  # the start-up catch-up

    async def start(self) -> None:
        """Start the timers, and catch up in the background on what came due while stopped: the
        prompt and the platforms answer at once, however slow the feeds are (needs a running loop)."""
        s = self.settings.schedule
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, s.grace_minutes * 60),
            },
        )
        for source in self.engine.sources:
            scheduler.add_job(
                self._spawn_refresh,
                IntervalTrigger(minutes=s.refresh_minutes, jitter=s.refresh_jitter_seconds),
                args=[source],
                id=f"refresh:{source.name}",
            )
        scheduler.add_job(
            self._flush_now, IntervalTrigger(seconds=self.outbox_seconds), id="outbox"
        )
        scheduler.add_job(
            self._spawn_index_sync,
            IntervalTrigger(seconds=self.settings.coordination.index_sync_seconds),
            id="index",
        )
        self.scheduler = scheduler
        for sub in await db(self.deliverer.outbox.subscriptions, active_only=False):
            self.sync(sub)
        scheduler.start()
        await self.leader.start(self._became_leader)
        if not self.leader.is_leader:
            self.request_flush()  # what is owed goes out from here too

    def _became_leader(self) -> None:
        """Catch up on what came due while no process led (at start: while stopped)."""
        if not self._stopping:
            self.caught_up = self._spawn(self._catch_up(), "start-up catch-up")

    async def _catch_up(self) -> None:
        await self.refresh(self.engine.sources)
        report = await self.deliverer.run_due(self.clock(), flush=False)
        log.info(
            "caught up at start: feeds fetched, %d run(s) due, %d skipped",
            report.claimed,
            report.skipped,
        )
        self.request_flush()  # also sends what an earlier run left owed

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
            self._spawn_digest,
            ScheduleTrigger(schedule),
            args=[sub.id],
            id=job_id,
            replace_existing=True,
        )

    def next_run_time(self, sub: Subscription) -> datetime | None:
        job = self.scheduler.get_job(f"digest:{sub.id}") if self.scheduler else None
        return None if job is None else job.next_run_time

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop the timers and cancel fetches; sends in flight get `grace_seconds` to be confirmed.

        Nothing is lost by stopping at any point: a claimed run not yet confirmed stays pending in
        the store and goes out at the next start, with the same idempotency key."""
        self._stopping = True
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # queued onto the loop by APScheduler
            await asyncio.sleep(0)
        await self.leader.stop()
        work = [*self._tasks, *self._refreshing.values()]
        for task in work:
            task.cancel()
        await asyncio.gather(*work, return_exceptions=True)
        await self.engine.index_idle()  # a cancelled index sync's thread still reads the store
        flush = self._flush_task
        if flush is not None and not flush.done():
            await asyncio.wait({flush}, timeout=grace_seconds)
            if not flush.done():
                flush.cancel()
                await asyncio.wait({flush}, timeout=1.0)
                log.warning("stopped with deliveries in flight; they are sent at the next start")

    # -- jobs -------------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run `work` in a task that is kept (cancelled at stop) and whose failure is logged."""
        return create_task(work, name=name, tasks=self._tasks)

    async def _spawn_refresh(self, source: SourceConfig) -> None:
        """The refresh job: the fetch runs in a kept task, so a stop can cancel it. Only the
        leader polls; the others see its posts through the index job."""
        if self.leader.is_leader:
            self._spawn(self.refresh([source]), f"refresh of {source.name}")

    async def _spawn_digest(self, sub_id: int) -> None:
        if self.leader.is_leader:  # the leader claims; it took over any run due meanwhile
            self._spawn(self._run_subscription(sub_id), f"digest run of subscription {sub_id}")

    async def _spawn_index_sync(self) -> None:
        self._spawn(self.sync_index(), "index sync")

    async def sync_index(self) -> None:
        """Index posts any process stored since the last sync (shared with concurrent syncs)."""
        try:
            await self.engine.sync_index()
        except SearchIndexError as exc:  # the posts are stored; the next sync catches up
            log.warning("search index not updated: %s", exc)

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
        sub = await db(self.deliverer.outbox.subscription_by_id, sub_id)
        if sub is None:
            return
        stale = self.clock() - timedelta(seconds=self.fresh_seconds)
        wanted = [
            s
            for s in self.engine.sources
            if (not sub.sources or s.name in sub.sources)
            and self._refreshed.get(s.name, datetime.min.replace(tzinfo=UTC)) < stale
        ]
        if wanted:
            await self.refresh(wanted)
        if self._stopping:
            return
        await self.deliverer.run_due(self.clock(), only=sub_id, flush=False)
        self.request_flush()

    def request_flush(self) -> None:
        """Send what is owed soon; many digest jobs firing in the same minute share flushes."""
        if self._stopping:
            return  # what is owed stays pending for the next start
        self._flush_wanted = True
        if self._flush_task is None or self._flush_task.done():
            # Its own set: a stop gives the flush a grace period instead of cancelling it at once.
            self._flush_task = create_task(
                self._flush_loop(), name="outbox flush", tasks=self._flushes
            )

    async def _flush_loop(self) -> None:
        while self._flush_wanted:
            self._flush_wanted = False
            await asyncio.sleep(0)  # let jobs due at the same moment claim their runs first
            await self.deliverer.flush(self.clock())

    async def _flush_now(self) -> None:
        self.request_flush()
