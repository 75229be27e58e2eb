"""Several `briefbot run` processes on one PostgreSQL: the database is the coordinator.

- **Leadership** (`AdvisoryLeader`): one process polls feeds, runs the start-up catch-up and claims
  due runs. It holds a session-level `pg_try_advisory_lock` on a connection of its own, so the lock
  dies with the process (or, for a host that vanishes, when the server's TCP keepalives give up on
  it, set to about 25 s on that connection). The others try the lock every `check_seconds` and take
  over when it is free. Leadership saves work, it does not make anything safe: two leaders for a
  moment (a leader whose connection broke notices at its next check) fetch a feed twice, and the
  store dedupes posts and claims each run once. On SQLite the one process always leads
  (`AlwaysLeader`).
- **Seen events** (`SeenEvents`): a platform event id is answered by the process whose insert of it
  succeeds first; retries and other processes find the row.
- **Rate limits** (`SharedRateLimiter`): the algorithm of `bot.ratelimit.RateLimiter` with its state
  (places held, when the last request went) in rows locked for each decision, on the database's
  clock, so N processes together keep a platform's global limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.ratelimit import Limiter, RateLimiter
from bot.tables import ensure_schema, rate_holds, rate_limits, seen_events
from briefings.store import DB_ERRORS, Store, StoreError, db, insert_or_skip

log = logging.getLogger(__name__)

KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
# Client side: a request to a server that vanished fails after this long instead of hanging.
CLIENT_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
SEEN_KEEP = timedelta(days=1)  # Slack retries an event for minutes; a day is plenty
PRUNE_EVERY = 200  # inserts between deletions of old seen events
REMOTE_POLL = 0.05  # seconds a waiting limiter sleeps at most: another process may free a place


def is_shared(store: Store) -> bool:
    """Several processes may share this database (PostgreSQL); a SQLite file has one bot."""
    return store.engine.dialect.name == "postgresql"


# -- leadership ----------------------------------------------------------------------------------


class AlwaysLeader:
    """The one process on SQLite: it always polls."""

    is_leader = True

    async def start(self, on_gain: Callable[[], None]) -> None:
        on_gain()

    async def stop(self) -> None:
        pass


class AdvisoryLeader:
    """Leader while holding a session-level advisory lock on a dedicated connection."""

    def __init__(self, store: Store, *, check_seconds: float) -> None:
        self.engine = sa.create_engine(
            store.engine.url, poolclass=sa.pool.NullPool, connect_args=CLIENT_KEEPALIVE
        )
        self.check_seconds = check_seconds
        self.is_leader = False
        self._conn: Connection | None = None
        # A tick's work runs in a thread that a stop's cancel does not halt: the connection is only
        # touched under this lock, so `stop` closes it after a check in flight, never before.
        self._conn_lock = threading.RLock()
        self._stopped = False  # set by `stop`: a check still queued for a thread opens nothing
        self._key = 0
        self._task: asyncio.Task[None] | None = None
        self._on_gain: Callable[[], None] = lambda: None

    async def start(self, on_gain: Callable[[], None]) -> None:
        """Try once now (so the first process leads at once), then every `check_seconds`."""
        self._on_gain = on_gain
        await self._tick()
        self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await db(self._release)
        self.engine.dispose()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            await self._tick()

    async def _tick(self) -> None:
        was = self.is_leader
        try:
            self.is_leader = await db(self._check)
        except DB_ERRORS as exc:
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            log.warning("leader: cannot reach the database (%s); trying again", reason)
            await db(self._drop)
            self.is_leader = False
        if self.is_leader and not was:
            log.info("leader: this process now polls feeds")
            self._on_gain()
        elif was and not self.is_leader:
            log.warning("leader: this process no longer polls feeds")

    def _check(self) -> bool:
        with self._conn_lock:
            return False if self._stopped else self._check_locked()

    def _check_locked(self) -> bool:
        if self._conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
            for name, value in KEEPALIVE.items():
                conn.execute(sa.text(f"SET {name} = {int(value)}"))
            schema = str(conn.execute(sa.text("SELECT current_schema()")).scalar())
            self._key = lock_key(schema)
        if self.is_leader:
            self._conn.execute(sa.text("SELECT 1"))  # the session, and so the lock, still lives
            return True
        taken = self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
        return bool(taken.scalar())

    def _drop(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                with suppress(*DB_ERRORS):
                    self._conn.invalidate()  # closes the session: any lock it held goes with it
                self._conn = None

    def _release(self) -> None:
        with self._conn_lock:
            if self._conn is not None and self.is_leader:
                with suppress(*DB_ERRORS):
                    self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self.is_leader = False
            self._drop()


Leadership = AlwaysLeader | AdvisoryLeader


def leadership_for(store: Store, check_seconds: float) -> Leadership:
    return (
        AdvisoryLeader(store, check_seconds=check_seconds) if is_shared(store) else AlwaysLeader()
    )


def lock_key(schema: str) -> int:
    """The advisory lock's 64-bit key: one per schema, so deployments sharing a database (or the
    tests, a schema each) do not elect one leader between them."""
    digest = hashlib.blake2b(f"briefbot:leader:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- seen events ---------------------------------------------------------------------------------


class SeenEvents:
    """Platform event ids answered already, in the database: the first process to insert one
    answers it; the platform's retries (to this process or another) are ignored."""

    def __init__(
        self,
        store: Store,
        platform: str,
        *,
        keep: timedelta = SEEN_KEEP,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.platform = platform
        self.keep = keep
        self.clock = clock
        self._inserts = 0

    async def first_time(self, event_id: str) -> bool:
        return await db(self._insert, event_id)

    def _insert(self, event_id: str) -> bool:
        now = self.clock()
        statement = (
            insert_or_skip(self.store.engine.dialect.name, seen_events)
            .values(platform=self.platform, event_id=event_id[:200], seen_at=now)
            .on_conflict_do_nothing()
            .returning(seen_events.c.event_id)  # a row back: ours; none: someone's before us
        )
        try:
            ensure_schema(self.store.engine, label=self.store.label)
            with self.store.engine.begin() as conn:
                inserted = conn.execute(statement).first() is not None
                self._inserts += 1
                if self._inserts % PRUNE_EVERY == 1:
                    conn.execute(
                        seen_events.delete().where(seen_events.c.seen_at < now - self.keep)
                    )
        except (StoreError, *DB_ERRORS) as exc:  # type: ignore[misc]  # answering twice beats never
            log.warning("cannot record %s event %s: %s", self.platform, event_id, exc)
            return True
        return inserted


# -- rate limits ---------------------------------------------------------------------------------


class SharedRateLimiter:
    """`RateLimiter`'s rule (see bot.ratelimit) for every process on the database together: at most
    `limit` requests in any `per` seconds as the platform counts them, spaced `per / limit` apart.

    One decision at a time per platform: the platform's row is locked (`SELECT ... FOR UPDATE`)
    while the places still held are counted and, if there is room, one is taken. Within a process
    requests queue on a lock first, so a process has one decision in flight at a time.
    """

    def __init__(
        self, store: Store, platform: str, limit: int, per: float = 1.0, *, hold: float = 2.0
    ) -> None:
        if limit < 1 or per <= 0 or hold <= 0 or math.isinf(hold):
            raise ValueError("a shared rate limit needs limit >= 1, per > 0 and a finite hold > 0")
        self.store = store
        self.platform = platform
        self.limit = limit
        self.per = per
        self.hold = hold
        self.spacing = per / limit
        self._turn = asyncio.Lock()
        self._released = asyncio.Event()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one request: `async with limiter.slot(): await send()`."""
        async with self._turn:
            while True:
                token, wait = await db(self._take)
                if token is not None:
                    break
                self._released.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), min(wait, REMOTE_POLL))
        try:
            yield
        finally:
            with contextlib.suppress(*DB_ERRORS):
                await db(self._answered, token)
            self._released.set()

    def _take(self) -> tuple[int | None, float]:
        """Take a place if the limit allows it now: (its id, 0); else (None, seconds to wait)."""
        p = self.platform
        ensure_schema(self.store.engine, label=self.store.label)
        with self.store.engine.begin() as conn:
            row = conn.execute(
                sa.select(rate_limits.c.last_start)
                .where(rate_limits.c.platform == p)
                .with_for_update()
            ).first()
            if row is None:
                conn.execute(
                    insert_or_skip("postgresql", rate_limits)
                    .values(platform=p, last_start=-math.inf)
                    .on_conflict_do_nothing()
                )
                return None, 0.0  # created: decide again, with the row locked
            last_start = float(row[0])
            now = float(
                conn.execute(sa.text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
            )
            held, first_end = conn.execute(
                sa.select(sa.func.count(), sa.func.min(rate_holds.c.ends_at)).where(
                    rate_holds.c.platform == p, rate_holds.c.ends_at > now
                )
            ).one()
            wait = last_start + self.spacing - now
            if held >= self.limit:
                wait = max(wait, float(first_end) - now)
            if wait > 0:
                return None, wait
            conn.execute(
                rate_holds.delete().where(rate_holds.c.platform == p, rate_holds.c.ends_at <= now)
            )
            token = conn.execute(
                rate_holds.insert()
                .values(platform=p, ends_at=now + self.hold + self.per)
                .returning(rate_holds.c.id)
            ).scalar_one()
            # As RateLimiter: keep to the spacing's timetable after a late wake-up.
            planned = last_start + self.spacing
            started = planned if now - planned < self.spacing else now
            conn.execute(
                rate_limits.update().where(rate_limits.c.platform == p).values(last_start=started)
            )
            return int(token), 0.0

    def _answered(self, token: int | None) -> None:
        """The response came back: the place counts for `per` more seconds (not `hold + per`)."""
        if token is None:
            return
        ends = sa.literal_column("extract(epoch FROM clock_timestamp())", sa.Double)
        with self.store.engine.begin() as conn:
            conn.execute(
                rate_holds.update()
                .where(rate_holds.c.id == token)
                .values(ends_at=sa.func.least(rate_holds.c.ends_at, ends + self.per))
            )


def limiter_for(store: Store, platform: str, rate: float, *, hold: float) -> Limiter | None:
    """A platform's limiter: held in the database when processes may share it, else in memory
    (one process on SQLite: nothing to share, no round trips). None when `rate` is 0."""
    local = RateLimiter.per_second(rate, hold=hold)
    if local is None or not is_shared(store):
        return local
    return SharedRateLimiter(store, platform, local.limit, local.per, hold=hold)
