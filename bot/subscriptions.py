"""The one place a channel's subscription is changed: saved, then its next run kept in step.

Chat commands, the `[[subscriptions]]` of config.toml and the tests all go through `save`, so the
rule for when a channel's next run is recomputed is written once: when the subscription becomes
active, when its schedule or time zone changes, when it is active with no next run, or when the
caller asks (`schedule set`). An inactive subscription has no next run. Claiming a run moves the
next run on by itself (`OutboxStore.claim_runs`), so delivery does not come through here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import ScheduleSettings
from bot.outbox_store import OutboxStore
from bot.schedules import Schedule, parse_schedule
from briefings.models import Subscription


class SubscriptionService:
    def __init__(self, outbox: OutboxStore, defaults: ScheduleSettings) -> None:
        self.outbox = outbox
        self.defaults = defaults  # the schedule of channels that set none

    def schedule_of(self, sub: Subscription) -> Schedule:
        """The channel's own schedule, else the configured default (raises ScheduleError)."""
        return parse_schedule(
            sub.schedule or self.defaults.when, sub.timezone or self.defaults.timezone
        )

    def next_run_after(self, sub: Subscription, moment: datetime) -> datetime | None:
        return self.schedule_of(sub).next_fire(moment)

    def save(
        self,
        platform: str,
        channel: str,
        now: datetime,
        *,
        reschedule: bool = False,
        **changes: Any,
    ) -> Subscription:
        """Apply `changes` (OutboxStore subscription fields) to the channel's subscription,
        creating it if needed, and set its next run per the rule above. Blocking: call through
        `db()` from async code."""
        before = self.outbox.subscription(platform, channel)
        sub = self.outbox.save_subscription(platform, channel, **changes)
        if not sub.active:
            if sub.next_run_at is not None:
                sub = self.outbox.save_subscription(platform, channel, next_run_at=None)
            return sub
        moved = (
            before is None
            or not before.active
            or (before.schedule, before.timezone) != (sub.schedule, sub.timezone)
        )
        if reschedule or moved or sub.next_run_at is None:
            sub = self.outbox.save_subscription(
                platform, channel, next_run_at=self.next_run_after(sub, now)
            )
        return sub
