"""Sources, posts, their aliases and per-reader cursors (the in-house migrator's step 1)."""

import sqlalchemy as sa
from alembic import op

revision = "briefings_0001"
down_revision = None
branch_labels = ("briefings",)
depends_on = None
legacy_version = 1


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_attempt_at", sa.DateTime),
        sa.Column("last_success_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("guid", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("published", sa.DateTime),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("date_line", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("take_label", sa.String(40), nullable=False),
        sa.Column("take", sa.Text, nullable=False),
        sa.Column("attributions", sa.Text, nullable=False),  # JSON text; a JSON column from 0009
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("edited", sa.Boolean, nullable=False),
    )
    op.create_index("ix_posts_published", "posts", ["published"])
    op.create_table(
        "post_aliases",
        sa.Column("alias", sa.Text, primary_key=True),
        sa.Column(
            "post_id", sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_post_id", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
