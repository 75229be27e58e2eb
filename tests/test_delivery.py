"""Scheduled delivery through the outbox, with an injected clock and a real SQLite file or PostgreSQL."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from adapters.contract import (
    Caller,
    Invocation,
    MessageRejectedError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.app import engine_for
from bot.commands import CommandSet
from bot.config import CommandSettings, DeliverySettings, Settings
from bot.delivery import Deliverer
from bot.outbox_store import OutboxStore
from bot.tables import subscriptions
from briefings.engine import BriefingEngine
from briefings.models import PostParts, Subscription
from briefings.store import NewPost, Store
from tests.fixtures.platform import RecordingPlatform

REGIONS = ("Sahel", "Baltic", "Andes", "Mekong", "Caucasus", "Balkans", "Maghreb", "Levant")


REGIONS = ("Sahel", "Baltic", "Andes", "Mekong", "Caucasus", "Balkans", "Maghreb", "Levant")


@dataclass
class Clock:
    now: datetime = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    store: Store
    engine: BriefingEngine
    clock: Clock
    platform: RecordingPlatform
    settings: Settings
    added: int = 0
    deliverers: list[Deliverer] = field(default_factory=list)
    lease_seconds: float = 60.0

    @property
    def outbox(self) -> OutboxStore:
        return OutboxStore(self.store.engine)

    def deliverer(self, platform: RecordingPlatform | None = None) -> Deliverer:
        platform = platform or self.platform
        made = Deliverer(
            self.store,
            self.engine,
            {platform.name: platform},
            self.settings,
            clock=self.clock,
            lease_seconds=self.lease_seconds,
        )
        self.deliverers.append(made)
        return made

    def add_posts(self, count: int, source: str = "irinfive") -> list[int]:
        items = []
        for _ in range(count):
            self.added += 1
            n = self.added
            parts = PostParts(
                title=f"Post {n}: talks in the {REGIONS[n % len(REGIONS)]}",
                date_line="11/25 – International News",
                category="International News",
                paragraphs=(
                    f"Delegates from the {REGIONS[n % len(REGIONS)]} met on Tuesday. "
                    f"They agreed on {n} points.",
                ),
                take_label="Analysis",
                take=f"Round {n} changes little.",
                attributions=("AP News",),
            )
            url = f"https://irinfive.com/post-{n}/"
            published = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n)
            items.append(NewPost(source, url, url, published, parts))
        self.store.save_posts(items)
        return [p.id for p in self.store.latest_posts(count)][::-1]

    def subscribe(
        self, channel: str, when: str = "daily 08:00", zone: str = "UTC", **extra: object
    ) -> Subscription:
        return self.deliverer().subscriptions.save(
            self.platform.name,
            channel,
            self.clock.now,
            active=True,
            schedule=when,
            timezone=zone,
            admin_user="U-admin",
            **extra,
        )


@pytest.fixture
async def world(migrated_db_url: str) -> AsyncIterator[World]:
    store = Store.open(migrated_db_url)
    async with engine_for(Settings(), store) as engine:
        yield World(
            store=store,
            engine=engine,
            clock=Clock(),
            platform=RecordingPlatform(),
            settings=Settings(),  # retries from 30 s; a missed digest is sent within 2 h
        )
    store.close()


async def test_a_due_digest_is_delivered_once_and_the_next_has_only_new_posts(world: World) -> None:
    first_posts = world.add_posts(3)
    world.subscribe("C1")
    deliverer = world.deliverer()

    world.clock.now = datetime(2026, 11, 25, 7, 59, tzinfo=UTC)
    assert (await deliverer.run_due()).claimed == 0
    assert world.platform.sent == []

    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    report = await deliverer.run_due()
    assert (report.claimed, report.sent_messages) == (1, 1)
    assert sorted(world.platform.posts_to("C1")) == sorted(first_posts)
    rows = world.outbox.deliveries_for(world.outbox.subscription("chat", "C1").id)  # type: ignore[union-attr]
    assert {r.status for r in rows} == {"sent"} and {r.message_id for r in rows} == {"m1"}

    world.clock.now += timedelta(minutes=5)
    assert (await deliverer.run_due()).claimed == 0  # not due again until tomorrow
    new_post = world.add_posts(1)
    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert world.platform.posts_to("C1") == [*world.platform.posts_to("C1")[:3], *new_post]
    assert len(world.platform.sent) == 2


async def test_nothing_new_is_skipped_by_default_and_announced_when_asked(world: World) -> None:
    world.subscribe("quiet")
    world.subscribe("chatty", skip_empty=False)
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    report = await world.deliverer().run_due()
    assert report.claimed == 2
    assert [(s.channel, s.empty) for s in world.platform.sent] == [("chatty", True)]


async def test_two_time_zones_each_get_their_morning(world: World) -> None:
    world.add_posts(2)
    world.clock.now = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    world.subscribe("london", zone="Europe/London")
    world.subscribe("tokyo", zone="Asia/Tokyo")
    deliverer = world.deliverer()
    got: dict[str, list[str]] = {}
    for _ in range(48 * 4):  # two days in 15-minute ticks
        before = len(world.platform.sent)
        world.add_posts(1)
        await deliverer.run_due()
        for sent in world.platform.sent[before:]:
            got.setdefault(sent.channel, []).append(world.clock.now.strftime("%d %H:%M"))
        world.clock.now += timedelta(minutes=15)
    assert got == {"london": ["01 07:00", "02 07:00"], "tokyo": ["01 23:00", "02 23:00"]}


@pytest.mark.parametrize(
    ("start", "when", "expected"),
    [
        # Fall back: 01:30 New York happens twice on 1 Nov 2026; one digest that day.
        (
            datetime(2026, 10, 31, 0, tzinfo=UTC),
            "daily 01:30",
            ["10-31 05:30", "11-01 05:30", "11-02 06:30"],
        ),
        # Spring forward: 02:30 does not exist on 8 Mar 2026; the digest comes at 03:30 EDT.
        (
            datetime(2026, 3, 7, 0, tzinfo=UTC),
            "daily 02:30",
            ["03-07 07:30", "03-08 07:30", "03-09 06:30"],
        ),
    ],
)
async def test_dst_days_get_exactly_one_digest(
    world: World, start: datetime, when: str, expected: list[str]
) -> None:
    world.clock.now = start
    world.subscribe("ny", when=when, zone="America/New_York", skip_empty=False)
    deliverer = world.deliverer()
    seen = []
    for _ in range(3 * 24 * 4):
        before = len(world.platform.sent)
        await deliverer.run_due()
        seen += [world.clock.now.strftime("%m-%d %H:%M")] * (len(world.platform.sent) - before)
        world.clock.now += timedelta(minutes=15)
    assert seen == expected


async def test_a_channel_that_fails_for_good_is_paused_while_others_deliver(world: World) -> None:
    posts = world.add_posts(2)
    for channel in ("A", "gone", "C"):
        world.subscribe(channel)
    world.platform.errors["gone"] = [PermanentDeliveryError("channel_not_found")]
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    deliverer = world.deliverer()
    report = await deliverer.run_due()
    assert report.paused == ["gone"]
    assert sorted(world.platform.posts_to("A")) == sorted(posts)
    assert sorted(world.platform.posts_to("C")) == sorted(posts)
    gone = world.outbox.subscription("chat", "gone")
    assert gone is not None and gone.paused and gone.pause_reason == "channel_not_found"
    assert len(world.platform.told) == 1 and "channel_not_found" in world.platform.told[0][1]

    # Later runs neither try the paused channel nor tell its admin again.
    world.add_posts(1)
    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert world.platform.posts_to("gone") == [] and len(world.platform.told) == 1

    # Resumed, it gets what it was owed: nothing was lost while paused.
    world.outbox.save_subscription("chat", "gone", paused=False, pause_reason="")
    await deliverer.flush()
    assert sorted(world.platform.posts_to("gone")) == sorted(posts)


async def test_transient_errors_back_off_then_deliver_once(world: World) -> None:
    posts = world.add_posts(2)
    world.subscribe("flaky")
    world.platform.errors["flaky"] = [
        TransientDeliveryError("HTTP 503"),
        TransientDeliveryError("rate limited", retry_after=600),
    ]
    deliverer = world.deliverer()
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert (await deliverer.run_due()).retrying == 2
    row = world.outbox.deliveries_for(world.outbox.subscription("chat", "flaky").id)[0]  # type: ignore[union-attr]
    assert row.attempts == 1 and row.last_error == "HTTP 503"
    assert timedelta(seconds=24) <= row.next_attempt_at - world.clock.now <= timedelta(seconds=36)

    await deliverer.flush()  # not yet time: nothing is tried
    assert len(world.platform.errors["flaky"]) == 1

    world.clock.now += timedelta(seconds=40)
    await deliverer.flush()  # second failure asks for 600 s, more than the backoff
    row = world.outbox.deliveries_for(row.subscription_id)[0]
    assert row.next_attempt_at - world.clock.now >= timedelta(seconds=600)

    world.clock.now += timedelta(seconds=601)
    await deliverer.flush()
    await deliverer.flush()
    assert sorted(world.platform.posts_to("flaky")) == sorted(posts)
    assert len(world.platform.sent) == 1


async def test_a_split_digest_resumes_after_the_last_confirmed_message(world: World) -> None:
    posts = world.add_posts(3)
    world.platform.per_message = 1
    world.subscribe("C")
    deliverer = world.deliverer()
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    original_send = world.platform.send
    calls = 0

    async def fail_second(channel: str, message, *, key: str, since=None) -> str:  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            raise TransientDeliveryError("connection reset")
        return await original_send(channel, message, key=key, since=since)

    world.platform.send = fail_second  # type: ignore[method-assign]
    await deliverer.run_due()
    assert len(world.platform.sent) == 1
    world.clock.now += timedelta(minutes=5)
    await deliverer.flush()
    assert sorted(world.platform.posts_to("C")) == sorted(posts)  # each post exactly once
    assert len(world.platform.sent) == 3


async def test_a_hanging_channel_does_not_hold_up_the_others(world: World) -> None:
    world.add_posts(1)
    world.settings = Settings(delivery=DeliverySettings(send_timeout_seconds=0.2))
    for channel in ("stuck", "B", "C"):
        world.subscribe(channel)
    world.platform.hang.add("stuck")
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    report = await world.deliverer().run_due()
    assert {s.channel for s in world.platform.sent} == {"B", "C"}
    assert report.retrying == 1


async def test_after_downtime_a_missed_digest_is_sent_once_within_grace(world: World) -> None:
    posts = world.add_posts(2)
    world.subscribe("daily")
    world.subscribe("hourly", when="hourly")
    # The process was down from 07:00 to 09:30: both missed runs are within the 2 h grace.
    world.clock.now = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    report = await world.deliverer().run_due()
    assert report.claimed == 2
    assert sorted(world.platform.posts_to("daily")) == sorted(posts)
    assert sorted(world.platform.posts_to("hourly")) == sorted(posts)
    assert len(world.platform.sent) == 2  # hourly missed 08:00 and 09:00: one digest, not two
    hourly = world.outbox.subscription("chat", "hourly")
    assert hourly is not None and hourly.next_run_at == datetime(2026, 11, 25, 10, tzinfo=UTC)


async def test_beyond_grace_the_missed_run_is_skipped_and_its_posts_wait(world: World) -> None:
    posts = world.add_posts(2)
    world.subscribe("daily")
    world.clock.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # four hours late
    deliverer = world.deliverer()
    report = await deliverer.run_due()
    assert (report.claimed, report.skipped, world.platform.sent) == (0, 1, [])
    sub = world.outbox.subscription("chat", "daily")
    assert sub is not None and "missed the 2026-11-25 08:00 UTC digest" in sub.last_note
    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert sorted(world.platform.posts_to("daily")) == sorted(posts)


async def test_two_processes_on_one_database_deliver_once(world: World) -> None:
    world.add_posts(3)
    for n in range(5):
        world.subscribe(f"C{n}")
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    other = RecordingPlatform()
    reports = [await world.deliverer().run_due(), await world.deliverer(other).run_due()]
    assert sum(r.claimed for r in reports) == 5
    delivered = world.platform.sent + other.sent
    assert sorted(s.channel for s in delivered) == [f"C{n}" for n in range(5)]


async def test_a_post_reaches_a_channel_at_most_once_even_after_resubscribing(world: World) -> None:
    posts = world.add_posts(2)
    world.subscribe("C")
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    deliverer = world.deliverer()
    await deliverer.run_due()
    # Unsubscribe, and a careless reset of the cursor on resubscribe: the outbox still refuses.
    world.outbox.save_subscription("chat", "C", active=False, next_run_at=None)
    sub = world.subscribe("C", skip_empty=False)
    with world.store.engine.begin() as conn:
        conn.execute(subscriptions.update().where(subscriptions.c.id == sub.id).values(cursor=0))
    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert sorted(world.platform.posts_to("C")) == sorted(posts)
    assert world.platform.sent[-1].empty  # the rerun found nothing it may send again


async def status_of(world: World, channel: str) -> str:
    commands = CommandSet(world.store, world.engine, world.deliverer(), Settings())
    caller = Caller(world.platform.name, "U-someone")
    reply = await commands.handle(Invocation(caller=caller, channel=channel, text="status"))
    return reply.text


async def test_a_rejected_message_is_failed_not_retried_and_later_digests_go(world: World) -> None:
    world.platform.per_message = 1
    posts = world.add_posts(2)  # two messages: the first is rejected, the second goes
    world.subscribe("picky")
    world.subscribe("other")
    world.platform.errors["picky"] = [MessageRejectedError("50035 Invalid Form Body")]
    deliverer = world.deliverer()
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    report = await deliverer.run_due()
    assert (report.rejected, report.retrying, report.paused) == (1, 0, [])
    assert len(world.platform.posts_to("picky")) == 1  # the rest of the digest still went
    assert sorted(world.platform.posts_to("other")) == sorted(posts)
    sub = world.outbox.subscription("chat", "picky")
    assert sub is not None and not sub.paused
    failed = [d for d in world.outbox.deliveries_for(sub.id) if d.status == "failed"]
    assert len(failed) == 1 and failed[0].last_error == "50035 Invalid Form Body"
    [(channel, text)] = world.platform.told
    assert channel == "picky" and "rejected" in text and "50035 Invalid Form Body" in text

    # Never retried, and the channel's next digest is not held behind it.
    world.clock.now += timedelta(hours=2)
    assert (await deliverer.flush()).sent_messages == 0
    new_post = world.add_posts(1)
    world.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert world.platform.posts_to("picky")[-1:] == new_post
    assert failed[0].post_id not in world.platform.posts_to("picky")
    assert "last rejected message: 50035 Invalid Form Body (2026-11-25 08:00 UTC)" in (
        await status_of(world, "picky")
    )


async def test_a_pause_tells_the_configured_admins_of_that_platform(world: World) -> None:
    world.add_posts(1)
    world.subscribe("gone")
    world.outbox.save_subscription("chat", "gone", admin_user="config")  # declared in config.toml
    # "chat" is the test platform, which config.toml cannot name: built without validation.
    admins = CommandSettings.model_construct(
        admins=["chat:U-ops", "slack:U-elsewhere", "chat:U-lead"]
    )
    world.settings = Settings(commands=admins)
    world.platform.errors["gone"] = [PermanentDeliveryError("channel_not_found")]
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert (await world.deliverer().run_due()).paused == ["gone"]
    assert world.platform.told_admins == ["U-ops", "U-lead"]


async def test_a_retry_of_an_unconfirmed_send_says_when_it_first_began(world: World) -> None:
    world.add_posts(1)
    world.subscribe("slow")
    world.platform.errors["slow"] = [TransientDeliveryError("the platform did not answer in time")]
    deliverer = world.deliverer()
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    await deliverer.run_due()
    assert world.platform.retries == [] and world.platform.sent == []  # a first attempt
    world.clock.now += timedelta(minutes=5)
    await deliverer.flush()
    [(key, since)] = world.platform.retries
    assert since == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert world.platform.sent[0].key == key  # the same key as the first attempt


async def test_an_adapter_bug_is_one_log_line_and_the_send_is_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_posts(1)
    world.subscribe("buggy")
    world.platform.errors["buggy"] = [KeyError("channel payload has no 'guild_id'")]  # type: ignore[list-item]
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with caplog.at_level(logging.INFO, logger="bot"):
        report = await world.deliverer().run_due()
    assert report.retrying == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == (
        "chat buggy: send failed: KeyError: \"channel payload has no 'guild_id'\""
    )
    assert record.exc_info is None  # the traceback is for -v, not for the operator's log


async def test_a_renewal_in_flight_when_sending_ends_does_not_keep_the_channel(
    world: World,
) -> None:
    """A lease renewal still in its worker thread when the flush ends must not leave the channel
    leased: else the channel is held for a lease's length by a process done with it (or gone),
    and every other process's sends to it wait that long."""
    if world.store.engine.dialect.name != "postgresql":
        pytest.skip("row locks that a release skips exist on PostgreSQL only")
    world.add_posts(2)
    sub = world.subscribe("C1")
    world.lease_seconds = 0.3
    world.platform.delay = 0.25  # the send outlasts the first renewal's start
    deliverer = world.deliverer()
    renew = deliverer.outbox.renew

    def slow_renew(owner: str, ids: Sequence[int], lease_until: datetime) -> set[int]:
        # A renewal whose transaction holds the rows a while (a slow or busy database).
        with world.store.engine.begin() as conn:
            locked = sa.select(subscriptions.c.id).where(subscriptions.c.id.in_(list(ids)))
            conn.execute(locked.with_for_update())
            time.sleep(0.4)
        return renew(owner, ids, lease_until)

    deliverer.outbox.renew = slow_renew  # type: ignore[method-assign]
    world.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    report = await deliverer.run_due()
    assert report.sent_messages == 1
    with world.store.engine.connect() as conn:
        owner = conn.execute(
            sa.select(subscriptions.c.delivery_owner).where(subscriptions.c.id == sub.id)
        ).scalar_one()
    assert owner is None
