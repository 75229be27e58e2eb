"""The outbox's tables as the bot uses them: subscriptions (who gets digests, when) and deliveries
(each post owed to each channel), over the same database engine as `briefings.store.Store`.

The tables are declared in bot/tables.py and migrated by the bot's own Alembic branch
(bot/migrations/), which opening an OutboxStore brings to its head; the queries live here.

Several processes may share one database. A channel's owed deliveries are sent by one process at a
time: `claim_channels` gives a process a lease on the channels it will send (owner and expiry on the
subscription row), in one transaction that other processes' claims skip past (PostgreSQL: `FOR UPDATE
SKIP LOCKED`; SQLite: one conditional UPDATE, which runs under the database's single write lock).
A lease is renewed while its sends go on and released when they are done; a process that dies keeps
its channels only until the lease runs out, and then any other process takes them over.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.tables import deliveries, ensure_schema, subscriptions
from briefings.models import Delivery, Subscription
from briefings.store import StoreError

_SUBSCRIPTION_COLUMNS = tuple(f.name for f in dataclasses.fields(Subscription))
_CHUNK = 500  # ids per IN list: within every backend's bound-parameter limit


SUBSCRIPTION_FIELDS = frozenset(
    {
        "workspace",
        "sources",
        "active",
        "schedule",
        "timezone",
        "skip_empty",
        "next_run_at",
        "paused",
        "pause_reason",
        "admin_user",
        "last_note",
        "tags",
    }
)


@dataclass(frozen=True, slots=True)
class RunClaim:
    """One scheduled run to record: the posts it owes a channel, and where its schedule goes next."""

    subscription: Subscription
    run_at: datetime
    next_run_at: datetime | None
    post_ids: tuple[int, ...]
    cursor: int  # the newest post id the run considered
    notice: bool  # with no posts, owe a "nothing new" message
    note: str = ""


class OutboxStore:
    """Subscriptions and the delivery outbox. Methods are short transactions; safe to share."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        ensure_schema(engine)  # the bot's tables, at their newest revision

    def subscription(self, platform: str, channel: str) -> Subscription | None:
        query = sa.select(subscriptions).where(
            subscriptions.c.platform == platform, subscriptions.c.channel == channel
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _to_subscription(row)

    def subscription_by_id(self, subscription_id: int) -> Subscription | None:
        query = sa.select(subscriptions).where(subscriptions.c.id == subscription_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _to_subscription(row)

    def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        query = sa.select(subscriptions).order_by(subscriptions.c.id)
        if active_only:
            query = query.where(subscriptions.c.active.is_(True))
        with self.engine.connect() as conn:
            return [_to_subscription(row) for row in conn.execute(query).mappings()]

    def save_subscription(
        self, platform: str, channel: str, *, create: bool = True, **changes: Any
    ) -> Subscription:
        """Update a channel's subscription, creating it (when `create`) if it has none.

        A channel keeps one row for life, through unsubscribe and resubscribe, so its cursor and
        delivery history (and so "never the same post twice") survive.
        """
        unknown = set(changes) - SUBSCRIPTION_FIELDS
        if unknown:
            raise ValueError(f"not subscription fields: {sorted(unknown)}")
        if "sources" in changes:
            changes["sources"] = sorted(set(changes["sources"]))
        if "tags" in changes:
            changes["tags"] = sorted(set(changes["tags"]))
        now = _utc_now()
        where = (subscriptions.c.platform == platform, subscriptions.c.channel == channel)
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(subscriptions.c.id).where(*where)).scalar()
            if found is None and create:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            subscriptions.insert().values(
                                platform=platform,
                                channel=channel,
                                created_at=now,
                                updated_at=now,
                                **changes,
                            )
                        )
                except sa.exc.IntegrityError:
                    found = 0  # another process created it meanwhile: update theirs
            if found is not None:
                conn.execute(subscriptions.update().where(*where).values(updated_at=now, **changes))
        sub = self.subscription(platform, channel)
        if sub is None:
            raise StoreError(f"{platform} channel {channel} has no subscription")
        return sub

    def due_subscriptions(self, now: datetime, *, only: int | None = None) -> list[Subscription]:
        """Active, unpaused subscriptions whose next run has come (or just subscription `only`)."""
        query = _DUE if only is None else _DUE.where(subscriptions.c.id == only)
        with self.engine.connect() as conn:
            return [_to_subscription(row) for row in conn.execute(query, {"now": now}).mappings()]

    def claim_runs(self, claims: Sequence[RunClaim], now: datetime) -> list[bool]:
        """Record runs' deliveries as pending and move their schedules on, in one transaction.

        A run is claimed only while its subscription's `next_run_at` is still the one it was read
        with, so when two processes see the same due run, one claims it and the other is told
        False. Posts already delivered to the channel are left out; `notice` adds a "nothing new"
        row instead when nothing is left. One transaction for the lot: a minute in which a thousand
        channels are due commits once, not a thousand times.
        """
        claimed: list[bool] = []
        rows: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for claim in claims:
                sub = claim.subscription
                moved = conn.execute(
                    subscriptions.update()
                    .where(
                        subscriptions.c.id == sub.id,
                        _same_time(subscriptions.c.next_run_at, sub.next_run_at),
                    )
                    .values(
                        next_run_at=claim.next_run_at,
                        cursor=max(sub.cursor, claim.cursor),
                        last_run_at=claim.run_at,
                        last_note="",
                        updated_at=now,
                    )
                ).rowcount
                claimed.append(moved == 1)
                if moved != 1:
                    continue
                already = _delivered(conn, sub.platform, sub.channel, claim.post_ids)
                owed: list[int | None] = [p for p in claim.post_ids if p not in already]
                if not owed and claim.notice:
                    owed = [None]
                rows.extend(
                    {
                        "subscription_id": sub.id,
                        "platform": sub.platform,
                        "channel": sub.channel,
                        "post_id": post_id,
                        "run_at": claim.run_at,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "note": claim.note if i == 0 else "",
                    }
                    for i, post_id in enumerate(owed)
                )
            if rows:
                conn.execute(deliveries.insert(), rows)
        return claimed

    def skip_run(
        self, sub: Subscription, *, next_run_at: datetime | None, note: str, now: datetime
    ) -> bool:
        """Move the schedule on without a run (missed beyond the grace period), keeping a note."""
        with self.engine.begin() as conn:
            moved = conn.execute(
                subscriptions.update()
                .where(
                    subscriptions.c.id == sub.id,
                    _same_time(subscriptions.c.next_run_at, sub.next_run_at),
                )
                .values(next_run_at=next_run_at, last_note=note, updated_at=now)
            ).rowcount
        return bool(moved == 1)

    def pause_subscription(self, subscription_id: int, reason: str) -> bool:
        """Pause deliveries to a channel; True only for the call that paused it (tell admins once)."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                subscriptions.update()
                .where(subscriptions.c.id == subscription_id, subscriptions.c.paused.is_(False))
                .values(paused=True, pause_reason=reason, updated_at=_utc_now())
            ).rowcount
        return bool(changed == 1)

    # -- deliveries -------------------------------------------------------------------------------

    def deliveries_for(self, subscription_id: int) -> list[Delivery]:
        query = (
            sa.select(deliveries)
            .where(deliveries.c.subscription_id == subscription_id)
            .order_by(deliveries.c.id)
        )
        with self.engine.connect() as conn:
            return [_to_delivery(row) for row in conn.execute(query).mappings()]

    def posts_in_message(self, platform: str, channel: str, message_id: str) -> list[int]:
        """The posts a delivered message carried (a thread under it is about them)."""
        if not message_id:
            return []
        query = sa.select(deliveries.c.post_id).where(
            deliveries.c.platform == platform,
            deliveries.c.channel == channel,
            deliveries.c.message_id == message_id,
            deliveries.c.status == "sent",
        )
        with self.engine.connect() as conn:
            return [int(p) for p in conn.execute(query).scalars() if p is not None]

    def is_delivered_message(self, platform: str, channel: str, message_id: str) -> bool:
        if not message_id:
            return False
        query = (
            sa.select(deliveries.c.id)
            .where(
                deliveries.c.platform == platform,
                deliveries.c.channel == channel,
                deliveries.c.message_id == message_id,
            )
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def delivered_post_ids(self, platform: str, channel: str, post_ids: Sequence[int]) -> set[int]:
        """Which of these posts the channel has been owed or sent already (any status)."""
        with self.engine.connect() as conn:
            return _delivered(conn, platform, channel, post_ids)

    def sent_since(self, platform: str, channel: str, since: datetime, limit: int) -> list[int]:
        """The posts confirmed sent to the channel since `since`, newest sends first (at most
        `limit`): what a new post may follow up (briefings/followups.py)."""
        query = (
            sa.select(deliveries.c.post_id)
            .where(
                (deliveries.c.platform == platform)
                & (deliveries.c.channel == channel)
                & (deliveries.c.status == "sent")
                & (deliveries.c.sent_at >= since)
                & deliveries.c.post_id.is_not(None)
            )
            .order_by(deliveries.c.sent_at.desc(), deliveries.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [int(p) for p in conn.execute(query).scalars()]

    def last_delivery(self, subscription_id: int) -> Delivery | None:
        return self._latest(subscription_id, "sent", deliveries.c.sent_at)

    def mark_sent(self, delivery_ids: Sequence[int], message_id: str, at: datetime) -> None:
        self._settle(delivery_ids, status="sent", message_id=message_id, sent_at=at, last_error="")

    def mark_failed(self, delivery_ids: Sequence[int], reason: str, at: datetime) -> None:
        """The platform rejected these rows' message for good: never retried, the reason kept.
        Their posts stay recorded for the channel, so no later run sends them either."""
        self._settle(
            delivery_ids,
            status="failed",
            attempts=deliveries.c.attempts + 1,
            last_error=reason[:500],
            failed_at=at,
        )

    def last_failure(self, subscription_id: int) -> Delivery | None:
        """The channel's most recent delivery whose message the platform rejected, if any."""
        return self._latest(subscription_id, "failed", deliveries.c.failed_at)

    def _latest(self, subscription_id: int, status: str, moment: sa.Column[Any]) -> Delivery | None:
        query = (
            sa.select(deliveries)
            .where(deliveries.c.subscription_id == subscription_id, deliveries.c.status == status)
            .order_by(moment.desc(), deliveries.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _to_delivery(row)

    def mark_retry(
        self, delivery_ids: Sequence[int], error: str, next_attempt_at: datetime
    ) -> None:
        self._settle(
            delivery_ids,
            attempts=deliveries.c.attempts + 1,
            last_error=error[:500],
            next_attempt_at=next_attempt_at,
        )

    def _settle(self, delivery_ids: Sequence[int], **values: Any) -> None:
        """Update rows still pending (a row already sent or failed is never changed back)."""
        if not delivery_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(list(delivery_ids)), deliveries.c.status == "pending")
                .values(**values)
            )

    # -- claims -----------------------------------------------------------------------------------

    def claim_channels(
        self,
        owner: str,
        *,
        platforms: Sequence[str],
        due_at: datetime,
        now: datetime,
        lease_until: datetime,
        limit: int,
        release: Sequence[int] = (),
    ) -> list[tuple[Subscription, list[Delivery]]]:
        """Lease up to `limit` channels with deliveries due by `due_at` to `owner`, and return
        each with its due rows, oldest first; `release` (channels `owner` is done with) is let go
        in the same transaction.

        A channel is claimable when it is subscribed and not paused, on one of `platforms`, with
        no live lease (`now` is the lease clock), and not backing off after a failure (its later
        runs wait behind the failed one, in order). The rows claimed are marked as attempted
        before any is sent, so whoever sends them next knows the message may already be out.
        """
        d = deliveries
        with self.engine.begin() as conn:
            _release(conn, owner, release)
            claimed = conn.execute(
                _CLAIM,
                {
                    "platforms": list(platforms),
                    "due_at": due_at,
                    "now": now,
                    "limit": limit,
                    "claimer": owner,
                    "lease_end": lease_until,
                },
            ).mappings()
            subs = sorted((_to_subscription(row) for row in claimed), key=lambda sub: sub.id)
            rows: dict[int, list[Delivery]] = {sub.id: [] for sub in subs}
            ids = list(rows)
            for start in range(0, len(ids), _CHUNK):
                owed = sa.and_(
                    d.c.subscription_id.in_(ids[start : start + _CHUNK]),
                    d.c.status == "pending",
                    d.c.next_attempt_at <= due_at,
                )
                fresh = []
                for row in conn.execute(sa.select(d).where(owed).order_by(d.c.id)).mappings():
                    rows[row["subscription_id"]].append(_to_delivery(row))
                    if row["first_attempt_at"] is None:
                        fresh.append(row["id"])
                for at in range(0, len(fresh), _CHUNK):  # returned as they were: a first attempt
                    conn.execute(
                        d.update()
                        .where(d.c.id.in_(fresh[at : at + _CHUNK]))
                        .values(first_attempt_at=due_at)
                    )
        return [(sub, rows[sub.id]) for sub in subs if rows[sub.id]]

    def renew(self, owner: str, subscription_ids: Sequence[int], lease_until: datetime) -> set[int]:
        """Extend `owner`'s leases; returns the channels it still holds (a lease that ran out and
        was taken over is not given back). A row another transaction has locked just now is left
        for the next renewal rather than waited for (no deadlock with a run being claimed)."""
        held: set[int] = set()
        ids = list(subscription_ids)
        with self.engine.begin() as conn:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                conn.execute(
                    subscriptions.update()
                    .where(subscriptions.c.id.in_(_mine_unlocked(owner, chunk)))
                    .values(delivery_lease_until=lease_until)
                )
                still = sa.select(subscriptions.c.id).where(
                    subscriptions.c.id.in_(chunk), subscriptions.c.delivery_owner == owner
                )
                held.update(int(i) for i in conn.execute(still).scalars())
        return held

    def release(self, owner: str, subscription_ids: Sequence[int]) -> None:
        """Let go of `owner`'s leases on these channels (done, or stopping)."""
        if not subscription_ids:
            return
        with self.engine.begin() as conn:
            _release(conn, owner, subscription_ids)

    def left_owed(
        self, owner: str, *, platforms: Sequence[str], due_at: datetime, now: datetime
    ) -> int:
        """Deliveries on `platforms` still owed and in no other process's hands: failed ones
        waiting to be retried, and due ones nobody holds. (Channels another live process holds
        are its to report; rows first due after `due_at` belong to a run claimed since.)"""
        params = {"owner": owner, "platforms": list(platforms), "due_at": due_at, "now": now}
        with self.engine.connect() as conn:
            return int(conn.execute(_LEFT_OWED, params).scalar() or 0)

    def pending_by_platform(self, now: datetime) -> dict[str, int]:
        """Deliveries owed and ready to try, per platform, for channels subscribed and not paused
        (the others keep theirs until they are subscribed again)."""
        d, s = deliveries, subscriptions
        query = (
            sa.select(d.c.platform, sa.func.count())
            .select_from(d.join(s, s.c.id == d.c.subscription_id))
            .where(
                d.c.status == "pending",
                d.c.next_attempt_at <= now,
                s.c.active.is_(True),
                s.c.paused.is_(False),
            )
            .group_by(d.c.platform)
        )
        with self.engine.connect() as conn:
            return {str(p): int(n) for p, n in conn.execute(query)}


