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
VOTE_TRIES = 5  # rounds of the three steps before giving up (each lost round means a click won)


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
        WITHDRAWN). Each step is one conditional statement, so clicks at the same moment (a
        double click, two processes) apply one after the other: two clicks on 👍 from no vote
        are "counted" then "withdrawn", never both "counted" or both "withdrawn"."""
        key = (
            (votes.c.platform == platform)
            & (votes.c.channel == channel)
            & (votes.c.post_id == post_id)
            & (votes.c.user_id == user)
        )
        for _ in range(VOTE_TRIES):
            with self.engine.begin() as conn:  # the same button again: withdraw it
                if conn.execute(sa.delete(votes).where(key & (votes.c.value == value))).rowcount:
                    return WITHDRAWN
            with self.engine.begin() as conn:  # the other button: change it
                changed = conn.execute(
                    sa.update(votes)
                    .where(key & (votes.c.value != value))
                    .values(value=value, voted_at=at)
                )
                if changed.rowcount:
                    return CHANGED
            try:
                with self.engine.begin() as conn:
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
                return RECORDED
            except sa.exc.IntegrityError:  # the same person's other click got in first: again
                continue
        raise RuntimeError(f"vote on post {post_id} kept racing with other clicks")

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
