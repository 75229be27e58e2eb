"""A channel declared in config.toml: when a restart moves its next run, and when it leaves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.contract import Caller, Invocation
from bot.app import apply_declared_subscriptions, engine_for
from bot.commands import CommandSet
from bot.config import Settings, parse_settings
from bot.delivery import Deliverer
from briefings.store import Store
from tests.fixtures.platform import RecordingPlatform

MORNING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def declaring(when: str) -> Settings:
    return parse_settings(
        {"subscriptions": [{"platform": "terminal", "channel": "desk", "when": when}]}
    )


@pytest.fixture
async def store(migrated_db_url: str) -> AsyncIterator[Store]:
    opened = Store.open(migrated_db_url)
    yield opened
    opened.close()


async def start(store: Store, settings: Settings, now: datetime) -> datetime | None:
    """What a start of `briefbot run` at `now` leaves as the channel's next run."""
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, {"terminal": RecordingPlatform("terminal")}, settings)
        apply_declared_subscriptions(store, settings, deliverer, now)
        sub = deliverer.outbox.subscription("terminal", "desk")
        assert sub is not None and sub.active
        return sub.next_run_at


async def test_a_restart_keeps_a_missed_run_and_a_changed_schedule_moves_it(store: Store) -> None:
    assert await start(store, declaring("daily 08:00"), MORNING) == MORNING.replace(hour=8)
    # Down over 08:00: the same file keeps the missed run owed (caught up within the grace).
    later = MORNING.replace(hour=8, minute=30)
    assert await start(store, declaring("daily 08:00"), later) == MORNING.replace(hour=8)
    # The file now says 09:00: the next run follows it.
    assert await start(store, declaring("daily 09:00"), later) == MORNING.replace(hour=9)


async def test_once_an_admin_sets_the_schedule_the_file_no_longer_moves_it(store: Store) -> None:
    settings = declaring("daily 08:00")
    await start(store, settings, MORNING)
    async with engine_for(settings, store) as engine:
        deliverer = Deliverer(store, engine, {}, settings, clock=lambda: MORNING)
        commands = CommandSet(store, engine, deliverer, settings)
        admin = Caller(platform="terminal", user_id="me", is_admin=True)
        reply = await commands.handle(
            Invocation(caller=admin, channel="desk", text="schedule set daily 10:00")
        )
        assert reply.ok
    assert await start(store, declaring("daily 09:00"), MORNING) == MORNING.replace(hour=10)
