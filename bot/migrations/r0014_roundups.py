"""Weekly roundup subscriptions and their deliveries, one per (channel, run)."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0014"
down_revision = "bot_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roundup_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("next_run_at", sa.DateTime),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("pause_reason", sa.Text, nullable=False),
        sa.Column("admin_user", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("platform", "channel", name="uq_roundup_subscriptions_channel"),
    )
    op.create_table(
        "roundup_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "roundup_id",
            sa.Integer,
            sa.ForeignKey("roundup_subscriptions.id"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("run_at", sa.DateTime, nullable=False),
        sa.Column("since", sa.DateTime, nullable=False),
        sa.Column("post_ids", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sent_parts", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("first_attempt_at", sa.DateTime),
        sa.Column("owner", sa.String(200)),
        sa.Column("lease_until", sa.DateTime),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.UniqueConstraint("platform", "channel", "run_at", name="uq_roundup_deliveries_run"),
    )
    op.create_index(
        "ix_roundup_deliveries_pending", "roundup_deliveries", ["status", "next_attempt_at"]
    )
