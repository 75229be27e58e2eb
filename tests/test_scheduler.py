"""The APScheduler wiring: jobs mirror the store, change at once with a command, and fire the real path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.contract import Caller, Invocation
from bot.app import engine_for
from bot.commands import CommandSet
from bot.config import Settings
from bot.scheduler import BriefingScheduler, ScheduleTrigger
from bot.schedules import parse_schedule
from briefings.models import SourceConfig
from briefings.store import Store
from tests.fixtures.feed_server import FeedServer, Route
from tests.fixtures.platform import RecordingPlatform
from tests.fixtures.posts import ALL_POSTS, rss_feed
from tests.test_delivery import Clock, World

ADMIN = Caller(platform="chat", user_id="U1", is_admin=True)


def test_trigger_follows_the_schedule_across_dst() -> None:
    trigger = ScheduleTrigger(parse_schedule("daily 01:30", "America/New_York"))
    first = trigger.get_next_fire_time(None, datetime(2026, 10, 31, 12, tzinfo=UTC))
    second = trigger.get_next_fire_time(first, first)
    assert (first.isoformat(), second.isoformat()) == (
        "2026-11-01T05:30:00+00:00",
        "2026-11-02T06:30:00+00:00",
    )
    # A fire time equal to "now" is still due (APScheduler asks with now at start).
    assert trigger.get_next_fire_time(None, first) == first


@pytest.fixture
async def running(sqlite_url: str, feed_server: FeedServer) -> AsyncIterator[World]:
    feed_server.routes["/feed/"] = Route(rss_feed(feed_server.base, ALL_POSTS))
    store = Store.open(sqlite_url)
    sources = [SourceConfig("irinfive", feed_server.url("/feed/"))]
    settings = Settings.model_validate({"http": {"fetch_article_pages": False}})
    async with engine_for(settings, store, sources=sources) as engine:
        yield World(store, engine, Clock(datetime.now(UTC)), RecordingPlatform(), Settings())
    store.close()


async def test_jobs_mirror_the_store_and_follow_commands_at_once(
    running: World, feed_server: FeedServer
) -> None:
    world = running
    deliverer = world.deliverer()
    scheduler = BriefingScheduler(
        world.store, world.engine, deliverer, Settings(), clock=world.clock
    )
    commands = CommandSet(
        world.store,
        world.engine,
        deliverer,
        Settings(),
        on_schedule_change=scheduler.sync,
    )
    world.subscribe("C1")
    await scheduler.start()
    try:
        assert scheduler.caught_up is not None
        await scheduler.caught_up  # in the background: start() does not wait for the feeds
        assert world.store.count_posts() == len(ALL_POSTS)  # fetched at start
        assert scheduler.scheduler is not None
        ids = {job.id for job in scheduler.scheduler.get_jobs()}
        sub1 = world.outbox.subscription("chat", "C1")
        assert sub1 is not None
        assert ids == {"refresh:irinfive", "outbox", "index", f"digest:{sub1.id}"}
        assert scheduler.next_run_time(sub1) == sub1.next_run_at

        await commands.handle(Invocation(ADMIN, "C2", "schedule set daily 06:15 Asia/Tokyo"))
        await commands.handle(Invocation(ADMIN, "C2", "subscribe"))
        sub2 = world.outbox.subscription("chat", "C2")
        assert sub2 is not None and scheduler.next_run_time(sub2) == sub2.next_run_at
        assert sub2.next_run_at is not None
        assert (
            sub2.next_run_at.astimezone(parse_schedule("daily 06:15", "Asia/Tokyo").zone).strftime(
                "%H:%M"
            )
            == "06:15"
        )

        await commands.handle(Invocation(ADMIN, "C2", "unsubscribe"))
        assert scheduler.next_run_time(sub2) is None

        # The job APScheduler fires: refreshes stale feeds, claims the run, sends it.
        world.outbox.save_subscription(
            "chat", "C1", next_run_at=world.clock.now - timedelta(seconds=1)
        )
        hits_before = len(feed_server.hits("/feed/"))
        await scheduler._run_subscription(sub1.id)
        assert scheduler._flush_task is not None
        await scheduler._flush_task
        assert len(feed_server.hits("/feed/")) == hits_before  # fetched moments ago: fresh enough
        assert sorted(world.platform.posts_to("C1")) == sorted(
            p.id for p in world.store.latest_posts(10)
        )
    finally:
        await scheduler.stop()
    assert not scheduler.scheduler.running


async def test_concurrent_refreshes_of_one_source_share_one_fetch(
    running: World, feed_server: FeedServer
) -> None:
    import asyncio

    scheduler = BriefingScheduler(running.store, running.engine, running.deliverer())
    await asyncio.gather(*(scheduler.refresh(running.engine.sources) for _ in range(20)))
    assert len(feed_server.hits("/feed/")) == 1
