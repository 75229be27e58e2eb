"""Weekly roundups sent on schedule: the week's posts grouped into stories (briefings/roundup.py),
drawn by each platform's `render_roundup`, sent once per (channel, run).

Apart from the digest outbox on purpose: a roundup re-lists posts digests already delivered, which
that outbox's key (a post reaches a channel once) would refuse. A run's identity is its channel and
run time; its posts are fixed when it is claimed; each message is marked sent as the platform
confirms it, with an idempotency key of its own (the run and the part), so a restart neither
repeats a confirmed part nor drops the rest, and a part in flight at a crash is looked for (Slack)
or deduplicated by its nonce (Discord) before it goes again."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.contract import (
    ChatPlatform,
    DeliveryError,
    MessageRejectedError,
    OutgoingMessage,
    PermanentDeliveryError,
)
from bot.config import Settings
from bot.roundup_store import RoundupRun, RoundupStore, RoundupSubscription
from bot.schedules import Schedule, parse_schedule
from bot.tasks import log_failure
from briefings.models import Subscription
from briefings.roundup import Roundup, build_roundup
from briefings.store import Store, db

log = logging.getLogger(__name__)

ROUNDUP_DAYS = 7


def render_roundup(platform: ChatPlatform, roundup: Roundup) -> list[OutgoingMessage] | None:
    """The platform's messages for `roundup`; None for a platform that draws no roundups."""
    render: Callable[[Roundup], list[OutgoingMessage]] | None = getattr(
        platform, "render_roundup", None
    )
    return None if render is None else render(roundup)


class RoundupDeliverer:
    def __init__(
        self,
        store: Store,
        platforms: Mapping[str, ChatPlatform],
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        owner: str,
        lease_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.roundups = RoundupStore(store.engine)
        self.platforms = dict(platforms)
        self.settings = settings
        self.clock = clock
        self.owner = owner
        self.lease_seconds = lease_seconds

    def schedule_of(self, sub: RoundupSubscription) -> Schedule:
        return parse_schedule(sub.schedule, sub.timezone or self.settings.schedule.timezone)

    async def run(self, now: datetime | None = None) -> tuple[int, int]:
        """Claim the roundups due, send what is owed; (messages sent, runs left to retry)."""
        now = now or self.clock()
        await self._claim_due(now)
        sent = retrying = 0
        runs = await db(
            self.roundups.claim_owed,
            self.owner,
            now,
            now + timedelta(seconds=self.lease_seconds),
            tuple(self.platforms),
        )
        for run in runs:
            messages, done = await self._send(run, now)
            sent += messages
            retrying += 0 if done else 1
        return sent, retrying

    async def _claim_due(self, now: datetime) -> None:
        grace = timedelta(minutes=self.settings.schedule.grace_minutes)
        for sub in await db(self.roundups.due, now, tuple(self.platforms)):
            assert sub.next_run_at is not None
            following = self.schedule_of(sub).next_fire(now)
            run_at = sub.next_run_at
            if run_at < now - grace:  # missed while offline for long: the next one will do
                log.warning("%s %s: a missed roundup skipped", sub.platform, sub.channel)
                await db(
                    self.roundups.claim_run,
                    sub,
                    run_at=run_at,
                    since=run_at,
                    post_ids=(),  # an empty run: recorded, sends nothing
                    next_run_at=following,
                    now=now,
                )
                continue
            since = run_at - timedelta(days=ROUNDUP_DAYS)
            posts = await db(self.store.posts_between, since, run_at, sources=sub.sources)
            await db(
                self.roundups.claim_run,
                sub,
                run_at=run_at,
                since=since,
                post_ids=tuple(p.id for p in posts),
                next_run_at=following,
                now=now,
            )

    async def _send(self, run: RoundupRun, now: datetime) -> tuple[int, bool]:
        """Send the run's parts from the first unconfirmed one; (parts sent, run finished)."""
        platform = self.platforms[run.platform]
        posts = await db(self.store.posts_by_ids, list(run.post_ids))
        roundup = build_roundup(posts, run.since, run.run_at)
        messages = render_roundup(platform, roundup) or []
        if roundup.empty or not messages:  # nothing published that week: nothing to say
            await db(self.roundups.settle, run.id, status="sent", sent_at=now)
            return 0, True
        sent = 0
        for part in range(run.sent_parts, len(messages)):
            key = hashlib.sha256(f"roundup:{run.id}:{part}".encode()).hexdigest()[:25]
            since = run.first_attempt_at if part == run.sent_parts else None
            await db(self.roundups.attempt, run.id, now)
            try:
                await asyncio.wait_for(
                    platform.send(run.channel, messages[part], key=key, since=since),
                    self.settings.delivery.send_timeout_seconds,
                )
            except (DeliveryError, TimeoutError, Exception) as exc:
                await self._failed(run, exc, now)
                return sent, False
            await db(self.roundups.part_sent, run.id, part, len(messages), self.clock())
            sent += 1
        return sent, True

    async def _tell_admins(self, roundup: RoundupSubscription, reason: str, now: datetime) -> None:
        """Once, when the roundup is paused: whoever set it up and the platform's configured
        admins, as for a paused digest channel (best effort; `status` and Home show it too)."""
        text = (
            f"The weekly roundup in channel {roundup.channel} is paused: {reason}. Once the bot "
            "can post there again, run `resume roundup` in that channel."
        )
        admins = tuple(
            user
            for name, _, user in (a.partition(":") for a in self.settings.commands.admins)
            if name == roundup.platform and user
        )
        try:
            await self.platforms[roundup.platform].tell_admins(
                _as_subscription(roundup, now), text, admins
            )
        except Exception as exc:
            log_failure(log, exc, f"{roundup.platform} {roundup.channel}: telling the admins")

    async def _failed(self, run: RoundupRun, exc: BaseException, now: datetime) -> None:
        reason = str(exc) or type(exc).__name__
        fields: dict[str, Any] = {"last_error": reason}
        if isinstance(exc, PermanentDeliveryError):
            paused = await db(self.roundups.pause, run.roundup_id, reason)
            if paused is not None:
                await self._tell_admins(paused, reason, now)
            fields["status"] = "failed"
        elif isinstance(exc, MessageRejectedError):
            fields["status"] = "failed"
        else:
            if not isinstance(exc, DeliveryError | TimeoutError):
                log_failure(log, exc, f"{run.platform} {run.channel}: roundup send")
            s = self.settings.delivery
            delay = min(s.retry_max_seconds, s.retry_base_seconds * 2**run.attempts)
            retry_after = getattr(exc, "retry_after", None) or 0.0
            delay = max(delay * random.uniform(0.8, 1.2), retry_after)
            fields.update(attempts=run.attempts + 1, next_attempt_at=now + timedelta(seconds=delay))
        log.warning("%s %s: roundup not sent: %s", run.platform, run.channel, reason)
        await db(self.roundups.settle, run.id, **fields)


def _as_subscription(roundup: RoundupSubscription, now: datetime) -> Subscription:
    """The roundup as the channel record `ChatPlatform.tell_admins` takes (who set it up, where)."""
    return Subscription(
        id=roundup.id,
        platform=roundup.platform,
        channel=roundup.channel,
        workspace=roundup.workspace,
        sources=roundup.sources,
        active=True,
        schedule=roundup.schedule,
        timezone=roundup.timezone,
        skip_empty=True,
        next_run_at=roundup.next_run_at,
        cursor=0,
        paused=True,
        pause_reason=roundup.pause_reason,
        admin_user=roundup.admin_user,
        last_run_at=None,
        last_note="",
        created_at=now,
        updated_at=now,
    )
