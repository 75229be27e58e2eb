"""Index on posts.updated_at: the search index reads changes by it (the old migrator's step 5)."""

from alembic import op

revision = "briefings_0005"
down_revision = "briefings_0002"
branch_labels = None
depends_on = None
legacy_version = 5


def upgrade() -> None:
    op.create_index("ix_posts_updated_at", "posts", ["updated_at"])
