"""Votes on digest items: one 👍/👎 per person per post per channel."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0013"
down_revision = "bot_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "votes",
        sa.Column("platform", sa.String(40), primary_key=True),
        sa.Column("channel", sa.String(200), primary_key=True),
        sa.Column("post_id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("voted_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_votes_channel_time", "votes", ["platform", "channel", "voted_at"])
