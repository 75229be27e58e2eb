"""Store calls run off the event loop: a slow or locked database holds up only the command or send
that waits for it, while the loop goes on serving everything else (Slack's 3 s acks, Discord's
heartbeats, other channels' commands). PostgreSQL only: a second session holds a table lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from adapters.contract import Caller, Invocation
from bot.app import engine_for
from bot.commands import CommandSet
from bot.config import CoordinationSettings, Settings
from bot.delivery import Deliverer
from bot.scheduler import BriefingScheduler
from briefings.store import Store, normalize_db_url
from tests.fixtures.platform import RecordingPlatform
from tests.test_bounded import Heartbeat
from tests.test_delivery import Clock, World

pytestmark = pytest.mark.postgres

ADMIN = Caller(platform="chat", user_id="U-admin", is_admin=True)
# A store query blocked longer than this fails instead of hanging the test run: on code that waits
# on the event loop, nothing else could release the lock meanwhile.
LOCK_TIMEOUT = "10s"


class TableLock:
    """Another session holding a table in ACCESS EXCLUSIVE mode, as a stuck transaction or a long
    migration would: every query on the table waits until it is released."""

    def __init__(self, url: str, table: str) -> None:
        self.table = table
        self.engine = sa.create_engine(normalize_db_url(url), poolclass=sa.pool.NullPool)
        self.conn = self.engine.connect()
        self.tx = self.conn.begin()
        self.conn.execute(sa.text(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE'))

    def waiters(self) -> int:
        """How many sessions are queued behind the lock."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = to_regclass(:t)"
                ),
                {"t": self.table},
            ).scalar_one()
        return int(found)

    def release(self) -> None:
        if self.tx.is_active:
            self.tx.rollback()
            self.conn.close()
            self.engine.dispose()


@pytest.fixture
def patient_url(pg_url: str) -> str:
    """The test schema's URL, with a lock timeout so a wrongly blocked loop ends in an error."""
    assert pg_url.split("?")[-1].split("&")[-1].startswith("options=")
    return f"{pg_url}%20-clock_timeout%3D{LOCK_TIMEOUT}"


@pytest.fixture
def store(patient_url: str) -> Iterator[Store]:
    opened = Store.open(patient_url)
    yield opened
    opened.close()


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    async with engine_for(Settings(), store) as engine:
        yield World(store, engine, Clock(), RecordingPlatform(), Settings())


async def wait_for_a_waiter(lock: TableLock, task: asyncio.Task[object]) -> None:
    """Poll (from a thread) until a store query is queued behind the lock, or `task` ended."""
    for _ in range(500):
        if task.done() or await asyncio.to_thread(lock.waiters):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no query ever waited for the lock on {lock.table}")


async def ticks_while_pending(heart: Heartbeat, task: asyncio.Task[object]) -> int:
    """The heartbeat's ticks over 100 turns of the loop, or 0 if `task` ended meanwhile."""
    start = heart.ticks
    for _ in range(100):
        if task.done():
            return 0
        await asyncio.sleep(0)  # the heartbeat gets its turn, if the loop is free
    return heart.ticks - start


async def test_a_command_waiting_for_a_locked_table_leaves_the_loop_running(
    world: World, patient_url: str
) -> None:
    commands = CommandSet(
        world.store,
        world.engine,
        world.deliverer(),
        Settings(),
    )
    say = Invocation(caller=ADMIN, channel="C1", text="subscribe")
    assert (await commands.handle(say)).ok
    lock = TableLock(patient_url, "subscriptions")
    try:
        async with Heartbeat() as heart:
            status = asyncio.create_task(
                commands.handle(Invocation(caller=ADMIN, channel="C1", text="status"))
            )
            await wait_for_a_waiter(lock, status)
            ticks = await ticks_while_pending(heart, status)
            lock.release()
            reply = await asyncio.wait_for(status, 10)
    finally:
        lock.release()
    assert ticks >= 50, "the event loop stood still while the command waited for the database"
    assert reply.ok, reply.text
    assert "sources: all" in reply.text and "next run: Wed 25 Nov 2026 08:00 UTC" in reply.text


async def test_a_flush_waiting_for_a_locked_table_leaves_the_loop_running(
    world: World, patient_url: str
) -> None:
    posts = world.add_posts(2)
    world.subscribe("C1")
    deliverer = world.deliverer()
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert (await deliverer.run_due(flush=False)).claimed == 1
    lock = TableLock(patient_url, "posts")  # the digest reads its posts from here
    try:
        async with Heartbeat() as heart:
            flush = asyncio.create_task(deliverer.flush())
            await wait_for_a_waiter(lock, flush)
            ticks = await ticks_while_pending(heart, flush)
            lock.release()
            report = await asyncio.wait_for(flush, 10)
    finally:
        lock.release()
    assert ticks >= 50, "the event loop stood still while the flush waited for the database"
    assert report.sent_messages == 1
    assert sorted(world.platform.posts_to("C1")) == sorted(posts)


async def test_a_stop_waits_for_an_index_sync_in_flight_so_closing_the_store_leaks_no_connection(
    pg_url: str,
) -> None:
    # A short lock timeout: the sync the lock holds up fails after a second instead of hanging.
    store = Store.open(f"{pg_url}%20-clock_timeout%3D1s")
    quick = Settings(coordination=CoordinationSettings(index_sync_seconds=0.1))
    try:
        async with engine_for(Settings(), store) as engine:
            deliverer = Deliverer(store, engine, {"chat": RecordingPlatform()}, Settings())
            scheduler = BriefingScheduler(store, engine, deliverer, quick)
            await scheduler.start()
            assert scheduler.caught_up is not None
            await scheduler.caught_up
            lock = TableLock(pg_url, "posts")
            try:
                for _ in range(500):  # the index job's sync is waiting for the posts
                    if await asyncio.to_thread(lock.waiters):
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError("no index sync ever waited for the posts")
                await scheduler.stop()
                held = store.engine.pool.checkedout()  # what a close now would leave open
            finally:
                lock.release()
    finally:
        store.close()
    assert held == 0, "the stop returned while an index sync still held a database connection"
