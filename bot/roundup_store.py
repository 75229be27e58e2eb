"""Queries for weekly roundups: the channels that get one and each (channel, run) sent.

A run is claimed by inserting its row (unique per channel and run time) and moving the
subscription's next run on, in one transaction that succeeds only if the next run is unchanged, so
two processes never both claim it. A row is then sent by one process at a time (a lease), part by
part; `sent_parts` moves on as the platform confirms each message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tables import ensure_schema, roundup_deliveries, roundup_subscriptions


@dataclass(frozen=True, slots=True)
class RoundupSubscription:
    id: int
    platform: str
    channel: str
    workspace: str
    sources: tuple[str, ...]
    schedule: str
    timezone: str
    next_run_at: datetime | None
    paused: bool
    pause_reason: str
    admin_user: str


@dataclass(frozen=True, slots=True)
class RoundupRun:
    id: int
    roundup_id: int
    platform: str
    channel: str
    run_at: datetime
    since: datetime
    post_ids: tuple[int, ...]
    status: str
    sent_parts: int
    attempts: int
    first_attempt_at: datetime | None
    last_error: str
    sent_at: datetime | None


class RoundupStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        ensure_schema(engine)

    def subscription(self, platform: str, channel: str) -> RoundupSubscription | None:
        query = sa.select(roundup_subscriptions).where(
            (roundup_subscriptions.c.platform == platform)
            & (roundup_subscriptions.c.channel == channel)
            & roundup_subscriptions.c.active.is_(True)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _to_subscription(row)

    def save(
        self,
        platform: str,
        channel: str,
        *,
        schedule: str,
        timezone: str,
        next_run_at: datetime | None,
        now: datetime,
        sources: tuple[str, ...] = (),
        workspace: str = "",
        admin_user: str = "",
    ) -> RoundupSubscription:
        """Create or change the channel's roundup (and resume it, if paused)."""
        values: dict[str, Any] = {
            "schedule": schedule,
            "timezone": timezone,
            "next_run_at": next_run_at,
            "sources": list(sources),
            "active": True,
            "paused": False,
            "pause_reason": "",
            "updated_at": now,
        }
        if workspace:
            values["workspace"] = workspace
        if admin_user:
            values["admin_user"] = admin_user
        key = (roundup_subscriptions.c.platform == platform) & (
            roundup_subscriptions.c.channel == channel
        )
        with self.engine.begin() as conn:
            changed = conn.execute(sa.update(roundup_subscriptions).where(key).values(**values))
            if changed.rowcount == 0:
                conn.execute(
                    sa.insert(roundup_subscriptions).values(
                        platform=platform,
                        channel=channel,
                        workspace=workspace,
                        admin_user=admin_user,
                        created_at=now,
                        **{k: v for k, v in values.items() if k not in ("workspace", "admin_user")},
                    )
                )
            row = conn.execute(sa.select(roundup_subscriptions).where(key)).mappings().one()
        return _to_subscription(row)

    def stop(self, platform: str, channel: str, now: datetime) -> bool:
        """No more roundups here (what was sent is kept)."""
        key = (roundup_subscriptions.c.platform == platform) & (
            roundup_subscriptions.c.channel == channel
        )
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(roundup_subscriptions)
                .where(key & roundup_subscriptions.c.active.is_(True))
                .values(active=False, next_run_at=None, updated_at=now)
            )
        return changed.rowcount > 0

    def active(self, platform: str) -> list[RoundupSubscription]:
        query = (
            sa.select(roundup_subscriptions)
            .where(
                (roundup_subscriptions.c.platform == platform)
                & roundup_subscriptions.c.active.is_(True)
            )
            .order_by(roundup_subscriptions.c.id)
        )
        with self.engine.connect() as conn:
            return [_to_subscription(r) for r in conn.execute(query).mappings()]

    def last_sent(self, roundup_id: int) -> datetime | None:
        query = sa.select(sa.func.max(roundup_deliveries.c.sent_at)).where(
            roundup_deliveries.c.roundup_id == roundup_id
        )
        with self.engine.connect() as conn:
            found: datetime | None = conn.execute(query).scalar()
        return found

    def due(self, now: datetime, platforms: tuple[str, ...]) -> list[RoundupSubscription]:
        params = {"now": now, "platforms": list(platforms)}
        with self.engine.connect() as conn:
            return [_to_subscription(r) for r in conn.execute(_DUE, params).mappings()]

    def claim_run(
        self,
        sub: RoundupSubscription,
        *,
        run_at: datetime,
        since: datetime,
        post_ids: tuple[int, ...],
        next_run_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Record the run and move the next one on; False if another process claimed it first."""
        with self.engine.begin() as conn:
            moved = conn.execute(
                sa.update(roundup_subscriptions)
                .where(
                    (roundup_subscriptions.c.id == sub.id)
                    & (roundup_subscriptions.c.next_run_at == sub.next_run_at)
                )
                .values(next_run_at=next_run_at, updated_at=now)
            )
            if moved.rowcount == 0:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(roundup_deliveries).values(
                            roundup_id=sub.id,
                            platform=sub.platform,
                            channel=sub.channel,
                            run_at=run_at,
                            since=since,
                            post_ids=list(post_ids),
                            status="pending",
                            sent_parts=0,
                            attempts=0,
                            next_attempt_at=now,
                            last_error="",
                        )
                    )
            except sa.exc.IntegrityError:  # this (channel, run) exists already: nothing to add
                return False
        return True

    def claim_owed(
        self, owner: str, now: datetime, lease_until: datetime, platforms: tuple[str, ...]
    ) -> list[RoundupRun]:
        """Take the lease on every owed run whose time has come and that no live process holds."""
        params = {"now": now, "platforms": list(platforms)}
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(_OWED, params)]
            mine = []
            for run_id in ids:
                taken = conn.execute(
                    _TAKE, {**params, "run_id": run_id, "taker": owner, "lease_end": lease_until}
                )
                if taken.rowcount:
                    mine.append(run_id)
            if not mine:  # most flushes: no roundup is owed
                return []
            rows = conn.execute(
                sa.select(roundup_deliveries).where(roundup_deliveries.c.id.in_(mine))
            ).mappings()
            return sorted((_to_run(r) for r in rows), key=lambda r: r.run_at)

    def attempt(self, run_id: int, now: datetime) -> None:
        """A send of the run's next part begins (kept if it is the first)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(roundup_deliveries)
                .where(
                    (roundup_deliveries.c.id == run_id)
                    & roundup_deliveries.c.first_attempt_at.is_(None)
                )
                .values(first_attempt_at=now)
            )

    def part_sent(self, run_id: int, part: int, total: int, now: datetime) -> None:
        """The platform confirmed part `part` (0-based) of `total`; the last one ends the run."""
        values: dict[str, Any] = {"sent_parts": part + 1, "first_attempt_at": None}
        if part + 1 >= total:
            values.update(status="sent", sent_at=now, owner=None, lease_until=None)
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(roundup_deliveries)
                .where(roundup_deliveries.c.id == run_id)
                .values(**values)
            )

    def settle(self, run_id: int, **values: Any) -> None:
        """Retry later, fail, or release: the lease ends with it."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(roundup_deliveries)
                .where(roundup_deliveries.c.id == run_id)
                .values(owner=None, lease_until=None, **values)
            )

    def pause(self, roundup_id: int, reason: str) -> RoundupSubscription | None:
        """Pause the roundup; the roundup when this call paused it (so its admins are told
        once), None when it was paused already."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(roundup_subscriptions)
                .where(
                    (roundup_subscriptions.c.id == roundup_id)
                    & roundup_subscriptions.c.paused.is_(False)
                )
                .values(paused=True, pause_reason=reason)
            )
            if not changed.rowcount:
                return None
            query = sa.select(roundup_subscriptions).where(roundup_subscriptions.c.id == roundup_id)
            return _to_subscription(conn.execute(query).mappings().one())

    def runs(self, platform: str, channel: str) -> list[RoundupRun]:
        query = (
            sa.select(roundup_deliveries)
            .where(
                (roundup_deliveries.c.platform == platform)
                & (roundup_deliveries.c.channel == channel)
            )
            .order_by(roundup_deliveries.c.run_at)
        )
        with self.engine.connect() as conn:
            return [_to_run(r) for r in conn.execute(query).mappings()]


