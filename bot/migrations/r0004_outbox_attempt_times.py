"""When a send of a row's message first began, and when its platform rejected it (old step 4)."""

import sqlalchemy as sa
from alembic import op

revision = "bot_0004"
down_revision = "bot_0003"
branch_labels = None
depends_on = None
legacy_version = 4


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("first_attempt_at", sa.DateTime))
        batch.add_column(sa.Column("failed_at", sa.DateTime))
