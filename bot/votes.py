"""Votes on digest items (👍/👎): one per person per post per channel. A second click on the same
button withdraws the vote, on the other button changes it. Nothing is shown in the channel; admins
see the week's counts in `status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.tables import ensure_schema, votes

RECORDED, CHANGED, WITHDRAWN = "recorded", "changed", "withdrawn"


@dataclass(frozen=True, slots=True)
class VoteCount:
    post_id: int
    up: int
    down: int


class VoteStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        ensure_schema(engine)  # the bot's tables, at their newest revision

    def vote(
        self, platform: str, channel: str, post_id: int, user: str, value: int, at: datetime
    ) -> str:
        """Record `value` (+1 or -1) for `user`; returns what happened (RECORDED, CHANGED,
        WITHDRAWN). One transaction, so two quick clicks leave one vote or none, never two."""
        key = (
            (votes.c.platform == platform)
            & (votes.c.channel == channel)
            & (votes.c.post_id == post_id)
            & (votes.c.user_id == user)
        )
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(votes.c.value).where(key)).scalar()
            if current == value:
                conn.execute(sa.delete(votes).where(key))
                return WITHDRAWN
            if current is not None:
                conn.execute(sa.update(votes).where(key).values(value=value, voted_at=at))
                return CHANGED
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(votes).values(
                            platform=platform,
                            channel=channel,
                            post_id=post_id,
                            user_id=user,
                            value=value,
                            voted_at=at,
                        )
                    )
            except sa.exc.IntegrityError:  # the same person's other click won the race
                conn.execute(sa.update(votes).where(key).values(value=value, voted_at=at))
                return CHANGED
            return RECORDED

    def counts(self, platform: str, channel: str, since: datetime) -> list[VoteCount]:
        """Per post, the votes cast (or last changed) in `channel` since `since`, most 👍 first."""
        up = sa.func.sum(sa.case((votes.c.value > 0, 1), else_=0))
        down = sa.func.sum(sa.case((votes.c.value < 0, 1), else_=0))
        query = (
            sa.select(votes.c.post_id, up.label("up"), down.label("down"))
            .where(
                (votes.c.platform == platform)
                & (votes.c.channel == channel)
                & (votes.c.voted_at >= since)
            )
            .group_by(votes.c.post_id)
            .order_by(up.desc(), down.asc(), votes.c.post_id)
        )
        with self.engine.connect() as conn:
            return [VoteCount(int(r.post_id), int(r.up), int(r.down)) for r in conn.execute(query)]