# The statements every flush runs, whether or not anything is owed, are built once: building one
# costs more than running it. Each is run with its parameters (`sa.bindparam`) named in it.


def _lease_free() -> sa.ColumnElement[bool]:
    """No process holds the channel's lease at the statement's "now"."""
    lease = subscriptions.c.delivery_lease_until
    return sa.or_(lease.is_(None), lease <= sa.bindparam("now"))


def _claim_statement() -> sa.Update:
    """Lease to "claimer" until "lease_end" up to "limit" channels on "platforms" with deliveries
    due by "due_at" (see `OutboxStore.claim_channels`); "now" is the lease clock."""
    d, s = deliveries, subscriptions
    due_at: sa.BindParameter[datetime] = sa.bindparam("due_at")
    due = sa.select(d.c.subscription_id).where(
        d.c.status == "pending", d.c.next_attempt_at <= due_at
    )
    backing_off = (
        sa.select(d.c.id)
        .where(
            d.c.subscription_id == s.c.id,
            d.c.status == "pending",
            d.c.attempts > 0,
            d.c.next_attempt_at > due_at,
        )
        .exists()
    )
    pick = (
        sa.select(s.c.id)
        .where(
            s.c.active.is_(True),
            s.c.paused.is_(False),
            s.c.platform.in_(sa.bindparam("platforms", expanding=True)),
            _lease_free(),
            s.c.id.in_(due),
            ~backing_off,
        )
        .order_by(s.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's write lock serialises
    )
    return (
        s.update()
        .where(s.c.id.in_(pick.scalar_subquery()))
        .values(
            delivery_owner=sa.bindparam("claimer"),
            delivery_lease_until=sa.bindparam("lease_end"),
        )
        .returning(*s.c)
    )


def _left_owed_statement() -> sa.Select[Any]:
    """Deliveries owed on "platforms" in no other process's hands (see `OutboxStore.left_owed`)."""
    d, s = deliveries, subscriptions
    return (
        sa.select(sa.func.count())
        .select_from(d.join(s, s.c.id == d.c.subscription_id))
        .where(
            d.c.status == "pending",
            sa.or_(d.c.attempts > 0, d.c.next_attempt_at <= sa.bindparam("due_at")),
            s.c.active.is_(True),
            s.c.paused.is_(False),
            s.c.platform.in_(sa.bindparam("platforms", expanding=True)),
            sa.or_(_lease_free(), s.c.delivery_owner == sa.bindparam("owner")),
        )
    )


_DUE = (
    sa.select(subscriptions)
    .where(
        subscriptions.c.active.is_(True),
        subscriptions.c.paused.is_(False),
        subscriptions.c.next_run_at <= sa.bindparam("now"),
    )
    .order_by(subscriptions.c.next_run_at, subscriptions.c.id)
)
_CLAIM = _claim_statement()
_LEFT_OWED = _left_owed_statement()


def _same_time(column: sa.Column[Any], value: datetime | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _delivered(conn: Connection, platform: str, channel: str, post_ids: Sequence[int]) -> set[int]:
    if not post_ids:
        return set()
    query = sa.select(deliveries.c.post_id).where(
        deliveries.c.platform == platform,
        deliveries.c.channel == channel,
        deliveries.c.post_id.in_(list(post_ids)),
    )
    return {int(p) for p in conn.execute(query).scalars()}


def _to_subscription(row: sa.RowMapping) -> Subscription:
    values = {name: row[name] for name in _SUBSCRIPTION_COLUMNS}
    values["sources"] = tuple(values["sources"])
    values["tags"] = tuple(values["tags"] or ())
    values["active"] = bool(values["active"])
    values["skip_empty"] = bool(values["skip_empty"])
    values["paused"] = bool(values["paused"])
    return Subscription(**values)


def _to_delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(**dict(row))


def _mine_unlocked(owner: str, ids: Sequence[int]) -> sa.ScalarSelect[int]:
    """Which of `ids` `owner` holds, skipping rows another transaction has locked (PostgreSQL):
    renewing or releasing never waits on a lock, so it cannot deadlock with a claim of runs."""
    mine = sa.select(subscriptions.c.id).where(
        subscriptions.c.id.in_(list(ids)), subscriptions.c.delivery_owner == owner
    )
    return mine.with_for_update(skip_locked=True).scalar_subquery()


def _release(conn: Connection, owner: str, subscription_ids: Sequence[int]) -> None:
    ids = list(subscription_ids)
    for start in range(0, len(ids), _CHUNK):
        conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id.in_(_mine_unlocked(owner, ids[start : start + _CHUNK])))
            .values(delivery_owner=None, delivery_lease_until=None)
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)
