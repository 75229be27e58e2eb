"""A channel's tag filters (JSON list; NULL or empty: every post)."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0012"
down_revision = "bot_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("tags", sa.JSON, nullable=True))
