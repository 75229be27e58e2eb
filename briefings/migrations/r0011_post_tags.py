"""Tags on posts and the feed's categories (JSON lists). Rows stored before keep NULL tags, which
are computed from their text when read (`briefings.store._to_post`) and written at the next edit."""

import sqlalchemy as sa
from alembic import op

revision = "briefings_0011"
down_revision = "briefings_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("tags", sa.JSON, nullable=True))
        batch.add_column(sa.Column("categories", sa.JSON, nullable=True))