def _to_subscription(row: sa.RowMapping) -> RoundupSubscription:
    return RoundupSubscription(
        id=row["id"],
        platform=row["platform"],
        channel=row["channel"],
        workspace=row["workspace"],
        sources=tuple(row["sources"] or ()),
        schedule=row["schedule"],
        timezone=row["timezone"],
        next_run_at=row["next_run_at"],
        paused=row["paused"],
        pause_reason=row["pause_reason"],
        admin_user=row["admin_user"],
    )


def _to_run(row: sa.RowMapping) -> RoundupRun:
    return RoundupRun(
        id=row["id"],
        roundup_id=row["roundup_id"],
        platform=row["platform"],
        channel=row["channel"],
        run_at=row["run_at"],
        since=row["since"],
        post_ids=tuple(row["post_ids"] or ()),
        status=row["status"],
        sent_parts=row["sent_parts"],
        attempts=row["attempts"],
        first_attempt_at=row["first_attempt_at"],
        last_error=row["last_error"],
        sent_at=row["sent_at"],
    )


# The statements every flush runs, whether or not a roundup is owed, are built once: building one
# costs more than running it. Each is run with its parameters (`sa.bindparam`) named in it.

_DUE = sa.select(roundup_subscriptions).where(
    roundup_subscriptions.c.active.is_(True)
    & roundup_subscriptions.c.paused.is_(False)
    & (roundup_subscriptions.c.next_run_at <= sa.bindparam("now"))
    & roundup_subscriptions.c.platform.in_(sa.bindparam("platforms", expanding=True))
)
# Owed: pending, its time come ("now"), on one of "platforms", and held by no live process.
_OWED_NOW = (
    (roundup_deliveries.c.status == "pending")
    & (roundup_deliveries.c.next_attempt_at <= sa.bindparam("now"))
    & roundup_deliveries.c.platform.in_(sa.bindparam("platforms", expanding=True))
    & (
        roundup_deliveries.c.owner.is_(None)
        | (roundup_deliveries.c.lease_until < sa.bindparam("now"))
    )
)
_OWED = sa.select(roundup_deliveries.c.id).where(_OWED_NOW).order_by(roundup_deliveries.c.run_at)
# Lease run "run_id" to "taker" until "lease_end" if it is still owed.
_TAKE = (
    sa.update(roundup_deliveries)
    .where((roundup_deliveries.c.id == sa.bindparam("run_id")) & _OWED_NOW)
    .values(owner=sa.bindparam("taker"), lease_until=sa.bindparam("lease_end"))
)
