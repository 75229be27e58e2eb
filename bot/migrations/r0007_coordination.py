"""What several processes share: seen platform events and platform rate limits (old step 7)."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0007"
down_revision = "bot_0006"
branch_labels = None
depends_on = None
legacy_version = 7


def upgrade() -> None:
    op.create_table(
        "seen_events",
        sa.Column("platform", sa.String(40), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_seen_events_seen_at", "seen_events", ["seen_at"])
    op.create_table(
        "rate_limits",
        sa.Column("platform", sa.String(40), primary_key=True),
        sa.Column("last_start", sa.Double, nullable=False),
    )
    op.create_table(
        "rate_holds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(40), nullable=False),
        sa.Column("ends_at", sa.Double, nullable=False),
    )
    op.create_index("ix_rate_holds_platform", "rate_holds", ["platform", "ends_at"])
