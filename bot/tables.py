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
        where = label or engine.url.render_as_string(hide_password=True)
        try:
            migrator(engine, label=where, read_only=read_only).upgrade()
        except DB_ERRORS as exc:
            raise StoreError(describe_db_error(exc, where, "cannot migrate")) from exc
        _current.add(engine)
