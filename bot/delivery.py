"""Scheduled digests through the outbox: claim a due run (its deliveries written as pending and the
schedule moved on, in one transaction), then send, marking each message's posts sent as the platform
confirms it.

The guarantees come from the store, not from this process: a run is claimed once whatever the number of
processes, a post reaches a channel at most once (a unique key), and anything claimed but not confirmed
is still pending after a crash, so the next start sends it. A message whose send began is marked so
first; its retry carries the same idempotency key and is told when the first attempt began, so a
platform without idempotency keys (Slack) looks for the message before posting it again.

Failures come in three kinds (see `adapters.contract.DeliveryError`): transient ones back off and the
channel's later runs wait behind them, in order; a channel that cannot be posted to is paused; a
message the platform will never accept is marked failed with its reason and skipped, and the
channel's later messages go on. The people responsible are told of the last two.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from adapters.contract import ChatPlatform, DeliveryError, MessageRejectedError, OutgoingMessage
from bot.config import Settings
from bot.coordination import limiter_for
from bot.outbox_store import OutboxStore, RunClaim
from bot.roundups import RoundupDeliverer
from bot.schedules import Schedule, ScheduleError
from bot.subscriptions import SubscriptionService
from bot.tasks import log_failure
from bot.topics import edited_into
from briefings.engine import BriefingEngine
from briefings.followups import FOLLOW_UP_DAYS, FOLLOW_UP_EARLIER, follow_ups
from briefings.models import Delivery, Digest, Post, Subscription
from briefings.planner import DigestPlan, PostFilter, plan_digest
from briefings.store import DB_ERRORS, Store, db

log = logging.getLogger(__name__)
EPSILON = timedelta(microseconds=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class RunReport:
    claimed: int = 0
    skipped: int = 0
    sent_messages: int = 0
    retrying: int = 0
    paused: list[str] = field(default_factory=list)
    rejected: int = 0  # messages the platform refused for good (their posts marked failed)


def post_filter(sub: Subscription) -> PostFilter:
    """The posts a subscribed channel wants."""
    return PostFilter(sources=sub.sources, tags=sub.tags)


class Deliverer:
    def __init__(
        self,
        store: Store,
        engine: BriefingEngine,
        platforms: Mapping[str, ChatPlatform],
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        hold_seconds: float = 2.0,
        lease_seconds: float = 60.0,
    ) -> None:
        """`settings` is the validated config: this reads `[delivery]`, the default schedule and
        grace of `[schedule]`, `digest.max_items` and `commands.admins` (told, on their platform,
        of pauses and rejections).

        `hold_seconds`: a request still unanswered this long has surely reached the platform, so
        the rate limiter stops holding its place (a slow response must not hold every other
        channel). `lease_seconds`: how long a claim on a channel's outbox lasts unless renewed
        (every third of it while sends go on): how soon another process takes over the channels of
        one that died."""
        self.store = store
        self.settings = settings or Settings()
        self.outbox = OutboxStore(store.engine)
        self.subscriptions = SubscriptionService(self.outbox, self.settings.schedule)
        # Names this Deliverer's claims in the store: unique per process and per instance.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.engine = engine
        self.platforms = dict(platforms)
        self.clock = clock
        self.hold_seconds = hold_seconds
        self.lease_seconds = lease_seconds
        self._limiters = {
            name: limiter_for(store, name, p.requests_per_second, hold=self.hold_seconds)
            for name, p in platforms.items()
        }
        self._flushing = asyncio.Lock()
        # Weekly roundups: their own runs (one per channel and week), sent with each flush.
        self.roundups = RoundupDeliverer(
            store,
            platforms,
            self.settings,
            clock=lambda: self.clock(),
            owner=self.owner,
            lease_seconds=lease_seconds,
        )

    # -- schedules --------------------------------------------------------------------------------

    def schedule_of(self, sub: Subscription) -> Schedule:
        return self.subscriptions.schedule_of(sub)

    # -- planning ---------------------------------------------------------------------------------

    async def plan(self, sub: Subscription, newest_id: int | None = None) -> DigestPlan:
        """What a digest for `sub` would carry now: its unseen posts, newest first, capped."""
        if newest_id is None:
            newest_id = await db(self.store.max_post_id)
        also = await db(edited_into, self.store, self.outbox, sub, newest_id) if sub.tags else []
        return await db(
            plan_digest,
            self.store,
            sub.cursor,
            max_items=self.settings.digest.max_items,
            only=post_filter(sub),
            newest_id=newest_id,
            also=also,
        )

    async def preview(self, sub: Subscription) -> Digest:
        """Exactly what the next run would post if it ran now, without recording anything."""
        plan = await self.plan(sub)
        return await self.engine.digest_of(plan.posts, plan.notes)

    # -- due runs ---------------------------------------------------------------------------------

    async def run_due(
        self, now: datetime | None = None, *, only: int | None = None, flush: bool = True
    ) -> RunReport:
        """Claim every due run (catching up once after downtime), then send what is owed."""
        now = now or self.clock()
        report = RunReport()
        due = await db(self.outbox.due_subscriptions, now, only=only)
        # One view of the posts for every run claimed now (read only when a run is due).
        newest_id = await db(self.store.max_post_id) if due else 0
        plans: dict[tuple[int, PostFilter, int], DigestPlan] = {}  # channels alike share one plan
        claims: list[RunClaim] = []
        for sub in due:
            if sub.platform not in self.platforms:
                continue  # its adapter is not running here: left due for one that is
            # A topic channel's plan also depends on what it was sent (`edited_into`): its own.
            key = (sub.cursor, post_filter(sub), sub.id if sub.tags else 0)
            if key not in plans:
                plans[key] = await self.plan(sub, newest_id)
            claim = await self._claim(sub, now, plans[key])
            if claim is None:
                report.skipped += 1
            else:
                claims.append(claim)
        if claims:
            report.claimed = sum(await db(self.outbox.claim_runs, claims, now))
        if flush:
            sent = await self.flush(now)
            report.sent_messages, report.retrying = sent.sent_messages, sent.retrying
            report.paused, report.rejected = sent.paused, sent.rejected
        return report

    async def _claim(self, sub: Subscription, now: datetime, plan: DigestPlan) -> RunClaim | None:
        """The run to claim for a due subscription, or None when it is skipped (or unusable)."""
        assert sub.next_run_at is not None
        try:
            schedule = self.schedule_of(sub)
        except ScheduleError as exc:
            await self._pause(sub, f"its schedule cannot be used: {exc}")
            return None
        due = sub.next_run_at
        grace_start = now - timedelta(minutes=self.settings.schedule.grace_minutes)
        recent = schedule.latest_fire(max(due, grace_start) - EPSILON, now)
        run_at = recent or (due if due >= grace_start else None)
        following = schedule.next_fire(now)
        if run_at is None:
            when = due.astimezone(schedule.zone).strftime("%Y-%m-%d %H:%M %Z")
            note = (
                f"missed the {when} digest while offline for longer than the grace period; "
                "its posts go in the next one"
            )
            log.warning("%s %s: %s", sub.platform, sub.channel, note)
            await db(self.outbox.skip_run, sub, next_run_at=following, note=note, now=now)
            return None
        return RunClaim(
            subscription=sub,
            run_at=run_at,
            next_run_at=following,
            post_ids=tuple(p.id for p in plan.posts),
            cursor=plan.cursor,
            notice=not sub.skip_empty,
            note=plan.note,
        )

    # -- sending ----------------------------------------------------------------------------------

    async def flush(self, now: datetime | None = None) -> RunReport:
        """Send every pending delivery whose time has come, page after page until no channel this
        process may claim is left owed; channels concurrently, each channel's runs in order.

        A channel is claimed (leased in the store) before it is sent to, so however many
        processes flush at once, each channel's messages go out from one of them. The report
        counts messages sent, deliveries left to retry (failed and waiting, or due and held by
        no process), channels paused and messages rejected."""
        async with self._flushing:
            now = now or self.clock()
            report = RunReport()
            claims = _Claims(now)
            heartbeat = asyncio.ensure_future(self._renew_leases(claims))
            try:
                await self._send_claimed(now, claims, report)
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
                # A renewal left running in its thread would lock the rows the release skips
                # (SKIP LOCKED), then lease them again: wait for it first.
                if claims.renewing is not None:
                    await asyncio.gather(claims.renewing, return_exceptions=True)
                # Also when cancelled at stop: the release runs to its end in its thread even if
                # this wait is cancelled too, so no channel is left held.
                # Every channel taken, not only those still held: a release at a claim can have
                # skipped a row another transaction had locked.
                await db(self.outbox.release, self.owner, sorted(claims.taken))
            report.retrying = await db(
                self.outbox.left_owed,
                self.owner,
                platforms=list(self.platforms),
                due_at=now,
                now=self.clock(),
            )
            roundup_sent, roundup_retrying = await self.roundups.run(now)
            report.sent_messages += roundup_sent
            report.retrying += roundup_retrying
        return report

    async def _send_claimed(self, now: datetime, claims: _Claims, report: RunReport) -> None:
        """Claim channels as sending slots free up (refilling at half the concurrency, so the
        claims are few), send each claimed channel's owed runs, until nothing is left to claim."""
        running: dict[asyncio.Future[_Progress], int] = {}
        try:
            await self._claim_and_send(now, claims, report, running)
        finally:  # stopped: sends still in flight stay owed (unconfirmed, with their keys)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _claim_and_send(
        self,
        now: datetime,
        claims: _Claims,
        report: RunReport,
        running: dict[asyncio.Future[_Progress], int],
    ) -> None:
        digests: _DigestCache = {}
        slots = self.settings.delivery.concurrency
        while True:
            if len(running) <= slots // 2:
                page = await db(
                    self.outbox.claim_channels,
                    self.owner,
                    platforms=list(self.platforms),
                    due_at=now,
                    now=self.clock(),
                    lease_until=self._lease_end(),
                    limit=slots - len(running),
                    release=sorted(claims.finished),
                )
                claims.held -= claims.finished
                claims.finished.clear()
                for sub, rows in page:
                    claims.held.add(sub.id)
                    claims.taken.add(sub.id)
                    task = asyncio.ensure_future(
                        self._send_subscription(sub, rows, claims, digests)
                    )
                    running[task] = sub.id
                if not running:
                    return
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                claims.finished.add(running.pop(finished))
                progress = finished.result()
                report.sent_messages += progress.messages
                report.rejected += progress.rejected
                if progress.paused:
                    report.paused.append(progress.paused)

    def _lease_end(self) -> datetime:
        return self.clock() + timedelta(seconds=self.lease_seconds)

    async def _renew_leases(self, claims: _Claims) -> None:
        """Keep this process's channels while their sends go on (a send may outlast a lease); a
        channel whose lease was lost anyway (this process stalled past it) is noted, and its
        sending stops before the next message."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            mine = sorted(claims.held - claims.finished)
            if not mine:
                continue
            try:
                claims.renewing = asyncio.ensure_future(
                    db(self.outbox.renew, self.owner, mine, self._lease_end())
                )
                kept = await asyncio.shield(claims.renewing)
            except DB_ERRORS as exc:
                log_failure(log, exc, "renewing delivery leases (trying again)")
                continue
            for lost in set(mine) - kept:
                if lost not in claims.lost:
                    log.warning(
                        "delivery lease on subscription %d lost; another process has it", lost
                    )
                claims.lost.add(lost)

    async def _send_subscription(
        self,
        sub: Subscription,
        rows: list[Delivery],
        claims: _Claims,
        digests: _DigestCache,
    ) -> _Progress:
        """Send one channel's owed runs in order; stop at the first transient failure (order is
        kept), when the channel is unusable, or when its lease was lost. A rejected message does
        not stop the rest."""
        progress = _Progress()
        platform = self.platforms[sub.platform]
        runs: dict[datetime, list[Delivery]] = {}
        for row in rows:
            runs.setdefault(row.run_at, []).append(row)
        for run_rows in runs.values():
            try:
                await self._send_run(sub, platform, run_rows, progress, digests, claims)
            except _LeaseLost:
                return progress  # the new holder sends the rest, with the same keys
            except DeliveryError as exc:
                left = [r for r in rows if r.id not in progress.done]
                if exc.permanent:
                    if await self._pause(sub, exc.reason):
                        await self._tell_admins(platform, sub, _paused_text(sub, exc.reason))
                    progress.paused = sub.channel
                    return progress
                after = max(claims.now, self.clock())  # never again within this flush
                await self._retry_later(left, exc.reason, exc.retry_after, after)
                progress.retrying = len(left)
                return progress
        return progress

    async def _send_run(
        self,
        sub: Subscription,
        platform: ChatPlatform,
        rows: list[Delivery],
        progress: _Progress,
        digests: _DigestCache,
        claims: _Claims,
    ) -> None:
        by_post = {r.post_id: r for r in rows}
        notes = tuple(r.note for r in rows if r.note)
        post_ids = tuple(sorted(p for p in by_post if p is not None))
        earlier = await self._earlier(sub, post_ids)
        key = (post_ids, notes, sub.tags, earlier)
        if key not in digests:  # channels owed the same posts (filters, history) share one digest
            digests[key] = asyncio.ensure_future(self._digest(post_ids, notes, earlier))
        digest = await digests[key]
        unclaimed = [r for r in rows if r.post_id is None]  # a "nothing new" notice rides first
        for message in platform.render_digest(digest):
            if sub.id in claims.lost:
                raise _LeaseLost
            owed = [by_post[p] for p in message.post_ids if p in by_post] + unclaimed
            unclaimed = []
            try:
                message_id = await self._send_one(sub, platform, message, owed)
            except MessageRejectedError as exc:
                await self._reject(sub, platform, owed, exc.reason)
                progress.rejected += 1
            else:
                # Off the event loop: other channels' responses are read while this commits.
                await db(self.outbox.mark_sent, [r.id for r in owed], message_id, self.clock())
                progress.messages += 1
            progress.done.update(r.id for r in owed)

    async def _earlier(self, sub: Subscription, post_ids: tuple[int, ...]) -> tuple[int, ...]:
        """Posts sent to the channel lately that a new one may follow up (none for no new)."""
        if not post_ids:
            return ()
        since = self.clock() - timedelta(days=FOLLOW_UP_DAYS)
        sent = await db(self.outbox.sent_since, sub.platform, sub.channel, since, FOLLOW_UP_EARLIER)
        return tuple(sorted(set(sent) - set(post_ids)))

    async def _digest(
        self, post_ids: tuple[int, ...], notes: tuple[str, ...], earlier: tuple[int, ...] = ()
    ) -> Digest:
        posts = await db(self.store.posts_by_ids, post_ids)
        posts.sort(key=_newest_first)
        digest = await self.engine.digest_of(posts, notes)
        if not earlier:
            return digest
        before = await db(self.store.posts_by_ids, earlier)
        found = await asyncio.to_thread(follow_ups, posts, before)  # stemming: off the loop
        if not found:
            return digest
        items = tuple(
            replace(
                item,
                follows_up_title=found[item.post_id].title,
                follows_up_url=found[item.post_id].url,
            )
            if item.post_id in found
            else item
            for item in digest.items
        )
        return replace(digest, items=items)

    async def _send_one(
        self,
        sub: Subscription,
        platform: ChatPlatform,
        message: OutgoingMessage,
        owed: Sequence[Delivery],
    ) -> str:
        limiter = self._limiters.get(platform.name)
        key = _idempotency_key(sub, message, owed)
        began = [r.first_attempt_at for r in owed if r.first_attempt_at is not None]
        since = min(began) if began else None  # an earlier flush tried it and never confirmed
        try:
            async with limiter.slot() if limiter else contextlib.nullcontext():
                return await asyncio.wait_for(
                    platform.send(sub.channel, message, key=key, since=since),
                    self.settings.delivery.send_timeout_seconds,
                )
        except DeliveryError:
            raise
        except TimeoutError:
            raise DeliveryError("the platform did not answer in time") from None
        except Exception as exc:  # an adapter bug or an unexpected library error: retry, log it
            log_failure(log, exc, f"{sub.platform} {sub.channel}: send")
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    async def _reject(
        self, sub: Subscription, platform: ChatPlatform, owed: Sequence[Delivery], reason: str
    ) -> None:
        """The platform will never take this message: its posts are failed (never retried, never
        sent again), and the people responsible are told."""
        log.warning("%s %s: message rejected for good: %s", sub.platform, sub.channel, reason)
        await db(self.outbox.mark_failed, [r.id for r in owed], reason, self.clock())
        text = (
            f"A briefing message to channel {sub.channel} was rejected by {platform.name} and "
            f"will not be retried: {reason}. Its {len(owed)} post(s) were not delivered there; "
            "later briefings go on. `status` in that channel shows the last rejection."
        )
        await self._tell_admins(platform, sub, text)

    async def _retry_later(
        self, rows: list[Delivery], reason: str, retry_after: float | None, after: datetime
    ) -> None:
        if not rows:
            return
        s = self.settings.delivery
        attempts = max(r.attempts for r in rows)
        delay = min(s.retry_max_seconds, s.retry_base_seconds * 2**attempts)
        delay = max(delay * random.uniform(0.8, 1.2), retry_after or 0.0)
        log.warning(
            "%s %s: delivery failed (%s); retrying in %.0f s",
            rows[0].platform,
            rows[0].channel,
            reason,
            delay,
        )
        await db(
            self.outbox.mark_retry, [r.id for r in rows], reason, after + timedelta(seconds=delay)
        )

    async def _pause(self, sub: Subscription, reason: str) -> bool:
        newly = await db(self.outbox.pause_subscription, sub.id, reason)
        if newly:
            log.warning("%s %s: paused: %s", sub.platform, sub.channel, reason)
        return newly

    def admins_of(self, platform: str) -> tuple[str, ...]:
        """The configured admins' user ids on `platform` (from "platform:user_id")."""
        found = []
        for entry in self.settings.commands.admins:
            name, _, user = entry.partition(":")
            if name == platform and user:
                found.append(user)
        return tuple(found)

    async def _tell_admins(self, platform: ChatPlatform, sub: Subscription, text: str) -> None:
        try:
            await platform.tell_admins(sub, text, self.admins_of(sub.platform))
        except Exception as exc:  # telling is best effort; the pause or rejection is in `status`
            log_failure(log, exc, f"{sub.platform} {sub.channel}: telling the admins")


