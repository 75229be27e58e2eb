"""The summary cache (the in-house migrator's step 2)."""

import sqlalchemy as sa
from alembic import op

revision = "briefings_0002"
down_revision = "briefings_0001"
branch_labels = None
depends_on = None
legacy_version = 2


def upgrade() -> None:
    op.create_table(
        "summaries",
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("summarizer", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("prompt_version", sa.String(40), primary_key=True),
        sa.Column("sentences", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("summary", sa.Text, nullable=False),  # JSON text; a JSON column from 0009
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
