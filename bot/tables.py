"""The bot's tables: subscriptions and deliveries (the outbox, queried in bot/outbox_store.py), and
what several processes share (seen events, rate limits; queried in bot/coordination.py).

They are created and changed by the bot's own Alembic branch (`bot/migrations/`, branch "bot"),
which whoever uses them brings to its head first: `ensure_schema(engine)`, called by the outbox store
and the coordination classes, once per engine and process.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from briefings.migrate import BRIEFINGS_REVISIONS, Migrator
from briefings.store import DB_ERRORS, StoreError, UTCDateTime, describe_db_error, posts
from briefings.urls import shown_db_url

BOT_REVISIONS = Path(__file__).parent / "migrations"

metadata = sa.MetaData()

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("workspace", sa.String(200), nullable=False, default=""),
    sa.Column("sources", sa.JSON, nullable=False, default=list),
    sa.Column("active", sa.Boolean, nullable=False, default=False),
    sa.Column("schedule", sa.Text, nullable=False, default=""),
    sa.Column("timezone", sa.String(64), nullable=False, default=""),
    sa.Column("skip_empty", sa.Boolean, nullable=False, default=True),
    sa.Column("next_run_at", UTCDateTime),
    sa.Column("cursor", sa.Integer, nullable=False, default=0),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("pause_reason", sa.Text, nullable=False, default=""),
    sa.Column("admin_user", sa.String(200), nullable=False, default=""),
    sa.Column("last_run_at", UTCDateTime),
    sa.Column("last_note", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The process that holds the channel's outbox (sends its owed deliveries, in order) and until
    # when; another process may take it over only once the lease has run out (bot_0006).
    sa.Column("delivery_owner", sa.String(200)),
    sa.Column("delivery_lease_until", UTCDateTime),
    # The channel's tag filters (bot_0012; NULL or empty: every post).
    sa.Column("tags", sa.JSON),
    sa.UniqueConstraint("platform", "channel", name="uq_subscriptions_channel"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey(subscriptions.c.id), nullable=False),
    sa.Column("platform", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("post_id", sa.Integer, sa.ForeignKey(posts.c.id)),
    sa.Column("run_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("message_id", sa.Text, nullable=False, default=""),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    # When a send of the row's message first began (a retry may find it already posted), and when
    # the platform rejected that message for good (status "failed") (bot_0004).
    sa.Column("first_attempt_at", UTCDateTime),
    sa.Column("failed_at", UTCDateTime),
    # A post reaches a channel at most once, ever, whichever process or run tries.
    sa.UniqueConstraint("platform", "channel", "post_id", name="uq_deliveries_post"),
    sa.Index("ix_deliveries_pending", "status", "next_attempt_at"),
    sa.Index("ix_deliveries_message", "platform", "channel", "message_id"),
    # A channel's owed rows, read when its outbox is claimed (bot_0006).
    sa.Index("ix_deliveries_owed", "subscription_id", "status"),
)

# A platform event id is answered by the process that first inserts it; rows older than a day go.
seen_events = sa.Table(
    "seen_events",
    metadata,
    sa.Column("platform", sa.String(40), primary_key=True),
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Index("ix_seen_events_seen_at", "seen_at"),
)
# A platform's global rate limit, held across processes: one row per platform (locked while a
# place is taken; when the last request was let go) and one per place held, ending `ends_at`
# (seconds since the epoch on the database's clock, so hosts' clocks need not agree).
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("platform", sa.String(40), primary_key=True),
    sa.Column("last_start", sa.Double, nullable=False),
)
rate_holds = sa.Table(
    "rate_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(40), nullable=False),
    sa.Column("ends_at", sa.Double, nullable=False),
    sa.Index("ix_rate_holds_platform", "platform", "ends_at"),
)

# One 👍/👎 per person per post per channel (bot_0013; queries in bot/votes.py).
votes = sa.Table(
    "votes",
    metadata,
    sa.Column("platform", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(200), primary_key=True),
    sa.Column("post_id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),  # +1 or -1
    sa.Column("voted_at", UTCDateTime, nullable=False),
    sa.Index("ix_votes_channel_time", "platform", "channel", "voted_at"),
)

# Weekly roundups (bot_0014; queries in bot/roundup_store.py). A channel's roundup subscription is
# its own row, beside its digest subscription: a roundup re-lists posts digests already sent, so it
# cannot go through the digest outbox, whose key allows a post into a channel once.
roundup_subscriptions = sa.Table(
    "roundup_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("workspace", sa.String(200), nullable=False, default=""),
    sa.Column("sources", sa.JSON, nullable=False, default=list),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("schedule", sa.Text, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, default=""),
    sa.Column("next_run_at", UTCDateTime),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("pause_reason", sa.Text, nullable=False, default=""),
    sa.Column("admin_user", sa.String(200), nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("platform", "channel", name="uq_roundup_subscriptions_channel"),
)
# One row per roundup sent to a channel: its identity is (channel, run time), so a run is claimed
# once; the week's post ids are fixed at the claim, and `sent_parts` counts the messages the
# platform confirmed, so a restart resumes after the last confirmed one, never before it.
roundup_deliveries = sa.Table(
    "roundup_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("roundup_id", sa.Integer, sa.ForeignKey(roundup_subscriptions.c.id), nullable=False),
    sa.Column("platform", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("run_at", UTCDateTime, nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),
    sa.Column("post_ids", sa.JSON, nullable=False, default=list),
    sa.Column("status", sa.String(20), nullable=False, default="pending"),
    sa.Column("sent_parts", sa.Integer, nullable=False, default=0),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("first_attempt_at", UTCDateTime),
    sa.Column("owner", sa.String(200)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("sent_at", UTCDateTime),
    sa.UniqueConstraint("platform", "channel", "run_at", name="uq_roundup_deliveries_run"),
    sa.Index("ix_roundup_deliveries_pending", "status", "next_attempt_at"),
)

_current: weakref.WeakSet[Engine] = weakref.WeakSet()
_current_lock = threading.Lock()


def migrator(engine: Engine, *, label: str = "", read_only: bool = False) -> Migrator:
    """The bot's branch of the schema (it needs the core's revisions to resolve its dependency)."""
    return Migrator(
        engine, "bot", [BOT_REVISIONS, BRIEFINGS_REVISIONS], label=label, read_only=read_only
    )


def ensure_schema(engine: Engine, *, label: str = "", read_only: bool = False) -> None:
    """Bring the bot's tables to their newest revision (once per engine in this process; processes
    starting together migrate once). Database failures become a StoreError with a plain reason."""
    with _current_lock:
        if engine in _current:
            return
        where = label or shown_db_url(engine.url)
        try:
            migrator(engine, label=where, read_only=read_only).upgrade()
        except DB_ERRORS as exc:
            raise StoreError(describe_db_error(exc, where, "cannot migrate")) from exc
        _current.add(engine)
