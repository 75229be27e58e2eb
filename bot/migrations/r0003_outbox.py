"""Subscriptions and the delivery outbox, as the in-house migrator's step 3 made them."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0003"
down_revision = None
branch_labels = ("bot",)
depends_on = "briefings_0001"
legacy_version = 3


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("sources", sa.Text, nullable=False),  # JSON text; a JSON column from bot_0010
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("skip_empty", sa.Boolean, nullable=False),
        sa.Column("next_run_at", sa.DateTime),
        sa.Column("cursor", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.Text, nullable=False),
        sa.Column("admin_user", sa.String(200), nullable=False),
        sa.Column("last_run_at", sa.DateTime),
        sa.Column("last_note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("platform", "channel", name="uq_subscriptions_channel"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id")),
        sa.Column("run_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("platform", "channel", "post_id", name="uq_deliveries_post"),
    )
    op.create_index("ix_deliveries_pending", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_message", "deliveries", ["platform", "channel", "message_id"])