def _paused_text(sub: Subscription, reason: str) -> str:
    # Only the call that paused the channel gets here (pause_subscription returned True once).
    return (
        f"Briefings to channel {sub.channel} are paused: {reason}. Nothing is lost; "
        "once the bot can post there again, run `subscribe` in that channel to resume."
    )


def _newest_first(post: Post) -> tuple[float, int]:
    moment = post.published or post.first_seen
    return (-moment.timestamp(), -post.id)


# (posts, notes, tag filters, the channel's recent posts a new one may follow up) -> the digest
_DigestCache = dict[
    tuple[tuple[int, ...], tuple[str, ...], tuple[str, ...], tuple[int, ...]],
    "asyncio.Future[Digest]",
]


class _LeaseLost(Exception):
    """This process's lease on the channel ran out and another process took it over."""


@dataclass(slots=True)
class _Claims:
    """The channels one flush holds, those it is done with (released at the next claim), and
    those whose lease it lost."""

    now: datetime  # the flush's time: rows due by it are sent, a failed one waits from it
    held: set[int] = field(default_factory=set)
    finished: set[int] = field(default_factory=set)
    lost: set[int] = field(default_factory=set)
    taken: set[int] = field(default_factory=set)  # every channel claimed, released at the end
    renewing: asyncio.Future[set[int]] | None = None  # the last lease renewal, maybe running


@dataclass(slots=True)
class _Progress:
    done: set[int] = field(default_factory=set)  # delivery ids settled: confirmed or rejected
    messages: int = 0
    rejected: int = 0
    retrying: int = 0
    paused: str = ""  # the channel, when it was paused


def _idempotency_key(sub: Subscription, message: OutgoingMessage, owed: Sequence[Delivery]) -> str:
    ids = ",".join(str(r.id) for r in sorted(owed, key=lambda r: r.id))
    raw = f"{sub.platform}:{sub.channel}:{ids}:{len(message.post_ids)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:25]
